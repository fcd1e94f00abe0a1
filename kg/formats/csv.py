"""CSV reading lists (export only): :func:`write_csv`.

a spreadsheet would run as a formula (starting with ``= + - @``) get a
leading ``'`` (:mod:`kg.formats.csvsafe`, shared with SPARQL results). Export only.

What survives a round trip (export then import): title, authors in order,
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kg.core.model import Paper, is_s2_paper_id
from kg.formats.csvsafe import csv_text
from kg.formats.entries import (
    clean,
    reason_text,
    venue_of,
)

__all__ = ["CSV_COLUMNS", "write_csv"]


CSV_COLUMNS = (
    "position",
    "title",
    "authors",
    "year",
    "venue",
    "doi",
    "arxiv",
    "s2_id",
    "url",
    "note",
    "reason",
)


def write_csv(
    papers: Sequence[Paper],
    notes: Mapping[str, str],
    reasons: Mapping[str, str | Sequence[str]],
) -> str:
    """``papers`` as CSV rows under :data:`CSV_COLUMNS`."""
    rows: list[list[str]] = [list(CSV_COLUMNS)]
    for n, paper in enumerate(papers, 1):
        rows.append(
            [
                str(n),
                clean(paper.title),
                "; ".join(clean(a.name) for a in paper.authors if clean(a.name)),
                str(paper.year) if paper.year is not None else "",
                venue_of(paper),
                paper.doi or "",
                paper.arxiv_id or "",
                paper.paper_id if is_s2_paper_id(paper.paper_id) else "",
                paper.url or "",
                clean(notes.get(paper.paper_id)),
                reason_text(reasons.get(paper.paper_id)),
            ]
        )
    return csv_text(rows)
