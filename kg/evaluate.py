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

Methods: each single signal of :mod:`kg.recommend` ranked on its own, the fused
recommender (without and with MMR diversity), popularity (in-graph citations at the time
of ``P``, or the S2 count) and random. Ties are broken by a seeded random order.

:func:`tune_weights` fits the fusion weights by coordinate ascent on mean nDCG@10 over a
*separate* set of hold-out queries (targets disjoint from the test queries); ``litkg
eval --tune`` stores them with the graph.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.errors import EvaluationError
from kg.graph import CitationGraph
from kg.model import Citation, Paper
from kg.recommend import (
    DEFAULT_DIVERSITY,
    DEFAULT_WEIGHTS,
    SIGNALS,
    RecommendIndex,
    raw_signals,
    resolve_weights,
    scaled_signals,
    select,
    signal_matrix,
)

if TYPE_CHECKING:
    from kg.build import KnowledgeGraph
    from kg.topics import TopicModel

#: Single-signal methods, by the signal they rank on.
SINGLE_METHODS: tuple[str, ...] = SIGNALS
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
    **discover: Any,
) -> KnowledgeGraph:
    """A :class:`KnowledgeGraph` built in memory (no corpus store, no files): for
    evaluations on data that is not an ingested corpus, tests and benchmarks.
    ``embeddings`` are rows aligned with ``papers``; without ``topics`` the discovered
    and S2-fields topics are built from them (``discover`` goes to the topic builder)."""
    from kg.build import KnowledgeGraph
    from kg.topics import build_topic_model

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
        seeds=[],
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
def holdout_queries(
    kg: KnowledgeGraph,
    *,
    n: int | None = 200,
    min_refs: int = 8,
    seed: int = 0,
    skip: int = 0,
) -> list[Query]:
    """Time-ordered hold-out queries (see the module doc): targets drawn at random (seeded)
    among papers with >= ``min_refs`` references of known year in the graph; ``skip``
    leaves out the first ``skip`` of the drawn order (to get a disjoint tuning set)."""
    index = RecommendIndex.of(kg)
    view = index.view
    known = index.recommendable & ~np.isnan(index.year)
    refs_known = np.asarray(view.A @ known.astype(view.A.dtype)).ravel()
    eligible = np.flatnonzero(known & (refs_known >= min_refs))
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
        r = r[np.lexsort((tie, index.year[r]))]
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
    cand: np.ndarray  # (n,) bool mask
    full_scaled: dict[str, np.ndarray]


def _prepare(
    index: RecommendIndex, query: Query, rng: np.random.Generator, *, time_cut: bool
) -> _Prepared | None:
    read = np.array(index.resolve(query.read), dtype=np.int64)
    relevant_nodes = np.array(index.resolve(query.relevant), dtype=np.int64)
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
        n_rel = int(p.relevant.sum())
        for i, name in enumerate(SINGLE_METHODS):
            col = p.raw[:, i]
            order = _order(col, p.noise)
            per[name].append(_metrics(p.relevant[order], n_rel, k_recall, k_ndcg))
        fused = p.scaled @ w
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
    values = np.empty(len(preps))
    for i, p in enumerate(preps):
        s = p.scaled @ w + p.noise * 1e-7
        m = min(k, s.size)
        top = np.argpartition(-s, m - 1)[:m]
        top = top[np.argsort(-s[top])]
        gains = p.relevant[top].astype(np.float64)
        dcg = float((gains * _DISCOUNT[: gains.size]).sum())
        ideal = float(_DISCOUNT[: min(int(p.relevant.sum()), k)].sum())
        values[i] = dcg / ideal if ideal > 0 else 0.0
    if share is None:
        return float(values.mean()) if values.size else 0.0
    return float((values * share).sum())


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
) -> tuple[dict[str, float], float]:
    """Coordinate ascent on the (weighted) mean nDCG@k of ``preps``.

    Each weight in turn takes the best value of :data:`WEIGHT_GRID` (the others fixed;
    the vector is normalised to sum 1 before scoring), until a round changes nothing or
    ``rounds`` are done. It starts from equal weights, from each of ``starts`` and from
    ``random_starts`` seeded Dirichlet draws; the best end point wins. ``query_weights``
    weigh the queries (e.g. so that each protocol counts the same). Returns (weights
    summing to 1, rounded to 3 decimals; the objective they reach)."""
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
        w = w / w.max()
        value = _mean_ndcg(preps, w / w.sum(), k, share)
        for _ in range(rounds):
            changed = False
            for i in range(len(SIGNALS)):
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
    if not preps:
        raise EvaluationError(
            "No query has a relevant paper left among the candidates; check the queries' ids."
        )
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
) -> dict[str, float]:
    """Fusion weights that maximise mean nDCG@``k`` on ``queries`` time-ordered hold-out
    queries (drawn after the first ``skip``, so a test set of ``skip`` queries with the same
    seed stays unseen). Save them with :func:`kg.build.save_weights`."""
    qs = holdout_queries(kg, n=queries, min_refs=min_refs, seed=seed, skip=skip)
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
) -> EvaluationReport:
    """The time-ordered citation hold-out (module doc) with every method side by side.

    ``tune``: first fit the weights (:func:`tune_weights`) on ``tune_queries`` (default:
    as many as ``queries``) other targets, then evaluate with them (``report.tuned``);
    else the graph's weights, or ``weights``, or the defaults."""
    started = time.perf_counter()
    test = holdout_queries(kg, n=queries, min_refs=min_refs, seed=seed)
    tuned = None
    n_tune = 0
    if tune:
        n_tune = tune_queries or queries
        try:
            tuned = tune_weights(
                kg, queries=n_tune, min_refs=min_refs, seed=seed, skip=len(test), k=k_ndcg
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
    notes = (
        f"Citation hold-out, time-ordered: {report.queries} target papers with >= {min_refs} "
        f"references in the graph; read = the older half of the references "
        f"(mean {st['mean_read']:.1f}), hidden = the newer half "
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
) -> EvaluationReport:
    """Given ``n_read`` papers of a group (tag, keyword), how many of the others come back?
    Every method side by side; per-group rows in ``report.groups``."""
    started = time.perf_counter()
    index = RecommendIndex.of(kg)
    qs = group_queries(groups, n_read=n_read, repeats=repeats, seed=seed)
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


__all__ = [
    "BASELINES",
    "FUSED",
    "FUSED_MMR",
    "SINGLE_METHODS",
    "EvaluationReport",
    "MethodScore",
    "Query",
    "evaluate_groups",
    "evaluate_holdout",
    "evaluate_queries",
    "fit_weights",
    "group_queries",
    "group_table",
    "holdout_queries",
    "in_memory_graph",
    "ndcg_at_k",
    "precision_at_k",
    "prepare_queries",
    "recall_at_k",
    "reciprocal_rank",
    "tune_weights",
]
