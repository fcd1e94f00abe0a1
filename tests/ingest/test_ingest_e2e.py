"""End to end: `litkg ingest` of the bundled seed page against the local S2 server.

The server's world is built from the real records in ../shared/corpus (citation
edges there are synthetic and labelled so). Fault-injection runs must end with
the same corpus as a clean run; a run killed mid-way resumes without
re-fetching anything.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import app
from ingest.crawl import CrawlPolicy
from ingest.errors import S2Unavailable, SourceError
from ingest.pipeline import run_ingest
from ingest.s2 import ResponseCache, S2Client
from kg.core.settings import Settings
from kg.store.corpus import CorpusStore
from tests.conftest import REPO, SHARED
from tests.s2server import S2Server
from tests.s2world import World, build_world, small_world

POLICY = CrawlPolicy(depth=1, max_references=40, max_citations=40)


@pytest.fixture(scope="module")
def world() -> World:
    if not (SHARED / "corpus").exists():
        pytest.skip(f"real data not available: {SHARED / 'corpus'} is missing")
    return build_world(SHARED)


@pytest.fixture
def server(world: World) -> Iterator[S2Server]:
    with S2Server(world) as srv:
        yield srv


def settings_for(url: str, data_dir: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "s2_api_url": url,
        "s2_min_interval": 0.0,
        "s2_backoff": 0.05,
        "s2_backoff_max": 0.2,
        "s2_timeout": 5.0,
    }
    base.update(kw)
    return Settings(**base)


def ingest(url: str, data_dir: Path, **kw: Any) -> Any:
    settings = settings_for(url, data_dir, **kw)
    with S2Client(settings) as client:
        return run_ingest(settings=settings, client=client, policy=POLICY, progress=False)


def snapshot(data_dir: Path) -> dict[str, Any]:
    with CorpusStore(data_dir / "corpus.sqlite", create=False) as store:
        return {
            "papers": {p.paper_id: p for p in store.papers()},
            "citations": set(store.citations()),
            "seeds": [(s.position, s.status, s.paper_id) for s in store.seeds()],
        }


@pytest.fixture(scope="module")
def module_server(world: World) -> Iterator[S2Server]:
    with S2Server(world) as srv:
        yield srv


@pytest.fixture(scope="module")
def clean_run(module_server: S2Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir = tmp_path_factory.mktemp("clean")
    module_server.reset()
    summary = ingest(module_server.url, data_dir)
    calls = len(module_server.calls)
    return {"summary": summary, "snapshot": snapshot(data_dir), "calls": calls, "dir": data_dir}


def test_every_seed_resolves_to_the_expected_paper(clean_run: dict[str, Any], world: World) -> None:
    summary = clean_run["summary"]
    assert summary.listed == 22
    assert summary.resolved == 22, summary.lines()
    assert not summary.unresolved and not summary.low_confidence
    expected = {s["paperId"] for s in world.meta["seeds"]}
    got = {pid for _, status, pid in clean_run["snapshot"]["seeds"]}
    assert got == expected


def test_neighbourhood_is_stored_with_caps(clean_run: dict[str, Any], world: World) -> None:
    snap = clean_run["snapshot"]
    hub = world.meta["hub"]
    hub_id = hub if isinstance(hub, str) else hub["paperId"]
    citing_hub = {c.citing for c in snap["citations"] if c.cited == hub_id}
    # The hub is cited >1,000 times in the world; the cap keeps 40 new citing papers.
    db = sqlite3.connect(clean_run["dir"] / "corpus.sqlite")
    kept = db.execute(
        "SELECT kept FROM neighbourhoods WHERE paper_id = ? AND direction = 'citations'", (hub_id,)
    ).fetchone()[0]
    db.close()
    assert kept == 40
    # Closing the neighbourhood links every paper of the corpus that cites the hub.
    in_world = {e["citingPaperId"] for e in world.edges if e.get("citedPaperId") == hub_id}
    assert citing_hub == in_world & set(snap["papers"])
    assert len(snap["papers"]) > 500 and len(snap["citations"]) > 1000
    with_context = [c for c in snap["citations"] if c.contexts]
    assert with_context and sum(bool(c.intents) for c in with_context) > len(with_context) // 2
    assert any(c.is_influential for c in snap["citations"])
    full = [p for p in snap["papers"].values() if p.abstract]
    assert len(full) > 300


def test_summary_reports_calls_and_time(clean_run: dict[str, Any]) -> None:
    text = "\n".join(clean_run["summary"].lines())
    assert "Seeds resolved: 22 / 22" in text
    assert "API calls:" in text and "Stored:" in text
    assert "Skipped 20 links that are not papers: 13 wiki cross-link" in text


def test_rerun_is_served_from_cache(clean_run: dict[str, Any], module_server: S2Server) -> None:
    module_server.reset()
    summary = ingest(module_server.url, clean_run["dir"])
    assert len(module_server.calls) == 0
    assert summary.api_calls == 0 and summary.edges_added == 0 and summary.papers_added == 0
    assert snapshot(clean_run["dir"]) == clean_run["snapshot"]


def test_faults_end_with_the_same_corpus(
    clean_run: dict[str, Any], server: S2Server, tmp_path: Path
) -> None:
    faults = server.faults
    faults.rate_limit(times=2, retry_after=1, endpoint="batch")
    faults.rate_limit(times=3, endpoint="citations")
    faults.error(500, times=2, endpoint="references")
    faults.error(502, times=1, endpoint="batch", after=1)
    faults.error(503, times=2, endpoint="citations", after=5)
    faults.slow(1.5, times=1, endpoint="references", after=3)
    faults.malformed(times=2, endpoint="references", after=6)
    faults.null_in_batch(indices=(0, 3), times=1)
    summary = ingest(server.url, tmp_path, s2_timeout=0.8)
    assert summary.retries >= 10
    assert not faults.pending()
    assert snapshot(tmp_path) == clean_run["snapshot"]


def test_paced_server_429s_are_absorbed(
    clean_run: dict[str, Any], server: S2Server, tmp_path: Path
) -> None:
    server.faults.pacing(0.05)
    ingest(server.url, tmp_path, s2_min_interval=0.0)
    assert server.faults.pacing_rejections > 0
    assert snapshot(tmp_path) == clean_run["snapshot"]


def test_killed_run_resumes_without_refetching(
    clean_run: dict[str, Any], server: S2Server, tmp_path: Path
) -> None:
    env = dict(os.environ)
    env.update(
        LITKG_DATA_DIR=str(tmp_path),
        S2_API_URL=server.url,
        LITKG_S2_MIN_INTERVAL="0.02",
    )
    cmd = [
        sys.executable,
        "-m",
        "app.cli",
        "ingest",
        "--no-progress",
        "--max-references",
        "40",
        "--max-citations",
        "40",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(server.calls) < 25 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    answered = [c for c in server.calls if c.status in (200, 404)]
    assert 0 < len(answered) < clean_run["calls"], "the kill should land mid-way"
    with CorpusStore(tmp_path / "corpus.sqlite", create=False) as store:
        assert store.integrity_ok()
    cache = ResponseCache(Settings(data_dir=tmp_path).cache_path)
    cached = cache.keys()
    cache.close()

    def key(c: Any) -> str:
        return ResponseCache.key(c.method, server.url + c.path, dict(c.query), c.body)

    # Every answer the killed run received is on disk, bar at most the one in flight.
    assert len({key(c) for c in answered} - cached) <= 1
    server.reset()
    ingest(server.url, tmp_path)
    refetched = [c.path for c in server.calls if key(c) in cached]
    assert refetched == [], "a response fetched before the kill was fetched again"
    assert snapshot(tmp_path) == clean_run["snapshot"]


def test_unreachable_api_names_url_and_setting_and_keeps_the_store(
    clean_run: dict[str, Any], tmp_path: Path
) -> None:
    import shutil

    data_dir = tmp_path / "copy"
    shutil.copytree(clean_run["dir"], data_dir)
    settings = settings_for("http://127.0.0.1:9", data_dir)
    with S2Client(settings, refresh_older_than=0.0) as client, pytest.raises(S2Unavailable) as err:
        run_ingest(settings=settings, client=client, policy=POLICY, progress=False)
    assert "http://127.0.0.1:9" in str(err.value) and "S2_API_URL" in str(err.value)
    assert snapshot(data_dir)["papers"] == clean_run["snapshot"]["papers"]


def test_cli_ingest_and_status(server: S2Server, tmp_path: Path) -> None:
    env = {"LITKG_DATA_DIR": str(tmp_path), "S2_API_URL": server.url, "LITKG_S2_MIN_INTERVAL": "0"}
    runner = CliRunner()
    result = runner.invoke(
        app, ["ingest", "--depth", "0", "--no-progress"], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Seeds resolved: 22 / 22" in result.output
    status = runner.invoke(app, ["status", "--format", "json"], env=env)
    data = json.loads(status.output)
    assert data["seeds"] == 22 and data["seeds_resolved"] == 22 and data["papers"] >= 22
    text = runner.invoke(app, ["status"], env=env).output
    assert "Seeds: 22 listed: 22 resolved" in text


def test_cli_errors_are_one_clear_line(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"LITKG_DATA_DIR": str(tmp_path / "empty"), "S2_API_URL": "http://127.0.0.1:9"}
    result = runner.invoke(app, ["status"], env=env)
    assert result.exit_code == 2 and "litkg ingest" in result.output
    page = tmp_path / "empty.txt"
    page.write_text("====== Nothing ======\nNo links here.\n")
    result = runner.invoke(app, ["ingest", str(page), "--no-progress"], env=env)
    assert result.exit_code == 2 and "no paper" in result.output.lower()
    assert "Traceback" not in result.output
    bib = tmp_path / "notbib.bib"
    bib.write_text("this is not bibtex at all\n")
    result = runner.invoke(app, ["ingest", str(bib), "--no-progress"], env=env)
    assert result.exit_code == 2 and "notbib.bib" in result.output


# --------------------------------------------------------------------------- small world


@pytest.fixture
def small_server() -> Iterator[S2Server]:
    with S2Server(small_world()) as srv:
        yield srv


def test_unknown_ids_and_low_confidence_titles_are_reported(
    small_server: S2Server, tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("ARXIV:2101.99999\nDOI:10.9999/nope\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Reading\n- [Completely unrelated made-up title zebra](https://example.org/x)\n"
    )
    settings = settings_for(small_server.url, tmp_path / "data")
    with S2Client(settings) as client:
        summary = run_ingest(
            [ids, page],
            settings=settings,
            client=client,
            progress=False,
            policy=CrawlPolicy(depth=0),
        )
    reasons = [u["reason"] for u in summary.unresolved + summary.low_confidence]
    assert summary.resolved == 0 and len(reasons) == 3
    assert any("ARXIV:2101.99999" in r and "check the id" in r for r in reasons)


def test_bibtex_offline_then_online_enriches_without_duplicates(
    small_server: S2Server, tmp_path: Path
) -> None:
    world = small_server.world
    record = next(p for p in world.papers.values() if (p.get("externalIds") or {}).get("ArXiv"))
    arxiv = record["externalIds"]["ArXiv"]
    bib = tmp_path / "lib.bib"
    bib.write_text(
        "@article{k1, title={" + record["title"] + "}, author={Doe, Jane}, year={2023},"
        " eprint={" + arxiv + "}, archiveprefix={arXiv}, keywords={circuits, favourite}}\n"
    )
    settings = settings_for(small_server.url, tmp_path / "data")
    offline = run_ingest([bib], settings=settings, offline=True, progress=False)
    assert offline.offline == 1 and small_server.calls == []
    with CorpusStore(settings.corpus_path) as store:
        (local,) = list(store.papers())
        assert not local.resolved and local.tags == ("circuits", "favourite")
    with S2Client(settings) as client:
        online = run_ingest(
            [bib], settings=settings, client=client, progress=False, policy=CrawlPolicy(depth=0)
        )
    assert online.resolved == 1
    with CorpusStore(settings.corpus_path) as store:
        papers = list(store.papers())
        assert len(papers) == 1
        (paper,) = papers
        assert paper.resolved and paper.paper_id == record["paperId"]
        assert set(paper.tags) == {"circuits", "favourite"}
        assert store.lookup(local.paper_id) == paper.paper_id


def test_specter2_vectors_are_stored_from_resolve_and_crawl(
    small_server: S2Server, tmp_path: Path
) -> None:
    """SPECTER2, not SPECTER, for a seed (resolved one by one) and for a neighbour fetched in
    a batch; the server answers a bare ``embedding`` field with SPECTER (v1)."""
    world = small_server.world
    by_title = {p["title"]: p for p in world.papers.values()}
    attention = by_title["Attention Is All You Need"]  # SPECTER and SPECTER2, BERT cites it
    induction = by_title["In-context Learning and Induction Heads"]  # SPECTER2 only
    assert attention["embeddings"]["specter_v1"] != attention["embeddings"]["specter_v2"]
    ids = tmp_path / "ids.txt"
    ids.write_text("ARXIV:1810.04805\nARXIV:2209.11895\n")  # BERT, induction heads
    settings = settings_for(small_server.url, tmp_path / "data")
    with S2Client(settings) as client:
        run_ingest(
            [ids], settings=settings, client=client, progress=False, policy=CrawlPolicy(depth=1)
        )
    assert small_server.calls_to("batch")  # the neighbour came in a batch
    with CorpusStore(settings.corpus_path) as store:
        for record in (attention, induction):
            stored = store.specter(record["paperId"])
            assert stored is not None, record["title"]
            expected = np.asarray(record["embeddings"]["specter_v2"], dtype=np.float32)
            np.testing.assert_array_equal(stored, expected)
        assert store.status().with_specter == 2


def test_fallback_offline_when_s2_is_down(tmp_path: Path) -> None:
    bib = tmp_path / "lib.bib"
    bib.write_text("@misc{k, title={A blog post about circuits}, author={Doe, J.}, year={2024}}\n")
    settings = settings_for("http://127.0.0.1:9", tmp_path / "data")
    with S2Client(settings) as client:
        with pytest.raises(S2Unavailable):
            run_ingest([bib], settings=settings, client=client, progress=False)
        summary = run_ingest(
            [bib], settings=settings, client=client, progress=False, fallback_offline=True
        )
    assert summary.offline == 1


def test_no_source_and_no_bundled_list_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import ingest.pipeline as pipeline

    monkeypatch.setattr(pipeline, "BUNDLED_SEEDS", tmp_path / "nothing")
    with pytest.raises(SourceError, match="litkg ingest FILE"):
        pipeline.default_sources()


def test_low_confidence_title_match_is_reported_not_accepted(tmp_path: Path) -> None:
    world = small_world()
    title = next(iter(world.papers.values()))["title"]
    page = tmp_path / "page.md"
    garbled = " ".join(title.split()[: max(2, len(title.split()) // 2)]) + " and other stories"
    page.write_text(f"# Reading\n- [{garbled}](https://example.org/x)\n")
    with S2Server(world, match_threshold=0.2) as srv:
        settings = settings_for(srv.url, tmp_path / "data")
        with S2Client(settings) as client:
            summary = run_ingest(
                [page],
                settings=settings,
                client=client,
                progress=False,
                policy=CrawlPolicy(depth=0),
            )
    assert summary.resolved == 0 and len(summary.low_confidence) == 1
    row = summary.low_confidence[0]
    assert "not accepted" in row["reason"] and row["candidate"] and row["score"] < 0.85
    with CorpusStore(settings.corpus_path) as store:
        (seed,) = store.seeds()
        assert seed.status == "low_confidence" and store.paper_count() == 0


def test_depth_two_stays_within_the_paper_budget(small_server: S2Server, tmp_path: Path) -> None:
    world = small_server.world
    ids = tmp_path / "ids.txt"
    ids.write_text(next(iter(world.papers)) + "\n")
    settings = settings_for(small_server.url, tmp_path / "data")
    with S2Client(settings) as client:
        one = run_ingest(
            [ids],
            settings=settings,
            client=client,
            progress=False,
            policy=CrawlPolicy(depth=1, max_references=2, max_citations=2),
        )
    with S2Client(settings) as client:
        two = run_ingest(
            [ids],
            settings=settings,
            client=client,
            progress=False,
            policy=CrawlPolicy(
                depth=2, max_references=2, max_citations=2, paper_budget=one.papers + 3
            ),
        )
    assert one.papers < two.papers <= one.papers + 3
    assert two.crawl["anchors"] > 0  # depth 2 fetched the neighbours' neighbourhoods


# --------------------------------------------------------------------------- closed + widened


def test_neighbourhood_is_closed_and_widened_by_cocitation(
    clean_run: dict[str, Any], module_server: S2Server, world: World, tmp_path: Path
) -> None:
    snap = clean_run["snapshot"]
    papers = set(snap["papers"])
    edges = {(c.citing, c.cited) for c in snap["citations"]}
    in_world = {
        (e["citingPaperId"], e["citedPaperId"]) for e in world.edges if e.get("citedPaperId")
    }
    # Closed: every edge of the world between two corpus papers is stored, and no other.
    assert edges == {(a, b) for a, b in in_world if a in papers and b in papers}

    # Widened: the same run without co-citation, then what co-citation added.
    settings = settings_for(module_server.url, tmp_path)
    module_server.reset()
    with S2Client(settings) as client:
        plain = run_ingest(
            settings=settings,
            client=client,
            policy=CrawlPolicy(depth=1, max_references=40, max_citations=40, cocited_max=0),
            progress=False,
        )
    plain_calls = len(module_server.calls)
    before = set(snapshot(tmp_path)["papers"])
    added = papers - before
    assert before < papers and len(added) == clean_run["summary"].crawl["cocited_added"] == 300
    seeds = {pid for _, _, pid in snap["seeds"]}
    citers = {s: {a for a, b in in_world if b == s and a in before} for s in seeds}

    def cocited(paper: str) -> int:
        return max(sum((c, paper) in in_world for c in cs) for cs in citers.values())

    counts = {p: cocited(p) for p in added}
    assert min(counts.values()) >= POLICY.cocited_min
    # The cap keeps the most co-cited: nothing left out is co-cited more than what was kept.
    left_out = {b for a, b in in_world if a in before and b not in papers}
    assert max(cocited(p) for p in left_out) <= min(counts.values())
    # Widening costs two batch calls here: the 300 papers' details and reference lists.
    assert plain.papers == len(before)
    assert clean_run["calls"] - plain_calls == 2


def test_seed_page_offline_then_online_keeps_sections_without_duplicates(
    server: S2Server, world: World, tmp_path: Path
) -> None:
    """S2 unreachable: every listing of the bundled seed page becomes a local paper (title,
    year, arXiv id, section); a later online run folds each into its S2 record."""
    data_dir = tmp_path / "data"
    down = settings_for("http://127.0.0.1:9", data_dir, s2_max_retries=0)
    with S2Client(down) as client:
        offline = run_ingest(
            settings=down, client=client, policy=POLICY, progress=False, fallback_offline=True
        )
    assert offline.offline == 22 and offline.listed == 22 and not offline.unresolved
    assert "22 kept offline as local papers" in "\n".join(offline.lines())
    with CorpusStore(data_dir / "corpus.sqlite", create=False) as store:
        local = {p.paper_id: p for p in store.papers()}
        seeds = store.seeds()
        sections = {s.position: s.section_path for s in seeds}
        assert store.status().papers_unresolved == 22
    assert len(local) == 22 and all(pid.startswith("local:") for pid in local)
    assert all(not p.resolved and p.title for p in local.values())
    assert {s.status for s in seeds} == {"offline"}
    assert {s.paper_id for s in seeds} == set(local)
    by_title = {p.title: p for p in local.values()}
    ioi = by_title[
        "Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 Small"
    ]
    assert ioi.year == 2022 and ioi.external_ids == {"ArXiv": "2211.00593"}
    induction = by_title["In-context Learning and Induction Heads"]
    assert induction.year == 2022 and induction.url
    assert ("Papers", "Induction Heads") in sections.values()
    assert sum(bool(path) for path in sections.values()) == 21  # one link sits above the sections

    online = ingest(server.url, data_dir)
    assert online.resolved == 22, online.lines()
    snap = snapshot(data_dir)
    expected = {s["paperId"] for s in world.meta["seeds"]}
    assert {pid for _, _, pid in snap["seeds"]} == expected
    assert not [pid for pid in snap["papers"] if pid.startswith("local:")]
    titles = [p.title.lower() for p in snap["papers"].values() if p.paper_id in expected]
    assert len(titles) == len(set(titles)) == 22
    with CorpusStore(data_dir / "corpus.sqlite", create=False) as store:
        assert {s.position: s.section_path for s in store.seeds()} == sections
        for pid in local:
            assert store.lookup(pid) in expected  # the local id still finds the paper

    # S2 down again (the cache bypassed): the resolved corpus is kept, never turned back
    # into local papers.
    with S2Client(down, refresh_older_than=0.0) as client:
        again = run_ingest(
            settings=down, client=client, policy=POLICY, progress=False, fallback_offline=True
        )
    assert again.resolved == 22 and again.offline == 0 and again.papers_added == 0
    after = snapshot(data_dir)
    assert after["papers"] == snap["papers"] and after["citations"] == snap["citations"]
    assert {pid for _, _, pid in after["seeds"]} == expected
    assert {status for _, status, _ in after["seeds"]} == {"resolved"}


def test_a_listing_s2_cannot_resolve_stays_as_a_local_paper(
    small_server: S2Server, tmp_path: Path
) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Reading\n## Circuits\n"
        "- [Qwxz vrrp kjhg: an unheard-of study](https://example.org/qwxz) (2021)\n"
    )
    settings = settings_for(small_server.url, tmp_path / "data")
    with S2Client(settings) as client:
        summary = run_ingest(
            [page], settings=settings, client=client, progress=False, policy=CrawlPolicy(depth=0)
        )
    assert summary.resolved == 0 and len(summary.unresolved) == 1
    with CorpusStore(settings.corpus_path) as store:
        (paper,) = list(store.papers())
        (seed,) = store.seeds()
    assert paper.paper_id.startswith("local:") and not paper.resolved
    assert paper.title == "Qwxz vrrp kjhg: an unheard-of study"
    assert paper.url == "https://example.org/qwxz"
    assert seed.status == "unresolved" and seed.paper_id == paper.paper_id
    assert seed.section_path == ("Circuits",)


def test_make_run_steps_work_without_network(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`make run`'s ingest and build with S2 unreachable and an empty data dir: one line
    says S2 is unreachable, the seed page's papers are kept locally, the build succeeds and
    the data's origin is stated from the store."""
    from kg.views.status import data_origin

    env = {
        "LITKG_DATA_DIR": str(tmp_path / "data"),
        "S2_API_URL": "http://127.0.0.1:9",
        "LITKG_S2_BACKOFF": "0.01",
        "LITKG_EMBED_BACKEND": "fake",
    }
    runner = CliRunner()
    with caplog.at_level(logging.WARNING):
        result = runner.invoke(app, ["ingest", "--fallback-offline", "--no-progress"], env=env)
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "unreachable" in line]
    assert len(said) == 1 and said[0].startswith("S2 unreachable")
    assert "tried 3 times" in said[0]
    assert not [r for r in caplog.records if "could not connect" in r.getMessage()]
    assert "Seeds resolved: 0 / 22 listed (22 kept offline as local papers)" in result.output
    built = runner.invoke(app, ["build", "--no-progress"], env=env)
    assert built.exit_code == 0, built.output
    assert "Papers: 22, citation edges: 0" in built.output
    origin = data_origin(Settings(data_dir=tmp_path / "data"))
    assert origin is not None
    assert origin.startswith(
        "22 local papers from mechanistic-interpretability.dokuwiki.txt, not yet resolved on "
        "Semantic Scholar (kept offline): text only"
    )
    assert "press Refresh" in origin
