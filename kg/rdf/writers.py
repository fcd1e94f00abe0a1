"""Writing named graphs into each kind of store: load, patch, drop, clear.

A build (:mod:`kg.rdf.sync`) gets a :class:`Writer` from :func:`writer_for`. Oxigraph
gets ``DELETE DATA`` and a (bulk) load, and is compacted at the end; a SPARQL server
``DELETE DATA`` / ``INSERT DATA`` chunks, and never a clear (a shared server may
hold other data); rdflib's store triple by triple. A graph is dropped in chunks of
:data:`_DELETE_CHUNK` quads, each one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Protocol

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from rdflib import Dataset, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

from kg.core.errors import GraphStoreError
from kg.rdf.mapping import Triple
from kg.rdf.nquads import BULK_CHUNK_BYTES, GraphData, gather, split_lines, statements_of
from kg.rdf.remote import RemoteStore
from kg.rdf.stores import REBUILD_HINT, OxStore, OxTerms


class Writer(Protocol):
    def add(self, graphs: Sequence[GraphData]) -> None:
        """Add the statements of ``graphs`` (graphs that are empty or were just dropped)."""

    def patch(self, graph: URIRef, added: bytes, removed: bytes) -> None: ...

    def drop(self, graph: URIRef) -> None: ...

    def clear_all(self) -> bool: ...

    def finish(self) -> None: ...


#: Patches adding more N-Quads than this go through Oxigraph's bulk loader.
_BULK_PATCH_BYTES = 32 << 20
#: Statements removed per update: one transaction holds them all in memory (Oxigraph's
#: ``remove_graph`` of a 1.3M-quad graph took 1.9 GiB and twice the time of chunks).
_DELETE_CHUNK = 50_000
_DELETE_CHUNK_BYTES = 8 << 20


class _OxWriter:
    def __init__(self, store: ox.Store, location: str):
        self.ox = store
        self.location = location
        self.bulk_loaded = False

    def _fail(self, exc: Exception) -> GraphStoreError:
        return GraphStoreError(
            f"Writing the RDF store {self.location} failed ({exc}). Check the disk, then run "
            f"`{REBUILD_HINT}`."
        )

    def _load(self, nquads: bytes) -> None:
        if len(nquads) > 1 << 20:
            self.ox.bulk_load(nquads, ox.RdfFormat.N_QUADS)
            self.bulk_loaded = True
        elif nquads:
            self.ox.load(nquads, ox.RdfFormat.N_QUADS)

    def add(self, graphs: Sequence[GraphData]) -> None:
        """All the graphs' quads, in bulk loads of :data:`BULK_CHUNK_BYTES` (small graphs
        share one): one call for everything would hold everything in memory (2.7M quads:
        1.6 GiB; in 300k-quad calls: 0.5 GiB, no slower)."""
        try:
            pieces = (chunk for g in graphs for chunk in g.chunks())
            for chunk in gather(pieces, BULK_CHUNK_BYTES):
                self._load(chunk)
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._fail(exc) from exc

    def patch(self, graph: URIRef, added: bytes, removed: bytes) -> None:
        """Remove, then add (an equal value written differently is removed and re-added)."""
        try:
            for piece in split_lines(removed, _DELETE_CHUNK_BYTES):
                body = " .\n".join(statements_of(piece, graph))
                self.ox.update(f"DELETE DATA {{ GRAPH <{graph}> {{\n{body} .\n}} }}")
            if len(added) > _BULK_PATCH_BYTES:
                for piece in split_lines(added, BULK_CHUNK_BYTES):
                    self._load(piece)
            elif added:
                self.ox.load(added, ox.RdfFormat.N_QUADS)
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._fail(exc) from exc

    def drop(self, graph: URIRef) -> None:
        """Remove a graph, :data:`_DELETE_CHUNK` quads per transaction."""
        name = ox.NamedNode(str(graph))
        try:
            if not self.ox.contains_named_graph(name):
                return
            first: ox.Quad | None = None
            while True:
                quads = list(
                    islice(self.ox.quads_for_pattern(None, None, None, name), _DELETE_CHUNK)
                )
                if not quads or quads[0] == first:
                    break  # nothing left, or a quad DELETE DATA cannot name: remove_graph does
                if any(isinstance(t, ox.BlankNode) for q in quads for t in (q.subject, q.object)):
                    break
                first = quads[0]
                body = ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES)
                assert body is not None
                self.ox.update(f"DELETE DATA {{ GRAPH <{graph}> {{\n{body.decode()}}} }}")
                if len(quads) < _DELETE_CHUNK:
                    break
            self.ox.remove_graph(name)
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._fail(exc) from exc

    def clear_all(self) -> bool:
        try:
            self.ox.clear()
        except OSError as exc:
            raise self._fail(exc) from exc
        return True

    def finish(self) -> None:
        try:
            self.ox.flush()
            if self.bulk_loaded:
                # The bulk loader leaves many overlapping files; compacting them once
                # halves the time of index lookups (measured: 526 -> 244 ms on a join).
                self.ox.optimize()
        except OSError as exc:
            raise self._fail(exc) from exc


class _RemoteWriter:
    chunk_lines = 5000

    def __init__(self, store: RemoteStore):
        self.store = store

    def _send(self, verb: str, graph: URIRef, nquads: bytes) -> None:
        lines = statements_of(nquads, graph)
        for i in range(0, len(lines), self.chunk_lines):
            chunk = " .\n".join(lines[i : i + self.chunk_lines])
            self.store.update_text(f"{verb} DATA {{ GRAPH <{graph}> {{\n{chunk} .\n}} }}")

    def add(self, graphs: Sequence[GraphData]) -> None:
        for g in graphs:
            for chunk in g.chunks(4 << 20):
                if self.store.bulk_url:
                    self.store.bulk_load(chunk)  # N-Quads as they are: no SPARQL to parse
                else:
                    self._send("INSERT", g.iri, chunk)

    def patch(self, graph: URIRef, added: bytes, removed: bytes) -> None:
        for piece in split_lines(removed, 4 << 20):
            self._send("DELETE", graph, piece)
        for piece in split_lines(added, 4 << 20):
            self._send("INSERT", graph, piece)

    def drop(self, graph: URIRef) -> None:
        self.store.update_text(f"DROP SILENT GRAPH <{graph}>")

    def clear_all(self) -> bool:
        return False  # a shared server may hold other data: only ever drop our own graphs

    def finish(self) -> None:
        pass


def _parsed_triples(nquads: bytes) -> list[Triple]:
    """N-Quads (litkg's own: IRIs and literals only) as rdflib triples."""
    convert = OxTerms()
    out: list[Triple] = []
    for quad in ox.parse(nquads, ox.RdfFormat.N_QUADS):
        s, p, o = convert(quad.subject), convert(quad.predicate), convert(quad.object)
        assert s is not None and p is not None and o is not None
        out.append((s, p, o))
    return out


class _RdflibWriter:
    def __init__(self, dataset: Dataset):
        self.ds = dataset

    def add(self, graphs: Sequence[GraphData]) -> None:
        for g in graphs:
            target = self.ds.graph(g.iri)
            for chunk in g.chunks():
                self.ds.addN((s, p, o, target) for s, p, o in _parsed_triples(chunk))

    def patch(self, graph: URIRef, added: bytes, removed: bytes) -> None:
        target = self.ds.graph(graph)
        for triple in _parsed_triples(removed):
            target.remove(triple)
        self.ds.addN((s, p, o, target) for s, p, o in _parsed_triples(added))

    def drop(self, graph: URIRef) -> None:
        self.ds.remove_graph(graph)

    def clear_all(self) -> bool:
        return False

    def finish(self) -> None:
        pass


def writer_for(dataset: Dataset) -> Writer:
    store = dataset.store
    if isinstance(store, OxStore):
        if store.read_only:
            raise GraphStoreError(
                f"The RDF store {store.location} was opened read-only; open it with "
                f"open_graph(settings, writable=True) to build."
            )
        return _OxWriter(store.ox, store.location)
    if isinstance(store, OxigraphStore):
        return _OxWriter(store._inner, "memory")
    if isinstance(store, RemoteStore):
        return _RemoteWriter(store)
    if isinstance(store, SPARQLUpdateStore):
        raise GraphStoreError("open remote stores with kg.rdf.open_graph(settings)")
    return _RdflibWriter(dataset)


__all__ = ["Writer", "writer_for"]
