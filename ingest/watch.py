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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ingest.errors import S2NotFound
from ingest.records import paper_from_s2
from ingest.s2 import PAGE_MAX, S2Client
from kg.model import is_s2_paper_id
from kg.watch import (
    DEFAULT_MIN_CITES,
    NewPaper,
    WatchError,
    WatchItem,
    WatchRun,
    WatchState,
    date_key,
    default_since,
    new_run_stamp,
    parse_since,
    rank_new,
    since_start,
)

if TYPE_CHECKING:
    from kg.build import KnowledgeGraph
    from kg.embed import Embedder
    from kg.settings import Settings

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
#: The target name of a watch over the seeds (any listed source).
SEEDS = "seeds"


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


# --------------------------------------------------------------------------- the command
@dataclass(frozen=True)
class WatchReport:
    """One ``litkg watch``: the run as stored (its items are the new ones, ranked),
    how many papers qualified but were shown before, and the S2 papers it did not find."""

    run: WatchRun
    already_shown: int
    not_found: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        data = self.run.as_dict()
        data["already_shown"] = self.already_shown
        data["not_found"] = list(self.not_found)
        data["notes"] = list(self.notes)
        return data

    def lines(self) -> list[str]:
        run = self.run
        new = run.found - self.already_shown
        listed = f"{len(run.items)} of {new}" if new > len(run.items) else f"{len(run.items)}"
        out = [
            f"{listed} new paper{'s' if new != 1 else ''} citing "
            f"{run.target} ({run.watched} watched papers) since {run.since}"
            + (f"; {self.already_shown} shown before" if self.already_shown else "")
            + f". S2: {run.s2_requests} call{'s' if run.s2_requests != 1 else ''}, "
            f"{run.cache_hits} cached."
        ]
        for n, item in enumerate(run.items, 1):
            year = item.publication_date or (str(item.year) if item.year else "n.d.")
            out.append(f"{n:>3}. {item.score:.3f}  {item.title} ({year})")
            out.extend(f"       - {reason}" for reason in item.reasons)
            if item.url:
                out.append(f"       {item.url}")
        out.extend(self.notes)
        return out


def watched_papers(
    settings: Settings, kg: KnowledgeGraph, list_name: str | None
) -> tuple[str, tuple[str, ...]]:
    """The target's name and its S2 paper ids: a reading list, a seed source (its file
    name), or every seed when ``list_name`` is None."""
    from kg.readinglists import ReadingLists

    if list_name is None:
        ids = [s.paper_id for s in kg.seeds if s.paper_id]
        target = SEEDS
    else:
        found = ReadingLists.open(settings).find(list_name)
        if found is not None:
            ids, target = list(found.paper_ids), found.name
        else:
            ids = [s.paper_id for s in kg.seeds if s.paper_id and s.source == list_name]
            target = list_name
            if not ids:
                sources = sorted({s.source for s in kg.seeds})
                names = ReadingLists.open(settings).names()
                raise WatchError(
                    f"No reading list or seed source called {list_name!r}. Lists: "
                    f"{', '.join(names) or 'none'}; seed sources: {', '.join(sources) or 'none'}."
                )
    ids = [kg.graph.canon(p) if p in kg.graph.index else p for p in ids]
    s2_ids = tuple(dict.fromkeys(p for p in ids if is_s2_paper_id(p)))
    if not s2_ids:
        raise WatchError(
            f"{target} has no paper resolved on Semantic Scholar to watch: add papers "
            f"(`litkg list add`) or ingest the seeds online (`litkg ingest`)."
        )
    return target, s2_ids


def run_watch(
    settings: Settings,
    kg: KnowledgeGraph,
    client: S2Client,
    *,
    list_name: str | None = None,
    since: str | None = None,
    min_cites: int = DEFAULT_MIN_CITES,
    k: int = 50,
    include_shown: bool = False,
    embedder: Embedder | None = None,
) -> WatchReport:
    """Watch a reading list (or the seeds): fetch, rank, drop what was shown before
    (unless ``include_shown``), keep the best ``k``, remember them (atomically)."""
    if k < 1:
        raise WatchError(f"-k must be at least 1, got {k}.")
    state = WatchState.load(settings)
    target, ids = watched_papers(settings, kg, list_name)
    start = parse_since(since) if since else default_since(state.last_run.get(target))
    fetched = fetch_citing(client, ids, start, min_cites=min_cites)
    fresh = [p for p in fetched.papers if include_shown or p.paper.paper_id not in state.shown]
    label = "your list" if target != SEEDS else "your seeds"
    ranked: list[WatchItem] = rank_new(
        kg, ids, fresh, embedder=embedder, cache_dir=settings.graph_dir, list_label=label
    )
    notes = []
    if fetched.truncated:
        notes.append(
            f"note: {len(fetched.truncated)} watched paper(s) have more citing papers since "
            f"{start} than one page holds; give a later --since to see the newest ones."
        )
    if fetched.not_found:
        notes.append(f"note: S2 does not know {len(fetched.not_found)} watched paper(s).")
    run = WatchRun(
        at=new_run_stamp(),
        target=target,
        since=start,
        watched=len(ids),
        found=len(fetched.papers),
        items=tuple(ranked[:k]),
        s2_requests=fetched.http_requests,
        cache_hits=fetched.cache_hits,
        truncated=fetched.truncated,
    )
    run = state.record(run)
    return WatchReport(
        run=run,
        already_shown=len(fetched.papers) - len(fresh),
        not_found=fetched.not_found,
        notes=tuple(notes),
    )


__all__ = ["SEEDS", "WATCH_FIELDS", "WatchFetch", "WatchReport", "fetch_citing", "run_watch"]
