"""kg.views: the library calls behind the app's screens, over the small built graph."""

from __future__ import annotations

import gc
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kg.core.errors import (
    ReadOnlyError,
    RecommendError,
    SparqlSyntaxError,
)
from kg.core.settings import Settings
from kg.rdf.lists import read_order
from kg.recommend.index import RecommendIndex
from kg.store.corpus import DETAIL_FULL, UNRESOLVED, CorpusStore, SeedRow
from kg.store.readinglists import ReadingLists
from kg.text.embed import FakeEmbedder, MiniLMEmbedder
from kg.views.explorer import ExploreError, Explorer, SearchFilters, safe_url
from kg.views.lists import (
    export_all,
    export_list,
    import_into_list,
    list_view,
    order_as_path,
    sync_lists_rdf,
)
from kg.views.overview import overview
from kg.views.paper import EGO_MAX_NODES, ego_view, paper_view
from kg.views.read_next import SNIPPET_CHARS, read_next, snippet
from kg.views.search import query_embedder, search
from kg.views.sparql import run_sparql
from kg.views.status import describe_origin, readiness, status
from kg.views.topics import topic_detail, topic_tree
from tests.app.conftest import HOSTILE_TITLE, build_fixture

ATTENTION = "Attention Is All You Need"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture(tmp_path_factory.mktemp("explore-graph")).data_dir


@pytest.fixture
def settings(built: Path, tmp_path: Path) -> Settings:
    """A private copy (tests write reading lists and RDF)."""
    shutil.copytree(built, tmp_path / "data")
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="module")
def ex(built: Path) -> Iterator[Explorer]:
    e = Explorer.load(Settings(data_dir=built))
    yield e
    e.close()


def pid_of(ex: Explorer, title: str) -> str:
    return next(pid for pid, p in zip(ex.ids, ex.papers, strict=True) if p.title == title)


# --------------------------------------------------------------------------- readiness
def test_readiness_says_what_to_run(tmp_path: Path, built: Path) -> None:
    r = readiness(Settings(data_dir=tmp_path / "none"))
    assert (r.ok, r.state, r.command) == (False, "no-data-dir", "litkg ingest && litkg build")
    (tmp_path / "d").mkdir()
    assert readiness(Settings(data_dir=tmp_path / "d")).state == "no-corpus"
    empty = Settings(data_dir=tmp_path / "d")
    CorpusStore(empty.corpus_path).close()
    r = readiness(empty)
    assert r.state == "empty" and "litkg ingest" in r.command
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    s = Settings(data_dir=copy)
    ok = readiness(s)
    assert ok.ok and ok.stamp
    manifest = s.graph_dir / "manifest.json"
    manifest.write_text("{broken")
    assert readiness(s).state == "unreadable"
    manifest.unlink()
    r = readiness(s)
    assert r.state == "not-built" and r.command == "litkg build"


def test_query_embedder_matches_the_graph(
    ex: Explorer, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Settings(data_dir=built)
    emb = query_embedder(s, ex.kg)  # built with the fake embedder: the same one
    assert isinstance(emb, FakeEmbedder) and emb.dim == ex.kg.embeddings.shape[1]
    assert isinstance(query_embedder(s), FakeEmbedder)  # read from the manifest
    other = Settings(data_dir=built.parent / "nowhere", embed_backend="onnx")
    minilm = query_embedder(other)
    assert isinstance(minilm, MiniLMEmbedder) and minilm.backend == "onnx"  # explicit: kept
    fake = Settings(data_dir=built.parent / "nowhere", embed_backend="fake")
    assert isinstance(query_embedder(fake), FakeEmbedder)


def test_query_embedder_is_fp32_onnx_never_int8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LITKG_EMBED_BACKEND", raising=False)
    monkeypatch.setattr("kg.views.search._has_onnxruntime", lambda: True)
    fast = query_embedder(Settings(data_dir=tmp_path))
    assert isinstance(fast, MiniLMEmbedder) and fast.backend == "onnx"
    named = query_embedder(Settings(data_dir=tmp_path, embed_backend="onnx-int8"))
    assert isinstance(named, MiniLMEmbedder) and named.backend == "onnx-int8"  # asked for
    monkeypatch.setattr("kg.views.search._has_onnxruntime", lambda: False)
    monkeypatch.setattr("kg.text.embed._onnx_available", lambda: False)
    plain = query_embedder(Settings(data_dir=tmp_path))
    assert isinstance(plain, MiniLMEmbedder) and plain.backend in ("torch-bf16", "torch")


# --------------------------------------------------------------------------- explorer
def test_items_are_graph_nodes_with_records(ex: Explorer) -> None:
    assert ex.n == 10 == len(set(ex.ids))
    assert ex.is_seed.sum() == 4
    assert set(ex.schemes) == {"curated", "discovered", "s2-fields"}
    f = ex.facets
    assert (f.year_min, f.year_max) == (1950, 2022)
    assert {label for _, label, _ in f.topics["curated"]} == {"Transformers", "Classics"}


def test_search_fields_ids_and_empty_query(ex: Explorer) -> None:
    title = search(ex, "attention", field="title")
    assert [r["title"] for r in title.rows] == [ATTENTION]
    by_author = search(ex, "vaswani", field="author")
    assert [r["title"] for r in by_author.rows] == [ATTENTION]
    assert search(ex, "vaswani", field="title").total == 0
    assert search(ex, "1706.03762").rows[0]["title"] == ATTENTION  # an arXiv id
    text = search(ex, "solely on attention", field="text")  # the TL;DR
    assert [r["title"] for r in text.rows] == [ATTENTION]
    everything = search(ex, "")
    cites = [r["citations"] for r in everything.rows]
    assert everything.total == 10 and cites == sorted(cites, reverse=True)
    assert search(ex, "", limit=3).total == 10 and len(search(ex, "", limit=3).rows) == 3


def test_explorer_shares_the_recommenders_index(ex: Explorer) -> None:
    index = RecommendIndex.of(ex.kg)
    assert ex.index is index  # one per graph, built once, shared with Read next
    assert ex.ids == [index.ids[r] for r in ex.rows.tolist()]
    assert all(ex.papers[j] is index.paper[r] for j, r in enumerate(ex.rows.tolist()))
    assert ex._emb_row.tolist() == index.emb_row[ex.rows].tolist()
    nodes = ex.kg.graph.graph
    for j, pid in enumerate(ex.ids):
        in_graph = nodes.in_degree(pid)
        assert ex.citations[j] == max(int(nodes.nodes[pid].get("citation_count") or 0), in_graph)
        assert ex.pos[pid] == j


def test_full_text_search_goes_through_fts5(ex: Explorer, built: Path) -> None:
    with CorpusStore(Settings(data_dir=built).corpus_path) as store:
        assert store.search_text("attention") is not None  # the corpus holds the index
    ranked = search(ex, "attention")
    assert ranked.rows[0]["title"] == ATTENTION  # the title hit first (bm25, title weighted)
    scores = [r["score"] for r in ranked.rows]
    assert scores == sorted(scores, reverse=True)
    assert [r["title"] for r in search(ex, "atten", field="title").rows] == [ATTENTION]  # typing
    assert search(ex, "vaswan attention", field="author").total == 0  # only the last: prefix
    for odd in ('"', "*", "-", "NEAR", "AND", 'attention" OR "bert', "(x", "title:x", "{a}"):
        search(ex, odd)  # never an FTS5 syntax error
    assert search(ex, "attention AND").total == 0  # "and" is a word to find, not an operator
    # without a corpus (or with a read-only one from before the index): the same answers
    # from an in-memory index of the graph's papers
    bare = Explorer(ex.kg)
    for query, field in (("attention", "all"), ("vaswani", "author"), ("1706.03762", "all")):
        mine = [r["paper_id"] for r in search(bare, query, field=field).rows]
        assert mine == [r["paper_id"] for r in search(ex, query, field=field).rows]


def test_full_text_search_sees_records_rewritten_since_loading(settings: Settings) -> None:
    e = Explorer.load(settings)
    try:
        assert [r["title"] for r in search(e, "attention", field="title").rows] == [ATTENTION]
        pid = pid_of(e, ATTENTION)
        with CorpusStore(settings.corpus_path) as store:  # an ingest, while the app runs
            paper = store.get_paper(pid)
            assert paper is not None
            store.upsert_paper(paper, detail=DETAIL_FULL)  # replaced: a new rowid
        assert [r["title"] for r in search(e, "attention", field="title").rows] == [ATTENTION]
    finally:
        e.close()


def test_search_filters_and_sorts(ex: Explorer) -> None:
    seeds = search(ex, "", filters=SearchFilters(scope="seeds"))
    assert seeds.total == 4 and all(r["seed"] for r in seeds.rows)
    neighbours = search(ex, "", filters=SearchFilters(scope="neighbours"))
    assert neighbours.total == 6 and not any(r["seed"] for r in neighbours.rows)
    recent = search(ex, "", filters=SearchFilters(year_from=2020, year_to=2021))
    assert recent.total and all(2020 <= r["year"] <= 2021 for r in recent.rows)
    venue = search(ex, "", filters=SearchFilters(venue="sigmod"))
    assert [r["year"] for r in venue.rows] == [1993]
    cited = search(ex, "", filters=SearchFilters(min_citations=5))
    assert all(r["citations"] >= 5 for r in cited.rows)
    topic = search(ex, "", filters=SearchFilters(topic="curated/transformers"))
    assert {r["title"] for r in topic.rows} == {
        ATTENTION,
        "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
    }
    newest = [r["year"] for r in search(ex, "", sort="newest").rows]
    assert newest == sorted(newest, reverse=True)
    oldest = [r["year"] for r in search(ex, "", sort="oldest").rows]
    assert oldest == sorted(oldest)
    titles = [r["title"].lower() for r in search(ex, "", sort="title").rows]
    assert titles == sorted(titles)
    with pytest.raises(ExploreError, match="scope"):
        search(ex, "", filters=SearchFilters(scope="mine"))
    with pytest.raises(ExploreError, match="Unknown topic"):
        search(ex, "", filters=SearchFilters(topic="nope"))
    with pytest.raises(ExploreError, match="sort"):
        search(ex, "", sort="random")


def test_semantic_search_ranks_by_cosine(ex: Explorer) -> None:
    emb = query_embedder(Settings(data_dir=Path("unused")), ex.kg)
    res = search(ex, "attention is all you need", field="semantic", embedder=emb)
    scores = [r["score"] for r in res.rows]
    assert res.rows[0]["title"] == ATTENTION and scores == sorted(scores, reverse=True)
    with pytest.raises(ExploreError, match="embedder"):
        search(ex, "attention", field="semantic")


# --------------------------------------------------------------------------- overview
def test_overview_counts_map_and_years(ex: Explorer) -> None:
    ov = overview(ex)
    assert (ov.papers, ov.citations, ov.seeds) == (10, ex.kg.graph.graph.number_of_edges(), 4)
    assert ov.scheme == "discovered" and ov.map_total == 10 and len(ov.map_points) == 10
    assert all(-1.0 <= p["x"] <= 1.0 and -1.0 <= p["y"] <= 1.0 for p in ov.map_points)
    assert sum(r["papers"] for r in ov.per_year) == 10
    small = overview(ex, scheme="curated", max_points=5)
    assert len(small.map_points) == 5
    assert sum(p["seed"] for p in small.map_points) == 4  # seeds are always drawn
    assert {p["topic"] for p in small.map_points} >= {"Transformers"}
    with pytest.raises(ExploreError):
        overview(ex, scheme="nope")
    again = Explorer(ex.kg).projection
    assert np.allclose(again, ex.projection)  # deterministic


# --------------------------------------------------------------------------- paper, graph
def test_paper_view_links_topics_references_with_contexts(ex: Explorer) -> None:
    view = paper_view(ex, pid_of(ex, ATTENTION))
    assert view.is_seed and view.sections == ("Transformers",)
    assert [label for label, _ in view.links] == ["Semantic Scholar", "arXiv"]
    assert all(url.startswith("https://") for _, url in view.links)
    assert ("curated/transformers", "Transformers", "curated", 1.0) in view.topics
    assert len(view.references) == 2 and len(view.citations) == 7
    assert any(c.contexts for c in view.citations)  # what the citing paper said
    assert any(c.intents for c in view.citations)
    with pytest.raises(ExploreError, match="not in the graph"):
        paper_view(ex, "0" * 40)


def test_safe_urls_only() -> None:
    assert safe_url("https://arxiv.org/abs/1706.03762")
    for bad in ("javascript:alert(1)", "data:text/html,x", "https://x.org/a b", "ftp://x"):
        assert safe_url(bad) is None


def test_ego_view_layout_and_caps(ex: Explorer, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = pid_of(ex, ATTENTION)
    one = ego_view(ex, pid, depth=1)
    assert one.shown == one.neighbours == 9 and len(one.nodes) == 10
    centre = next(n for n in one.nodes if n["centre"])
    assert centre["paper_id"] == pid and (centre["x"], centre["y"]) == (0.0, 0.0)
    assert all(-1.0 <= n["x"] <= 1.0 and -1.0 <= n["y"] <= 1.0 for n in one.nodes)
    at = {n["paper_id"]: (n["x"], n["y"]) for n in one.nodes}
    for e in one.edges:
        assert (e["x"], e["y"]) == at[e["source"]] and (e["x2"], e["y2"]) == at[e["target"]]
    assert ego_view(ex, pid, depth=1) == one  # seeded layout
    monkeypatch.setitem(EGO_MAX_NODES, 2, 4)
    capped = ego_view(ex, pid, depth=2)
    assert capped.shown == 3 and capped.neighbours >= 9
    with pytest.raises(ExploreError, match="depth"):
        ego_view(ex, pid, depth=3)


# --------------------------------------------------------------------------- topics
def test_topic_tree_and_detail(ex: Explorer) -> None:
    tree = topic_tree(ex, "curated")
    assert [(t.label, t.size) for t in tree] == [("Transformers", 2), ("Classics", 1)]
    d = topic_detail(ex, "curated/transformers")
    assert d.size == 2 and {r["title"] for r in d.key_papers} >= {ATTENTION}
    assert [r["total"] for r in d.per_year] == [1, 2]
    assert d.related and d.related[0][2] == "discovered"
    discovered = topic_tree(ex, "discovered")
    assert sum(t.size for t in discovered) == 10
    with pytest.raises(ExploreError):
        topic_detail(ex, "nope")
    with pytest.raises(ExploreError):
        topic_tree(ex, "nope")


# --------------------------------------------------------------------------- read next
def test_read_next_rows_have_reasons(ex: Explorer) -> None:
    res = read_next(ex, [pid_of(ex, ATTENTION)], k=3)
    assert [r["rank"] for r in res.rows] == [1, 2, 3]
    assert all(r["reasons"] and r["title"] for r in res.rows)
    assert res.read == [pid_of(ex, ATTENTION)] and res.candidates == 9
    with pytest.raises(RecommendError):
        read_next(ex, [])


# --------------------------------------------------------------------------- SPARQL
def test_run_sparql_canned_params_formats_and_errors(ex: Explorer, built: Path) -> None:
    from kg.rdf.canned import canned_queries

    s = Settings(data_dir=built)
    q = canned_queries()["papers-citing"]
    ans = run_sparql(s, q.text, params={"paper": pid_of(ex, ATTENTION)}, canned=q)
    assert len(ans.rows) == 7 and ans.columns[0] == "citing"
    assert ans.csv.splitlines()[0].startswith("citing,")
    assert json.loads(ans.json)["head"]["vars"][0] == "citing"
    ask = run_sparql(s, "ASK { ?s ?p ?o }")
    assert ask.rows == [{"answer": True}]
    with pytest.raises(SparqlSyntaxError):
        run_sparql(s, "SELECT ?x WHERE { ?x ?y }")
    with pytest.raises(ReadOnlyError):
        run_sparql(s, "DELETE WHERE { ?s ?p ?o }")


# --------------------------------------------------------------------------- lists
def test_lists_view_export_import_path_and_rdf(ex: Explorer, settings: Settings) -> None:
    lists = ReadingLists.open(settings)
    turing = pid_of(ex, "Computing Machinery and Intelligence")
    attention = pid_of(ex, ATTENTION)
    lists.add_many("Mine", [attention, turing], {attention: "first"}, create=True)
    rows = list_view(ex, lists.get("Mine"))
    assert (rows[0]["position"], rows[0]["title"], rows[0]["note"]) == (1, ATTENTION, "first")
    bib = export_list(ex, lists.get("Mine"), "bibtex")
    assert bib.data.lstrip().startswith("@") and bib.file_name == "Mine.bib"
    assert {d.label for d in export_all(ex, lists.get("Mine"))} == {
        "BibTeX",
        "RIS",
        "CSL-JSON",
        "Markdown",
        "CSV",
    }
    steps = order_as_path(ex, lists, "Mine")
    assert [s.paper_id for s in steps] == [turing, attention]  # what it builds on first
    assert lists.get("Mine").paper_ids == (turing, attention)
    assert sync_lists_rdf(settings, lists) is None
    from kg.rdf.stores import open_graph

    ds = open_graph(settings)
    gc.collect(1)
    try:
        assert read_order(ds, "Mine") == [turing, attention]
    finally:
        ds.close()
    out = import_into_list(
        ex,
        lists,
        "Imported",
        "@misc{x, title={Attention Is All You Need}, year={2017}}\n"
        "@misc{y, title={Nobody Wrote This}, year={2099}}\n",
        "bibtex",
    )
    assert out.report.added == (attention,) and len(out.report.unmatched) == 1
    shutil.rmtree(settings.rdf_path)
    assert "litkg build" in (sync_lists_rdf(settings, lists) or "")


def test_hostile_title_is_returned_as_plain_text(ex: Explorer) -> None:
    row = search(ex, "protein").rows[0]
    assert row["title"] == HOSTILE_TITLE  # rendering it as text is the app's job


# --------------------------------------------------------------------------- status
def test_status_freshness_and_unresolved(settings: Settings, tmp_path: Path) -> None:
    view = status(settings)
    assert view.readiness.ok and not view.stale and view.corpus is not None
    assert view.corpus.papers == 10 and view.manifest and view.sources
    with CorpusStore(settings.corpus_path) as store:
        store.put_seed(SeedRow("page.md", 99, "A Lost Paper", UNRESOLVED, reason="no match"))
        run = store.start_run()
        store.finish_run(run, {"sources": ["page.md"]})
    manifest = settings.graph_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data["built_at"] = data["last_ingest"] = "2000-01-01T00:00:00+00:00"
    manifest.write_text(json.dumps(data))
    view = status(settings)
    assert view.stale and [s.title for s in view.unresolved] == ["A Lost Paper"]
    missing = status(Settings(data_dir=tmp_path / "none"))
    assert missing.corpus is None and missing.readiness.state == "no-data-dir"


def test_snippet_is_the_first_lines_of_the_abstract_else_the_tldr() -> None:
    from kg.core.model import Paper

    long = "Sparse <b>autoencoders</b> find   features.\n" + "word " * 100
    text = snippet(Paper("p", "T", abstract=long, tldr="A short TL;DR."))
    assert text.startswith("Sparse <b>autoencoders</b> find features. word")  # text, as is
    assert text.endswith("word…") and len(text) <= SNIPPET_CHARS + 1
    assert snippet(Paper("p", "T", tldr="A short TL;DR.")) == "A short TL;DR."
    assert snippet(Paper("p", "T")) == "" and snippet(None) == ""
    one_word = snippet(Paper("p", "T", abstract="x" * 500))
    assert one_word == "x" * SNIPPET_CHARS + "…"


def test_describe_origin_names_sources_and_freshness() -> None:
    from kg.store.corpus import CorpusStatus

    def corpus(**kw: object) -> CorpusStatus:
        base: dict[str, object] = dict(
            papers=0, papers_full=0, papers_unresolved=0, citations=0, seeds=0,
            seeds_resolved=0, seeds_unresolved=0, seeds_low_confidence=0, seeds_offline=0,
            with_abstract=0, with_specter=0, last_fetch=None, last_run=None, path="c",
        )  # fmt: skip
        base.update(kw)
        return CorpusStatus(**base)  # type: ignore[arg-type]

    assert describe_origin(corpus(), []) is None
    mixed = describe_origin(
        corpus(
            papers=12, papers_full=10, papers_unresolved=2, last_fetch="2026-12-01T10:20:30+00:00"
        ),
        [("papers", "batch", 10, None), ("local", "lib.bib", 2, None)],
    )
    assert mixed == (
        "10 papers from Semantic Scholar (last fetched 2026-12-01 10:20 UTC); 2 local papers "
        "from lib.bib, not yet resolved on Semantic Scholar. Connect to Semantic Scholar and "
        "press Refresh to resolve them."
    )
    online = describe_origin(
        corpus(papers=5, papers_full=5, last_fetch="2026-12-01T10:20:30+00:00"), []
    )
    assert online == "5 papers from Semantic Scholar (last fetched 2026-12-01 10:20 UTC)."
