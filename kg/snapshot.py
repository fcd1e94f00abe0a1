"""A load snapshot of the built graph: the decoded papers and the NetworkX projection.

Reading 21k paper records from SQLite, decoding their JSON and building a 200k-edge
DiGraph takes ~2.5 s; unpickling the result takes ~0.6 s. ``litkg build`` therefore
writes ``graph/snapshot.pickle`` next to the other artefacts, and
:meth:`kg.build.KnowledgeGraph.load` uses it when it still describes the corpus.

It is a cache, never the truth:

* it is tied to the build (the manifest's ``built_at``) and to a fingerprint of the
  corpus store (rows and latest fetch time per source, twin count), so an ingest after
  the build, or a rebuild, makes it stale and the graph is loaded from the store;
* any problem reading it (missing, truncated, another version, another Python) means
  "load from the store", never an error;
* it is unpickled with an allow-list of classes (our model classes, NetworkX graphs,
  plain containers), so a planted file cannot run code: a snapshot naming anything
  else is rejected.
"""

from __future__ import annotations

import gc
import io
import logging
import pickle
from pathlib import Path
from typing import Any

from kg.corpus import CorpusStore
from kg.fileio import atomic_write_bytes

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.pickle"
#: Bump when the pickled shapes change (Paper, SeedRow, CitationGraph, TopicModel).
VERSION = 1

_ALLOWED_MODULES = ("kg.", "networkx.classes.", "networkx.utils.")
_ALLOWED_BUILTINS = frozenset(
    {"dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool", "bytes"}
)
_ALLOWED = {
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("copyreg", "_reconstructor"),
    ("copyreg", "__newobj__"),
}


class SnapshotRejected(pickle.UnpicklingError):
    """The snapshot names a class outside the allow-list."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = (
            (module == "builtins" and name in _ALLOWED_BUILTINS)
            or (module, name) in _ALLOWED
            or (module.startswith(_ALLOWED_MODULES) and not name.startswith("_"))
        )
        if not allowed:
            raise SnapshotRejected(f"{module}.{name} is not allowed in a litkg snapshot")
        return super().find_class(module, name)


def fingerprint(store: CorpusStore) -> str:
    """What the corpus holds, cheaply (~0.1 s at 200k citations): rows and the latest
    fetch per source and kind, and the number of folded twins."""
    rows = store.provenance()
    return repr((rows, len(store.same_as())))


def save(path: Path, built_at: str, corpus: str, content: dict[str, Any]) -> None:
    """Write the snapshot atomically (a failed write leaves none, never half of one)."""
    buf = io.BytesIO()
    pickle.dump((VERSION, built_at, corpus, content), buf, protocol=pickle.HIGHEST_PROTOCOL)
    atomic_write_bytes(path, buf.getvalue())


def load(path: Path, built_at: str, corpus: str) -> dict[str, Any] | None:
    """The snapshot's content when it matches this build and corpus, else ``None``."""
    enabled = gc.isenabled()
    gc.disable()  # ~1M new objects: the collector's passes over them would double the time
    try:
        with path.open("rb") as fh:
            data = _Unpickler(fh).load()
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated, foreign, rejected: load from the store instead
        log.warning("ignoring the graph snapshot %s (%s); loading from the corpus", path, exc)
        return None
    finally:
        if enabled:
            gc.enable()
    if not (isinstance(data, tuple) and len(data) == 4 and data[0] == VERSION):
        return None
    _, snap_built, snap_corpus, content = data
    if snap_built != built_at or snap_corpus != corpus or not isinstance(content, dict):
        return None
    return content


__all__ = ["SNAPSHOT", "SnapshotRejected", "fingerprint", "load", "save"]
