"""The Explore page's overview: counts, the topic map, papers per year by topic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.views.explorer import (
    NO_TOPIC,
    Explorer,
    pick_scheme,
)

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Overview:
    papers: int
    citations: int
    seeds: int
    with_abstract: int
    topics: Mapping[str, int]  # scheme -> number of topics
    year_min: int | None
    year_max: int | None
    built_at: str | None
    last_ingest: str | None
    embedder: str | None
    scheme: str
    map_points: list[dict[str, Any]]  # x, y, title, year, topic, citations, paper_id, seed
    map_total: int
    per_year: list[dict[str, Any]]  # year, topic, papers


def overview(ex: Explorer, *, scheme: str | None = None, max_points: int = 4000) -> Overview:
    """What is in the graph, a 2-D topic map (seeds, then the most cited, then a spread of
    the rest, up to ``max_points``) and papers per year by topic, coloured by ``scheme``
    (default: discovered topics when there are any)."""
    scheme = pick_scheme(ex, scheme)
    labels = ex.primary_labels(scheme) if scheme else [NO_TOPIC] * ex.n
    xy = ex.projection
    have = np.flatnonzero(~np.isnan(xy[:, 0]))
    chosen = _sample(ex, have, max_points)
    points = []
    for j in chosen.tolist():
        p = ex.papers[j]
        points.append(
            {
                "x": round(float(xy[j, 0]), 4),
                "y": round(float(xy[j, 1]), 4),
                "title": p.title,
                "year": p.year,
                "topic": labels[j],
                "citations": int(ex.citations[j]),
                "seed": bool(ex.is_seed[j]),
                "paper_id": ex.ids[j],
            }
        )
    counts: Counter[tuple[int, str]] = Counter()
    for j in range(ex.n):
        y = ex.year[j]
        if not np.isnan(y):
            counts[(int(y), labels[j])] += 1
    per_year = [{"year": y, "topic": t, "papers": n} for (y, t), n in sorted(counts.items())]
    years = ex.year[~np.isnan(ex.year)]
    topics = Counter(t.scheme for t in ex.kg.topics.topics)
    m = ex.kg.manifest
    return Overview(
        papers=ex.n,
        citations=int(ex.kg.graph.graph.number_of_edges()),
        seeds=int(ex.is_seed.sum()),
        with_abstract=sum(1 for p in ex.papers if p.abstract),
        topics=dict(topics),
        year_min=int(years.min()) if years.size else None,
        year_max=int(years.max()) if years.size else None,
        built_at=m.get("built_at"),
        last_ingest=m.get("last_ingest"),
        embedder=m.get("embedder"),
        scheme=scheme or "",
        map_points=points,
        map_total=int(have.size),
        per_year=per_year,
    )


def _sample(ex: Explorer, have: np.ndarray, limit: int) -> np.ndarray:
    if have.size <= limit:
        return have
    seeds = have[ex.is_seed[have]]
    rest = have[~ex.is_seed[have]]
    top = rest[np.argsort(-ex.citations[rest], kind="stable")]
    n_top = max(0, min(top.size, limit // 4 - seeds.size))
    others = top[n_top:]
    n_spread = max(0, limit - seeds.size - n_top)
    spread = np.random.default_rng(0).choice(others, size=min(n_spread, others.size), replace=False)
    return np.sort(np.concatenate([seeds, top[:n_top], spread]))


__all__ = [
    "Overview",
    "overview",
]
