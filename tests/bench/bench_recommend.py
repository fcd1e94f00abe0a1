"""Benchmark and evaluation of kg.recommend: latency at 21k and 200k papers; quality on
a citation hold-out (S2 test world, SYNTHETIC edges) and on real tags/keywords.

Run (from the repository root; reads ../shared):

    HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python -m tests.bench recommend
    nice -n 10 .venv/bin/python -m tests.bench.bench_recommend --skip-eval --sizes 21223:200000
    nice -n 10 .venv/bin/python -m tests.bench.bench_recommend --skip-latency --fake-embedder

Parts:

* **Latency** of :func:`kg.recommend.rank.recommend` (k = 20, MMR on, default weights) on
  generated graphs (``tests.bench.bench_graph.generate``: papers in publication order,
  heavy-tailed in-degree, ~9.4 edges per paper: 21,223 papers / 200k edges and 200k /
  2M) carrying the titles and abstracts of llm-papers (cycled; for the lexical index),
  random L2-normalised 384-d vectors, 60 random topics with 1-3 memberships per paper.
  Read sets of 1, 5 and 20 random papers, with and without filters and a disliked paper;
  p50 and p95 over ``--queries`` queries each, after the one-off index build (timed
  separately, with the lexical index's size and the process's peak RSS).
* **Three protocols**, each with a tuning and a test split: the citation hold-out
  (:func:`kg.recommend.protocols.holdout_queries`) on the S2 test world (``tests.s2world``: REAL
  records from ../shared, SYNTHETIC citation edges), 200 test targets and 200 other
  targets to tune on; the MI review's Zotero library (``mi-review-library.bib.gz``), its
  topical keywords as groups; a seeded sample of 3,000 of the 21,223 llm-papers records,
  their narrow curated tags as groups (groups alternate between a tuning and a test
  half; given 3 papers of a group, find the others). Real MiniLM vectors (cached under
  the temp dir; ``--fake-embedder`` for a quick run).
* **Side by side on each test split**: every single signal, and the fused recommender
  with weights tuned on that protocol's tuning split (all signals; all but lexical; text +
  lexical only) and with :data:`kg.recommend.fusion.DEFAULT_WEIGHTS`.
* **Default weights**: coordinate ascent on the pooled tuning queries of the three
  protocols (each counting the same); :data:`kg.recommend.fusion.DEFAULT_WEIGHTS` are these.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from kg.core.model import Citation, Paper, Topic, TopicMembership
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.evaluate import FUSED, FUSED_MMR, evaluate_prepared
from kg.recommend.fusion import DEFAULT_WEIGHTS, Filters
from kg.recommend.index import RecommendIndex
from kg.recommend.path import reading_path
from kg.recommend.protocols import group_queries, holdout_queries, in_memory_graph, prepare_queries
from kg.recommend.rank import recommend
from kg.recommend.signals import SIGNALS
from kg.recommend.tuning import fit_weights
from kg.text.embed import EmbeddingCache, FakeEmbedder, MiniLMEmbedder, embed_cached, paper_text
from kg.topics.model import TopicModel
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
@dataclass
class Protocol:
    """One evaluation protocol: its graph and its tuning and test queries, prepared once."""

    name: str
    kg: KnowledgeGraph
    tune: list[Any]
    test: list[Any]
    notes: str


def protocols(embed: Callable[[list[str]], np.ndarray]) -> tuple[list[Protocol], str]:
    """The three protocols: citation hold-out (200 test targets, 200 other targets to tune
    on), and the test/tuning halves of the MI review keywords and the llm-papers tags."""
    t0 = time.perf_counter()
    world, counts = world_graph(embed)
    bib, bib_groups = bib_graph(embed)
    llm, llm_groups = llm_graph(embed)
    built = (
        f"Built in {time.perf_counter() - t0:.0f}s: S2 test world {counts['papers']:,} papers / "
        f"{counts['edges']:,} SYNTHETIC edges; MI review library {len(bib.papers):,} papers, "
        f"{len(bib_groups)} keyword groups; llm-papers sample {len(llm.papers):,} papers, "
        f"{len(llm_groups)} tag groups."
    )
    out = [
        Protocol(
            "citation hold-out (SYNTHETIC edges)",
            world,
            prepare_queries(world, holdout_queries(world, n=200, seed=0, skip=200),
                            time_cut=True, seed=11),
            prepare_queries(world, holdout_queries(world, n=200, seed=0), time_cut=True, seed=0),
            "200 test targets; 200 other targets to tune on",
        )
    ]  # fmt: skip
    for name, kg, groups in (
        ("MI review keywords (real)", bib, bib_groups),
        ("llm-papers tags (real)", llm, llm_groups),
    ):
        tune_g, test_g = split_groups(groups)
        tune = prepare_queries(kg, group_queries(tune_g, n_read=3, repeats=5, seed=1),
                               time_cut=False, seed=12)  # fmt: skip
        test = prepare_queries(kg, group_queries(test_g, n_read=3, repeats=5, seed=0),
                               time_cut=False, seed=0)  # fmt: skip
        notes = f"{len(test_g)} test groups ({len(test)} queries); {len(tune_g)} tuning groups"
        out.append(Protocol(name, kg, tune, test, notes))
    return out, built


def derive_weights(protos: Sequence[Protocol]) -> tuple[dict[str, float], float, int]:
    """Pooled tuning on the tuning queries of every protocol, each protocol counting the
    same; the defaults are not a start point (the result must not depend on them)."""
    preps = [p for proto in protos for p in proto.tune]
    share = [1.0 / len(proto.tune) for proto in protos for _ in proto.tune]
    weights, value = fit_weights(preps, random_starts=4, query_weights=share)
    return weights, value, len(preps)


#: Every signal but the lexical one (to measure what it adds).
NO_LEXICAL = tuple(s for s in SIGNALS if s != "lexical")


def fmt_weights(w: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in w.items() if v > 0) or "-"


def compare(proto: Protocol, pooled: Mapping[str, float]) -> tuple[list[str], list[str]]:
    """(summary row, full block) of one protocol: every single signal, and the fused
    recommender with weights tuned on this protocol's tuning queries (all signals; all but
    lexical; text + lexical only), the shipped defaults and the pooled fit, on its test
    queries."""
    no_lex = fit_weights(proto.tune, starts=[DEFAULT_WEIGHTS], signals=NO_LEXICAL)[0]
    hybrid = fit_weights(proto.tune, signals=("text", "lexical"))[0]
    fits = {  # all signals: started from the two restricted fits too (nested in-sample)
        "tuned here": fit_weights(proto.tune, starts=[DEFAULT_WEIGHTS, no_lex, hybrid])[0],
        "tuned here, no lexical": no_lex,
        "tuned here, text + lexical only": hybrid,
        "defaults": dict(DEFAULT_WEIGHTS),
    }
    if dict(pooled) != dict(DEFAULT_WEIGHTS):
        fits["pooled re-fit"] = dict(pooled)
    reports = {
        name: evaluate_prepared(proto.kg, proto.test, weights=w, kind=proto.name)
        for name, w in fits.items()
    }
    base = reports["tuned here"]
    best = base.best_single()
    rows = [m for m in base.methods if m.method not in (FUSED, FUSED_MMR)]
    fused_rows = []
    for name, rep in reports.items():
        mmr = name in ("tuned here", "defaults")
        for m in (rep.method(FUSED), *([rep.method(FUSED_MMR)] if mmr else [])):
            fused_rows.append(replace(m, method=f"**{m.method} ({name})**"))
    table = ["| method | P@20 | recall@20 | nDCG@10 | MRR |", "|---|---:|---:|---:|---:|"]
    for m in sorted([*rows, *fused_rows], key=lambda m: -m.ndcg):
        label = m.method + (" (best single)" if m.method == best.method else "")
        table.append(
            f"| {label} | {m.precision:.3f} | {m.recall:.3f} | {m.ndcg:.3f} | {m.mrr:.3f} |"
        )
    st = base.stats
    notes = (
        f"{proto.notes}. Mean {st['mean_read']:.1f} read papers, {st['mean_relevant']:.1f} "
        f"hidden ones among {st['mean_candidates']:,.0f} candidates."
    )
    block = [f"### {proto.name}", "", notes, "", *table, ""]
    for name, rep in reports.items():
        block.append(f"- weights {name}: {fmt_weights(rep.weights)}")
    block.append("")

    def margin(name: str) -> str:
        v = reports[name].method(FUSED).ndcg
        d = v - best.ndcg
        rel = f", {d / best.ndcg:+.0%}" if best.ndcg > 0 else ""
        mark = "**" if d > 0 else ""
        return f"{mark}{v:.3f} ({d:+.3f}{rel}){mark}"

    names = ["tuned here", "tuned here, no lexical", "tuned here, text + lexical only",
             "defaults"]  # fmt: skip
    row = [
        f"| {proto.name} | {best.ndcg:.3f} ({best.method}) | "
        f"{base.method('text').ndcg:.3f} | {base.method('lexical').ndcg:.3f} | "
        + " | ".join(margin(n) for n in names)
        + " |"
    ]
    return row, block


def quality(fake: bool) -> list[str]:
    embed, name = embedder_fn(fake)
    out = ["## Quality", "", f"Text vectors: {name}.", ""]
    protos, built = protocols(embed)
    out.append(built)
    t0 = time.perf_counter()
    pooled, value, n_pooled = derive_weights(protos)
    same = "yes" if pooled == dict(DEFAULT_WEIGHTS) else "NO (re-fit differs)"
    out += [
        "",
        f"Pooled tuning ({n_pooled} queries: the tuning queries of the three protocols, each "
        f"protocol counting the same; {time.perf_counter() - t0:.0f}s): nDCG@10 {value:.3f} "
        f"in-sample, weights {fmt_weights(pooled)}",
        f"Defaults in kg.recommend.fusion.DEFAULT_WEIGHTS: {fmt_weights(DEFAULT_WEIGHTS)} "
        f"(equal to the pooled re-fit: {same})",
        "",
        "Fused nDCG@10 on each protocol's test queries, (margin over the best single signal):",
        "",
        "| protocol | best single | text | lexical | fused, tuned on this protocol | "
        "same, without lexical | text + lexical only, tuned | fused, defaults |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    blocks: list[str] = []
    for proto in protos:
        row, block = compare(proto, pooled)
        out += row
        blocks += block
    return [*out, "", *blocks]


# --------------------------------------------------------------------------- latency
def real_texts(papers: list[Paper]) -> tuple[list[Paper], str]:
    """The generated papers with the titles and abstracts of llm-papers, cycled (from the
    second round on titles end in "- copy N", so no two are the same), so that the lexical
    index has real text to index; unchanged when ../shared is missing."""
    from dataclasses import replace as with_

    path = SHARED / "corpus" / "llm-papers.jsonl.gz"
    if not path.exists():
        return papers, "generated titles, no abstracts (../shared missing)"
    from tests.s2world import load_llm

    recs = [r for r in load_llm(path) if r.get("title")]
    out = []
    for i, p in enumerate(papers):
        r = recs[i % len(recs)]
        title = r["title"] + (f" - copy {i // len(recs)}" if i >= len(recs) else "")
        out.append(with_(p, title=title, abstract=r.get("abstract") or None))
    return out, f"titles and abstracts of the {len(recs):,} llm-papers records, cycled"


def synthetic_graph(n: int, m: int, seed: int = 0) -> tuple[KnowledgeGraph, float]:
    papers, citing, cited = generate(n, m, seed)
    papers, _ = real_texts(papers)
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
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        t0 = time.perf_counter()
        lex = RecommendIndex.of(kg).lexical
        index_s = time.perf_counter() - t0
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        ids = list(kg.papers)
        rng = np.random.default_rng(1)
        tag = f"{n:,} / {m // 1000:,}k"
        out.append(
            f"| {tag} | build graph (networkx + topics) / recommender index (once) | "
            f"{build_s:.2f} s | | | index {index_s:.2f} s (lexical: {lex.X.nnz:,} terms kept, "
            f"X + XT {lex.nbytes / 1e6:.0f} MB; peak RSS {rss0:.1f} -> {rss1:.1f} GB) |"
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
