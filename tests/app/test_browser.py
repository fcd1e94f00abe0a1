"""End to end in a real browser: ``litkg app`` served on 127.0.0.1 over the small graph,
driven by Playwright (sync API) in Chromium: every page opens, a search finds and opens a
paper (and a hostile title stays text), the citation graph moves on a click, the
recommender answers and adds to a list in one click, the list exports BibTeX, a SPARQL
query runs; the SPARQL editor highlights an example loaded into it, runs it, shows the
table and downloads CSV; the What's new page shows stored alerts. Screenshots go to
tests/artifacts/ (git-ignored).

Needs Chromium at /usr/bin/chromium (``.ci/install-browser`` installs Debian's); skipped
with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import ARTIFACTS, HOSTILE_TITLE

CHROMIUM = Path(os.environ.get("LITKG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ARTIFACTS / "browser"
#: The data dir each running app serves, by its URL.
APP_DATA: dict[str, Path] = {}
ATTENTION = "Attention Is All You Need"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: run .ci/install-browser (apt-get install chromium)",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"litkg app exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"litkg app did not answer at {url} within {timeout:.0f}s")


@pytest.fixture(scope="module")
def app_url(built_graph: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``litkg app`` on a free port over a private copy of the small graph."""
    data = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(built_graph, data)
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("S2_API_KEY", "SEMANTIC_SCHOLAR_API_KEY")
    }
    env.update(
        LITKG_DATA_DIR=str(data),
        LITKG_EMBED_BACKEND="fake",
        LITKG_APP_OFFLINE="1",
        S2_API_URL="http://127.0.0.1:9",
        PYTHONWARNINGS="ignore",
        LITKG_APP_PORT=str(port),  # how `make run` chooses the port
    )
    log = (tmp_path_factory.getbasetemp() / "litkg-app.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "app"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as one below
    )
    url = f"http://127.0.0.1:{port}"
    APP_DATA[url] = data
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 2600}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    yield pg
    report = getattr(request.node, "rep_call", None)  # set by tests/app/conftest.py
    if report is not None and report.failed:
        pg.screenshot(path=str(SHOTS / f"failed-{request.node.name}.png"))
    context.close()


def shot(page: Any, name: str) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def settle(page: Any) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(300)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=30_000)


def no_errors(page: Any) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.inner_text("body")


def search(page: Any, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.fill(text)
    box.press("Enter")
    settle(page)


def choose(page: Any, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option).first.click()
    settle(page)


def test_every_page_and_the_main_flows(app_url: str, page: Any) -> None:
    started = time.perf_counter()
    # -- overview
    page.goto(app_url)
    page.get_by_text("Papers per year by topic").wait_for(timeout=60_000)
    page.locator("[data-testid=stVegaLiteChart] g.mark-symbol path").first.wait_for()
    metric = page.locator("[data-testid=stMetricValue]").first.inner_text()
    assert metric == "10"
    page.get_by_text("papers from Semantic Scholar (last fetched").wait_for()
    no_errors(page)
    shot(page, "01-overview")

    # -- explore: open a paper by selecting its row in the results table
    page.goto(app_url + "/Explore")
    grid = page.locator("[data-testid=stDataFrame]").first
    grid.wait_for()
    page.wait_for_timeout(500)
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + 52)  # the first row's selection cell
    settle(page)
    page.get_by_text("Abstract", exact=True).wait_for()
    # -- search, open a paper
    search(page, "Search", "attention")
    page.get_by_text("1 paper match").wait_for()
    choose(page, "Open a paper", f"Vaswani et al. 2017 - {ATTENTION}")
    page.get_by_role("heading", name=ATTENTION).wait_for()
    page.get_by_role("tab", name="Cited by (7)").wait_for()
    no_errors(page)
    shot(page, "02-explore-paper")

    # -- the citation graph: click a neighbour (an SVG mark, labelled by vega) to move to it
    chart = page.locator("[data-testid=stVegaLiteChart]").last
    neighbour = chart.locator("g.mark-symbol path[aria-label*='Computing Machinery']").first
    neighbour.wait_for()
    shot(page, "03-citation-graph")
    neighbour.click()
    settle(page)
    page.get_by_role("heading", name="Computing Machinery and Intelligence").wait_for()
    no_errors(page)
    # the fallback: pick a neighbour in the list
    choose(page, "Move to", ATTENTION)
    page.get_by_role("heading", name=ATTENTION).wait_for()

    # -- a hostile title renders as text
    search(page, "Search", "protein")
    page.get_by_placeholder("Choose one of the results…").wait_for()  # new results are in
    choose(page, "Open a paper", f"Example 2021 - {HOSTILE_TITLE}")
    heading = page.get_by_role("heading", level=3, name=HOSTILE_TITLE, exact=True)
    heading.wait_for()  # the raw text, markup and all, is the heading's text
    assert page.locator("h3 b, h3 script, h3 strong").count() == 0
    hrefs = page.locator("h3 a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert all(h.startswith("#") for h in hrefs)  # only Streamlit's own heading anchor
    assert not page.dialogs
    shot(page, "04-hostile-title")

    # -- read next: start from a seed-page paper in one click, get recommendations, add one
    page.goto(app_url + "/Read_next")
    page.get_by_text("Start from the papers of your seed page").wait_for()
    page.get_by_role("button", name=f"Vaswani et al. 2017 - {ATTENTION}").click()
    settle(page)
    page.get_by_text("recommendations from").wait_for()
    assert page.get_by_text("Start from the papers of your seed page").count() == 0
    no_errors(page)
    shot(page, "05-read-next")
    page.get_by_role("button", name="Add to list").first.click()
    page.get_by_text("Added to Reading list").wait_for()

    # -- the reading list: the paper is there; export BibTeX
    page.goto(app_url + "/Reading_list")
    page.get_by_text("1 paper ·").wait_for()
    with page.expect_download() as info:
        page.get_by_role("button", name="BibTeX").click()
    download = info.value
    target = SHOTS / "reading-list.bib"
    download.save_as(str(target))
    bib = target.read_text(encoding="utf-8")
    assert bib.lstrip().startswith("@") and "title" in bib
    no_errors(page)
    shot(page, "06-reading-list")

    # -- SPARQL: run the canned query
    page.goto(app_url + "/SPARQL")
    page.get_by_role("button", name="Run query").click()
    page.get_by_text("rows in").wait_for()
    no_errors(page)
    shot(page, "07-sparql")

    # -- topics and status open cleanly
    page.goto(app_url + "/Topics")
    page.get_by_text("Topic tree").wait_for()
    no_errors(page)
    shot(page, "08-topics")
    page.goto(app_url + "/Status")
    page.get_by_text("Data directory").wait_for()
    page.get_by_text("not reachable").wait_for()
    no_errors(page)
    shot(page, "09-status")
    assert time.perf_counter() - started < 90


def test_sparql_editor_and_whats_new(app_url: str, page: Any) -> None:
    from kg.core.settings import Settings
    from kg.recommend.watch import WatchItem, WatchRun, WatchState

    # -- the SPARQL editor: an example loads into it, highlighted; it runs; a table; CSV
    page.goto(app_url + "/SPARQL")
    editor = page.frame_locator("iframe[title*='code_editor']").locator(".ace_editor")
    editor.wait_for(timeout=60_000)
    page.get_by_text("If no editor appears").wait_for()
    choose(page, "Example query", "Named graphs and their provenance (graphs)")
    content = editor.locator(".ace_content")
    content.get_by_text("GRAPH", exact=False).first.wait_for()
    assert editor.locator(".ace_keyword").count() > 3  # Ace's SPARQL mode
    assert "prov:" in content.inner_text() or "GRAPH" in content.inner_text()
    shot(page, "10-sparql-editor")
    page.get_by_role("button", name="Run query").click()
    page.get_by_text("rows in").wait_for()
    page.locator("[data-testid=stDataFrame]").first.wait_for()
    assert page.get_by_text("1 rows in").count() == 0  # several graphs
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    target = SHOTS / "query-results.csv"
    info.value.save_as(str(target))
    header = target.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("graph") or "," in header
    no_errors(page)
    # typing in the editor and Ctrl+Enter runs what is on screen
    editor.locator(".ace_text-input").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("SELECT (COUNT(*) AS ?papers) WHERE { ?p dcterms:title ?t }")
    page.keyboard.press("Control+Enter")
    page.get_by_text("1 rows in").wait_for()
    no_errors(page)
    shot(page, "11-sparql-typed")

    # -- What's new: the stored alerts of `litkg watch` (offline: and how to run it)
    item = WatchItem(
        paper_id="f" * 40,
        title="Rules & <Heads>: Association Rules Mined from Attention",
        year=2026,
        publication_date="2026-02-14",
        venue="arXiv.org",
        authors=("Watch Author",),
        url="https://www.semanticscholar.org/paper/" + "f" * 40,
        score=0.8,
        reasons=("cites 3 papers of your seeds: Vaswani et al. 2017, Devlin et al. 2019",),
        cites=("a", "b", "c"),
    )
    state = WatchState.load(Settings(data_dir=APP_DATA[app_url]))
    state.record(WatchRun("2026-12-06T09:00:00+00:00", "seeds", "2025", 4, 1, (item,)))
    page.goto(app_url + "/Whats_new")
    page.get_by_text("1 new paper citing seeds since 2025").wait_for()
    page.get_by_role(
        "link", name="Rules & <Heads>: Association Rules Mined from Attention"
    ).wait_for()
    page.get_by_text("cites 3 papers of your seeds").wait_for()
    page.get_by_text("litkg watch --list NAME").wait_for()
    no_errors(page)
    shot(page, "12-whats-new")
