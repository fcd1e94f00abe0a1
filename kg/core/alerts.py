"""What an alert is, below every room: a new paper found citing watched papers
(:class:`NewPaper`), and the ``--since`` window of ``litkg watch`` (:func:`parse_since`,
:func:`default_since`, :func:`since_start`, :func:`date_key`, compared as S2's
``publicationDateOrYear`` compares dates). The fetching is :mod:`ingest.watch`, the
ranking, the state and the feed :mod:`kg.recommend.watch`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from kg.core.errors import WatchError
from kg.core.model import Paper

__all__ = [
    "DEFAULT_MIN_CITES",
    "FIRST_RUN_WINDOW",
    "RERUN_GRACE",
    "NewPaper",
    "date_key",
    "default_since",
    "parse_since",
    "since_start",
]

#: How far before the last run a rerun looks again: S2 lists papers weeks after they
#: appear, and dates a paper without a day as January 1st of its year, so a rerun asks
#: from the start of the year of (last run - this) and drops what it showed before.
RERUN_GRACE = timedelta(days=30)
#: A first run without ``--since`` looks this far back.
FIRST_RUN_WINDOW = timedelta(days=365)
DEFAULT_MIN_CITES = 2
_SINCE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


@dataclass(frozen=True)
class NewPaper:
    """A paper found citing the watched list: its S2 record as a :class:`Paper`, and the
    watched papers it cites (their ids, in list order)."""

    paper: Paper
    cites: tuple[str, ...]


def parse_since(text: str) -> str:
    """``2025``, ``2025-03`` or ``2025-03-01`` (a real date), stripped; else WatchError."""
    value = text.strip()
    if _SINCE.fullmatch(value):
        parts = [int(p) for p in value.split("-")] + [1, 1]
        try:
            date(parts[0], parts[1], parts[2])
        except ValueError:
            pass
        else:
            return value
    raise WatchError(
        f"--since {text!r} is not a year or a date: give e.g. --since 2025 or --since 2025-03-01."
    )


def default_since(last_run: str | None, now: datetime | None = None) -> str:
    """Where a run without ``--since`` starts: a year back on the first run; after that
    the start of the year of (last run - :data:`RERUN_GRACE`) (see there: already shown
    papers are dropped, so the overlap costs nothing but catches late and undated ones)."""
    now = now or datetime.now(UTC)
    if last_run:
        try:
            last = datetime.fromisoformat(last_run)
        except ValueError:
            last = None
        if last is not None:
            return f"{(last - RERUN_GRACE).year:04d}"
    return (now - FIRST_RUN_WINDOW).date().isoformat()


def date_key(paper: Paper) -> str:
    """A paper's date as S2's ``publicationDateOrYear`` compares it (January 1st of its
    year when S2 has no day); ``""`` when it has neither."""
    if paper.publication_date:
        return paper.publication_date
    return f"{paper.year:04d}-01-01" if paper.year else ""


def since_start(since: str) -> str:
    """The first day ``since`` names (``2025`` -> ``2025-01-01``)."""
    return since + "-01-01"[len(since) - 4 :]
