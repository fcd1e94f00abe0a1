"""The Topics page: the schemes' hierarchies, and one topic's key papers, keywords and
growth over time."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.core.model import Topic
from kg.views.explorer import (
    NO_TOPIC,
    ExploreError,
    Explorer,
    paper_row,
    pick_scheme,
)

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class TopicNode:
    topic_id: str
    label: str
    size: int
    keywords: tuple[str, ...]
    children: tuple[TopicNode, ...] = ()


def topic_tree(ex: Explorer, scheme: str) -> list[TopicNode]:
    """The topics of ``scheme`` as a forest, largest first; ``size`` counts the papers in
    the topic or a narrower one."""
    if scheme not in ex.schemes:
        raise ExploreError(f"Unknown topic scheme {scheme!r}; the graph has {ex.schemes}.")

    def node(tid: str, seen: frozenset[str]) -> TopicNode:
        t = ex.topics[tid]
        kids = [node(c, seen | {tid}) for c in ex.children.get(tid, []) if c not in seen]
        kids.sort(key=lambda k: (-k.size, k.label.lower()))
        keywords = tuple(t.keywords) or tuple(w for w, _ in ex.kg.topics.keywords.get(tid, [])[:8])
        return TopicNode(tid, t.label, len(ex.topic_items(tid)), keywords, tuple(kids))

    roots = [tid for tid in ex.children.get(None, []) if ex.topics[tid].scheme == scheme]
    out = [node(tid, frozenset()) for tid in roots]
    return sorted(out, key=lambda k: (-k.size, k.label.lower()))


@dataclass(frozen=True)
class TopicDetail:
    topic: Topic
    scheme: str
    size: int
    broader: tuple[str, str] | None
    narrower: list[tuple[str, str, int]]
    keywords: list[tuple[str, float]]
    key_papers: list[dict[str, Any]]
    per_year: list[dict[str, Any]]  # year, papers, total (cumulative)
    related: list[tuple[str, str, str, float]]  # id, label, scheme, share


def topic_detail(ex: Explorer, topic_id: str, *, key_papers: int = 15) -> TopicDetail:
    """One topic: its key papers (membership score times log citations), keywords, papers
    per year and cumulative, broader/narrower topics and the linked topics of the other
    scheme (curated <-> discovered)."""
    t = ex.topics.get(topic_id)
    if t is None:
        raise ExploreError(f"Unknown topic {topic_id!r}.")
    items = ex.topic_items(topic_id)
    scores: dict[int, float] = {}
    for tid in [topic_id, *_descendants(ex, topic_id)]:
        for j, s in ex.members.get(tid, {}).items():
            scores[j] = max(scores.get(j, 0.0), s)
    ranked = sorted(
        items, key=lambda j: (-scores.get(j, 0.0) * math.log1p(ex.citations[j] + 1), ex.ids[j])
    )
    labels = ex.primary_labels(pick_scheme(ex, None)) if ex.schemes else [NO_TOPIC] * ex.n
    top = []
    for j in ranked[:key_papers]:
        row = paper_row(ex, j, labels)
        row["membership"] = round(scores.get(j, 0.0), 3)
        top.append(row)
    years = Counter(int(ex.year[j]) for j in items if not np.isnan(ex.year[j]))
    per_year, total = [], 0
    for y in sorted(years):
        total += years[y]
        per_year.append({"year": y, "papers": years[y], "total": total})
    keywords = list(ex.kg.topics.keywords.get(topic_id, []))
    if not keywords:
        keywords = [(w, 1.0) for w in t.keywords]
    related = []
    for a, b, share in ex.kg.topics.links:
        other = b if a == topic_id else a if b == topic_id else None
        if other is not None and other in ex.topics:
            o = ex.topics[other]
            related.append((other, o.label, o.scheme, round(share, 3)))
    related.sort(key=lambda r: -r[3])
    broader = (t.broader, ex.topic_label(t.broader)) if t.broader in ex.topics else None
    narrower = [
        (c, ex.topic_label(c), len(ex.topic_items(c))) for c in ex.children.get(topic_id, [])
    ]
    narrower.sort(key=lambda r: -r[2])
    return TopicDetail(
        topic=t,
        scheme=t.scheme,
        size=len(items),
        broader=broader,
        narrower=narrower,
        keywords=keywords,
        key_papers=top,
        per_year=per_year,
        related=related,
    )


def _descendants(ex: Explorer, topic_id: str) -> list[str]:
    out, stack = [], list(ex.children.get(topic_id, []))
    while stack:
        tid = stack.pop()
        if tid in out or tid == topic_id:
            continue
        out.append(tid)
        stack.extend(ex.children.get(tid, []))
    return out


__all__ = [
    "TopicDetail",
    "TopicNode",
    "topic_detail",
    "topic_tree",
]
