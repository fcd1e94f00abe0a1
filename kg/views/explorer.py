"""The :class:`Explorer` every screen reads: a built graph loaded once, per-paper data.

:class:`Explorer` wraps a :class:`~kg.graph.knowledge.KnowledgeGraph` with the indexes
the screens share (topic levels and members, filter masks, facets, a 2-D projection,
full-text search), built lazily, once per process. Per-paper data (items, records,
years, citation counts, vector rows) comes from the recommender's
:class:`~kg.recommend.index.RecommendIndex` of the graph, built once and shared with
Read next. The helpers here (:func:`safe_url`, :func:`paper_links`,
:func:`authors_text`, :func:`paper_row`, :func:`paper_choices`) shape one paper for a
screen. Nothing here renders: titles and abstracts are third-party text, returned as
plain strings; links are only ever ``http(s)`` URLs.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from kg.core.errors import KGError
from kg.core.model import Paper, Topic
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.index import RecommendIndex
from kg.store.corpus import CorpusError, CorpusStore
from kg.store.search import MemoryFullText

if TYPE_CHECKING:
    from kg.build import KnowledgeGraph
    from kg.core.settings import Settings
    from kg.store.corpus import CorpusStore


#: Scopes of the "seed or neighbour" filter.
SCOPES = ("all", "seeds", "neighbours")


#: A ``papers`` rowid the explorer has not seen (in :meth:`Explorer._items_of_rows`).
_NEW = -2
#: Label of papers with no topic in a scheme, and of the topics folded into one colour.
NO_TOPIC = "(no topic)"
OTHER = "other topics"


_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\]+$", re.IGNORECASE)


class ExploreError(KGError):
    """A screen's request cannot be answered (unknown paper or topic, bad parameters)."""


def safe_url(url: str | None) -> str | None:
    """``url`` when it is a plain http(s) URL, else None (never ``javascript:`` etc.)."""
    if not url:
        return None
    url = url.strip()
    return url if _SAFE_URL.match(url) else None


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    """``(label, url)`` for a paper: Semantic Scholar, arXiv, DOI, open-access PDF."""
    from urllib.parse import quote

    out: list[tuple[str, str]] = []
    s2 = safe_url(paper.url)
    if s2 is None and _HEX40.match(paper.paper_id):
        s2 = f"https://www.semanticscholar.org/paper/{paper.paper_id}"
    if s2:
        out.append(("Semantic Scholar", s2))
    if paper.arxiv_id:
        out.append(("arXiv", f"https://arxiv.org/abs/{quote(paper.arxiv_id, safe='/.')}"))
    if paper.doi:
        out.append(("DOI", f"https://doi.org/{quote(paper.doi, safe='/.()-_;:')}"))
    pdf = safe_url(paper.open_access_pdf)
    if pdf:
        out.append(("PDF", pdf))
    return out


def authors_text(paper: Paper, limit: int = 3) -> str:
    names = [a.name for a in paper.authors]
    if len(names) > limit:
        return ", ".join(names[:limit]) + " et al."
    return ", ".join(names)


def fold(text: str | None) -> str:
    return " ".join((text or "").lower().split())


@dataclass(frozen=True)
class Facets:
    """What the filter widgets offer."""

    year_min: int | None
    year_max: int | None
    schemes: tuple[str, ...]
    topics: Mapping[str, tuple[tuple[str, str, int], ...]]  # scheme -> (id, label, size)
    venues: tuple[str, ...]  # the most frequent venues
    max_citations: int


@dataclass(frozen=True)
class SearchFilters:
    """Filters of the search screen (all optional)."""

    year_from: int | None = None
    year_to: int | None = None
    topic: str | None = None  # a topic id; narrower topics count
    venue: str | None = None  # case-insensitive substring of venue or journal
    scope: str = "all"  # all | seeds | neighbours
    min_citations: int = 0


class Explorer:
    """A knowledge graph with the indexes the app's screens need. Build once per process.

    Items are the citation graph's nodes that have a paper record (preprint/published
    twins are one item, as in the recommender). Indexes are computed on first use.
    """

    def __init__(self, kg: KnowledgeGraph, settings: Settings | None = None) -> None:
        self.kg = kg
        self.settings = settings
        #: The recommender's per-paper index of ``kg`` (built once, kept on the graph): the
        #: items, their records, years, citation counts and vector rows come from it.
        self.index = index = RecommendIndex.of(kg)
        #: Each item's row in :attr:`index` (its citation-graph node).
        self.rows = np.flatnonzero(index.recommendable)
        self.ids: list[str]
        self.papers: list[Paper]
        self.pos: dict[str, int]
        if self.rows.size == index.n:  # every node has a record: the index's own lists
            self.ids, self.pos = index.ids, index.pos
            self.papers = cast("list[Paper]", index.paper)
        else:
            self.ids = [index.ids[r] for r in self.rows.tolist()]
            self.papers = [cast("Paper", index.paper[r]) for r in self.rows.tolist()]
            self.pos = {pid: j for j, pid in enumerate(self.ids)}
        self.n = len(self.ids)
        nodes = kg.graph.graph.nodes
        self.year = index.year[self.rows]
        #: S2's count, or the citations within the graph when it is higher (or unknown).
        indeg = index.view.indeg.astype(np.int64)
        self.citations = np.maximum(index.citation_count, indeg)[self.rows]
        self.is_seed = np.array([bool(nodes[pid].get("is_seed")) for pid in self.ids], dtype=bool)
        self._lock = threading.Lock()
        self._store: CorpusStore | None = None
        self._rowmap: np.ndarray | None = None

    # ---------------------------------------------------------------- basics
    def warm(self) -> None:
        """Build every lazy index now (topics, projection, facets; the corpus opened, which
        checks it and gives an older one its full-text index), so that no interaction pays
        for one. The recommender's index is built with the explorer."""
        _ = (self.members, self._primary, self.projection, self._venue, self.facets)
        if not self.store_fulltext():  # no corpus, or a read-only one without the index
            _ = self._fulltext

    @classmethod
    def load(cls, settings: Settings) -> Explorer:

        return cls(KnowledgeGraph.load(settings), settings)

    def canon(self, paper_id: str) -> str:
        return self.kg.graph.canon(paper_id)

    def index_of(self, paper_id: str) -> int:
        j = self.pos.get(self.canon(paper_id))
        if j is None:
            raise ExploreError(
                f"Paper {paper_id!r} is not in the graph: check the id, or ingest it "
                "(`litkg ingest`) and rebuild (`litkg build`)."
            )
        return j

    def paper(self, paper_id: str) -> Paper | None:
        j = self.pos.get(self.canon(paper_id))
        if j is not None:
            return self.papers[j]
        return self.kg.papers.get(paper_id)

    def title(self, paper_id: str) -> str:
        p = self.paper(paper_id)
        if p is not None and p.title:
            return p.title
        attrs = self.kg.graph.graph.nodes.get(self.canon(paper_id)) or {}
        return str(attrs.get("title") or "") or f"(not in the corpus: {paper_id})"

    def store(self) -> CorpusStore | None:
        """The corpus store (opened once, shared; guard calls with :attr:`lock`)."""

        if self._store is None and self.settings is not None:
            try:
                self._store = CorpusStore(self.settings.corpus_path, create=False)
            except CorpusError:
                return None
        return self._store

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # ---------------------------------------------------------------- topics
    @cached_property
    def topics(self) -> dict[str, Topic]:
        return {t.topic_id: t for t in self.kg.topics.topics}

    @cached_property
    def schemes(self) -> tuple[str, ...]:
        order = {"curated": 0, "discovered": 1, "s2-fields": 2}
        found = {t.scheme for t in self.kg.topics.topics}
        return tuple(sorted(found, key=lambda s: (order.get(s, 9), s)))

    @cached_property
    def children(self) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = defaultdict(list)
        for t in self.kg.topics.topics:
            broader = t.broader if t.broader in self.topics else None
            out[broader].append(t.topic_id)
        return dict(out)

    @cached_property
    def members(self) -> dict[str, dict[int, float]]:
        """Topic id -> item index -> score (twins folded, the higher score kept)."""
        out: dict[str, dict[int, float]] = defaultdict(dict)
        for m in self.kg.topics.memberships:
            j = self.pos.get(self.canon(m.paper_id))
            if j is None:
                continue
            row = out[m.topic_id]
            if m.score > row.get(j, -1.0):
                row[j] = float(m.score)
        return dict(out)

    def _depth(self, topic_id: str) -> int:
        depth, seen = 0, {topic_id}
        t = self.topics.get(topic_id)
        while t is not None and t.broader in self.topics and t.broader not in seen:
            seen.add(t.broader)
            depth += 1
            t = self.topics.get(t.broader)
        return depth

    def _ancestor(self, topic_id: str, depth: int) -> str | None:
        chain = [topic_id]
        t = self.topics.get(topic_id)
        while t is not None and t.broader in self.topics and t.broader not in chain:
            chain.append(t.broader)
            t = self.topics.get(t.broader)
        chain.reverse()  # root first
        return chain[depth] if depth < len(chain) else None

    @cached_property
    def display_depth(self) -> dict[str, int]:
        """Per scheme, the first level with more than one topic (curated: the sections
        under "Papers"; discovered: the coarse topics)."""
        per: dict[str, Counter[int]] = defaultdict(Counter)
        for t in self.kg.topics.topics:
            per[t.scheme][self._depth(t.topic_id)] += 1
        out = {}
        for scheme, counts in per.items():
            out[scheme] = next((d for d in sorted(counts) if counts[d] > 1), min(counts))
        return out

    @cached_property
    def _primary(self) -> dict[str, np.ndarray]:
        """Per scheme, each item's topic at the display level (index into
        :meth:`scheme_topics`, -1 for none): its highest-scoring membership there or below."""
        out: dict[str, np.ndarray] = {}
        best: dict[str, np.ndarray] = {}
        for scheme in self.schemes:
            out[scheme] = np.full(self.n, -1, dtype=np.int64)
            best[scheme] = np.full(self.n, -1.0)
        col = {s: {tid: i for i, tid in enumerate(self.scheme_topics(s))} for s in self.schemes}
        for tid, rows in self.members.items():
            t = self.topics.get(tid)
            if t is None:
                continue
            anc = self._ancestor(tid, self.display_depth.get(t.scheme, 0))
            c = col[t.scheme].get(anc) if anc is not None else None
            if c is None:
                continue
            assigned, scores = out[t.scheme], best[t.scheme]
            for j, s in rows.items():
                if s > scores[j]:
                    scores[j] = s
                    assigned[j] = c
        return out

    def scheme_topics(self, scheme: str) -> list[str]:
        """The topics of ``scheme`` at its display level, in model order."""
        depth = self.display_depth.get(scheme, 0)
        return [
            t.topic_id
            for t in self.kg.topics.topics
            if t.scheme == scheme and self._depth(t.topic_id) == depth
        ]

    def primary_labels(self, scheme: str, top: int = 12) -> list[str]:
        """Each item's topic label in ``scheme`` (the ``top`` largest topics by name, the
        rest as :data:`OTHER`, none as :data:`NO_TOPIC`)."""
        ids = self.scheme_topics(scheme)
        assigned = self._primary.get(scheme)
        if assigned is None:
            return [NO_TOPIC] * self.n
        sizes = np.bincount(assigned[assigned >= 0], minlength=len(ids))
        keep = set(np.argsort(-sizes, kind="stable")[:top].tolist())
        names = [self.topics[tid].label if c in keep else OTHER for c, tid in enumerate(ids)]
        return [names[c] if c >= 0 else NO_TOPIC for c in assigned.tolist()]

    def topic_items(self, topic_id: str) -> set[int]:
        """Items in ``topic_id`` or any narrower topic."""
        out: set[int] = set()
        stack, seen = [topic_id], set()
        while stack:
            tid = stack.pop()
            if tid in seen:
                continue
            seen.add(tid)
            out.update(self.members.get(tid, {}))
            stack.extend(self.children.get(tid, []))
        return out

    def topic_label(self, topic_id: str) -> str:
        t = self.topics.get(topic_id)
        return t.label if t is not None else topic_id

    # ---------------------------------------------------------------- search indexes
    def fulltext(self, query: str, field: str) -> tuple[np.ndarray, np.ndarray]:
        """The items matching ``query`` in ``field`` and their bm25 scores, in no order (an
        item twice when both twins match): from the corpus's FTS5 index
        (:mod:`kg.store.search`), or, where the corpus cannot give one (none, or read-only
        from before the index), from an in-memory index of the graph's papers."""
        store = self.store()
        if store is not None:
            with self.lock:
                found = store.search_rows(query, field)
                if found is not None:
                    items = self._items_of_rows(store, found[0])
                    keep = items >= 0
                    return items[keep], found[1][keep]
        return self._fulltext.rows(query, field)  # positions are items

    def store_fulltext(self) -> bool:
        """Whether the corpus answers full-text queries (opens it: see :meth:`store`)."""
        store = self.store()
        if store is None:
            return False
        with self.lock:
            return store.search_rows("") is not None

    def _items_of_rows(self, store: CorpusStore, rowids: np.ndarray) -> np.ndarray:
        """The item of each ``papers`` rowid (-1: not in the graph). The map is read once,
        and again when a rowid is new to it (papers written since)."""
        known = self._rowmap
        if rowids.size and (
            known is None or rowids.max() >= known.size or bool((known[rowids] == _NEW).any())
        ):
            pairs = store.paper_rowids()
            known = np.full(max((r for r, _ in pairs), default=-1) + 1, _NEW, dtype=np.int64)
            for r, pid in pairs:
                known[r] = self.pos.get(self.canon(pid), -1)
            self._rowmap = known
        if known is None or not rowids.size:
            return np.zeros(0, dtype=np.int64)
        inside = rowids < known.size  # written by another process a moment ago
        items = known[np.where(inside, rowids, 0)]
        return np.where(inside & (items >= 0), items, -1)

    @cached_property
    def _fulltext(self) -> MemoryFullText:
        return MemoryFullText(zip(self.ids, self.papers, strict=True))

    @cached_property
    def _venue(self) -> list[str]:
        return [fold(" | ".join(x for x in (p.venue, p.journal) if x)) for p in self.papers]

    @property
    def _emb_row(self) -> np.ndarray:
        """Each item's row of ``kg.embeddings`` (-1 for none), from the recommender's index."""
        return self.index.emb_row[self.rows]

    @cached_property
    def facets(self) -> Facets:
        years = self.year[~np.isnan(self.year)]
        venues = Counter(p.venue or p.journal for p in self.papers if p.venue or p.journal)
        topics: dict[str, tuple[tuple[str, str, int], ...]] = {}
        for scheme in self.schemes:
            rows = []
            for t in self.kg.topics.topics:
                if t.scheme == scheme:
                    rows.append((t.topic_id, self._indented(t), len(self.topic_items(t.topic_id))))
            topics[scheme] = tuple(rows)
        return Facets(
            year_min=int(years.min()) if years.size else None,
            year_max=int(years.max()) if years.size else None,
            schemes=self.schemes,
            topics=topics,
            venues=tuple(v for v, _ in venues.most_common(200) if v),
            max_citations=int(self.citations.max()) if self.n else 0,
        )

    def _indented(self, t: Topic) -> str:
        depth = self._depth(t.topic_id) - self.display_depth.get(t.scheme, 0)
        return ("· " * max(0, depth)) + t.label

    def mask(self, filters: SearchFilters | None) -> np.ndarray:
        """Items passing ``filters``."""
        ok = np.ones(self.n, dtype=bool)
        if filters is None:
            return ok
        if filters.scope not in SCOPES:
            raise ExploreError(f"scope must be one of {', '.join(SCOPES)}, not {filters.scope!r}")
        with np.errstate(invalid="ignore"):
            if filters.year_from is not None:
                ok &= self.year >= filters.year_from
            if filters.year_to is not None:
                ok &= self.year <= filters.year_to
        if filters.topic:
            if filters.topic not in self.topics:
                raise ExploreError(f"Unknown topic {filters.topic!r}.")
            keep = np.zeros(self.n, dtype=bool)
            items = list(self.topic_items(filters.topic))
            keep[items] = True
            ok &= keep
        if filters.venue and filters.venue.strip():
            needle = fold(filters.venue)
            ok &= np.fromiter((needle in v for v in self._venue), dtype=bool, count=self.n)
        if filters.scope == "seeds":
            ok &= self.is_seed
        elif filters.scope == "neighbours":
            ok &= ~self.is_seed
        if filters.min_citations:
            ok &= self.citations >= filters.min_citations
        return ok

    # ---------------------------------------------------------------- projection
    @cached_property
    def projection(self) -> np.ndarray:
        """2-D PCA of the items' vectors (an ``(n, 2)`` array; NaN where no vector)."""
        out = np.full((self.n, 2), np.nan, dtype=np.float32)
        rows = self._emb_row
        have = rows >= 0
        if have.sum() < 3:
            out[have] = 0.0
            return out
        x = np.asarray(self.kg.embeddings, dtype=np.float32)[rows[have]]
        x -= x.mean(axis=0)
        cov = (x.T @ x).astype(np.float64)
        _, vecs = np.linalg.eigh(cov)
        vecs = vecs.astype(np.float32)
        comp = vecs[:, ::-1][:, :2]
        for k in range(comp.shape[1]):  # a deterministic sign
            if comp[np.argmax(np.abs(comp[:, k])), k] < 0:
                comp[:, k] = -comp[:, k]
        xy = x @ comp
        scale = np.abs(xy).max(axis=0)
        scale[scale == 0] = 1.0
        out[have] = (xy / scale).astype(np.float32)
        return out


def pick_scheme(ex: Explorer, scheme: str | None) -> str:
    if scheme:
        if scheme not in ex.schemes:
            raise ExploreError(f"Unknown topic scheme {scheme!r}; the graph has {ex.schemes}.")
        return scheme
    for s in ("discovered", "curated", "s2-fields"):
        if s in ex.schemes:
            return s
    return ex.schemes[0] if ex.schemes else ""


def paper_row(ex: Explorer, j: int, labels: Sequence[str]) -> dict[str, Any]:
    p = ex.papers[j]
    return {
        "paper_id": ex.ids[j],
        "title": p.title,
        "authors": authors_text(p),
        "year": p.year,
        "venue": p.venue or p.journal or "",
        "citations": int(ex.citations[j]),
        "topic": labels[j],
        "seed": bool(ex.is_seed[j]),
    }


def paper_choices(ex: Explorer, ids: Iterable[str]) -> dict[str, str]:
    """``paper_id -> "Surname Year - Title"`` for selection widgets."""
    out = {}
    for pid in ids:
        p = ex.paper(pid)
        out[pid] = p.short_label() if p is not None else ex.title(pid)
    return out


__all__ = [
    "NO_TOPIC",
    "OTHER",
    "SCOPES",
    "ExploreError",
    "Explorer",
    "Facets",
    "SearchFilters",
    "authors_text",
    "fold",
    "paper_choices",
    "paper_links",
    "paper_row",
    "pick_scheme",
    "safe_url",
]
