"""Ingestion benchmark: API calls against the lower bound, paced wall time, kill + resume.

Runs the bundled seed page against the local S2 server (world built from the
real records in ../shared; its citation edges are synthetic). Prints Markdown.

    python -m tests.bench ingest
"""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ingest.crawl import CrawlPolicy
from ingest.pipeline import run_ingest
from ingest.s2 import ResponseCache, S2Client
from kg.corpus import CorpusStore
from kg.settings import Settings
from tests.conftest import REPO, SHARED
from tests.s2server import S2Server
from tests.s2world import World, build_world

POLICY = CrawlPolicy(depth=1, max_references=100, max_citations=100)


def _settings(url: str, data_dir: Path, interval: float) -> Settings:
    return Settings(
        data_dir=data_dir,
        s2_api_url=url,
        s2_min_interval=interval,
        s2_backoff=0.5,
        s2_backoff_max=5.0,
    )


def _ingest(url: str, data_dir: Path, interval: float = 0.0) -> Any:
    settings = _settings(url, data_dir, interval)
    with S2Client(settings) as client:
        return run_ingest(settings=settings, client=client, policy=POLICY, progress=False)


def lower_bound(data_dir: Path) -> tuple[int, int, int]:
    """(papers with details, bound on calls, neighbourhood entries)."""
    db = sqlite3.connect(data_dir / "corpus.sqlite")
    detailed = db.execute("SELECT count(*) FROM papers WHERE detail = 2").fetchone()[0]
    totals = [r[0] for r in db.execute("SELECT total FROM neighbourhoods")]
    db.close()
    pages = sum(max(1, math.ceil(t / 1000)) for t in totals)
    return detailed, math.ceil(detailed / 500) + pages, sum(totals)


def bench_calls(world: World) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp, S2Server(world) as srv:
        started = time.perf_counter()
        summary = _ingest(srv.url, Path(tmp))
        seconds = time.perf_counter() - started
        papers, bound, entries = lower_bound(Path(tmp))
        calls = len(srv.calls)
        by = dict(srv.counts)
    per_1000 = calls / papers * 1000
    bound_per_1000 = bound / papers * 1000
    return [
        "### API calls per 1,000 papers (depth 1, caps 100/100, unpaced)",
        "",
        "| papers with details | neighbourhood entries | calls made | lower bound | "
        "calls / 1,000 papers | bound / 1,000 papers | ratio (target <= 1.2) |",
        "|---|---|---|---|---|---|---|",
        f"| {papers} | {entries} | {calls} | {bound} | {per_1000:.1f} | "
        f"{bound_per_1000:.1f} | **{calls / bound:.2f}x** |",
        "",
        f"Calls by endpoint: {by}. Seeds resolved {summary.resolved}/{summary.listed}; "
        f"{summary.papers} papers and {summary.citations} edges stored in {seconds:.1f}s. "
        "The lower bound is ceil(N/500) batch calls plus one call per 1,000 entries of each "
        "neighbourhood (at least one per neighbourhood); title matches for the 5 seeds without "
        "an id are extra calls the bound does not count.",
        "",
    ]


def bench_paced(world: World) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp, S2Server(world) as srv:
        srv.faults.pacing(1.0)
        started = time.perf_counter()
        summary = _ingest(srv.url, Path(tmp), interval=1.0)
        seconds = time.perf_counter() - started
        rejected = srv.faults.pacing_rejections
        calls = len(srv.calls)
    return [
        "### Full seed-page ingest against a server paced at 1 request/s",
        "",
        "| calls | 429s from the pacing | wall time | papers | edges |",
        "|---|---|---|---|---|",
        f"| {calls} | {rejected} | {seconds:.1f}s | {summary.papers} | {summary.citations} |",
        "",
    ]


def bench_kill_resume(world: World) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp, S2Server(world) as srv:
        data_dir = Path(tmp)
        env = dict(os.environ, LITKG_DATA_DIR=tmp, S2_API_URL=srv.url, LITKG_S2_MIN_INTERVAL="0.05")
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "ingest", "--no-progress"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while len(srv.calls) < 30 and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before_kill = len(srv.calls)
        cache = ResponseCache(Settings(data_dir=data_dir).cache_path)
        cached = cache.keys()
        cache.close()
        with CorpusStore(data_dir / "corpus.sqlite", create=False) as store:
            intact = store.integrity_ok()
        srv.reset()
        _ingest(srv.url, data_dir)
        refetched = sum(
            ResponseCache.key(c.method, srv.url + c.path, dict(c.query), c.body) in cached
            for c in srv.calls
        )
        after = len(srv.calls)
    return [
        "### Kill mid-way (SIGKILL), then rerun",
        "",
        "| calls before the kill | store intact after kill | calls on rerun | "
        "re-fetched responses |",
        "|---|---|---|---|",
        f"| {before_kill} | {intact} | {after} | **{refetched}** |",
        "",
    ]


def main() -> list[str]:
    if not (SHARED / "corpus").exists():
        return [f"(skipped: {SHARED / 'corpus'} is missing)"]
    world = build_world(SHARED)
    lines = ["## Ingestion (issue 2)", ""]
    lines += bench_calls(world)
    lines += bench_kill_resume(world)
    lines += bench_paced(world)
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
