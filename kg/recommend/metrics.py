"""Ranking metrics of the offline evaluation: hits, precision and recall@k, nDCG@k
(binary gains), reciprocal rank, and bootstrap intervals of a mean difference."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np


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


DISCOUNT = 1.0 / np.log2(np.arange(2, 2002))


def ranking_metrics(order_hits: np.ndarray, n_rel: int, k_recall: int, k_ndcg: int) -> np.ndarray:
    """(precision@k_recall, recall@k_recall, nDCG@k_ndcg, RR) from the hit flags of a ranking."""
    if n_rel == 0:
        return np.zeros(4)
    top = order_hits[:k_recall]
    found = float(top.sum())
    gains = order_hits[:k_ndcg].astype(np.float64)
    dcg = float((gains * DISCOUNT[: gains.size]).sum())
    ideal = float(DISCOUNT[: min(n_rel, k_ndcg)].sum())
    first = np.flatnonzero(order_hits)
    rr = 1.0 / (first[0] + 1) if first.size else 0.0
    return np.array([found / k_recall, found / n_rel, dcg / ideal, rr])


#: The metrics of the curated-list protocol, in the order of :func:`list_metrics`.
LIST_METRICS: tuple[str, ...] = ("hits@20", "recall@50", "nDCG@10", "MRR")


def list_metrics(ranked: Sequence[str], relevant: Collection[str]) -> np.ndarray:
    """(hits@20, recall@50, nDCG@10, reciprocal rank) of one ranking (:data:`LIST_METRICS`)."""
    rel = set(relevant)
    if not rel:
        return np.zeros(4)
    hits = np.array([pid in rel for pid in ranked], dtype=bool)
    dcg = float((hits[:10] * DISCOUNT[: min(10, hits.size)]).sum())
    ideal = float(DISCOUNT[: min(len(rel), 10)].sum())
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


__all__ = [
    "DISCOUNT",
    "LIST_METRICS",
    "bootstrap_interval",
    "list_metrics",
    "ndcg_at_k",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "reciprocal_rank",
]
