"""Curated-list evaluation of the recommender: given 2-3 papers of an expert's list, how
many of the others come back, over a pool like a user's?

Run (from the repository root; reads ../shared):

    nice -n 10 .venv/bin/python -m tests.bench lists
    nice -n 10 .venv/bin/python -m tests.bench.bench_lists --fake-embedder --depths 1

**World.** The field-sized S2 test world (``tests.s2world.build_world(relevant_only=False)``):
REAL records from ../shared (every llm-papers record, the S2 AI-safety CSV, the MI
review library's entries with an arXiv id or DOI, the seed page's papers), ~22.9k papers,
with SYNTHETIC citation edges (seeded: earlier papers sharing words, preferential
attachment). It is served by the local S2 server.

**Pools.** What ``make run`` would ingest from the bundled seed page with the default
crawl policy, at depth 1 and at ``--depth 2`` (each a real ``litkg ingest`` against the
local server), as an in-memory graph with real MiniLM vectors (cached under the temp dir).

**Lists** (none of them was used to write the recommender's signals; the tuning half
of each list protocol is used to fit :data:`kg.recommend.fusion.DEFAULT_WEIGHTS`):

* the seed page, whole and per section (the section's papers, >= 4);
* the three Zotero libraries of ``../shared/corpus`` (MI review, superposition,
  robustness), whole, and the MI review library's keywords (>= 5 papers in the world;
  workflow notes left out, its "mechinterp" keyword kept);
* the curated llm-papers tags on interpretability (the tags the RELEVANT pattern of
  ``tests.s2world`` matches, >= 8 papers).

A list paper missing from the pool counts as a miss. Queries: seeded draws of 2 read
papers (seed page) or 3 (libraries, keywords, tags) among the list's papers in the pool.
And what a new user does: 8 pairs of seed papers (each from one section) as the read set,
judged by the MI review library and by its "mechinterp" keyword (never tuned on).

**Methods**, side by side on the same queries: litkg as ``make run`` builds it (weights
fitted at build time on the pool's curated lists when they beat the defaults beyond the
noise, else the defaults), litkg with the defaults, the TF-IDF centroid (scikit-learn),
the MiniLM centroid, co-citation counts only, popularity (citation count), S2's
recommendations as the local server gives them (tf-idf over the whole world, so they may
name papers outside the pool) and litkg with them as its ``s2`` signal, and the
previous release (commit :data:`PREVIOUS_RELEASE`, run from its own code in a
subprocess on the same pool and vectors) with its defaults and with the weights its build
fitted. Metrics: hits@20, recall@50, nDCG@10, MRR; and the years of the top 20.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.fusion import DEFAULT_WEIGHTS, fuse_matrix
from kg.recommend.index import RecommendIndex
from kg.recommend.metrics import LIST_METRICS, bootstrap_interval, list_metrics
from kg.recommend.protocols import (
    Prepared,
    Query,
    in_memory_graph,
    list_queries,
    prepare_queries,
)
from kg.recommend.rank import recommend
from kg.recommend.signals import SIGNALS
from kg.recommend.tuning import TUNABLE, WEIGHT_GRID, auto_tune, fit_weights
from kg.store.corpus import CorpusStore
from tests.bench.bench_recommend import CACHE, WORKFLOW, embedder_fn, norm_tag, texts_of
from tests.conftest import REPO, SHARED

#: The release the issue measured (its code is run as it was, from git).
PREVIOUS_RELEASE = "ed9da25"
LISTS_CACHE = CACHE / "lists"
WORLD_CACHE = CACHE / "field-world.json.gz"
K = 50
METHODS = (
    "litkg (as built)",
    "litkg defaults",
    "TF-IDF centroid",
    "MiniLM centroid",
    "co-citation only",
    "popularity",
    "previous defaults",
    "previous (as built)",
    "S2 recommendations",
    "litkg + S2 (--s2)",
)


# --------------------------------------------------------------------------- world and pools
def field_world() -> Any:
    from tests.s2world import cached_world

    return cached_world(SHARED, WORLD_CACHE, max_llm=100_000, relevant_only=False)


def ingest_pool(world: Any, depth: int) -> Path:
    """The seed page ingested from the world at ``depth`` with the default crawl policy
    (cached: a data dir per depth and policy)."""
    from ingest.crawl import CrawlPolicy
    from ingest.pipeline import run_ingest
    from ingest.s2 import S2Client
    from kg.core.settings import Settings
    from tests.s2server import S2Server

    policy = CrawlPolicy(depth=depth)
    tag = hashlib.sha256(repr(policy).encode()).hexdigest()[:12]
    data_dir = LISTS_CACHE / f"pool-depth{depth}-{tag}"
    done = data_dir / "ingested.json"
    if done.exists():
        return data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    with S2Server(world) as srv:
        settings = Settings(data_dir=data_dir, s2_api_url=srv.url, s2_min_interval=0.0)
        started = time.perf_counter()
        with S2Client(settings) as client:
            run_ingest(settings=settings, client=client, policy=policy, progress=False)
        calls = len(srv.calls)
    done.write_text(json.dumps({"calls": calls, "seconds": time.perf_counter() - started}))
    return data_dir


def pool_graph(
    data_dir: Path, embed: Callable[[list[str]], np.ndarray]
) -> tuple[KnowledgeGraph, np.ndarray]:
    """The ingested corpus as an in-memory graph (discovered topics, real vectors), and
    its vectors (rows aligned with ``kg.ids``)."""
    with CorpusStore(data_dir / "corpus.sqlite", create=False) as store:
        papers = list(store.papers())
        citations = list(store.citations(contexts=False))
        same_as = store.same_as()
        seeds = store.seeds()
    vectors = embed(texts_of(papers))
    kg = in_memory_graph(papers, citations, embeddings=vectors, same_as=same_as, seeds=seeds)
    return kg, vectors


def pool_info(data_dir: Path) -> dict[str, Any]:
    info = json.loads((data_dir / "ingested.json").read_text())
    with CorpusStore(data_dir / "corpus.sqlite", create=False) as store:
        info["papers"] = store.paper_count()
        info["edges"] = sum(1 for _ in store.citations(contexts=False))
    return info


# --------------------------------------------------------------------------- lists
def curated_lists(world: Any, kg: KnowledgeGraph) -> dict[str, dict[str, list[str]]]:
    """Protocol -> list name -> world paper ids (see the module doc)."""
    from tests.s2world import RELEVANT, load_bib

    out: dict[str, dict[str, list[str]]] = {}
    seeds = [s for s in kg.seeds if s.status == "resolved" and s.paper_id]
    out["seed page (whole)"] = {"seed page": sorted({str(s.paper_id) for s in seeds})}
    sections: dict[str, set[str]] = {}
    for s in seeds:
        if s.section_path:
            sections.setdefault(" > ".join(s.section_path), set()).add(str(s.paper_id))
    out["seed page sections"] = {k: sorted(v) for k, v in sections.items() if len(v) >= 4}

    def resolve(rec: dict[str, Any]) -> str | None:
        ext = rec["externalIds"]
        for kind, key in (("ARXIV", "ArXiv"), ("DOI", "DOI")):
            if ext.get(key):
                pid = world.resolve(f"{kind}:{ext[key]}")
                if pid:
                    return str(pid)
        return None

    keywords: dict[str, set[str]] = {}
    for name, label in (
        ("mi-review-library.bib.gz", "MI review library"),
        ("mi-superposition-library.bib", "superposition library"),
        ("mi-robustness-library.bib", "robustness library"),
    ):
        members: set[str] = set()
        for rec in load_bib(SHARED / "corpus" / name):
            pid = resolve(rec)
            if pid is None:
                continue
            members.add(pid)
            if label == "MI review library":
                for tag in rec.get("tags") or ():
                    if norm_tag(tag) not in WORKFLOW - {"mechinterp"}:
                        keywords.setdefault(norm_tag(tag), set()).add(pid)
        out[label] = {label: sorted(members)}
    out["MI review keywords"] = {k: sorted(v) for k, v in keywords.items() if len(v) >= 5}
    tags: dict[str, set[str]] = {}
    for pid, rec in world.papers.items():
        if rec.get("source") != "llm-papers":
            continue
        for tag in rec.get("tags") or ():
            if RELEVANT.search(tag):
                tags.setdefault(norm_tag(tag), set()).add(pid)
    out["llm-papers interpretability tags"] = {k: sorted(v) for k, v in tags.items() if len(v) >= 8}
    return out


#: Protocols with several lists: alternate lists (by name) tune the defaults, the others
#: are held out. Single-list protocols are held out whole.
SPLIT = ("seed page sections", "MI review keywords", "llm-papers interpretability tags")


def protocol_queries(
    lists: Mapping[str, Mapping[str, list[str]]], present: set[str], seed: int = 0
) -> dict[str, dict[str, list[Query]]]:
    """Protocol -> {"tune": queries, "test": queries}."""
    out: dict[str, dict[str, list[Query]]] = {}
    for proto, groups in lists.items():
        n_read = 2 if proto.startswith("seed page") else 3
        names = sorted(groups)
        test_names = names[1::2] if proto in SPLIT else names
        tune_names = names[0::2] if proto in SPLIT else []
        out[proto] = {
            part: list_queries(
                {g: groups[g] for g in chosen},
                present,
                n_read=n_read,
                repeats=8 if len(chosen) <= 2 or part == "tune" else 4,
                seed=seed + (0 if part == "test" else 1),
            )
            for part, chosen in (("tune", tune_names), ("test", test_names))
        }
    out.update(seed_pair_queries(lists, seed))
    return out


#: The expert lists a pair of seed papers is judged against (held out, never tuned on).
FIELD_LISTS = ("MI review library", "MI review keywords: mechinterp")


def seed_pair_queries(
    lists: Mapping[str, Mapping[str, list[str]]], seed: int = 0, pairs: int = 8
) -> dict[str, dict[str, list[Query]]]:
    """What a new user does: read 2 papers of the seed page (the same section), get the
    field's papers an expert listed elsewhere. ``pairs`` seeded pairs; hidden: the expert
    list (the MI review library whole, and its "mechinterp" keyword) less the pair."""
    sections = lists["seed page sections"] or lists["seed page (whole)"]
    rng = np.random.default_rng(seed + 7)
    names = sorted(sections)
    drawn: list[tuple[str, ...]] = []
    for k in range(pairs * 4):
        if len(drawn) >= pairs:
            break
        members = sorted(sections[names[k % len(names)]])
        pick = rng.choice(len(members), size=2, replace=False)
        pair = tuple(members[i] for i in sorted(pick.tolist()))
        if pair not in drawn:
            drawn.append(pair)
    targets = {
        "MI review library": lists["MI review library"]["MI review library"],
        "MI review keywords: mechinterp": lists["MI review keywords"].get("mechinterp", []),
    }
    out = {}
    for name in FIELD_LISTS:
        hidden = set(targets[name])
        if not hidden:
            continue
        qs = [Query(read=p, relevant=frozenset(hidden - set(p)), group=name) for p in drawn]
        out[f"seed pairs -> {name}"] = {"tune": [], "test": qs}
    return out


# --------------------------------------------------------------------------- methods
class Baselines:
    """The plain rankers: TF-IDF and MiniLM centroids, co-citation counts, popularity."""

    def __init__(self, kg: KnowledgeGraph, vectors: np.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.kg = kg
        self.index = RecommendIndex.of(kg)
        n = self.index.n
        texts = [f"{p.title} {p.abstract or ''}" if p is not None else "" for p in self.index.paper]
        self.tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts)
        rows = np.maximum(self.index.emb_row, 0)
        self.vectors = np.asarray(vectors, dtype=np.float32)[rows]
        self.vectors[self.index.emb_row < 0] = 0.0
        self.popularity = np.log1p(
            np.maximum(np.maximum(self.index.citation_count, 0), self.index.view.indeg)
        )
        self.noise = np.random.default_rng(0).random(n) * 1e-9

    def rank(self, method: str, read: np.ndarray) -> list[str]:
        index = self.index
        if method == "TF-IDF centroid":
            centroid = np.asarray(self.tfidf[read].mean(axis=0)).ravel()
            score = np.asarray(self.tfidf @ centroid).ravel()
        elif method == "MiniLM centroid":
            score = self.vectors @ self.vectors[read].mean(axis=0)
        elif method == "co-citation only":
            x = np.zeros(index.n, dtype=np.float32)
            x[read] = 1.0
            score = np.asarray(index.view.AT @ (index.view.A @ x)).astype(np.float64)
        elif method == "popularity":
            score = self.popularity.copy()
        else:
            raise KeyError(method)
        score = score + self.noise
        score[read] = -np.inf
        score[~index.recommendable] = -np.inf
        top = np.argsort(-score)[:K]
        return [index.ids[j] for j in top.tolist() if np.isfinite(score[j])]


def litkg_rank(
    kg: KnowledgeGraph, read: Sequence[str], external: Mapping[str, float] | None = None
) -> list[str]:
    return [r.paper_id for r in recommend(kg, read, k=K, external=external)]


class S2Recs:
    """S2's recommender as the local server plays it (tf-idf over the whole world, not
    only the pool), through the client and :mod:`ingest.s2recs` as ``--s2`` uses it."""

    def __init__(self, world: Any, tmp: Path) -> None:
        from ingest.s2 import S2Client
        from kg.core.settings import Settings
        from tests.s2server import S2Server

        self.server = S2Server(world).__enter__()
        settings = Settings(data_dir=tmp, s2_api_url=self.server.url, s2_min_interval=0.0)
        self.client = S2Client(settings)

    def scores(self, read: Sequence[str]) -> dict[str, float]:
        from ingest.s2recs import s2_recommendation_scores

        return s2_recommendation_scores(self.client, list(read), limit=K)

    def close(self) -> None:
        self.client.close()
        self.server.__exit__(None, None, None)


# --------------------------------------------------------------------------- previous release
#: Run with the previous release's own modules (its layout: kg/corpus.py, kg/evaluate.py,
#: kg/recommend.py), so these names are that release's, not today's.
_PREVIOUS_SCRIPT = r"""
import json, sys
import numpy as np
from kg.corpus import CorpusStore
from kg.evaluate import auto_tune, in_memory_graph
from kg.recommend import recommend

args = json.load(sys.stdin)
with CorpusStore(args["corpus"], create=False) as store:
    papers = list(store.papers())
    citations = list(store.citations(contexts=False))
    same_as = store.same_as()
    seeds = store.seeds()
vectors = np.load(args["vectors"])
kg = in_memory_graph(papers, citations, embeddings=vectors, same_as=same_as)
kg.seeds = seeds
out = {"defaults": [], "built": []}
for q in args["queries"]:
    out["defaults"].append([r.paper_id for r in recommend(kg, q, k=args["k"])])
outcome = auto_tune(kg, budget_s=args["budget"])
kg.weights = dict(outcome.weights) if outcome is not None else None
out["weights"] = kg.weights
for q in args["queries"]:
    out["built"].append([r.paper_id for r in recommend(kg, q, k=args["k"])])
json.dump(out, sys.stdout)
"""


def previous_rankings(
    data_dir: Path, vectors: np.ndarray, queries: Sequence[Query], budget_s: float
) -> dict[str, Any] | None:
    """Rankings of the previous release's code on the same pool, vectors and queries
    (None, with a note on stderr, where git cannot give that commit)."""
    checkout = LISTS_CACHE / f"release-{PREVIOUS_RELEASE}"
    if not (checkout / "kg").exists():
        checkout.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE, "kg"],
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            print(f"previous release not available: {archive.stderr.decode()}", file=sys.stderr)
            return None
        subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive.stdout, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        vec_path = Path(tmp, "vectors.npy")
        np.save(vec_path, np.asarray(vectors, dtype=np.float32))
        # The previous release reads schema 1; the tables added since are left for it
        # to ignore (its reads are the same).
        corpus = Path(tmp, "corpus.sqlite")
        shutil.copyfile(data_dir / "corpus.sqlite", corpus)
        with sqlite3.connect(corpus) as db:
            db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        args = {
            "corpus": str(corpus),
            "vectors": str(vec_path),
            "queries": [list(q.read) for q in queries],
            "k": K,
            "budget": budget_s,
        }
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        done = subprocess.run(
            [sys.executable, "-c", _PREVIOUS_SCRIPT],
            input=json.dumps(args).encode(),
            capture_output=True,
            env=env,
            cwd=checkout,
            check=False,
        )
    if done.returncode != 0:
        print(f"previous release failed: {done.stderr.decode()[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --------------------------------------------------------------------------- scoring
@dataclass
class Scores:
    """Per protocol and method: metric rows (queries x LIST_METRICS) and top-20 years."""

    rows: dict[str, dict[str, list[np.ndarray]]] = field(default_factory=dict)
    years: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    lists: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def add(
        self, proto: str, method: str, query: Query, ranked: Sequence[str], kg: KnowledgeGraph
    ) -> None:
        canon = kg.graph.canon
        relevant = {canon(r) for r in query.relevant}
        ranked = [canon(r) for r in ranked]
        self.rows.setdefault(proto, {}).setdefault(method, []).append(
            list_metrics(ranked, relevant)
        )
        self.lists.setdefault(proto, {}).setdefault(method, []).append(query.group or "")
        years = [kg.papers[r].year for r in ranked[:20] if r in kg.papers]
        self.years.setdefault(proto, {}).setdefault(method, []).extend(float(y) for y in years if y)

    def mean(self, proto: str, method: str) -> np.ndarray:
        rows = self.rows.get(proto, {}).get(method)
        return np.mean(rows, axis=0) if rows else np.full(len(LIST_METRICS), np.nan)

    def table(self, proto: str, newest: int) -> list[str]:
        head = "| method | " + " | ".join(LIST_METRICS) + " | top-20 years: median, share >= "
        out = [head + f"{newest - 1} |", "|---|---:|---:|---:|---:|---|"]
        for method in METHODS:
            if method not in self.rows.get(proto, {}):
                continue
            m = self.mean(proto, method)
            ys = np.array(self.years[proto][method])
            spread = (
                f"{int(np.median(ys))}, {float((ys >= newest - 1).mean()):.0%}" if ys.size else "-"
            )
            name = f"**{method}**" if method.startswith("litkg") else method
            out.append(f"| {name} | {m[0]:.2f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.3f} | {spread} |")
        return out


def fit_defaults(
    graphs: Sequence[KnowledgeGraph], tune: Sequence[Mapping[str, Sequence[Query]]]
) -> tuple[dict[str, float], float, int]:
    """Coordinate ascent on the pooled tuning queries (each pool's protocols counted the
    same): the weights :data:`kg.recommend.fusion.DEFAULT_WEIGHTS` are set to."""
    preps: list[Any] = []
    share: list[float] = []
    for kg, by_proto in zip(graphs, tune, strict=True):
        for part in by_proto.values():
            if not part:
                continue
            ps = [p.pruned(300) for p in prepare_queries(kg, part, time_cut=False, seed=5)]
            preps += ps
            share += [1.0 / max(1, len(ps))] * len(ps)
    weights, value = fit_weights(
        preps, starts=[DEFAULT_WEIGHTS], random_starts=3, query_weights=share, seed=0
    )
    return weights, value, len(preps)


def fusion_ceiling(
    preps: Sequence[Prepared], n_queries: int, *, starts: int = 300, seed: int = 0
) -> tuple[float, dict[str, float]]:
    """The most hits@20 any weighting of litkg's offline signals reaches on these very
    queries (fitted on the queries it is scored on, so an upper bound, not a result):
    seeded Dirichlet draws, then coordinate ascent from the best over
    :data:`~kg.recommend.tuning.WEIGHT_GRID`. Queries with no relevant paper in the pool
    count as 0 (``n_queries`` is the protocol's whole count, as in its table)."""
    free = np.array([s in TUNABLE for s in SIGNALS])

    def hits(w: np.ndarray) -> float:
        total = 0
        for p in preps:
            score = fuse_matrix(p.scaled, w / w.sum()) + p.noise * 1e-7
            m = min(20, score.size)
            total += int(p.relevant[np.argpartition(-score, m - 1)[:m]].sum())
        return total / max(1, n_queries)

    rng = np.random.default_rng(seed)
    best_w = np.where(free, np.array([DEFAULT_WEIGHTS.get(s, 0.0) for s in SIGNALS]), 0.0)
    best = hits(best_w)
    for _ in range(starts):
        w = np.where(free, rng.dirichlet(np.full(len(SIGNALS), 0.3)), 0.0)
        if (v := hits(w)) > best:
            best, best_w = v, w
    for _ in range(3):
        changed = False
        for i in np.flatnonzero(free).tolist():
            for value in WEIGHT_GRID:
                trial = best_w / best_w.max()
                trial[i] = value
                if trial.sum() > 0 and (v := hits(trial)) > best + 1e-9:
                    best, best_w, changed = v, trial, True
        if not changed:
            break
    best_w = best_w / best_w.sum()
    return best, {s: float(x) for s, x in zip(SIGNALS, best_w, strict=True) if x >= 0.005}


def ceiling_lines(
    kg: KnowledgeGraph, scores: Scores, test: Sequence[tuple[str, Query]]
) -> list[str]:
    """Per protocol: TF-IDF, litkg as built, and :func:`fusion_ceiling` against 1.5x TF-IDF."""
    out = [
        "| protocol | TF-IDF hits@20 | 1.5x TF-IDF | litkg as built | ceiling of any weights "
        "(in-sample) | ceiling vs TF-IDF | heaviest weights at the ceiling |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for proto in scores.rows:
        queries = [q for name, q in test if name == proto]
        preps = prepare_queries(kg, queries, time_cut=False, seed=5)
        best, weights = fusion_ceiling(preps, len(queries))
        tfidf = scores.mean(proto, "TF-IDF centroid")[0]
        built = scores.mean(proto, "litkg (as built)")[0]
        heavy = sorted(weights.items(), key=lambda kv: -kv[1])[:3]
        out.append(
            f"| {proto} | {tfidf:.2f} | {1.5 * tfidf:.2f} | {built:.2f} | {best:.2f} "
            f"| {_ratio(best, tfidf)} | " + ", ".join(f"{k} {v:.2f}" for k, v in heavy) + " |"
        )
    return out


def run(
    depths: Sequence[int],
    fake: bool,
    previous: bool,
    refit: bool,
    with_s2: bool = True,
    ceiling: bool = False,
) -> list[str]:
    embed, model = embedder_fn(fake)
    world = field_world()
    out = [
        f"## Curated lists (kg.evaluate list protocol): {date.today().isoformat()}",
        "",
        f"- Machine: {_cpu()}; 2 cores shared with other work (nice 10).",
        f"- World: {len(world.papers):,} papers (REAL records from ../shared), "
        f"{len(world.edges):,} SYNTHETIC citation edges; vectors: {model}.",
    ]
    pools = []
    for depth in depths:
        data_dir = ingest_pool(world, depth)
        kg, vectors = pool_graph(data_dir, embed)
        info = pool_info(data_dir)
        out.append(
            f"- Pool at depth {depth} (default crawl policy): {info['papers']:,} papers, "
            f"{info['edges']:,} edges, {info['calls']:,} S2 calls."
        )
        pools.append((depth, data_dir, kg, vectors))
    tune_sets = []
    all_queries = []
    for _depth, _dir, kg, _vec in pools:
        lists = curated_lists(world, kg)
        present = set(RecommendIndex.of(kg).ids) | set(kg.papers)
        qs = protocol_queries(lists, present)
        tune_sets.append({proto: part["tune"] for proto, part in qs.items()})
        all_queries.append(qs)
    if refit:
        weights, value, n = fit_defaults([p[2] for p in pools], tune_sets)
        out.append(
            f"- Defaults fitted on {n} tuning queries (pooled, each protocol counted the "
            f"same; nDCG@10 {value:.3f}): " + ", ".join(f"{k} {v:.3f}" for k, v in weights.items())
        )
    for (depth, data_dir, kg, vectors), qs in zip(pools, all_queries, strict=True):
        scores = Scores()
        t0 = time.perf_counter()
        outcome = auto_tune(kg, budget_s=60.0)
        built = replace(kg, weights=dict(outcome.weights) if outcome is not None else None)
        built_note = (
            f"fitted on the {outcome.protocol}" if outcome is not None else "the defaults stayed"
        )
        base = Baselines(kg, vectors)
        test = [(proto, q) for proto, part in qs.items() for q in part["test"]]
        prev = (
            previous_rankings(data_dir, vectors, [q for _, q in test], 60.0) if previous else None
        )
        s2_scores: list[dict[str, float]] = []
        if with_s2:
            with tempfile.TemporaryDirectory() as tmp:
                s2 = S2Recs(world, Path(tmp))
                try:
                    s2_scores = [s2.scores(q.read) for _, q in test]
                finally:
                    s2.close()
        for i, (proto, q) in enumerate(test):
            read = np.array(base.index.resolve(q.read), dtype=np.int64)
            scores.add(proto, "litkg (as built)", q, litkg_rank(built, q.read), kg)
            scores.add(proto, "litkg defaults", q, litkg_rank(kg, q.read), kg)
            if s2_scores:
                ranked_s2 = sorted(s2_scores[i], key=lambda p: -s2_scores[i][p])
                scores.add(proto, "S2 recommendations", q, ranked_s2, kg)
                with_them = litkg_rank(built, q.read, s2_scores[i])
                scores.add(proto, "litkg + S2 (--s2)", q, with_them, kg)
            for method in ("TF-IDF centroid", "MiniLM centroid", "co-citation only", "popularity"):
                scores.add(proto, method, q, base.rank(method, read), kg)
            if prev is not None:
                scores.add(proto, "previous defaults", q, prev["defaults"][i], kg)
                scores.add(proto, "previous (as built)", q, prev["built"][i], kg)
        newest = int(np.nanmax(RecommendIndex.of(kg).year))
        out += [
            "",
            f"### Depth {depth}: {len(test)} held-out queries "
            f"({time.perf_counter() - t0:.0f}s); as built: {built_note}",
        ]
        if prev is not None:
            pw = prev.get("weights")
            out.append(
                "Previous release as built: "
                + (", ".join(f"{k} {v:.3f}" for k, v in pw.items()) if pw else "its defaults")
            )
        for proto in qs:
            if proto not in scores.rows:
                continue
            n_q = len(scores.rows[proto]["litkg defaults"])
            n_l = len(set(scores.lists[proto]["litkg defaults"]))
            out += [
                "",
                f"**{proto}** ({n_l} lists, {n_q} queries)",
                "",
                *scores.table(proto, newest),
            ]
        out += ["", *ratio_lines(scores)]
        if ceiling:
            out += ["", f"Ceiling at depth {depth}:", "", *ceiling_lines(kg, scores, test)]
    return out


def ratio_lines(scores: Scores) -> list[str]:
    """litkg as built against the TF-IDF centroid and the previous defaults, per protocol,
    with a cluster-bootstrap interval (by list) on the hits@20 difference to TF-IDF."""
    out = [
        "| protocol | hits@20 vs TF-IDF | recall@50 vs TF-IDF | vs previous defaults (hits@20) "
        "| hits@20 diff to TF-IDF, 90% interval |",
        "|---|---:|---:|---:|---|",
    ]
    for proto, methods in scores.rows.items():
        a = scores.mean(proto, "litkg (as built)")
        t = scores.mean(proto, "TF-IDF centroid")
        p = scores.mean(proto, "previous defaults")
        diffs = (
            np.array(methods["litkg (as built)"])[:, 0] - np.array(methods["TF-IDF centroid"])[:, 0]
        )
        lists = scores.lists[proto]["litkg (as built)"]
        # One list: its queries are the units; several: whole lists are resampled.
        mean, lo, hi = bootstrap_interval(diffs, lists if len(set(lists)) > 1 else None)
        out.append(
            f"| {proto} | {_ratio(a[0], t[0])} | {_ratio(a[1], t[1])} | {_ratio(a[0], p[0])} "
            f"| {mean:+.2f} [{lo:+.2f}, {hi:+.2f}] |"
        )
    return out


def _ratio(a: float, b: float) -> str:
    if not np.isfinite(a) or not np.isfinite(b):
        return "-"
    return f"{a / b:.2f}x" if b > 0 else ("inf" if a > 0 else "1.00x")


def _cpu() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    name = re.search(r"model name\s*:\s*(.+)", text)
    amx = "with AMX" if "amx_bf16" in text else "without AMX"
    return f"{name.group(1).strip() if name else 'unknown CPU'} ({amx})"


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", default="1,2")
    parser.add_argument("--fake-embedder", action="store_true")
    parser.add_argument("--no-previous", action="store_true")
    parser.add_argument("--no-s2", action="store_true", help="leave out S2's stand-in (slow)")
    parser.add_argument("--refit", action="store_true", help="also fit the default weights")
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also the most hits@20 any fusion weights reach, fitted on the test queries",
    )
    args = parser.parse_args(argv if argv is not None else [])
    if not (SHARED / "corpus").exists():
        return [f"skipped: {SHARED} is missing (see shared/PROVENANCE.md)"]
    depths = [int(d) for d in args.depths.split(",") if d]
    lines = run(
        depths,
        args.fake_embedder,
        not args.no_previous,
        args.refit,
        not args.no_s2,
        ceiling=args.ceiling,
    )
    print("\n".join(lines))
    return lines


if __name__ == "__main__":
    main(sys.argv[1:])
