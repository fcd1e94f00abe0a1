"""The curated-list benchmark's ceiling search (``bench_lists.fusion_ceiling``)."""

from __future__ import annotations

import numpy as np

from kg.recommend.protocols import Prepared, Query
from kg.recommend.signals import SIGNALS
from tests.bench.bench_lists import fusion_ceiling


def _prepared(rng: np.random.Generator, telling: str, m: int = 300, n_rel: int = 12) -> Prepared:
    """A query whose relevant candidates only the ``telling`` signal tells apart."""
    relevant = np.zeros(m, dtype=bool)
    relevant[rng.choice(m, n_rel, replace=False)] = True
    scaled = rng.random((m, len(SIGNALS)))
    col = SIGNALS.index(telling)
    scaled[:, col] = 0.5 * rng.random(m) + 0.5 * relevant
    return Prepared(
        query=Query(read=("a",), relevant=frozenset()),
        rows=np.arange(m),
        scaled=scaled,
        raw=scaled,
        popularity=np.zeros(m),
        relevant=relevant,
        noise=rng.random(m),
        cand=np.zeros(0, dtype=bool),
        full_scaled={},
    )


def test_the_ceiling_finds_the_one_signal_that_tells_and_counts_every_query() -> None:
    rng = np.random.default_rng(3)
    preps = [_prepared(rng, "coupling") for _ in range(4)]
    best, weights = fusion_ceiling(preps, 4, starts=50)
    assert best == 12.0  # every relevant paper in every top 20
    assert max(weights, key=weights.__getitem__) == "coupling"
    assert abs(sum(weights.values()) - 1) < 0.05
    # queries with no relevant paper in the pool count as 0 hits
    half, _ = fusion_ceiling(preps, 8, starts=50)
    assert half == 6.0


def test_the_ceiling_is_never_below_the_default_weights() -> None:
    """Noise only: whatever the search finds, it starts from the defaults."""
    from kg.recommend.fusion import DEFAULT_WEIGHTS, fuse_matrix

    rng = np.random.default_rng(5)
    preps = [_prepared(rng, "text", n_rel=30) for _ in range(3)]
    for p in preps:
        p.scaled[:, :] = rng.random(p.scaled.shape)  # nothing tells
    w = np.array([DEFAULT_WEIGHTS.get(s, 0.0) for s in SIGNALS])
    default_hits = 0
    for p in preps:
        score = fuse_matrix(p.scaled, w / w.sum()) + p.noise * 1e-7
        default_hits += int(p.relevant[np.argsort(-score)[:20]].sum())
    best, _ = fusion_ceiling(preps, 3, starts=5)
    assert best >= default_hits / 3
