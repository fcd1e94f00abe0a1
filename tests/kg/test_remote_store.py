"""The remote store path against a real Oxigraph server (the ``oxigraph`` PyPI package's
binary), started on 127.0.0.1 with a free port and a temporary directory."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rdflib import Dataset, Literal

from kg.core.errors import GraphStoreError, QueryTimeout, ReadOnlyError
from kg.core.model import TopicMembership
from kg.core.settings import Settings
from kg.rdf import mapping as rdf
from kg.rdf.canned import canned_queries
from kg.rdf.export import export_graph
from kg.rdf.mapping import paper_from_graph
from kg.rdf.remote import RemoteStore
from kg.rdf.sparql import run_query
from kg.rdf.stores import memory_graph, open_graph
from kg.rdf.sync import build_rdf, load_triples
from kg.rdf.vocab import LITKG, paper_iri
from kg.store.corpus import CorpusStore
from tests.kg.rdf_fixtures import (
    ID,
    MEMBERSHIPS,
    PAPERS,
    TOPICS,
    WIKI,
    all_quads,
    apply_edit,
    fresh_quads,
    make_corpus,
)


def oxigraph_binary() -> str | None:
    beside = Path(sys.executable).parent / "oxigraph"
    return str(beside) if beside.exists() else shutil.which("oxigraph")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(tmp_path_factory)


@pytest.fixture(scope="module")
def bulk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second, empty server, for the bulk-load path."""
    yield from _serve(tmp_path_factory)


def _serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = oxigraph_binary()
    if binary is None:
        pytest.skip("the Oxigraph server binary is missing: pip install oxigraph (a dev extra)")
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
    proc = subprocess.Popen(
        [
            binary,
            "serve",
            "--location",
            str(location),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout-s",
            "5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.skip(f"the Oxigraph server did not start: {err[:300]}")
            try:
                if (
                    httpx.get(f"{base}/query", params={"query": "ASK {}"}, timeout=1).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the Oxigraph server did not answer within 20 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture(scope="module")
def settings(server: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        sparql_query_url=f"{server}/query",
        sparql_update_url=f"{server}/update",
        sparql_timeout=10,
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusStore]:
    store = make_corpus(tmp_path_factory.mktemp("corpus") / "corpus.sqlite")
    yield store
    store.close()


@pytest.fixture(scope="module")
def remote(settings: Settings, corpus: CorpusStore) -> Iterator[Dataset]:
    writer = open_graph(settings, writable=True)
    first = build_rdf(corpus, writer, TOPICS, MEMBERSHIPS, progress=False)
    assert all(g.changed for g in first.graphs)
    again = build_rdf(corpus, writer, TOPICS, MEMBERSHIPS, progress=False)
    assert not again.changed  # idempotent on a server too
    writer.close()
    reader = open_graph(settings)
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def local(corpus: CorpusStore) -> Dataset:
    ds = memory_graph("oxigraph")
    build_rdf(corpus, ds, TOPICS, MEMBERSHIPS, progress=False)
    return ds


PARAMS = {
    "papers-citing": {"paper": ID["circuits"]},
    "co-cited": {"paper": ID["circuits"]},
    "papers-per-topic-year": {},
    "missing-classics": {"list": WIKI, "min": "2"},
    "new-papers-citing-seeds": {"since": "2019"},
    "citation-path": {"from": ID["new_a"], "to": ID["classic"]},
    "reading-list": {"list": WIKI},
}


def normalised(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Rows with GROUP_CONCAT lists sorted (their order is up to the engine)."""
    out = []
    for row in rows:
        out.append(
            tuple(
                ", ".join(sorted(v.split(", "))) if isinstance(v, str) and ", " in v else v
                for v in row
            )
        )
    return sorted(out, key=repr)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_canned_queries_agree_with_the_embedded_store(
    remote: Dataset, local: Dataset, name: str
) -> None:
    cq = canned_queries()[name]
    bindings = cq.bind(PARAMS[name])
    there = run_query(remote, cq.text, bindings=bindings)
    here = run_query(local, cq.text, bindings=bindings)
    assert there.columns == here.columns
    assert normalised(there.rows) == normalised(here.rows)
    assert there.rows  # every one of them finds something in the fixture


def test_graphs_and_provenance_on_the_server(remote: Dataset) -> None:
    rows = run_query(remote, canned_queries()["graphs"].text).as_dicts()
    assert len(rows) == 8
    got = {r["graph"]: r["generatedAt"] for r in rows}
    assert got[str(rdf.G_S2_PAPERS)] == "2024-05-01T10:00:00+00:00"


def test_papers_round_trip_through_the_server(remote: Dataset) -> None:
    assert paper_from_graph(remote, paper_iri(ID["circuits"])) == PAPERS[0]
    assert paper_from_graph(remote, paper_iri(ID["odd"])) == PAPERS[-1]


def test_bound_values_are_not_injectable_remotely(remote: Dataset) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    before = run_query(remote, count).rows
    evil = '"} } ; DROP ALL ; INSERT DATA { <urn:a> <urn:b> "x" } #'
    assert run_query(remote, "SELECT ?v WHERE { }", bindings={"v": evil}).rows == [(evil,)]
    with pytest.raises(ReadOnlyError):
        run_query(remote, "DROP ALL")
    assert run_query(remote, count).rows == before


def test_remote_time_limit(remote: Dataset) -> None:
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g dcterms:title ?i }"
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match=r"stopped after 0\.3 s"):
        run_query(remote, slow, timeout_s=0.3)
    assert time.monotonic() - started < 3  # generous: CI machines may be busy


def test_export_from_the_server(remote: Dataset, tmp_path: Path) -> None:
    count = export_graph(remote, tmp_path / "kg.nq")
    total = run_query(remote, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows
    assert count == total[0][0] > 300


def test_half_written_server_graph_is_detected(
    settings: Settings, remote: Dataset, corpus: CorpusStore
) -> None:
    writer = open_graph(settings, writable=True)
    load_triples(
        writer, str(rdf.G_META), [(rdf.BUILD_IRI, LITKG.buildState, Literal("in-progress"))]
    )
    with pytest.raises(GraphStoreError, match="half-written"):
        open_graph(settings)
    build_rdf(corpus, writer, TOPICS, MEMBERSHIPS, progress=False)  # repairs
    writer.close()
    open_graph(settings).close()


def test_unreachable_server_says_what_to_do(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sparql_query_url=f"http://127.0.0.1:{free_port()}/query")
    with pytest.raises(
        GraphStoreError, match=r"Cannot reach the SPARQL server.*LITKG_SPARQL_QUERY_URL"
    ):
        open_graph(settings)


def test_server_graphs_are_patched_like_a_fresh_build(
    settings: Settings, remote: Dataset, corpus: CorpusStore, tmp_path: Path
) -> None:
    """DELETE DATA / INSERT DATA patches leave the server holding what a fresh build
    writes; the module's corpus is built back at the end for the other tests."""
    edited = make_corpus(tmp_path / "edited.sqlite")
    members = list(MEMBERSHIPS)
    writer = open_graph(settings, writable=True)
    try:
        build_rdf(edited, writer, TOPICS, members, progress=False)
        for edit in [("add-paper", 3), ("drop-authors", 0), ("remove-citation", 5)]:
            apply_edit(edited, members, edit)
        apply_edit(edited, members, ("rescore-membership", 3))
        report = build_rdf(edited, writer, TOPICS, members, progress=False)
        patched = {g.iri: g for g in report.graphs if g.action == "patched"}
        assert str(rdf.G_S2_PAPERS) in patched and patched[str(rdf.G_S2_PAPERS)].removed
        assert all_quads(writer) == fresh_quads(edited, "oxigraph", members)
    finally:
        build_rdf(corpus, writer, TOPICS, MEMBERSHIPS, progress=False)
        writer.close()
        edited.close()


def test_server_reloads_only_the_graph_that_needs_it(
    settings: Settings, remote: Dataset, corpus: CorpusStore, tmp_path: Path
) -> None:
    """Re-clustered topics reload their graph (DROP + INSERT DATA) on the server while
    papers and citations are patched; the module's corpus is built back at the end."""
    edited = make_corpus(tmp_path / "edited.sqlite")
    members = list(MEMBERSHIPS)
    writer = open_graph(settings, writable=True)
    try:
        build_rdf(edited, writer, TOPICS, members, progress=False)
        members += [TopicMembership(p.paper_id, "discovered/0", 0.6) for p in PAPERS[:8]]
        apply_edit(edited, members, ("add-paper", 2))
        report = build_rdf(edited, writer, TOPICS, members, progress=False)
        actions = {g.iri: g.action for g in report.graphs}
        assert actions.pop(str(rdf.topics_graph("discovered"))) == "reloaded"
        assert (
            actions.pop(str(rdf.G_S2_PAPERS)) == actions.pop(str(rdf.G_S2_CITATIONS)) == "patched"
        )
        assert set(actions.values()) == {"unchanged"} and not report.full_reload
        assert all_quads(writer) == fresh_quads(edited, "oxigraph", members)
    finally:
        build_rdf(corpus, writer, TOPICS, MEMBERSHIPS, progress=False)
        writer.close()
        edited.close()


def test_field_scale_build_bulk_loads_n_quads(
    bulk_server: str,
    corpus: CorpusStore,
    local: Dataset,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With LITKG_SPARQL_BULK_URL the graphs go to the server's bulk-load endpoint
    (Oxigraph's ``/store``) as N-Quads, not as INSERT DATA updates; the server then
    answers as the embedded store does."""
    settings = Settings.from_env(
        {
            "LITKG_DATA_DIR": str(tmp_path),
            "LITKG_SPARQL_QUERY_URL": f"{bulk_server}/query",
            "LITKG_SPARQL_UPDATE_URL": f"{bulk_server}/update",
            "LITKG_SPARQL_BULK_URL": f"{bulk_server}/store",
        }
    )
    updates: list[str] = []
    loads: list[int] = []
    real_update, real_load = RemoteStore.update_text, RemoteStore.bulk_load

    def update_text(self: RemoteStore, update: str) -> None:
        updates.append(update)
        real_update(self, update)

    def bulk_load(self: RemoteStore, nquads: bytes) -> None:
        loads.append(len(nquads))
        real_load(self, nquads)

    monkeypatch.setattr(RemoteStore, "update_text", update_text)
    monkeypatch.setattr(RemoteStore, "bulk_load", bulk_load)
    writer = open_graph(settings, writable=True)
    try:
        build_rdf(corpus, writer, TOPICS, MEMBERSHIPS, progress=False)
    finally:
        writer.close()
    assert loads and sum(loads) > 1000
    assert not [u for u in updates if u.lstrip().startswith("INSERT DATA")]
    reader = open_graph(settings)
    try:
        cq = canned_queries()["papers-citing"]
        bindings = cq.bind(PARAMS["papers-citing"])
        there = run_query(reader, cq.text, bindings=bindings)
        here = run_query(local, cq.text, bindings=bindings)
        assert there.rows and normalised(there.rows) == normalised(here.rows)
        assert paper_from_graph(reader, paper_iri(ID["circuits"])) == PAPERS[0]
    finally:
        reader.close()
