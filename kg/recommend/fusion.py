"""How the signals become one score: the weights, the fused score and the filters.

The fused score (:func:`fuse`) is the weighted evidence ``E`` (every signal but the
:data:`~kg.recommend.signals.PRIORS`) raised by the weighted priors ``Q``: ``E * (1 + Q)``
(weights sum to 1), so a paper with no link or closeness to the read set scores 0 however
cited or recent. :func:`filter_mask` narrows the candidates by year, topic, venue, survey
and open-access filters (:class:`Filters`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kg.core.errors import RecommendError
from kg.recommend.index import RecommendIndex
from kg.recommend.signals import GRAPH_SIGNALS, PRIORS, SIGNALS

#: Fusion weights used when the graph has no fitted ones (``litkg build`` fits them on the
#: graph's own curated lists, :func:`kg.recommend.tuning.auto_tune`, and keeps them only when they
#: beat these beyond the noise). The curated-list benchmark (``tests/bench/bench_lists.py``,
#: see tests/bench/RESULTS.md) set them: coordinate ascent on nDCG@10 pooled over the
#: TUNING half of the multi-list protocols (seed-page sections, the MI review library's
#: keywords, llm-papers' interpretability tags; each protocol at each depth counting the
#: same), on the seed page's neighbourhood at depth 1 and 2 of the field-sized S2 test
#: world (real records, SYNTHETIC edges), real MiniLM vectors; then ``cocited`` was added
#: at 0.15 of the old total and the rest scaled down (chosen on every list: see RESULTS.md,
#: "Counted co-citation and graph support"). ``dislike`` is not tuned (no evaluation has
#: dislikes); ``s2`` is set per query (:func:`resolve_weights`).
DEFAULT_WEIGHTS: dict[str, float] = {
    "cited_by": 0.0,
    "cites": 0.042,
    "cocitation": 0.055,
    "cocited": 0.13,
    "coupling": 0.042,
    "ppr": 0.042,
    "text": 0.138,
    "lexical": 0.138,
    "topic": 0.0,
    "influence": 0.275,
    "recency": 0.138,
    "s2": 0.0,
}
#: Graph support (:func:`~kg.recommend.signals.graph_support`: the mean co-citation count of
#: the most co-cited candidates) at or below which the graph signals' weight goes to the
#: content signals, and at or above which they keep all of it; in between, the share kept
#: grows with the log of the support (:func:`graph_trust`).
SUPPORT_LOW = 5.0
SUPPORT_HIGH = 40.0
#: How hard closeness to a disliked paper pushes a candidate down (fused scores are 0..1).
DISLIKE_WEIGHT = 0.5


# --------------------------------------------------------------------------- boundary types
@dataclass(frozen=True)
class Filters:
    """Which candidates may be recommended. ``topics``: topic ids or labels (any of them;
    narrower topics count); ``venue``: a case-insensitive substring of venue or journal;
    papers of unknown year fail a year bound."""

    year_from: int | None = None
    year_to: int | None = None
    topics: tuple[str, ...] = ()
    venue: str | None = None
    exclude_surveys: bool = False
    open_access_only: bool = False

    def active(self) -> bool:
        return bool(
            self.year_from is not None
            or self.year_to is not None
            or self.topics
            or self.venue
            or self.exclude_surveys
            or self.open_access_only
        )


def uses_defaults(
    kg_weights: Mapping[str, float] | None, weights: Mapping[str, float] | None
) -> bool:
    """Whether :func:`resolve_weights` gives the defaults: the graph has no fitted weights
    and the caller gave none. Only the defaults are gated by graph trust
    (:func:`gate_weights`); fitted weights were fitted on the graph's own lists, and a
    caller's weights are used as they are."""
    return not weights and not any(k in SIGNALS for k in (kg_weights or {}))


def resolve_weights(
    kg_weights: Mapping[str, float] | None,
    weights: Mapping[str, float] | None,
    *,
    with_s2: bool = False,
) -> dict[str, float]:
    """The graph's tuned weights (a complete set: a signal they do not name, e.g. one
    added since they were tuned, weighs 0) or else the defaults, overridden by
    ``weights``; normalised to sum 1. Unknown names in ``weights`` are an error.

    ``s2`` is never fitted (no offline evaluation has S2's recommender): with S2's
    recommendations at hand (``with_s2``) it weighs as much as the stronger content signal
    (S2's picks are content similarity from SPECTER), else 0, unless ``weights`` names it."""
    if weights:
        bad = sorted(set(weights) - set(SIGNALS))
        if bad:
            raise RecommendError(
                f"Unknown signal weight(s) {', '.join(bad)}; use {', '.join(SIGNALS)}."
            )
    tuned = {k: v for k, v in (kg_weights or {}).items() if k in SIGNALS}
    merged = {s: float(tuned.get(s, 0.0)) for s in SIGNALS} if tuned else dict(DEFAULT_WEIGHTS)
    merged["s2"] = max(merged["text"], merged["lexical"]) if with_s2 else 0.0
    for name, value in (weights or {}).items():
        merged[name] = float(value)
    if any(v < 0 or not math.isfinite(v) for v in merged.values()):
        raise RecommendError(f"Signal weights must be finite and >= 0, got {merged}.")
    total = sum(merged.values())
    if total <= 0:
        raise RecommendError("At least one signal weight must be > 0.")
    return {k: v / total for k, v in merged.items()}


def graph_trust(support: float) -> float:
    """0..1: how far the graph signals are trusted for a read set with this
    :func:`~kg.recommend.signals.graph_support` (0 at :data:`SUPPORT_LOW` or less, 1 at
    :data:`SUPPORT_HIGH` or more, log-linear in between)."""
    if not math.isfinite(support) or support <= SUPPORT_LOW:
        return 0.0
    lo, hi = math.log1p(SUPPORT_LOW), math.log1p(SUPPORT_HIGH)
    return min(1.0, (math.log1p(support) - lo) / (hi - lo))


#: Column masks, in :data:`SIGNALS` order, of the graph signals and of the content signals
#: that take over their weight.
_GRAPH_COLS = np.array([s in GRAPH_SIGNALS for s in SIGNALS])
_CONTENT_COLS = np.array([s in ("text", "lexical") for s in SIGNALS])


def gate_vector(w: np.ndarray, trust: float) -> np.ndarray:
    """Weights in :data:`SIGNALS` order with ``1 - trust`` of the graph signals' weight
    moved to ``text`` and ``lexical`` (in proportion to their weights; evenly when both
    weigh 0). The sum is unchanged, so fused scores stay in 0..1."""
    w = np.asarray(w, dtype=np.float64)
    if trust >= 1.0:
        return w
    out = w.copy()
    moved = float(out[_GRAPH_COLS].sum()) * (1.0 - trust)
    if moved <= 0:
        return out
    out[_GRAPH_COLS] *= trust
    content = out[_CONTENT_COLS]
    share = content / content.sum() if content.sum() > 0 else np.full(content.size, 0.5)
    out[_CONTENT_COLS] = content + moved * share
    return out


def gate_weights(weights: Mapping[str, float], trust: float) -> dict[str, float]:
    """:func:`gate_vector` on named weights: for a read set the citation graph knows little
    about (``trust`` < 1), the content signals rank what the graph cannot."""
    vec = gate_vector(np.array([weights.get(s, 0.0) for s in SIGNALS]), trust)
    return {s: float(v) for s, v in zip(SIGNALS, vec, strict=True)}


def fuse(scaled: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The fused score: the weighted evidence (every signal but the :data:`PRIORS`), raised
    by up to the priors' weighted sum: ``E * (1 + Q)``. A paper with no evidence scores 0
    however cited or recent it is; with weights summing to 1 the score stays in 0..1.
    Weights on the priors alone (a caller's explicit choice) rank by the priors."""
    # Summed signal by signal (no rows x signals matrix: at 1M candidates its copy costs
    # more than the sums), the signals without weight skipped.
    prior: np.ndarray | None = None
    evidence: np.ndarray | None = None
    for name in SIGNALS:
        w = float(weights.get(name, 0.0))
        if w == 0.0:
            continue
        term = w * np.asarray(scaled[name], dtype=np.float64)
        if name in PRIORS:
            prior = term if prior is None else prior + term
        elif w > 0:
            evidence = term if evidence is None else evidence + term
    if evidence is None:
        if prior is not None:
            return prior
        return np.zeros(np.asarray(next(iter(scaled.values()))).shape, dtype=np.float64)
    if prior is None:
        return evidence
    return evidence * (1.0 + prior)


#: Column mask of the :data:`PRIORS` in :data:`SIGNALS` order.
_PRIOR_COLS = np.array([s in PRIORS for s in SIGNALS])


def fuse_matrix(m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:func:`fuse` on a :func:`~kg.recommend.signals.signal_matrix` (rows x SIGNALS) with
    weights in SIGNALS order."""
    w = np.asarray(w, dtype=m.dtype)
    prior = m[:, _PRIOR_COLS] @ w[_PRIOR_COLS]
    if not (w[~_PRIOR_COLS] > 0).any():
        return np.asarray(prior)
    evidence = m[:, ~_PRIOR_COLS] @ w[~_PRIOR_COLS]
    return np.asarray(evidence * (1.0 + prior))


# --------------------------------------------------------------------------- filters
def filter_mask(index: RecommendIndex, base: np.ndarray, filters: Filters) -> np.ndarray:
    """``base`` narrowed by ``filters``; a :class:`RecommendError` names the filter(s)
    when nothing is left."""
    parts: list[tuple[str, np.ndarray]] = []
    if filters.year_from is not None or filters.year_to is not None:
        lo = -np.inf if filters.year_from is None else filters.year_from
        hi = np.inf if filters.year_to is None else filters.year_to
        if lo > hi:
            raise RecommendError(
                f"year_from {filters.year_from} is after year_to {filters.year_to}; swap them."
            )
        y = index.year
        with np.errstate(invalid="ignore"):
            ok = ~np.isnan(y) & (y >= lo) & (y <= hi)
        parts.append((f"years {_span(filters.year_from, filters.year_to)}", ok))
    if filters.topics:
        cols = sorted({c for t in filters.topics for c in index.topic_columns(t)})
        ok = np.asarray(index.members[:, cols].sum(axis=1)).ravel() > 0
        parts.append((f"topic {' or '.join(repr(t) for t in filters.topics)}", ok))
    if filters.venue:
        ok = index.venue_mask(filters.venue)
        parts.append((f"venue containing {filters.venue!r}", ok))
    if filters.exclude_surveys:
        parts.append(("no surveys/reviews", ~index.review))
    if filters.open_access_only:
        parts.append(("open access only", index.open_access))
    mask = base.copy()
    for _, ok in parts:
        mask &= ok
    if parts and not mask.any():
        total = int(base.sum())
        each = "; ".join(f"{name} leaves {int((base & ok).sum()):,}" for name, ok in parts)
        empty = [name for name, ok in parts if not (base & ok).any()]
        blame = (
            f"{' and '.join(empty)} exclude{'s' if len(empty) == 1 else ''} every one"
            if empty
            else "each filter leaves some, but together they leave none"
        )
        raise RecommendError(
            f"No paper passes the filters ({blame}). Of {total:,} candidates: {each}. "
            "Loosen or drop a filter."
        )
    return mask


def _span(a: int | None, b: int | None) -> str:
    if a is not None and b is not None:
        return f"{a}-{b}"
    return f"from {a}" if a is not None else f"up to {b}"


__all__ = [
    "DEFAULT_WEIGHTS",
    "DISLIKE_WEIGHT",
    "SUPPORT_HIGH",
    "SUPPORT_LOW",
    "Filters",
    "filter_mask",
    "fuse",
    "fuse_matrix",
    "gate_vector",
    "gate_weights",
    "graph_trust",
    "resolve_weights",
    "uses_defaults",
]
