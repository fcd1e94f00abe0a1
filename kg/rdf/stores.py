"""The stores behind the knowledge graph, and the one way to open and query them.

This is the one module that knows which triple store holds the graph. Everyone
else gets an ``rdflib.Dataset`` from :func:`open_graph` (or :func:`memory_graph`)
and queries it through :mod:`kg.rdf.sparql`, or, for trusted internal queries,
:func:`select` / :func:`query_rows`.

* **embedded** (default): Oxigraph, on disk at ``settings.rdf_path``, through
  ``oxrdflib``. Readers open it read-only, so ``litkg serve`` and ``litkg sparql``
  can run side by side; the build opens it read-write (one writer at a time).
* **remote**: any SPARQL 1.1 server when ``LITKG_SPARQL_QUERY_URL`` is set
  (updates go to ``LITKG_SPARQL_UPDATE_URL``): :class:`kg.rdf.remote.RemoteStore`.
* **in memory** (:func:`memory_graph`): Oxigraph or rdflib's own store, for
  tests and benchmarks.

In all three, a query's default graph is the union of the named graphs. A build
(:mod:`kg.rdf.sync`) marks itself in progress first and complete last; a reader that
finds a store half-written says so and names ``litkg build --rebuild``
(:func:`check_complete`). A reader sees the store as it was when opened: restart
``litkg serve`` after a build to see it.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.graph import ConjunctiveGraph
from rdflib.plugins.stores.memory import Memory
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore
from rdflib.query import Result
from rdflib.store import Store
from rdflib.term import BNode, IdentifiedNode, Node

from kg.core.errors import ConfigError, GraphStoreError
from kg.core.settings import Settings
from kg.rdf.mapping import BUILD_IRI, G_META, XSD_STRING
from kg.rdf.remote import RemoteStore
from kg.rdf.vocab import LITKG, PREFIXES

#: The command that repairs a broken store (named in every error about one).
REBUILD_HINT = "litkg build --rebuild"


class OxStore(OxigraphStore):
    """oxrdflib's store, holding an explicit pyoxigraph store (and letting it go on close)."""

    def __init__(self, store: ox.Store, *, location: str = "memory", read_only: bool = False):
        super().__init__(store=store)
        self.location = location
        self.read_only = read_only

    @property
    def _inner(self) -> ox.Store:
        if self._store is None:
            raise GraphStoreError(f"the RDF store {self.location} is closed")
        return self._store

    @property
    def ox(self) -> ox.Store:
        return self._inner

    def close(self, commit_pending_transaction: bool = False) -> None:
        self._store = None  # dropping the last reference closes RocksDB and frees the lock


class _Dataset(Dataset):
    """rdflib's Dataset without its deprecation warnings for attributes rdflib itself uses.

    rdflib 7's SPARQL engine and ``Dataset.triples`` use ``default_context``,
    ``identifier`` and ``contexts()``, which the Dataset deprecates with a warning
    on every access.
    """

    @property
    def default_context(self) -> Graph:
        return self._default_context

    @default_context.setter
    def default_context(self, value: Graph) -> None:
        self._default_context = value

    @property
    def identifier(self) -> IdentifiedNode:
        return ConjunctiveGraph.identifier.fget(self)  # type: ignore[attr-defined]

    def contexts(self, triple: Any = None) -> Generator[Graph, None, None]:
        return self.graphs(triple)


def make_dataset(store: Store) -> Dataset:
    ds = _Dataset(store=store, default_union=True)
    for prefix, namespace in PREFIXES.items():
        ds.bind(prefix, URIRef(namespace), override=True, replace=True)
    return ds


@dataclass
class QueryRows:
    """A query's answer as rdflib terms: ``kind`` select/ask/graph, ``columns``, and
    ``rows``, a generator to read in the thread that ran the query and then close."""

    kind: str
    columns: tuple[str, ...]
    rows: Generator[tuple[Node | None, ...], None, None]
    boolean: bool | None = None


def _no_rows() -> Generator[tuple[Node | None, ...]]:
    yield from ()


class OxTerms:
    """pyoxigraph terms -> rdflib terms, caching the ones a result repeats."""

    def __init__(self) -> None:
        self.iris: dict[str, URIRef] = {}
        self.literals: dict[tuple[str, str, str | None], Literal] = {}

    def __call__(self, term: Any) -> Node | None:
        if term is None:
            return None
        if isinstance(term, ox.NamedNode):
            value = term.value
            iri = self.iris.get(value)
            if iri is None:
                iri = self.iris[value] = URIRef(value)
            return iri
        if isinstance(term, ox.Literal):
            key = (term.value, term.datatype.value, term.language)
            lit = self.literals.get(key)
            if lit is None:
                if term.language:
                    lit = Literal(term.value, lang=term.language)
                elif key[1] == XSD_STRING:
                    lit = Literal(term.value)
                else:
                    lit = Literal(term.value, datatype=URIRef(key[1]))
                self.literals[key] = lit
            return lit
        if isinstance(term, ox.BlankNode):
            return BNode(term.value)
        return Literal(str(term))  # an RDF-star triple term: shown as text


def _ox_rows(solutions: ox.QuerySolutions, width: int) -> Generator[tuple[Node | None, ...]]:
    convert = OxTerms()
    try:
        for solution in solutions:
            yield tuple(convert(solution[i]) for i in range(width))
    finally:
        del solutions  # pyoxigraph results must be dropped by the thread that made them


def _ox_triples(triples: ox.QueryTriples) -> Generator[tuple[Node | None, ...]]:
    convert = OxTerms()
    try:
        for triple in triples:
            yield (convert(triple.subject), convert(triple.predicate), convert(triple.object))
    finally:
        del triples


def _rdflib_rows(result: Result) -> Generator[tuple[Node | None, ...]]:
    try:
        if result.type in ("CONSTRUCT", "DESCRIBE"):
            yield from (tuple(t) for t in (result.graph or Graph()))
        else:
            for row in result:
                yield tuple(row)  # type: ignore[arg-type]
    finally:
        del result


def query_rows(dataset: Dataset, query: str) -> QueryRows:
    """Run a (checked, read-only) query on whatever store holds ``dataset``.

    Oxigraph is asked directly (pyoxigraph), which streams solutions and converts
    terms faster than going through rdflib's Result; other stores go through
    ``dataset.query``. The predeclared prefixes of :data:`kg.rdf.vocab.PREFIXES` apply.
    """
    store = dataset.store
    if isinstance(store, OxigraphStore):
        answer = store._inner.query(query, use_default_graph_as_union=True, prefixes=PREFIXES)
        if isinstance(answer, ox.QueryBoolean):
            return QueryRows("ask", (), _no_rows(), bool(answer))
        if isinstance(answer, ox.QuerySolutions):
            columns = tuple(v.value for v in answer.variables)
            return QueryRows("select", columns, _ox_rows(answer, len(columns)))
        return QueryRows("graph", ("subject", "predicate", "object"), _ox_triples(answer))
    namespaces = {k: URIRef(v) for k, v in PREFIXES.items()}
    result = dataset.query(query, initNs=namespaces)
    if result.type == "ASK":
        return QueryRows("ask", (), _no_rows(), bool(result.askAnswer))
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        return QueryRows("graph", ("subject", "predicate", "object"), _rdflib_rows(result))
    columns = tuple(str(v) for v in (result.vars or ()))
    return QueryRows("select", columns, _rdflib_rows(result))


def select(dataset: Dataset, query: str) -> list[tuple[Node | None, ...]]:
    """All rows of a trusted internal query, read (and released) in the calling thread.

    pyoxigraph's results may only be freed by the thread that made them; a half-read
    rdflib ``Result`` keeps one alive in a reference cycle until some other thread's
    garbage collection trips over it. Library code queries through here or
    :func:`query_rows`, never ``dataset.query``.
    """
    answer = query_rows(dataset, query)
    with closing(answer.rows) as rows:
        return list(rows)


def memory_graph(engine: str = "oxigraph") -> Dataset:
    """An empty in-memory dataset: ``oxigraph`` (fast) or ``rdflib`` (pure Python)."""
    if engine == "oxigraph":
        return make_dataset(OxStore(ox.Store()))
    if engine == "rdflib":
        return make_dataset(Memory())
    raise ConfigError(f"engine must be 'oxigraph' or 'rdflib', not {engine!r}")


def store_kind(dataset: Dataset) -> str:
    """``oxigraph``, ``remote`` or ``rdflib``: which engine answers this dataset's queries."""
    if isinstance(dataset.store, OxigraphStore):
        return "oxigraph"
    if isinstance(dataset.store, SPARQLUpdateStore):
        return "remote"
    return "rdflib"


def describe_store(dataset: Dataset) -> str:
    store = dataset.store
    if isinstance(store, OxStore):
        return f"Oxigraph at {store.location}"
    if isinstance(store, RemoteStore):
        return f"SPARQL server {store.query_url}"
    return f"{type(store).__name__} (in memory)"


def _looks_like_oxigraph(path: Path) -> bool:
    return (path / "CURRENT").exists() or (path / "IDENTITY").exists()


def _open_local(path: Path, *, writable: bool) -> ox.Store:
    if not writable:
        if not path.exists():
            raise GraphStoreError(
                f"No RDF store at {path}: run `litkg build` to create it "
                f"(or set LITKG_SPARQL_QUERY_URL to use a SPARQL server)."
            )
        if not _looks_like_oxigraph(path):
            raise GraphStoreError(
                f"{path} is not an Oxigraph store (no CURRENT file): it is half-written or "
                f"something else. Run `{REBUILD_HINT}` to rebuild it."
            )
    elif path.exists() and not path.is_dir():
        raise GraphStoreError(f"{path} is a file, not an RDF store directory; move it aside.")
    elif path.exists() and any(path.iterdir()) and not _looks_like_oxigraph(path):
        raise GraphStoreError(
            f"{path} exists but is not an Oxigraph store; move it aside, or run "
            f"`{REBUILD_HINT}` if it is a broken litkg store."
        )
    try:
        return ox.Store.read_only(str(path)) if not writable else ox.Store(str(path))
    except OSError as exc:
        message = str(exc)
        if "lock" in message.lower():
            raise GraphStoreError(
                f"The RDF store {path} is in use by another process (its LOCK is held): "
                f"stop the other litkg process (a running `litkg build`?) and try again."
            ) from None
        raise GraphStoreError(
            f"The RDF store {path} cannot be opened ({message.strip()[:300]}): it is corrupt "
            f"or half-written. Run `{REBUILD_HINT}` to rebuild it from the corpus."
        ) from None


def _wipe_local(path: Path) -> None:
    if not path.exists():
        return
    if not path.is_dir() or (any(path.iterdir()) and not _looks_like_oxigraph(path)):
        raise GraphStoreError(
            f"Refusing to delete {path}: it does not look like an Oxigraph store. Move it aside."
        )
    try:
        probe = ox.Store(str(path))
    except OSError as exc:
        if "lock" in str(exc).lower():
            raise GraphStoreError(
                f"The RDF store {path} is in use by another process (its LOCK is held): stop "
                f"it (a running `litkg serve` or `litkg build`?) before rebuilding."
            ) from None
    else:
        del probe
    shutil.rmtree(path)
    shutil.rmtree(snapshot_dir(path), ignore_errors=True)


def open_graph(settings: Settings, *, writable: bool = False, rebuild: bool = False) -> Dataset:
    """The knowledge graph as an ``rdflib.Dataset`` whose default graph is the union.

    Embedded Oxigraph at ``settings.rdf_path`` unless ``settings.sparql_query_url``
    is set. Readers (``writable=False``) open the embedded store read-only and
    refuse a half-written one; ``rebuild=True`` deletes the embedded store (or
    drops litkg's graphs on the server) first. Close the dataset when done.
    """
    if settings.sparql_query_url:
        remote = RemoteStore(
            settings.sparql_query_url,
            settings.sparql_update_url,
            settings.sparql_timeout,
            bulk_url=settings.sparql_bulk_url,
        )
        key = hashlib.sha256(remote.update_url.encode()).hexdigest()[:16]
        remote.snapshot_dir = snapshot_dir(Path(settings.rdf_path)).with_name(
            f"rdf-remote-{key}-snapshots"
        )
        ds = make_dataset(remote)
        if rebuild:
            for g in remote.graph_names():
                remote.update_text(f"DROP SILENT GRAPH <{g}>")
            shutil.rmtree(remote.snapshot_dir, ignore_errors=True)
        if not writable:
            check_complete(ds)
        return ds
    path = Path(settings.rdf_path)
    if rebuild:
        _wipe_local(path)
    if writable:
        path.mkdir(parents=True, exist_ok=True)
    store = _open_local(path, writable=writable)
    ds = make_dataset(OxStore(store, location=str(path), read_only=not writable))
    if not writable:
        try:
            check_complete(ds)
        except GraphStoreError:
            ds.close()
            raise
    return ds


def build_state(dataset: Dataset) -> str | None:
    pattern = f"<{BUILD_IRI}> <{LITKG.buildState}> ?state"
    query = f"SELECT ?state WHERE {{ GRAPH <{G_META}> {{ {pattern} }} }}"
    for row in select(dataset, query):
        return str(row[0])
    return None


def check_complete(dataset: Dataset) -> None:
    """Raise :class:`GraphStoreError` when a build of this store was interrupted."""
    state = build_state(dataset)
    if state is not None and state != "complete":
        raise GraphStoreError(
            f"The RDF store ({describe_store(dataset)}) is half-written: a build was interrupted "
            f"or is still running. Wait for a running build, or run `{REBUILD_HINT}`."
        )


def snapshot_dir(store_path: Path) -> Path:
    """Where the snapshots of the store at ``store_path`` live (beside it)."""
    return store_path.with_name(store_path.name + "-snapshots")


__all__ = [
    "REBUILD_HINT",
    "OxStore",
    "OxTerms",
    "QueryRows",
    "build_state",
    "check_complete",
    "describe_store",
    "make_dataset",
    "memory_graph",
    "open_graph",
    "query_rows",
    "select",
    "snapshot_dir",
    "store_kind",
]
