"""What to read next: the recommendations for a read set, ranked and diversified.

:func:`recommend` resolves the read (and disliked) papers, computes every signal for every
candidate (:mod:`kg.recommend.signals`), fuses them (:mod:`kg.recommend.fusion`), picks
the top ``k`` by maximal marginal relevance (:func:`select`) and names each one's reasons
(:mod:`kg.recommend.explain`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kg.core.errors import RecommendError
from kg.core.model import Recommendation
from kg.recommend.explain import dislike_reason, explain
from kg.recommend.fusion import (
    DISLIKE_WEIGHT,
    Filters,
    filter_mask,
    fuse,
    gate_weights,
    graph_trust,
    resolve_weights,
    uses_defaults,
)
from kg.recommend.index import RecommendIndex
from kg.recommend.path import PathStep, reading_path
from kg.recommend.signals import (
    PRIORS,
    SIGNALS,
    Signals,
    complete_text,
    dislike_penalty,
    exact_text,
    graph_support,
    raw_signals,
    scaled_signals,
    text_headroom,
    text_scale,
    text_tops,
)

if TYPE_CHECKING:
    from kg.graph.knowledge import KnowledgeGraph

#: Default MMR trade-off: 0 = pure relevance, 1 = pure novelty.
DEFAULT_DIVERSITY = 0.3

#: MMR picks from the top max(MMR_POOL, 2 * k) by fused score: a pool that does not
#: depend on k (below MMR_POOL / 2), so the first 20 of k = 50 are the k = 20 list.
MMR_POOL = 300

#: On the index path, the candidates whose text cosines could lift them into the top are
#: made exact this many at a time, best first (:meth:`Recommender._settle`).
SETTLE_BATCH = 2048


@dataclass(frozen=True)
class RecommendationResult:
    """:func:`recommend_detailed`'s answer: the recommendations, each one's scaled signal
    values (0..1) and the weights used, the resolved read and disliked sets, how many
    candidates passed the filters, and the wall time."""

    recommendations: tuple[Recommendation, ...]
    signals: Mapping[str, Mapping[str, float]]
    weights: Mapping[str, float]
    read: tuple[str, ...]
    disliked: tuple[str, ...]
    candidates: int
    seconds: float
    #: How far the graph signals were trusted for this read set (0..1,
    #: :func:`~kg.recommend.fusion.graph_trust`): below 1 their weight went in part to the
    #: content signals, because few papers of the graph cite the read papers together
    #: with others. Only the default weights are gated: fitted weights and weights given
    #: by the caller are used as they are (1).
    graph_trust: float = 1.0


# --------------------------------------------------------------------------- the recommender
@dataclass(frozen=True)
class _Scored:
    """One read set scored: the resolved nodes, the weights, the candidate mask, the raw
    and scaled signals, the fused score (less the dislike penalty, if any)."""

    read: np.ndarray
    disliked: np.ndarray
    weights: dict[str, float]
    cand: np.ndarray
    sig: Signals
    scaled: dict[str, np.ndarray]
    score: np.ndarray
    penalty: np.ndarray | None
    trust: float


class Recommender:
    """The recommender fitted once on a graph: its per-paper index (:class:`RecommendIndex`,
    kept with the graph, so the views share it) and its fusion weights (the graph's
    fitted ones or the defaults, overridden by ``weights``; checked here, once).

    ``Recommender(kg)`` (or :meth:`fit`) does the work that does not depend on the query;
    :meth:`recommend`, :meth:`explain` and :meth:`reading_path` answer queries. The
    module's :func:`recommend` and :func:`recommend_detailed` are one-off calls of it.
    """

    def __init__(self, kg: KnowledgeGraph, weights: Mapping[str, float] | None = None) -> None:
        self.kg = kg
        self.index = RecommendIndex.of(kg)
        self.overrides = dict(weights) if weights else None
        #: The weights used without S2's recommendations (``s2`` weighs 0).
        self.weights = resolve_weights(kg.weights, self.overrides)
        #: Whether those are the defaults, which graph trust gates per read set.
        self.gated = uses_defaults(kg.weights, self.overrides)

    @classmethod
    def fit(cls, kg: KnowledgeGraph, weights: Mapping[str, float] | None = None) -> Recommender:
        """The recommender of ``kg`` (the index built once and kept with the graph)."""
        return cls(kg, weights)

    def _score(
        self,
        read: Iterable[str],
        disliked: Iterable[str],
        filters: Filters | None,
        external: Mapping[str, float] | None,
        pool: int = MMR_POOL,
        also: Iterable[int] = (),
    ) -> _Scored:
        """Score every candidate. On the index path (field scale) the text cosines of every
        candidate that could reach the top ``pool`` are made exact (:meth:`_settle`), and
        those of the nodes ``also``."""
        index = self.index
        read_refs = [r for r in read if r and r.strip()]
        if not read_refs:
            raise RecommendError(
                "Give at least one paper you have read or liked (an S2 id, ARXIV:<id>, DOI:<doi> "
                "or a title prefix), e.g. `litkg recommend --read ARXIV:2209.11895`."
            )
        read_nodes = np.array(index.resolve(read_refs), dtype=np.int64)
        dis_nodes = np.array(
            [j for j in index.resolve(disliked, what="disliked paper") if j not in set(read_nodes)],
            dtype=np.int64,
        )
        w = resolve_weights(self.kg.weights, self.overrides, with_s2=bool(external))
        base = index.recommendable.copy()
        base[read_nodes] = False
        base[dis_nodes] = False
        base[index.title_twins(read_nodes)] = False  # an unfolded twin of a read paper is not new
        if not base.any():
            raise RecommendError(
                "Every paper in the graph is in your read set: nothing is left to recommend. "
                "Ingest more (`litkg ingest --depth 2`) and rebuild."
            )
        cand = filter_mask(index, base, filters or Filters())
        sig = raw_signals(index, read_nodes, disliked=dis_nodes, external=external)
        complete_text(index, sig, np.fromiter(also, dtype=np.int64))
        trust = 1.0
        if self.gated:
            # The default weights: the graph signals keep theirs as far as the graph knows
            # the read set (a read set few papers cite is ranked by content).
            trust = graph_trust(graph_support(sig, cand))
            w = gate_weights(w, trust)
        scaled, score, penalty = self._fused(sig, cand, w, dis_nodes)
        while sig.approx is not None:  # the index path only
            tops = text_tops(sig, cand)
            done = self._settle(sig, cand, w, scaled, score, penalty, pool)
            if not done.size:
                break
            if penalty is None and text_tops(sig, cand) == tops:
                # Same scale: every contender was taken (best first, their scores updated
                # as they came in), and the bar of those left out can only have risen.
                break
            # The text's top moved (every text value's scale with it), or dislikes:
            # everything scored again, and checked again.
            scaled, score, penalty = self._fused(sig, cand, w, dis_nodes)
        return _Scored(read_nodes, dis_nodes, w, cand, sig, scaled, score, penalty, trust)

    @staticmethod
    def _fused(
        sig: Signals, cand: np.ndarray, w: Mapping[str, float], dis_nodes: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
        """The scaled signals, the fused score less the dislike penalty, the penalty."""
        scaled = scaled_signals(sig, cand)
        score = fuse(scaled, w)
        penalty = None
        if dis_nodes.size:
            penalty = dislike_penalty(sig, cand)
            score = score - DISLIKE_WEIGHT * penalty
        return scaled, score, penalty

    def _settle(
        self,
        sig: Signals,
        cand: np.ndarray,
        w: Mapping[str, float],
        scaled: Mapping[str, np.ndarray],
        score: np.ndarray,
        penalty: np.ndarray | None,
        pool: int,
    ) -> np.ndarray:
        """On the index path: make exact the text cosines of every candidate whose score,
        with its text at the most it can be, reaches the ``pool``-th best score among the
        candidates scored exactly; those candidates (none: nothing to score again). A
        candidate left out scores below the top ``pool`` whatever its true cosines, so the
        top ``pool`` (MMR's) is the one exact cosines give.

        Without dislikes the contenders are taken best first, :data:`SETTLE_BATCH` at a
        time, their scores updated in ``scaled`` and ``score`` on the same scale, and the
        bar raised as they come in: the rest stop contending once the bar passes them (at
        1M papers a fraction of what the first bar lets in). A batch that moves the text
        signal's top (every value's scale with it) ends the call: the caller scores again."""
        none = np.zeros(0, dtype=np.int64)
        room = text_headroom(self.index, sig, cand, scaled["text"])
        if room is None or w.get("text", 0.0) <= 0:
            return none
        exact = exact_text(self.index, sig)
        done = score[cand & exact]
        best = np.sort(done)[-pool:] if done.size else done
        bar = float(best[0]) if best.size >= pool else -np.inf
        # An inexact candidate's penalty may change either way once exact: none counted.
        plain = score if penalty is None else score + DISLIKE_WEIGHT * penalty
        # A first cut with the priors at their most (fused = evidence * (1 + priors)),
        # then the fused score itself on what is left.
        most = 1.0 + sum(w.get(p, 0.0) for p in PRIORS)
        maybe = np.flatnonzero(cand & ~exact & (plain + w["text"] * room * most >= bar))
        if not maybe.size:
            return none
        part = {name: v[maybe] for name, v in scaled.items() if w.get(name, 0.0)}
        part["text"] = part["text"] + room[maybe]
        high = fuse(part, w)
        keep = high >= bar
        todo, high = maybe[keep], high[keep]
        if penalty is not None:
            complete_text(self.index, sig, todo)
            return todo
        order = np.argsort(-high, kind="stable")
        todo, high = todo[order], high[order]
        scale = text_scale(sig, cand)
        taken = 0
        while taken < todo.size and high[taken] >= bar:
            batch = todo[taken : taken + SETTLE_BATCH]
            taken += batch.size
            complete_text(self.index, sig, batch)
            if scale.moved(sig, cand, batch):
                break  # a new top: every text value is on another scale
            scaled["text"][batch] = scale.at(sig, batch)
            score[batch] = fuse({name: v[batch] for name, v in scaled.items() if w.get(name)}, w)
            best = np.sort(np.concatenate([best, score[batch]]))[-pool:]
            if best.size >= pool:
                bar = float(best[0])
        return todo[:taken]

    def _reasons(self, s: _Scored, j: int) -> list[str]:
        reasons = explain(self.index, s.sig, s.scaled, s.weights, j)
        if s.penalty is not None and s.penalty[j] > 0.2:
            reasons.append(dislike_reason(self.index, s.disliked, j, float(s.penalty[j])))
        return reasons

    def recommend(
        self,
        read: Iterable[str],
        *,
        disliked: Iterable[str] = (),
        filters: Filters | None = None,
        k: int = 20,
        diversity: float = DEFAULT_DIVERSITY,
        external: Mapping[str, float] | None = None,
    ) -> RecommendationResult:
        """The ``k`` papers to read next after ``read`` (see :mod:`kg.recommend`), each with
        a fused score in 0..1, its reasons and its scaled signals. ``disliked`` papers push
        what is close to them down; ``external``: S2's recommendations for ``read`` (paper
        id -> score), the optional ``s2`` signal."""
        started = time.perf_counter()
        if k < 1:
            raise RecommendError(f"k must be at least 1, got {k}.")
        if not 0.0 <= diversity <= 1.0:
            raise RecommendError(f"diversity must be between 0 and 1, got {diversity}.")
        index = self.index
        s = self._score(read, disliked, filters, external, pool=max(MMR_POOL, 4 * k + 10))
        chosen = select(index, s.score, s.cand, k, diversity)
        recs = []
        signals: dict[str, dict[str, float]] = {}
        for j in chosen:
            pid = index.ids[j]
            reasons = tuple(self._reasons(s, j))
            recs.append(Recommendation(pid, round(float(s.score[j]), 4), reasons))
            signals[pid] = {name: round(float(s.scaled[name][j]), 4) for name in SIGNALS}
        return RecommendationResult(
            recommendations=tuple(recs),
            signals=signals,
            weights=s.weights,
            read=tuple(index.ids[j] for j in s.read),
            disliked=tuple(index.ids[j] for j in s.disliked),
            candidates=int(s.cand.sum()),
            seconds=time.perf_counter() - started,
            graph_trust=round(s.trust, 3),
        )

    def explain(
        self,
        read: Iterable[str],
        paper: str,
        *,
        disliked: Iterable[str] = (),
        external: Mapping[str, float] | None = None,
    ) -> Recommendation:
        """Why ``paper`` would (or would not) be recommended after ``read``: its fused score
        among every candidate and its reasons, as :meth:`recommend` would give them, whether
        or not it makes the top ``k``. A paper of the read set is no candidate."""
        index = self.index
        found = index.resolve([paper])
        if not found:
            raise RecommendError("Give the paper to explain (an S2 id, ARXIV:<id> or a title).")
        j = found[0]
        s = self._score(read, disliked, None, external, also=[j])
        if not s.cand[j]:
            why = (
                "it is in your read set (or a twin of a paper in it)"
                if j in set(s.read.tolist()) or j in index.title_twins(s.read)
                else "it is marked not relevant"
                if j in set(s.disliked.tolist())
                else "the graph knows it only as a citation (no paper record)"
            )
            raise RecommendError(f"{index.label(j)} [{index.ids[j]}] is no candidate: {why}.")
        return Recommendation(index.ids[j], round(float(s.score[j]), 4), tuple(self._reasons(s, j)))

    def reading_path(self, paper_ids: Iterable[str]) -> list[PathStep]:
        """``paper_ids`` ordered so that what a paper builds on comes first
        (:func:`kg.recommend.path.reading_path`)."""
        return reading_path(self.kg, paper_ids)


def recommend(
    kg: KnowledgeGraph,
    read: Iterable[str],
    *,
    disliked: Iterable[str] = (),
    filters: Filters | None = None,
    k: int = 20,
    weights: Mapping[str, float] | None = None,
    diversity: float = DEFAULT_DIVERSITY,
    external: Mapping[str, float] | None = None,
) -> list[Recommendation]:
    """The ``k`` papers to read next after ``read`` (see :mod:`kg.recommend`); each with a
    fused score in 0..1 and its reasons. ``external``: S2's recommendations for ``read``
    (paper id -> score), the optional ``s2`` signal. One call of :class:`Recommender`."""
    result = recommend_detailed(
        kg,
        read,
        disliked=disliked,
        filters=filters,
        k=k,
        weights=weights,
        diversity=diversity,
        external=external,
    )
    return list(result.recommendations)


def recommend_detailed(
    kg: KnowledgeGraph,
    read: Iterable[str],
    *,
    disliked: Iterable[str] = (),
    filters: Filters | None = None,
    k: int = 20,
    weights: Mapping[str, float] | None = None,
    diversity: float = DEFAULT_DIVERSITY,
    external: Mapping[str, float] | None = None,
) -> RecommendationResult:
    """:func:`recommend` with each recommendation's scaled signals and the weights used
    (:meth:`Recommender.recommend`)."""
    return Recommender(kg, weights).recommend(
        read, disliked=disliked, filters=filters, k=k, diversity=diversity, external=external
    )


def select(
    index: RecommendIndex, score: np.ndarray, cand: np.ndarray, k: int, diversity: float
) -> list[int]:
    """Top ``k`` candidates, by maximal marginal relevance when ``diversity`` > 0; two
    items with the same title are one (the better ranked is kept). Greedy over a pool
    that does not depend on ``k`` (up to ``MMR_POOL / 2``): a longer list starts with the
    shorter one."""
    rows = np.flatnonzero(cand)
    pool_size = min(rows.size, max(MMR_POOL, 2 * k) if diversity > 0 else 4 * k + 10)
    top = rows[np.argpartition(-score[rows], pool_size - 1)[:pool_size]] if pool_size else rows
    top = top[np.lexsort((top, -score[top]))]
    seen_titles: set[str] = set()
    pool: list[int] = []
    for j in top.tolist():
        t = index.title_key[j]
        if len(t) >= 10 and t in seen_titles:
            continue
        seen_titles.add(t)
        pool.append(j)
    if diversity <= 0 or len(pool) <= 1:
        return pool[:k]
    rel = score[pool]
    span = float(rel.max() - rel.min()) or 1.0
    rel = (rel - rel.min()) / span
    rows_e = index.emb_row[pool]
    vec = np.zeros((len(pool), index.embeddings.shape[1] if index.embeddings.ndim == 2 else 1))
    has = rows_e >= 0
    if has.any():
        vec[has] = index.embeddings[rows_e[has]]
    sim = np.clip(vec @ vec.T, 0.0, 1.0)
    chosen = [0]
    nearest = sim[0].copy()
    available = np.ones(len(pool), dtype=bool)
    available[0] = False
    while len(chosen) < min(k, len(pool)):
        mmr = (1.0 - diversity) * rel - diversity * nearest
        mmr[~available] = -np.inf
        nxt = int(np.argmax(mmr))
        chosen.append(nxt)
        available[nxt] = False
        nearest = np.maximum(nearest, sim[nxt])
    return [pool[i] for i in chosen]


__all__ = [
    "DEFAULT_DIVERSITY",
    "MMR_POOL",
    "RecommendationResult",
    "Recommender",
    "recommend",
    "recommend_detailed",
    "select",
]
