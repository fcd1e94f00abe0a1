"""Benchmark and evaluation of kg.recommend: latency at 21k and 200k papers; quality on
a citation hold-out (S2 test world, SYNTHETIC edges) and on real tags/keywords.

Run (from the repository root; reads ../shared):

    HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python -m tests.bench recommend
    nice -n 10 .venv/bin/python -m tests.bench.bench_recommend --sizes 21223:200000 --skip-eval
    nice -n 10 .venv/bin/python -m tests.bench.bench_recommend --skip-latency --fake-embedder

Parts:

* **Latency** of :func:`kg.recommend.recommend` (k = 20, MMR on) on generated graphs
  (``tests.bench.bench_graph.generate``: papers in publication order, heavy-tailed
  in-degree, ~9.4 edges per paper: 21,223 papers / 200k edges and 200k / 2M), random
  L2-normalised 384-d vectors, 60 random topics with 1-3 memberships per paper. Read
  sets of 1, 5 and 20 random papers, with and without filters and a disliked paper;
  p50 and p95 over ``--queries`` queries each, after the one-off index build (timed
  separately).
* **Citation hold-out** (:func:`kg.evaluate.evaluate_holdout`) on the S2 test world
  (``tests.s2world.build_world``: REAL records from ../shared, SYNTHETIC citation edges
  drawn from shared words and preferential attachment), with real MiniLM vectors
  (cached under the temp dir; ``--fake-embedder`` for a quick run). 200 test targets;
  weights tuned on 200 other targets.
* **Tags and keywords on real data** (:func:`kg.evaluate.evaluate_groups`; no citations,
  so only text, topic and prior signals): (a) the MI review's Zotero library
  (``mi-review-library.bib.gz``), its topical keywords as groups; (b) a seeded sample of
  3,000 of the 21,223 llm-papers records, their narrow curated tags as groups. Given 3
  papers of a group, how many of the others come back in 20 (5 draws per group).
* **Default weights**: coordinate ascent on the pooled tuning queries of both protocols
  (citation targets disjoint from the test ones; groups alternate between a tuning and a
  test half). :data:`kg.recommend.DEFAULT_WEIGHTS` are these, rounded.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from kg.build import KnowledgeGraph
from kg.embed import EmbeddingCache, FakeEmbedder, MiniLMEmbedder, embed_cached, paper_text
from kg.evaluate import (
    FUSED,
    FUSED_MMR,
    EvaluationReport,
    evaluate_groups,
    evaluate_holdout,
    fit_weights,
    group_queries,
    group_table,
    holdout_queries,
    in_memory_graph,
    prepare_queries,
)
from kg.model import Citation, Paper, Topic, TopicMembership
from kg.recommend import (
    DEFAULT_WEIGHTS,
    Filters,
    RecommendIndex,
    reading_path,
    recommend,
)
from kg.topics import TopicModel
from tests.bench.bench_graph import citations as gen_citations
from tests.bench.bench_graph import generate
from tests.conftest import SHARED

CACHE = Path(tempfile.gettempdir()) / "litkg-bench"
#: Zotero keywords that are workflow notes, not topics.
WORKFLOW = {
    "to extract related work", "to extract figures", "to review in detail", "to read",
    "cited recently", "added one sentence summary", "to extract challenges", "mechinterp",
    "relevance", "opinion",
}  # fmt: skip
#: llm-papers tags that say nothing about the topic, or cover a third of the corpus.
NON_TOPICAL = {
    "has code", "uncategorized", "survey paper", "arxiv", "acl", "tacl", "wmt", "interspeech",
    "emnlp", "naacl", "eacl", "coling", "neurips", "iclr", "icml", "aaai", "ijcai", "lrec",
    "dataset", "search", "edit", "repair", "kdd",
}  # fmt: skip


# --------------------------------------------------------------------------- embedding
def embedder_fn(fake: bool) -> tuple[Callable[[list[str]], np.ndarray], str]:
    """(texts -> vectors, the embedder's name); MiniLM vectors are cached under the temp
    dir (backend and settings from the ``LITKG_EMBED_*`` environment)."""
    if fake:
        emb = FakeEmbedder(dim=64)
        return (lambda texts: emb.embed(texts)), emb.name
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = MiniLMEmbedder.from_env(model_dir=CACHE / "models")

    def run(texts: list[str]) -> np.ndarray:
        with EmbeddingCache(CACHE / "recommend-cache") as cache:
            return embed_cached(model, texts, cache, progress=False)

    return run, model.name


def texts_of(papers: Sequence[Paper]) -> list[str]:
    return [paper_text(p.title, p.abstract)[0] for p in papers]


# --------------------------------------------------------------------------- data
def world_graph(embed: Callable[[list[str]], np.ndarray]) -> tuple[KnowledgeGraph, dict[str, Any]]:
    """The S2 test world (real records, SYNTHETIC edges) as an in-memory KnowledgeGraph."""
    from ingest.records import paper_from_s2
    from tests.s2world import build_world

    world = build_world(SHARED)
    papers = [paper_from_s2(r) for r in world.papers.values()]
    cites = [
        Citation(e["citingPaperId"], e["citedPaperId"]) for e in world.edges if e["citedPaperId"]
    ]
    same_as = {twin: src for src, twin in world.meta["twins"]}
    kg = in_memory_graph(papers, cites, embeddings=embed(texts_of(papers)), same_as=same_as)
    return kg, {"papers": len(papers), "edges": len(cites)}


def norm_tag(tag: str) -> str:
    return re.sub(r"[\s\-_]+", " ", tag.strip().lower())


def bib_graph(
    embed: Callable[[list[str]], np.ndarray],
) -> tuple[KnowledgeGraph, dict[str, list[str]]]:
    """The MI review's Zotero library; groups: its topical keywords (>= 5 papers)."""
    from ingest.records import paper_from_s2
    from tests.s2world import load_bib

    records = [r for r in load_bib(SHARED / "corpus" / "mi-review-library.bib.gz") if r["title"]]
    seen: set[str] = set()
    papers: list[Paper] = []
    groups: dict[str, list[str]] = {}
    for r in records:
        if r["paperId"] in seen:
            continue
        seen.add(r["paperId"])
        papers.append(paper_from_s2(r))
        for tag in r.get("tags") or ():
            if norm_tag(tag) not in WORKFLOW:
                groups.setdefault(norm_tag(tag), []).append(r["paperId"])
    kg = in_memory_graph(papers, embeddings=embed(texts_of(papers)))
    return kg, {g: m for g, m in groups.items() if len(m) >= 5}


def llm_graph(
    embed: Callable[[list[str]], np.ndarray], sample: int = 3000, seed: int = 0
) -> tuple[KnowledgeGraph, dict[str, list[str]]]:
    """A seeded sample of llm-papers; groups: narrow curated tags (10-200 papers in the
    sample: the broad ones such as "Reinforcement Learning" cover a third of it)."""
    from dataclasses import replace

    from ingest.records import paper_from_s2
    from tests.s2world import load_llm

    records = load_llm(SHARED / "corpus" / "llm-papers.jsonl.gz")
    pick = np.sort(np.random.default_rng(seed).choice(len(records), sample, replace=False))
    papers: list[Paper] = []
    groups: dict[str, list[str]] = {}
    for i in pick.tolist():
        r = records[i]
        cc = r.get("recordedCitationCount")
        p = paper_from_s2(r)
        papers.append(replace(p, citation_count=int(cc) if str(cc or "").isdigit() else None))
        for tag in r.get("tags") or ():
            if norm_tag(tag) not in NON_TOPICAL:
                groups.setdefault(norm_tag(tag), []).append(r["paperId"])
    kg = in_memory_graph(papers, embeddings=embed(texts_of(papers)))
    return kg, {g: m for g, m in groups.items() if 10 <= len(set(m)) <= 200}


def split_groups(groups: Mapping[str, list[str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alternate groups (by name) between a tuning and a test half."""
    names = sorted(groups)
    tune = {g: groups[g] for g in names[0::2]}
    test = {g: groups[g] for g in names[1::2]}
    return tune, test


# --------------------------------------------------------------------------- quality
def derive_weights(
    world: KnowledgeGraph, group_sets: Sequence[tuple[KnowledgeGraph, Mapping[str, Any]]]
) -> tuple[dict[str, float], float, int]:
    """Pooled tuning: 200 citation targets after the 200 test ones, and the tuning half of
    every group set (3 read papers, 5 draws per group)."""
    protocols = [prepare_queries(world, holdout_queries(world, n=200, seed=0, skip=200),
                                 time_cut=True, seed=11)]  # fmt: skip
    for kg, groups in group_sets:
        qs = group_queries(groups, n_read=3, repeats=5, seed=1)
        protocols.append(prepare_queries(kg, qs, time_cut=False, seed=12))
    preps = [p for block in protocols for p in block]
    share = [1.0 / len(block) for block in protocols for _ in block]  # each protocol counts 1
    # the defaults are not a start point: the result must not depend on them
    weights, value = fit_weights(preps, random_starts=4, query_weights=share)
    return weights, value, len(preps)


def report_block(title: str, report: EvaluationReport) -> list[str]:
    return [f"### {title}", "", *report.lines(), f"_({report.seconds:.1f}s)_", ""]


def quality(fake: bool) -> list[str]:
    embed, name = embedder_fn(fake)
    out = ["## Quality", "", f"Text vectors: {name}.", ""]
    t0 = time.perf_counter()
    world, counts = world_graph(embed)
    bib, bib_groups = bib_graph(embed)
    llm, llm_groups = llm_graph(embed)
    out.append(
        f"Built in {time.perf_counter() - t0:.0f}s: S2 test world {counts['papers']:,} papers / "
        f"{counts['edges']:,} SYNTHETIC edges; MI review library {len(bib.papers):,} papers, "
        f"{len(bib_groups)} keyword groups; llm-papers sample {len(llm.papers):,} papers, "
        f"{len(llm_groups)} tag groups."
    )
    bib_tune, bib_test = split_groups(bib_groups)
    llm_tune, llm_test = split_groups(llm_groups)
    t0 = time.perf_counter()
    pooled, value, n_pooled = derive_weights(world, [(bib, bib_tune), (llm, llm_tune)])
    out += [
        "",
        f"Pooled tuning ({n_pooled} queries: 200 citation targets + the tuning half of the "
        f"groups; {time.perf_counter() - t0:.0f}s): nDCG@10 {value:.3f} in-sample, weights "
        + ", ".join(f"{k} {v:.3f}" for k, v in pooled.items()),
        "Defaults in kg.recommend.DEFAULT_WEIGHTS: "
        + ", ".join(f"{k} {v:.3f}" for k, v in DEFAULT_WEIGHTS.items()),
        "",
    ]
    h_default = evaluate_holdout(world, queries=200, weights=pooled)
    out += report_block(
        "Citation hold-out, S2 test world (SYNTHETIC edges), pooled weights", h_default
    )
    h_tuned = evaluate_holdout(world, queries=200, tune=True)
    out += report_block(
        "Citation hold-out, S2 test world (SYNTHETIC edges), weights tuned on this protocol only "
        "(`litkg eval --tune`)",
        h_tuned,
    )
    for title, kg, groups in (
        ("MI review library: Zotero keywords (test half of the groups)", bib, bib_test),
        ("llm-papers sample: curated tags (test half of the groups)", llm, llm_test),
    ):
        rep = evaluate_groups(kg, groups, n_read=3, repeats=5, weights=pooled)
        out += report_block(title, rep)
        out += group_table(rep, ("text", "topic", FUSED, FUSED_MMR, "popularity", "random"))
        out.append("")
    return out


# --------------------------------------------------------------------------- latency
def synthetic_graph(n: int, m: int, seed: int = 0) -> tuple[KnowledgeGraph, float]:
    papers, citing, cited = generate(n, m, seed)
    rng = np.random.default_rng(seed)
    vec = rng.standard_normal((n, 384)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    topics = [Topic(f"t{i}", f"Topic {i}", "discovered") for i in range(60)]
    members = []
    for i, p in enumerate(papers):
        for t in rng.choice(60, size=1 + i % 3, replace=False).tolist():
            members.append(TopicMembership(p.paper_id, f"t{t}", float(rng.uniform(0.2, 1))))
    model = TopicModel(topics=topics, memberships=members)
    t0 = time.perf_counter()
    kg = in_memory_graph(
        papers, gen_citations(citing, cited), embeddings=vec, topics=model, weights=None
    )
    return kg, time.perf_counter() - t0


def percentile(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def latency(sizes: Sequence[tuple[int, int]], queries: int) -> list[str]:
    out = [
        "## Latency",
        "",
        "| papers / edges | query | p50 | p95 | max | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for n, m in sizes:
        gc.collect()
        kg, build_s = synthetic_graph(n, m)
        t0 = time.perf_counter()
        RecommendIndex.of(kg)
        index_s = time.perf_counter() - t0
        ids = list(kg.papers)
        rng = np.random.default_rng(1)
        tag = f"{n:,} / {m // 1000:,}k"
        out.append(
            f"| {tag} | build graph (networkx + topics) / recommender index (once) | "
            f"{build_s:.2f} s | | | index {index_s:.2f} s |"
        )
        cases: list[tuple[str, int, dict[str, Any]]] = [
            ("read 1", 1, {}),
            ("read 5", 5, {}),
            ("read 20", 20, {}),
            ("read 5, filters year+venue+no surveys", 5,
             {"filters": Filters(year_from=2000, venue="venue 1", exclude_surveys=True)}),
            ("read 5 + 2 disliked", 5, {"disliked": 2}),
            ("read 5, no MMR", 5, {"diversity": 0.0}),
        ]  # fmt: skip
        for name, r, kw in cases:
            times = []
            for _ in range(queries):
                read = [ids[i] for i in rng.choice(len(ids), r, replace=False)]
                extra = dict(kw)
                if "disliked" in extra:
                    extra["disliked"] = [ids[i] for i in rng.choice(len(ids), 2, replace=False)]
                t0 = time.perf_counter()
                recs = recommend(kg, read, k=20, **extra)
                times.append(time.perf_counter() - t0)
                assert len(recs) == 20
            out.append(
                f"| {tag} | {name} | {percentile(times, 50) * 1e3:.0f} ms | "
                f"{percentile(times, 95) * 1e3:.0f} ms | {max(times) * 1e3:.0f} ms | "
                f"{queries} queries |"
            )
        times = []
        for _ in range(max(3, queries // 5)):
            lst = [ids[i] for i in rng.choice(len(ids), 20, replace=False)]
            t0 = time.perf_counter()
            reading_path(kg, lst)
            times.append(time.perf_counter() - t0)
        out.append(
            f"| {tag} | reading path of 20 | {percentile(times, 50) * 1e3:.1f} ms | "
            f"{percentile(times, 95) * 1e3:.1f} ms | {max(times) * 1e3:.1f} ms | |"
        )
        del kg
    return out


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="21223:200000,200000:2000000")
    parser.add_argument("--queries", type=int, default=40, help="latency queries per case")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--fake-embedder", action="store_true")
    args = parser.parse_args(argv or [])
    out = [f"# kg.recommend, {date.today().isoformat()}", ""]
    if not args.skip_eval:
        if not SHARED.exists():
            out.append(f"(quality skipped: {SHARED} is missing)")
        else:
            out += quality(args.fake_embedder)
    if not args.skip_latency:
        sizes = [tuple(int(x) for x in s.split(":")) for s in args.sizes.split(",")]
        out += latency([(a, b) for a, b in sizes], args.queries)
    return out


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1:])))


__all__ = ["main"]
