"""Property tests over every parser a user feeds: seed pages (Markdown, DokuWiki), BibTeX,
RIS, CSL-JSON, id lists, SPARQL queries and parameters. Whatever the input, the parser
answers or raises the project's own error with a message (naming the line where one
applies): never a traceback from inside.

The inputs are drawn from each format's own pieces (markup, braces, tags, keywords)
mixed with arbitrary text, so the fuzzing reaches past the first syntax check. Kept
small (``max_examples``) so ``make test`` stays fast."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rdflib import Dataset

from ingest.errors import SourceError
from ingest.sources import (
    load_source,
    parse_bibtex,
    parse_dokuwiki,
    parse_id_list,
    parse_markdown,
)
from ingest.types import SourceResult
from kg.core.errors import ExportError, KGError, SparqlError, SparqlSyntaxError
from kg.formats.registry import read_entries
from kg.rdf.binding import bind_values, param_term, parse_param_value
from kg.rdf.canned import canned_queries
from kg.rdf.guard import check_query
from kg.rdf.sparql import run_query
from kg.rdf.stores import memory_graph

FUZZ = settings(
    max_examples=int(os.environ.get("LITKG_FUZZ_EXAMPLES", "40")),
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_LINE = re.compile(r"\bline \d+")


def pieces(*tokens: str, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text made of a format's tokens and arbitrary snippets, joined."""
    part = st.sampled_from(tokens) | st.text(max_size=8)
    return st.lists(part, max_size=max_size).map("".join)


_MARKDOWN = pieces(
    "# ",
    "## ",
    "\n",
    "- ",
    "* ",
    "1. ",
    "[",
    "]",
    "(",
    ")",
    "https://arxiv.org/abs/1706.03762",
    "https://doi.org/10.1/x",
    "http://github.com/a/b",
    "<",
    ">",
    "`",
    "**",
    "|",
    "> ",
    "\t",
)
_DOKUWIKI = pieces(
    "====== ",
    " ======",
    "===== ",
    "\n",
    "  * ",
    "  - ",
    "[[",
    "]]",
    "|",
    "{{",
    "}}",
    "https://arxiv.org/abs/2211.00593",
    "doi:10.1/x",
    "<code>",
    "</code>",
    "^",
    "\\\\ ",
)
_BIBTEX = pieces(
    "@article{",
    "@misc{",
    "@string{",
    "@comment{",
    "@preamble{",
    "key,",
    " title = ",
    " author = ",
    " year = ",
    " doi = ",
    " eprint = ",
    "{",
    "}",
    '"',
    ",",
    "=",
    "\n",
    "#",
    "\\'",
    "\\textit{",
    "$",
    "\\",
    "%",
    " and ",
    "~",
)
_RIS = pieces(
    "TY  - JOUR\n",
    "TI  - ",
    "T1  - ",
    "AU  - ",
    "PY  - ",
    "DO  - ",
    "UR  - ",
    "ER  - \n",
    "N1  - ",
    "KW  - ",
    "\n",
    "  - ",
    "TY  -",
    "ER  -",
)
_IDS = pieces(
    "10.1234/abc",
    "arXiv:1706.03762",
    "ARXIV:2211.00593v2",
    "https://arxiv.org/abs/1810.04805",
    "CorpusId:123",
    "a" * 40,
    " ",
    "\t",
    "\n",
    "#",
    "DOI:",
    "https://",
    "PMID:1",
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "title",
                    "author",
                    "issued",
                    "DOI",
                    "id",
                    "type",
                    "family",
                    "given",
                    "date-parts",
                    "URL",
                    "note",
                    "abstract",
                    "literal",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


def _check_source(parse: object, text: str) -> None:
    try:
        result = parse(text, "fuzz.txt")  # type: ignore[operator]
    except SourceError as exc:
        assert str(exc).strip()
        return
    assert isinstance(result, SourceResult)
    for skipped in result.skipped:
        assert skipped.reason.strip()


@FUZZ
@given(_MARKDOWN)
def test_markdown_pages(text: str) -> None:
    _check_source(parse_markdown, text)


@FUZZ
@given(_DOKUWIKI)
def test_dokuwiki_pages(text: str) -> None:
    _check_source(parse_dokuwiki, text)


@FUZZ
@given(_BIBTEX)
def test_bibtex_sources(text: str) -> None:
    _check_source(parse_bibtex, text)
    try:
        result = parse_bibtex(text, "fuzz.bib")
    except SourceError:
        return
    for skipped in result.skipped:  # an entry that could not be read names its line
        if "could not parse" in skipped.reason or "has no title" in skipped.reason:
            assert _LINE.match(skipped.reason), skipped.reason


@FUZZ
@given(_IDS)
def test_id_lists(text: str) -> None:
    _check_source(parse_id_list, text)
    try:
        result = parse_id_list(text, "ids.txt")
    except SourceError:
        return
    for skipped in result.skipped:
        assert _LINE.match(skipped.reason), skipped.reason


@FUZZ
@given(st.sampled_from([".md", ".txt", ".bib", ".json", ".ids"]), _MARKDOWN | _BIBTEX | _IDS)
def test_any_file_given_to_ingest(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_text(text, encoding="utf-8")
    try:
        load_source(path)
    except SourceError as exc:
        assert str(exc).strip()


@FUZZ
@given(st.binary(max_size=64))
def test_binary_files(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.bib"
    path.write_bytes(data)
    try:
        load_source(path)
    except SourceError as exc:
        assert str(exc).strip()


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csl-json"])
@FUZZ
@given(data=st.data())
def test_imported_files(fmt: str, data: st.DataObject) -> None:
    _check_import(fmt, data.draw(_IMPORTS[fmt]))


@pytest.mark.parametrize(
    ("fmt", "text"),
    [("csl-json", '{"title": 0, "author": true}'), ("csl-json", '[{"title": "t", "author": 1}]')],
)
def test_imported_files_found_by_fuzzing(fmt: str, text: str) -> None:
    _check_import(fmt, text)


def _check_import(fmt: str, text: str) -> None:
    try:
        result = read_entries(text, fmt)
    except ExportError as exc:
        assert str(exc).strip()
        return
    for message in result.skipped:
        assert message.strip()


_IMPORTS = {
    "bibtex": _BIBTEX,
    "ris": _RIS,
    "csl-json": _JSON_VALUES.map(json.dumps) | pieces("[", "]", "{", "}", '"title"', ":", ","),
}


# --------------------------------------------------------------------------- SPARQL
_SPARQL = pieces(
    "SELECT ",
    "ASK ",
    "CONSTRUCT ",
    "DESCRIBE ",
    "WHERE ",
    "{",
    "}",
    "(",
    ")",
    "?x ",
    "?y ",
    "<http://example.org/a> ",
    "dcterms:title ",
    '"text" ',
    "42 ",
    ". ",
    ";",
    ",",
    "FILTER",
    "OPTIONAL ",
    "UNION ",
    "MINUS ",
    "BIND(",
    " AS ",
    "VALUES ",
    "GRAPH ",
    "SERVICE ",
    "LIMIT 3 ",
    "ORDER BY ",
    "GROUP BY ",
    "COUNT(*)",
    "PREFIX ex: <http://e/> ",
    "ex:a ",
    "INSERT DATA ",
    "DELETE ",
    "DROP ALL",
    "#",
    "\n",
    "*",
    "a ",
    "^^",
    "@en",
    "/",
    "|",
    max_size=30,
)
_ONE: dict[str, Dataset] = {}


def _dataset() -> Dataset:
    if "ds" not in _ONE:
        _ONE["ds"] = memory_graph("oxigraph")
    return _ONE["ds"]


@FUZZ
@given(_SPARQL)
def test_sparql_queries(text: str) -> None:
    try:
        check_query(text)
    except SparqlSyntaxError as exc:
        assert str(exc).strip()
        if str(exc).startswith("SPARQL syntax error at line"):
            assert exc.line is not None and f"line {exc.line}," in str(exc)
        return
    except SparqlError as exc:  # an update: read-only
        assert str(exc).strip()
        return
    try:
        run_query(_dataset(), text, timeout_s=2, max_rows=10)
    except SparqlError as exc:
        assert str(exc).strip()


@FUZZ
@given(
    st.sampled_from(sorted(canned_queries())),
    st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=3),
)
def test_canned_query_parameters(name: str, raw: dict[str, str]) -> None:
    cq = canned_queries()[name]
    try:
        bindings = cq.bind(raw)
        bind_values(cq.text, bindings)
    except KGError as exc:
        assert str(exc).strip()


@FUZZ
@given(
    st.sampled_from(["paper", "list", "topic", "scheme", "iri", "int", "string", "any"]),
    st.text(max_size=30) | st.sampled_from(["<http://a b>", "<>", "http://x", "@", "a/b", "-1"]),
)
@example(kind="int", value="0\x1f")  # int() does not strip what str.strip() does
def test_parameter_values(kind: str, value: str) -> None:
    try:
        term = param_term(kind, value)
        bind_values("SELECT ?x WHERE { ?x ?p ?o }", {"x": term})
    except KGError as exc:
        assert str(exc).strip()
    try:
        bind_values("SELECT ?x WHERE { ?x ?p ?o }", {"x": parse_param_value(value)})
    except KGError as exc:
        assert str(exc).strip()
