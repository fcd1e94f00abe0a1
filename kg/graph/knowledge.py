"""The built knowledge graph as every reader loads it: :class:`KnowledgeGraph`.

``litkg build`` (:mod:`kg.build`) writes the artefacts named here into the data dir's
``graph/`` folder; readers (the recommender, the views, the CLI, the app) load them
once per process with :meth:`KnowledgeGraph.load`. A missing or damaged artefact is a
:class:`~kg.core.errors.BuildError` that names the file and the fix (run
``litkg build``); nothing is unpickled.
"""

from __future__ import annotations

import json
import logging
import math
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kg.core.errors import BuildError
from kg.core.fileio import atomic_writer
from kg.core.memory import gc_paused
from kg.core.model import Paper
from kg.core.settings import Settings
from kg.graph import snapshot as snap
from kg.graph.citations import CitationGraph
from kg.store.corpus import CorpusStore, SeedRow
from kg.text.lexical import LexicalIndex
from kg.topics.model import TopicModel

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
EMBEDDINGS = "embeddings.npz"
SPECTER = "specter.npz"
TOPICS = "topics.json"
WEIGHTS = "weights.json"
LEXICAL = "lexical.npz"


def atomic_savez(path: Path, **arrays: Any) -> None:
    """``np.savez`` of ``arrays`` to ``path`` atomically (temp file + rename), written
    straight to the temp file: no copy of the archive is held in memory (at 1M papers
    the vectors alone are 3 GB)."""
    with atomic_writer(path) as fh:
        np.savez(fh, **arrays)


@contextmanager
def artefact(path: Path) -> Iterator[None]:
    """Reading one build artefact: a damaged one raises :class:`BuildError` naming it."""
    try:
        yield
    except FileNotFoundError as exc:
        raise BuildError(
            f"{path} is missing: the build in {path.parent} is incomplete. Run `litkg build` "
            f"to rebuild it."
        ) from exc
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise BuildError(
            f"{path} is damaged or unreadable ({type(exc).__name__}: {exc}). Run `litkg build` "
            f"to rebuild it."
        ) from exc


@contextmanager
def npz(path: Path) -> Iterator[Any]:
    """``np.load`` of an archive the build wrote: arrays only (never pickles), a file
    that is not a zip archive at all said to be one (not "pickled data"), and the file
    closed however the read ends."""
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise ValueError("not an .npz archive")
        fh.seek(0)
        with np.load(fh, allow_pickle=False) as archive:
            yield archive


def mapped(path: Path, name: str) -> np.ndarray:
    """Array ``name`` of the ``.npz`` archive at ``path`` (as :func:`atomic_savez` writes
    them: stored, not compressed) memory-mapped read-only instead of read: its pages are
    read from the file when touched and can be dropped again (field scale: the vector
    matrices are 3 GB each at 1M papers). Arrays of objects (pickles) are refused."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{name} is compressed in {path.name}: it cannot be mapped")
    with path.open("rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)  # the local file header: its name and extra field follow
        if local[:4] != b"PK\x03\x04":
            raise ValueError(f"{name}: not a zip member header")
        start = info.header_offset + 30 + int.from_bytes(local[26:28], "little")
        start += int.from_bytes(local[28:30], "little")
        fh.seek(start)
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"{name}: .npy format {version} is not one litkg writes")
        offset = fh.tell()
    if dtype.hasobject:
        raise ValueError(f"{name} holds objects: refused (nothing read may run code)")
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(
        path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
    )


def prefetch(array: np.ndarray) -> bool:
    """Ask the kernel to read a memory-mapped array's pages ahead, in the background
    (``MADV_WILLNEED``): the first queries of a field-scale reader then find the vectors in
    the page cache instead of faulting in scattered rows, each fault reading far more of the
    file than the row. Whether the array was mapped (nothing is done otherwise)."""
    import mmap

    base: Any = array
    while base is not None:
        handle = getattr(base, "_mmap", None)
        if isinstance(handle, mmap.mmap):
            advice = getattr(mmap, "MADV_WILLNEED", None)
            if advice is None or not hasattr(handle, "madvise"):
                return False
            try:
                handle.madvise(advice)
            except OSError:
                return False
            return True
        base = getattr(base, "base", None)
    return False


@dataclass
class KnowledgeGraph:
    """Everything readers need, loaded once per process."""

    papers: dict[str, Paper]
    graph: CitationGraph
    ids: list[str]
    embeddings: np.ndarray
    title_only: np.ndarray
    specter_ids: list[str]
    specter: np.ndarray
    topics: TopicModel
    seeds: list[SeedRow]
    same_as: dict[str, str]
    manifest: dict[str, Any]
    weights: dict[str, float] | None = None
    #: The recommender's lexical index saved by the build, and the node order it has.
    lexical: LexicalIndex | None = None
    lexical_ids: list[str] = field(default_factory=list)
    row: dict[str, int] = field(default_factory=dict)
    specter_row: dict[str, int] = field(default_factory=dict)
    #: The build's approximate index over ``embeddings`` (field scale; ``None`` below
    #: ``LITKG_ANN_MIN_PAPERS``), loaded on first use, and how many neighbours to ask.
    text_index_path: Path | None = None
    text_neighbours: int = 0

    def __post_init__(self) -> None:
        self.row = {pid: i for i, pid in enumerate(self.ids)}
        self.specter_row = {pid: i for i, pid in enumerate(self.specter_ids)}

    @classmethod
    def load(
        cls, settings: Settings | None = None, *, snapshot: bool = True, mmap: bool | None = None
    ) -> KnowledgeGraph:
        """Load the built graph. The decoded papers and the projection come from the
        build's snapshot when it still matches the corpus (``snapshot=False``: always
        from the corpus store). The vector matrices are memory-mapped (:func:`mapped`)
        with ``mmap``, by default when the build wrote the approximate text index (field
        scale: 3 GB per matrix at 1M papers), else read."""
        with gc_paused():  # millions of new objects, none in cycles: no collector passes
            return cls._load(settings, snapshot=snapshot, mmap=mmap)

    @classmethod
    def _load(
        cls, settings: Settings | None, *, snapshot: bool, mmap: bool | None
    ) -> KnowledgeGraph:
        settings = settings or Settings.from_env()
        graph_dir = settings.graph_dir
        manifest_path = graph_dir / MANIFEST
        if not manifest_path.exists():
            raise BuildError(
                f"No built graph in {graph_dir}: run `litkg build` (after `litkg ingest`)."
            )
        with artefact(manifest_path):
            manifest = json.loads(manifest_path.read_text())
            if not isinstance(manifest, dict):
                raise ValueError("not a JSON object")
        if mmap is None:
            mmap = bool(_text_index(graph_dir, manifest))
        with artefact(graph_dir / EMBEDDINGS), npz(graph_dir / EMBEDDINGS) as emb:
            ids = [str(x) for x in emb["ids"]]
            vectors = mapped(graph_dir / EMBEDDINGS, "vectors") if mmap else emb["vectors"]
            title_only = emb["title_only"]
        with artefact(graph_dir / SPECTER), npz(graph_dir / SPECTER) as sp:
            specter_ids = [str(x) for x in sp["ids"]]
            if "same_as" in sp.files:  # a SPECTER build: its text vectors are these rows
                if str(sp["same_as"]) != EMBEDDINGS or specter_ids != ids:
                    raise ValueError(f"its rows are not those of {EMBEDDINGS}")
                specter = vectors
            else:
                specter = mapped(graph_dir / SPECTER, "vectors") if mmap else sp["vectors"]
        topics = TopicModel.load(graph_dir / TOPICS)
        try:
            weights = read_weights(graph_dir / WEIGHTS)
        except BuildError as exc:
            log.warning("%s Using the default weights meanwhile.", exc)
            weights = None
        with CorpusStore(settings.corpus_path, create=False) as store:
            key = snap.key(snap.fingerprint(store), manifest.get("topics_digest"))
            content = snap.load(graph_dir / snap.SNAPSHOT, key) if snapshot else None
            if content is not None:
                papers = content["papers"]
                seeds = content["seeds"]
                same_as = content["same_as"]
                graph = content["graph"]
            else:
                content = corpus_content(store, topics)
                papers = content["papers"]
                seeds = content["seeds"]
                same_as = content["same_as"]
                graph = content["graph"]
                del content
        return cls(
            papers=papers,
            graph=graph,
            ids=ids,
            embeddings=vectors,
            title_only=title_only,
            specter_ids=specter_ids,
            specter=specter,
            topics=topics,
            seeds=seeds,
            same_as=same_as,
            manifest=manifest,
            weights=weights,
            **load_lexical(graph_dir / LEXICAL, key),
            **_text_index(graph_dir, manifest),
        )

    def vector(self, paper_id: str) -> np.ndarray | None:
        i = self.row.get(paper_id)
        return None if i is None else self.embeddings[i]

    def seed_ids(self) -> list[str]:
        return sorted({s.paper_id for s in self.seeds if s.paper_id and s.status == "resolved"})


def corpus_content(store: CorpusStore, topics: TopicModel) -> dict[str, Any]:
    """What a load snapshot holds (:mod:`kg.graph.snapshot`), made from the corpus store:
    ``papers`` (id -> Paper), ``seeds``, ``same_as`` and the projection, ``graph``."""
    papers = {p.paper_id: p for p in store.papers()}
    seeds = store.seeds()
    same_as = store.same_as()
    # Papers are decoded once, and citation sentences are left in the store (the paper
    # view reads them per paper): this is most of the cold start.
    graph = CitationGraph(
        papers.values(),
        store.citations(contexts=False),
        same_as=same_as,
        seeds=seeds,
        topics=topics.topics,
        memberships=topics.memberships,
    )
    return {"papers": papers, "seeds": seeds, "same_as": same_as, "graph": graph}


def _text_index(graph_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The approximate text index the build recorded in the manifest (none below the
    field-scale threshold)."""
    entry = manifest.get("text_index")
    if not isinstance(entry, dict) or not entry.get("file"):
        return {}
    return {
        "text_index_path": graph_dir / str(entry["file"]),
        "text_neighbours": int(entry.get("neighbours") or 0),
    }


def read_weights(path: Path) -> dict[str, float] | None:
    """Fitted weights from ``path`` (None when there is no file); a
    :class:`BuildError` naming the file and the fix when it is damaged."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not data:
            raise ValueError("not an object of signal -> weight")
        weights = {str(k): float(v) for k, v in data.items()}
        if any(v < 0 or not math.isfinite(v) for v in weights.values()):
            raise ValueError("weights must be finite and >= 0")
        if sum(weights.values()) <= 0:
            raise ValueError("at least one weight must be > 0")
    except (OSError, ValueError, TypeError) as exc:
        raise BuildError(
            f"The fitted fusion weights in {path} are damaged ({exc}). "
            "Run `litkg build` to fit them again (or delete the file to use the defaults)."
        ) from exc
    return weights


def load_lexical(path: Path, key: str) -> dict[str, Any]:
    """``lexical`` and ``lexical_ids`` for :class:`KnowledgeGraph` when the saved index
    was made for this graph (else nothing: the recommender makes its own)."""
    import scipy.sparse as sp

    try:
        with npz(path) as z:
            if str(z["key"]) != key:
                return {}
            x = sp.csr_matrix(
                (z["data"], z["indices"], z["indptr"]), shape=tuple(int(v) for v in z["shape"])
            )
            index = LexicalIndex.from_arrays(x, z["codes"], z["surface"].tolist())
            return {"lexical": index, "lexical_ids": [str(v) for v in z["ids"]]}
    except FileNotFoundError:
        log.debug("no saved lexical index at %s", path)
        return {}
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        IndexError,
        TypeError,
        zipfile.BadZipFile,
    ) as exc:
        log.warning(
            "ignoring the damaged lexical index %s (%s: %s); the recommender builds its own "
            "(`litkg build` writes it again)",
            path,
            type(exc).__name__,
            exc,
        )
        return {}


def lexical_ok(path: Path, key: str) -> bool:
    """Whether ``path`` holds a readable lexical index made for ``key``."""
    try:
        with npz(path) as z:
            return str(z["key"]) == key and all(
                z[name].size >= 0 for name in ("ids", "data", "indices", "indptr", "shape")
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return False


__all__: Sequence[str] = [
    "EMBEDDINGS",
    "LEXICAL",
    "MANIFEST",
    "SPECTER",
    "TOPICS",
    "WEIGHTS",
    "KnowledgeGraph",
    "artefact",
    "atomic_savez",
    "corpus_content",
    "lexical_ok",
    "load_lexical",
    "mapped",
    "npz",
    "prefetch",
    "read_weights",
]
