"""Read-only SPARQL over the knowledge graph: :func:`run_query`, with limits.

:func:`run_query` is the one way to query (the CLI, the HTTP endpoint and the
app all use it):

* **read-only**: the text is checked before anything runs (:mod:`kg.rdf.guard`): an
  Update raises :class:`ReadOnlyError`, a malformed query :class:`SparqlSyntaxError`
  with the parser's line and column, a SERVICE clause :class:`ServiceRefused` unless
  allowed.
* **bound parameters**: values are put into the query as single RDF terms by
  :func:`kg.rdf.binding.bind_values` (``BIND(term AS ?x)`` at the start of the WHERE
  group), never by string formatting. The semantics is the same on every store.
  (Not rdflib's trailing VALUES: that joins after GROUP BY and silently ignores a
  bound variable that is not grouped; nor Oxigraph's substitutions, which only bind
  projected variables, invisible to FILTER and HAVING; nor a VALUES block, which
  rdflib's engine drops when an OPTIONAL after it finds nothing.)
* **time limit**: the query runs in a worker thread; at the limit the caller gets
  :class:`QueryTimeout` ("stopped after N s; narrow the query or raise
  LITKG_SPARQL_TIMEOUT") and the worker is stopped: it checks a cancel flag
  between rows and is sent an asynchronous exception, which ends rdflib's
  pure-Python evaluation at once. Oxigraph evaluates inside native code and
  exposes no cancellation (pyoxigraph 0.5): a blocking operator (ORDER BY,
  GROUP BY) over a huge intermediate result finishes in the background and its
  result is dropped. :func:`active_queries` counts such workers; the HTTP
  endpoint refuses new queries while too many run.
* **row cap**: at most ``max_rows`` rows are read (Oxigraph streams, so the
  rest is never computed); ``QueryResult.truncated`` says so.

The answer is a :class:`kg.rdf.results.QueryResult`, formatted by
:func:`kg.rdf.results.format_result`. Canned queries live in ``kg/rdf/queries/*.rq``
(:mod:`kg.rdf.canned`). SPARQL property paths can say whether a citation path
exists but cannot return it: for the path itself use the graph API,
``kg.graph.citations.CitationGraph.shortest_citation_path``.
"""

from __future__ import annotations

import ctypes
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import closing
from typing import Any

from rdflib import Dataset
from rdflib.term import Node

from kg.core.errors import KGError, QueryTimeout, SparqlError
from kg.rdf.binding import bind_values, check_names
from kg.rdf.guard import check_query, check_service
from kg.rdf.results import QueryResult
from kg.rdf.stores import query_rows, store_kind

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_ROWS = 10_000


class _Cancelled(BaseException):
    """Raised inside a query worker to stop it (a BaseException so nothing swallows it)."""


_active = 0
_active_lock = threading.Lock()


def active_queries() -> int:
    """Query workers still running, including ones past their time limit."""
    with _active_lock:
        return _active


def _run_with_timeout(
    fn: Callable[[threading.Event], Any], timeout_s: float, *, hard_stop: bool = True
) -> Any:
    global _active
    box: list[tuple[bool, Any]] = []
    done, cancel = threading.Event(), threading.Event()
    state = threading.Lock()
    finished = [False]

    def target() -> None:
        global _active
        try:
            try:
                box.append((True, fn(cancel)))
            except BaseException as exc:
                # free the failed frames' locals (query results among them) here, in the
                # thread that made them; the traceback's lines survive
                traceback.clear_frames(exc.__traceback__)
                box.append((False, exc))
            with state:
                finished[0] = True
            done.set()
            for _ in range(2):  # a pending asynchronous stop lands here, inside the try
                pass
        except BaseException:
            done.set()
        finally:
            with _active_lock:
                _active -= 1

    with _active_lock:
        _active += 1
    worker = threading.Thread(target=target, name="litkg-sparql", daemon=True)
    worker.start()
    try:
        in_time = done.wait(timeout_s if timeout_s and timeout_s > 0 else None)
    except BaseException:
        _stop(worker, cancel, state, finished, hard_stop)
        raise
    if not in_time:
        _stop(worker, cancel, state, finished, hard_stop)
        raise QueryTimeout(
            f"stopped after {timeout_s:g} s; narrow the query or raise LITKG_SPARQL_TIMEOUT"
        )
    ok, value = box[0]
    if ok:
        return value
    raise value


def _stop(
    worker: threading.Thread,
    cancel: threading.Event,
    state: threading.Lock,
    finished: list[bool],
    hard_stop: bool = True,
) -> None:
    """Ask the worker to stop; ``hard_stop`` also raises inside it (pure-Python engines).

    Oxigraph's streaming results are stopped by the cancel flag between rows alone: an
    asynchronous exception could land in a finaliser of the worker and surface as an
    "exception ignored" there.
    """
    cancel.set()
    if not hard_stop:
        return
    with state:
        if not finished[0] and worker.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(worker.ident), ctypes.py_object(_Cancelled)
            )


def _collect(
    dataset: Dataset, text: str, max_rows: int, cancel: threading.Event
) -> tuple[str, tuple[str, ...], list[tuple[Node | None, ...]], bool | None, bool]:
    answer = query_rows(dataset, text)
    rows: list[tuple[Node | None, ...]] = []
    truncated = False
    with closing(answer.rows) as stream:  # closed here: results die in this thread
        for row in stream:
            if cancel.is_set():
                raise _Cancelled
            if max_rows and len(rows) >= max_rows:
                truncated = True
                break
            rows.append(row)
    return answer.kind, answer.columns, rows, answer.boolean, truncated


def run_query(
    dataset: Dataset,
    query: str,
    *,
    bindings: Mapping[str, Any] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_rows: int = DEFAULT_MAX_ROWS,
    allow_service: bool = False,
) -> QueryResult:
    """Run a read-only query with bound ``bindings``, a time limit and a row cap.

    ``timeout_s`` or ``max_rows`` of 0 mean no limit; a SERVICE clause is refused
    unless ``allow_service``. Raises :class:`ReadOnlyError`, :class:`ServiceRefused`,
    :class:`SparqlSyntaxError`, :class:`QueryParamError`, :class:`QueryTimeout` or
    :class:`SparqlError`.
    """
    info = check_query(query)
    check_service(query, allow_service)
    text = query
    if bindings:
        check_names(query, info, [str(k).lstrip("?$") for k in bindings])
        text = bind_values(query, bindings)
    started = time.perf_counter()
    try:
        kind, columns, rows, boolean, truncated = _run_with_timeout(
            lambda cancel: _collect(dataset, text, max_rows, cancel),
            timeout_s,
            hard_stop=store_kind(dataset) != "oxigraph",
        )
    except (KGError, _Cancelled):
        raise
    except Exception as exc:
        raise SparqlError(f"The query failed: {type(exc).__name__}: {exc}") from exc
    return QueryResult(
        kind=kind,
        columns=columns,
        terms=tuple(rows),
        boolean=boolean,
        truncated=truncated,
        elapsed=time.perf_counter() - started,
        max_rows=max_rows,
    )


__all__ = ["DEFAULT_MAX_ROWS", "DEFAULT_TIMEOUT_S", "active_queries", "run_query"]
