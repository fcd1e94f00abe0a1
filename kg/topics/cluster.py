"""Clustering paper vectors: spherical k-means (fresh with k-means++, or warm-started from
the previous topics), the number of topics for a data size, and membership scores.

Everything works on L2-normalised rows (cosine similarity) and is deterministic for a
given seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp


def coarse_k(n: int) -> int:
    """Coarse topics for ``n`` papers: ``round(sqrt(n / 50))`` within 2..20 (1 below 8)."""
    if n < 8:
        return 1
    return int(min(20, max(2, round(math.sqrt(n / 50)))))


def fine_k(n: int) -> int:
    """Sub-topics of a coarse topic of ``n`` papers: ``round(sqrt(n / 25))`` within 1..8
    (1 means the topic is not split)."""
    if n < 20:
        return 1
    return int(min(8, max(1, round(math.sqrt(n / 25)))))


def normalise_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.where(norms > 0, norms, 1.0))


def spherical_kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """k-means on the unit sphere (cosine similarity), k-means++ seeding, best of
    ``n_init`` runs. ``x`` must have unit rows. Returns ``(labels, centroids)`` with
    clusters numbered by size (largest first), centroids unit-length. Deterministic."""
    n = x.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, x.shape[1]))
    k = max(1, min(k, n))
    x = np.asarray(x, dtype=np.float32)  # the similarity products dominate: float32 halves them
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(n_init):
        centroids = _kmeanspp(x, k, rng)
        labels = np.full(n, -1)
        for _ in range(max_iter):
            sims = x @ centroids.T
            new_labels = sims.argmax(axis=1)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
            centroids = _centroids(x, labels, k)
            empty = np.flatnonzero(np.linalg.norm(centroids, axis=1) == 0)
            if empty.size:  # re-seed an empty cluster at the worst-served points
                worst = np.argsort(sims[np.arange(n), labels], kind="stable")[: empty.size]
                centroids[empty] = x[worst]
        objective = float((x @ centroids.T)[np.arange(n), labels].sum())
        if best is None or objective > best[0] + 1e-9:
            best = (objective, labels, centroids)
    assert best is not None
    _, labels, centroids = best
    return _by_size(labels, centroids)


def _by_size(labels: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clusters renumbered by size, largest first (ties: the one whose first row comes
    first); empty ones dropped."""
    k, n = centroids.shape[0], labels.size
    sizes = np.bincount(labels, minlength=k)
    first = np.array([np.flatnonzero(labels == c)[0] if sizes[c] else n for c in range(k)])
    order = np.lexsort((first, -sizes))
    order = order[sizes[order] > 0]
    remap = np.full(k, -1)
    remap[order] = np.arange(order.size)
    return remap[labels], centroids[order]


def sampled_kmeans(
    x: np.ndarray, k: int, sample: int, *, seed: int = 0, n_init: int = 4, block: int = 65_536
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`spherical_kmeans` for field-scale data: the centroids are found on ``sample``
    rows drawn at random (deterministic for ``seed``), then every row is given its nearest
    centroid, ``block`` rows at a time (no full-size temporary). Clusters numbered by size
    (largest first), as :func:`spherical_kmeans` numbers them; ``x``: unit rows, float32.
    With ``sample`` rows or fewer this is :func:`spherical_kmeans` itself."""
    n = x.shape[0]
    if n <= sample:
        return spherical_kmeans(x, k, seed=seed, n_init=n_init)
    picked = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    _, centroids = spherical_kmeans(x[picked], k, seed=seed, n_init=n_init)
    centroids = centroids.astype(np.float32)
    labels = np.empty(n, dtype=np.int64)
    for lo in range(0, n, block):
        labels[lo : lo + block] = (np.asarray(x[lo : lo + block]) @ centroids.T).argmax(axis=1)
    return _by_size(labels, centroids)


def unit_rows(x: np.ndarray, block: int = 16_384) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, unit)``: the rows of ``x`` that are not zero and those rows L2-normalised
    (float32), a ``block`` of rows at a time. ``x`` itself is returned (no copy) when it
    is float32 with every row already of unit length, as the build's text vectors are."""
    n = x.shape[0]
    norms = np.empty(n, dtype=np.float64)
    for lo in range(0, n, block):
        norms[lo : lo + block] = np.linalg.norm(np.asarray(x[lo : lo + block], np.float64), axis=1)
    rows = np.flatnonzero(norms > 0)
    if x.dtype == np.float32 and rows.size == n and np.abs(norms - 1.0).max(initial=0) < 1e-5:
        return rows, x
    out = np.empty((rows.size, x.shape[1]), dtype=np.float32)
    for lo in range(0, rows.size, block):
        part = rows[lo : lo + block]
        out[lo : lo + block] = np.asarray(x[part], np.float64) / norms[part, None]
    return rows, out


def _kmeanspp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    n = x.shape[0]
    chosen = [int(rng.integers(n))]
    dist = np.maximum(0.0, 1.0 - x @ x[chosen[0]])  # half the squared Euclidean distance
    for _ in range(1, k):
        total = dist.sum()
        nxt = int(rng.choice(n, p=dist / total)) if total > 0 else int(rng.integers(n))
        chosen.append(nxt)
        dist = np.minimum(dist, np.maximum(0.0, 1.0 - x @ x[nxt]))
    return np.array(x[chosen], dtype=x.dtype)


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    n = x.shape[0]
    m = sp.csr_matrix((np.ones(n, dtype=x.dtype), (labels, np.arange(n))), shape=(k, n))
    return normalise_rows(np.asarray(m @ x)).astype(x.dtype)


def softmax(sims: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of ``sims / temperature`` (each paper's scores over the topics)."""
    z = sims / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


#: How far past the rounding boundary the size may drift before an update changes an
#: automatic k (so that k does not flip back and forth for a corpus near a boundary).
_K_SLACK = 0.25


def hold_k(prev: int, now: int, raw: float) -> int:
    """``prev`` while ``raw`` (the unrounded automatic k) is within ``0.5 + _K_SLACK`` of it."""
    return prev if now == prev or abs(raw - prev) < 0.5 + _K_SLACK else now


def coarse_raw(n: int) -> float:
    """:func:`coarse_k` before rounding."""
    return 1.0 if n < 8 else min(20.0, max(2.0, math.sqrt(n / 50)))


def fine_raw(n: int) -> float:
    """:func:`fine_k` before rounding."""
    return 1.0 if n < 20 else min(8.0, max(1.0, math.sqrt(n / 25)))


def warm_kmeans(
    x: np.ndarray,
    ids: Sequence[str],
    primary: Mapping[str, str],
    topic_ids: Sequence[str],
    *,
    need: int = 1,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]] | None:
    """Spherical k-means started from the previous topics: each topic's centroid is the
    mean of the current vectors of its papers (``primary``: paper -> topic) still here.
    One run, no reseeding: a topic left without papers is retired. Returns ``(labels,
    centroids, topic ids kept, ids retired)`` with labels indexing the kept ids in their
    previous order, or ``None`` when fewer than ``need`` topics have papers left."""
    x = np.asarray(x, dtype=np.float32)
    k = len(topic_ids)
    index = {t: j for j, t in enumerate(topic_ids)}
    start = np.array([index.get(primary.get(p, ""), -1) for p in ids], dtype=np.int64)
    has = start >= 0
    centroids = _centroids(x[has], start[has], k)
    alive = np.linalg.norm(centroids, axis=1) > 0
    if int(alive.sum()) < max(1, need):
        return None
    labels = np.full(x.shape[0], -1)
    for _ in range(max_iter):
        sims = x @ centroids.T
        sims[:, ~alive] = -np.inf
        new_labels = sims.argmax(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        alive &= np.bincount(labels, minlength=k) > 0
        centroids = _centroids(x, labels, k)
    kept = np.flatnonzero(alive)
    remap = np.full(k, -1)
    remap[kept] = np.arange(kept.size)
    gone = [topic_ids[j] for j in np.flatnonzero(~alive).tolist()]
    return remap[labels], centroids[kept], [topic_ids[j] for j in kept.tolist()], gone


__all__ = [
    "coarse_k",
    "coarse_raw",
    "fine_k",
    "fine_raw",
    "hold_k",
    "normalise_rows",
    "sampled_kmeans",
    "softmax",
    "spherical_kmeans",
    "unit_rows",
    "warm_kmeans",
]
