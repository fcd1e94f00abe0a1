"""Neighbourhood policy over the S2 client: which references and citations to keep.

For each anchor paper (a seed at depth 1; kept neighbours at depth 2) both
``/references`` and ``/citations`` are paged in full (1,000 a call), every
neighbour is ranked by (influential edge, influential citations, citations)
and the top ``max_references`` / ``max_citations`` new papers are kept, so a
seed cited 5,000 times cannot swamp the graph. Edges to papers already in the
corpus are always kept, whatever the cap. Details of the kept neighbours then
come in batches of 500. Each anchor's neighbourhood is committed in one
transaction and marked done, so a killed run resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from ingest.records import citation_from_entry, paper_from_s2, specter_from_s2
from ingest.s2 import PAPER_FIELDS, S2Client
from kg.corpus import DETAIL_FULL, DETAIL_STUB, CorpusStore
from kg.model import Citation

DIRECTIONS = ("references", "citations")


@dataclass(frozen=True)
class CrawlPolicy:
    depth: int = 1
    max_references: int = 100
    max_citations: int = 100
    paper_budget: int = 20_000
    directions: tuple[str, ...] = DIRECTIONS

    def __post_init__(self) -> None:
        if self.depth not in (0, 1, 2):
            raise ValueError(f"depth must be 0, 1 or 2 (got {self.depth})")
        if self.max_references < 0 or self.max_citations < 0:
            raise ValueError("--max-references and --max-citations must be >= 0")
        unknown = set(self.directions) - set(DIRECTIONS)
        if unknown:
            raise ValueError(f"unknown direction(s) {sorted(unknown)}; use {DIRECTIONS}")


@dataclass
class CrawlReport:
    anchors: int = 0
    anchors_skipped_done: int = 0
    entries_seen: int = 0
    papers_added: int = 0
    edges_added: int = 0
    details_fetched: int = 0
    details_missing: int = 0
    capped: dict[str, int] = field(default_factory=dict)
    budget_reached: bool = False


def _rank_key(entry: dict[str, Any], other: dict[str, Any]) -> tuple[int, int, int]:
    return (
        int(bool(entry.get("isInfluential"))),
        int(other.get("influentialCitationCount") or 0),
        int(other.get("citationCount") or 0),
    )


def crawl_neighbourhood(
    store: CorpusStore,
    client: S2Client,
    anchor: str,
    direction: str,
    cap: int,
    budget_left: int,
    report: CrawlReport,
) -> list[str]:
    """Fetch, rank and store one anchor's references or citations. Returns new paper ids."""
    entries: list[tuple[tuple[int, int, int], Citation, dict[str, Any]]] = []
    fetch = client.references if direction == "references" else client.citations
    for entry in fetch(anchor):
        parsed = citation_from_entry(entry, anchor, direction)
        if parsed is None:
            continue
        citation, other = parsed
        entries.append((_rank_key(entry, other), citation, other))
    report.entries_seen += len(entries)
    entries.sort(key=lambda t: t[0], reverse=True)

    keep_new = min(cap, max(budget_left, 0))
    new_ids: list[str] = []
    new_set: set[str] = set()
    edges: list[Citation] = []
    capped = 0
    with store.transaction():
        for _, citation, other in entries:
            other_id = str(other["paperId"])
            if other_id not in new_set and store.detail(other_id) < 0:
                if len(new_ids) >= keep_new:
                    capped += 1
                    continue
                store.upsert_paper(paper_from_s2(other), detail=DETAIL_STUB, endpoint=direction)
                new_ids.append(other_id)
                new_set.add(other_id)
            edges.append(citation)
        report.edges_added += store.add_citations(edges, endpoint=direction)
        store.mark_neighbourhood(anchor, direction, total=len(entries), kept=len(new_ids))
    if capped:
        report.capped[f"{anchor} {direction}"] = capped
        if budget_left < cap:
            report.budget_reached = True
    report.papers_added += len(new_ids)
    return new_ids


def fetch_details(
    store: CorpusStore,
    client: S2Client,
    paper_ids: Sequence[str],
    report: CrawlReport,
    *,
    progress: bool = True,
) -> None:
    """Full records for stub papers, 500 a call, each batch committed on its own."""
    ids = list(dict.fromkeys(paper_ids))
    bar = tqdm(total=len(ids), desc="Fetching details", unit="paper", disable=not progress)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        records = client.papers(chunk, PAPER_FIELDS)
        with store.transaction():
            for pid, record in zip(chunk, records, strict=True):
                if record is None or not record.get("paperId"):
                    report.details_missing += 1
                    continue
                paper = paper_from_s2(record)
                store.upsert_paper(
                    paper, detail=DETAIL_FULL, endpoint="batch", specter=specter_from_s2(record)
                )
                if paper.paper_id != pid:
                    store.add_alias(pid, paper.paper_id)
                report.details_fetched += 1
        bar.update(len(chunk))
    bar.close()


def crawl(
    store: CorpusStore,
    client: S2Client,
    seed_ids: Sequence[str],
    policy: CrawlPolicy,
    *,
    progress: bool = True,
) -> CrawlReport:
    """Seeds plus their neighbourhood, to ``policy.depth``, under the paper budget."""
    report = CrawlReport()
    seen: set[str] = set()
    frontier = [s for s in dict.fromkeys(seed_ids) if not s.startswith("local:")]
    for level in range(1, policy.depth + 1):
        seen.update(frontier)
        bar = tqdm(
            total=len(frontier) * len(policy.directions),
            desc=f"Neighbourhoods (depth {level})",
            unit="call",
            disable=not progress,
        )
        for anchor in frontier:
            for direction in policy.directions:
                bar.update(1)
                if store.neighbourhood_done(anchor, direction):
                    report.anchors_skipped_done += 1
                    continue
                budget_left = policy.paper_budget - store.paper_count()
                if budget_left <= 0:
                    report.budget_reached = True
                cap = policy.max_references if direction == "references" else policy.max_citations
                crawl_neighbourhood(store, client, anchor, direction, cap, budget_left, report)
                report.anchors += 1
        bar.close()
        fetch_details(
            store, client, store.paper_ids(max_detail=DETAIL_STUB), report, progress=progress
        )
        # The next level is read back from the store, so a resumed run finds the same frontier.
        frontier = [p for p in store.neighbours(frontier) if p not in seen]
    return report
