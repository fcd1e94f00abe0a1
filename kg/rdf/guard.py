"""What a SPARQL text may be before it runs: read-only, well-formed, not too deep, no SERVICE.

:func:`check_query` parses the text with rdflib's SPARQL parser: an Update raises
:class:`ReadOnlyError`, a malformed query :class:`SparqlSyntaxError` with the
parser's line and column; brackets nested deeper than :data:`MAX_NESTING` are
refused before parsing. :func:`check_service` refuses a SERVICE clause (a federated
query) unless allowed. :func:`tokenize` is a tiny lexer (braces, parentheses and
keywords, skipping comments, strings, IRIs and variables) that these checks and
:mod:`kg.rdf.binding` share.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from pyparsing import ParseException
from rdflib import URIRef
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

from kg.core.errors import ReadOnlyError, ServiceRefused, SparqlSyntaxError
from kg.rdf.vocab import PREFIXES

# --------------------------------------------------------------------------- parsing
PARSE_LOCK = threading.Lock()  # pyparsing's packrat cache is not thread-safe


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
    for kind, _, pos in tokenize(text):
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
    with PARSE_LOCK:
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
    return any(kind == "word" and value == "SERVICE" for kind, value, _ in tokenize(text))


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
    for kind, value, pos in tokenize(text):
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


def tokenize(text: str) -> list[tuple[str, str, int]]:
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
    for kind, value, pos in tokenize(text):
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


def where_block(text: str, form: str) -> tuple[int, int] | None:
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


__all__ = [
    "MAX_NESTING",
    "PARSE_LOCK",
    "QueryInfo",
    "check_query",
    "check_service",
    "tokenize",
    "uses_service",
    "where_block",
]
