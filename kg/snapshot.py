"""A load snapshot of the built graph: the decoded papers and the NetworkX projection.

Reading 21k paper records from SQLite, decoding their JSON and building a 200k-edge
DiGraph takes ~2.5 s; unpickling the result takes ~0.6 s. ``litkg build`` therefore
writes ``graph/snapshot.pickle`` next to the other artefacts, and
:meth:`kg.build.KnowledgeGraph.load` uses it when it still describes the corpus.

It is a cache, never the truth:

* it is tied to a fingerprint of the corpus store (rows and latest fetch time per
  source, twin count) and to the digest of the topic model's inputs, so an ingest after
  the build makes it stale and the graph is loaded from the store, and a build that
  changed nothing leaves it as it is;
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


def key(corpus: str, topics_digest: str | None) -> str:
    """What a snapshot depends on: the corpus fingerprint and the topic model's inputs."""
    return f"{corpus}|{topics_digest}"


def save(path: Path, snapshot_key: str, content: dict[str, Any]) -> None:
    """Write the snapshot atomically (a failed write leaves none, never half of one).
    A small header (version, key) comes first, so :func:`stored_key` reads only that."""
    buf = io.BytesIO()
    pickle.dump((VERSION, snapshot_key), buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickle.dump(content, buf, protocol=pickle.HIGHEST_PROTOCOL)
    atomic_write_bytes(path, buf.getvalue())


def stored_key(path: Path) -> str | None:
    """The key of the snapshot at ``path`` (``None`` when absent or unreadable)."""
    try:
        with path.open("rb") as fh:
            header = _Unpickler(fh).load()
    except Exception:
        return None
    if isinstance(header, tuple) and len(header) == 2 and header[0] == VERSION:
        return str(header[1])
    return None


def load(path: Path, snapshot_key: str) -> dict[str, Any] | None:
    """The snapshot's content when it was made for ``snapshot_key``, else ``None``."""
    enabled = gc.isenabled()
    gc.disable()  # ~1M new objects: the collector's passes over them would double the time
    try:
        with path.open("rb") as fh:
            if _Unpickler(fh).load() != (VERSION, snapshot_key):
                return None
            content = _Unpickler(fh).load()  # a fresh memo: the two were pickled apart
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated, foreign, rejected: load from the store instead
        log.warning("ignoring the graph snapshot %s (%s); loading from the corpus", path, exc)
        return None
    finally:
        if enabled:
            gc.enable()
    return content if isinstance(content, dict) else None


__all__ = ["SNAPSHOT", "SnapshotRejected", "fingerprint", "key", "load", "save", "stored_key"]
