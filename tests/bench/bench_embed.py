"""Embedding benchmark: the plain sentence-transformers fp32 run against faster settings.

Embeds a fixed random sample of the abstracts of ``../shared/corpus/llm-papers.jsonl.gz``
(title + ". " + abstract, as the graph build does; 2,000 by default, ``--n 0`` for all) with
the baseline (``torch``: sentence-transformers fp32, its default batch size 32, 256 tokens)
and with each setting given, side by side on the CPU at hand, and prints a Markdown table:
abstracts/s, seconds per 1,000 abstracts, the projected time for the whole corpus, the
speed-up, the mean (and worst) cosine of each vector to the baseline's, and the mean top-10
neighbour overlap with the baseline's neighbours (over ``--queries`` random papers, all
sampled papers searched).

The table also names what ``auto`` picks on this CPU, on the same CPU without AMX-BF16, and
without AMX and onnxruntime (:func:`kg.text.embed.resolve_backend` given those CPU flags); those
rows are the figures of the run with the same settings, not runs of their own.

    nice -n 10 .venv/bin/python -m tests.bench.bench_embed            # 2,000 abstracts
    .venv/bin/python -m tests.bench.bench_embed --n 0                  # full corpus (~25 min)
    .venv/bin/python -m tests.bench.bench_embed --n 1000 \\
        --configs onnx,onnx-int8,onnx-int8:bs=32,onnx-int8:seq=128     # compare options

A setting is ``backend[:bs=N][:seq=N][:threads=N][:nosort]``. ``--baseline-n M`` times the
baseline on the first M sampled texts only and extrapolates its speed; quality is then
measured on those M texts (the output says so). Model loading and the one-off ONNX export
are timed apart ("load s"), not in abstracts/s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from kg.text.embed import (
    DEFAULT_BATCH_SIZE,
    MINILM_DIM,
    EmbeddingCache,
    MiniLMEmbedder,
    _cpu_flags,
    _onnx_available,
    embed_cached,
    paper_text,
    resolve_backend,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LITKG_SHARED_DIR", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus" / "llm-papers.jsonl.gz"
FULL_CORPUS = 21_223
TORCH_THREADS = torch.get_num_threads()


@dataclass
class Config:
    spec: str
    backend: str
    batch_size: int | None = None
    max_seq_length: int = 256
    threads: int | None = None
    sort: bool = True

    @classmethod
    def parse(cls, spec: str) -> Config:
        backend, *opts = spec.strip().split(":")
        cfg = cls(spec=spec.strip(), backend=backend)
        for opt in opts:
            key, _, value = opt.partition("=")
            if key == "bs":
                cfg.batch_size = int(value)
            elif key == "seq":
                cfg.max_seq_length = int(value)
            elif key == "threads":
                cfg.threads = int(value)
            elif key == "nosort":
                cfg.sort = False
            else:
                raise SystemExit(f"unknown option {opt!r} in {spec!r}")
        return cfg

    def embedder(self, model_dir: Path) -> MiniLMEmbedder:
        return MiniLMEmbedder(
            self.backend,
            max_seq_length=self.max_seq_length,
            batch_size=self.batch_size,
            threads=self.threads,
            sort_by_length=self.sort,
            model_dir=model_dir,
        )

    def describe(self) -> str:
        backend = resolve_backend(self.backend)
        bs = self.batch_size or DEFAULT_BATCH_SIZE[backend]
        threads = self.threads or "all"
        sort = "" if self.sort else ", unsorted"
        return f"{backend}, seq {self.max_seq_length}, batch {bs}, threads {threads}{sort}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.machine()


def has_amx() -> bool:
    return "amx_bf16" in _cpu_flags()


#: (label, CPU flags, onnxruntime installed) of the machines whose ``auto`` is reported.
def auto_cases() -> list[tuple[str, set[str], bool]]:
    flags, onnx = _cpu_flags(), _onnx_available()
    no_amx = {f for f in flags if not f.startswith("amx")}
    here = "AMX" if "amx_bf16" in flags else "no AMX"
    cases = [(f"auto, this CPU ({here})", flags, onnx), ("auto, no AMX", no_amx, onnx)]
    cases.append(("auto, no AMX, no onnxruntime", no_amx, False))
    return cases


def load_texts(n: int | None, seed: int) -> list[str]:
    if not CORPUS.exists():
        raise SystemExit(f"{CORPUS} is missing: the benchmark needs ../shared (LITKG_SHARED_DIR)")
    texts = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(paper_text(row.get("title"), row.get("abstract"))[0])
    if n and n < len(texts):
        rng = np.random.default_rng(seed)
        texts = [texts[i] for i in sorted(rng.choice(len(texts), size=n, replace=False))]
    return texts


class Run:
    """One setting's embedder, its vectors and its timed seconds."""

    def __init__(self, label: str, cfg: Config, limit: int) -> None:
        self.label, self.cfg, self.limit = label, cfg, limit
        self.vectors = np.zeros((limit, MINILM_DIM), dtype=np.float32)
        self.seconds = 0.0
        self.done = 0
        self.load_s = 0.0
        self.chunk_rates: list[float] = []

    def load(self, model_dir: Path) -> None:
        print(f"loading {self.cfg.describe()} ...", file=sys.stderr, flush=True)
        self.embedder = self.cfg.embedder(model_dir)
        start = time.perf_counter()
        self.embedder.embed(["warm up the model", "and load (or export) it first"])
        self.load_s = time.perf_counter() - start

    def step(self, texts: list[str], start: int, size: int) -> None:
        stop = min(start + size, self.limit)
        if stop <= start:
            return
        if resolve_backend(self.cfg.backend).startswith("torch"):
            # torch's thread count is per process: set this setting's before each step
            torch.set_num_threads(self.cfg.threads or TORCH_THREADS)
        began = time.perf_counter()
        self.vectors[start:stop] = self.embedder.embed(texts[start:stop])
        took = time.perf_counter() - began
        self.seconds += took
        self.done += stop - start
        self.chunk_rates.append((stop - start) / took)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else float("nan")

    @property
    def best(self) -> float:
        return max(self.chunk_rates, default=float("nan"))


def topk(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 256):
        q = queries[start : start + 256]
        sims = vectors[q] @ vectors.T
        sims[np.arange(len(q)), q] = -np.inf  # a paper is not its own neighbour
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        out[start : start + len(q)] = np.take_along_axis(part, order, axis=1)
    return out


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    k = a.shape[1]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def main(argv: list[str] | None = None) -> list[str]:
    """Run the comparison; returns the report's Markdown lines (progress goes to stderr)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--n", type=int, default=2000, help="texts (fixed random sample; 0 for all)"
    )
    parser.add_argument("--baseline-n", type=int, default=None, help="time the baseline on M")
    parser.add_argument(
        "--configs",
        default="torch-bf16,onnx,onnx-int8",
        help="comma-separated settings after the baseline",
    )
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", type=Path, default=None, help="ONNX export dir")
    parser.add_argument("--chunk", type=int, default=500, help="texts per interleaved step")
    args = parser.parse_args(argv or [])
    out: list[str] = []

    t0 = time.perf_counter()
    texts = load_texts(args.n, args.seed)
    n = len(texts)
    nb = min(args.baseline_n or n, n)
    configs = [Config.parse(s) for s in args.configs.split(",") if s.strip()]
    tmp = tempfile.TemporaryDirectory(prefix="litkg-bench-")
    model_dir = args.model_dir or Path(tmp.name) / "models"
    out.append(
        f"# embedding benchmark: {n} abstracts of {CORPUS.name}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpu_model()}, "
        f"{'with' if has_amx() else 'without'} AMX-BF16, {len(os.sched_getaffinity(0))} cores, "
        f"load avg {os.getloadavg()[0]:.2f}"
    )

    base = Config.parse("torch")
    runs = [Run("torch fp32 (baseline)", base, nb)] + [Run(c.spec, c, n) for c in configs]
    for r in runs:
        r.load(model_dir)
    # Interleaved: each chunk is embedded by every setting in turn, so that load from other
    # processes on this shared machine falls on all settings alike.
    for start in range(0, n, args.chunk):
        for r in runs:
            r.step(texts, start, args.chunk)
        print(
            f"{min(start + args.chunk, n)}/{n} texts, "
            + ", ".join(f"{r.label}: {r.rate:.1f}/s" for r in runs)
            + f" (load avg {os.getloadavg()[0]:.2f})",
            file=sys.stderr,
            flush=True,
        )
    ref = runs[0].vectors
    rng = np.random.default_rng(args.seed)
    queries = rng.choice(nb, size=min(args.queries, nb), replace=False)
    ref_nn = topk(ref, queries, args.k)
    base_rate = runs[0].rate
    rows: list[tuple[str, Run, str]] = [(r.label, r, r.cfg.describe()) for r in runs]
    same = {r.cfg.describe(): r for r in reversed(runs)}  # the first run of each wins
    for label, flags, onnx in auto_cases():
        picked = resolve_backend("auto", cpu_flags=flags, onnx_available=onnx)
        run = same.get(Config.parse(picked).describe())
        if run is None:
            rows.append((label, Run(label, Config.parse(picked), 0), f"{picked}: not run"))
        else:
            rows.append((label, run, f"picks {picked}: the figures of {run.label}"))
    out.append("")
    out.append(
        f"| setting | details | load s | abstracts/s | s per 1,000 | best chunk/s "
        f"| {FULL_CORPUS:,} abstracts | speed-up | speed-up, best chunks | mean cos to fp32 "
        f"| min cos | top-{args.k} overlap |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r, details in rows:
        if not r.done:
            out.append(f"| {label} | {details} |" + " |" * 10)
            continue
        sub = r.vectors[:nb]
        cos = (sub * ref).sum(axis=1)
        ov = overlap(ref_nn, topk(sub, queries, args.k))
        out.append(
            f"| {label} | {details} | {r.load_s:.1f} | {r.rate:.1f} | {1000 / r.rate:.0f} "
            f"| {r.best:.1f} | {FULL_CORPUS / r.rate / 60:.1f} min | {r.rate / base_rate:.2f}x "
            f"| {r.best / runs[0].best:.2f}x | {cos.mean():.4f} | {cos.min():.4f} | {ov:.3f} |"
        )
    notes = [
        f"timed: embedding only, {args.chunk}-text chunks interleaved across settings; "
        f"'load s' is model loading (and the one-off ONNX export) before that; "
        f"'best chunk/s' is the fastest chunk (the least disturbed by other processes); "
        f"the {FULL_CORPUS:,}-abstract column uses the overall rate",
        f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores shared with other work)",
    ]
    if nb < n:
        notes.append(
            f"baseline timed on {nb} of the {n} texts and its speed extrapolated; quality "
            f"measured on those {nb} ({len(queries)} queries searching {nb} papers)"
        )
    else:
        notes.append(
            f"top-{args.k} overlap: {len(queries)} random queries, all {n} papers searched"
        )
    if n < FULL_CORPUS:
        notes.append(f"the {FULL_CORPUS:,}-abstract column is extrapolated from {n} texts")
    if len(runs) > 1:
        chosen = runs[1]
        with EmbeddingCache(Path(tmp.name) / "cache") as cache:
            began = time.perf_counter()
            cache.put_many(chosen.embedder.name, texts, chosen.vectors)
            put_s = time.perf_counter() - began
            began = time.perf_counter()
            again = embed_cached(chosen.embedder, texts, cache, progress=False)
            hit_s = time.perf_counter() - began
        assert np.array_equal(again, chosen.vectors)
        notes.append(
            f"cache ({chosen.label}): writing {n} vectors {put_s:.2f} s; re-run with "
            f"unchanged texts (all hits, embedder not called) {hit_s:.2f} s"
        )
    notes.append(f"wall time of this run: {(time.perf_counter() - t0) / 60:.1f} min")
    out.append("")
    out += [f"- {note}" for note in notes]
    tmp.cleanup()
    return out


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1:])))
