"""SeedRef -> S2 paper: direct ids first (in batches), then title match with a score.

A title match is accepted only when our own title similarity reaches the
threshold (``LITKG_MATCH_THRESHOLD``); below it the candidate is kept and
reported as low confidence, never silently accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Any

from tqdm import tqdm

from ingest.errors import S2NotFound, S2RateLimited, S2Unavailable
from ingest.s2 import PAPER_FIELDS, S2Client
from ingest.sources import local_paper
from ingest.types import SeedRef
from kg.core.text import title_words
from kg.store.corpus import DUPLICATE, LOW_CONFIDENCE, OFFLINE, RESOLVED, UNRESOLVED


def title_similarity(a: str, b: str) -> float:
    """0..1; 1 for the same normalised title. Tolerant of punctuation and case."""
    na, nb = title_words(a), title_words(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    ratio = max(
        SequenceMatcher(None, na, nb, autojunk=False).ratio(),
        SequenceMatcher(None, nb, na, autojunk=False).ratio(),
    )
    # A listed short title that is the full title's main clause ("Title: subtitle").
    if min(len(na), len(nb)) > 20 and (nb.startswith(na) or na.startswith(nb)):
        ratio = max(ratio, 0.9)
    return round(ratio, 4)


@dataclass(frozen=True)
class Resolution:
    """What became of one listed paper."""

    ref: SeedRef
    status: str
    paper_id: str | None = None
    method: str | None = None
    match_score: float | None = None
    reason: str | None = None
    record: dict[str, Any] | None = None


def resolve(
    refs: Sequence[SeedRef],
    client: S2Client | None,
    *,
    threshold: float = 0.85,
    offline: bool = False,
    progress: bool = True,
    on_unavailable: Callable[[Exception], bool] | None = None,
) -> list[Resolution]:
    """Resolve every ref; the result is aligned with ``refs``.

    ``offline`` (or ``client`` None) turns refs into unresolved local papers:
    from their own metadata (BibTeX), else from what the listing says (a seed
    page's link text, year and section; see :func:`ingest.sources.local_paper`).
    Refs with neither are reported. When S2 cannot
    be reached, ``on_unavailable(exc)`` decides: True falls back to offline for
    what remains, False (the default) re-raises.
    """
    if offline or client is None:
        return _dedupe([_offline(r) for r in refs])

    results: list[Resolution | None] = [None] * len(refs)
    try:
        _resolve_by_ids(refs, client, results, progress)
        _resolve_by_title(refs, client, results, threshold, progress)
    except (S2Unavailable, S2RateLimited) as exc:
        if on_unavailable is None or not on_unavailable(exc):
            raise
        results = [r if r is not None else _offline(refs[i]) for i, r in enumerate(results)]
    return _dedupe([r for r in results if r is not None])


def _offline(ref: SeedRef) -> Resolution:
    if ref.metadata is not None:
        return Resolution(
            ref,
            OFFLINE,
            paper_id=ref.metadata.paper_id,
            method="local metadata",
            reason="kept from the source's own metadata; a later online run resolves it on S2",
        )
    local = local_paper(ref)
    if local is not None:
        return Resolution(
            ref,
            OFFLINE,
            paper_id=local.paper_id,
            method="listing",
            reason="kept as a local paper from what the listing says (title, year, section); "
            "a later online run resolves it on S2",
        )
    return Resolution(
        ref, UNRESOLVED, reason="offline, and the listing gives no title to keep it by"
    )


def _resolve_by_ids(
    refs: Sequence[SeedRef], client: S2Client, results: list[Resolution | None], progress: bool
) -> None:
    """Up to three rounds of batch calls: each ref's first id, then its next, ..."""
    rounds = max((len(r.ids) for r in refs), default=0)
    for round_no in range(min(rounds, 3)):
        pending = [
            (i, r.ids[round_no])
            for i, r in enumerate(refs)
            if results[i] is None and len(r.ids) > round_no
        ]
        if not pending:
            continue
        unique = list(dict.fromkeys(ident for _, ident in pending))
        answers: dict[str, dict[str, Any] | None] = {}
        bar = tqdm(total=len(unique), desc="Resolving ids", unit="id", disable=not progress)
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            for ident, record in zip(chunk, client.papers(chunk), strict=True):
                answers[ident] = record
            bar.update(len(chunk))
        bar.close()
        for i, ident in pending:
            record = answers.get(ident)
            if record is None:
                record = _retry_single(client, ident)
            if record is not None and record.get("paperId"):
                results[i] = Resolution(
                    refs[i],
                    RESOLVED,
                    paper_id=str(record["paperId"]),
                    method=f"id {ident}",
                    match_score=1.0,
                    record=record,
                )


def _retry_single(client: S2Client, ident: str) -> dict[str, Any] | None:
    """A ``null`` in a batch answer is confirmed with one direct lookup (it may be a glitch)."""
    try:
        return client.paper(ident, PAPER_FIELDS)
    except S2NotFound:
        return None


def _resolve_by_title(
    refs: Sequence[SeedRef],
    client: S2Client,
    results: list[Resolution | None],
    threshold: float,
    progress: bool,
) -> None:
    todo = [i for i, r in enumerate(refs) if results[i] is None]
    for i in tqdm(todo, desc="Matching titles", unit="title", disable=not progress or not todo):
        ref = refs[i]
        tried = f"S2 knows none of {', '.join(ref.ids)}" if ref.ids else "no id to look up"
        if not ref.title.strip():
            results[i] = Resolution(
                ref, UNRESOLVED, reason=f"{tried}, and there is no title to match; check the id"
            )
            continue
        record = client.match_title(ref.title, PAPER_FIELDS)
        if record is None or not record.get("paperId"):
            results[i] = Resolution(
                ref,
                UNRESOLVED,
                reason=f"S2 has no title match for {ref.title!r} ({tried})",
            )
            continue
        score = title_similarity(ref.title, str(record.get("title") or ""))
        year_ok = (
            ref.year is None or record.get("year") is None or abs(ref.year - record["year"]) <= 1
        )
        if score >= threshold and year_ok:
            results[i] = Resolution(
                ref,
                RESOLVED,
                paper_id=str(record["paperId"]),
                method="title match",
                match_score=score,
                record=record,
            )
        else:
            why = (
                f"similarity {score:.2f} < {threshold:.2f}"
                if score < threshold
                else (f"year {record.get('year')} differs from listed {ref.year}")
            )
            results[i] = Resolution(
                ref,
                LOW_CONFIDENCE,
                paper_id=str(record["paperId"]),
                method="title match",
                match_score=score,
                reason=f"best S2 match {record.get('title')!r} ({why}); not accepted",
                record=record,
            )


def _dedupe(results: list[Resolution]) -> list[Resolution]:
    """The same work listed twice: the second listing becomes a duplicate of the first.

    Preprint/published twins (two S2 ids, the same normalised title, years within
    two) are folded the same way; the canonical one is the listing seen first.
    """
    by_id: dict[str, Resolution] = {}
    by_title: dict[str, Resolution] = {}
    out: list[Resolution] = []
    for res in results:
        if res.status not in (RESOLVED, OFFLINE) or res.paper_id is None:
            out.append(res)
            continue
        first = by_id.get(res.paper_id)
        if first is not None:
            out.append(
                replace(
                    res,
                    status=DUPLICATE,
                    reason=f"same work as {first.ref.source} #{first.ref.position} "
                    f"({first.ref.title!r})",
                )
            )
            continue
        title = title_words(str((res.record or {}).get("title") or res.ref.title))
        year = (res.record or {}).get("year") or res.ref.year
        twin = by_title.get(title) if len(title) > 15 else None
        if twin is not None:
            twin_year = (twin.record or {}).get("year") or twin.ref.year
            if year is None or twin_year is None or abs(int(year) - int(twin_year)) <= 2:
                out.append(
                    replace(
                        res,
                        status=DUPLICATE,
                        reason=f"twin of {twin.paper_id} (preprint/published versions of "
                        f"{twin.ref.title!r})",
                    )
                )
                continue
        by_id[res.paper_id] = res
        if title:
            by_title.setdefault(title, res)
        out.append(res)
    return out


def twin_of(res: Resolution) -> str | None:
    """The canonical paper id a duplicate resolution folds into, if it is a twin."""
    if res.status != DUPLICATE or not res.reason or not res.reason.startswith("twin of "):
        return None
    return res.reason.split()[2]


__all__ = [
    "Resolution",
    "resolve",
    "title_similarity",
    "twin_of",
]
