"""Full ``litkg build`` benchmark: time per step and peak memory, at 21k and 200k papers.

    nice -n 10 .venv/bin/python -m tests.bench build                 # (reads ../shared)
    nice -n 10 .venv/bin/python -m tests.bench.bench_build --sizes 21223:200000

Each size gets a corpus store generated once under the temp dir
(``litkg-bench/build-<papers>-<edges>/pristine.sqlite``): the REAL titles, abstracts,
authors and venues of ``../shared/corpus/llm-papers.jsonl.gz`` (cycled with a numbered
title past 21,223 papers, so every text is distinct), in publication order, with
SYNTHETIC citations (``tests.bench.bench_graph.generate``: heavy-tailed in-degree, a paper
cites older ones; intents on 30%, influence flags) and 22 highly cited papers listed as
seeds in sections (curated topics).

Every build runs in a fresh child process over a fresh copy of that store, so the peak
resident memory reported (``ru_maxrss``) is the build's own. Steps, in order:

* **first build**: nothing built yet: embeddings, topics, the RDF store (on-disk
  Oxigraph), the load snapshot;
* **again, nothing changed**: what a re-run costs;
* **after a small ingest**: 50 new papers and 300 new citations added to the store, then
  ``build`` again (only the new work should be done).

The text vectors come from :class:`kg.text.embed.FakeEmbedder` (384-d, bag of hashed words):
real MiniLM embedding is benchmarked on its own (``tests.bench.bench_embed``: 21,223
abstracts in 4.7 min with the default backend here); its cache makes re-runs free.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from kg.build import build
from kg.core.model import Citation, Paper
from kg.core.settings import Settings
from kg.store.corpus import DETAIL_FULL, RESOLVED, CorpusStore, SeedRow
from kg.text.embed import FakeEmbedder

ROOT = Path(tempfile.gettempdir()) / "litkg-bench"
DIM = 384
N_SEEDS = 22
SMALL_PAPERS = 50
SMALL_CITATIONS = 300


def _texts(shared: Path) -> list[Paper]:
    from tests.bench.bench_app import _papers

    records = _papers(shared)
    records.sort(key=lambda p: (p.year or 0, p.paper_id))
    return records


def make_corpus(n: int, m: int, shared: Path) -> Path:
    """The pristine corpus store for ``n`` papers and ``m`` citations (made once)."""
    from tests.bench.bench_graph import citations, generate

    root = ROOT / f"build-{n}-{m}"
    pristine = root / "pristine.sqlite"
    if pristine.exists():
        return pristine
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    records = _texts(shared)
    skeleton, citing, cited = generate(n, m, seed=0)
    papers = []
    for i, shell in enumerate(skeleton):
        base = records[i % len(records)]
        lap = i // len(records)
        title = base.title if lap == 0 else f"{base.title} ({lap + 1})"
        ids = base.external_ids if lap == 0 else {}  # an arXiv id names one paper
        papers.append(
            replace(base, paper_id=shell.paper_id, title=title, year=shell.year, external_ids=ids)
        )
    partial = root / "pristine.partial"
    partial.unlink(missing_ok=True)
    with CorpusStore(partial) as store, store.transaction():
        run = store.start_run()
        for p in papers:
            store.upsert_paper(p, detail=DETAIL_FULL, endpoint="bench")
        store.add_citations(citations(citing, cited), endpoint="bench")
        indeg = np.bincount(cited, minlength=n)
        for k, i in enumerate(np.argsort(-indeg, kind="stable")[:N_SEEDS].tolist()):
            p = papers[i]
            section = ("Papers", p.tags[0] if p.tags else "Other")
            store.put_seed(
                SeedRow("bench-seeds.md", k, p.title, RESOLVED, p.paper_id, section_path=section)
            )
        store.finish_run(run, {"sources": ["bench-seeds.md"], "listed": N_SEEDS, "papers": n})
    partial.replace(pristine)
    print(
        f"[build bench] corpus of {n:,} papers, {len(citing):,} citations generated in "
        f"{time.perf_counter() - started:.0f}s",
        file=sys.stderr,
    )
    return pristine


def _small_ingest(settings: Settings, n: int) -> None:
    """50 new papers (newest) and 300 new citations from them to older papers."""
    rng = np.random.default_rng(7)
    with CorpusStore(settings.corpus_path, create=False) as store, store.transaction():
        new = [
            Paper(
                paper_id=format(n + k, "040x"),
                title=f"A new paper on sparse dictionary features, number {k}",
                abstract="We study features learned by sparse autoencoders in new models.",
                year=2026,
                venue="arXiv",
            )
            for k in range(SMALL_PAPERS)
        ]
        for p in new:
            store.upsert_paper(p, detail=DETAIL_FULL, endpoint="bench-small")
        cites = {
            (new[int(rng.integers(SMALL_PAPERS))].paper_id, format(int(rng.integers(n)), "040x"))
            for _ in range(SMALL_CITATIONS * 2)
        }
        store.add_citations(
            [Citation(u, v) for u, v in sorted(cites)[:SMALL_CITATIONS]], endpoint="bench-small"
        )


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


class _RssSampler(threading.Thread):
    """Samples this process's resident memory every 0.2 s (peaks per build step)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self._done = threading.Event()

    def run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._done.wait(0.2):
            rss = int(Path("/proc/self/statm").read_text().split()[1]) * page / 2**20
            self.samples.append((time.perf_counter(), rss))

    def stop(self) -> None:
        self._done.set()
        self.join()

    def per_step(self, started: float, seconds: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        t = started
        for step in ("embeddings", "topics", "rdf", "snapshot", "weights"):
            if step not in seconds:
                continue
            end = t + seconds[step]
            out[step] = max((r for at, r in self.samples if t <= at <= end), default=0.0)
            t = end
        return out


def child(data_dir: Path, step: str, n: int) -> dict[str, Any]:
    """One build in this process (run by :func:`main` in a fresh interpreter)."""
    settings = Settings(data_dir=data_dir, s2_api_url="http://127.0.0.1:9")
    if step == "small":
        _small_ingest(settings, n)
    sampler = _RssSampler()
    started = time.perf_counter()
    sampler.start()
    report = build(settings, embedder=FakeEmbedder(dim=DIM), progress=False)
    wall = time.perf_counter() - started
    sampler.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "step": step,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_mib": usage.ru_maxrss / 1024,
        "papers": report.papers,
        "citations": report.citations,
        "embedded_new": report.embedded_new,
        "triples": report.triples,
        "seconds": report.seconds,
        "step_rss_mib": sampler.per_step(started, report.seconds),
        "rdf_mib": _du(settings.data_dir / "rdf") / 2**20,
        "graph_mib": _du(settings.graph_dir) / 2**20,
    }


def _run_child(data_dir: Path, step: str, n: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tests.bench.bench_build", "--child", str(data_dir), step, str(n)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


STEPS = {
    "first": "first build",
    "again": "again, nothing changed",
    "small": f"after a small ingest (+{SMALL_PAPERS} papers, +{SMALL_CITATIONS} citations)",
}


def _row(size: str, r: dict[str, Any]) -> str:
    s, rss = r["seconds"], r["step_rss_mib"]
    parts = ", ".join(
        f"{k} {s[k]:.1f} s / {rss.get(k, 0) / 1024:.1f} GiB"
        for k in ("embeddings", "topics", "rdf", "snapshot", "weights")
        if k in s
    )
    return (
        f"| {size} | {STEPS[r['step']]} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {parts} | "
        f"{r['maxrss_mib']:,.0f} MiB | {r['embedded_new']:,} | {r['triples'] or 0:,} | "
        f"{r['rdf_mib']:,.0f} MiB |"
    )


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="21223:200000,200000:2000000")
    parser.add_argument("--keep", action="store_true", help="keep the built data dirs")
    args = parser.parse_args(argv if argv is not None else [])
    from tests.conftest import SHARED

    if not (SHARED / "corpus" / "llm-papers.jsonl.gz").exists():
        return ["## build", "", f"skipped: {SHARED}/corpus/llm-papers.jsonl.gz is missing"]
    out = [
        "## build",
        "",
        f"load average at the start: {os.getloadavg()[0]:.1f}",
        "",
        "| papers / citations | build | wall | CPU | steps: time / peak RSS | peak RSS "
        "| embedded | triples | RDF store on disk |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for size in args.sizes.split(","):
        n, m = (int(x) for x in size.split(":"))
        pristine = make_corpus(n, m, SHARED)
        data = ROOT / f"build-{n}-{m}" / "data"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        shutil.copyfile(pristine, data / "corpus.sqlite")
        label = f"{n:,} / {m:,}"
        for step in STEPS:
            result = _run_child(data, step, n)
            out.append(_row(label, result))
            print(out[-1], file=sys.stderr, flush=True)
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    out.append(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return out


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
    else:
        print("\n".join(main(sys.argv[1:])))
