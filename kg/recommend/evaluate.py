"""How well does the recommender find what a reader should read? Offline evaluation.

Two protocols, each scoring every method side by side on the same queries:

* **Citation hold-out, time-ordered** (:func:`evaluate_holdout`). A *target* paper ``P``
  with at least ``min_refs`` references in the graph (of known year) stands for a
  reader who is about to write ``P``: the older half of its references is the read set,
  the newer half is what should be recommended. The graph is cut back to the time of
  ``P``: ``P`` itself, every paper newer than ``P`` (and every paper of unknown year)
  and all their edges are removed before any signal is computed, so neither ``P``'s own
  reference list nor later citations leak into the scores. Metrics: recall@20,
  nDCG@10 (binary gains), MRR.
* **Groups** (:func:`evaluate_groups`): papers that share a narrow tag or keyword; given
  ``n_read`` of them, how many of the others come back (precision and recall@20,
  nDCG@10, MRR). Used on real data without citations (text and topic signals only).

Methods: each single signal of :mod:`kg.recommend.engine` ranked on its own, the fused
recommender (without and with MMR diversity), popularity (in-graph citations at the time
of ``P``, or the S2 count) and random. Ties are broken by a seeded random order.

:func:`tune_weights` fits the fusion weights by coordinate ascent on mean nDCG@10 over a
*separate* set of hold-out queries (targets disjoint from the test queries); ``litkg
eval --tune`` stores them with the graph. :func:`auto_tune` does it at build time within
a time budget (the citation hold-out, or the seed page's sections as groups), and keeps
the weights only if they beat the defaults on held-out queries.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.core.errors import EvaluationError
from kg.core.model import Citation, Paper
from kg.graph.citations import CitationGraph
from kg.recommend.engine import (
    DEFAULT_DIVERSITY,
    DEFAULT_WEIGHTS,
    SIGNALS,
    RecommendIndex,
    fuse_matrix,
    raw_signals,
    resolve_weights,
    scaled_signals,
    select,
    signal_matrix,
)
from kg.store.corpus import OFFLINE, RESOLVED

if TYPE_CHECKING:
    from kg.graph.knowledge import KnowledgeGraph
    from kg.store.corpus import SeedRow
    from kg.topics.model import TopicModel

#: Signals the offline evaluations can score and tune (S2's recommendations are live only).
TUNABLE: tuple[str, ...] = tuple(s for s in SIGNALS if s != "s2")
#: Single-signal methods, by the signal they rank on.
SINGLE_METHODS: tuple[str, ...] = TUNABLE
BASELINES: tuple[str, ...] = ("popularity", "random")
FUSED = "fused"
FUSED_MMR = "fused+mmr"


# --------------------------------------------------------------------------- in-memory graphs
def in_memory_graph(
    papers: Sequence[Paper],
    citations: Iterable[Citation] = (),
    *,
    embeddings: np.ndarray,
    same_as: Mapping[str, str] | None = None,
    topics: TopicModel | None = None,
    weights: Mapping[str, float] | None = None,
    seeds: Sequence[SeedRow] = (),
    **discover: Any,
) -> KnowledgeGraph:
    """A :class:`KnowledgeGraph` built in memory (no corpus store, no files): for
    evaluations on data that is not an ingested corpus, tests and benchmarks.
    ``embeddings`` are rows aligned with ``papers``; without ``topics`` the discovered
    and S2-fields topics are built from them (``discover`` goes to the topic builder);
    ``seeds``: the seed rows of the sources (for the curated-list protocols)."""
    from kg.graph.knowledge import KnowledgeGraph
    from kg.topics.schemes import build_topic_model

    same_as = dict(same_as or {})
    ids = [p.paper_id for p in papers]
    vectors = np.asarray(embeddings, dtype=np.float32)
    if vectors.shape[0] != len(ids):
        raise EvaluationError(
            f"{vectors.shape[0]} embedding rows for {len(ids)} papers: give one row per paper."
        )
    if topics is None:
        topics = build_topic_model(
            list(papers), ids=ids, embeddings=vectors, same_as=same_as, **discover
        )
    graph = CitationGraph(
        papers,
        citations,
        same_as=same_as,
        seeds=seeds,
        topics=topics.topics,
        memberships=topics.memberships,
    )
    return KnowledgeGraph(
        papers={p.paper_id: p for p in papers},
        graph=graph,
        ids=ids,
        embeddings=vectors,
        title_only=np.array([not p.abstract for p in papers], dtype=bool),
        specter_ids=[],
        specter=np.zeros((0, 768), dtype=np.float32),
        topics=topics,
        seeds=list(seeds),
        same_as=same_as,
        manifest={"built_at": "in memory", "papers": len(ids)},
        weights=dict(weights) if weights else None,
    )


# --------------------------------------------------------------------------- metrics
def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of ``relevant`` found in the first ``k`` of ``ranked`` (0 when none relevant)."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the first ``k`` places that hold a relevant paper (empty places count)."""
    return len(set(ranked[:k]) & set(relevant)) / k if k > 0 else 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain with binary gains: ``sum 1/log2(rank + 1)``
    over hits in the first ``k``, over the best possible for ``min(|relevant|, k)`` hits."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
    return dcg / ideal


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """``1 / rank`` of the first relevant paper (0 when none is ranked); MRR is its mean."""
    rel = set(relevant)
    for i, pid in enumerate(ranked):
        if pid in rel:
            return 1.0 / (i + 1)
    return 0.0


_DISCOUNT = 1.0 / np.log2(np.arange(2, 2002))


def _metrics(order_hits: np.ndarray, n_rel: int, k_recall: int, k_ndcg: int) -> np.ndarray:
    """(precision@k_recall, recall@k_recall, nDCG@k_ndcg, RR) from the hit flags of a ranking."""
    if n_rel == 0:
        return np.zeros(4)
    top = order_hits[:k_recall]
    found = float(top.sum())
    gains = order_hits[:k_ndcg].astype(np.float64)
    dcg = float((gains * _DISCOUNT[: gains.size]).sum())
    ideal = float(_DISCOUNT[: min(n_rel, k_ndcg)].sum())
    first = np.flatnonzero(order_hits)
    rr = 1.0 / (first[0] + 1) if first.size else 0.0
    return np.array([found / k_recall, found / n_rel, dcg / ideal, rr])


def _order(score: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Indices by score descending (NaN last), ties in a seeded random order."""
    s = np.where(np.isnan(score), -np.inf, score)
    return np.lexsort((noise, -s))


# --------------------------------------------------------------------------- reports
@dataclass(frozen=True)
class MethodScore:
    """Mean metrics of one method over ``queries`` queries."""

    method: str
    precision: float
    recall: float
    ndcg: float
    mrr: float
    queries: int

    @classmethod
    def of(cls, method: str, rows: np.ndarray) -> MethodScore:
        """Means of ``rows`` (queries x (precision, recall, nDCG, RR))."""
        mean = rows.mean(axis=0) if rows.size else np.zeros(4)
        p, r, n, m = (round(float(x), 4) for x in mean)
        return cls(method, p, r, n, m, int(rows.shape[0]))


@dataclass(frozen=True)
class Query:
    """One hold-out query: ``read`` given, ``relevant`` hidden; ``target`` the paper whose
    references they are (None for group queries) and ``group`` the tag (group queries)."""

    read: tuple[str, ...]
    relevant: frozenset[str]
    target: str | None = None
    year: int | None = None
    group: str | None = None


@dataclass(frozen=True)
class EvaluationReport:
    """Methods side by side. ``kind``: ``holdout`` or ``groups``; ``weights``: the fusion
    weights evaluated; ``tuned``: weights fitted on separate queries (None if not tuned);
    ``groups``: per-group rows (group evaluation only); ``notes``: how it was run."""

    kind: str
    methods: tuple[MethodScore, ...]
    weights: Mapping[str, float]
    queries: int
    k_recall: int
    k_ndcg: int
    tuned: Mapping[str, float] | None = None
    tuning_queries: int = 0
    groups: tuple[tuple[str, int, tuple[MethodScore, ...]], ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    stats: Mapping[str, float] = field(default_factory=dict)

    def method(self, name: str) -> MethodScore:
        for m in self.methods:
            if m.method == name:
                return m
        raise KeyError(name)

    def best_single(self) -> MethodScore:
        """The single signal with the best nDCG@10 (baselines and fused excluded)."""
        singles = [m for m in self.methods if m.method in SINGLE_METHODS]
        return max(singles, key=lambda m: (m.ndcg, m.recall))

    def margin(self, method: str = FUSED) -> float:
        """nDCG@10 of ``method`` minus that of the best single signal."""
        return self.method(method).ndcg - self.best_single().ndcg

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["best_single"] = self.best_single().method
        data["margin_ndcg"] = self.margin()
        return data

    def table(self) -> list[str]:
        """Markdown table, best nDCG@10 first."""
        pk, rk, nk = f"P@{self.k_recall}", f"recall@{self.k_recall}", f"nDCG@{self.k_ndcg}"
        head = ["| method | " + " | ".join((pk, rk, nk, "MRR")) + " |", "|---|---:|---:|---:|---:|"]
        rows = sorted(self.methods, key=lambda m: -m.ndcg)
        best = self.best_single().method
        out = head
        for m in rows:
            name = m.method + (" (best single)" if m.method == best else "")
            if m.method in (FUSED, FUSED_MMR):
                name = f"**{name}**"
            out.append(
                f"| {name} | {m.precision:.3f} | {m.recall:.3f} | {m.ndcg:.3f} | {m.mrr:.3f} |"
            )
        return out

    def lines(self) -> list[str]:
        """The table and a sentence on the fused recommender against the best single signal."""
        best = self.best_single()
        out = [*self.notes, "", *self.table(), ""]
        for name in (FUSED, FUSED_MMR):
            try:
                m = self.method(name)
            except KeyError:
                continue
            d = m.ndcg - best.ndcg
            verdict = "beats" if d > 0 else ("ties" if d == 0 else "does NOT beat")
            rel = f" ({d / best.ndcg:+.0%})" if best.ndcg > 0 else ""
            out.append(
                f"{name} {verdict} the best single signal ({best.method}) on nDCG@{self.k_ndcg}: "
                f"{m.ndcg:.3f} vs {best.ndcg:.3f}, margin {d:+.3f}{rel}."
            )
        if self.tuned is not None:
            out.append(
                f"Weights tuned on {self.tuning_queries} separate queries: "
                + ", ".join(f"{k} {v:.3f}" for k, v in self.tuned.items())
            )
        else:
            out.append("Weights: " + ", ".join(f"{k} {v:.3f}" for k, v in self.weights.items()))
        return out


# --------------------------------------------------------------------------- hold-out queries
#: How :func:`holdout_queries` splits a target's references into read and hidden.
SPLITS = ("random", "time")


def holdout_queries(
    kg: KnowledgeGraph,
    *,
    n: int | None = 200,
    min_refs: int = 8,
    seed: int = 0,
    skip: int = 0,
    split: str = "random",
) -> list[Query]:
    """Hold-out queries (see the module doc): targets drawn at random (seeded) among papers
    with >= ``min_refs`` references of known year in the graph; ``skip`` leaves out the
    first ``skip`` of the drawn order (to get a disjoint tuning set). ``split``:
    ``random`` (a seeded half of the references is read, the rest hidden: a diagnostic)
    or ``time`` (the older half read, the newer half hidden: rewards recency by
    construction, so it judges nothing at build time)."""
    if split not in SPLITS:
        raise EvaluationError(f"split must be one of {', '.join(SPLITS)}, not {split!r}.")
    index = RecommendIndex.of(kg)
    view = index.view
    known = index.recommendable & ~np.isnan(index.year)
    eligible = eligible_targets(kg, min_refs)
    if eligible.size == 0:
        raise EvaluationError(
            f"No paper has {min_refs} or more references of known year in the graph, so the "
            "citation hold-out has nothing to hide. Ingest deeper (`litkg ingest --depth 2`), "
            "rebuild, or lower min_refs."
        )
    rng = np.random.default_rng(seed)
    drawn = rng.permutation(eligible)
    drawn = drawn[skip:] if n is None else drawn[skip : skip + n]
    out = []
    for t in drawn.tolist():
        r = view.A.indices[view.A.indptr[t] : view.A.indptr[t + 1]]
        r = r[known[r] & (index.year[r] <= index.year[t])]
        tie = rng.random(r.size)
        r = r[np.lexsort((tie, index.year[r]))] if split == "time" else r[np.argsort(tie)]
        half = r.size // 2
        out.append(
            Query(
                read=tuple(index.ids[j] for j in r[:half]),
                relevant=frozenset(index.ids[j] for j in r[half:]),
                target=index.ids[t],
                year=int(index.year[t]),
            )
        )
    return out


def eligible_targets(kg: KnowledgeGraph, min_refs: int) -> np.ndarray:
    """Node numbers of the papers (of known year) with >= ``min_refs`` references of known
    year in the graph: the possible targets of the citation hold-out."""
    index = RecommendIndex.of(kg)
    known = index.recommendable & ~np.isnan(index.year)
    refs_known = np.asarray(index.view.A @ known.astype(index.view.A.dtype)).ravel()
    return np.flatnonzero(known & (refs_known >= min_refs))


@dataclass
class _Prepared:
    """One query with every signal computed: candidates, their scaled and raw signals."""

    query: Query
    rows: np.ndarray  # candidate node numbers
    scaled: np.ndarray  # (m, len(SIGNALS)) scaled signals
    raw: np.ndarray  # (m, len(SIGNALS)) raw signals (for single-signal rankings)
    popularity: np.ndarray  # (m,)
    relevant: np.ndarray  # (m,) bool
    noise: np.ndarray  # (m,) tie-breaker
    cand: np.ndarray  # (n,) bool mask (empty in a pruned query)
    full_scaled: dict[str, np.ndarray]  # (empty in a pruned query)
    n_relevant: int = -1  # relevant candidates, pruned ones too (-1: relevant.sum())

    def __post_init__(self) -> None:
        if self.n_relevant < 0:
            self.n_relevant = int(self.relevant.sum())

    def pruned(self, pool: int) -> _Prepared:
        """The query on the union of the ``pool`` best candidates by each signal (scaled)
        and the ``pool`` best by the default fusion: the fused top 10 of any weights lies
        there in practice, and tuning on it is many times cheaper. Relevant candidates
        left out still count in the ideal DCG; the full arrays are dropped."""
        m = self.rows.size
        if m <= pool:
            return replace(self, cand=np.zeros(0, dtype=bool), full_scaled={})
        fused = fuse_matrix(self.scaled, np.array([DEFAULT_WEIGHTS[s] for s in SIGNALS]))
        cols = [self.scaled[:, i] for i in range(self.scaled.shape[1])] + [fused]
        keep = np.zeros(m, dtype=bool)
        for col in cols:
            keep[np.argpartition(-col, pool - 1)[:pool]] = True
        return _Prepared(
            query=self.query,
            rows=self.rows[keep],
            scaled=self.scaled[keep],
            raw=self.raw[keep],
            popularity=self.popularity[keep],
            relevant=self.relevant[keep],
            noise=self.noise[keep],
            cand=np.zeros(0, dtype=bool),
            full_scaled={},
            n_relevant=self.n_relevant,
        )


def _prepare(
    index: RecommendIndex, query: Query, rng: np.random.Generator, *, time_cut: bool
) -> _Prepared | None:
    read = np.array(index.resolve(query.read), dtype=np.int64)
    # A hidden paper the graph does not hold (a curated list's paper outside the pool)
    # cannot be found: it counts as a miss.
    found = [index.pos.get(index.canon(r)) for r in query.relevant]
    missing = sum(1 for j in found if j is None)
    relevant_nodes = np.array(sorted({j for j in found if j is not None}), dtype=np.int64)
    base = index.recommendable.copy()
    view = index.view
    if time_cut and query.target is not None and query.year is not None:
        t = index.pos[index.canon(query.target)]
        with np.errstate(invalid="ignore"):
            keep = ~np.isnan(index.year) & (index.year <= query.year)
        keep[t] = False
        view = view.masked(keep)
        base &= keep
    base[read] = False
    base[index.title_twins(read)] = False
    rel_mask = np.zeros(index.n, dtype=bool)
    rel_mask[relevant_nodes] = True
    rel_mask &= base
    if read.size == 0 or not rel_mask.any():
        return None
    sig = raw_signals(index, read, view)
    scaled = scaled_signals(sig, base)
    rows = np.flatnonzero(base)
    raw = np.stack([sig.raw[s][rows] for s in SIGNALS], axis=1)
    pop = np.log1p(np.maximum(np.maximum(index.citation_count[rows], 0), view.indeg[rows]))
    return _Prepared(
        query=query,
        rows=rows,
        scaled=signal_matrix(scaled, rows),
        raw=raw,
        popularity=pop,
        relevant=rel_mask[rows],
        noise=rng.random(rows.size),
        cand=base,
        full_scaled=scaled,
        n_relevant=int(rel_mask.sum()) + missing,
    )


def _score_methods(
    index: RecommendIndex,
    preps: Sequence[_Prepared],
    weights: Mapping[str, float],
    *,
    k_recall: int,
    k_ndcg: int,
    seed: int,
    diversity: float,
) -> tuple[list[MethodScore], dict[str, np.ndarray]]:
    methods = [*SINGLE_METHODS, FUSED, FUSED_MMR, *BASELINES]
    per: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    w = np.array([weights.get(s, 0.0) for s in SIGNALS], dtype=np.float32)
    rng = np.random.default_rng(seed + 7)
    for p in preps:
        n_rel = p.n_relevant
        for i, name in enumerate(SINGLE_METHODS):
            col = p.raw[:, i]
            order = _order(col, p.noise)
            per[name].append(_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
        fused = fuse_matrix(p.scaled, w)
        order = _order(fused.astype(np.float64), p.noise)
        per[FUSED].append(_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
        full = np.full(index.n, -np.inf)
        full[p.rows] = fused
        picked = select(index, full, p.cand, k_recall, diversity)
        where = {j: i for i, j in enumerate(p.rows.tolist())}
        head = np.array([where[j] for j in picked], dtype=np.int64)
        rest = order[~np.isin(order, head)]
        mmr_order = np.concatenate([head, rest])
        per[FUSED_MMR].append(_metrics(p.relevant[mmr_order], n_rel, k_recall, k_ndcg))
        order = _order(p.popularity, p.noise)
        per["popularity"].append(_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
        order = rng.permutation(p.rows.size)
        per["random"].append(_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
    out = []
    arrays = {}
    for name in methods:
        arr = np.array(per[name]) if per[name] else np.zeros((0, 4))
        arrays[name] = arr
        out.append(MethodScore.of(name, arr))
    return out, arrays


# --------------------------------------------------------------------------- tuning
def _mean_ndcg(
    preps: Sequence[_Prepared], w: np.ndarray, k: int, share: np.ndarray | None = None
) -> float:
    values = _ndcg_each(preps, w, k)
    if share is None:
        return float(values.mean()) if values.size else 0.0
    return float((values * share).sum())


def _ndcg_each(preps: Sequence[_Prepared], w: np.ndarray, k: int) -> np.ndarray:
    """nDCG@k of the fused ranking of each prepared query with weights ``w``."""
    values = np.empty(len(preps))
    for i, p in enumerate(preps):
        s = fuse_matrix(p.scaled, w) + p.noise * 1e-7
        m = min(k, s.size)
        top = np.argpartition(-s, m - 1)[:m]
        top = top[np.argsort(-s[top])]
        gains = p.relevant[top].astype(np.float64)
        dcg = float((gains * _DISCOUNT[: gains.size]).sum())
        ideal = float(_DISCOUNT[: min(p.n_relevant, k)].sum())
        values[i] = dcg / ideal if ideal > 0 else 0.0
    return values


#: The values each (unnormalised) weight may take in :func:`fit_weights`.
WEIGHT_GRID = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0)


def fit_weights(
    preps: Sequence[_Prepared],
    *,
    k: int = 10,
    rounds: int = 4,
    starts: Sequence[Mapping[str, float]] = (),
    random_starts: int = 2,
    query_weights: Sequence[float] | None = None,
    seed: int = 0,
    signals: Collection[str] | None = None,
) -> tuple[dict[str, float], float]:
    """Coordinate ascent on the (weighted) mean nDCG@k of ``preps``.

    Each weight in turn takes the best value of :data:`WEIGHT_GRID` (the others fixed;
    the vector is normalised to sum 1 before scoring), until a round changes nothing or
    ``rounds`` are done. It starts from equal weights, from each of ``starts`` and from
    ``random_starts`` seeded Dirichlet draws; the best end point wins. ``query_weights``
    weigh the queries (e.g. so that each protocol counts the same); ``signals``: only these
    may weigh more than 0 (by default every signal but ``s2``, which no offline query
    has). Returns (weights summing to 1, rounded to 3 decimals; the objective they reach)."""
    free = np.array([s in (TUNABLE if signals is None else signals) for s in SIGNALS])
    if not free.any():
        raise EvaluationError(f"No signal to tune among {sorted(signals or ())}; use {SIGNALS}.")
    share = None
    if query_weights is not None:
        share = np.asarray(query_weights, dtype=np.float64)
        share = share / share.sum()
    rng = np.random.default_rng(seed)
    points = [np.full(len(SIGNALS), 1.0)]
    points += [np.array([float(st.get(s, 0.0)) for s in SIGNALS]) for st in starts]
    points += [rng.dirichlet(np.ones(len(SIGNALS))) for _ in range(random_starts)]
    best_w: np.ndarray | None = None
    best_v = -1.0
    for w in points:
        w = np.where(free, w, 0.0)
        w = w / w.max() if w.max() > 0 else free.astype(np.float64)
        value = _mean_ndcg(preps, w / w.sum(), k, share)
        for _ in range(rounds):
            changed = False
            for i in np.flatnonzero(free).tolist():
                for cand in WEIGHT_GRID:
                    if cand == w[i]:
                        continue
                    trial = w.copy()
                    trial[i] = cand
                    if trial.sum() <= 0:
                        continue
                    v = _mean_ndcg(preps, trial / trial.sum(), k, share)
                    if v > value + 1e-9:
                        value, w, changed = v, trial, True
            if not changed:
                break
        if value > best_v:
            best_v, best_w = value, w / w.sum()
    assert best_w is not None
    return {s: round(float(x), 3) for s, x in zip(SIGNALS, best_w, strict=True)}, best_v


# --------------------------------------------------------------------------- protocols
def prepare_queries(
    kg: KnowledgeGraph, queries: Iterable[Query], *, time_cut: bool, seed: int = 0
) -> list[_Prepared]:
    """Every signal of every query, computed once (queries left with no relevant
    candidate are dropped). ``time_cut``: cut the graph back to each target's time."""
    index = RecommendIndex.of(kg)
    rng = np.random.default_rng(seed + 1)
    return [p for q in queries if (p := _prepare(index, q, rng, time_cut=time_cut)) is not None]


def evaluate_queries(
    kg: KnowledgeGraph,
    queries: Iterable[Query],
    *,
    time_cut: bool = False,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    k_recall: int = 20,
    k_ndcg: int = 10,
    diversity: float = DEFAULT_DIVERSITY,
    kind: str = "queries",
    notes: Sequence[str] = (),
) -> EvaluationReport:
    """Every method on the given queries (``read`` given, ``relevant`` hidden)."""
    started = time.perf_counter()
    preps = prepare_queries(kg, queries, time_cut=time_cut, seed=seed)
    report = evaluate_prepared(
        kg,
        preps,
        weights=weights,
        seed=seed,
        k_recall=k_recall,
        k_ndcg=k_ndcg,
        diversity=diversity,
        kind=kind,
        notes=notes,
    )
    return replace(report, seconds=time.perf_counter() - started)


def evaluate_prepared(
    kg: KnowledgeGraph,
    preps: Sequence[_Prepared],
    *,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    k_recall: int = 20,
    k_ndcg: int = 10,
    diversity: float = DEFAULT_DIVERSITY,
    kind: str = "queries",
    notes: Sequence[str] = (),
) -> EvaluationReport:
    """Every method on queries prepared once (:func:`prepare_queries`, not pruned): to
    compare several weight sets on the same queries without computing the signals again."""
    started = time.perf_counter()
    if not preps:
        raise EvaluationError(
            "No query has a relevant paper left among the candidates; check the queries' ids."
        )
    if any(p.cand.size == 0 for p in preps):
        raise EvaluationError("Pruned queries are for tuning only; evaluate the full ones.")
    used = resolve_weights(kg.weights, weights)
    methods, _ = _score_methods(
        RecommendIndex.of(kg),
        preps,
        used,
        k_recall=k_recall,
        k_ndcg=k_ndcg,
        seed=seed,
        diversity=diversity,
    )
    return EvaluationReport(
        kind=kind,
        methods=tuple(methods),
        weights=used,
        queries=len(preps),
        k_recall=k_recall,
        k_ndcg=k_ndcg,
        notes=tuple(notes),
        seconds=time.perf_counter() - started,
        stats=_stats(preps),
    )


def _stats(preps: Sequence[_Prepared]) -> dict[str, float]:
    return {
        "mean_read": float(np.mean([len(p.query.read) for p in preps])),
        "mean_relevant": float(np.mean([p.relevant.sum() for p in preps])),
        "mean_candidates": float(np.mean([p.rows.size for p in preps])),
    }


def tune_weights(
    kg: KnowledgeGraph,
    *,
    queries: int = 200,
    min_refs: int = 8,
    seed: int = 0,
    skip: int = 0,
    k: int = 10,
    split: str = "random",
) -> dict[str, float]:
    """Fusion weights that maximise mean nDCG@``k`` on ``queries`` hold-out queries
    (drawn after the first ``skip``, so a test set of ``skip`` queries with the same seed
    stays unseen). Save them with :func:`kg.build.save_weights`."""
    qs = holdout_queries(kg, n=queries, min_refs=min_refs, seed=seed, skip=skip, split=split)
    preps = prepare_queries(kg, qs, time_cut=True, seed=seed + 100)
    if not preps:
        raise EvaluationError(
            "No hold-out query is left to tune on (every hidden reference was cut by the time "
            "order); ingest deeper or lower min_refs."
        )
    weights, _ = fit_weights(preps, k=k, starts=[DEFAULT_WEIGHTS], seed=seed)
    return weights


def evaluate_holdout(
    kg: KnowledgeGraph,
    *,
    queries: int = 200,
    min_refs: int = 8,
    tune: bool = False,
    tune_queries: int | None = None,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    k_recall: int = 20,
    k_ndcg: int = 10,
    diversity: float = DEFAULT_DIVERSITY,
    split: str = "random",
) -> EvaluationReport:
    """The citation hold-out (module doc; ``split`` as in :func:`holdout_queries`) with
    every method side by side.

    ``tune``: first fit the weights (:func:`tune_weights`) on ``tune_queries`` (default:
    as many as ``queries``) other targets, then evaluate with them (``report.tuned``);
    else the graph's weights, or ``weights``, or the defaults."""
    started = time.perf_counter()
    test = holdout_queries(kg, n=queries, min_refs=min_refs, seed=seed, split=split)
    tuned = None
    n_tune = 0
    if tune:
        n_tune = tune_queries or queries
        try:
            tuned = tune_weights(
                kg,
                queries=n_tune,
                min_refs=min_refs,
                seed=seed,
                skip=len(test),
                k=k_ndcg,
                split=split,
            )
        except EvaluationError:
            raise EvaluationError(
                f"Too few eligible papers to tune on queries disjoint from the {len(test)} "
                "test queries; lower --queries, or ingest deeper."
            ) from None
    report = evaluate_queries(
        kg,
        test,
        time_cut=True,
        weights=tuned or weights,
        seed=seed,
        k_recall=k_recall,
        k_ndcg=k_ndcg,
        diversity=diversity,
        kind="holdout",
    )
    st = report.stats
    halves = (
        ("the older half", "the newer half") if split == "time" else ("a random half", "the rest")
    )
    notes = (
        f"Citation hold-out, {split} split: {report.queries} target papers with >= {min_refs} "
        f"references in the graph; read = {halves[0]} of the references "
        f"(mean {st['mean_read']:.1f}), hidden = {halves[1]} "
        f"(mean {st['mean_relevant']:.1f} still candidates); the target, newer papers and "
        f"their edges removed (mean {st['mean_candidates']:,.0f} candidates).",
    )
    return replace(
        report,
        tuned=tuned,
        tuning_queries=n_tune if tuned else 0,
        notes=notes,
        seconds=time.perf_counter() - started,
    )


def group_queries(
    groups: Mapping[str, Collection[str]],
    *,
    n_read: int = 3,
    repeats: int = 5,
    seed: int = 0,
) -> list[Query]:
    """For each group with more than ``n_read`` + 1 papers, ``repeats`` draws of ``n_read``
    read papers; the rest of the group is relevant."""
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(groups):
        members = sorted(set(groups[name]))
        if len(members) < n_read + 2:
            continue
        for _ in range(repeats):
            pick = rng.choice(len(members), size=n_read, replace=False)
            read = tuple(members[i] for i in sorted(pick.tolist()))
            out.append(Query(read=read, relevant=frozenset(set(members) - set(read)), group=name))
    return out


def evaluate_groups(
    kg: KnowledgeGraph,
    groups: Mapping[str, Collection[str]],
    *,
    n_read: int = 3,
    repeats: int = 5,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    k_recall: int = 20,
    k_ndcg: int = 10,
    diversity: float = DEFAULT_DIVERSITY,
    queries: Sequence[Query] | None = None,
) -> EvaluationReport:
    """Given ``n_read`` papers of a group (tag, keyword), how many of the others come back?
    Every method side by side; per-group rows in ``report.groups``. ``queries``: drawn
    already (else :func:`group_queries`)."""
    started = time.perf_counter()
    index = RecommendIndex.of(kg)
    qs = (
        list(queries)
        if queries is not None
        else group_queries(groups, n_read=n_read, repeats=repeats, seed=seed)
    )
    if not qs:
        raise EvaluationError(
            f"No group has {n_read + 2} or more papers; give bigger groups or lower n_read."
        )
    preps = prepare_queries(kg, qs, time_cut=False, seed=seed)
    used = resolve_weights(kg.weights, weights)
    methods, arrays = _score_methods(
        index, preps, used, k_recall=k_recall, k_ndcg=k_ndcg, seed=seed, diversity=diversity
    )
    rows = []
    names = [m.method for m in methods]
    for g in sorted({p.query.group for p in preps if p.query.group}):
        mask = np.array([p.query.group == g for p in preps])
        scores = tuple(MethodScore.of(name, arrays[name][mask]) for name in names)
        rows.append((g, len(set(groups[g])), scores))
    notes = (
        f"Groups: {len(rows)} groups, {len(preps)} queries ({repeats} draws of {n_read} read "
        f"papers per group; the rest of the group is relevant); {index.recommendable.sum():,} "
        "papers.",
    )
    return EvaluationReport(
        kind="groups",
        methods=tuple(methods),
        weights=used,
        queries=len(preps),
        k_recall=k_recall,
        k_ndcg=k_ndcg,
        groups=tuple(rows),
        notes=notes,
        seconds=time.perf_counter() - started,
        stats=_stats(preps),
    )


def group_table(report: EvaluationReport, methods: Iterable[str]) -> list[str]:
    """Per-group Markdown rows: recall@k of each of ``methods``."""
    methods = list(methods)
    head = "| group | papers | " + " | ".join(f"{m} R@{report.k_recall}" for m in methods) + " |"
    out = [head, "|---|---:|" + "---:|" * len(methods)]
    for name, size, scores in report.groups:
        by = {s.method: s for s in scores}
        out.append(
            f"| {name} | {size} | " + " | ".join(f"{by[m].recall:.3f}" for m in methods) + " |"
        )
    return out


# --------------------------------------------------------------------------- curated lists
#: The metrics of the curated-list protocol, in the order of :func:`list_metrics`.
LIST_METRICS: tuple[str, ...] = ("hits@20", "recall@50", "nDCG@10", "MRR")


def list_queries(
    lists: Mapping[str, Collection[str]],
    present: Collection[str],
    *,
    n_read: int = 2,
    repeats: int = 5,
    min_size: int = 4,
    seed: int = 0,
) -> list[Query]:
    """Curated-list queries: given ``n_read`` papers of an expert's list, recover the rest.

    For each list with >= ``min_size`` members and more than ``n_read`` of them in
    ``present`` (the pool a user would have), ``repeats`` seeded draws of ``n_read`` read
    papers among the present members; every other member is relevant, present or not, so
    a list paper missing from the pool counts as a miss. Draws repeat only when a list has
    too few present members for distinct ones."""
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(lists):
        members = sorted(set(lists[name]))
        here = [m for m in members if m in present]
        if len(members) < max(min_size, n_read + 1) or len(here) < n_read + 1:
            continue
        seen: set[tuple[str, ...]] = set()
        for _ in range(repeats * 4):
            if len(seen) >= repeats:
                break
            pick = rng.choice(len(here), size=n_read, replace=False)
            read = tuple(here[i] for i in sorted(pick.tolist()))
            if read in seen:
                continue
            seen.add(read)
            out.append(Query(read=read, relevant=frozenset(set(members) - set(read)), group=name))
    return out


def list_metrics(ranked: Sequence[str], relevant: Collection[str]) -> np.ndarray:
    """(hits@20, recall@50, nDCG@10, reciprocal rank) of one ranking (:data:`LIST_METRICS`)."""
    rel = set(relevant)
    if not rel:
        return np.zeros(4)
    hits = np.array([pid in rel for pid in ranked], dtype=bool)
    dcg = float((hits[:10] * _DISCOUNT[: min(10, hits.size)]).sum())
    ideal = float(_DISCOUNT[: min(len(rel), 10)].sum())
    first = np.flatnonzero(hits)
    return np.array(
        [
            float(hits[:20].sum()),
            float(hits[:50].sum()) / len(rel),
            dcg / ideal,
            1.0 / (first[0] + 1) if first.size else 0.0,
        ]
    )


def bootstrap_interval(
    diffs: Sequence[float],
    clusters: Sequence[str] | None = None,
    *,
    level: float = 0.9,
    draws: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, low, high): a percentile bootstrap interval of the mean of ``diffs``,
    resampling whole ``clusters`` (e.g. the list a query came from, whose queries are not
    independent) when given, else single values."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        return 0.0, 0.0, 0.0
    keys = list(clusters) if clusters is not None else [str(i) for i in range(d.size)]
    names = sorted(set(keys))
    by = {n: i for i, n in enumerate(names)}
    idx = np.array([by[k] for k in keys])
    sums = np.bincount(idx, weights=d, minlength=len(names))
    counts = np.bincount(idx, minlength=len(names)).astype(np.float64)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(names), size=(draws, len(names)))
    means = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    tail = (1.0 - level) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(d.mean()), float(low), float(high)


def evaluate_lists(
    kg: KnowledgeGraph,
    lists: Mapping[str, Collection[str]] | None = None,
    *,
    n_read: int = 2,
    repeats: int = 5,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    k_recall: int = 20,
    k_ndcg: int = 10,
    diversity: float = DEFAULT_DIVERSITY,
) -> EvaluationReport:
    """The curated-list protocol on the graph's own lists (:func:`curated_lists`: seed-page
    sections, source keywords, and ``lists``, e.g. the user's reading lists): given
    ``n_read`` papers of a list, how many of the others come back; every method side by
    side, per-list rows in ``report.groups``."""
    started = time.perf_counter()
    kg = judged_graph(kg)
    groups = curated_lists(kg, lists)
    present = set(RecommendIndex.of(kg).ids)
    qs = list_queries(groups, present, n_read=n_read, repeats=repeats, seed=seed)
    if not qs:
        raise EvaluationError(
            f"No curated list has {n_read + 1} or more papers in the graph: save a reading "
            "list (`litkg list add NAME ID...`) or ingest a seed page with sections."
        )
    report = evaluate_groups(
        kg,
        groups,
        n_read=n_read,
        repeats=repeats,
        weights=weights,
        seed=seed,
        k_recall=k_recall,
        k_ndcg=k_ndcg,
        diversity=diversity,
        queries=qs,
    )
    notes = (
        f"Curated lists: {len(report.groups)} lists ({', '.join(sorted(groups))[:300]}), "
        f"{report.queries} queries ({repeats} draws of {n_read} read papers per list; the "
        "rest of the list is hidden).",
    )
    return replace(report, kind="lists", notes=notes, seconds=time.perf_counter() - started)


# --------------------------------------------------------------------------- build-time tuning
#: :func:`auto_tune` needs this many curated lists (half to tune on, half held out) ...
AUTO_MIN_LISTS = 4
#: ... each with at least this many papers in the graph.
AUTO_LIST_SIZE = 4
AUTO_LIST_READ = 2  # read papers per query (the rest of the list is hidden)
#: Seed rows that are papers of the graph: resolved on S2, or kept offline as local papers.
LISTED = frozenset({RESOLVED, OFFLINE})
AUTO_LIST_DRAWS = 5  # queries per list
#: A tag (e.g. a BibTeX keyword) on more than this share of the papers is no list.
AUTO_TAG_MAX_SHARE = 0.3
#: At most this many queries in all (half to tune on, half held out); fewer on big graphs
#: (:func:`auto_queries`), never fewer than AUTO_MIN_QUERIES.
AUTO_MAX_QUERIES = 120
AUTO_MIN_QUERIES = 20
#: Planned seconds to compute one query's signals: a base plus a cost per paper (measured
#: on 2 shared cores: ~0.04 s at 21k papers, ~0.55 s at 200k).
AUTO_QUERY_S = (0.005, 3e-6)
#: Candidates kept per signal when tuning (:meth:`_Prepared.pruned`).
AUTO_POOL = 200
#: Fitted weights are adopted only when the lower end of this bootstrap interval of their
#: nDCG@10 gain over the defaults on the held-out lists is above 0.
AUTO_LEVEL = 0.9


@dataclass(frozen=True)
class TuneOutcome:
    """What :func:`auto_tune` did: the protocol, the query counts, mean nDCG@10 of the
    tuned and the default weights on the held-out queries, the weights (only returned
    when they beat the defaults there beyond the noise) and the bootstrap interval of the
    gain (``level``, resampling whole lists)."""

    protocol: str
    weights: dict[str, float]
    tuning_queries: int
    test_queries: int
    tuned_ndcg: float
    default_ndcg: float
    seconds: float
    interval: tuple[float, float] = (0.0, 0.0)

    def line(self) -> str:
        """One line for the build log."""
        counts = (self.tuning_queries, self.test_queries)
        scores = (self.tuned_ndcg, self.default_ndcg)
        return _tune_line(self.protocol, *counts, *scores, self.interval, self.seconds, True)


def _tune_line(
    protocol: str,
    n_tune: int,
    n_test: int,
    tuned: float,
    default: float,
    interval: tuple[float, float],
    secs: float,
    stored: bool,
) -> str:
    verdict = (
        "stored the tuned weights"
        if stored
        else "kept the default weights (the gain is within the noise)"
        if tuned > default
        else "kept the default weights"
    )
    lo, hi = interval
    return (
        f"Fusion weights tuned on the {protocol}: {n_tune} tuning + {n_test} held-out queries; "
        f"nDCG@10 on the held-out ones {tuned:.3f} tuned vs {default:.3f} default "
        f"({tuned - default:+.3f}, {AUTO_LEVEL:.0%} interval {lo:+.3f} to {hi:+.3f}): "
        f"{verdict} ({secs:.1f}s)."
    )


def seed_sections(kg: KnowledgeGraph, min_size: int = AUTO_LIST_SIZE) -> dict[str, list[str]]:
    """The curated seed page's sections as groups: the papers listed under one
    section heading (``Papers > Induction Heads``), by graph id; sections with fewer than
    ``min_size`` papers in the graph are left out."""
    index = RecommendIndex.of(kg)
    groups: dict[str, set[str]] = {}
    for row in kg.seeds:
        if row.status not in LISTED or not row.paper_id or not row.section_path:
            continue
        j = index.pos.get(index.canon(row.paper_id))
        if j is None or not index.recommendable[j]:
            continue
        name = f"{row.source}: {' > '.join(row.section_path)}"
        groups.setdefault(name, set()).add(index.ids[j])
    return {g: sorted(m) for g, m in sorted(groups.items()) if len(m) >= min_size}


def curated_lists(
    kg: KnowledgeGraph,
    extra: Mapping[str, Collection[str]] | None = None,
    *,
    min_size: int = AUTO_LIST_SIZE,
) -> dict[str, list[str]]:
    """The expert-curated lists a graph carries, by graph id: the seed sources' sections
    (:func:`seed_sections`; a source without sections counts as one list), the tags the
    sources gave papers (BibTeX/Zotero keywords; none on more than
    :data:`AUTO_TAG_MAX_SHARE` of the papers), and ``extra`` (the user's reading lists).
    Lists with fewer than ``min_size`` papers in the graph are left out."""
    index = RecommendIndex.of(kg)

    def node_ids(ids: Iterable[str]) -> set[str]:
        out = set()
        for pid in ids:
            j = index.pos.get(index.canon(pid))
            if j is not None and index.recommendable[j]:
                out.add(index.ids[j])
        return out

    lists: dict[str, set[str]] = {g: set(m) for g, m in seed_sections(kg, min_size).items()}
    sectioned = {name.split(": ", 1)[0] for name in lists}
    whole: dict[str, list[str]] = {}
    for row in kg.seeds:
        if row.status in LISTED and row.paper_id and row.source not in sectioned:
            whole.setdefault(row.source, []).append(row.paper_id)
    for source, ids in whole.items():
        lists[f"{source} (whole list)"] = node_ids(ids)
    tags: dict[str, list[str]] = {}
    for pid, paper in kg.papers.items():
        for tag in paper.tags:
            tags.setdefault(" ".join(tag.lower().split()), []).append(pid)
    cap = AUTO_TAG_MAX_SHARE * max(1, len(kg.papers))
    for tag, ids in tags.items():
        if len(ids) <= cap:
            lists[f"tag: {tag}"] = node_ids(ids)
    for name, members in (extra or {}).items():
        lists[f"reading list: {name}"] = node_ids(members)
    return {g: sorted(m) for g, m in sorted(lists.items()) if len(m) >= min_size}


def judged_graph(kg: KnowledgeGraph) -> KnowledgeGraph:
    """The graph as the curated-list protocol must see it: without the curated topic
    scheme, which is made from the same seed-page sections the lists come from (its
    ``topic`` signal would find a section's papers by construction)."""
    curated = {t.topic_id for t in kg.topics.topics if t.scheme == "curated"}
    if not curated:
        return kg
    topics = replace(
        kg.topics,
        topics=[t for t in kg.topics.topics if t.topic_id not in curated],
        memberships=[m for m in kg.topics.memberships if m.topic_id not in curated],
    )
    return replace(kg, topics=topics)


def auto_queries(papers: int, budget_s: float) -> int:
    """How many queries :func:`auto_tune` plans for a graph of ``papers`` papers: what
    fits in 60% of ``budget_s`` by :data:`AUTO_QUERY_S`, within :data:`AUTO_MIN_QUERIES`
    .. :data:`AUTO_MAX_QUERIES` (a function of the graph size only: deterministic)."""
    base, per_paper = AUTO_QUERY_S
    fits = int(0.6 * budget_s / (base + per_paper * papers))
    return max(AUTO_MIN_QUERIES, min(AUTO_MAX_QUERIES, fits))


def _tuning_protocol(
    kg: KnowledgeGraph, lists: Mapping[str, Collection[str]] | None, seed: int, max_queries: int
) -> tuple[str, list[Query], list[Query]]:
    """(protocol, tuning queries, held-out queries) for :func:`auto_tune`; raises
    :class:`EvaluationError` saying why when there are too few curated lists."""
    groups = curated_lists(kg, lists)
    if len(groups) < AUTO_MIN_LISTS:
        have = f"{len(groups)} list{' has' if len(groups) == 1 else 's have'}"
        raise EvaluationError(
            f"Too little to tune on: {have} >= {AUTO_LIST_SIZE} papers in the graph "
            f"({AUTO_MIN_LISTS} needed: seed-page sections, BibTeX keywords or your reading "
            "lists); the default weights stay. Save reading lists (`litkg list add`) or "
            "ingest a sectioned seed page, then rebuild."
        )
    names = sorted(groups)
    draws = max(1, min(AUTO_LIST_DRAWS, max_queries // len(names)))
    present = set(RecommendIndex.of(kg).ids)

    def queries(part: list[str]) -> list[Query]:
        sub = {g: groups[g] for g in part}
        return list_queries(
            sub, present, n_read=AUTO_LIST_READ, repeats=draws, min_size=AUTO_LIST_SIZE, seed=seed
        )

    protocol = (
        f"curated lists ({len(names)} lists of >= {AUTO_LIST_SIZE} papers: seed-page sections, "
        "keywords, reading lists; half to tune on, half held out)"
    )
    return protocol, queries(names[0::2]), queries(names[1::2])


def auto_tune(
    kg: KnowledgeGraph,
    *,
    lists: Mapping[str, Collection[str]] | None = None,
    budget_s: float = 30.0,
    seed: int = 0,
    echo: Callable[[str], None] | None = None,
) -> TuneOutcome | None:
    """Fit the fusion weights on the graph's curated lists, for ``litkg build`` to store.

    The protocol is the one the recommender is judged by: given 2 papers of an
    expert-curated list (a seed-page section, a source's keyword, one of the user's
    reading ``lists``; :func:`curated_lists`), find the rest. The lists are split in
    two halves (alternating by name): coordinate ascent (:func:`fit_weights`, starting
    from the defaults) on the queries of one half, candidates pruned to
    :data:`AUTO_POOL` per signal, then the fitted and the default weights on the other
    half. Returns the weights only when their nDCG@10 gain over
    :data:`~kg.recommend.engine.DEFAULT_WEIGHTS` there is beyond the noise (the lower end of a
    :data:`AUTO_LEVEL` bootstrap interval that resamples whole lists is above 0); else
    None, and ``echo`` says why (also when there are fewer than :data:`AUTO_MIN_LISTS`
    lists, or the signals take more than ``budget_s``). Deterministic for a graph and
    ``seed``. The citation hold-out is no judge here: hiding the newer half of a paper's
    references rewards recency by construction."""
    say = echo or (lambda _m: None)
    started = time.perf_counter()
    kg = judged_graph(kg)
    try:
        planned = auto_queries(RecommendIndex.of(kg).n, budget_s)
        protocol, tune_qs, test_qs = _tuning_protocol(kg, lists, seed, planned)
    except EvaluationError as exc:
        say(f"Fusion weights not tuned: {exc}")
        return None
    index = RecommendIndex.of(kg)
    rng = np.random.default_rng(seed + 1)
    preps: dict[str, list[_Prepared]] = {"tune": [], "test": []}
    for part, qs in (("test", test_qs), ("tune", tune_qs)):
        for q in qs:
            if time.perf_counter() - started > budget_s:
                say(
                    f"Fusion weights not tuned: computing the signals of the {protocol} took "
                    f"more than the {budget_s:.0f}s budget; the default weights stay."
                )
                return None
            p = _prepare(index, q, rng, time_cut=False)
            if p is not None:
                preps[part].append(p.pruned(AUTO_POOL))
    tune, test = preps["tune"], preps["test"]
    if len(tune) < 2 or len(test) < 2:
        say(
            f"Fusion weights not tuned: too few queries of the {protocol} kept a hidden paper "
            f"among the candidates ({len(tune)} tuning, {len(test)} held out)."
        )
        return None
    weights, _ = fit_weights(tune, starts=[DEFAULT_WEIGHTS], random_starts=1, seed=seed)
    vec = np.array([weights[s] for s in SIGNALS])
    default = np.array([DEFAULT_WEIGHTS[s] for s in SIGNALS])
    tuned_each = _ndcg_each(test, vec / vec.sum(), 10)
    default_each = _ndcg_each(test, default / default.sum(), 10)
    _, lo, hi = bootstrap_interval(
        tuned_each - default_each, [str(p.query.group) for p in test], level=AUTO_LEVEL, seed=seed
    )
    tuned_v, default_v = float(tuned_each.mean()), float(default_each.mean())
    secs = time.perf_counter() - started
    better = lo > 0.0
    say(_tune_line(protocol, len(tune), len(test), tuned_v, default_v, (lo, hi), secs, better))
    if not better:
        return None
    return TuneOutcome(
        protocol=protocol,
        weights=weights,
        tuning_queries=len(tune),
        test_queries=len(test),
        tuned_ndcg=round(tuned_v, 4),
        default_ndcg=round(default_v, 4),
        seconds=secs,
        interval=(round(lo, 4), round(hi, 4)),
    )


__all__ = [
    "AUTO_MIN_LISTS",
    "BASELINES",
    "FUSED",
    "FUSED_MMR",
    "LIST_METRICS",
    "SINGLE_METHODS",
    "SPLITS",
    "EvaluationReport",
    "MethodScore",
    "Query",
    "TuneOutcome",
    "auto_queries",
    "auto_tune",
    "bootstrap_interval",
    "curated_lists",
    "eligible_targets",
    "evaluate_groups",
    "evaluate_holdout",
    "evaluate_lists",
    "evaluate_prepared",
    "evaluate_queries",
    "fit_weights",
    "group_queries",
    "group_table",
    "holdout_queries",
    "in_memory_graph",
    "judged_graph",
    "list_metrics",
    "list_queries",
    "ndcg_at_k",
    "precision_at_k",
    "prepare_queries",
    "recall_at_k",
    "reciprocal_rank",
    "seed_sections",
    "tune_weights",
]
