"""Embedding benchmark: the plain sentence-transformers fp32 run against faster settings.

Embeds the abstracts of ``../shared/corpus/llm-papers.jsonl.gz`` (title + ". " + abstract,
as the graph build does) with the baseline (``torch``: sentence-transformers fp32, its
default batch size 32, 256 tokens) and with each setting given, side by side, and prints a
Markdown table: abstracts/s, the projected time for the whole corpus, the speed-up, the mean
(and worst) cosine of each vector to the baseline's, and the mean top-10 neighbour overlap
with the baseline's neighbours (over ``--queries`` random papers, all papers searched).

    .venv/bin/python -m tests.bench.bench_embed                       # full corpus (~15 min)
    .venv/bin/python -m tests.bench.bench_embed --n 1000 \\
        --configs onnx,onnx-int8,onnx-int8:bs=32,onnx-int8:seq=128     # compare options

A setting is ``backend[:bs=N][:seq=N][:threads=N][:nosort]``. ``--baseline-n M`` times the
baseline on the first M sampled texts only and extrapolates its speed; quality is then
measured on those M texts (the output says so). Model loading and the one-off ONNX export
are timed apart ("load s"), not in abstracts/s.
"""

from __future__ import annotations

import argparse
import gc
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

from kg.embed import (
    DEFAULT_BATCH_SIZE,
    EmbeddingCache,
    MiniLMEmbedder,
    embed_cached,
    paper_text,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LITKG_SHARED_DIR", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus" / "llm-papers.jsonl.gz"
FULL_CORPUS = 21_223


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
        bs = self.batch_size or DEFAULT_BATCH_SIZE[self.backend]
        threads = self.threads or "all"
        sort = "" if self.sort else ", unsorted"
        return f"{self.backend}, seq {self.max_seq_length}, batch {bs}, threads {threads}{sort}"


def load_texts(n: int | None, seed: int) -> list[str]:
    if not CORPUS.exists():
        raise SystemExit(f"{CORPUS} is missing: the benchmark needs ../shared (LITKG_SHARED_DIR)")
    texts = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(paper_text(row.get("title"), row.get("abstract"))[0])
    if n is not None and n < len(texts):
        rng = np.random.default_rng(seed)
        texts = [texts[i] for i in sorted(rng.choice(len(texts), size=n, replace=False))]
    return texts


def run(cfg: Config, texts: list[str], model_dir: Path) -> tuple[np.ndarray, float, float]:
    """(vectors, load seconds, embed seconds)."""
    import torch

    threads_before = torch.get_num_threads()
    emb = cfg.embedder(model_dir)
    start = time.perf_counter()
    emb.embed(texts[:4])  # load (and export once) outside the timed run
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    vectors = emb.embed(texts)
    embed_s = time.perf_counter() - start
    del emb
    gc.collect()
    torch.set_num_threads(threads_before)
    return vectors, load_s, embed_s


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=None, help="texts (random sample; default all)")
    parser.add_argument("--baseline-n", type=int, default=None, help="time the baseline on M")
    parser.add_argument("--configs", default="onnx-int8", help="comma-separated settings")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", type=Path, default=None, help="ONNX export dir")
    args = parser.parse_args(argv)

    texts = load_texts(args.n, args.seed)
    n = len(texts)
    nb = min(args.baseline_n or n, n)
    configs = [Config.parse(s) for s in args.configs.split(",") if s.strip()]
    tmp = tempfile.TemporaryDirectory(prefix="litkg-bench-")
    model_dir = args.model_dir or Path(tmp.name) / "models"
    print(
        f"# embedding benchmark: {n} abstracts of {CORPUS.name}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores, load avg {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    base = Config.parse("torch")
    print(f"running baseline ({base.describe()}) on {nb} texts ...", file=sys.stderr, flush=True)
    ref, base_load, base_s = run(base, texts[:nb], model_dir)
    rows = [("torch fp32 (baseline)", base, base_load, nb / base_s, ref, ref)]
    last: tuple[Config, np.ndarray] | None = None
    for cfg in configs:
        print(f"running {cfg.describe()} on {n} texts ...", file=sys.stderr, flush=True)
        vecs, load_s, embed_s = run(cfg, texts, model_dir)
        rows.append((cfg.spec, cfg, load_s, n / embed_s, vecs[:nb], vecs))
        last = (cfg, vecs)

    rng = np.random.default_rng(args.seed)
    queries = rng.choice(nb, size=min(args.queries, nb), replace=False)
    ref_nn = topk(ref, queries, args.k)
    base_rate = rows[0][3]
    print()
    print(
        f"| setting | details | load s | abstracts/s | {FULL_CORPUS:,} abstracts | speed-up "
        f"| mean cos to fp32 | min cos | top-{args.k} overlap |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, cfg, load_s, rate, sub, _ in rows:
        cos = (sub * ref).sum(axis=1)
        ov = overlap(ref_nn, topk(sub, queries, args.k))
        full_min = FULL_CORPUS / rate / 60
        print(
            f"| {label} | {cfg.describe()} | {load_s:.1f} | {rate:.1f} | {full_min:.1f} min "
            f"| {rate / base_rate:.2f}x | {cos.mean():.4f} | {cos.min():.4f} | {ov:.3f} |"
        )
    notes = []
    if nb < n:
        notes.append(
            f"baseline timed on {nb} of the {n} texts; quality measured on those {nb} "
            f"({len(queries)} queries searching {nb} papers)"
        )
    else:
        notes.append(
            f"top-{args.k} overlap: {len(queries)} random queries, all {n} papers searched"
        )
    if n < FULL_CORPUS:
        notes.append(f"the {FULL_CORPUS:,}-abstract column is extrapolated from {n} texts")

    if last is not None:
        cfg, vecs = last
        emb = cfg.embedder(model_dir)
        with EmbeddingCache(Path(tmp.name) / "cache") as cache:
            cache.put_many(emb.name, texts, vecs)
            start = time.perf_counter()
            again = embed_cached(emb, texts, cache, progress=False)
            hit_s = time.perf_counter() - start
        assert np.array_equal(again, vecs)
        notes.append(f"re-run of {cfg.spec} through the cache (all hits): {hit_s:.2f} s for {n}")
    for note in notes:
        print(f"\n- {note}", end="")
    print()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
