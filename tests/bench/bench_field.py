"""Field-scale benchmark: ``litkg build`` with S2's SPECTER vectors and the approximate
text index, then recommend, on a corpus of 200k papers (1M when asked).

    nice -n 5 .venv/bin/python -m tests.bench field                 # 200k papers
    LITKG_BENCH_FIELD_SIZES=200000,1000000 python -m tests.bench field
    LITKG_BENCH_FIELD_SIZES=1000000 LITKG_BENCH_FIELD_EXACT_MAX=200000 \
        LITKG_BENCH_FIELD_CAP_GIB=21 python -m tests.bench field  # 1M, index path only
    LITKG_BENCH_FIELD_KEEP=/somewhere/big ...  # keep each build; later runs time the reader

With ``LITKG_BENCH_FIELD_KEEP`` each size's built data dir is kept there (``field-<n>``,
with the build's figures in ``build.json``), and a later run with the same setting reuses it
and times only the reader: a 1M build takes ~25 minutes, a change to the recommender none.

The corpus store is :mod:`tests.bench.bench_build`'s (made once under the temp dir: the
REAL texts of ``../shared/corpus/llm-papers.jsonl.gz`` cycled, SYNTHETIC citations, 10
per paper), each paper then given a **synthetic** 768-d "SPECTER" vector (400 clusters
plus noise; S2's scale, norms ~80), as ``litkg snapshot import`` stores the release's
embeddings dataset. A bulk *selection* of that size is not made here: ``bench_bulk``
times ``litkg bulk`` itself, and its 50 seeds at depth 1 select ~2k papers of a 1M
release.

The build runs in a child process over a fresh copy of that store, with the settings'
defaults (``LITKG_TEXT_VECTORS=auto``: SPECTER above 50k papers; the index above 100k),
without the RDF store (at field scale it goes to a SPARQL server by bulk load) and
without fitting the fusion weights; its wall time per step and peak RSS (``ru_maxrss``)
are reported. Then ~50 recommendations (3 random read papers each, k 10) are timed with
the index, and the same with the exact dense product, in one process; the first call of
each is a warm-up (the index is loaded there) and timed apart.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import kg
from kg.build import build
from kg.core.settings import Settings
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.index import RecommendIndex
from kg.recommend.signals import raw_signals
from tests.bench.bench_build import ROOT, _RssSampler, make_corpus
from tests.conftest import REPO

SPECTER_DIM = 768
CLUSTERS = 400
QUERIES = 50
READ = 3


def field_corpus(n: int, shared: Path) -> Path:
    """bench_build's pristine store of ``n`` papers with a synthetic SPECTER vector each
    (made once)."""
    out = ROOT / f"field-{n}" / "pristine.sqlite"
    if out.exists():
        return out
    base = make_corpus(n, 10 * n, shared)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    shutil.copyfile(base, partial)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((CLUSTERS, SPECTER_DIM)).astype(np.float32)
    db = sqlite3.connect(partial)
    ids = [r[0] for r in db.execute("SELECT paper_id FROM papers ORDER BY paper_id")]
    for start in range(0, len(ids), 20_000):
        chunk = ids[start : start + 20_000]
        noise = rng.standard_normal((len(chunk), SPECTER_DIM)).astype(np.float32)
        vecs = 3.0 * (centres[rng.integers(0, CLUSTERS, len(chunk))] + 0.6 * noise)
        db.executemany(
            "UPDATE papers SET specter = ? WHERE paper_id = ?",
            [(v.tobytes(), pid) for v, pid in zip(vecs, chunk, strict=True)],
        )
        db.commit()
    db.close()
    partial.replace(out)
    return out


#: A child whose resident memory passes this many GiB stops (exit status 99): the
#: machine is shared, and a run that big has failed its purpose anyway.
CAP_GIB = float(os.environ.get("LITKG_BENCH_FIELD_CAP_GIB", "16"))
#: Above this many papers the exact path (a dense product over every vector, read through
#: the page cache when mapped) is not timed: only the index path a field-scale reader uses.
EXACT_MAX = int(os.environ.get("LITKG_BENCH_FIELD_EXACT_MAX", "1000000000"))
CAPPED = 99
_ANON = [0.0]  # the highest anonymous RSS (GiB) the cap's watch has seen


def _cap() -> None:
    """Stop this process when its RSS passes :data:`CAP_GIB` (checked twice a second).
    Pages of mapped files (the vector matrices at field scale) are not counted: the
    kernel can drop them."""
    page = os.sysconf("SC_PAGE_SIZE")

    def watch() -> None:
        while True:
            fields = Path("/proc/self/statm").read_text().split()
            rss = (int(fields[1]) - int(fields[2])) * page / 2**30
            _ANON[0] = max(_ANON[0], rss)
            if rss > CAP_GIB:
                print(f"RSS {rss:.1f} GiB passed the cap of {CAP_GIB} GiB", file=sys.stderr)
                os._exit(CAPPED)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


def step_peaks(
    samples: list[tuple[float, float]], started: float, seconds: dict[str, float]
) -> dict[str, float]:
    """Peak RSS (MiB) of each build step from ``(time, MiB)`` samples: the steps are timed
    back to back from the end of the build, and what comes before the first one (reading
    the papers and the SPECTER vectors from the store) is ``read``."""
    steps = [k for k in seconds if k != "total"]
    t = started + seconds["total"]
    out: dict[str, float] = {}
    for k in reversed(steps):
        lo = t - seconds[k]
        out[k] = max((r for at, r in samples if lo <= at <= t), default=0.0)
        t = lo
    out["read"] = max((r for at, r in samples if started <= at <= t), default=0.0)
    return {k: out[k] for k in ("read", *steps)}


def child(data_dir: Path) -> dict[str, Any]:
    """One build in this process (run as a child): its report, peak RSS and the peak of
    each step (RSS sampled every 0.2 s)."""
    _cap()
    settings = Settings.from_env(dict(os.environ, LITKG_DATA_DIR=str(data_dir)))
    sampler = _RssSampler()
    started = time.perf_counter()
    sampler.start()
    report = build(settings, progress=False, rdf=False, tune=False)
    wall = time.perf_counter() - started
    sampler.stop()
    timed = sum(v for k, v in report.seconds.items() if k != "total")
    return {
        "wall": wall,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": {**report.seconds, "read": report.seconds["total"] - timed},
        "step_mib": step_peaks(sampler.samples, started, report.seconds),
        "text_vectors": report.text_vectors,
        "missing": report.text_missing,
        "papers": report.papers,
        "citations": report.citations,
    }


def recommend_child(data_dir: Path) -> dict[str, Any]:
    """:func:`recommend_latency` in this process (run as a child), with its peak RSS:
    what a reader of the graph holds."""
    _cap()
    out = recommend_latency(data_dir)
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["anon_gib"] = _ANON[0]  # without the pages of the mapped vector files
    return out


def _percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return f"{np.percentile(ms, 50):.0f} / {np.percentile(ms, 95):.0f}"


def recommend_latency(data_dir: Path) -> dict[str, Any]:
    """Recommend latency with the index and exact, and how far their top-10s agree."""
    settings = replace(Settings.from_env(), data_dir=data_dir)
    t0 = time.perf_counter()
    graph = KnowledgeGraph.load(settings)
    loaded = time.perf_counter() - t0
    lib = kg.open(settings=settings, graph=graph)
    index = RecommendIndex.of(graph)
    rng = np.random.default_rng(1)
    reads = [
        [index.ids[j] for j in rng.choice(index.n, READ, replace=False)] for _ in range(QUERIES)
    ]
    out: dict[str, Any] = {"load": loaded}
    tops: dict[str, list[list[str]]] = {}
    text_tops: dict[str, list[set[int]]] = {}
    modes = ("index", "exact") if index.n <= EXACT_MAX else ("index",)
    for mode in modes:
        if mode == "exact":
            index.text_index_path = None  # the dense product over all papers
            index._text_ann = None
        t0 = time.perf_counter()
        lib.recommend(reads[0], k=10)
        out[f"{mode}_first"] = time.perf_counter() - t0
        if mode == "index" and index.text_ann() is None:
            raise RuntimeError("the build wrote no approximate index (below the threshold?)")
        times = []
        tops[mode] = []
        for read in reads:
            t0 = time.perf_counter()
            recs = lib.recommend(read, k=10)
            times.append(time.perf_counter() - t0)
            tops[mode].append([r.paper.paper_id for r in recs.items])
        out[mode] = _percentiles(times)
        text_tops[mode] = []
        for read in reads:
            text = raw_signals(index, np.array(index.resolve(read))).raw["text"]
            text_tops[mode].append(set(np.argsort(-np.nan_to_num(text, nan=-1.0))[:100].tolist()))
    if len(modes) == 1:  # the exact path was not run: nothing to compare with
        out.update(exact="-", exact_first=float("nan"), overlap=float("nan"))
        out["text_recall"] = float("nan")
        return out
    same = [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(*tops.values(), strict=True)]
    out["overlap"] = float(np.mean(same))
    # The text signal alone: how many of its exact top 100 the index path ranks top 100.
    out["text_recall"] = float(
        np.mean([len(a & b) / 100 for a, b in zip(*text_tops.values(), strict=True)])
    )
    return out


def _run(code: str, data: Path) -> dict[str, Any]:
    """``code`` (printing one JSON line) in a fresh interpreter over the data dir ``data``."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", code, str(data)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main() -> list[str]:
    sizes = [int(s) for s in os.environ.get("LITKG_BENCH_FIELD_SIZES", "200000").split(",")]
    shared = REPO.parent / "shared"
    lines = [
        "## Field scale: build with SPECTER text vectors and the approximate index, recommend",
        "",
        f"{os.cpu_count()} cores ({_cpu()}); load average at the start {os.getloadavg()[0]:.1f}",
        "",
        "| papers / citations | text vectors | build wall | steps: time / peak RSS | peak RSS "
        "| recommend p50 / p95 (ms), index | exact | first call index / exact (s) "
        "| graph load (s) / reader peak RSS | top-10 overlap | text top-100 recall |",
        "|---|---|---:|---|---:|---|---|---|---|---:|---:|",
    ]
    keep = os.environ.get("LITKG_BENCH_FIELD_KEEP")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="litkg-field-bench-") as tmp:
            data = Path(keep) / f"field-{n}" if keep else Path(tmp) / "data"
            kept = data / "build.json"
            if kept.is_file() and (data / "graph" / "manifest.json").is_file():
                b = json.loads(kept.read_text())
                print(f"[field bench] reusing the build in {data}", file=sys.stderr, flush=True)
            else:
                pristine = field_corpus(n, shared)
                shutil.rmtree(data, ignore_errors=True)
                data.mkdir(parents=True)
                shutil.copyfile(pristine, data / "corpus.sqlite")
                b = _run(
                    "import json, sys; from pathlib import Path; "
                    "from tests.bench.bench_field import child; "
                    "print(json.dumps(child(Path(sys.argv[1]))))",
                    data,
                )
                if keep:
                    kept.write_text(json.dumps(b))
            print(f"[field bench] built: {json.dumps(b)}", file=sys.stderr, flush=True)
            try:
                r = _run(
                    "import json, sys; from pathlib import Path; "
                    "from tests.bench.bench_field import recommend_child; "
                    "print(json.dumps(recommend_child(Path(sys.argv[1]))))",
                    data,
                )
            except RuntimeError as exc:  # the reader passed the cap: the build's row alone
                print(f"[field bench] recommend failed: {exc}", file=sys.stderr, flush=True)
                r = dict.fromkeys(("index", "exact"), "-")
                r.update(index_first=float("nan"), exact_first=float("nan"), load=float("nan"))
                r.update(peak_mib=float("nan"), overlap=float("nan"), text_recall=float("nan"))
            peaks = b["step_mib"]
            steps = ", ".join(
                f"{k} {b['seconds'].get(k, 0):.0f} s / {peaks[k] / 1024:.1f} GiB" for k in peaks
            )
            lines.append(
                f"| {b['papers']:,} / {b['citations']:,} | {b['text_vectors']} "
                f"({b['missing']} without) | {b['wall']:.0f} s | {steps} | "
                f"{b['peak_mib'] / 1024:.2f} GiB | {r['index']} | {r['exact']} | "
                f"{r['index_first']:.1f} / {r['exact_first']:.1f} | "
                f"{r['load']:.0f} / {r['peak_mib'] / 1024:.1f} GiB "
                f"({r.get('anon_gib', float('nan')):.1f} anonymous) | {r['overlap']:.2f} | "
                f"{r['text_recall']:.2f} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    lines += ["", f"load average at the end {os.getloadavg()[0]:.1f}"]
    return lines


if __name__ == "__main__":  # pragma: no cover
    print("\n".join(main()))
