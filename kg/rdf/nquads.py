"""Named graphs as N-Quads in buckets: the unit a build hashes, compares and loads.

:func:`encode_graph` turns a graph's raw triples (:mod:`kg.rdf.mapping`) into N-Quads
lines in :data:`SNAPSHOT_BUCKETS` buckets by subject (a paper's own nodes and its
citation nodes go with the paper), hashes each bucket, and hashes the bucket digests
into the graph's content hash (:attr:`GraphData.digest`). The corpus is streamed in
chunks that spill to a file beside the store (:class:`Spool`), so memory stays
bounded (a few hundred MB) whatever the corpus size. Stores are fed the N-Quads in
pieces of :data:`BULK_CHUNK_BYTES` (:meth:`GraphData.chunks`, :func:`split_lines`).
"""

from __future__ import annotations

import hashlib
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import URIRef

from kg.rdf.mapping import Raw
from kg.rdf.vocab import BASE

_NT_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})

#: Each named graph's statements are split into this many buckets by subject (a
#: paper's own nodes and its citation nodes go with the paper). A bucket is the
#: unit of change detection: a rebuild re-reads and compares only the buckets whose
#: digest changed. The same statement always lands in the same bucket.
SNAPSHOT_BUCKETS = 1024

#: Statements the encoder holds as text before it moves them, bucket by bucket, to its
#: spill file (so a graph of any size is encoded in bounded memory).
_ENCODE_CHUNK = 200_000
#: A graph whose N-Quads exceed this many bytes waits for the store in a file, not in memory.
_SPILL_BYTES = 16 << 20
#: Oxigraph's bulk loader keeps what one call gives it in memory (up to a million quads
#: per thread, about 0.5 KB each): it is fed this many bytes of N-Quads per call.
BULK_CHUNK_BYTES = 32 << 20

_PAPER_PREFIX = f"{BASE}paper/"
_CITATION_PREFIX = f"{BASE}citation/"


def _subject_root(subject: str) -> str:
    """The entity a subject belongs to: ``paper/<id>/authorship/1`` -> ``paper/<id>``, a
    citation node -> its citing paper; anything else is its own root."""
    if subject.startswith(_PAPER_PREFIX):
        end = subject.find("/", len(_PAPER_PREFIX))
        return subject if end < 0 else subject[:end]
    if subject.startswith(_CITATION_PREFIX):
        end = subject.find("/", len(_CITATION_PREFIX))
        if end > 0:
            return _PAPER_PREFIX + subject[len(_CITATION_PREFIX) : end]
    return subject


def _bucket_of(subject: str, buckets: int) -> int:
    return zlib.crc32(_subject_root(subject).encode("utf-8", "replace")) % buckets


class Spool:
    """A private directory for one build's spill files (removed when the build ends)."""

    def __init__(self, parent: Path | None = None):
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix=".litkg-build-", dir=parent)
        self.dir = Path(self._tmp.name)
        self._n = 0

    def path(self, kind: str) -> Path:
        self._n += 1
        return self.dir / f"{self._n}.{kind}"

    def close(self) -> None:
        self._tmp.cleanup()


@dataclass
class GraphData:
    """One named graph's content as N-Quads, in buckets: bucket i's statements (one per
    line, each ending in `` <graph> .\\n``) are ``block(i)``, its SHA-256 ``digests[i]``
    (empty for an empty bucket). The blocks are in memory (``blocks``) or, for a big
    graph, one after the other in the file ``path``."""

    iri: URIRef
    digests: list[bytes]
    sizes: list[int]
    count: int
    blocks: list[bytes] | None = None
    path: Path | None = None

    @property
    def digest(self) -> str:
        """The graph's content hash: SHA-256 over its bucket digests."""
        return hashlib.sha256(b"".join(self.digests)).hexdigest()

    @property
    def nbytes(self) -> int:
        return sum(self.sizes)

    def block(self, i: int) -> bytes:
        if self.blocks is not None:
            return self.blocks[i]
        if not self.sizes[i] or self.path is None:
            return b""
        with self.path.open("rb") as fh:
            fh.seek(sum(self.sizes[:i]))
            return fh.read(self.sizes[i])

    def chunks(self, limit: int | None = None) -> Iterator[bytes]:
        """The N-Quads in pieces of whole buckets, each :data:`BULK_CHUNK_BYTES` (or
        ``limit``) at most unless one bucket is bigger."""
        limit = limit or BULK_CHUNK_BYTES
        if self.blocks is not None:
            yield from gather(iter(self.blocks), limit)
        elif self.path is not None:
            with self.path.open("rb") as fh:
                yield from gather((fh.read(n) for n in self.sizes), limit)

    def close(self) -> None:
        """Forget the statements (digests and counts stay)."""
        self.blocks = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def gather(blocks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    parts: list[bytes] = []
    size = 0
    for block in blocks:
        if not block:
            continue
        if parts and size + len(block) > limit:
            yield b"".join(parts)
            parts, size = [], 0
        parts.append(block)
        size += len(block)
    if parts:
        yield b"".join(parts)


def _finish_bucket(raw: bytes, dedupe: bool, sort: bool) -> tuple[bytes, int]:
    """A bucket's lines, duplicates dropped (first occurrence kept) and sorted if asked."""
    if not raw:
        return b"", 0
    if not (dedupe or sort):
        return raw, raw.count(b"\n")
    lines = raw.split(b"\n")
    lines.pop()  # after the last newline
    if dedupe and len(lines) > 1:
        lines = list(dict.fromkeys(lines))
    if sort:
        lines.sort()
    lines.append(b"")
    return b"\n".join(lines), len(lines) - 1


def encode_graph(
    iri: URIRef,
    raws: Iterable[Raw],
    *,
    buckets: int = SNAPSHOT_BUCKETS,
    dedupe: bool = True,
    sort: bool = False,
    spool: Spool | None = None,
) -> GraphData:
    """Raw triples as N-Quads lines of graph ``iri``, bucketed by subject; duplicates
    dropped (``dedupe``; pass False only where the source cannot repeat a statement)
    and each bucket sorted (``sort``, for sources whose order is not stable).

    ``raws`` is read once, as it comes: with a ``spool``, every :data:`_ENCODE_CHUNK`
    statements go to a spill file bucket by bucket, and a graph bigger than
    :data:`_SPILL_BYTES` ends in a file too, so memory stays bounded whatever the size.
    """
    end = f" <{iri}> .\n"
    parts: list[list[str]] = [[] for _ in range(buckets)]
    where: dict[str, list[str]] = {}
    escape = _NT_ESCAPE
    spill: Any = None  # the spill file, once the first chunk is written
    segments: list[list[tuple[int, int]]] = [[] for _ in range(buckets)]
    pending = 0

    def flush() -> None:
        offset = spill.tell()
        for b, lines in enumerate(parts):
            if lines:
                data = "".join(lines).encode("utf-8", "replace")
                spill.write(data)
                segments[b].append((offset, len(data)))
                offset += len(data)
                lines.clear()
        where.clear()

    try:
        for s, p, o in raws:
            target = where.get(s)
            if target is None:
                target = where[s] = parts[_bucket_of(s, buckets)]
            if isinstance(o, str):
                target.append(f"<{s}> <{p}> <{o}>{end}")
            else:
                lexical, dt = o
                # most literals need no escaping, and looking is much cheaper than translate()
                if "\\" in lexical or '"' in lexical or "\n" in lexical or "\r" in lexical:
                    lexical = lexical.translate(escape)
                if dt:
                    target.append(f'<{s}> <{p}> "{lexical}"^^<{dt}>{end}')
                else:
                    target.append(f'<{s}> <{p}> "{lexical}"{end}')
            pending += 1
            if pending >= _ENCODE_CHUNK and spool is not None:
                if spill is None:
                    spill = spool.path("spill").open("w+b")
                flush()
                pending = 0
        raw_blocks: Iterator[bytes]
        if spill is None:
            raw_blocks = ("".join(lines).encode("utf-8", "replace") for lines in parts)
        else:
            flush()
            raw_blocks = (_read_segments(spill, seg) for seg in segments)
        data = GraphData(iri, [], [], 0, blocks=[])
        out: Any = None
        total = 0
        for b, raw in enumerate(raw_blocks):
            parts[b] = []
            block, n = _finish_bucket(raw, dedupe, sort)
            data.count += n
            data.sizes.append(len(block))
            total += len(block)
            data.digests.append(hashlib.sha256(block).digest() if block else b"")
            if out is not None:
                out.write(block)
                continue
            assert data.blocks is not None
            data.blocks.append(block)
            if spool is not None and (spill is not None or total > _SPILL_BYTES):
                data.path = spool.path("nq")
                out = data.path.open("wb")
                out.write(b"".join(data.blocks))
                data.blocks = None
        if out is not None:
            out.close()
        return data
    finally:
        if spill is not None:
            spill.close()
            Path(spill.name).unlink(missing_ok=True)


def _read_segments(fh: Any, segments: Sequence[tuple[int, int]]) -> bytes:
    out: list[bytes] = []
    for offset, size in segments:
        fh.seek(offset)
        out.append(fh.read(size))
    return b"".join(out)


def statements_of(nquads: bytes, graph: URIRef) -> list[str]:
    """N-Quads lines of one graph back as ``<s> <p> o`` (SPARQL INSERT/DELETE DATA)."""
    cut = len(f" <{graph}> .")
    return [line[:-cut] for line in nquads.decode("utf-8").split("\n") if line]


def split_lines(nquads: bytes, limit: int) -> Iterator[bytes]:
    """``nquads`` in pieces of whole lines, each about ``limit`` bytes at most."""
    start, size = 0, len(nquads)
    while start < size:
        end = size if size - start <= limit else nquads.rfind(b"\n", start, start + limit) + 1
        if end <= start:  # one line longer than ``limit``
            end = nquads.find(b"\n", start + limit) + 1 or size
        yield nquads[start:end]
        start = end


__all__ = [
    "BULK_CHUNK_BYTES",
    "SNAPSHOT_BUCKETS",
    "GraphData",
    "Spool",
    "encode_graph",
    "gather",
    "split_lines",
    "statements_of",
]
