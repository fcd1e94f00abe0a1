"""Alerts, the fetching half: new papers citing a reading list, from S2's citations.

:func:`fetch_citing` asks ``/paper/{id}/citations`` once per watched paper (one page of
up to 1000 citing papers, filtered by S2 with ``publicationDateOrYear=<since>:``; every
page is in the client's response cache, so a rerun within ``refresh_older_than`` costs
no call) and keeps the citing papers that cite at least ``min_cites`` watched papers.
:func:`run_watch` is the whole ``litkg watch``: the watched set (a reading list or the
seeds), the fetch, the ranking and the "already shown" state of :mod:`kg.watch`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.errors import S2NotFound
from ingest.records import paper_from_s2
from ingest.s2 import PAGE_MAX, S2Client
from kg.core.alerts import DEFAULT_MIN_CITES, NewPaper, date_key, parse_since, since_start
from kg.core.errors import WatchError
from kg.core.model import is_s2_paper_id

log = logging.getLogger(__name__)

#: What is asked of each citing paper (the ``citingPaper.`` prefix is S2's nesting).
WATCH_FIELDS: tuple[str, ...] = tuple(
    "citingPaper." + f
    for f in (
        "paperId",
        "externalIds",
        "url",
        "title",
        "abstract",
        "venue",
        "year",
        "publicationDate",
        "authors",
        "citationCount",
    )
)


@dataclass(frozen=True)
class WatchFetch:
    """What :func:`fetch_citing` found: the citing papers with at least ``min_cites``
    watched papers (most cited first), the S2 calls it cost, the watched papers whose one
    page was full (older citing papers may be missing: use a later ``since``) and those S2
    does not know."""

    since: str
    watched: tuple[str, ...]
    papers: tuple[NewPaper, ...]
    http_requests: int = 0
    cache_hits: int = 0
    truncated: tuple[str, ...] = ()
    not_found: tuple[str, ...] = ()


def fetch_citing(
    client: S2Client,
    watched: Sequence[str],
    since: str,
    *,
    min_cites: int = DEFAULT_MIN_CITES,
    page_size: int = PAGE_MAX,
) -> WatchFetch:
    """Papers published since ``since`` (a year or date prefix) citing at least
    ``min_cites`` of ``watched`` (S2 paper ids; others are skipped): one citations call
    per watched paper."""
    since = parse_since(since)
    if min_cites < 1:
        raise WatchError(f"--min-cites must be at least 1, got {min_cites}.")
    ids = tuple(dict.fromkeys(p for p in watched if is_s2_paper_id(p)))
    first_day = since_start(since)
    before = (client.stats.http_requests, client.stats.cache_hits)
    records: dict[str, dict[str, Any]] = {}
    cites: dict[str, list[str]] = {}
    truncated, missing = [], []
    for pid in ids:
        try:
            entries = list(
                client.citations(
                    pid,
                    WATCH_FIELDS,
                    page_size=page_size,
                    max_items=page_size,
                    publication_date_or_year=f"{since}:",
                )
            )
        except S2NotFound:
            missing.append(pid)
            continue
        if len(entries) >= page_size:
            truncated.append(pid)
        for entry in entries:
            rec = entry.get("citingPaper")
            cid = rec.get("paperId") if isinstance(rec, dict) else None
            if not isinstance(rec, dict) or not isinstance(cid, str) or not is_s2_paper_id(cid):
                continue
            records.setdefault(cid, rec)
            if pid not in cites.setdefault(cid, []):
                cites[cid].append(pid)
    watched_set = set(ids)
    found = []
    for cid, cited in cites.items():
        if len(cited) < min_cites or cid in watched_set:
            continue
        paper = paper_from_s2(records[cid])
        # S2 filters already; a server that ignored the filter must not flood the alerts.
        if date_key(paper) and date_key(paper) < first_day:
            continue
        found.append(NewPaper(paper=paper, cites=tuple(cited)))
    found.sort(key=lambda p: (-len(p.cites), p.paper.title))
    return WatchFetch(
        since=since,
        watched=ids,
        papers=tuple(found),
        http_requests=client.stats.http_requests - before[0],
        cache_hits=client.stats.cache_hits - before[1],
        truncated=tuple(truncated),
        not_found=tuple(missing),
    )


__all__ = ["WATCH_FIELDS", "WatchFetch", "fetch_citing"]
