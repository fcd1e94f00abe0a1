"""Discovered topics: a two-level hierarchy found in precomputed embeddings (an
``(n, d)`` array aligned with ``n`` paper ids; nothing here runs a model).

Spherical k-means (k-means++ seeding, deterministic for a given ``seed``) on the
L2-normalised vectors makes ``k1`` coarse topics, and each coarse topic with
enough papers is split again into ``k2`` sub-topics; ``k1`` and ``k2`` follow
the data size unless given (:func:`kg.topics.cluster.coarse_k`,
:func:`kg.topics.cluster.fine_k`). Each topic is
labelled by its most distinctive words and bigrams (stop words removed): BERTopic's
class-based TF-IDF over titles and abstracts (a term's share of the topic's words
times ``log(1 + mean words per topic / the term's count over all topics)``), times
``log(1 + max(0, lift - 1))`` of the term's lift in the topic, so that words every
topic uses do not crowd the labels (see :func:`kg.topics.label.ctfidf`). Coarse topics are
contrasted with each other, sub-topics with their siblings. A paper's score in a
topic is a softmax over its cosine to the topic centroids (temperature
``temperature``); it keeps its own cluster and up to ``max_topics`` others
scoring at least ``min_score``. Sub-topic scores are the softmax among the
siblings under the paper's coarse topic.

Updates: given the previous model (``previous=``), the discovered topics are updated
rather than found afresh, so that their ids keep their meaning across small corpus
changes. Each previous topic's centroid is recomputed as the mean of the current vectors
of its papers still present (a paper's primary topic: its highest-scoring membership on
that level), and one k-means run starts from these centroids: no k-means++ restarts and
no renumbering by size, so a continuing topic keeps its id; a topic left without papers
is retired (its id is listed in ``params["retired"]`` and later updates do not hand it
out again). Sub-topics are updated the same way under each coarse topic. A topic whose papers
overlap its previous ones by a Jaccard index of at least ``KEEP_LABEL`` keeps its label
and keywords (and the texts are not even split when no topic needs new ones). The
clustering starts afresh when there is no previous discovered scheme, when more than
``MAX_CHANGE`` of the previous papers were added or removed, when the embeddings
changed dimension, or when the number of topics asked for changes: an explicit ``k1``,
or the automatic one once the size moved more than 0.75 past the previous k (a rounding
boundary plus a margin, so that k does not flip back and forth at the boundary). When
one coarse topic's number of sub-topics changes (by the same rule), or not all of its
sub-topics have papers left, only its sub-topics are found afresh, under new ids. An
update of an unchanged corpus changes nothing. Updates are deterministic and need
nothing beyond the saved JSON (format unchanged: centroids are not stored).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kg.core.model import Topic, TopicMembership
from kg.core.text import MappedTexts
from kg.topics.cluster import (
    coarse_k,
    coarse_raw,
    fine_k,
    fine_raw,
    hold_k,
    normalise_rows,
    sampled_kmeans,
    softmax,
    spherical_kmeans,
    unit_rows,
    warm_kmeans,
)
from kg.topics.label import ctfidf, label_from, terms, top_keywords
from kg.topics.model import DISCOVERED, TopicError, TopicModel

#: An update clusters afresh when more than this share of the previous model's papers
#: were added or removed (see :func:`discover_topics`).
MAX_CHANGE = 0.2
#: A continuing topic keeps its label and keywords while its papers overlap the
#: previous ones by at least this Jaccard index.
KEEP_LABEL = 0.8
#: Field scale (``sample=`` given, more papers than that): the texts the keywords of the
#: coarse topics are counted on, and those of each coarse topic's sub-topics (a random
#: sample of the topic's papers; every text held split into terms at once would take
#: gigabytes at 1M papers).
KEYWORD_SAMPLE = 30_000
SUB_KEYWORD_SAMPLE = 10_000


# --------------------------------------------------------------------------- discovery
@dataclass
class DiscoveredTopics:
    """The discovered scheme and the hard assignment behind it (aligned with ``ids``)."""

    topics: list[Topic]
    memberships: list[TopicMembership]
    keywords: dict[str, list[tuple[str, float]]]
    ids: list[str]
    coarse: np.ndarray
    fine: np.ndarray  # index into ``fine_ids``; -1 where the coarse topic was not split
    fine_ids: list[str]
    params: dict[str, Any]

    def coarse_ids(self) -> list[str]:
        return [t.topic_id for t in self.topics if t.broader is None]


def discover_topics(
    ids: Sequence[str],
    embeddings: np.ndarray,
    texts: Sequence[str],
    *,
    k1: int | None = None,
    k2: int | None = None,
    seed: int = 0,
    temperature: float = 0.05,
    min_score: float = 0.2,
    max_topics: int = 3,
    n_keywords: int = 10,
    n_init: int = 4,
    previous: TopicModel | None = None,
    max_change: float = MAX_CHANGE,
    keep_label: float = KEEP_LABEL,
    sample: int | None = None,
) -> DiscoveredTopics:
    """Two-level topics from precomputed embeddings (rows aligned with ``ids``) and
    the papers' texts (for keywords). See the module docstring for the method.

    With ``previous`` (the last model, whose discovered topics are updated rather than
    replaced) the clustering is warm-started, see "Updates" in the module docstring (it
    matches papers by id: ``ids`` should be unique, as
    :func:`kg.topics.schemes.build_topic_model` makes them);
    ``max_change`` and ``keep_label`` are its two thresholds. ``params["warm_start"]``
    says which way the topics were made, ``params["fresh_reason"]`` why not warm.

    ``sample`` (field scale): with more papers than that, the memory-lean path: the vectors
    are normalised in float32 a block at a time (not copied at all when already unit rows),
    a fresh k-means finds its centroids on ``sample`` random papers and then assigns every
    paper (:func:`kg.topics.cluster.sampled_kmeans`, on each level), and keywords are
    counted on :data:`KEYWORD_SAMPLE` random texts (:data:`SUB_KEYWORD_SAMPLE` per coarse
    topic for its sub-topics), split when needed and not kept. ``texts`` may then be a
    lazy sequence: only the sampled ones are read."""
    x = np.asarray(embeddings)
    if x.ndim != 2 or x.shape[0] != len(ids) or len(texts) != len(ids):
        raise TopicError(
            f"embeddings must be an (n, d) array aligned with the ids and texts: got shape "
            f"{x.shape} for {len(ids)} ids and {len(texts)} texts"
        )
    lean = sample is not None and x.shape[0] > sample
    if not all(np.isfinite(x[lo : lo + 16_384]).all() for lo in range(0, x.shape[0], 16_384)):
        raise TopicError("embeddings contain NaN or infinity; recompute them (`litkg build`)")
    if not temperature > 0:
        raise TopicError(f"temperature must be > 0, got {temperature}")
    if lean:
        keep, x = unit_rows(x)  # zero vectors: nothing to place
        texts = MappedTexts(keep.tolist(), texts.__getitem__) if keep.size < len(texts) else texts
    else:
        keep = np.flatnonzero(np.linalg.norm(x, axis=1) > 0)  # zero vectors: nothing to place
        texts = [texts[i] for i in keep.tolist()]
        x = normalise_rows(x[keep])
    ids = [ids[i] for i in keep.tolist()]
    n = len(ids)
    dim = int(x.shape[1])
    prior = _Prior.of(previous) if previous is not None else None
    plan = _plan(prior, ids, dim, k1, max_change)
    retired: list[str] = []

    # coarse level: the previous topics moved to the current papers, or a fresh clustering
    warm = None
    if prior is not None and plan.fresh_reason is None:
        warm = warm_kmeans(x, ids, prior.coarse_of, prior.coarse_ids)
        if warm is None:
            plan.fresh_reason = "no previous topic has papers left"
    if warm is not None:
        coarse, centroids, coarse_ids, gone = warm
        retired += gone
    else:
        plan.k1 = k1 if k1 is not None else coarse_k(n)
        if lean and sample is not None:
            coarse, centroids = sampled_kmeans(x, plan.k1, sample, seed=seed, n_init=n_init)
        else:
            coarse, centroids = spherical_kmeans(x, plan.k1, seed=seed, n_init=n_init)
        coarse_ids = [f"{DISCOVERED}/{c}" for c in range(centroids.shape[0])]
    k = len(coarse_ids)
    warm_prior = prior if warm is not None else None
    memberships: list[TopicMembership] = []
    if n:  # coarse memberships: softmax over all coarse centroids
        scores = softmax(x @ centroids.T, temperature)
        memberships += _memberships(ids, scores, coarse, coarse_ids, min_score, max_topics)

    # fine level, under each coarse topic
    fine = np.full(n, -1)
    fine_ids: list[str] = []
    fine_parent: list[int] = []
    for c, cid in enumerate(coarse_ids):
        rows = np.flatnonzero(coarse == c)
        before = warm_prior.subs.get(cid, []) if warm_prior is not None else []
        if k2 is not None:
            kk = k2
        elif warm_prior is not None:
            kk = hold_k(max(1, len(before)), fine_k(rows.size), fine_raw(rows.size))
        else:
            kk = fine_k(rows.size)
        if kk < 2 or rows.size < 2 * kk:
            retired += before
            continue
        row_ids = [ids[i] for i in rows.tolist()]
        xr = x[rows]
        sub_warm = None
        if warm_prior is not None and len(before) == kk:
            sub_warm = warm_kmeans(xr, row_ids, warm_prior.fine_of, before, need=kk)
        if sub_warm is not None and len(sub_warm[2]) >= 2:
            sub, sub_centroids, local_ids, gone = sub_warm
            retired += gone
        else:
            if lean and sample is not None:
                sub, sub_centroids = sampled_kmeans(
                    xr, kk, sample, seed=seed + 1 + c, n_init=n_init
                )
            else:
                sub, sub_centroids = spherical_kmeans(xr, kk, seed=seed + 1 + c, n_init=n_init)
            if sub_centroids.shape[0] < 2:
                retired += before
                continue
            used = [*before, *retired, *(warm_prior.retired if warm_prior is not None else [])]
            first = _next_index(cid, used)
            local_ids = [f"{cid}/{first + j}" for j in range(sub_centroids.shape[0])]
            retired += before
        fine[rows] = sub + len(fine_ids)
        fine_ids += local_ids
        fine_parent += [c] * len(local_ids)
        sub_scores = softmax(xr @ sub_centroids.T, temperature)
        del xr
        memberships += _memberships(row_ids, sub_scores, sub, local_ids, min_score, max_topics)

    # labels: a continuing topic whose papers barely changed keeps its label and keywords
    kept: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    if warm_prior is not None:
        kept = _kept_labels(warm_prior, ids, coarse, coarse_ids, fine, fine_ids, keep_label)

    # keywords: c-TF-IDF among the coarse topics, and among each topic's sub-topics (what
    # sets a sub-topic apart from its siblings; the parent's words would repeat otherwise).
    # Texts are split once, and only where some topic needs new keywords.
    keywords: dict[str, list[tuple[str, float]]] = {t: kw for t, (_, kw) in kept.items()}
    docs: list[list[str] | None] = [None] * n

    def split(rows: Sequence[int]) -> list[list[str]]:
        if lean:  # split when needed, not kept
            return [terms(texts[i]) for i in rows]
        out: list[list[str]] = []
        for i in rows:
            d = docs[i]
            if d is None:
                d = docs[i] = terms(texts[i])
            out.append(d)
        return out

    if n and any(cid not in kept for cid in coarse_ids):
        picked = _sample(np.arange(n), KEYWORD_SAMPLE if lean else n, seed)
        w, vocab = ctfidf(
            [texts[i] for i in picked.tolist()] if not lean else (),
            coarse[picked],
            k,
            docs=split(picked.tolist()),
        )
        for c, cid in enumerate(coarse_ids):
            if cid not in kept:
                keywords[cid] = top_keywords(w[c], vocab, n_keywords)
    parents = np.array(fine_parent, dtype=np.int64)
    for c in sorted(set(fine_parent)):
        subs = np.flatnonzero(parents == c)
        if all(fine_ids[f] in kept for f in subs.tolist()):
            continue
        rows = np.flatnonzero(coarse == c)
        if lean:
            rows = _sample(rows, SUB_KEYWORD_SAMPLE, seed + 1 + c)
        local = fine[rows] - subs[0]
        wf, vocab_f = ctfidf(
            [texts[i] for i in rows.tolist()] if not lean else (),
            local,
            subs.size,
            docs=split(rows.tolist()),
        )
        for j, f in enumerate(subs.tolist()):
            if fine_ids[f] not in kept:
                keywords[fine_ids[f]] = top_keywords(wf[j], vocab_f, n_keywords)

    def topic(tid: str, broader: str | None) -> Topic:
        kws = keywords.get(tid, [])
        label = kept[tid][0] if tid in kept else label_from(kws)
        return Topic(tid, label, DISCOVERED, broader, tuple(t for t, _ in kws))

    topics: list[Topic] = []
    for c, cid in enumerate(coarse_ids):
        topics.append(topic(cid, None))
        topics += [topic(fid, cid) for j, fid in enumerate(fine_ids) if fine_parent[j] == c]
    keywords = {t.topic_id: keywords[t.topic_id] for t in topics if t.topic_id in keywords}
    params: dict[str, Any] = {
        "n_papers": n,
        "dim": dim,
        "k1": k,
        "k1_target": plan.k1,
        "k2": k2,
        "n_subtopics": len(fine_ids),
        "seed": seed,
        "temperature": temperature,
        "min_score": min_score,
        "max_topics": max_topics,
        "method": (
            "spherical k-means warm-started from the previous topics"
            if warm is not None
            else "spherical k-means (k-means++)"
        )
        + (f" on samples of {sample} papers" if lean else "")
        + ", 2 levels; c-TF-IDF keywords"
        + (f" on {KEYWORD_SAMPLE} sampled texts" if lean else ""),
        "warm_start": warm is not None,
        "fresh_reason": plan.fresh_reason,
        "changed": None if plan.changed is None else round(plan.changed, 6),
        "kept_labels": len(kept),
        "retired": sorted({*retired, *(warm_prior.retired if warm_prior is not None else [])}),
    }
    return DiscoveredTopics(topics, memberships, keywords, ids, coarse, fine, fine_ids, params)


def _sample(rows: np.ndarray, most: int, seed: int) -> np.ndarray:
    """``rows`` when there are at most ``most`` of them, else ``most`` of them drawn at
    random (deterministic for ``seed``), in their order."""
    if rows.size <= most:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, most, replace=False))


def _memberships(
    ids: Sequence[str],
    scores: np.ndarray,
    assigned: np.ndarray,
    topic_ids: Sequence[str],
    min_score: float,
    max_topics: int,
) -> list[TopicMembership]:
    out: list[TopicMembership] = []
    top = np.argsort(-scores, axis=1, kind="stable")[:, : max(1, max_topics)]
    for i, pid in enumerate(ids):
        own = int(assigned[i])
        out.append(TopicMembership(pid, topic_ids[own], round(float(scores[i, own]), 6)))
        for j in top[i]:
            s = float(scores[i, j])
            if j != own and s >= min_score:
                out.append(TopicMembership(pid, topic_ids[j], round(s, 6)))
    return out


# --------------------------------------------------------------------------- updates
@dataclass
class _Prior:
    """What a warm start takes from the previous model: its discovered topics in their
    order, each paper's primary (highest-scoring) coarse topic and sub-topic, labels."""

    coarse_ids: list[str]
    subs: dict[str, list[str]]  # coarse topic -> its sub-topics, in order
    topics: dict[str, Topic]
    keywords: dict[str, list[tuple[str, float]]]
    coarse_of: dict[str, str]  # paper -> primary coarse topic
    fine_of: dict[str, str]  # paper -> primary sub-topic (under its primary coarse topic)
    params: dict[str, Any]
    retired: list[str]

    @classmethod
    def of(cls, model: TopicModel) -> _Prior | None:
        found = model.in_scheme(DISCOVERED)
        coarse_ids = [t.topic_id for t in found if t.broader is None]
        if not coarse_ids:
            return None
        subs: dict[str, list[str]] = {c: [] for c in coarse_ids}
        parent: dict[str, str] = {}
        for t in found:
            if t.broader in subs:
                subs[t.broader].append(t.topic_id)
                parent[t.topic_id] = t.broader
        best_c: dict[str, tuple[float, str]] = {}
        best_f: dict[str, tuple[float, str]] = {}
        for m in model.memberships:
            best = best_c if m.topic_id in subs else best_f if m.topic_id in parent else None
            if best is not None:
                had = best.get(m.paper_id)
                if had is None or m.score > had[0]:  # ties: the first listed (its own)
                    best[m.paper_id] = (m.score, m.topic_id)
        coarse_of = {p: t for p, (_, t) in best_c.items()}
        fine_of = {p: t for p, (_, t) in best_f.items() if coarse_of.get(p) == parent[t]}
        params = model.params.get(DISCOVERED)
        params = dict(params) if isinstance(params, Mapping) else {}
        retired = params.get("retired")
        return cls(
            coarse_ids,
            subs,
            {t.topic_id: t for t in found},
            {t: list(kw) for t, kw in model.keywords.items()},
            coarse_of,
            fine_of,
            params,
            [str(r) for r in retired] if isinstance(retired, list) else [],
        )


@dataclass
class _Plan:
    k1: int  # the coarse topics asked for
    fresh_reason: str | None  # None: warm start
    changed: float | None  # share of the previous papers added or removed


def _plan(
    prior: _Prior | None, ids: Sequence[str], dim: int, k1: int | None, max_change: float
) -> _Plan:
    """Warm start or fresh clustering, and the number of coarse topics."""
    n = len(ids)
    if prior is None:
        return _Plan(k1 if k1 is not None else coarse_k(n), "no previous discovered topics", None)
    before, now = set(prior.coarse_of), set(ids)
    changed = (len(now - before) + len(before - now)) / max(1, len(before))
    prev_k = prior.params.get("k1_target", prior.params.get("k1", len(prior.coarse_ids)))
    prev_k = int(prev_k) if isinstance(prev_k, int | float) else len(prior.coarse_ids)
    target = k1 if k1 is not None else hold_k(prev_k, coarse_k(n), coarse_raw(n))
    reason = None
    if prior.params.get("dim") not in (None, dim):
        reason = f"the embeddings changed dimension ({prior.params.get('dim')} -> {dim})"
    elif changed > max_change:
        reason = f"{changed:.0%} of the papers were added or removed (> {max_change:.0%})"
    elif target != prev_k:
        reason = f"k1 changed ({prev_k} -> {target})"
    return _Plan(target, reason, changed)


def _next_index(parent: str, used: Iterable[str]) -> int:
    """The first sub-topic number under ``parent`` above every one in ``used``."""
    taken = [
        int(tail)
        for t in used
        if t.startswith(parent + "/") and (tail := t[len(parent) + 1 :]).isdigit()
    ]
    return max(taken, default=-1) + 1


def _kept_labels(
    prior: _Prior,
    ids: Sequence[str],
    coarse: np.ndarray,
    coarse_ids: Sequence[str],
    fine: np.ndarray,
    fine_ids: Sequence[str],
    keep_label: float,
) -> dict[str, tuple[str, list[tuple[str, float]]]]:
    """Topic id -> previous ``(label, keywords)`` for the continuing topics whose papers
    (primary assignments) overlap their previous ones by a Jaccard index >= ``keep_label``."""
    before: dict[str, set[str]] = defaultdict(set)
    for p, t in prior.coarse_of.items():
        before[t].add(p)
    for p, t in prior.fine_of.items():
        before[t].add(p)
    after: dict[str, set[str]] = defaultdict(set)
    for i, pid in enumerate(ids):
        after[coarse_ids[int(coarse[i])]].add(pid)
        if fine[i] >= 0:
            after[fine_ids[int(fine[i])]].add(pid)
    kept: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    for tid, now in after.items():
        old = prior.topics.get(tid)
        if old is None or not before[tid]:
            continue
        if len(now & before[tid]) / len(now | before[tid]) >= keep_label:
            kws = prior.keywords.get(tid) or [(t, 0.0) for t in old.keywords]
            kept[tid] = (old.label, kws)
    return kept


__all__ = [
    "KEEP_LABEL",
    "MAX_CHANGE",
    "DiscoveredTopics",
    "discover_topics",
]
