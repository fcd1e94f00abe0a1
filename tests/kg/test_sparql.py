"""kg.rdf.sparql: read-only checks, parser errors, bound values, limits, formats, canned queries."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Dataset, Literal, URIRef
from rdflib.term import Node
from typer.testing import CliRunner

from kg.core.errors import QueryParamError, QueryTimeout, ReadOnlyError, SparqlSyntaxError
from kg.core.settings import Settings
from kg.rdf.binding import bind_values, param_term, parse_param_value
from kg.rdf.canned import canned_queries, find_canned, parse_canned
from kg.rdf.guard import check_query
from kg.rdf.results import format_result
from kg.rdf.sparql import active_queries, run_query
from kg.rdf.stores import memory_graph, open_graph
from kg.rdf.sync import build_rdf
from kg.rdf.vocab import list_iri, paper_iri, topic_iri
from tests.kg.rdf_fixtures import ID, MEMBERSHIPS, TOPICS, WIKI, make_corpus

ENGINES = ["oxigraph", "rdflib"]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    store = make_corpus(tmp_path_factory.mktemp("corpus") / "corpus.sqlite")
    out = {}
    for engine in ENGINES:
        ds = memory_graph(engine)
        build_rdf(store, ds, TOPICS, MEMBERSHIPS, progress=False)
        out[engine] = ds
    store.close()
    return out


def canned(ds: Dataset, name: str, **params: str) -> list[dict[str, object]]:
    cq = canned_queries()[name]
    return run_query(ds, cq.text, bindings=cq.bind(params)).as_dicts()


P = {k: str(paper_iri(v)) for k, v in ID.items()}


# --------------------------------------------------------------------------- canned queries
def test_every_canned_query_has_a_header_and_parses() -> None:
    queries = canned_queries()
    assert {
        "papers-citing",
        "co-cited",
        "papers-per-topic-year",
        "missing-classics",
        "new-papers-citing-seeds",
        "citation-path",
    } <= set(queries)
    for name, cq in queries.items():
        assert cq.title != name and cq.description and cq.example.startswith("litkg sparql")
        assert check_query(cq.text).form == "select"
        for param in cq.params:
            assert f"?{param.name}" in cq.text, (name, param.name)
    assert find_canned("papers-citing.rq") is queries["papers-citing"]


@pytest.mark.parametrize("engine", ENGINES)
def test_papers_citing(graphs: dict[str, Dataset], engine: str) -> None:
    rows = canned(graphs[engine], "papers-citing", paper=ID["circuits"])
    by = {r["citing"]: r for r in rows}
    assert set(by) == {P["new_a"], P["new_b"], P["new_c"], P["mid"]}
    assert [r["year"] for r in rows] == [2024, 2024, 2024, 2020]  # newest first
    assert by[P["new_a"]]["influential"] is True
    assert set(str(by[P["new_a"]]["intents"]).split(", ")) == {"methodology", "background"}
    assert by[P["new_c"]]["intents"] is None


@pytest.mark.parametrize("engine", ENGINES)
def test_co_cited(graphs: dict[str, Dataset], engine: str) -> None:
    rows = canned(graphs[engine], "co-cited", paper=ID["circuits"])
    assert {(r["other"], r["cocitations"]) for r in rows} == {
        (P["superposition"], 2),
        (P["heads"], 2),
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_papers_per_topic_per_year(graphs: dict[str, Dataset], engine: str) -> None:
    rows = canned(graphs[engine], "papers-per-topic-year", scheme="curated")
    got = {(r["label"], r["year"], r["papers"]) for r in rows}
    assert got == {("Circuits", 2020, 1), ("Circuits", 2022, 1), ("Superposition", 2022, 1)}
    everything = canned(graphs[engine], "papers-per-topic-year")
    assert ("circuits / features", 2024, 1) in {
        (r["label"], r["year"], r["papers"]) for r in everything
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_classics(graphs: dict[str, Dataset], engine: str) -> None:
    rows = canned(graphs[engine], "missing-classics", list=WIKI)
    assert [(r["classic"], r["citedBy"]) for r in rows] == [(P["classic"], 3)]
    rows2 = canned(graphs[engine], "missing-classics", list=WIKI, min="2")
    assert [(r["classic"], r["citedBy"]) for r in rows2] == [(P["classic"], 3), (P["older"], 2)]
    assert canned(graphs[engine], "missing-classics", list=str(list_iri(WIKI))) == rows


@pytest.mark.parametrize("engine", ENGINES)
def test_new_papers_citing_seeds(graphs: dict[str, Dataset], engine: str) -> None:
    rows = canned(graphs[engine], "new-papers-citing-seeds", since="2023")
    assert [(r["paper"], r["seedsCited"]) for r in rows] == [(P["new_a"], 3), (P["new_b"], 2)]
    older = canned(graphs[engine], "new-papers-citing-seeds", since="2019", min="2", list=WIKI)
    assert {r["paper"] for r in older} == {P["new_a"], P["new_b"], P["mid"]}
    assert canned(graphs[engine], "new-papers-citing-seeds", since="2030") == []


@pytest.mark.parametrize("engine", ENGINES)
def test_citation_path(graphs: dict[str, Dataset], engine: str) -> None:
    rows = canned(graphs[engine], "citation-path", **{"from": ID["new_a"], "to": ID["classic"]})
    assert {r["via"] for r in rows} == {P["circuits"], P["superposition"], P["heads"]}
    assert all(r["connected"] is True and r["direct"] is False for r in rows)
    back = canned(graphs[engine], "citation-path", **{"from": ID["classic"], "to": ID["new_a"]})
    assert back == [
        {
            "from": P["classic"],
            "to": P["new_a"],
            "connected": False,
            "direct": False,
            "via": None,
            "title": None,
        }
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_reading_list_and_graphs(graphs: dict[str, Dataset], engine: str) -> None:
    rows = canned(graphs[engine], "reading-list", list=WIKI)
    assert [r["position"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0]["section"] == "Papers > Circuits" and rows[0]["paper"] == P["circuits"]
    assert rows[3]["status"] == "unresolved" and rows[3]["paper"] is None
    provenance = canned(graphs[engine], "graphs")
    assert len(provenance) == 8 and all(r["generatedAt"] for r in provenance)


def test_canned_parameters_are_checked() -> None:
    cq = canned_queries()["papers-citing"]
    with pytest.raises(QueryParamError, match="needs --param paper="):
        cq.bind({})
    with pytest.raises(QueryParamError, match="no parameter 'papr'"):
        cq.bind({"papr": "x"})
    with pytest.raises(QueryParamError, match="not an integer"):
        canned_queries()["missing-classics"].bind({"list": WIKI, "min": "three"})
    assert param_term("paper", ID["circuits"]) == paper_iri(ID["circuits"])
    assert param_term("paper", f"<{paper_iri('x')}>") == paper_iri("x")
    assert param_term("topic", "curated/papers") == topic_iri("curated", "curated/papers")
    with pytest.raises(QueryParamError, match="scheme/slug"):
        param_term("topic", "papers")
    with pytest.raises(QueryParamError, match="not a valid IRI"):
        param_term("iri", "<https://x.org/a b>")
    assert parse_param_value("12") == Literal(12)
    assert parse_param_value("<urn:x>") == URIRef("urn:x")
    assert parse_param_value('"12"') == Literal("12")


def test_parse_canned_header() -> None:
    cq = parse_canned(
        "demo",
        "# title: Demo\n# description: one\n# description: two\n"
        "# param: x (int, optional, default 3) - a number\n# example: litkg sparql demo\n"
        "SELECT ?x WHERE { }",
    )
    assert cq.title == "Demo" and cq.description == "one two"
    assert cq.params[0].kind == "int" and cq.params[0].default == "3" and not cq.params[0].required


# --------------------------------------------------------------------------- read-only
@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "DELETE WHERE { ?s ?p ?o }",
        "PREFIX x: <urn:x>\nDELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
        "LOAD <http://example.org/data.ttl>",
        "CLEAR ALL",
        "DROP GRAPH <urn:g>",
        "CREATE GRAPH <urn:g>",
        "ADD <urn:a> TO <urn:b>",
        "MOVE DEFAULT TO <urn:b>",
        "COPY <urn:a> TO DEFAULT",
        "# a comment first\ndrop all",
    ],
)
def test_updates_are_rejected_before_running(graphs: dict[str, Dataset], update: str) -> None:
    ds = graphs["oxigraph"]
    before = run_query(ds, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows
    with pytest.raises(ReadOnlyError, match="read-only"):
        run_query(ds, update)
    assert run_query(ds, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows == before


def test_syntax_errors_carry_line_and_column() -> None:
    with pytest.raises(SparqlSyntaxError) as err:
        check_query("PREFIX x: <urn:x>\nSELECT ?s\nWHERE {\n  ?s ?p \n}")
    assert (err.value.line, err.value.column) == (4, 3)
    assert "line 4, column 3" in str(err.value) and "^" in str(err.value)
    with pytest.raises(SparqlSyntaxError, match="line 1, column 29"):
        check_query("SELECT * WHERE { ?s ?p ?o } ; DROP ALL")
    with pytest.raises(SparqlSyntaxError, match=r"Unknown namespace prefix.*PREFIX"):
        check_query("SELECT ?s WHERE { ?s nope:p ?o }")
    with pytest.raises(SparqlSyntaxError, match="empty"):
        check_query("  ")


def test_predeclared_prefixes_need_no_prefix_lines(graphs: dict[str, Dataset]) -> None:
    for ds in graphs.values():
        rows = run_query(ds, "SELECT ?t WHERE { ?p cito:cites ?x ; dcterms:title ?t } LIMIT 1").rows
        assert len(rows) == 1


# --------------------------------------------------------------------------- binding
@pytest.mark.parametrize("engine", ENGINES)
def test_bound_values_are_not_injectable(graphs: dict[str, Dataset], engine: str) -> None:
    ds = graphs[engine]
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    before = run_query(ds, count).rows
    evil = '"} ; DROP ALL ; INSERT DATA { <urn:a> <urn:b> "x" } #'
    result = run_query(ds, "SELECT ?v WHERE { }", bindings={"v": evil})
    assert result.rows == [(evil,)]
    title = run_query(ds, "SELECT ?p WHERE { ?p dcterms:title ?t }", bindings={"t": evil + " }"})
    assert title.rows == []
    assert run_query(ds, count).rows == before


@given(st.text(st.characters(codec="utf-8"), max_size=30))
@settings(max_examples=60, deadline=None)
def test_any_string_binds_as_exactly_that_literal(value: str) -> None:
    ds = _ONE_GRAPH
    assert run_query(ds, "SELECT ?v WHERE { }", bindings={"v": value}).rows == [(value,)]


_ONE_GRAPH = memory_graph("oxigraph")


def test_bindings_reach_filters_having_and_subselects(graphs: dict[str, Dataset]) -> None:
    query = (
        "SELECT ?p ?n WHERE { { SELECT ?p (COUNT(?c) AS ?n) WHERE { ?c cito:cites ?p } "
        "GROUP BY ?p ?min HAVING (COUNT(?c) >= ?min) } FILTER(?p != ?skip) }"
    )
    for ds in graphs.values():
        rows = run_query(ds, query, bindings={"min": 4, "skip": paper_iri("none")}).rows
        assert rows == [(P["circuits"], 4)]
    text = bind_values(query, {"min": 4})
    assert text.count("AS ?min)") == 2  # the main query and the sub-select that uses it


def test_binding_shapes() -> None:
    construct = bind_values("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", {"s": URIRef("urn:a")})
    assert construct.index("BIND(<urn:a> AS ?s)") > construct.index("WHERE")
    short = bind_values("CONSTRUCT WHERE { ?s ?p ?o }", {"s": URIRef("urn:a")})
    assert short.rstrip().endswith("VALUES (?s) { (<urn:a>) }")
    describe = bind_values("DESCRIBE ?s", {"s": URIRef("urn:a")})
    assert describe.rstrip().endswith("VALUES (?s) { (<urn:a>) }")
    sub = bind_values("SELECT * WHERE { SELECT ?s WHERE { ?s ?p ?o } }", {"s": URIRef("urn:a")})
    check_query(sub)
    tricky = bind_values(
        'SELECT ?s WHERE { ?s <urn:p> "{ not a brace" . # { nor this\n }', {"s": URIRef("urn:a")}
    )
    assert tricky.index("BIND") < tricky.index('"{ not')


def test_binding_errors() -> None:
    with pytest.raises(QueryParamError, match="no variable \\?nope"):
        run_query(_ONE_GRAPH, "SELECT ?v WHERE { }", bindings={"nope": 1})
    with pytest.raises(QueryParamError, match="not a SPARQL variable"):
        bind_values("SELECT ?v WHERE { }", {"v v": 1})
    with pytest.raises(QueryParamError, match="cannot be used"):
        run_query(_ONE_GRAPH, "SELECT ?v WHERE { }", bindings={"v": URIRef("urn:a b")})


# --------------------------------------------------------------------------- limits
def test_row_cap_truncates(graphs: dict[str, Dataset]) -> None:
    for ds in graphs.values():
        result = run_query(ds, "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", max_rows=5)
        assert len(result) == 5 and result.truncated
        assert "truncated at 5" in format_result(result)
        full = run_query(ds, "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", max_rows=0)
        assert len(full) > 300 and not full.truncated


def _wait_idle(baseline: int, within: float = 6.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if active_queries() <= baseline:
            return True
        time.sleep(0.02)
    return False


CROSS = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def test_timeout_stops_a_streaming_query_on_oxigraph(graphs: dict[str, Dataset]) -> None:
    baseline = active_queries()
    started = time.monotonic()
    with pytest.raises(
        QueryTimeout, match=r"stopped after 0.3 s; narrow the query or raise LITKG_SPARQL_TIMEOUT"
    ):
        run_query(graphs["oxigraph"], CROSS, timeout_s=0.3, max_rows=0)
    assert time.monotonic() - started < 3  # generous: CI machines may be busy
    assert _wait_idle(baseline), "the worker kept running after its time limit"


def test_timeout_stops_pure_python_evaluation(graphs: dict[str, Dataset]) -> None:
    baseline = active_queries()
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match=r"stopped after 0\.3 s"):
        run_query(
            graphs["rdflib"],
            "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
            timeout_s=0.3,
        )
    assert time.monotonic() - started < 3  # generous: CI machines may be busy
    assert _wait_idle(baseline), "rdflib's evaluation was not stopped"
    assert threading.active_count() < 50


# --------------------------------------------------------------------------- formats
def test_formats(graphs: dict[str, Dataset]) -> None:
    ds = graphs["oxigraph"]
    query = (
        "SELECT ?p ?title ?year ?none WHERE { ?p dcterms:title ?title ; "
        "fabio:hasPublicationYear ?year } ORDER BY ?title LIMIT 3"
    )
    result = run_query(ds, query)
    doc = json.loads(format_result(result, "json"))
    assert doc["head"]["vars"] == ["p", "title", "year", "none"]
    first = doc["results"]["bindings"][0]
    assert first["p"]["type"] == "uri" and first["title"]["type"] == "literal"
    assert "datatype" not in first["title"]  # a plain string
    assert first["year"]["datatype"].endswith("#gYear") and "none" not in first
    rows = list(csv.reader(io.StringIO(format_result(result, "csv"))))
    assert rows[0] == ["p", "title", "year", "none"] and len(rows) == 4 and rows[1][3] == ""
    assert format_result(result, "csv").endswith("\r\n")
    tsv = format_result(result, "tsv").splitlines()
    assert tsv[0] == "?p\t?title\t?year\t?none" and tsv[1].startswith("<https://litkg.org/paper/")
    root = ET.fromstring(format_result(result, "xml"))
    ns = "{http://www.w3.org/2005/sparql-results#}"
    assert [v.get("name") for v in root.iter(f"{ns}variable")] == ["p", "title", "year", "none"]
    assert len(list(root.iter(f"{ns}result"))) == 3
    table = format_result(result, "table")
    assert "paper:" in table and "(3 rows;" in table
    ask = run_query(ds, "ASK { ?s cito:cites ?o }")
    assert json.loads(format_result(ask, "json")) == {"head": {}, "boolean": True}
    assert "<boolean>true</boolean>" in format_result(ask, "xml")
    graph = run_query(ds, "CONSTRUCT { ?s cito:cites ?o } WHERE { ?s cito:cites ?o } LIMIT 2")
    assert graph.kind == "graph" and len(graph) == 2
    assert "cito:cites" in format_result(graph, "turtle")
    assert format_result(graph, "nt").count(" .\n") == 2


def test_odd_text_survives_every_format(graphs: dict[str, Dataset]) -> None:
    result = run_query(
        graphs["oxigraph"],
        "SELECT ?t WHERE { ?p dcterms:title ?t }",
        bindings={"p": paper_iri(ID["odd"])},
    )
    (title,) = result.rows[0]
    assert (
        json.loads(format_result(result, "json"))["results"]["bindings"][0]["t"]["value"] == title
    )
    assert list(csv.reader(io.StringIO(format_result(result, "csv"))))[1] == [title]
    assert ET.fromstring(format_result(result, "xml")).itertext()


# --------------------------------------------------------------------------- the CLI
@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "data"
    monkeypatch.setenv("LITKG_DATA_DIR", str(data))
    store = make_corpus(tmp_path / "corpus.sqlite")
    ds = open_graph(Settings(data_dir=data), writable=True)
    build_rdf(store, ds, TOPICS, MEMBERSHIPS, progress=False)
    ds.close()
    store.close()
    yield data


def test_cli_sparql(data_dir: Path, tmp_path: Path) -> None:
    from app.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["sparql", "--list"])
    assert listed.exit_code == 0 and "missing-classics" in listed.output
    res = runner.invoke(app, ["sparql", "missing-classics", "-p", f"list={WIKI}", "-f", "csv"])
    assert res.exit_code == 0, res.output
    assert ID["classic"] in res.output
    rq = tmp_path / "q.rq"
    rq.write_text("SELECT ?t WHERE { ?p dcterms:title ?t } ORDER BY ?t")
    res = runner.invoke(app, ["sparql", str(rq), "--limit", "2", "-f", "json"])
    assert res.exit_code == 0 and len(json.loads(res.stdout)["results"]["bindings"]) == 2
    res = runner.invoke(
        app, ["sparql", "SELECT ?p WHERE { ?p dcterms:title ?t }", "-p", "t=Mid-period paper"]
    )
    assert res.exit_code == 0 and "paper:" in res.output and "(1 row;" in res.output
    bad = runner.invoke(app, ["sparql", "DROP ALL"])
    assert bad.exit_code == 2 and "read-only" in bad.output
    bad = runner.invoke(app, ["sparql", "missing.rq"])
    assert bad.exit_code == 2 and "--list" in bad.output
    bad = runner.invoke(app, ["sparql", "co-cited"])
    assert bad.exit_code == 2 and "--param paper=" in bad.output
    bad = runner.invoke(
        app,
        [
            "sparql",
            "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c . ?d ?e ?f }",
            "--timeout",
            "0.2",
            "--limit",
            "0",
        ],
    )
    assert bad.exit_code == 2 and "stopped after 0.2 s" in bad.output
    filters = " ".join(f'FILTER(?t != "x{i}")' for i in range(25_000))
    started = time.monotonic()
    bad = runner.invoke(
        app,
        ["sparql", f"SELECT ?t WHERE {{ ?p dcterms:title ?t {filters} }}", "--timeout", "1"],
    )
    assert bad.exit_code == 2 and "stopped after 1 s" in bad.output  # the parse is timed too
    assert time.monotonic() - started < 4


def test_saved_reading_lists_work_as_lists_too() -> None:
    """kg.store.readinglists writes user lists with the same litkg:listing / litkg:listedPaper
    shape as seed sources; ``@name`` names one."""
    from kg.rdf.sync import load_triples
    from kg.rdf.vocab import LITKG, RDF

    for engine in ENGINES:
        engine_ds = memory_graph(engine)
        lst = URIRef("https://litkg.org/reading-list/mine")
        triples: list[tuple[Node, Node, Node]] = [(lst, RDF.type, LITKG.ReadingList)]
        for n, key in enumerate(("circuits", "superposition", "heads"), 1):
            entry = URIRef(f"{lst}/entry/{n}")
            triples += [
                (lst, LITKG.listing, entry),
                (entry, LITKG.position, Literal(n)),
                (entry, LITKG.listedPaper, paper_iri(ID[key])),
                (
                    paper_iri(ID[key]),
                    URIRef("http://purl.org/spar/cito/cites"),
                    paper_iri(ID["classic"]),
                ),
            ]
        load_triples(engine_ds, "https://litkg.org/graph/reading-lists", triples)
        rows = canned(engine_ds, "missing-classics", list="@mine")
        assert [(r["classic"], r["citedBy"]) for r in rows] == [(P["classic"], 3)]
        order = canned(engine_ds, "reading-list", list="@mine")
        assert [r["paper"] for r in order] == [P["circuits"], P["superposition"], P["heads"]]
