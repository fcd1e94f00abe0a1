"""Every page of the Streamlit app driven with AppTest (widgets by key) over the small
built graph, and the pages' messages when there is nothing to show."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kg.core.settings import Settings
from kg.rdf.lists import read_order
from kg.store.corpus import CorpusStore
from kg.store.readinglists import ReadingLists
from tests.app.conftest import APP, HOSTILE_TITLE

PAGES = {
    "home": APP / "Home.py",
    "explore": APP / "pages" / "1_Explore.py",
    "read_next": APP / "pages" / "2_Read_next.py",
    "topics": APP / "pages" / "3_Topics.py",
    "sparql": APP / "pages" / "4_SPARQL.py",
    "lists": APP / "pages" / "5_Reading_list.py",
    "status": APP / "pages" / "6_Status.py",
}
ATTENTION = "Attention Is All You Need"


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(PAGES[page]), default_timeout=30).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def plain(text: object) -> str:
    """Markdown as read: the backslash escapes of third-party and library text removed."""
    return str(text).replace("\\", "")


def texts(at: AppTest) -> str:
    """Everything the page wrote as Markdown, text, captions and messages (unescaped)."""
    parts = [m.value for m in at.markdown] + [t.value for t in at.text]
    parts += [c.value for c in at.caption] + [h.value for h in at.subheader]
    for kind in (at.info, at.success, at.warning, at.error):
        parts += [str(e.value) for e in kind]
    return plain("\n".join(parts))


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


# --------------------------------------------------------------------------- no data
@pytest.mark.parametrize("page", sorted(set(PAGES) - {"status"}))
def test_missing_data_dir_says_what_to_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITKG_DATA_DIR", str(tmp_path / "nowhere"))
    at = run(page)
    assert "no data directory" in texts(at).lower()
    assert any("litkg ingest" in c.value for c in at.code)


def test_empty_corpus_and_unbuilt_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    CorpusStore(settings.corpus_path).close()
    monkeypatch.setenv("LITKG_DATA_DIR", str(settings.data_dir))
    at = run("explore")
    assert "holds no papers" in texts(at)
    assert any("litkg ingest" in c.value for c in at.code)
    status = run("status")
    assert "holds no papers" in texts(status)


def test_not_built_and_unreadable_graph(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = data_dir / "graph" / "manifest.json"
    manifest.write_text("{half")
    at = run("home")
    assert "unreadable" in texts(at) and any("litkg build" in c.value for c in at.code)
    manifest.unlink()
    at = run("topics")
    assert "has not been built" in texts(at) and any("litkg build" in c.value for c in at.code)


# --------------------------------------------------------------------------- overview
def test_home_overview(data_dir: Path) -> None:
    at = ok(run("home"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Papers"] == "10" and metrics["Seeds"] == "4"
    assert metrics["Years"].startswith("1950")
    assert "papers from Semantic Scholar (last fetched 20" in texts(at)  # where the data is from
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # topic map, papers per year
    at.selectbox(key="scheme").set_value("curated").run()
    ok(at)


# --------------------------------------------------------------------------- explore
def test_explore_search_open_paper_and_walk(data_dir: Path) -> None:
    at = ok(run("explore"))
    assert "Select a paper" in texts(at)
    at.text_input(key="q").input("attention").run()
    ok(at)
    table = at.dataframe[0].value
    assert ATTENTION in list(table["title"])
    pick = at.selectbox(key="pick")
    at = pick.select_index(pick.options.index(next(o for o in pick.options if ATTENTION in o)))
    at = ok(at.run())
    body = texts(at)
    assert "### Attention Is All You Need" in body
    assert "A transformer based solely on attention" in body  # the TL;DR
    assert [t.label for t in at.tabs][:2] == ["References (2)", "Cited by (7)"]
    refs = at.dataframe[1].value
    assert "Computing Machinery and Intelligence" in list(refs["title"])
    # the citation graph: move to a neighbour with the fallback selectbox
    at.radio(key="depth").set_value(2).run()
    ok(at)
    move = at.selectbox(key="move")
    target = next(o for o in move.options if o.startswith("Computing Machinery"))
    at = ok(move.select_index(move.options.index(target)).run())
    assert "### Computing Machinery and Intelligence" in texts(at)


def test_explore_filters_semantic_and_add_to_list(data_dir: Path) -> None:
    at = ok(run("explore"))
    at.radio(key="scope").set_value("seeds").run()
    titles = list(ok(at).dataframe[0].value["title"])
    assert ATTENTION in titles and len(titles) == 4
    at.radio(key="scope").set_value("all")
    at.slider(key="years").set_range(2018, 2022).run()
    years = list(ok(at).dataframe[0].value["year"])
    assert years and min(years) >= 2018
    at.slider(key="years").set_range(1950, 2022)
    at.selectbox(key="field").set_value("semantic")
    at.text_input(key="q").input("attention is all you need").run()
    table = ok(at).dataframe[0].value
    assert table["title"].iloc[0] == ATTENTION  # fake embedder: shared words rank first
    assert len(table) == 10 and list(table["score"]) == sorted(table["score"], reverse=True)
    at.selectbox(key="pick").select_index(0).run()
    at.button(key="explore_add").click().run()
    ok(at)
    lists = ReadingLists.open(Settings(data_dir=data_dir))
    assert lists.get("Reading list").paper_ids != ()


def test_hostile_title_is_text_not_markup(data_dir: Path) -> None:
    at = ok(run("explore"))
    at.text_input(key="q").input("protein").run()
    assert list(at.dataframe[0].value["title"]) == [HOSTILE_TITLE]  # a dataframe cell: text
    at.selectbox(key="pick").select_index(0).run()
    heading = next(m.value for m in ok(at).markdown if m.value.startswith("### "))
    for raw in ("<script>", "<b>", "**Protein**", "[Language](javascript"):
        assert raw not in heading
    assert "\\<script\\>" in heading and "\\*\\*Protein\\*\\*" in heading


# --------------------------------------------------------------------------- read next
def test_read_next_recommends_with_reasons_and_adds_in_one_click(data_dir: Path) -> None:
    at = ok(run("read_next"))
    assert "Pick at least one paper" in texts(at)
    at.text_input(key="find").input("attention").run()
    read = at.multiselect(key="read")
    at = read.select(next(o for o in read.options if ATTENTION in o)).run()
    ok(at)
    captions = texts(at)
    assert "recommendations from" in captions
    add_buttons = [b for b in at.button if b.key and b.key.startswith("add_")]
    assert add_buttons
    # reasons are bullet points under each recommendation
    assert any(m.value.startswith("- ") for m in at.markdown)
    first = add_buttons[0].key.removeprefix("add_")
    at = add_buttons[0].click().run()
    assert "Added to Reading list" in texts(ok(at))
    lists = ReadingLists.open(Settings(data_dir=data_dir))
    assert lists.get("Reading list").paper_ids == (first,)
    # not for me: the disliked paper leaves the recommendations
    dis = at.multiselect(key="disliked")
    at = ok(dis.select(dis.options[0]).run())
    remaining = [b.key for b in at.button if b.key and b.key.startswith("add_")]
    assert f"add_{first}" not in remaining


def test_read_next_from_a_reading_list_and_filters(data_dir: Path) -> None:
    lists = ReadingLists.open(Settings(data_dir=data_dir))
    kg_ids = [p["paper_id"] for p in _search_rows(data_dir, "bert")]
    lists.add("Done", kg_ids[0], create=True)
    at = ok(run("read_next"))
    at.selectbox(key="from_list").set_value("Done")
    at.button(key="use_list").click().run()
    assert ok(at).multiselect(key="read").value
    at.slider(key="k").set_value(2).run()
    assert len([b for b in ok(at).button if b.key and b.key.startswith("add_")]) == 2
    at.slider(key="rn_years").set_range(1960, 1990).run()  # nothing left: a message
    assert at.error and "1960-1990" in plain(at.error[0].value)


def _search_rows(data_dir: Path, query: str) -> list[dict[str, object]]:
    from kg.views.explorer import Explorer
    from kg.views.search import search

    ex = Explorer.load(Settings(data_dir=data_dir))
    try:
        return search(ex, query).rows
    finally:
        ex.close()


# --------------------------------------------------------------------------- topics
def test_topics_trees_detail_and_growth(data_dir: Path) -> None:
    at = ok(run("topics"))
    assert at.radio(key="scheme").options[:2] == [
        "Curated (the seed list's sections)",
        "Discovered (clusters of the text embeddings)",
    ]
    at.radio(key="scheme").set_value("curated").run()
    tree = ok(at).dataframe[0].value
    assert {"Transformers", "Classics"} <= {t.strip() for t in tree["topic"]}
    topic = at.selectbox(key="topic")
    at = topic.set_value("curated/transformers").run()
    body = texts(ok(at))
    assert "Transformers" in body and "2 papers" in body
    key_papers = at.dataframe[1].value
    assert ATTENTION in list(key_papers["title"])
    assert len(at.get("vega_lite_chart")) == 1  # growth over time
    at.radio(key="scheme").set_value("discovered").run()
    ok(at)


# --------------------------------------------------------------------------- SPARQL
def test_sparql_canned_query_errors_and_downloads(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITKG_SPARQL_EDITOR", "plain")  # AppTest cannot type into the editor
    at = ok(run("sparql"))
    assert "SELECT" in at.text_area(key="query").value
    at.button(key="run").click().run()
    assert "rows in" in texts(ok(at))
    assert len(at.dataframe[0].value) > 0
    assert {b.key for b in at.get("download_button")} >= {"dl_csv", "dl_json"}
    # a canned query with a parameter
    at.selectbox(key="canned").set_value("papers-citing").run()
    assert "cito:cites ?paper" in at.text_area(key="query").value
    attention = next(r["paper_id"] for r in _search_rows(data_dir, "attention"))
    at.text_input(key="param_paper").input(str(attention))
    at.button(key="run").click().run()
    assert len(ok(at).dataframe[0].value) == 7
    # a syntax error shows the parser's message; an update is refused
    at.selectbox(key="canned").set_value("(write your own)").run()
    at.text_area(key="query").input("SELECT ?x WHERE { ?x ?y }").run()
    at.button(key="run").click().run()
    assert at.error and "Syntax error" in plain(at.error[0].value)
    at.text_area(key="query").input("DELETE WHERE { ?s ?p ?o }").run()
    at.button(key="run").click().run()
    assert at.error and "read-only" in plain(at.error[0].value).lower()


def test_sparql_editor_with_prefixes_and_plain_fallback(data_dir: Path) -> None:
    from app import sparql_editor

    at = ok(run("sparql"))
    # the editor component (AppTest shows it as an unknown element), holding the example
    editors = [e for e in at.main if type(e).__name__ == "UnknownElement"]
    assert len(editors) == 1 and "Ctrl+Enter" in texts(at)
    assert "SELECT" in at.session_state[sparql_editor.TEXT]
    assert "PREFIX dcterms: <http://purl.org/dc/terms/>" in at.code[0].value
    at.button(key="run").click().run()
    assert "rows in" in texts(ok(at))
    # an example loads into the editor: a new editor holding its text
    at.selectbox(key="canned").set_value("papers-citing").run()
    assert "cito:cites ?paper" in at.session_state[sparql_editor.TEXT]
    assert at.session_state[sparql_editor.GEN] == 2
    # the plain box takes over with the same text
    at.checkbox(key="plain_editor").check().run()
    assert "cito:cites ?paper" in at.text_area(key="query").value
    assert not [e for e in at.main if type(e).__name__ == "UnknownElement"]
    names = {c["caption"] for c in sparql_editor.completions()}
    assert {"dcterms:", "cito:", "litkg:"} <= names


def test_sparql_without_rdf_store_says_build(data_dir: Path) -> None:
    import shutil

    shutil.rmtree(data_dir / "rdf")
    at = run("sparql")
    at.button(key="run").click().run()
    assert at.error and "litkg build" in plain(at.error[0].value)


# --------------------------------------------------------------------------- reading lists
def test_reading_lists_edit_order_export_import_and_persist(data_dir: Path) -> None:
    at = ok(run("lists"))
    assert "No reading lists yet" in texts(at)
    at.text_input(key="new_list").input("Transformers").run()
    at.button(key="create").click().run()
    assert ok(at).selectbox(key="list").value == "Transformers"
    for query in ("attention", "bert", "turing"):
        at.text_input(key="add_q").input(query).run()
        at.selectbox(key="add_pick").select_index(0).run()
        at.button(key="add").click().run()
        ok(at)
    rows = at.dataframe[0].value
    assert len(rows) == 3 and rows["title"].iloc[0] == ATTENTION
    # a note, a move, a reading path
    bert = next(pid for pid, label in _pid_labels(at).items() if "BERT" in label)
    at = at.selectbox(key="item").set_value(bert).run()
    pid = at.selectbox(key="item").value
    at.text_area(key=f"note_{pid}").input("Read section 3 first").run()
    at.button(key="save_note").click().run()
    at.button(key="up").click().run()
    rows = ok(at).dataframe[0].value
    assert rows["title"].iloc[0].startswith("BERT") and rows["note"].iloc[0] == (
        "Read section 3 first"
    )
    at.button(key="path").click().run()
    rows = ok(at).dataframe[0].value
    assert rows["title"].iloc[0] == "Computing Machinery and Intelligence"  # cited first
    assert "builds on" in texts(at) or "foundational" in texts(at)
    # exports
    downloads = {b.key for b in at.get("download_button")}
    assert downloads == {"dl_bibtex", "dl_ris", "dl_csl-json", "dl_markdown", "dl_csv"}
    # survives a restart, and the RDF graph has the list in order
    again = ok(run("lists"))
    assert len(again.dataframe[0].value) == 3
    settings = Settings(data_dir=data_dir)
    lists = ReadingLists.open(settings)
    from kg.rdf.stores import open_graph

    ds = open_graph(settings)
    gc.collect(1)  # see kg.views.run_sparql: free open_graph's half-read result here
    try:
        assert read_order(ds, "Transformers") == list(lists.get("Transformers").paper_ids)
    finally:
        ds.close()
    # remove
    at.selectbox(key="item").set_value(lists.get("Transformers").paper_ids[-1]).run()
    at.button(key="remove").click().run()
    assert len(ok(at).dataframe[0].value) == 2


def _pid_labels(at: AppTest) -> dict[str, str]:
    rows = at.dataframe[0].value
    return {
        pid: f"{pos}. {title}"
        for pid, pos, title in zip(rows["paper_id"], rows["position"], rows["title"], strict=True)
    }


def test_reading_list_import_bibtex_and_corrupt_file(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    bib = (
        "@article{vaswani2017attention, title={Attention Is All You Need}, "
        "author={Vaswani, Ashish}, year={2017}, eprint={1706.03762}, archiveprefix={arXiv}}\n"
        "@misc{nobody2099, title={A Paper Nobody Wrote}, year={2099}}\n"
    )
    ReadingLists.open(settings).create("Imported")
    from kg.views.explorer import Explorer
    from kg.views.lists import import_into_list

    ex = Explorer.load(settings)
    try:
        out = import_into_list(ex, ReadingLists.open(settings), "Imported", bib, "bibtex")
    finally:
        ex.close()
    assert len(out.report.added) == 1 and len(out.report.unmatched) == 1
    at = ok(run("lists"))
    assert ATTENTION in list(at.dataframe[0].value["title"])
    (data_dir / "reading-lists.json").write_text("{not json")
    at = run("lists")
    assert at.error and "reading-lists.json" in plain(at.error[0].value)
    at.button(key="set_aside").click().run()
    assert "No reading lists yet" in texts(at)


# --------------------------------------------------------------------------- status
def test_status_offline(data_dir: Path) -> None:
    at = ok(run("status"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Papers"] == "10"
    body = texts(at)
    assert "up to date" in body and "not reachable" in body
    assert "papers from Semantic Scholar (last fetched 20" in body
    assert "local papers" not in body
    assert not [b for b in at.button if b.key == "refresh"]


def test_status_refresh_against_the_local_api(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.app.conftest import fixture_world
    from tests.s2server import S2Server

    monkeypatch.delenv("LITKG_APP_OFFLINE")
    with S2Server(fixture_world()) as srv:  # type: ignore[arg-type]
        monkeypatch.setenv("S2_API_URL", srv.url)
        monkeypatch.setenv("LITKG_S2_MIN_INTERVAL", "0")
        at = ok(run("status"))
        assert at.button(key="refresh").disabled
        at.checkbox(key="confirm_refresh").check().run()
        at.button(key="refresh").click().run()
        ok(at)
    assert "Refreshed" in texts(at)
    assert any("Papers:" in c.value for c in at.code)
    manifest = json.loads((data_dir / "graph" / "manifest.json").read_text())
    assert manifest["embedder"] == "fake-bow-16"


def test_read_next_starts_from_the_seed_page_in_one_click(data_dir: Path) -> None:
    from app.state import md
    from kg.views.explorer import Explorer
    from kg.views.read_next import SNIPPET_CHARS, snippet

    at = ok(run("read_next"))
    assert "Start from the papers of your seed page" in texts(at)
    picks = [b for b in at.button if b.key and b.key.startswith("seed_")]
    labels = [plain(b.label) for b in picks]
    assert len(picks) == 4 and any(ATTENTION in label for label in labels)
    assert labels.index(next(x for x in labels if ATTENTION in x)) == 0  # page order
    assert "Transformers" in texts(at) and "Classics" in texts(at)  # the page's sections
    at = ok(next(b for b in picks if ATTENTION in plain(b.label)).click().run())
    ex = Explorer.load(Settings(data_dir=data_dir))
    try:
        (attention,) = [p for p in ex.papers if p.title == ATTENTION]
        assert at.multiselect(key="read").value == [attention.paper_id]
        assert "recommendations from" in texts(at)
        assert "Start from the papers of your seed page" not in texts(at)
        recs = [b.key.removeprefix("add_") for b in at.button if b.key.startswith("add_")]
        snippets = [snippet(ex.paper(pid)) for pid in recs]
    finally:
        ex.close()
    # each card shows the first lines of its abstract (or TL;DR), as escaped text
    shown = [m.value for m in at.markdown]
    assert any(snippets)
    for text in filter(None, snippets):
        assert md(text) in shown
        assert len(text) <= SNIPPET_CHARS + 1


# --------------------------------------------------------------------------- first run offline
@pytest.fixture
def offline_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`make run` without network: the bundled seed page kept as local papers, built."""
    from ingest.pipeline import run_ingest
    from kg.build import build
    from kg.text.embed import FakeEmbedder

    settings = Settings(data_dir=tmp_path / "data")
    run_ingest(settings=settings, offline=True, progress=False)
    build(settings, embedder=FakeEmbedder(dim=16), progress=False)
    monkeypatch.setenv("LITKG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LITKG_EMBED_BACKEND", "fake")
    monkeypatch.setenv("LITKG_APP_OFFLINE", "1")
    return settings.data_dir


def test_first_run_offline_says_where_the_data_comes_from(offline_data: Path) -> None:
    origin = (
        "22 local papers from mechanistic-interpretability.dokuwiki.txt, not yet resolved on "
        "Semantic Scholar (kept offline): text only, no citations yet. Connect to Semantic "
        "Scholar and press Refresh"
    )
    home = ok(run("home"))
    assert {m.label: m.value for m in home.metric}["Papers"] == "22"
    assert origin in texts(home)
    status = ok(run("status"))
    assert origin in texts(status) and "Semantic Scholar (last fetched" not in texts(status)


def test_first_run_offline_read_next_starts_from_the_seed_page(offline_data: Path) -> None:
    at = ok(run("read_next"))
    picks = [b for b in at.button if b.key and b.key.startswith("seed_")]
    assert len(picks) == 22
    assert "Overviews" in texts(at) and "Papers > Induction Heads" in texts(at)
    at = ok(picks[1].click().run())  # the first paper of "Overviews"
    assert len(at.multiselect(key="read").value) == 1
    assert [b for b in at.button if b.key and b.key.startswith("add_")]
