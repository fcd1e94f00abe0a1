"""Bound parameters: Python and command-line values as RDF terms, put into a query safely.

Values are turned into RDF terms (:func:`to_term`, :func:`parse_param_value`,
:func:`param_term`) and serialised by rdflib (``Literal.n3()`` escapes quotes, so
``"} ; DROP ALL`` stays a string), then assigned at the start of the query's WHERE
group (and of each sub-select that uses the variable) as ``BIND(term AS ?x)``, which
there means exactly ``VALUES ?x { term }``; the rewritten query's shape is parsed
before it runs (:func:`bind_values`). Never string formatting of values into query
text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from pyparsing import ParseException
from rdflib import Literal, URIRef
from rdflib.plugins.sparql.parser import GraphTerm, parseQuery
from rdflib.term import BNode, Identifier

from kg.core.errors import QueryParamError, SparqlError
from kg.rdf.guard import PARSE_LOCK, QueryInfo, check_query, tokenize, where_block
from kg.rdf.vocab import BASE, list_iri, paper_iri, scheme_iri, topic_iri

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
    tokens = tokenize(text)
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
    where = where_block(query, info.form)
    if where is None:  # no aggregates in these forms: a trailing VALUES is the same thing
        row = " ".join(f"{{{n}}}" for n in names)
        inserts.append(
            (len(query), f"\nVALUES ({' '.join('?' + n for n in names)}) {{{{ ({row}) }}}}\n")
        )
    else:
        start, end = where
        inner = tokenize(query[start + 1 : end])
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
    with PARSE_LOCK:
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
    with PARSE_LOCK:
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


def check_names(query: str, info: QueryInfo, names: Sequence[str]) -> None:
    for name in names:
        if not _uses(query, name):
            known = f" (it selects {', '.join(info.projected)})" if info.projected else ""
            raise QueryParamError(f"--param {name}=...: the query has no variable ?{name}{known}")


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


__all__ = [
    "PARAM_KINDS",
    "bind_values",
    "check_names",
    "param_term",
    "parse_param_value",
    "to_term",
]
