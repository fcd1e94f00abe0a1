"""Neighbourhood policy over the S2 client: which references and citations to keep.

For each anchor paper (a seed at depth 1; kept neighbours at depth 2) both
``/references`` and ``/citations`` are paged in full (1,000 a call), every
neighbour is ranked by (influential edge, influential citations, citations)
and the top ``max_references`` / ``max_citations`` new papers are kept, so a
seed cited 5,000 times cannot swamp the graph. Edges to papers already in the
corpus are always kept, whatever the cap. Details of the kept neighbours then
come in batches of 500. Each anchor's neighbourhood is committed in one
transaction and marked done, so a killed run resumes where it stopped.

Then the neighbourhood is *closed*: the reference list of every paper in the
corpus is fetched as nested ``references.paperId`` through ``/paper/batch``
(batches sized from the papers' ``referenceCount`` to stay within S2's 9,999
nested items; ``/references`` for a paper whose nested list comes back empty
although it has references) and the edges among corpus papers are stored, so
co-citation and bibliographic coupling can score every paper, not only the
seeds. The lists are kept whole (ids outside the corpus too) and a stored list
marks its paper closed. Last, the corpus is *widened by co-citation*: papers
outside it that at least ``cocited_min`` of one seed's citing papers also cite
(the classics a seed's own reference list misses) are added, the most co-cited
first, at most ``cocited_max`` of them, from the lists already fetched: no call
beyond their details and their own reference lists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from ingest.records import citation_from_entry, paper_from_s2, specter_from_s2
from ingest.s2 import BATCH_MAX, EDGE_FIELDS, NESTED_MAX, PAPER_FIELDS, S2Client
from kg.core.errors import ConfigError
from kg.core.model import Citation
from kg.store.corpus import DETAIL_FULL, DETAIL_STUB, CorpusStore

DIRECTIONS = ("references", "citations")
#: Asked of ``/paper/batch`` to close a reference list: the ids of what each paper cites.
CLOSE_FIELDS: tuple[str, ...] = ("paperId", "referenceCount", "references.paperId")
#: Asked of ``/references`` when the nested list came back empty: edge fields and the id.
FALLBACK_FIELDS: tuple[str, ...] = (*EDGE_FIELDS, "citedPaper.paperId")


@dataclass(frozen=True)
class CrawlPolicy:
    depth: int = 1
    max_references: int = 100
    max_citations: int = 100
    paper_budget: int = 20_000
    directions: tuple[str, ...] = DIRECTIONS
    #: Fetch every corpus paper's reference list and store the edges among the corpus.
    close: bool = True
    #: A paper outside the corpus is added when at least this many of one seed's
    #: citing papers cite it too ...
    cocited_min: int = 3
    #: ... the most co-cited first, at most this many in all (0: no widening).
    cocited_max: int = 300

    def __post_init__(self) -> None:
        if self.depth not in (0, 1, 2):
            raise ConfigError(f"depth must be 0, 1 or 2 (got {self.depth})")
        if self.max_references < 0 or self.max_citations < 0:
            raise ConfigError("--max-references and --max-citations must be >= 0")
        if self.cocited_min < 1:
            raise ConfigError(f"--cocited-min must be >= 1 (got {self.cocited_min})")
        if self.cocited_max < 0:
            raise ConfigError(
                f"--cocited-max must be >= 0, 0 turns widening off (got {self.cocited_max})"
            )
        unknown = set(self.directions) - set(DIRECTIONS)
        if unknown:
            raise ConfigError(f"unknown direction(s) {sorted(unknown)}; use {DIRECTIONS}")


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
    closed: int = 0
    close_fallbacks: int = 0
    close_missing: int = 0
    close_edges_added: int = 0
    cocited_candidates: int = 0
    cocited_added: int = 0
    cocited_edges_added: int = 0


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
        if direction == "references":
            # The whole list was paged anyway: keeping it closes the anchor for free.
            store.put_reference_list(
                anchor,
                [c.cited for _, c, _ in entries],
                reference_count=None,
                nested=len(entries),
                endpoint=direction,
            )
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


def plan_batches(
    paper_ids: Sequence[str],
    counts: Mapping[str, int | None],
    *,
    max_nested: int = NESTED_MAX,
    max_ids: int = BATCH_MAX,
) -> list[list[str]]:
    """Group papers into ``/paper/batch`` calls: at most ``max_ids`` ids and ``max_nested``
    nested items (the sum of their ``counts``; unknown counts as 0) a call.

    First fit, largest lists first, so the calls come close to the least possible
    number, ``max(ceil(ids / max_ids), ceil(items / max_nested))``. A paper with more
    than ``max_nested`` references gets a call of its own.
    """
    order = sorted(dict.fromkeys(paper_ids), key=lambda p: (-(counts.get(p) or 0), p))
    batches: list[list[str]] = []
    loads: list[int] = []
    for pid in order:
        n = max(counts.get(pid) or 0, 0)
        for i, batch in enumerate(batches):
            if len(batch) < max_ids and loads[i] + n <= max_nested:
                batch.append(pid)
                loads[i] += n
                break
        else:
            batches.append([pid])
            loads.append(n)
    return batches


def _count(value: Any) -> int | None:
    """An S2 count, or None when S2 sent null (or something that is not a number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fetch_references(client: S2Client, paper_id: str) -> tuple[list[str], list[Citation], int]:
    """A paper's reference list from the paged ``/references`` endpoint:
    (cited ids, edges with their contexts, entries answered)."""
    refs: list[str] = []
    edges: list[Citation] = []
    entries = 0
    for entry in client.references(paper_id, FALLBACK_FIELDS):
        entries += 1
        parsed = citation_from_entry(entry, paper_id, "references")
        if parsed is not None:
            refs.append(parsed[0].cited)
            edges.append(parsed[0])
    return refs, edges, entries


def close_references(
    store: CorpusStore,
    client: S2Client,
    paper_ids: Iterable[str],
    report: CrawlReport,
    *,
    progress: bool = True,
) -> list[str]:
    """Fetch the reference lists of the given papers that are not closed yet.

    Each list is stored whole; only the edges whose both ends are in the corpus
    are added (never a new paper), and edges from lists stored earlier to the
    papers closed now. Each batch is committed on its own, so a killed run resumes.
    Returns the ids closed.
    """
    closed = store.closed_ids()
    todo = [p for p in dict.fromkeys(paper_ids) if p not in closed and not p.startswith("local:")]
    if not todo:
        return []
    counts = store.reference_counts(todo)
    corpus = set(store.paper_ids())
    alone = {p for p in todo if (counts[p] or 0) > NESTED_MAX}
    batches = plan_batches([p for p in todo if (counts[p] or 0) <= NESTED_MAX], counts)
    batches += [[p] for p in todo if p in alone]
    bar = tqdm(
        total=len(todo), desc="Closing the neighbourhood", unit="paper", disable=not progress
    )
    for batch in batches:
        if batch[0] in alone:
            records: list[dict[str, Any] | None] = [
                {"paperId": batch[0], "referenceCount": counts[batch[0]], "references": []}
            ]
        else:
            records = client.papers(batch, CLOSE_FIELDS)
        lists: list[tuple[str, list[str], int | None, int, str]] = []
        edges: list[Citation] = []
        for pid, record in zip(batch, records, strict=True):
            if record is None:
                report.close_missing += 1
                lists.append((pid, [], None, 0, "batch"))
                continue
            nested = record.get("references")
            nested = nested if isinstance(nested, list) else []
            count = _count(record.get("referenceCount"))
            if not nested and (count or 0) > 0:
                # S2 sometimes answers an empty nested list for a paper with references.
                report.close_fallbacks += 1
                refs, full, entries = _fetch_references(client, pid)
                edges += [c for c in full if c.cited in corpus and c.cited != pid]
                lists.append((pid, refs, count, entries, "references"))
                continue
            refs = [str(r["paperId"]) for r in nested if isinstance(r, dict) and r.get("paperId")]
            edges += [Citation(pid, r) for r in dict.fromkeys(refs) if r in corpus and r != pid]
            lists.append((pid, refs, count, len(nested), "batch"))
        with store.transaction():
            for pid, refs, count, entries, endpoint in lists:
                store.put_reference_list(
                    pid, refs, reference_count=count, nested=entries, endpoint=endpoint
                )
            report.close_edges_added += store.add_citations(
                edges, endpoint="batch", keep_existing=True
            )
        report.closed += len(batch)
        bar.update(len(batch))
    bar.close()
    # Lists closed earlier (an earlier run, or the seeds' paged references) that name
    # the papers closed now: those edges were outside the corpus when the lists came.
    with store.transaction():
        earlier = [Citation(a, b) for a, b in store.listed_citers(todo) if a != b]
        report.close_edges_added += store.add_citations(
            earlier, endpoint="batch", keep_existing=True
        )
    return todo


def widen_by_cocitation(
    store: CorpusStore,
    client: S2Client,
    seed_ids: Sequence[str],
    policy: CrawlPolicy,
    report: CrawlReport,
    *,
    progress: bool = True,
) -> list[str]:
    """Add the papers most often cited alongside the seeds. Returns the ids added.

    A paper outside the corpus counts, for each seed, the seed's citing papers
    (in the corpus) whose reference list names it too; it is a candidate when
    that count reaches ``policy.cocited_min`` for some seed, and candidates are
    ranked by their best count, then the sum over seeds, then id. The citing
    papers' reference lists are the closed ones (fetched here for those not
    closed yet, e.g. with ``close=False``). Each seed is marked done, so a rerun
    looks again only for new seeds.
    """
    if policy.cocited_max <= 0:
        return []
    seeds = [
        s
        for s in dict.fromkeys(seed_ids)
        if not s.startswith("local:") and store.detail(s) >= 0 and not store.cocited_done(s)
    ]
    if not seeds:
        return []
    citers = {s: store.citing_ids(s) for s in seeds}
    needed = sorted({c for cs in citers.values() for c in cs})
    close_references(store, client, needed, report, progress=progress)
    lists = store.reference_lists(needed)
    corpus = set(store.paper_ids())
    best: dict[str, int] = {}
    total: Counter[str] = Counter()
    per_seed: dict[str, set[str]] = {}
    for seed in seeds:
        cocited = Counter(r for c in citers[seed] for r in set(lists.get(c, ())) if r not in corpus)
        per_seed[seed] = {r for r, n in cocited.items() if n >= policy.cocited_min}
        for r, n in cocited.items():
            total[r] += n
            best[r] = max(best.get(r, 0), n)
    ranked = sorted(
        (r for r, n in best.items() if n >= policy.cocited_min),
        key=lambda r: (-best[r], -total[r], r),
    )
    budget_left = max(policy.paper_budget - store.paper_count(), 0)
    keep = ranked[: min(policy.cocited_max, budget_left)]
    if len(keep) < len(ranked) and budget_left < policy.cocited_max:
        report.budget_reached = True
    kept = set(keep)
    with store.transaction():
        for pid in keep:
            store.upsert_paper(
                paper_from_s2({"paperId": pid}), detail=DETAIL_STUB, endpoint="cocited"
            )
        edges = [Citation(a, b) for a, b in store.listed_citers(keep) if a != b]
        report.cocited_edges_added += store.add_citations(
            edges, endpoint="batch", keep_existing=True
        )
        for seed in seeds:
            store.mark_cocited(
                seed, candidates=len(per_seed[seed]), kept=len(per_seed[seed] & kept)
            )
    report.cocited_candidates += len(ranked)
    report.cocited_added += len(keep)
    fetch_details(store, client, keep, report, progress=progress)
    return keep


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
    if policy.depth > 0 and policy.close:
        close_references(store, client, store.paper_ids(), report, progress=progress)
    if policy.depth > 0:
        added = widen_by_cocitation(store, client, seed_ids, policy, report, progress=progress)
        if policy.close:
            close_references(store, client, added, report, progress=progress)
    return report
