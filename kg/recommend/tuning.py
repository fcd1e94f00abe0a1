"""Fitting the fusion weights: coordinate ascent on nDCG@10 (:func:`fit_weights`), on
hold-out queries (:func:`tune_weights`, ``litkg eval --tune``) or, at build time, on the
graph's own curated lists (:func:`auto_tune`), kept only when they beat the defaults on
held-out lists beyond the noise."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kg.core.errors import EvaluationError
from kg.recommend.fusion import DEFAULT_WEIGHTS, fuse_matrix, gate_vector
from kg.recommend.index import RecommendIndex
from kg.recommend.metrics import DISCOUNT, bootstrap_interval
from kg.recommend.protocols import (
    AUTO_LIST_SIZE,
    Prepared,
    Query,
    curated_lists,
    holdout_queries,
    judged_graph,
    list_queries,
    prepare,
    prepare_queries,
)
from kg.recommend.signals import SIGNALS

if TYPE_CHECKING:
    from kg.graph.knowledge import KnowledgeGraph

#: Signals the offline evaluations can score and tune (S2's recommendations are live only).
TUNABLE: tuple[str, ...] = tuple(s for s in SIGNALS if s != "s2")


# --------------------------------------------------------------------------- tuning
def _mean_ndcg(
    preps: Sequence[Prepared], w: np.ndarray, k: int, share: np.ndarray | None = None
) -> float:
    values = _ndcg_each(preps, w, k)
    if share is None:
        return float(values.mean()) if values.size else 0.0
    return float((values * share).sum())


def _ndcg_each(
    preps: Sequence[Prepared], w: np.ndarray, k: int, *, gated: bool = False
) -> np.ndarray:
    """nDCG@k of the fused ranking of each prepared query with weights ``w``; ``gated``:
    as the default weights rank, by each query's graph trust
    (:func:`kg.recommend.fusion.gate_vector`)."""
    values = np.empty(len(preps))
    for i, p in enumerate(preps):
        s = fuse_matrix(p.scaled, gate_vector(w, p.trust) if gated else w) + p.noise * 1e-7
        m = min(k, s.size)
        top = np.argpartition(-s, m - 1)[:m]
        top = top[np.argsort(-s[top])]
        gains = p.relevant[top].astype(np.float64)
        dcg = float((gains * DISCOUNT[: gains.size]).sum())
        ideal = float(DISCOUNT[: min(p.n_relevant, k)].sum())
        values[i] = dcg / ideal if ideal > 0 else 0.0
    return values


#: The values each (unnormalised) weight may take in :func:`fit_weights`.
WEIGHT_GRID = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0)


def fit_weights(
    preps: Sequence[Prepared],
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


# --------------------------------------------------------------------------- build-time tuning
#: :func:`auto_tune` needs this many curated lists (half to tune on, half held out), each
#: with at least :data:`~kg.recommend.protocols.AUTO_LIST_SIZE` papers in the graph.
AUTO_MIN_LISTS = 4
AUTO_LIST_READ = 2  # read papers per query (the rest of the list is hidden)
AUTO_LIST_DRAWS = 5  # queries per list
#: At most this many queries in all (half to tune on, half held out); fewer on big graphs
#: (:func:`auto_queries`), never fewer than AUTO_MIN_QUERIES.
AUTO_MAX_QUERIES = 120
AUTO_MIN_QUERIES = 20
#: Planned seconds to compute one query's signals: a base plus a cost per paper (measured
#: on 2 shared cores: ~0.04 s at 21k papers, ~0.55 s at 200k).
AUTO_QUERY_S = (0.005, 3e-6)
#: Candidates kept per signal when tuning (:meth:`Prepared.pruned`).
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
    :data:`~kg.recommend.fusion.DEFAULT_WEIGHTS` there is beyond the noise (the lower end of a
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
    preps: dict[str, list[Prepared]] = {"tune": [], "test": []}
    for part, qs in (("test", test_qs), ("tune", tune_qs)):
        for q in qs:
            if time.perf_counter() - started > budget_s:
                say(
                    f"Fusion weights not tuned: computing the signals of the {protocol} took "
                    f"more than the {budget_s:.0f}s budget; the default weights stay."
                )
                return None
            p = prepare(index, q, rng, time_cut=False)
            if p is not None:
                preps[part].append(p.pruned(AUTO_POOL, DEFAULT_WEIGHTS))
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
    default_each = _ndcg_each(test, default / default.sum(), 10, gated=True)
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
    "AUTO_LEVEL",
    "AUTO_MIN_LISTS",
    "AUTO_POOL",
    "TUNABLE",
    "WEIGHT_GRID",
    "TuneOutcome",
    "auto_queries",
    "auto_tune",
    "fit_weights",
    "tune_weights",
]
