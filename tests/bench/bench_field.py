"""Field-scale benchmark: ``litkg build`` with S2's SPECTER vectors and the approximate
text index, then recommend, on a corpus of 200k papers (1M when asked).

    nice -n 5 .venv/bin/python -m tests.bench field                 # 200k papers
    LITKG_BENCH_FIELD_SIZES=200000,1000000 python -m tests.bench field

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
from tests.bench.bench_build import ROOT, make_corpus
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


def child(data_dir: Path) -> dict[str, Any]:
    """One build in this process (run as a child): its report and peak RSS."""
    settings = Settings.from_env(dict(os.environ, LITKG_DATA_DIR=str(data_dir)))
    started = time.perf_counter()
    report = build(settings, progress=False, rdf=False, tune=False)
    return {
        "wall": time.perf_counter() - started,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": report.seconds,
        "text_vectors": report.text_vectors,
        "missing": report.text_missing,
        "papers": report.papers,
        "citations": report.citations,
    }


def _percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return f"{np.percentile(ms, 50):.0f} / {np.percentile(ms, 95):.0f}"


def recommend_latency(data_dir: Path) -> dict[str, Any]:
    """Recommend latency with the index and exact, and how far their top-10s agree."""
    settings = replace(Settings.from_env(), data_dir=data_dir)
    graph = KnowledgeGraph.load(settings)
    lib = kg.open(settings=settings, graph=graph)
    index = RecommendIndex.of(graph)
    rng = np.random.default_rng(1)
    reads = [
        [index.ids[j] for j in rng.choice(index.n, READ, replace=False)] for _ in range(QUERIES)
    ]
    out: dict[str, Any] = {}
    tops: dict[str, list[list[str]]] = {}
    text_tops: dict[str, list[set[int]]] = {}
    for mode in ("index", "exact"):
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
    same = [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(*tops.values(), strict=True)]
    out["overlap"] = float(np.mean(same))
    # The text signal alone: how many of its exact top 100 the index path ranks top 100.
    out["text_recall"] = float(
        np.mean([len(a & b) / 100 for a, b in zip(*text_tops.values(), strict=True)])
    )
    return out


def main() -> list[str]:
    sizes = [int(s) for s in os.environ.get("LITKG_BENCH_FIELD_SIZES", "200000").split(",")]
    shared = REPO.parent / "shared"
    lines = [
        "## Field scale: build with SPECTER text vectors and the approximate index, recommend",
        "",
        "| papers / citations | text vectors | build wall | steps | peak RSS | recommend p50 / p95 "
        "(ms), index | exact | first call index / exact (s) | top-10 overlap "
        "| text top-100 recall |",
        "|---|---|---:|---|---:|---|---|---|---:|---:|",
    ]
    for n in sizes:
        pristine = field_corpus(n, shared)
        with tempfile.TemporaryDirectory(prefix="litkg-field-bench-") as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            shutil.copyfile(pristine, data / "corpus.sqlite")
            env = dict(os.environ, PYTHONPATH=str(REPO))
            code = (
                "import json, sys; from pathlib import Path; "
                "from tests.bench.bench_field import child; "
                "print(json.dumps(child(Path(sys.argv[1]))))"
            )
            proc = subprocess.run(
                [sys.executable, "-c", code, str(data)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"build failed: {proc.stderr[-2000:]}")
            b = json.loads(proc.stdout.strip().splitlines()[-1])
            r = recommend_latency(data)
            steps = ", ".join(f"{k} {v:.0f} s" for k, v in b["seconds"].items() if k != "total")
            lines.append(
                f"| {b['papers']:,} / {b['citations']:,} | {b['text_vectors']} "
                f"({b['missing']} without) | {b['wall']:.0f} s | {steps} | "
                f"{b['peak_mib'] / 1024:.2f} GiB | {r['index']} | {r['exact']} | "
                f"{r['index_first']:.1f} / {r['exact_first']:.1f} | {r['overlap']:.2f} | "
                f"{r['text_recall']:.2f} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    return lines


if __name__ == "__main__":  # pragma: no cover
    print("\n".join(main()))
