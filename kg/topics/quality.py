"""How well a clustering matches known classes: normalised mutual information and purity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from kg.topics.model import TopicError

#: Cluster or class labels, one per paper.
Labels = Sequence[Any] | np.ndarray


def _contingency(a: Labels, b: Labels) -> np.ndarray:
    if len(a) != len(b):
        raise TopicError(f"label lists differ in length ({len(a)} vs {len(b)})")
    _, ai = np.unique(np.asarray(a, dtype=object).astype(str), return_inverse=True)
    _, bi = np.unique(np.asarray(b, dtype=object).astype(str), return_inverse=True)
    m = sp.coo_matrix((np.ones(len(a)), (ai, bi))).toarray()
    return np.asarray(m)


def nmi(a: Labels, b: Labels) -> float:
    """Normalised mutual information (arithmetic-mean normalisation, as sklearn's default)."""
    if len(a) == 0:
        return 1.0
    c = _contingency(a, b)
    n = c.sum()
    pa, pb = c.sum(axis=1) / n, c.sum(axis=0) / n
    pab = c / n
    nz = pab > 0
    mi = float((pab[nz] * np.log(pab[nz] / np.outer(pa, pb)[nz])).sum())
    ha = float(-(pa[pa > 0] * np.log(pa[pa > 0])).sum())
    hb = float(-(pb[pb > 0] * np.log(pb[pb > 0])).sum())
    if ha == 0 and hb == 0:
        return 1.0
    denom = (ha + hb) / 2
    return max(0.0, mi / denom) if denom > 0 else 0.0


def purity(clusters: Labels, truth: Labels) -> float:
    """Share of papers whose cluster's majority class is their own class."""
    if len(clusters) == 0:
        return 1.0
    c = _contingency(clusters, truth)
    return float(c.max(axis=1).sum() / c.sum())


__all__ = [
    "Labels",
    "nmi",
    "purity",
]
