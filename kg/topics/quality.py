"""How well a clustering matches known classes: normalised mutual information and purity.

The arithmetic is scikit-learn's (``normalized_mutual_info_score``,
``contingency_matrix``); this module only makes labels of any type comparable (each
label is compared as its ``str``, so that ``None``, numbers and tags can mix) and
raises :class:`~kg.topics.model.TopicError` on label lists of different lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from kg.topics.model import TopicError

#: Cluster or class labels, one per paper.
Labels = Sequence[Any] | np.ndarray


def _as_str(a: Labels, b: Labels) -> tuple[np.ndarray, np.ndarray]:
    if len(a) != len(b):
        raise TopicError(f"label lists differ in length ({len(a)} vs {len(b)})")
    return (
        np.asarray(a, dtype=object).astype(str),
        np.asarray(b, dtype=object).astype(str),
    )


def nmi(a: Labels, b: Labels) -> float:
    """Normalised mutual information (arithmetic-mean normalisation, sklearn's default)."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    sa, sb = _as_str(a, b)
    return max(0.0, float(normalized_mutual_info_score(sa, sb)))


def purity(clusters: Labels, truth: Labels) -> float:
    """Share of papers whose cluster's majority class is their own class."""
    if len(clusters) == 0 and len(truth) == 0:
        return 1.0
    c = contingency_matrix(*_as_str(clusters, truth))
    return float(c.max(axis=1).sum() / c.sum())


__all__ = [
    "Labels",
    "nmi",
    "purity",
]
