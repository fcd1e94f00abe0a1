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

Methods: each single signal of :mod:`kg.recommend.signals` ranked on its own, the fused
recommender (without and with MMR diversity), popularity (in-graph citations at the time
of ``P``, or the S2 count) and random. Ties are broken by a seeded random order.

The queries come from :mod:`kg.recommend.protocols`, the metrics from
:mod:`kg.recommend.metrics`. :func:`~kg.recommend.tuning.tune_weights` fits the fusion
weights by coordinate ascent on mean nDCG@10 over a *separate* set of hold-out queries
(targets disjoint from the test queries); ``litkg eval --tune`` stores them with the
graph. :func:`~kg.recommend.tuning.auto_tune` does it at build time within a time budget
(on the graph's curated lists), and keeps the weights only if they beat the defaults on
held-out queries.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.core.errors import EvaluationError
from kg.recommend.fusion import fuse_matrix, gate_vector, resolve_weights, uses_defaults
from kg.recommend.index import RecommendIndex
from kg.recommend.metrics import ranking_metrics
from kg.recommend.protocols import (
    Prepared,
    Query,
    curated_lists,
    group_queries,
    holdout_queries,
    judged_graph,
    list_queries,
    prepare_queries,
)
from kg.recommend.rank import DEFAULT_DIVERSITY, select
from kg.recommend.signals import SIGNALS
from kg.recommend.tuning import TUNABLE, tune_weights

if TYPE_CHECKING:
    from kg.graph.knowledge import KnowledgeGraph

#: Single-signal methods, by the signal they rank on.
SINGLE_METHODS: tuple[str, ...] = TUNABLE
BASELINES: tuple[str, ...] = ("popularity", "random")
FUSED = "fused"
FUSED_MMR = "fused+mmr"


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


def _score_methods(
    kg: KnowledgeGraph,
    preps: Sequence[Prepared],
    weights: Mapping[str, float] | None,
    *,
    k_recall: int,
    k_ndcg: int,
    seed: int,
    diversity: float,
) -> tuple[list[MethodScore], dict[str, np.ndarray], dict[str, float]]:
    """Every method on ``preps``, and the weights the fused ones used (the graph's or the
    defaults, overridden by ``weights``); the defaults are gated by each query's graph
    trust, as a recommendation is."""
    index = RecommendIndex.of(kg)
    used = resolve_weights(kg.weights, weights)
    gated = uses_defaults(kg.weights, weights)
    methods = [*SINGLE_METHODS, FUSED, FUSED_MMR, *BASELINES]
    per: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    w = np.array([used.get(s, 0.0) for s in SIGNALS], dtype=np.float32)
    rng = np.random.default_rng(seed + 7)
    for p in preps:
        n_rel = p.n_relevant
        for i, name in enumerate(SINGLE_METHODS):
            col = p.raw[:, i]
            order = _order(col, p.noise)
            per[name].append(ranking_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
        fused = fuse_matrix(p.scaled, gate_vector(w, p.trust) if gated else w)
        order = _order(fused.astype(np.float64), p.noise)
        per[FUSED].append(ranking_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
        full = np.full(index.n, -np.inf)
        full[p.rows] = fused
        picked = select(index, full, p.cand, k_recall, diversity)
        where = {j: i for i, j in enumerate(p.rows.tolist())}
        head = np.array([where[j] for j in picked], dtype=np.int64)
        rest = order[~np.isin(order, head)]
        mmr_order = np.concatenate([head, rest])
        per[FUSED_MMR].append(ranking_metrics(p.relevant[mmr_order], n_rel, k_recall, k_ndcg))
        order = _order(p.popularity, p.noise)
        per["popularity"].append(ranking_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
        order = rng.permutation(p.rows.size)
        per["random"].append(ranking_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
    out = []
    arrays = {}
    for name in methods:
        arr = np.array(per[name]) if per[name] else np.zeros((0, 4))
        arrays[name] = arr
        out.append(MethodScore.of(name, arr))
    return out, arrays, used


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
    preps: Sequence[Prepared],
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
    methods, _, used = _score_methods(
        kg, preps, weights, k_recall=k_recall, k_ndcg=k_ndcg, seed=seed, diversity=diversity
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


def _stats(preps: Sequence[Prepared]) -> dict[str, float]:
    return {
        "mean_read": float(np.mean([len(p.query.read) for p in preps])),
        "mean_relevant": float(np.mean([p.relevant.sum() for p in preps])),
        "mean_candidates": float(np.mean([p.rows.size for p in preps])),
    }


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
    methods, arrays, used = _score_methods(
        kg, preps, weights, k_recall=k_recall, k_ndcg=k_ndcg, seed=seed, diversity=diversity
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


__all__ = [
    "BASELINES",
    "FUSED",
    "FUSED_MMR",
    "SINGLE_METHODS",
    "EvaluationReport",
    "MethodScore",
    "evaluate_groups",
    "evaluate_holdout",
    "evaluate_lists",
    "evaluate_prepared",
    "evaluate_queries",
    "group_table",
]
