"""``litkg ingest`` as a library call: sources -> resolve -> store seeds -> crawl -> summary."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.crawl import CrawlPolicy, CrawlReport, crawl
from ingest.errors import SourceError
from ingest.records import paper_from_s2, specter_from_s2
from ingest.resolve import Resolution, resolve, twin_of
from ingest.s2 import S2Client
from ingest.sources import load_source, local_paper
from ingest.types import SeedRef, Skipped
from ingest.zotero import is_zotero_spec, load_zotero_source
from kg.core.fileio import writer_lock
from kg.core.model import LOCAL_PREFIX, Paper, is_s2_paper_id
from kg.core.settings import Settings
from kg.store.corpus import (
    DETAIL_FULL,
    DETAIL_LOCAL,
    DUPLICATE,
    LOW_CONFIDENCE,
    OFFLINE,
    RESOLVED,
    UNRESOLVED,
    CorpusStore,
    SeedRow,
)

#: The bundled seed list, used when ``litkg ingest`` is given no source.
BUNDLED_SEEDS = Path(__file__).resolve().parents[1] / "data" / "seeds"


def default_sources() -> list[Path]:
    found = sorted(BUNDLED_SEEDS.glob("*.json"))
    if not found:
        raise SourceError(
            f"No source given and no bundled seed list in {BUNDLED_SEEDS}. "
            f"Pass a seed page, BibTeX file or id list: `litkg ingest FILE`."
        )
    return found


@dataclass
class IngestSummary:
    sources: list[str] = field(default_factory=list)
    listed: int = 0
    resolved: int = 0
    offline: int = 0
    duplicates: int = 0
    low_confidence: list[dict[str, Any]] = field(default_factory=list)
    unresolved: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    papers: int = 0
    citations: int = 0
    papers_added: int = 0
    edges_added: int = 0
    api_calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    seconds: float = 0.0
    crawl: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The human summary printed at the end of ``litkg ingest``."""
        out = [
            f"Seeds resolved: {self.resolved} / {self.listed} listed"
            + (f" ({self.offline} kept offline as local papers)" if self.offline else "")
            + (f", {self.duplicates} duplicate listings folded" if self.duplicates else ""),
        ]
        if self.low_confidence:
            out.append(f"Low-confidence title matches, not accepted ({len(self.low_confidence)}):")
            out += [f"  - {_label(u)}: {u['reason']}" for u in self.low_confidence]
        if self.unresolved:
            out.append(f"Unresolved ({len(self.unresolved)}):")
            out += [f"  - {_label(u)}: {u['reason']}" for u in self.unresolved]
        unreadable = [s for s in self.skipped if _UNREADABLE.search(s["reason"])]
        duplicates = [s for s in self.skipped if _DUPLICATE.search(s["reason"])]
        links = [s for s in self.skipped if s not in unreadable and s not in duplicates]
        if links:
            kinds = Counter(
                re.split(r"[(;,]", _LINE_PREFIX.sub("", s["reason"]))[0].strip() for s in links
            )
            out.append(
                f"Skipped {len(links)} links that are not papers: "
                + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
                + " (`litkg sources FILE` lists them)"
            )
        if duplicates:
            out.append(f"Folded {len(duplicates)} duplicate listings into their first listing")
        if unreadable:
            out.append(f"Could not read {len(unreadable)} entries (fix them and ingest again):")
            out += [f"  - {s['source']}, {s['reason']}" for s in unreadable[:10]]
            if len(unreadable) > 10:
                out.append(f"  - ... and {len(unreadable) - 10} more (`litkg sources FILE`)")
        closed, cocited = self.crawl.get("closed", 0), self.crawl.get("cocited_added", 0)
        if closed or cocited:
            out.append(
                f"Neighbourhood closed: {closed} reference lists fetched "
                f"(+{self.crawl.get('close_edges_added', 0)} edges among the corpus); "
                f"co-citation added {cocited} of {self.crawl.get('cocited_candidates', 0)} "
                f"candidate papers (+{self.crawl.get('cocited_edges_added', 0)} edges)"
            )
        out.append(
            f"Stored: {self.papers} papers, {self.citations} citation edges "
            f"(+{self.papers_added} papers, +{self.edges_added} edges this run)"
        )
        out.append(
            f"API calls: {self.api_calls} (cache hits {self.cache_hits}, retries {self.retries}); "
            f"time {self.seconds:.1f}s"
        )
        return out


#: Skipped reasons that are reading errors (not links that are not papers).
_UNREADABLE = re.compile(r"could not parse|has no title|is not a recognised paper id")
_DUPLICATE = re.compile(r"duplicate of")
_LINE_PREFIX = re.compile(r"^line \d+: ")


def _label(row: dict[str, Any]) -> str:
    """How a listed paper is named in the summary: its title, else the ids it gave."""
    return (
        row.get("title")
        or ", ".join(row.get("ids") or ())
        or (f"{row.get('source')} entry {int(row.get('position') or 0) + 1}")
    )


def load_sources(paths: Sequence[Path]) -> tuple[list[SeedRef], list[Skipped], list[str]]:
    refs: list[SeedRef] = []
    skipped: list[Skipped] = []
    names: list[str] = []
    for path in paths:
        if is_zotero_spec(str(path)):
            result = load_zotero_source(str(path))
            refs.extend(result.refs)
            skipped.extend(result.skipped)
            names.append(str(path))
            continue
        result = load_source(Path(path))
        refs.extend(result.refs)
        skipped.extend(result.skipped)
        names.append(str(path))
    return refs, skipped, names


def keep_stored(store: CorpusStore, resolutions: Sequence[Resolution]) -> list[Resolution]:
    """Offline resolutions of works an earlier online run resolved keep that resolution.

    An offline run (or one that fell back to offline) never turns a stored S2 paper
    back into a local one: the listing's earlier resolved seed row, a stored alias
    of one of its ids or of its local id, names the S2 paper it stays on.
    """
    rows = {(s.source, s.position): s for s in store.seeds()}
    out: list[Resolution] = []
    for res in resolutions:
        if res.status != OFFLINE:
            out.append(res)
            continue
        ref = res.ref
        row = rows.get((ref.source, ref.position))
        local = local_paper(ref)
        candidates = [row.paper_id if row and row.status == RESOLVED else None]
        candidates += [store.lookup(i) for i in ref.ids if not i.startswith("URL:")]
        candidates.append(store.lookup(ref.key) if ref.key else None)
        candidates.append(store.lookup(local.paper_id) if local is not None else None)
        stored = next(
            (c for c in candidates if c and is_s2_paper_id(c) and store.detail(c) >= 0), None
        )
        if stored is None:
            out.append(res)
            continue
        out.append(
            replace(
                res,
                status=RESOLVED,
                paper_id=stored,
                method=row.method if row and row.paper_id == stored else "stored",
                match_score=row.match_score if row and row.paper_id == stored else None,
                reason="S2 unreachable: kept the S2 record an earlier run stored",
                record=None,
            )
        )
    return out


def store_resolutions(store: CorpusStore, resolutions: Sequence[Resolution]) -> None:
    """Seed rows and seed papers, in one transaction."""
    with store.transaction():
        for res in resolutions:
            ref = res.ref
            paper_id = res.paper_id
            local = local_paper(ref)
            if res.status in (RESOLVED, DUPLICATE) and res.record is not None:
                paper = paper_from_s2(res.record)
                if ref.metadata is not None and ref.metadata.tags:
                    paper = _tagged(paper, ref.metadata.tags)
                store.upsert_paper(
                    paper,
                    detail=DETAIL_FULL,
                    endpoint="batch" if res.method and res.method.startswith("id") else "match",
                    specter=specter_from_s2(res.record),
                )
                if local is not None and store.detail(local.paper_id) >= 0:
                    # An earlier offline run stored it locally: fold it in, no duplicate.
                    store.replace_paper_id(local.paper_id, paper.paper_id)
                for ident in ref.ids:
                    if not ident.startswith("URL:"):
                        store.add_alias(ident, paper.paper_id)
            elif local is not None and res.status in (OFFLINE, UNRESOLVED):
                # Known to S2 or not, the listed work stays in the corpus as a local paper.
                store.upsert_paper(local, detail=DETAIL_LOCAL, endpoint=ref.source)
                paper_id = local.paper_id
            if ref.key and paper_id and store.detail(paper_id) >= 0:
                _follow_key(store, ref.key, paper_id)
            canonical = twin_of(res)
            if canonical and res.paper_id and canonical != res.paper_id:
                store.set_same_as(res.paper_id, canonical, res.reason or "twin")
            store.put_seed(
                SeedRow(
                    source=ref.source,
                    position=ref.position,
                    title=ref.title,
                    status=res.status,
                    paper_id=paper_id,
                    url=ref.url,
                    ids=ref.ids,
                    section_path=ref.section_path,
                    note=ref.note,
                    method=res.method,
                    match_score=res.match_score,
                    reason=res.reason,
                )
            )


def _follow_key(store: CorpusStore, key: str, paper_id: str) -> None:
    """Point a source's lasting entry key at the paper it became now; a local paper an
    earlier run made of the same entry (before it gained a DOI, say) is folded in."""
    earlier = store.lookup(key)
    if earlier and earlier != paper_id and earlier.startswith(LOCAL_PREFIX):
        store.replace_paper_id(earlier, paper_id)
    store.add_alias(key, paper_id)


def drop_moved_seeds(store: CorpusStore, refs: Sequence[SeedRef]) -> None:
    """A live source (one whose entries have keys) is listed afresh on every run: its
    seed rows at positions it no longer lists (items deleted since) are dropped."""
    live: dict[str, set[int]] = {}
    for ref in refs:
        if ref.key:
            live.setdefault(ref.source, set()).add(ref.position)
    with store.transaction():
        for source, positions in live.items():
            store.drop_seeds(source, keep=positions)


def _tagged(paper: Paper, tags: tuple[str, ...]) -> Paper:
    return replace(paper, tags=tuple(dict.fromkeys(paper.tags + tags)))


def run_ingest(
    sources: Sequence[Path] | None = None,
    *,
    settings: Settings | None = None,
    client: S2Client | None = None,
    policy: CrawlPolicy | None = None,
    offline: bool = False,
    fallback_offline: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Ingest sources into the corpus store under ``settings.data_dir``.

    Raises :class:`ingest.errors.IngestError` subclasses with messages that say
    what to fix; everything committed before the error stays in the store.
    """
    settings = settings or Settings.from_env()
    with writer_lock(settings.data_dir, "ingest"):
        return _run_ingest(
            sources,
            settings=settings,
            client=client,
            policy=policy,
            offline=offline,
            fallback_offline=fallback_offline,
            progress=progress,
            echo=echo,
        )


def _run_ingest(
    sources: Sequence[Path] | None,
    *,
    settings: Settings,
    client: S2Client | None,
    policy: CrawlPolicy | None,
    offline: bool,
    fallback_offline: bool,
    progress: bool,
    echo: Callable[[str], None] | None,
) -> IngestSummary:
    """:func:`run_ingest` under the data dir's writer lock."""
    policy = policy or CrawlPolicy()
    started = time.monotonic()
    paths = list(sources) if sources else default_sources()
    refs, skipped, names = load_sources(paths)
    say = echo or (lambda _msg: None)
    say(
        f"{len(refs)} papers listed in {len(names)} source(s); {len(skipped)} skipped "
        f"(not papers, duplicates or unreadable: see the summary)"
    )

    own_client = client is None and not offline
    if own_client:
        client = S2Client(settings)
    summary = IngestSummary(sources=names)
    try:
        with CorpusStore(settings.corpus_path) as store:
            before = store.status()
            run_id = store.start_run()

            def fall_back(exc: Exception) -> bool:
                if fallback_offline:
                    say(
                        f"S2 unreachable ({exc}); keeping the listed papers as local papers "
                        "(--fallback-offline)"
                    )
                return fallback_offline

            resolutions = resolve(
                refs,
                None if offline else client,
                threshold=settings.match_threshold,
                offline=offline,
                progress=progress,
                on_unavailable=fall_back,
            )
            went_offline = offline or any(r.status == OFFLINE for r in resolutions)
            resolutions = keep_stored(store, resolutions)
            store_resolutions(store, resolutions)
            drop_moved_seeds(store, refs)
            report = CrawlReport()
            if client is not None and not went_offline and policy.depth > 0:
                report = crawl(store, client, store.seed_paper_ids(), policy, progress=progress)
            after = store.status()
            _fill(summary, resolutions, skipped, report, before.papers, before.citations, after)
            if client is not None:
                summary.api_calls = client.stats.http_requests
                summary.cache_hits = client.stats.cache_hits
                summary.retries = client.stats.retries
            summary.seconds = round(time.monotonic() - started, 2)
            store.finish_run(run_id, summary.as_dict())
    finally:
        if own_client and client is not None:
            client.close()
    return summary


def _fill(
    summary: IngestSummary,
    resolutions: Sequence[Resolution],
    skipped: Sequence[Skipped],
    report: CrawlReport,
    papers_before: int,
    citations_before: int,
    after: Any,
) -> None:
    summary.listed = len(resolutions)
    summary.resolved = sum(r.status == RESOLVED for r in resolutions)
    summary.offline = sum(r.status == OFFLINE for r in resolutions)
    summary.duplicates = sum(r.status == DUPLICATE for r in resolutions)
    for r in resolutions:
        row = {
            "title": r.ref.title,
            "ids": list(r.ref.ids),
            "source": r.ref.source,
            "position": r.ref.position,
            "reason": r.reason,
            "candidate": r.paper_id,
            "score": r.match_score,
        }
        if r.status == UNRESOLVED:
            summary.unresolved.append(row)
        elif r.status == LOW_CONFIDENCE:
            summary.low_confidence.append(row)
    summary.skipped = [
        {"text": s.text, "url": s.url, "reason": s.reason, "source": s.source} for s in skipped
    ]
    summary.papers = after.papers
    summary.citations = after.citations
    summary.papers_added = after.papers - papers_before
    summary.edges_added = after.citations - citations_before
    summary.crawl = asdict(report)
