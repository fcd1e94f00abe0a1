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
from dataclasses import replace
from pathlib import Path
from typing import Any

from ingest.crawl import CrawlPolicy
from ingest.pipeline import run_ingest
from ingest.s2 import ResponseCache, S2Client
from kg.core.settings import Settings
from kg.store.corpus import CorpusStore
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
    """(papers with details, bound on calls, neighbourhood entries).

    The least number of calls that fetches what the store holds: ``ceil(N/500)``
    batch calls for the N papers with details; one call per 1,000 entries of each
    paged neighbourhood (at least one per neighbourhood); and, for the reference
    lists closed through ``/paper/batch``, ``max(ceil(lists/500), ceil(items/9,999))``
    calls (items: the nested entries S2 answered), plus one call per 1,000 entries
    of each list that had to be paged from ``/references``.
    """
    db = sqlite3.connect(data_dir / "corpus.sqlite")
    detailed = db.execute("SELECT count(*) FROM papers WHERE detail = 2").fetchone()[0]
    totals = [r[0] for r in db.execute("SELECT total FROM neighbourhoods")]
    lists, items = db.execute(
        "SELECT count(*), coalesce(sum(nested), 0) FROM reference_lists WHERE endpoint = 'batch'"
    ).fetchone()
    # The seeds' lists come with their paged neighbourhood (counted above); only the
    # fallbacks are paged for closing.
    paged = [
        r[0]
        for r in db.execute(
            "SELECT r.nested FROM reference_lists r WHERE r.endpoint = 'references' AND NOT EXISTS"
            " (SELECT 1 FROM neighbourhoods n WHERE n.paper_id = r.paper_id"
            " AND n.direction = 'references')"
        )
    ]
    db.close()
    pages = sum(max(1, math.ceil(t / 1000)) for t in totals)
    closing = max(math.ceil(lists / 500), math.ceil(items / 9_999)) if lists else 0
    closing += sum(max(1, math.ceil(n / 1000)) for n in paged)
    return detailed, math.ceil(detailed / 500) + pages + closing, sum(totals)


#: The policies compared: (label, policy). The first is the behaviour before closing.
POLICIES: tuple[tuple[str, CrawlPolicy], ...] = (
    ("depth 1, not closed", replace(POLICY, close=False, cocited_max=0)),
    ("depth 1, closed", replace(POLICY, cocited_max=0)),
    ("depth 1, closed + co-cited >= 3 (max 300; the default)", POLICY),
    ("depth 1, closed + co-cited >= 3 (no max)", replace(POLICY, cocited_max=20_000)),
    ("depth 2, not closed", replace(POLICY, depth=2, close=False, cocited_max=0)),
    ("depth 2, closed", replace(POLICY, depth=2, cocited_max=0)),
)


def _measure(world: World, policy: CrawlPolicy) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, S2Server(world) as srv:
        settings = _settings(srv.url, Path(tmp), 0.0)
        started = time.perf_counter()
        with S2Client(settings) as client:
            summary = run_ingest(settings=settings, client=client, policy=policy, progress=False)
        seconds = time.perf_counter() - started
        papers, bound, entries = lower_bound(Path(tmp))
        return {
            "summary": summary,
            "seconds": seconds,
            "papers": papers,
            "bound": bound,
            "entries": entries,
            "calls": len(srv.calls),
            "by": dict(srv.counts),
        }


def bench_calls(world: World) -> list[str]:
    lines = [
        "### API calls per 1,000 papers against the lower bound (caps 100/100, unpaced)",
        "",
        "| crawl | papers with details | edges | calls made | lower bound | "
        "calls / 1,000 papers | bound / 1,000 papers | ratio | calls by endpoint |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    for label, policy in POLICIES:
        m = _measure(world, policy)
        rows.append((label, m))
        per_1000 = m["calls"] / m["papers"] * 1000
        bound_per_1000 = m["bound"] / m["papers"] * 1000
        lines.append(
            f"| {label} | {m['papers']} | {m['summary'].citations} | {m['calls']} | "
            f"{m['bound']} | {per_1000:.1f} | {bound_per_1000:.1f} | "
            f"**{m['calls'] / m['bound']:.2f}x** | {m['by']} |"
        )
    base = rows[0][1]
    widened = rows[2][1]["summary"].crawl
    closed = rows[1][1]["summary"].crawl
    lines += [
        "",
        f"Seeds resolved {base['summary'].resolved}/{base['summary'].listed}. "
        f"Closing the depth-1 neighbourhood fetched {closed['closed']} reference lists "
        f"({closed['close_fallbacks']} paged from /references) and added "
        f"{closed['close_edges_added']} edges among the corpus; co-citation found "
        f"{widened['cocited_candidates']} candidates and added {widened['cocited_added']} "
        f"papers. The lower bound is ceil(N/500) batch calls for the N papers with "
        "details, plus one call per 1,000 entries of each paged neighbourhood (at least one "
        "per neighbourhood), plus max(ceil(L/500), ceil(E/9,999)) batch calls for the L "
        "reference lists closed through /paper/batch holding E nested entries, plus one "
        "call per 1,000 entries of each list paged from /references; title matches for the "
        "5 seeds without an id are extra calls the bound does not count.",
        "",
    ]
    return lines


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
