"""Reading paths: papers ordered so that what a paper builds on comes before it."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kg.core.errors import RecommendError
from kg.graph.algorithms import row_set
from kg.recommend.index import RecommendIndex, name_list

if TYPE_CHECKING:
    from kg.graph.knowledge import KnowledgeGraph


@dataclass(frozen=True)
class PathStep:
    """One paper of a reading path: 1-based ``position`` and why it is there."""

    paper_id: str
    position: int
    reason: str


# --------------------------------------------------------------------------- reading path
def reading_path(kg: KnowledgeGraph, paper_ids: Iterable[str]) -> list[PathStep]:
    """Order papers so that what a paper builds on comes before it.

    A topological order of the citations within the list (a cited paper before the
    papers citing it); among papers that are ready, the oldest first (foundations before
    the work built on them, even where the graph misses the citation between them), then
    the most cited within the list, then the most central in the graph, then the given
    order. A citation cycle is broken at its oldest paper.
    """
    index = RecommendIndex.of(kg)
    nodes = index.resolve(paper_ids)
    if not nodes:
        raise RecommendError("Give at least one paper to order into a reading path.")
    view = index.view
    inside = set(nodes)
    prereq = {u: row_set(view.A, u) & inside - {u} for u in nodes}
    cited_in = {u: row_set(view.AT, u) & inside - {u} for u in nodes}
    order = {u: i for i, u in enumerate(nodes)}
    year = {u: (index.year[u] if not np.isnan(index.year[u]) else math.inf) for u in nodes}
    central = view.centrality()
    placed: list[int] = []
    done: set[int] = set()
    steps: list[PathStep] = []
    while len(placed) < len(nodes):
        left = [u for u in nodes if u not in done]
        ready = [u for u in left if prereq[u] <= done]
        pool = ready or left
        u = min(pool, key=lambda v: (year[v], -len(cited_in[v]), -central[v], order[v]))
        before = sorted(prereq[u] & done, key=lambda v: -placed.index(v))
        after = sorted(prereq[u] - done, key=lambda v: order[v])
        reason = _path_reason(index, u, before, after, cited_in[u] - done, year)
        placed.append(u)
        done.add(u)
        steps.append(PathStep(index.ids[u], len(placed), reason))
    return steps


def _path_reason(
    index: RecommendIndex,
    u: int,
    before: list[int],
    after: list[int],
    cited_in: set[int],
    year: Mapping[int, float],
) -> str:
    parts = []
    if before:
        them = "them" if len(before) > 1 else "it"
        names = name_list([index.label(v) for v in before], conj=True)
        parts.append(f"read after {names}: it builds on {them}")
    if after:
        y = year[u]
        when = f"{int(y)}" if math.isfinite(y) else "year unknown"
        later = name_list([index.label(v) for v in after], conj=True)
        parts.append(
            f"placed before {later} although it cites "
            f"{'them' if len(after) > 1 else 'it'}: they cite each other, so the older "
            f"comes first ({when})"
        )
    if not before and not after:
        if cited_in:
            n = len(cited_in)
            parts.append(f"foundational: cited by {n} paper{'s' if n > 1 else ''} in this list")
        else:
            y = year[u]
            when = f"{int(y)}" if math.isfinite(y) else "year unknown"
            parts.append(f"no citation links to the others in this list; placed by year ({when})")
    elif cited_in and not after:
        n = len(cited_in)
        parts.append(f"cited by {n} later paper{'s' if n > 1 else ''} in this list")
    return "; ".join(parts)


__all__ = ["PathStep", "reading_path"]
