"""Read-only SPARQL over the knowledge graph: checks, bound parameters, limits, formats.

:func:`run_query` is the one way to query (the CLI, the HTTP endpoint and the
app all use it):

* **read-only**: the text is parsed with rdflib's SPARQL parser before anything
  runs; an Update (INSERT, DELETE, LOAD, CLEAR, DROP, CREATE, ADD, MOVE, COPY)
  raises :class:`ReadOnlyError`, a malformed query :class:`SparqlSyntaxError`
  with the parser's line and column.
* **bound parameters**: values are turned into RDF terms and serialised by
  rdflib (``Literal.n3()`` escapes quotes, so ``"} ; DROP ALL`` stays a string),
  then assigned at the start of the query's WHERE group (and of each sub-select
  that uses the variable) as ``BIND(term AS ?x)``, which there means exactly
  ``VALUES ?x { term }``; the rewritten query is parsed again before it runs.
  Never string formatting of values into query text. The semantics is the same
  on every store. (Not rdflib's trailing VALUES: that joins after GROUP BY and
  silently ignores a bound variable that is not grouped; nor Oxigraph's
  substitutions, which only bind projected variables, invisible to FILTER and
  HAVING; nor a VALUES block, which rdflib's engine drops when an OPTIONAL
  after it finds nothing.)
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

Formats: plain-text table, CSV and TSV (SPARQL 1.1 CSV/TSV results), JSON
(SPARQL 1.1 JSON results) and XML (SPARQL XML results); CONSTRUCT/DESCRIBE
results also as Turtle or N-Triples.

Canned queries live in ``kg/rdf/queries/*.rq`` (:func:`canned_queries`). SPARQL
property paths can say whether a citation path exists but cannot return it: for
the path itself use the graph API, ``kg.graph.citations.CitationGraph.shortest_citation_path``.
"""

from __future__ import annotations

import ctypes
import json
import re
import threading
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from pyparsing import ParseException
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import GraphTerm, parseQuery, parseUpdate
from rdflib.term import BNode, Identifier, Node

from kg.core.errors import (
    KGError,
    QueryParamError,
    QueryTimeout,
    ReadOnlyError,
    ServiceRefused,
    SparqlError,
    SparqlSyntaxError,
)
from kg.formats.csvsafe import csv_text
from kg.rdf.vocab import BASE, PREFIXES, XSD, list_iri, paper_iri, scheme_iri, topic_iri

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_ROWS = 10_000

# --------------------------------------------------------------------------- parsing
_PARSE_LOCK = threading.Lock()  # pyparsing's packrat cache is not thread-safe


@dataclass(frozen=True)
class QueryInfo:
    """What the parser saw: the query form and, for SELECT, the projected variables."""

    form: str  # "select" | "ask" | "construct" | "describe"
    projected: tuple[str, ...] | None  # None for SELECT * and non-SELECT forms


_FORMS = {
    "SelectQuery": "select",
    "AskQuery": "ask",
    "ConstructQuery": "construct",
    "DescribeQuery": "describe",
}


def _syntax_error(text: str, exc: ParseException) -> SparqlSyntaxError:
    line, col = exc.lineno, exc.col
    lines = text.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    caret = " " * max(col - 1, 0) + "^"
    return SparqlSyntaxError(
        f"SPARQL syntax error at line {line}, column {col}: {exc.msg}\n  {source}\n  {caret}",
        line=line,
        column=col,
    )


#: Brackets nested deeper than this are refused before parsing: the parser recurses
#: ~40 frames per level and overflows Python's stack at ~25 levels (real queries nest
#: a handful); a parse that still runs out of stack is reported the same way.
MAX_NESTING = 20


def _too_deep() -> SparqlSyntaxError:
    """rdflib's parser or translator ran out of stack on the query."""
    return SparqlSyntaxError(
        "SPARQL syntax error: the query is nested too deeply to parse; simplify it",
        line=1,
        column=1,
    )


def _check_nesting(text: str) -> None:
    depth = 0
    for kind, _, pos in _tokens(text):
        if kind in "({":
            depth += 1
            if depth > MAX_NESTING:
                line = text.count("\n", 0, pos) + 1
                column = pos - (text.rfind("\n", 0, pos) + 1) + 1
                raise SparqlSyntaxError(
                    f"SPARQL syntax error at line {line}, column {column}: brackets nested "
                    f"more than {MAX_NESTING} deep; simplify the expression",
                    line=line,
                    column=column,
                )
        elif kind in ")}":
            depth = max(depth - 1, 0)


@lru_cache(maxsize=512)
def check_query(text: str) -> QueryInfo:
    """Parse ``text``: a read-only query passes, an update or a malformed text raises."""
    if not text.strip():
        raise SparqlSyntaxError("The query is empty.", line=1, column=1)
    _check_nesting(text)
    with _PARSE_LOCK:
        try:
            parsed = parseQuery(text)
        except RecursionError:
            raise _too_deep() from None
        except ParseException as exc:
            try:
                parseUpdate(text)
            except ParseException:
                raise _syntax_error(text, exc) from None
            raise ReadOnlyError(
                "This is a SPARQL Update (INSERT/DELETE/LOAD/CLEAR/DROP/CREATE/...); litkg's "
                "SPARQL interface is read-only. Change the graph by changing the corpus and "
                "running `litkg build`."
            ) from None
        try:
            translated = translateQuery(parsed, initNs={k: URIRef(v) for k, v in PREFIXES.items()})
        except RecursionError:
            raise _too_deep() from None
        except Exception as exc:
            message = str(exc)
            if "prefix" in message.lower():
                raise SparqlSyntaxError(
                    f"{message.strip()}: declare it with a PREFIX line (predeclared: "
                    f"{', '.join(PREFIXES)})"
                ) from None
            raise SparqlSyntaxError(f"The query is not valid SPARQL: {message}") from None
    name = parsed[1].name
    form = _FORMS.get(name, name.lower())
    projected: tuple[str, ...] | None = None
    if form == "select":
        pv = translated.algebra.get("PV")
        if pv and "*" not in _select_clause(text):
            projected = tuple(str(v) for v in pv)
    return QueryInfo(form, projected)


def uses_service(text: str) -> bool:
    """True when the query holds a SERVICE clause (a federated query: the engine would
    fetch the URL it names and read the answer)."""
    return any(kind == "word" and value == "SERVICE" for kind, value, _ in _tokens(text))


def check_service(text: str, allow: bool) -> None:
    """Refuse a SERVICE clause unless ``allow`` (``LITKG_SPARQL_ALLOW_SERVICE=1``)."""
    if not allow and uses_service(text):
        raise ServiceRefused(
            "SERVICE (federated query) is refused: it makes this machine fetch the URL it "
            "names and return what it reads, which anyone who can send a query could aim "
            "at internal addresses. For trusted use only, set LITKG_SPARQL_ALLOW_SERVICE=1."
        )


def _select_clause(text: str) -> str:
    """The text between SELECT and the first top-level '{' (for spotting SELECT *)."""
    for kind, value, pos in _tokens(text):
        if kind == "word" and value == "SELECT":
            brace = _first_block(text, pos)
            return text[pos : brace if brace is not None else len(text)]
    return ""


# --------------------------------------------------------------------------- a tiny lexer
_IRIREF = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_VARNAME = re.compile(r"[A-Za-z0-9_\u00B7\u00C0-\uFFFF]+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def _skip_string(text: str, i: int) -> int:
    quote, n = text[i], len(text)
    if text.startswith(quote * 3, i):
        j = i + 3
        while j < n:
            if text[j] == "\\":
                j += 2
            elif text.startswith(quote * 3, j):
                return j + 3
            else:
                j += 1
        return n
    j = i + 1
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
        elif c in (quote, "\n"):
            return j + 1
        else:
            j += 1
    return n


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """Braces, parentheses and keywords, skipping comments, strings, IRIs and variables."""
    out: list[tuple[str, str, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif c in "\"'":
            i = _skip_string(text, i)
        elif c == "<":
            m = _IRIREF.match(text, i)
            i = m.end() if m else i + 1
        elif c in "?$":
            m = _VARNAME.match(text, i + 1)
            i = m.end() if m else i + 1
        elif c in "{}()":
            out.append((c, c, i))
            i += 1
        else:
            m = _WORD.match(text, i)
            if m is None:
                i += 1
                continue
            end = m.end()
            is_pname = (end < n and text[end] == ":") or (i > 0 and text[i - 1] == ":")
            if not is_pname:
                out.append(("word", m.group().upper(), i))
            i = end
    return out


def _blocks(text: str) -> list[tuple[int, int, list[str]]]:
    """Top-level ``{...}`` groups: (open, close, keywords seen before it at top level)."""
    blocks: list[tuple[int, int, list[str]]] = []
    depth = parens = 0
    start = -1
    words: list[str] = []
    for kind, value, pos in _tokens(text):
        if depth == 0:
            if kind == "(":
                parens += 1
            elif kind == ")":
                parens = max(parens - 1, 0)
            elif kind == "word" and parens == 0:
                words.append(value)
            elif kind == "{" and parens == 0:
                depth, start = 1, pos
            continue
        if kind == "{":
            depth += 1
        elif kind == "}":
            depth -= 1
            if depth == 0:
                blocks.append((start, pos, words))
                words = []
    return blocks


def _first_block(text: str, after: int) -> int | None:
    for start, _, _ in _blocks(text):
        if start > after:
            return start
    return None


def _where_block(text: str, form: str) -> tuple[int, int] | None:
    """The main query's WHERE group; None where a trailing VALUES must do (DESCRIBE
    without WHERE, and CONSTRUCT WHERE, whose group may only hold triple patterns)."""
    blocks = _blocks(text)
    if not blocks:
        return None
    if form == "construct":
        if "WHERE" in blocks[0][2]:
            return None
        return (blocks[1][0], blocks[1][1]) if len(blocks) > 1 else None
    return blocks[0][0], blocks[0][1]


# --------------------------------------------------------------------------- binding
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def to_term(value: Any) -> Identifier:
    """A Python value as an RDF term: IRIs stay IRIs, everything else becomes a literal."""
    if isinstance(value, BNode):
        raise QueryParamError("blank nodes cannot be bound; use the resource's IRI")
    if isinstance(value, URIRef | Literal):
        return value
    if isinstance(value, bool | int | float | Decimal | date | datetime | str):
        return Literal(value)
    raise QueryParamError(f"cannot bind a {type(value).__name__} ({value!r})")


def _n3(name: str, term: Identifier) -> str:
    try:
        return term.n3()
    except Exception as exc:
        raise QueryParamError(f"?{name}: {term!r} cannot be used in a query ({exc})") from None


def _uses(text: str, name: str) -> bool:
    return re.search(rf"[?$]{re.escape(name)}(?![A-Za-z0-9_])", text) is not None


def _subselect_groups(text: str) -> list[tuple[int, int, int]]:
    """``(open, group, end)`` of every sub-select: ``open`` is its WHERE group's ``{``,
    ``text[group:end]`` the whole ``{ SELECT ... }`` (modifiers included)."""
    tokens = _tokens(text)
    out: list[tuple[int, int, int]] = []
    closes: dict[int, int] = {}
    stack: list[int] = []
    for kind, _, pos in tokens:
        if kind == "{":
            stack.append(pos)
        elif kind == "}" and stack:
            closes[stack.pop()] = pos
    enclosing: list[int] = []
    for i, (kind, value, pos) in enumerate(tokens):
        if kind == "{":
            enclosing.append(pos)
        elif kind == "}" and enclosing:
            enclosing.pop()
        elif kind == "word" and value == "SELECT" and enclosing:
            group = enclosing[-1]
            parens = 0
            for kind2, _, pos2 in tokens[i + 1 :]:
                if kind2 == "(":
                    parens += 1
                elif kind2 == ")":
                    parens -= 1
                elif kind2 == "{" and parens == 0:
                    if group in closes:
                        out.append((pos2, group, closes[group]))
                    break
    return out


_PLACEHOLDER = "<urn:litkg:bound-value>"


@lru_cache(maxsize=256)
def _binding_plan(query: str, names: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """Where the values of ``names`` go in ``query``: ``(position, text)`` inserts whose
    text holds ``{name}`` slots for the terms. Checked once, with a placeholder term in
    every slot, by parsing the result."""
    info = check_query(query)

    def binds(used: Sequence[str]) -> str:
        return " " + " ".join(f"BIND({{{n}}} AS ?{n})" for n in used) + " "

    inserts: list[tuple[int, str]] = []
    where = _where_block(query, info.form)
    if where is None:  # no aggregates in these forms: a trailing VALUES is the same thing
        row = " ".join(f"{{{n}}}" for n in names)
        inserts.append(
            (len(query), f"\nVALUES ({' '.join('?' + n for n in names)}) {{{{ ({row}) }}}}\n")
        )
    else:
        start, end = where
        inner = _tokens(query[start + 1 : end])
        if inner and inner[0][:2] == ("word", "SELECT"):  # a sub-select fills the group
            inserts += [(start + 1, binds(names) + "{{"), (end, "}} ")]
        else:
            inserts.append((start + 1, binds(names)))
        for open_, group, end_ in _subselect_groups(query):
            used = [n for n in names if _uses(query[group:end_], n)]
            if used:
                inserts.append((open_ + 1, binds(used)))
    plan = tuple(sorted(inserts, key=lambda item: item[0], reverse=True))
    skeleton = _apply_plan(query, plan, dict.fromkeys(names, _PLACEHOLDER))
    with _PARSE_LOCK:
        try:
            parseQuery(skeleton)
        except ParseException as exc:
            raise SparqlError(
                f"Could not bind parameters into this query ({exc.msg}); bind them by hand "
                f"with a VALUES clause"
            ) from None
    return plan


def _apply_plan(query: str, plan: Sequence[tuple[int, str]], terms: Mapping[str, str]) -> str:
    out = query
    for pos, text in plan:  # from the end, so earlier positions stay valid
        out = out[:pos] + text.format_map(terms) + out[pos:]
    return out


@lru_cache(maxsize=4096)
def _single_term(text: str) -> bool:
    """True when ``text`` is exactly one RDF term in SPARQL syntax."""
    with _PARSE_LOCK:
        try:
            GraphTerm.parse_string(text, parse_all=True)
        except ParseException:
            return False
    return True


def bind_values(query: str, bindings: Mapping[str, Any]) -> str:
    """``query`` with each bound variable assigned at the start of its WHERE group, and of
    every sub-select's WHERE group that uses it: ``BIND(<term> AS ?x)``, which at the
    start of a group means exactly ``VALUES ?x { <term> }`` (used instead because
    rdflib's engine drops the row of a VALUES block that an OPTIONAL fails to extend).
    Forms whose group cannot hold it (DESCRIBE without WHERE, CONSTRUCT WHERE) get a
    trailing VALUES clause.

    The terms are serialised by rdflib (``n3()``) and each is checked to be exactly
    one term of SPARQL's grammar; the rewritten query's shape is parsed (once per
    query and set of names), so a value can only ever be a single RDF term.
    """
    terms: dict[str, str] = {}
    for raw_name, value in bindings.items():
        name = str(raw_name).lstrip("?$")
        if not _VAR_NAME.match(name):
            raise QueryParamError(f"{raw_name!r} is not a SPARQL variable name")
        term = _n3(name, to_term(value))
        if not _single_term(term):
            raise QueryParamError(f"?{name}: {value!r} does not serialise to one RDF term")
        terms[name] = term
    if not terms:
        return query
    return _apply_plan(query, _binding_plan(query, tuple(terms)), terms)


def _check_names(query: str, info: QueryInfo, names: Sequence[str]) -> None:
    for name in names:
        if not _uses(query, name):
            known = f" (it selects {', '.join(info.projected)})" if info.projected else ""
            raise QueryParamError(f"--param {name}=...: the query has no variable ?{name}{known}")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class QueryResult:
    """Rows of RDF terms (``terms``) and the same as Python values (``rows``).

    ``kind`` is ``select``, ``ask`` (``boolean`` set, no rows) or ``graph``
    (CONSTRUCT/DESCRIBE: columns subject, predicate, object).
    """

    kind: str
    columns: tuple[str, ...]
    terms: tuple[tuple[Node | None, ...], ...]
    boolean: bool | None = None
    truncated: bool = False
    elapsed: float = 0.0
    max_rows: int = 0

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """Numbers and booleans as Python values, IRIs and other literals as strings."""
        return [tuple(python_value(t) for t in row) for row in self.terms]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.terms)


_NUMERIC = {
    str(XSD[t])
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "unsignedInt",
        "unsignedLong",
        "decimal",
        "double",
        "float",
    )
}


def python_value(term: Node | None) -> Any:
    if term is None:
        return None
    if isinstance(term, Literal):
        if term.datatype is not None and (
            str(term.datatype) in _NUMERIC or term.datatype == XSD.boolean
        ):
            value = term.toPython()
            if isinstance(value, bool | int | float | Decimal):
                return float(value) if isinstance(value, Decimal) else value
        return str(term)
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


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


def _store_kind(dataset: Dataset) -> str:
    from kg.rdf.store import store_kind

    return store_kind(dataset)


def _collect(
    dataset: Dataset, text: str, max_rows: int, cancel: threading.Event
) -> tuple[str, tuple[str, ...], list[tuple[Node | None, ...]], bool | None, bool]:
    from kg.rdf.store import query_rows

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
        _check_names(query, info, [str(k).lstrip("?$") for k in bindings])
        text = bind_values(query, bindings)
    started = time.perf_counter()
    try:
        kind, columns, rows, boolean, truncated = _run_with_timeout(
            lambda cancel: _collect(dataset, text, max_rows, cancel),
            timeout_s,
            hard_stop=_store_kind(dataset) != "oxigraph",
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


# --------------------------------------------------------------------------- formats
FORMATS: dict[str, str] = {
    "table": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "turtle": "text/turtle; charset=utf-8",
    "nt": "application/n-triples",
}
GRAPH_ONLY_FORMATS = ("turtle", "nt")

_DISPLAY_PREFIXES = [(f"{BASE}{kind}/", f"{kind}:") for kind in ("paper", "author", "list")] + [
    (ns, f"{prefix}:") for prefix, ns in PREFIXES.items()
]


def _display(term: Node | None, width: int = 80) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        text = str(term)
        for ns, prefix in _DISPLAY_PREFIXES:
            if text.startswith(ns) and "/" not in text[len(ns) :]:
                text = prefix + text[len(ns) :]
                break
    elif isinstance(term, BNode):
        text = f"_:{term}"
    else:
        text = str(term)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(result: QueryResult) -> str:
    if result.kind == "ask":
        return ("true" if result.boolean else "false") + "\n"
    cells = [[_display(t) for t in row] for row in result.terms]
    widths = [len(c) for c in result.columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True)).rstrip(),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [
        " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    note = f"({len(result)} row{'s' if len(result) != 1 else ''}"
    if result.truncated:
        note += f", truncated at {result.max_rows}: raise --limit or LITKG_SPARQL_MAX_ROWS"
    lines.append(note + f"; {result.elapsed * 1000:.0f} ms)")
    return "\n".join(lines) + "\n"


def _csv_value(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


def format_csv(result: QueryResult) -> str:
    """SPARQL 1.1 CSV results; a cell a spreadsheet would run as a formula gets a
    leading ``'`` (:mod:`kg.formats.csvsafe`)."""
    if result.kind == "ask":
        return csv_text([["_askResult"], ["true" if result.boolean else "false"]])
    return csv_text([result.columns, *([_csv_value(t) for t in row] for row in result.terms)])


_TSV_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        lexical = f'"{str(term).translate(_TSV_ESCAPE)}"'
        if term.language:
            return f"{lexical}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{lexical}^^<{term.datatype}>"
        return lexical
    return str(term)


def format_tsv(result: QueryResult) -> str:
    if result.kind == "ask":
        return "?_askResult\n" + ("true" if result.boolean else "false") + "\n"
    lines = ["\t".join(f"?{c}" for c in result.columns)]
    lines += ["\t".join(_tsv_term(t) for t in row) for row in result.terms]
    return "\n".join(lines) + "\n"


def _json_term(term: Node) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    if isinstance(term, Literal):
        out = {"type": "literal", "value": str(term)}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype is not None and term.datatype != XSD.string:
            out["datatype"] = str(term.datatype)
        return out
    return {"type": "literal", "value": str(term)}


def format_json(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results JSON."""
    if result.kind == "ask":
        return json.dumps({"head": {}, "boolean": bool(result.boolean)}) + "\n"
    bindings = [
        {c: _json_term(t) for c, t in zip(result.columns, row, strict=True) if t is not None}
        for row in result.terms
    ]
    doc = {"head": {"vars": list(result.columns)}, "results": {"bindings": bindings}}
    return json.dumps(doc, ensure_ascii=False) + "\n"


_SRX = "http://www.w3.org/2005/sparql-results#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_BAD.sub("\ufffd", text)


def format_xml(result: QueryResult) -> str:
    """SPARQL Query Results XML."""
    ET.register_namespace("", _SRX)
    root = ET.Element(f"{{{_SRX}}}sparql")
    head = ET.SubElement(root, f"{{{_SRX}}}head")
    if result.kind == "ask":
        ET.SubElement(root, f"{{{_SRX}}}boolean").text = "true" if result.boolean else "false"
    else:
        for column in result.columns:
            ET.SubElement(head, f"{{{_SRX}}}variable", name=column)
        results = ET.SubElement(root, f"{{{_SRX}}}results")
        for row in result.terms:
            item = ET.SubElement(results, f"{{{_SRX}}}result")
            for column, term in zip(result.columns, row, strict=True):
                if term is None:
                    continue
                binding = ET.SubElement(item, f"{{{_SRX}}}binding", name=column)
                if isinstance(term, URIRef):
                    ET.SubElement(binding, f"{{{_SRX}}}uri").text = _xml_text(str(term))
                elif isinstance(term, BNode):
                    ET.SubElement(binding, f"{{{_SRX}}}bnode").text = _xml_text(str(term))
                else:
                    lit = ET.SubElement(binding, f"{{{_SRX}}}literal")
                    lit.text = _xml_text(str(term))
                    if isinstance(term, Literal) and term.language:
                        lit.set(_XML_LANG, term.language)
                    elif (
                        isinstance(term, Literal)
                        and term.datatype is not None
                        and term.datatype != XSD.string
                    ):
                        lit.set("datatype", str(term.datatype))
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _format_graph(result: QueryResult, fmt: str) -> str:
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, URIRef(ns))
    for s, p, o in result.terms:
        graph.add((s, p, o))  # type: ignore[arg-type]
    return graph.serialize(format="turtle" if fmt == "turtle" else "nt")


def format_result(result: QueryResult, fmt: str = "table") -> str:
    """``table``, ``csv``, ``tsv``, ``json``, ``xml``; ``turtle``/``nt`` for graph results."""
    fmt = fmt.lower()
    if fmt in GRAPH_ONLY_FORMATS:
        if result.kind != "graph":
            raise SparqlError(f"--format {fmt} is for CONSTRUCT/DESCRIBE results; use json or csv")
        return _format_graph(result, fmt)
    formatter = {
        "table": format_table,
        "csv": format_csv,
        "tsv": format_tsv,
        "json": format_json,
        "xml": format_xml,
    }.get(fmt)
    if formatter is None:
        raise SparqlError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return formatter(result)


# --------------------------------------------------------------------------- parameters
_IRI_OK = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>\"{}|^`\\]*$")


def _iri(value: str) -> URIRef | None:
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    elif not text.startswith(("http://", "https://", "urn:")):
        return None
    if not _IRI_OK.match(text):
        raise QueryParamError(f"{value!r} is not a valid IRI")
    return URIRef(text)


def parse_param_value(value: str) -> Identifier:
    """A command-line value: ``<iri>`` or ``http(s)://...`` -> IRI, an integer -> xsd:integer,
    ``"quoted"`` -> that string, anything else -> a string literal."""
    iri = _iri(value)
    if iri is not None:
        return iri
    if re.fullmatch(r"[+-]?\d+", value.strip()):
        return Literal(int(value.strip()))
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return Literal(value[1:-1])
    return Literal(value)


PARAM_KINDS = ("paper", "list", "topic", "scheme", "iri", "int", "string", "any")


def param_term(kind: str, value: str, name: str = "value") -> Identifier:
    """A parameter value of a canned query, read according to its declared kind."""
    iri = _iri(value) if kind != "string" else None
    if iri is not None and kind in ("paper", "list", "topic", "scheme", "iri", "any"):
        return iri
    if kind == "paper":
        if not value.strip():
            raise QueryParamError(f"--param {name}= needs a paper id")
        return paper_iri(value.strip())
    if kind == "list":
        if value.startswith("@"):  # a saved reading list (kg.readinglists)
            from urllib.parse import quote

            return URIRef(f"{BASE}reading-list/{quote(value[1:].strip(), safe='')}")
        return list_iri(value.strip())
    if kind == "scheme":
        return scheme_iri(value.strip())
    if kind == "topic":
        scheme, _, rest = value.strip().partition("/")
        if not rest:
            raise QueryParamError(
                f"--param {name}={value}: give a topic id as scheme/slug "
                f"(e.g. curated/papers/induction-heads) or a topic IRI"
            )
        return topic_iri(scheme, value.strip())
    if kind == "int":
        try:
            return Literal(int(value))
        except ValueError:
            raise QueryParamError(f"--param {name}={value}: not an integer") from None
    if kind == "string":
        return Literal(value)
    if kind == "iri":
        raise QueryParamError(f"--param {name}={value}: not an IRI (<...> or http(s)://...)")
    return parse_param_value(value)


@dataclass(frozen=True)
class QueryParam:
    name: str
    kind: str
    required: bool
    help: str = ""
    default: str | None = None


@dataclass(frozen=True)
class CannedQuery:
    name: str
    title: str
    text: str
    params: tuple[QueryParam, ...] = ()
    description: str = ""
    example: str = ""

    def bind(self, raw: Mapping[str, str]) -> dict[str, Identifier]:
        """Command-line ``name=value`` strings as RDF terms, checked against the params."""
        known = {p.name: p for p in self.params}
        out: dict[str, Identifier] = {}
        for name, value in raw.items():
            param = known.get(name.lstrip("?$"))
            if param is None:
                expected = ", ".join(p.name for p in self.params) or "none"
                raise QueryParamError(
                    f"{self.name} has no parameter {name!r} (its parameters: {expected})"
                )
            out[param.name] = param_term(param.kind, value, param.name)
        for param in self.params:
            if param.required and param.name not in out:
                raise QueryParamError(
                    f"{self.name} needs --param {param.name}=<{param.kind}>"
                    + (f" ({param.help})" if param.help else "")
                )
        return out


_PARAM_LINE = re.compile(
    r"^(?P<name>\w+)\s*\((?P<kind>\w+)(?:\s*,\s*(?P<req>required|optional))?"
    r"(?:\s*,\s*default\s+(?P<default>[^)]*))?\)\s*(?:[-:]\s*)?(?P<help>.*)$"
)


def parse_canned(name: str, text: str) -> CannedQuery:
    """A ``.rq`` file: ``# title:``, ``# description:``, ``# param:`` and ``# example:`` lines."""
    title, example = name, ""
    description: list[str] = []
    params: list[QueryParam] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        body = stripped.lstrip("#").strip()
        key, sep, value = body.partition(":")
        key = key.strip().lower()
        if not sep:
            continue
        value = value.strip()
        if key == "title":
            title = value
        elif key == "description":
            description.append(value)
        elif key == "example":
            example = value
        elif key == "param":
            m = _PARAM_LINE.match(value)
            if m is None or m.group("kind") not in PARAM_KINDS:
                raise KGError(f"{name}.rq: bad param line {value!r}")
            params.append(
                QueryParam(
                    name=m.group("name"),
                    kind=m.group("kind"),
                    required=m.group("req") == "required",
                    help=m.group("help").strip(),
                    default=(m.group("default") or "").strip() or None,
                )
            )
    return CannedQuery(name, title, text, tuple(params), " ".join(description), example)


@lru_cache(maxsize=1)
def canned_queries() -> dict[str, CannedQuery]:
    """The queries shipped in ``kg/rdf/queries/*.rq``, by name (file name without ``.rq``)."""
    out: dict[str, CannedQuery] = {}
    folder = resources.files("kg.rdf") / "queries"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            name = entry.name[: -len(".rq")]
            out[name] = parse_canned(name, entry.read_text(encoding="utf-8"))
    return out


def find_canned(name: str) -> CannedQuery | None:
    """A canned query by name, with or without ``.rq``."""
    key = name.strip()
    key = key[: -len(".rq")] if key.endswith(".rq") else key
    return canned_queries().get(key)


__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT_S",
    "FORMATS",
    "CannedQuery",
    "QueryInfo",
    "QueryParam",
    "QueryResult",
    "active_queries",
    "bind_values",
    "canned_queries",
    "check_query",
    "check_service",
    "find_canned",
    "format_result",
    "param_term",
    "parse_param_value",
    "run_query",
    "to_term",
    "uses_service",
]
