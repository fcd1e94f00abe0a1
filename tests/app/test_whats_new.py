"""The "What's new" page (AppTest): offline it shows the stored results of `litkg watch`
and says how to run it; with S2 reachable it runs a watch from a form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kg.core.settings import Settings
from kg.recommend.watch import WatchItem, WatchRun, WatchState
from tests.app.conftest import APP, HOSTILE_TITLE
from tests.app.test_pages import ok, texts
from tests.s2server import S2Server
from tests.s2world import WATCH_CITING, watch_world

PAGE = APP / "pages" / "7_Whats_new.py"


def run_page() -> AppTest:
    return ok(AppTest.from_file(str(PAGE), default_timeout=30).run())


def test_offline_without_results_says_how_to_run(data_dir: Path) -> None:
    at = run_page()
    assert "Offline" in texts(at) and "No alerts yet" in texts(at)
    assert any(c.value.startswith("litkg watch") for c in at.code)


def test_offline_shows_stored_results_as_text(data_dir: Path) -> None:
    item = WatchItem(
        paper_id="e" * 40,
        title=HOSTILE_TITLE,
        year=2026,
        publication_date="2026-02-14",
        venue="arXiv.org",
        authors=("Ada Example",),
        url="https://www.semanticscholar.org/paper/" + "e" * 40,
        score=0.75,
        reasons=("cites 2 papers of your list: Vaswani et al. 2017, Turing 1950",),
        cites=("a", "b"),
    )
    state = WatchState.load(Settings(data_dir=data_dir))
    state.record(WatchRun("2026-12-06T09:00:00+00:00", "core", "2025", 2, 1, (item,)))
    at = run_page()
    shown = texts(at)
    assert "1 new paper citing core since 2025" in shown
    assert "cites 2 papers of your list: Vaswani et al. 2017, Turing 1950" in shown
    heading = next(m.value for m in at.markdown if "Probing" in m.value)
    # the hostile title is escaped Markdown inside one link to the S2 page
    assert "\\<script\\>" in heading and "(https://www.semanticscholar.org/paper/" in heading
    assert "No alerts yet" not in shown


@pytest.fixture
def online(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S2Server]:
    with S2Server(watch_world()) as srv:
        monkeypatch.delenv("LITKG_APP_OFFLINE", raising=False)
        monkeypatch.setenv("S2_API_URL", srv.url)
        monkeypatch.setenv("LITKG_S2_MIN_INTERVAL", "0")
        yield srv


def test_online_runs_a_watch(online: S2Server, data_dir: Path) -> None:
    at = run_page()
    assert "No alerts yet" in texts(at) and "Offline" not in texts(at)
    at.text_input(key="watch_since").input("2024")
    at.button[0].click().run()  # the form's submit button
    ok(at)
    shown = texts(at)
    assert "4 new papers citing seeds" in shown
    for key in ("w2024", "w2025a", "w2026a"):
        assert WATCH_CITING[key][0] in shown
    assert online.counts["citations"] >= 3
    assert len(WatchState.load(Settings(data_dir=data_dir)).shown) == 4
