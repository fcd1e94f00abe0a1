"""The Read next page: recommendations as rows, and the seed page's papers as first picks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.core.errors import RecommendError
from kg.core.model import Paper
from kg.graph.citations import SECTION_SEP
from kg.recommend.fusion import Filters
from kg.recommend.rank import DEFAULT_DIVERSITY, recommend_detailed
from kg.views.explorer import (
    Explorer,
    authors_text,
)

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class ReadNext:
    #: rank, paper_id, title, authors, year, venue, score, reasons, snippet (plain text)
    rows: list[dict[str, Any]]
    read: list[str]
    disliked: list[str]
    candidates: int
    seconds: float
    #: How far the graph statistics were trusted for this read set (0..1; see
    #: :attr:`kg.recommend.rank.RecommendationResult.graph_trust`).
    graph_trust: float = 1.0


@dataclass(frozen=True)
class SeedPick:
    """A seed-page paper offered as a one-click start on Read next."""

    paper_id: str
    label: str  # "Surname Year - Title"
    section: str  # its section path on the seed page ("Papers > Induction Heads"), or ""


def seed_picks(ex: Explorer, limit: int = 60) -> list[SeedPick]:
    """The seed page's papers in page order, with their sections, for a first pick.

    Page order comes from the corpus's seed rows, listings under a section (a seed
    page's) before sectionless ones (an id list's); without a readable corpus, the
    graph's seeds in its order. Each paper once (its first listing).
    """

    ordered: list[tuple[str, str]] = []
    store = ex.store()
    if store is not None:
        with ex.lock:
            rows = store.seeds()
        # Listings under a section (a seed page's) first, each source in page order.
        for row in sorted(rows, key=lambda r: not r.section_path):
            if row.paper_id is None:
                continue
            pid = ex.canon(row.paper_id)
            if pid in ex.pos and ex.is_seed[ex.pos[pid]]:
                ordered.append((pid, SECTION_SEP.join(row.section_path)))
    if not ordered:
        nodes = ex.kg.graph.graph.nodes
        for j in np.flatnonzero(ex.is_seed):
            pid = ex.ids[int(j)]
            ordered.append((pid, next(iter(nodes[pid].get("sections") or ()), "")))
    out: list[SeedPick] = []
    seen: set[str] = set()
    for pid, section in ordered:
        if pid in seen:
            continue
        seen.add(pid)
        p = ex.papers[ex.pos[pid]]
        out.append(SeedPick(pid, p.short_label(), section))
        if len(out) >= limit:
            break
    return out


#: About two lines of a recommendation card.
SNIPPET_CHARS = 240


def snippet(paper: Paper | None, limit: int = SNIPPET_CHARS) -> str:
    """The first ~two lines of a paper's abstract (else its TL;DR), as plain text.

    Whitespace is folded and the text is cut at a word boundary with an ellipsis;
    it is third-party text, to be shown as text (never as Markdown or HTML).
    "" when the paper has neither.
    """
    if paper is None:
        return ""
    text = " ".join((paper.abstract or paper.tldr or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:.-") + "…"


def read_next(
    ex: Explorer,
    read: Sequence[str],
    *,
    disliked: Sequence[str] = (),
    year_from: int | None = None,
    year_to: int | None = None,
    topics: Sequence[str] = (),
    venue: str | None = None,
    exclude_surveys: bool = False,
    open_access_only: bool = False,
    k: int = 10,
    diversity: float | None = None,
) -> ReadNext:
    """Recommendations after ``read`` (:func:`kg.recommend.rank.recommend_detailed`) as rows with
    their reasons; raises :class:`~kg.core.errors.RecommendError` with a message to show."""

    if not read:
        raise RecommendError("Pick at least one paper you have read or liked.")
    filters = Filters(
        year_from=year_from,
        year_to=year_to,
        topics=tuple(topics),
        venue=venue.strip() if venue and venue.strip() else None,
        exclude_surveys=exclude_surveys,
        open_access_only=open_access_only,
    )
    result = recommend_detailed(
        ex.kg,
        list(read),
        disliked=list(disliked),
        filters=filters,
        k=k,
        diversity=DEFAULT_DIVERSITY if diversity is None else diversity,
    )
    rows = []
    for rank, rec in enumerate(result.recommendations, 1):
        p = ex.paper(rec.paper_id)
        rows.append(
            {
                "rank": rank,
                "paper_id": rec.paper_id,
                "title": p.title if p is not None else ex.title(rec.paper_id),
                "authors": authors_text(p) if p is not None else "",
                "year": p.year if p is not None else None,
                "venue": (p.venue or p.journal or "") if p is not None else "",
                "score": rec.score,
                "reasons": list(rec.reasons),
                "snippet": snippet(p),
            }
        )
    return ReadNext(
        rows,
        list(result.read),
        list(result.disliked),
        result.candidates,
        result.seconds,
        result.graph_trust,
    )


def trust_note(graph_trust: float) -> str | None:
    """What to tell a reader whose read set the graph knows little about (graph trust below
    1: the default weights leaned on content), else None."""
    if graph_trust >= 1.0:
        return None
    return (
        "Co-citation evidence for your papers is thin in this graph (graph trust "
        f"{graph_trust:.2f}), so the default weights lean on content."
    )


__all__ = [
    "SNIPPET_CHARS",
    "ReadNext",
    "SeedPick",
    "read_next",
    "seed_picks",
    "snippet",
    "trust_note",
]
