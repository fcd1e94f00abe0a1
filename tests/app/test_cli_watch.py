"""``litkg watch`` end to end: the small built graph, the local S2 server serving it plus
papers of 2023-2026 citing it (``watch_world``); table and JSON output, a second run lists
only new papers, ``--atom`` writes a feed that xml.etree reads."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import app
from kg.core.settings import Settings
from kg.recommend.watch import WatchState
from kg.store.readinglists import ReadingLists
from tests.s2server import S2Server
from tests.s2world import WATCH_CITING, add_citing_paper, watch_world

ATOM = "{http://www.w3.org/2005/Atom}"
SINCE_2024 = {WATCH_CITING[k][0] for k in ("w2024", "w2025a", "w2026a", "w2026b")}


@pytest.fixture
def s2(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S2Server]:
    with S2Server(watch_world()) as srv:
        monkeypatch.setenv("S2_API_URL", srv.url)
        monkeypatch.setenv("LITKG_S2_MIN_INTERVAL", "0")
        monkeypatch.setenv("LITKG_S2_MAX_RETRIES", "1")
        yield srv


def watch(*args: str) -> Any:
    result = CliRunner().invoke(app, ["watch", *args])
    assert result.exit_code == 0, result.output
    return result


def watch_json(*args: str) -> dict[str, Any]:
    return json.loads(watch(*args, "--format", "json").stdout)  # type: ignore[no-any-return]


def test_json_then_only_new_ones(s2: S2Server, data_dir: Path) -> None:
    first = watch_json("--since", "2024")
    assert first["target"] == "seeds" and first["since"] == "2024"
    assert {i["title"] for i in first["items"]} == SINCE_2024
    assert first["s2_requests"] == first["watched"] == s2.counts["citations"] >= 3
    scores = [i["score"] for i in first["items"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1
    for item in first["items"]:
        assert item["reasons"][0].startswith(f"cites {len(item['cites'])} papers of your seeds: ")
        assert item["url"].startswith("https://") and item["shown_at"]
    three = next(i for i in first["items"] if i["title"] == WATCH_CITING["w2025a"][0])
    assert "Vaswani et al. 2017" in three["reasons"][0] and "Turing 1950" in three["reasons"][0]

    # the same run again: nothing new, and no S2 call (cached pages)
    second = watch_json("--since", "2024")
    assert second["items"] == [] and second["already_shown"] == len(SINCE_2024)
    assert second["s2_requests"] == 0 and second["cache_hits"] == first["watched"]

    # a paper appears; once the cached pages are stale, only it is listed
    add_citing_paper(
        s2.world, "w2026c", "Attention Rules Revisited", 2026, "2026-05-01", ("attention", "bert")
    )
    s2.world.invalidate()
    third = watch_json("--since", "2024", "--refresh", "0s")
    assert [i["title"] for i in third["items"]] == ["Attention Rules Revisited"]
    assert third["already_shown"] == len(SINCE_2024)
    everything = watch_json("--since", "2024", "--all")
    assert len(everything["items"]) == len(SINCE_2024) + 1

    state = WatchState.load(Settings(data_dir=data_dir))
    assert len(state.shown) == len(SINCE_2024) + 1 and "seeds" in state.last_run
    assert [len(r.items) for r in state.runs] == [5, 1, 0, 4]


def test_table_and_list_option(s2: S2Server, data_dir: Path) -> None:
    lists = ReadingLists.open(Settings(data_dir=data_dir))
    by_title = {r["title"]: pid for pid, r in s2.world.papers.items()}
    lists.create("core")
    for title in ("Attention Is All You Need", "Computing Machinery and Intelligence"):
        lists.add("core", by_title[title])
    out = watch("--list", "core", "--since", "2025-01-01").stdout
    lines = out.splitlines()
    assert lines[0].startswith("1 new paper citing core (2 watched papers) since 2025-01-01.")
    assert WATCH_CITING["w2025a"][0] in lines[1]
    # -k lists the best; the others stay new for the next run
    best = watch("--since", "2024", "-k", "1").stdout
    assert best.startswith("1 of 3 new papers citing seeds (4 watched papers) since 2024;")
    assert "1 shown before" in best.splitlines()[0]
    rest = watch("--since", "2024", "-k", "5").stdout
    assert rest.startswith("2 new papers citing seeds") and "2 shown before" in rest
    assert "cites 2 papers of your list: Vaswani et al. 2017, Turing 1950" in out
    assert "close in text to your list (cosine" in out


def test_default_since_and_errors(s2: S2Server, data_dir: Path) -> None:
    now = datetime.now(UTC)
    first = watch_json()  # a year back from today
    assert first["since"] == (now - timedelta(days=365)).date().isoformat()
    again = watch_json()  # from the start of the year of the last run, less a month
    assert again["since"] == str((now - timedelta(days=30)).year)
    for args, message in (
        (["--list", "nope"], "No reading list or seed source called 'nope'"),
        (["--since", "yesterday"], "--since 2025"),
        (["--format", "xml"], "table or json"),
    ):
        result = CliRunner().invoke(app, ["watch", *args])
        assert result.exit_code == 2 and message in result.output, result.output


def test_atom_feed(s2: S2Server, data_dir: Path, tmp_path: Path) -> None:
    feed_path = tmp_path / "alerts.xml"
    out = watch("--since", "2024", "--atom", str(feed_path)).stdout
    assert f"Atom feed: {feed_path}" in out
    root = ET.parse(feed_path).getroot()
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id") == "urn:litkg:watch" and root.findtext(f"{ATOM}updated")
    entries = root.findall(f"{ATOM}entry")
    assert {e.findtext(f"{ATOM}title", "").rsplit(" (", 1)[0] for e in entries} == SINCE_2024
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids) and all(i and i.startswith("urn:litkg:paper:") for i in ids)
    for e in entries:
        (link,) = e.findall(f"{ATOM}link")
        assert link.get("href", "").startswith("https://www.semanticscholar.org/paper/")
        assert e.findtext(f"{ATOM}updated") and e.findtext(f"{ATOM}summary", "").count("cites")
        assert e.findall(f"{ATOM}author/{ATOM}name")
    # third-party text is escaped, not markup
    assert "Rules &amp; &lt;Heads&gt;" in feed_path.read_text(encoding="utf-8")
    assert WATCH_CITING["w2026b"][0] in {e.findtext(f"{ATOM}title", "")[:-7] for e in entries}


def test_rank_new_scores_outside_papers_and_caches_their_vectors(
    data_dir: Path, tmp_path: Path
) -> None:
    from kg.core.alerts import NewPaper
    from kg.core.model import Paper
    from kg.graph.knowledge import KnowledgeGraph
    from kg.recommend.watch import rank_new
    from kg.text.embed import FakeEmbedder

    kg = KnowledgeGraph.load(Settings(data_dir=data_dir))
    by_title = {p.title: pid for pid, p in kg.papers.items()}
    read = [by_title["Attention Is All You Need"], by_title["Computing Machinery and Intelligence"]]
    close = NewPaper(
        Paper("a" * 40, "Attention is all you need, again", abstract="Attention transformers."),
        (read[0],),
    )
    far = NewPaper(Paper("b" * 40, "Soil moisture in alpine meadows", year=2026), tuple(read))
    embedder = FakeEmbedder(dim=16)
    first = rank_new(kg, read, [far, close], embedder=embedder, cache_dir=tmp_path)
    scores = [i.score for i in first]
    assert scores == sorted(scores, reverse=True)
    by_id = {i.paper_id: i for i in first}
    assert by_id["b" * 40].reasons[0] == (
        "cites 2 papers of your list: Vaswani et al. 2017, Turing 1950"
    )
    assert "close in text to your list" in by_id["a" * 40].reasons[1]
    assert "most to Vaswani et al. 2017" in by_id["a" * 40].reasons[1]
    assert all(0 < i.score <= 1 for i in first)
    assert embedder.texts_embedded == 2
    again = rank_new(kg, read, [far, close], embedder=embedder, cache_dir=tmp_path)
    assert embedder.texts_embedded == 2 and again == first  # vectors from the cache
    assert rank_new(kg, read, [], embedder=embedder) == []
    # without an embedder only the citation evidence ranks (two cited beat one)
    plain = rank_new(kg, read, [close, far])
    assert [i.paper_id for i in plain] == ["b" * 40, "a" * 40]
    assert all(len(i.reasons) == 1 for i in plain)
