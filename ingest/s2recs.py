"""S2's own recommendations as an optional signal: paper id -> score by rank.

``POST /recommendations/v1/papers`` with the papers a user read as positives
(and, optionally, rejected ones as negatives). The answer is S2's ranking, not
a score, so a paper's score comes from its rank: ``1 / (1 + rank / 10)`` with
rank 0 for S2's first pick, so the first scores 1.0, the 11th 0.5, the 91st
0.1; every score is in (0, 1]. Offline, or when S2 cannot answer, the result is
empty and says why: its absence harms nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ingest.errors import IngestError
from ingest.s2 import S2Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class S2Recommendations:
    """S2's recommendations for a reading list; ``reason`` says why ``scores`` is empty."""

    scores: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    reason: str | None = None


def rank_score(rank: int) -> float:
    """The score of S2's recommendation at 0-based ``rank``: 1.0, 0.91, ... 0.5 at rank 10."""
    return 1.0 / (1.0 + rank / 10.0)


def fetch_s2_recommendations(
    client: S2Client | None,
    read_ids: Sequence[str],
    negative_ids: Sequence[str] = (),
    *,
    limit: int = 100,
) -> S2Recommendations:
    """S2's recommendations for ``read_ids``, scored by rank; never raises.

    Papers known only locally (``local:`` ids) cannot be sent; read and negative
    papers are left out of the scores.
    """
    positives = [p for p in dict.fromkeys(read_ids) if not p.startswith("local:")]
    negatives = [p for p in dict.fromkeys(negative_ids) if not p.startswith("local:")]
    if client is None:
        return S2Recommendations(reason="offline: no S2 client")
    if not positives:
        return S2Recommendations(reason="no paper known to S2 among the papers read")
    try:
        found = client.recommendations(positives, negatives, limit=limit, fields=("paperId",))
    except IngestError as exc:
        log.warning("S2 recommendations unavailable: %s", exc)
        return S2Recommendations(reason=f"S2 recommendations unavailable: {exc}")
    skip = set(positives) | set(negatives)
    scores: dict[str, float] = {}
    for item in found:
        pid = str(item["paperId"])
        if pid not in skip and pid not in scores:
            scores[pid] = rank_score(len(scores))
    return S2Recommendations(scores=MappingProxyType(scores))


def s2_recommendation_scores(
    client: S2Client | None,
    read_ids: Sequence[str],
    negative_ids: Sequence[str] = (),
    *,
    limit: int = 100,
) -> dict[str, float]:
    """paperId -> score in (0, 1] by S2's rank (see :func:`rank_score`); ``{}`` when S2
    cannot be reached (the reason is logged)."""
    return dict(fetch_s2_recommendations(client, read_ids, negative_ids, limit=limit).scores)
