"""A load snapshot of the built graph: the decoded papers and the NetworkX projection.

Reading 21k paper records from SQLite, decoding their JSON and building a 200k-edge
DiGraph takes ~2.5 s; decoding one JSON document and wiring the graph's adjacency
dicts directly takes a fraction of that. ``litkg build`` therefore writes
``graph/snapshot.json`` next to the other artefacts, and
:meth:`kg.build.KnowledgeGraph.load` uses it when it still describes the corpus.

It is a cache, never the truth:

* it is tied to a fingerprint of the corpus store (rows and latest fetch time per
  source, twin count) and to the digest of the topic model's inputs, so an ingest after
  the build makes it stale and the graph is loaded from the store, and a build that
  changed nothing leaves it as it is;
* any problem reading it (missing, truncated, another version, a body that does not
  match the digest in its header, a shape we did not write) means "load from the
  store", never an error, and the next ``litkg build`` writes it again;
* it is data only: one header line (version, key, SHA-256 of the body) and one JSON
  body of strings, numbers, lists and objects. Nothing in it names a class or a
  function, so a planted or tampered file cannot run code. The pickle an earlier
  version wrote (``snapshot.pickle``) is never read; the build deletes it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from kg.core.fileio import atomic_writer
from kg.core.model import Author, Paper
from kg.graph.citations import CitationGraph, GraphColumns
from kg.store.corpus import CorpusStore, SeedRow

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.json"
#: What earlier versions wrote (a pickle): never read, removed by the next build.
LEGACY = ("snapshot.pickle",)
#: Bump when the encoded shapes change (Paper, SeedRow, CitationGraph).
VERSION = 2
_MAGIC = "litkg-load-snapshot"


class _SnapshotRejected(ValueError):
    """The snapshot is not one this version wrote (wrong digest, shape or types)."""


def fingerprint(store: CorpusStore) -> str:
    """What the corpus holds, cheaply (~0.1 s at 200k citations): rows and the latest
    fetch per source and kind, and the number of folded twins."""
    rows = store.provenance()
    return repr((rows, len(store.same_as())))


def key(corpus: str, topics_digest: str | None) -> str:
    """What a snapshot depends on: the corpus fingerprint and the topic model's inputs."""
    return f"{corpus}|{topics_digest}"


# --------------------------------------------------------------------------- encoding
#: Paper's fields, in the order of a snapshot's paper columns.
_PAPER_FIELDS = tuple(f.name for f in fields(Paper))
_TUPLE_FIELDS = ("publication_types", "fields_of_study", "tags")


class _Later:
    """A part of the snapshot document made only when it is written (and let go after):
    at field scale each adjacency list is hundreds of MB of Python objects."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class _Chunked:
    """A long list made a chunk at a time as it is written: ``make(lo, hi)`` gives the
    items of the nodes ``lo`` to ``hi`` (of ``size``), a list (empty when they have none)."""

    def __init__(self, size: int, make: Callable[[int, int], list[Any]]) -> None:
        self.size = size
        self.make = make


def _papers(papers: Collection[Paper]) -> dict[str, _Later]:
    """Papers as columns (one list per field): a third quicker to decode than objects.
    Each column is made when it is written."""

    def column(name: str) -> Callable[[], list[Any]]:
        if name == "authors":
            return lambda: [[[a.name, a.author_id] for a in p.authors] for p in papers]
        if name == "external_ids":
            return lambda: [dict(p.external_ids) for p in papers]
        return lambda: [getattr(p, name) for p in papers]

    return {name: _Later(column(name)) for name in _PAPER_FIELDS}


def _records(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Dicts with few distinct key sets as ``keys`` (those sets), ``kinds`` (each row's
    set) and ``rows`` (each row's values): lists decode faster than objects."""
    keysets: dict[tuple[str, ...], int] = {}
    kinds = [keysets.setdefault(tuple(r), len(keysets)) for r in rows]
    return {
        "keys": [list(k) for k in keysets],
        "kinds": kinds,
        "rows": [list(r.values()) for r in rows],
    }


def _nodes(g: nx.Graph) -> tuple[list[str], dict[str, int], dict[str, list[Any]]]:
    ids = list(g.nodes)
    return ids, {n: i for i, n in enumerate(ids)}, _records([g.nodes[n] for n in ids])


def _encode_graph(cg: CitationGraph) -> dict[str, Any]:
    g = cg.graph
    ids, index, attrs = _nodes(g)
    n = len(ids)
    succ_of = [g._succ[u] for u in ids]

    def pred_positions() -> tuple[np.ndarray, np.ndarray]:
        # An edge's position in the edge list (its source's edges in order, sources in node
        # order) found by its (source, target) numbers: no map of every edge is held.
        size = np.fromiter(map(len, succ_of), dtype=np.int64, count=n)
        src = np.repeat(np.arange(n, dtype=np.int64), size)
        dst = np.fromiter((index[v] for nbrs in succ_of for v in nbrs), np.int64, src.size)
        keys = src * n + dst
        del src, dst
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        indeg = np.fromiter((len(g._pred[v]) for v in ids), dtype=np.int64, count=n)
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(indeg, out=starts[1:])
        came = np.fromiter((index[u] for v in ids for u in g._pred[v]), np.int64, keys.size)
        came *= n
        came += np.repeat(np.arange(n, dtype=np.int64), indeg)
        return order[np.searchsorted(keys, came)], starts

    made: list[tuple[np.ndarray, np.ndarray]] = []

    def pred(lo: int, hi: int) -> list[list[int]]:
        if not made:
            made.append(pred_positions())
        position, starts = made[0]
        rows = [position[starts[j] : starts[j + 1]].tolist() for j in range(lo, hi)]
        if hi >= n:
            made.clear()
        return rows

    tg = cg.topic_graph
    tids, tindex, tattrs = _nodes(tg)
    tadj = [[tindex[v] for v in tg._adj[u]] for u in tids]
    tscore = [[float(d["score"]) for d in tg._adj[u].values()] for u in tids]
    return {
        "canonical": cg.canonical,
        "nodes": ids,
        "attrs": attrs,
        "succ": _Chunked(n, lambda lo, hi: [[index[v] for v in nb] for nb in succ_of[lo:hi]]),
        "pred": _Chunked(n, pred),
        "intents": _Chunked(
            n,
            lambda lo, hi: [
                list(d.get("intents", ())) for nb in succ_of[lo:hi] for d in nb.values()
            ],
        ),
        "influential": _Chunked(
            n,
            lambda lo, hi: [d.get("is_influential") for nb in succ_of[lo:hi] for d in nb.values()],
        ),
        "topic_nodes": tids,
        "topic_attrs": tattrs,
        "topic_adj": tadj,
        "topic_score": tscore,
    }


def _document(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "papers": _papers(content["papers"].values()),
        "seeds": [asdict(s) for s in content["seeds"]],
        "same_as": content["same_as"],
        "graph": _Later(lambda: _encode_graph(content["graph"])),
    }


_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"), default=list)
#: Items of a long list encoded at a time.
_CHUNK = 50_000


def _pieces(obj: Any) -> Iterator[str]:
    """``obj`` in JSON, the text ``json.dumps`` makes with the snapshot's options, in
    pieces: objects with string keys and lists longer than :data:`_CHUNK` are written
    part by part, :class:`_Later` parts made when reached. The whole text is never held
    (at 1M papers it is gigabytes, and its bytes as many again)."""
    if isinstance(obj, _Later):
        yield from _pieces(obj.make())
    elif isinstance(obj, _Chunked):
        yield "["
        first = True
        for lo in range(0, obj.size, _CHUNK):
            part = obj.make(lo, min(obj.size, lo + _CHUNK))
            if part:
                yield ("" if first else ",") + _dumps(part)[1:-1]
                first = False
        yield "]"
    elif isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        yield "{"
        for i, (k, v) in enumerate(obj.items()):
            yield ("," if i else "") + _dumps(k) + ":"
            yield from _pieces(v)
        yield "}"
    elif isinstance(obj, list) and len(obj) > _CHUNK:
        yield "["
        for lo in range(0, len(obj), _CHUNK):
            yield ("," if lo else "") + _dumps(obj[lo : lo + _CHUNK])[1:-1]
        yield "]"
    else:
        yield _dumps(obj)


def _body(content: dict[str, Any]) -> bytes:
    return "".join(_pieces(_document(content))).encode()


def _header_line(snapshot_key: str, digest: str) -> bytes:
    header = {"format": _MAGIC, "version": VERSION, "key": snapshot_key, "sha256": digest}
    return json.dumps(header).encode() + b"\n"


def save(path: Path, snapshot_key: str, content: dict[str, Any]) -> None:
    """Write the snapshot atomically (a failed write leaves none, never half of one).
    A header line (version, key, digest of the body) comes first, so :func:`stored_key`
    reads only that. ``content``: ``papers`` (id -> Paper), ``seeds``, ``same_as`` and
    ``graph`` (a :class:`CitationGraph`). The body is encoded and written piece by piece
    (:func:`_pieces`) after a header of the same length, which is then written over with
    the body's digest."""
    path = Path(path)
    with atomic_writer(path) as fh:
        placeholder = _header_line(snapshot_key, "0" * 64)
        fh.write(placeholder)
        digest = hashlib.sha256()
        for piece in _pieces(_document(content)):
            data = piece.encode()
            digest.update(data)
            fh.write(data)
        header = _header_line(snapshot_key, digest.hexdigest())
        if len(header) != len(placeholder):  # pragma: no cover - a hex digest
            raise ValueError("the snapshot header changed length")
        fh.seek(0)
        fh.write(header)
    for name in LEGACY:
        (path.parent / name).unlink(missing_ok=True)


def _header(line: bytes) -> dict[str, Any] | None:
    try:
        header = json.loads(line)
    except ValueError:
        return None
    if (
        isinstance(header, dict)
        and header.get("format") == _MAGIC
        and header.get("version") == VERSION
        and isinstance(header.get("key"), str)
        and isinstance(header.get("sha256"), str)
    ):
        return header
    return None


def stored_key(path: Path, *, verify: bool = False) -> str | None:
    """The key of the snapshot at ``path`` (``None`` when absent or unreadable; with
    ``verify``, also when its body does not match the digest in its header)."""
    try:
        with path.open("rb") as fh:
            header = _header(fh.readline(1 << 16))
            intact = header is not None and (
                not verify or hashlib.sha256(fh.read()).hexdigest() == header["sha256"]
            )
    except OSError:
        return None
    return str(header["key"]) if intact and header is not None else None


# --------------------------------------------------------------------------- decoding
def _unrecords(doc: Any, count: int) -> list[dict[str, Any]]:
    """The dicts :func:`_records` encoded (JSON lists back to tuples, as the projection
    makes them), after checking there are ``count`` of them."""
    keys = [tuple(_strings(k, "attribute names")) for k in doc["keys"]]
    kinds, rows = doc["kinds"], doc["rows"]
    if not (
        isinstance(kinds, list) and isinstance(rows, list) and len(kinds) == len(rows) == count
    ):
        raise _SnapshotRejected("node attributes do not match the nodes")
    out = []
    for kind, row in zip(kinds, rows, strict=True):
        names = keys[kind]
        if len(names) != len(row):
            raise _SnapshotRejected("node attributes do not match their names")
        out.append({k: tuple(v) if type(v) is list else v for k, v in zip(names, row, strict=True)})
    return out


def _decode_papers(cols: Any) -> list[Paper]:
    """The papers :func:`_papers` encoded. Their fields are set as unpickling does (the
    frozen dataclass's ``__init__`` sets them one by one, at thrice the cost)."""
    if not isinstance(cols, dict) or set(cols) != set(_PAPER_FIELDS):
        raise _SnapshotRejected("the paper columns are not Paper's fields")
    n = len(cols["paper_id"])
    if any(not isinstance(c, list) or len(c) != n for c in cols.values()):
        raise _SnapshotRejected("the paper columns differ in length")
    _strings(cols["paper_id"], "paper ids")
    cols = dict(cols)
    cols["authors"] = [tuple([Author(str(a), b) for a, b in v]) for v in cols["authors"]]
    for name in _TUPLE_FIELDS:
        cols[name] = [tuple(v) for v in cols[name]]
    if not all(isinstance(v, dict) for v in cols["external_ids"]):
        raise _SnapshotRejected("external ids are not objects")
    out = []
    new = object.__new__
    for row in zip(*(cols[name] for name in _PAPER_FIELDS), strict=True):
        p = new(Paper)
        p.__dict__.update(zip(_PAPER_FIELDS, row, strict=True))
        out.append(p)
    return out


def _decode_seed(data: dict[str, Any]) -> SeedRow:
    data = dict(data)
    data["ids"] = tuple(data["ids"])
    data["section_path"] = tuple(data["section_path"])
    return SeedRow(**data)


def _strings(values: Any, what: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _SnapshotRejected(f"{what} is not a list of strings")
    return values


def _flat(lists: list[Any], n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Lists of node numbers (one per node) as (indptr, values), each checked to be a
    number below ``n``."""
    if not isinstance(lists, list) or not all(isinstance(row, list) for row in lists):
        raise _SnapshotRejected(f"{what} is not a list of lists")
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)), out=indptr[1:])
    try:
        values = np.fromiter(itertools.chain.from_iterable(lists), np.int64, int(indptr[-1]))
    except (TypeError, ValueError, OverflowError) as exc:
        raise _SnapshotRejected(f"{what} holds something other than numbers") from exc
    if values.size and (values.min() < 0 or values.max() >= n):
        raise _SnapshotRejected(f"{what} points outside the graph")
    return indptr, values


def _decode_graph(doc: dict[str, Any]) -> CitationGraph:
    ids = _strings(doc["nodes"], "nodes")
    n = len(ids)
    attrs = _unrecords(doc["attrs"], n)
    intents, influential = doc.pop("intents"), doc.pop("influential")
    succ_lists, pred_lists = doc.pop("succ"), doc.pop("pred")
    if not (isinstance(intents, list) and isinstance(influential, list)):
        raise _SnapshotRejected("edge attributes are not lists")
    for lists in (succ_lists, pred_lists):
        if not isinstance(lists, list) or len(lists) != n:
            raise _SnapshotRejected("an adjacency list does not match the nodes")
    indptr, targets = _flat(succ_lists, n, "the successor lists")
    del succ_lists
    edges = targets.size
    if not len(intents) == len(influential) == edges:
        raise _SnapshotRejected("edge attributes do not match the edges")
    # predecessors are stored as positions in the edge list (so both ends share the dict)
    pred_indptr, pred_edges = _flat(pred_lists, max(edges, 1), "the predecessor lists")
    del pred_lists
    if pred_edges.size != edges:
        raise _SnapshotRejected("the predecessor lists do not match the edges")
    table: dict[tuple[str, ...], int] = {}
    codes = np.fromiter(
        (table.setdefault(tuple(i), len(table)) for i in intents), np.int32, count=edges
    )
    del intents
    flags = {None: -1, False: 0, True: 1}
    try:
        flag = np.fromiter((flags[f] for f in influential), np.int8, count=edges)
    except (KeyError, TypeError) as exc:
        raise _SnapshotRejected("an influence flag is not true, false or null") from exc
    del influential
    columns = GraphColumns(
        ids=ids,
        attrs=attrs,
        indptr=indptr,
        indices=targets.astype(np.int32),
        pred_indptr=pred_indptr,
        pred_edges=pred_edges,
        intent_codes=codes,
        intent_table=list(table),
        influential=flag,
    )

    tids = _strings(doc["topic_nodes"], "topic nodes")
    tattrs = _unrecords(doc["topic_attrs"], len(tids))
    scores = iter([float(s) for row in doc["topic_score"] for s in row])
    tadj: dict[str, dict[str, Any]] = {}
    for u, row in zip(tids, doc["topic_adj"], strict=True):
        nbrs = tadj[u] = {}
        for j in row:
            v = tids[j]
            score = next(scores)
            shared = tadj.get(v, {}).get(u)  # an undirected edge: one dict, both ways
            nbrs[v] = shared if shared is not None else {"score": score}
    tg: nx.Graph = nx.Graph()
    tg._node.update(zip(tids, tattrs, strict=True))
    tg._adj = tadj
    canonical = doc["canonical"]
    if not isinstance(canonical, dict):
        raise _SnapshotRejected("the twin map is not an object")
    return CitationGraph.from_columns(canonical, columns, tg)


def _decode(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise _SnapshotRejected("the body is not an object")
    # each part is taken out of the document as it is decoded: its lists go once made into
    # objects (at field scale, gigabytes each)
    papers = {p.paper_id: p for p in _decode_papers(doc.pop("papers", None))}
    same_as = doc["same_as"]
    if not isinstance(same_as, dict):
        raise _SnapshotRejected("same_as is not an object")
    seeds = [_decode_seed(s) for s in doc["seeds"]]
    return {
        "papers": papers,
        "seeds": seeds,
        "same_as": same_as,
        "graph": _decode_graph(doc.pop("graph")),
    }


def load(path: Path, snapshot_key: str) -> dict[str, Any] | None:
    """The snapshot's content when it was made for ``snapshot_key``, else ``None``. Its
    caller, :meth:`KnowledgeGraph.load`, pauses the cycle collector around it
    (:func:`kg.core.memory.gc_paused`: ~1M new objects, whose passes would double the time)."""
    try:
        with path.open("rb") as fh:
            header = _header(fh.readline(1 << 16))
            if header is None or header["key"] != snapshot_key:
                return None
            body = fh.read()
        if hashlib.sha256(body).hexdigest() != header["sha256"]:
            raise _SnapshotRejected("its content does not match the digest in its header")
        # the bytes go before the text is parsed, the text before the objects are made
        text = body.decode("utf-8")
        del body
        doc = json.loads(text)
        del text
        return _decode(doc)
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated, tampered, foreign: load from the store instead
        log.warning(
            "ignoring the graph snapshot %s (%s: %s); loading from the corpus "
            "(`litkg build` writes it again)",
            path,
            type(exc).__name__,
            exc,
        )
        return None


__all__ = [
    "LEGACY",
    "SNAPSHOT",
    "fingerprint",
    "key",
    "load",
    "save",
    "stored_key",
]
