"""What each named graph held after the last build, so the next one can patch it.

A snapshot is the graph's bucket digests and its buckets' N-Quads
(:mod:`kg.rdf.nquads`), each zlib-compressed; it is trusted only when its content
hash is the one the meta graph records for that graph, so a snapshot that is
missing, unreadable or out of step with the store only costs a full reload of that
graph. A build stages the new snapshots as it goes and makes them current once the
store is complete. On-disk stores keep them beside the store in ``<rdf>-snapshots``
(:func:`kg.rdf.stores.snapshot_dir`), in-memory stores in memory for the life of the
process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import weakref
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rdflib import Dataset
from rdflib.store import Store

from kg.rdf.nquads import GraphData
from kg.rdf.remote import RemoteStore
from kg.rdf.stores import OxStore, snapshot_dir

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    graph: str
    digest: str
    digests: list[bytes]
    blocks: list[bytes] | None = None  # zlib-compressed, b"" for an empty bucket; or
    path: Path | None = None  # read from this file, at these offsets
    offsets: list[int] | None = None

    def compressed(self, bucket: int) -> bytes:
        if self.blocks is not None:
            return self.blocks[bucket]
        assert self.path is not None and self.offsets is not None
        start, end = self.offsets[bucket], self.offsets[bucket + 1]
        if start == end:
            return b""
        with self.path.open("rb") as fh:
            fh.seek(start)
            block = fh.read(end - start)
        if len(block) != end - start:
            raise zlib.error(f"{self.path} is truncated")
        return block

    def lines(self, bucket: int) -> set[bytes]:
        """Bucket ``bucket``'s N-Quads lines (zlib.error if the snapshot is corrupt)."""
        block = self.compressed(bucket)
        out = set(zlib.decompress(block).split(b"\n")) if block else set()
        out.discard(b"")
        return out


def _compressed_blocks(data: GraphData, old: Snapshot | None) -> Iterator[bytes]:
    """``data``'s buckets compressed, reusing ``old``'s where the digest is unchanged."""
    same = old is not None and len(old.digests) == len(data.digests)
    for i, digest in enumerate(data.digests):
        if same and old is not None and old.digests[i] == digest:
            yield old.compressed(i)
        else:
            block = data.block(i)
            yield zlib.compress(block, 1) if block else b""


class Snapshots(Protocol):
    def get(self, graph: str) -> Snapshot | None: ...

    def stage(self, data: GraphData, old: Snapshot | None) -> None:
        """Write ``data``'s snapshot, to become current at :meth:`commit`."""

    def commit(self) -> None: ...

    def abort(self) -> None:
        """Forget what was staged (the build failed)."""

    def discard(self, graph: str) -> None: ...


class _MemorySnapshots:
    """Snapshots of an in-memory store, kept beside it for the life of the process."""

    def __init__(self) -> None:
        self.items: dict[str, Snapshot] = {}
        self.staged: dict[str, Snapshot] = {}

    def get(self, graph: str) -> Snapshot | None:
        return self.items.get(graph)

    def stage(self, data: GraphData, old: Snapshot | None) -> None:
        blocks = list(_compressed_blocks(data, old))
        self.staged[str(data.iri)] = Snapshot(
            str(data.iri), data.digest, list(data.digests), blocks
        )

    def commit(self) -> None:
        self.items.update(self.staged)
        self.staged.clear()

    def abort(self) -> None:
        self.staged.clear()

    def discard(self, graph: str) -> None:
        self.items.pop(graph, None)
        self.staged.pop(graph, None)


_SNAPSHOT_MAGIC = b"litkg-graph-snapshot 1\n"


class _DiskSnapshots:
    """Snapshots in a directory beside the store: one file per graph, a JSON header line
    (graph, content hash, each bucket's digest and compressed size) and the buckets.
    Buckets are read when needed, never the whole file at once."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.staged: list[str] = []

    def _path(self, graph: str) -> Path:
        return self.dir / f"{hashlib.sha256(graph.encode()).hexdigest()[:32]}.snapshot"

    def _staged_path(self, graph: str) -> Path:
        return self._path(graph).with_suffix(".staged")

    def _header(self, graph: str, fh: Any) -> dict[str, Any] | None:
        if fh.read(len(_SNAPSHOT_MAGIC)) != _SNAPSHOT_MAGIC:
            return None
        header = json.loads(fh.readline())
        if not isinstance(header, dict) or header.get("graph") != graph:
            return None
        return header

    def get(self, graph: str) -> Snapshot | None:
        path = self._path(graph)
        try:
            with path.open("rb") as fh:
                header = self._header(graph, fh)
                if header is None:
                    return None
                offsets = [fh.tell()]
                digests: list[bytes] = []
                for digest, size in header["buckets"]:
                    digests.append(bytes.fromhex(digest))
                    offsets.append(offsets[-1] + int(size))
                if path.stat().st_size != offsets[-1]:
                    raise ValueError("the file is truncated")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # a string, not the exception: its traceback would keep the store open
            log.warning("ignoring the unreadable graph snapshot of %s (%s)", graph, str(exc))
            return None
        return Snapshot(graph, str(header["hash"]), digests, path=path, offsets=offsets)

    def stage(self, data: GraphData, old: Snapshot | None) -> None:
        """Write the snapshot beside the current one (the buckets go to a scratch file
        first: the header that lists their sizes comes before them)."""
        graph = str(data.iri)
        staged = self._staged_path(graph)
        body = staged.with_suffix(".body")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            sizes: list[int] = []
            with body.open("w+b") as fh:
                for block in _compressed_blocks(data, old):
                    fh.write(block)
                    sizes.append(len(block))
                header = {
                    "graph": graph,
                    "hash": data.digest,
                    "buckets": [[d.hex(), n] for d, n in zip(data.digests, sizes, strict=True)],
                }
                with staged.open("wb") as out:
                    out.write(_SNAPSHOT_MAGIC)
                    out.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
                    fh.seek(0)
                    shutil.copyfileobj(fh, out, 1 << 20)
                    out.flush()
                    os.fsync(out.fileno())
            if graph not in self.staged:
                self.staged.append(graph)
        except (OSError, zlib.error) as exc:  # only the next build's speed depends on it
            log.warning("cannot write the graph snapshot in %s (%s)", self.dir, str(exc))
            staged.unlink(missing_ok=True)
        finally:
            body.unlink(missing_ok=True)

    def commit(self) -> None:
        for graph in self.staged:
            try:
                self._staged_path(graph).replace(self._path(graph))
            except OSError as exc:
                log.warning("cannot write the graph snapshot in %s (%s)", self.dir, str(exc))
        self.staged.clear()

    def abort(self) -> None:
        for graph in self.staged:
            self._staged_path(graph).unlink(missing_ok=True)
        self.staged.clear()

    def discard(self, graph: str) -> None:
        self._path(graph).unlink(missing_ok=True)
        self._staged_path(graph).unlink(missing_ok=True)


_MEMORY_SNAPSHOTS: weakref.WeakKeyDictionary[Store, _MemorySnapshots] = weakref.WeakKeyDictionary()


def snapshots_for(dataset: Dataset) -> Snapshots:
    store = dataset.store
    if isinstance(store, OxStore) and store.location != "memory":
        return _DiskSnapshots(snapshot_dir(Path(store.location)))
    if isinstance(store, RemoteStore) and store.snapshot_dir is not None:
        return _DiskSnapshots(store.snapshot_dir)
    found = _MEMORY_SNAPSHOTS.get(store)
    if found is None:
        found = _MEMORY_SNAPSHOTS[store] = _MemorySnapshots()
    return found


__all__ = ["Snapshot", "Snapshots", "snapshots_for"]
