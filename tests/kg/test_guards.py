"""Guards at the boundaries where text from others comes in: SERVICE refused by default,
CSV cells that a spreadsheet would run as formulas, Markdown links that are not web
addresses."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rdflib import Dataset, Literal
from typer.testing import CliRunner

from kg.core.errors import ServiceRefused
from kg.core.model import Author, Paper
from kg.core.settings import Settings
from kg.formats.csvsafe import csv_text, safe_cell
from kg.formats.markdown import web_url
from kg.formats.registry import export
from kg.rdf.guard import uses_service
from kg.rdf.results import QueryResult, format_csv
from kg.rdf.sparql import run_query
from kg.rdf.stores import memory_graph
from kg.rdf.sync import build_rdf
from tests.kg.rdf_fixtures import MEMBERSHIPS, TOPICS, make_corpus

SERVICE = "SELECT * WHERE { SERVICE <http://169.254.169.254/latest/meta-data/> { ?s ?p ?o } }"


@pytest.fixture(scope="module", params=["oxigraph", "rdflib"])
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    store = make_corpus(tmp_path_factory.mktemp("corpus") / "corpus.sqlite")
    ds = memory_graph(request.param)
    build_rdf(store, ds, TOPICS, MEMBERSHIPS, progress=False)
    store.close()
    return ds


@pytest.mark.parametrize(
    "query",
    [
        SERVICE,
        "select * where { service silent <http://10.0.0.1/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { ?s ?p ?o . SERVICE ?endpoint { ?s ?p ?o } } LIMIT 1",
    ],
)
def test_service_is_refused_by_default(dataset: Dataset, query: str) -> None:
    assert uses_service(query)
    with pytest.raises(ServiceRefused, match="LITKG_SPARQL_ALLOW_SERVICE=1"):
        run_query(dataset, query, timeout_s=5)


@pytest.mark.parametrize(
    "query",
    [
        'SELECT ?t WHERE { ?p dcterms:title ?t FILTER(CONTAINS(?t, "SERVICE")) } LIMIT 1',
        "SELECT ?t WHERE { <http://example.org/SERVICE> ?p ?t } LIMIT 1",
        "PREFIX ex: <http://example.org/> SELECT ?t WHERE { ?t ex:SERVICE ?x } LIMIT 1",
        "# SERVICE in a comment\nSELECT ?t WHERE { ?t ?p ?SERVICE } LIMIT 1",
    ],
)
def test_the_word_elsewhere_is_not_a_service_clause(dataset: Dataset, query: str) -> None:
    assert not uses_service(query)
    run_query(dataset, query, timeout_s=5)


def test_the_setting_opts_in(tmp_path: Path) -> None:
    assert not Settings.from_env({}).sparql_allow_service
    assert Settings.from_env({"LITKG_SPARQL_ALLOW_SERVICE": "1"}).sparql_allow_service
    from kg.core.errors import ConfigError

    with pytest.raises(ConfigError, match="LITKG_SPARQL_ALLOW_SERVICE"):
        Settings.from_env({"LITKG_SPARQL_ALLOW_SERVICE": "maybe"})


def test_the_cli_refuses_service_with_a_message(tmp_path: Path) -> None:
    from app.cli import app

    result = CliRunner().invoke(
        app, ["sparql", SERVICE], env={"LITKG_DATA_DIR": str(tmp_path / "none")}
    )
    assert result.exit_code != 0
    assert "LITKG_SPARQL_ALLOW_SERVICE=1" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- CSV
@pytest.mark.parametrize(
    "value",
    ["=cmd|' /C calc'!A0", "+1+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")'],
)
def test_formula_cells_are_neutralised(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert list(csv.reader(io.StringIO(csv_text([[value]])))) == [["'" + value]]


@pytest.mark.parametrize("value", ["-3", "+1.5e3", "2024", "title", "", "a=b", "-"])
def test_other_cells_are_kept(value: str) -> None:
    expected = "'-" if value == "-" else value
    assert safe_cell(value) == expected


def test_sparql_csv_neutralises_formulas() -> None:
    result = QueryResult(
        kind="select",
        columns=("t", "n"),
        terms=((Literal("=cmd|' /C calc'!A0"), Literal(-5)),),
    )
    rows = list(csv.reader(io.StringIO(format_csv(result))))
    assert rows == [["t", "n"], ["'=cmd|' /C calc'!A0", "-5"]]


def test_reading_list_csv_uses_the_same_helper() -> None:
    paper = Paper(paper_id="a" * 40, title="@evil", authors=(Author("=Mallory"),))
    rows = list(csv.reader(io.StringIO(export([paper], "csv"))))
    assert rows[1][1] == "'@evil" and rows[1][2] == "'=Mallory"


# --------------------------------------------------------------------------- Markdown
@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/x",
        "https:",
    ],
)
def test_markdown_links_only_web_addresses(url: str) -> None:
    assert web_url(url) is None
    paper = Paper(paper_id="local:1", title="A title", url=url, resolved=False)
    text = export([paper], "markdown")
    assert "](" not in text  # no link at all: the title stays text
    assert "javascript" not in text.lower() and "data:" not in text


def test_markdown_link_targets_cannot_break_out() -> None:
    paper = Paper(
        paper_id="local:1",
        title="T",
        url="https://example.org/a)\n[x](javascript:alert(1)",
        resolved=False,
    )
    text = export([paper], "markdown")
    line = text.splitlines()[2]
    assert line.startswith("1. [T](https://example.org/a%29%0A")
    assert line.count("](") == 1 and line.endswith(")")
    assert web_url("https://example.org/x") == "https://example.org/x"
