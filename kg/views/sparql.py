"""The SPARQL page: a read-only query against the RDF store with the CLI's limits."""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg.rdf.binding import parse_param_value
from kg.rdf.pool import QueryPool
from kg.rdf.results import format_csv, format_json
from kg.rdf.sparql import run_query
from kg.rdf.stores import open_graph

if TYPE_CHECKING:
    from kg.core.settings import Settings
    from kg.rdf.canned import CannedQuery
    from kg.rdf.results import QueryResult


@dataclass(frozen=True)
class _SparqlRequest:
    settings: Settings
    query: str
    bindings: dict[str, Any] | None


def _pooled_query(request: _SparqlRequest) -> QueryResult:
    """One query, in a worker process: the store is opened for it only, so it sees the
    latest build and lists."""

    settings = request.settings
    dataset = open_graph(settings)
    # open_graph's build-state check leaves a half-read Oxigraph result in a reference
    # cycle; pyoxigraph refuses to free it from another thread, so collect it here, in
    # the thread that made it (young generations only: cheap).
    gc.collect(1)
    try:
        return run_query(
            dataset,
            request.query,
            bindings=request.bindings,
            timeout_s=0,  # the pool kills the worker at the limit
            max_rows=settings.sparql_max_rows,
            allow_service=settings.sparql_allow_service,
        )
    finally:
        dataset.close()


_POOL: list[Any] = []
_POOL_LOCK = threading.Lock()


def _sparql_pool() -> Any:
    """The app process's query workers (two: one person's queries, one slow one at a time
    stopped after its share when another waits)."""

    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(QueryPool(_pooled_query, size=2, share_s=1.0))
        return _POOL[0]


@dataclass(frozen=True)
class SparqlAnswer:
    result: QueryResult
    columns: list[str]
    rows: list[dict[str, Any]]
    csv: str
    json: str


def run_sparql(
    settings: Settings,
    query: str,
    *,
    params: Mapping[str, str] | None = None,
    canned: CannedQuery | None = None,
) -> SparqlAnswer:
    """A read-only SPARQL query against the store (or server), with the CLI's limits
    (``LITKG_SPARQL_TIMEOUT``, ``LITKG_SPARQL_MAX_ROWS``). ``params`` are bound as RDF
    terms (typed by ``canned``'s declarations when given; empty values are left out).
    The store is opened for this query only, so it sees the latest build and lists.
    Raises :class:`~kg.core.errors.SparqlError` (syntax errors carry the parser's message) or
    :class:`~kg.core.errors.GraphStoreError`."""

    raw = {k: v.strip() for k, v in (params or {}).items() if v and v.strip()}
    if canned is not None:
        bindings: dict[str, Any] = dict(canned.bind(raw))
    else:
        bindings = {k: parse_param_value(v) for k, v in raw.items()}
    # parse and evaluation run in a worker process killed at the limit (kg.sparql_pool)
    result = _sparql_pool().run(
        _SparqlRequest(settings, query, bindings or None), settings.sparql_timeout
    )
    columns = list(result.columns)
    if result.kind == "ask":
        columns = ["answer"]
        rows = [{"answer": bool(result.boolean)}]
    else:
        rows = [dict(zip(columns, r, strict=True)) for r in result.rows]
    return SparqlAnswer(result, columns, rows, format_csv(result), format_json(result))


__all__ = [
    "SparqlAnswer",
    "run_sparql",
]
