"""What the app's screens show, as library calls: one function per screen (or action).

The app (``app/Home.py``, ``app/pages/*``) reads its widgets, calls one function of this
module, and renders what comes back; the same calls work from Python or a notebook.

* :func:`readiness`: is there a corpus and a built graph under the data dir? If not, the
  message and the command to run (``litkg ingest``, ``litkg build``); cheap (file stats).
* :class:`Explorer`: a :class:`~kg.build.KnowledgeGraph` with the indexes the screens need
  (search haystacks, topic levels, a 2-D projection), built lazily, once per process.
* :func:`overview`: counts, the topic map, papers per year by topic.
* :func:`search`: title / author / full-text search and semantic search (the query is
  embedded with the model that embedded the papers, :func:`query_embedder`), with filters.
* :func:`paper_view`: one paper with its topics, links, references and citations (with
  S2's intents and citation contexts) and :func:`ego_view`, its citation neighbourhood
  laid out for drawing.
* :func:`read_next`: recommendations (:func:`kg.recommend.rank.recommend_detailed`) as rows.
* :func:`topic_tree`, :func:`topic_detail`: the schemes' hierarchies, key papers, keywords,
  growth over time.
* :func:`run_sparql`: a read-only query against the RDF store with the CLI's limits.
* :func:`list_view`, :func:`export_list`, :func:`import_into_list`, :func:`order_as_path`,
  :func:`sync_lists_rdf`: reading lists (:mod:`kg.store.readinglists`) with paper details.
* :func:`status`: data freshness, the last ingest, what was left unresolved.

Nothing here renders: titles and abstracts are third-party text and are returned as plain
strings for the caller to show as text. Links are only ever ``http(s)`` URLs.
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.core.errors import ConfigError, KGError, ReadingListError, RecommendError
from kg.core.model import Paper, Topic

if TYPE_CHECKING:
    from kg.build import KnowledgeGraph, WeightsStatus
    from kg.core.settings import Settings
    from kg.rdf.canned import CannedQuery
    from kg.rdf.results import QueryResult
    from kg.recommend.path import PathStep
    from kg.store.corpus import CorpusStatus, CorpusStore, SeedRow
    from kg.store.readinglists import ImportReport, ReadingList, ReadingLists
    from kg.text.embed import Embedder

#: Scopes of the "seed or neighbour" filter.
SCOPES = ("all", "seeds", "neighbours")
#: Search fields; ``semantic`` embeds the query.
SEARCH_FIELDS = ("all", "title", "author", "text", "semantic")
#: Sort orders of search results.
SORTS = ("relevance", "citations", "newest", "oldest", "title")
#: Label of papers with no topic in a scheme, and of the topics folded into one colour.
NO_TOPIC = "(no topic)"
OTHER = "other topics"
#: Ego views are capped so that they stay drawable.
EGO_MAX_NODES = {1: 80, 2: 150}

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\]+$", re.IGNORECASE)


class ExploreError(KGError):
    """A screen's request cannot be answered (unknown paper or topic, bad parameters)."""


# --------------------------------------------------------------------------- readiness
@dataclass(frozen=True)
class Readiness:
    """Whether the app can load the graph; when not, why and the command that fixes it."""

    ok: bool
    state: str  # ok | no-data-dir | no-corpus | empty | not-built | unreadable
    message: str = ""
    command: str = ""
    stamp: str = ""  # changes whenever the built graph changes (cache key)


def readiness(settings: Settings) -> Readiness:
    """Cheap checks (file stats only): data dir, corpus, built graph."""
    from kg.graph.knowledge import MANIFEST

    data_dir = Path(settings.data_dir)
    if not data_dir.is_dir():
        return Readiness(
            False,
            "no-data-dir",
            f"There is no data directory at {data_dir}. Ingest papers, then build the graph "
            "(or set LITKG_DATA_DIR to the folder that holds your data).",
            "litkg ingest && litkg build",
        )
    if not settings.corpus_path.is_file():
        return Readiness(
            False,
            "no-corpus",
            f"No corpus in {data_dir} yet: ingest papers first, then build the graph.",
            "litkg ingest && litkg build",
        )
    manifest = settings.graph_dir / MANIFEST
    if not manifest.is_file():
        if _corpus_empty(settings):
            return Readiness(
                False,
                "empty",
                f"The corpus in {data_dir} holds no papers yet: ingest some, then build.",
                "litkg ingest && litkg build",
            )
        return Readiness(
            False,
            "not-built",
            f"The corpus in {data_dir} has not been built into a knowledge graph yet.",
            "litkg build",
        )
    try:
        info = manifest.stat()
        json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Readiness(
            False,
            "unreadable",
            f"The built graph in {settings.graph_dir} is unreadable ({exc}).",
            "litkg build",
        )
    return Readiness(True, "ok", stamp=f"{info.st_mtime_ns}:{info.st_size}")


def _has_onnxruntime() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def _corpus_empty(settings: Settings) -> bool:
    from kg.store.corpus import CorpusStore

    try:
        with CorpusStore(settings.corpus_path, create=False) as store:
            return store.paper_count() == 0
    except KGError:
        return False


# --------------------------------------------------------------------------- embedder
def query_embedder(
    settings: Settings, kg: KnowledgeGraph | None = None, *, prefer_fast: bool = True
) -> Embedder:
    """The embedder for search queries: the model that embedded the papers.

    ``LITKG_EMBED_BACKEND=fake`` (tests, demos) or a graph built with the fake embedder
    gives :class:`~kg.text.embed.FakeEmbedder` of the graph's dimension; otherwise MiniLM
    (loaded on first use, from the package's files) with the ``LITKG_EMBED_*`` settings.
    Unless a backend is set explicitly, queries use fp32 ONNX (``prefer_fast``): a few
    milliseconds per query where the torch backends take hundreds (exported once under
    the graph dir on first use); never int8, whose neighbours differ from fp32's."""
    from kg.graph.knowledge import MANIFEST
    from kg.text.embed import FakeEmbedder, MiniLMEmbedder

    manifest: Mapping[str, Any] = kg.manifest if kg is not None else {}
    if kg is None:
        try:
            manifest = json.loads((settings.graph_dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
    built = str(manifest.get("embedder") or "")
    dim = int(kg.embeddings.shape[1]) if kg is not None and kg.embeddings.ndim == 2 else 16
    backend = (settings.embed_backend or "").strip().lower()
    if backend == "fake" or built.startswith("fake-bow-"):
        if built.startswith("fake-bow-") and built[9:].isdigit():
            dim = int(built[9:])
        return FakeEmbedder(dim=max(dim, 2))
    chosen = backend or "auto"
    if prefer_fast and chosen == "auto" and _has_onnxruntime():
        # One short query: fp32 ONNX answers in a few ms, the torch backends spend
        # hundreds of ms per call; its vectors are fp32 torch's (int8's would move ~11%
        # of the top-10 neighbours).
        chosen = "onnx"
    env = {**os.environ, "LITKG_EMBED_BACKEND": chosen}
    embedder = MiniLMEmbedder.from_env(env, model_dir=settings.graph_dir / "models")
    if kg is not None and kg.embeddings.ndim == 2 and kg.embeddings.shape[1] != embedder.dim:
        raise ConfigError(
            f"The graph's vectors have {kg.embeddings.shape[1]} dimensions, the query model "
            f"{embedder.dim}: rebuild the graph with `litkg build`."
        )
    return embedder


# --------------------------------------------------------------------------- helpers
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


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _WORD.findall(text)]


def _fold(text: str | None) -> str:
    return " ".join((text or "").lower().split())


# --------------------------------------------------------------------------- the explorer
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
        g = kg.graph
        self.ids: list[str] = []
        self.papers: list[Paper] = []
        self.pos: dict[str, int] = {}
        for pid in g.graph.nodes:
            paper = kg.papers.get(pid)
            if paper is None:
                twins = g.graph.nodes[pid].get("twins") or ()
                paper = next((kg.papers[t] for t in twins if t in kg.papers), None)
            if paper is None:
                continue
            self.pos[pid] = len(self.ids)
            self.ids.append(pid)
            self.papers.append(paper)
        self.n = len(self.ids)
        nodes = g.graph.nodes
        self.year = np.array(
            [float(p.year) if p.year is not None else np.nan for p in self.papers], dtype=float
        )
        self.citations = np.array(
            [
                max(int(nodes[pid].get("citation_count") or 0), g.graph.in_degree(pid))
                for pid in self.ids
            ],
            dtype=np.int64,
        )
        self.is_seed = np.array([bool(nodes[pid].get("is_seed")) for pid in self.ids], dtype=bool)
        self._lock = threading.Lock()
        self._store: CorpusStore | None = None

    # ---------------------------------------------------------------- basics
    def warm(self, *, recommend: bool = True) -> None:
        """Build every lazy index now (search text, topics, projection, facets and, with
        ``recommend``, the recommender's index), so that no interaction pays for one."""
        _ = (self.members, self._primary, self.projection, self._hay, self._venue)
        _ = (self._emb_row, self.facets)
        self.store()  # opening the corpus checks it: once, not on the first paper opened
        if recommend:
            from kg.recommend.index import RecommendIndex

            RecommendIndex.of(self.kg)

    @classmethod
    def load(cls, settings: Settings) -> Explorer:
        from kg.graph.knowledge import KnowledgeGraph

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
        from kg.store.corpus import CorpusError, CorpusStore

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
    @cached_property
    def _hay(self) -> dict[str, list[str]]:
        title, author, text, every = [], [], [], []
        for pid, p in zip(self.ids, self.papers, strict=True):
            t = _fold(p.title)
            a = _fold(" ; ".join(x.name for x in p.authors))
            body = _fold(" ".join(x for x in (p.abstract, p.tldr) if x))
            ids = _fold(" ".join([pid, *(str(v) for v in p.external_ids.values())]))
            venue = _fold(" ".join(x for x in (p.venue, p.journal) if x))
            title.append(t)
            author.append(a)
            text.append(f"{t} \n {body}")
            every.append(f"{t} \n {a} \n {venue} \n {body} \n {ids}")
        return {"title": title, "author": author, "text": text, "all": every}

    @cached_property
    def _venue(self) -> list[str]:
        return [_fold(" | ".join(x for x in (p.venue, p.journal) if x)) for p in self.papers]

    @cached_property
    def _emb_row(self) -> np.ndarray:
        rows = np.full(self.n, -1, dtype=np.int64)
        for j, pid in enumerate(self.ids):
            r = self.kg.row.get(pid)
            if r is None:
                for twin in self.kg.graph.graph.nodes[pid].get("twins") or ():
                    r = self.kg.row.get(twin)
                    if r is not None:
                        break
            if r is not None:
                rows[j] = r
        return rows

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
            needle = _fold(filters.venue)
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


# --------------------------------------------------------------------------- overview
@dataclass(frozen=True)
class Overview:
    papers: int
    citations: int
    seeds: int
    with_abstract: int
    topics: Mapping[str, int]  # scheme -> number of topics
    year_min: int | None
    year_max: int | None
    built_at: str | None
    last_ingest: str | None
    embedder: str | None
    scheme: str
    map_points: list[dict[str, Any]]  # x, y, title, year, topic, citations, paper_id, seed
    map_total: int
    per_year: list[dict[str, Any]]  # year, topic, papers


def overview(ex: Explorer, *, scheme: str | None = None, max_points: int = 4000) -> Overview:
    """What is in the graph, a 2-D topic map (seeds, then the most cited, then a spread of
    the rest, up to ``max_points``) and papers per year by topic, coloured by ``scheme``
    (default: discovered topics when there are any)."""
    scheme = _pick_scheme(ex, scheme)
    labels = ex.primary_labels(scheme) if scheme else [NO_TOPIC] * ex.n
    xy = ex.projection
    have = np.flatnonzero(~np.isnan(xy[:, 0]))
    chosen = _sample(ex, have, max_points)
    points = []
    for j in chosen.tolist():
        p = ex.papers[j]
        points.append(
            {
                "x": round(float(xy[j, 0]), 4),
                "y": round(float(xy[j, 1]), 4),
                "title": p.title,
                "year": p.year,
                "topic": labels[j],
                "citations": int(ex.citations[j]),
                "seed": bool(ex.is_seed[j]),
                "paper_id": ex.ids[j],
            }
        )
    counts: Counter[tuple[int, str]] = Counter()
    for j in range(ex.n):
        y = ex.year[j]
        if not np.isnan(y):
            counts[(int(y), labels[j])] += 1
    per_year = [{"year": y, "topic": t, "papers": n} for (y, t), n in sorted(counts.items())]
    years = ex.year[~np.isnan(ex.year)]
    topics = Counter(t.scheme for t in ex.kg.topics.topics)
    m = ex.kg.manifest
    return Overview(
        papers=ex.n,
        citations=int(ex.kg.graph.graph.number_of_edges()),
        seeds=int(ex.is_seed.sum()),
        with_abstract=sum(1 for p in ex.papers if p.abstract),
        topics=dict(topics),
        year_min=int(years.min()) if years.size else None,
        year_max=int(years.max()) if years.size else None,
        built_at=m.get("built_at"),
        last_ingest=m.get("last_ingest"),
        embedder=m.get("embedder"),
        scheme=scheme or "",
        map_points=points,
        map_total=int(have.size),
        per_year=per_year,
    )


def _pick_scheme(ex: Explorer, scheme: str | None) -> str:
    if scheme:
        if scheme not in ex.schemes:
            raise ExploreError(f"Unknown topic scheme {scheme!r}; the graph has {ex.schemes}.")
        return scheme
    for s in ("discovered", "curated", "s2-fields"):
        if s in ex.schemes:
            return s
    return ex.schemes[0] if ex.schemes else ""


def _sample(ex: Explorer, have: np.ndarray, limit: int) -> np.ndarray:
    if have.size <= limit:
        return have
    seeds = have[ex.is_seed[have]]
    rest = have[~ex.is_seed[have]]
    top = rest[np.argsort(-ex.citations[rest], kind="stable")]
    n_top = max(0, min(top.size, limit // 4 - seeds.size))
    others = top[n_top:]
    n_spread = max(0, limit - seeds.size - n_top)
    spread = np.random.default_rng(0).choice(others, size=min(n_spread, others.size), replace=False)
    return np.sort(np.concatenate([seeds, top[:n_top], spread]))


# --------------------------------------------------------------------------- search
@dataclass(frozen=True)
class SearchResult:
    rows: list[dict[str, Any]]
    total: int  # matches before the limit
    field: str
    seconds: float


def search(
    ex: Explorer,
    query: str = "",
    *,
    field: str = "all",
    filters: SearchFilters | None = None,
    sort: str = "relevance",
    limit: int = 200,
    embedder: Embedder | None = None,
) -> SearchResult:
    """Papers matching ``query`` within ``filters``.

    ``field``: ``all`` (title, authors, venue, abstract, TLDR, ids), ``title``, ``author``,
    ``text`` (title, abstract, TLDR): every query word must occur; title hits rank first,
    then citations. ``semantic``: cosine of the query's embedding (``embedder``) to the
    papers'. An empty query lists the filtered papers, most cited first.
    """
    started = time.perf_counter()
    if field not in SEARCH_FIELDS:
        raise ExploreError(f"field must be one of {', '.join(SEARCH_FIELDS)}, not {field!r}")
    if sort not in SORTS:
        raise ExploreError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    ok = ex.mask(filters)
    query = query.strip()
    score = np.zeros(ex.n)
    if query and field == "semantic":
        if embedder is None:
            raise ExploreError("Semantic search needs an embedder (see query_embedder).")
        qv = np.asarray(embedder.embed([query]), dtype=np.float32)[0]
        emb_rows = ex._emb_row
        have = emb_rows >= 0
        sims = np.full(ex.n, -np.inf)
        sims[have] = np.asarray(ex.kg.embeddings[emb_rows[have]], dtype=np.float32) @ qv
        ok &= have
        score = sims
    elif query:
        words = _tokens(query) or [query.lower()]
        hay = ex._hay[field]
        titles = ex._hay["title"]
        idx = np.flatnonzero(ok)
        hit = np.zeros(ex.n, dtype=bool)
        for j in idx.tolist():
            h = hay[j]
            if all(w in h for w in words):
                hit[j] = True
                t = titles[j]
                score[j] = sum(1.0 for w in words if w in t) + (2.0 if query.lower() in t else 0.0)
        ok &= hit
    idx = np.flatnonzero(ok)
    total = int(idx.size)
    cites = ex.citations[idx]
    years = np.nan_to_num(ex.year[idx], nan=-1.0)
    if sort == "relevance":
        order = np.lexsort((-cites, -score[idx])) if query else np.argsort(-cites, kind="stable")
    elif sort == "citations":
        order = np.argsort(-cites, kind="stable")
    elif sort == "newest":
        order = np.lexsort((-cites, -years))
    elif sort == "oldest":
        order = np.lexsort((-cites, np.where(years < 0, 1e9, years)))
    else:
        keys = [ex._hay["title"][j] for j in idx.tolist()]
        order = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
    chosen = idx[order[:limit]] if idx.size else idx
    labels = ex.primary_labels(_pick_scheme(ex, None)) if ex.schemes else [NO_TOPIC] * ex.n
    rows = [_row(ex, j, labels) for j in chosen.tolist()]
    if query:
        for r, j in zip(rows, chosen.tolist(), strict=True):
            r["score"] = round(float(score[j]), 4)
    return SearchResult(rows, total, field, time.perf_counter() - started)


def _row(ex: Explorer, j: int, labels: Sequence[str]) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- paper
@dataclass(frozen=True)
class Linked:
    """A reference or a citation of the paper in view, with what S2 says about the edge."""

    paper_id: str
    title: str
    year: int | None
    in_corpus: bool
    intents: tuple[str, ...] = ()
    influential: bool | None = None
    contexts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaperView:
    paper: Paper
    is_seed: bool
    sections: tuple[str, ...]
    topics: list[tuple[str, str, str, float]]  # id, label, scheme, score
    links: list[tuple[str, str]]
    twins: tuple[str, ...]
    references: list[Linked]
    citations: list[Linked]


def paper_view(ex: Explorer, paper_id: str) -> PaperView:
    """One paper: details, topics, links, references and citations (intents, contexts)."""
    j = ex.index_of(paper_id)
    pid = ex.ids[j]
    g = ex.kg.graph.graph
    attrs = g.nodes[pid]
    twins = tuple(attrs.get("twins") or ())
    contexts: dict[tuple[str, str], tuple[str, ...]] = {}
    store = ex.store()
    if store is not None:
        with ex.lock:
            for own in (pid, *twins):
                for c in store.citations_of(own):
                    key = (ex.canon(c.citing), ex.canon(c.cited))
                    contexts[key] = tuple(dict.fromkeys(contexts.get(key, ()) + c.contexts))

    def linked(other: str, edge: Mapping[str, Any], key: tuple[str, str]) -> Linked:
        o = ex.pos.get(other)
        p = ex.papers[o] if o is not None else None
        return Linked(
            paper_id=other,
            title=p.title if p is not None else ex.title(other),
            year=p.year if p is not None else g.nodes[other].get("year"),
            in_corpus=p is not None,
            intents=tuple(edge.get("intents") or ()),
            influential=edge.get("is_influential"),
            contexts=contexts.get(key, ()),
        )

    def order(items: list[Linked]) -> list[Linked]:
        return sorted(items, key=lambda x: (not x.in_corpus, -(x.year or 0), x.title.lower()))

    refs = order([linked(v, g.edges[pid, v], (pid, v)) for v in g.successors(pid)])
    cits = order([linked(u, g.edges[u, pid], (u, pid)) for u in g.predecessors(pid)])
    topics = []
    for tid in ex.topics:
        s = ex.members.get(tid, {}).get(j)
        if s is not None:
            t = ex.topics[tid]
            topics.append((tid, t.label, t.scheme, round(s, 3)))
    topics.sort(key=lambda x: (ex.schemes.index(x[2]) if x[2] in ex.schemes else 9, -x[3]))
    paper = ex.papers[j]
    return PaperView(
        paper=paper,
        is_seed=bool(attrs.get("is_seed")),
        sections=tuple(attrs.get("sections") or ()),
        topics=topics,
        links=paper_links(paper),
        twins=twins,
        references=refs,
        citations=cits,
    )


@dataclass(frozen=True)
class EgoView:
    """A paper's citation neighbourhood laid out for drawing (coordinates in -1..1).

    ``nodes``: paper_id, title, year, topic, hops, citations, seed, x, y; ``edges``:
    source, target, x, y, x2, y2 (the citing paper at x/y)."""

    centre: str
    depth: int
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    neighbours: int  # papers within ``depth`` hops before the cap
    shown: int


def ego_view(ex: Explorer, paper_id: str, *, depth: int = 1, scheme: str | None = None) -> EgoView:
    """The papers within ``depth`` (1 or 2) citation hops of ``paper_id`` (capped at
    :data:`EGO_MAX_NODES`, most cited first), laid out with a seeded spring layout that
    starts from rings by distance, coloured by their topic in ``scheme``."""
    import networkx as nx

    if depth not in EGO_MAX_NODES:
        raise ExploreError(f"depth must be 1 or 2, not {depth}")
    j = ex.index_of(paper_id)
    pid = ex.ids[j]
    cg = ex.kg.graph
    layers = cg.bfs_layers(pid, depth)
    total = sum(len(layer) for layer in layers) - 1
    sub = cg.ego_graph(pid, depth, max_nodes=EGO_MAX_NODES[depth])
    hops = nx.get_node_attributes(sub, "hops")
    labels = ex.primary_labels(_pick_scheme(ex, scheme)) if ex.schemes else [NO_TOPIC] * ex.n
    ring: dict[int, list[str]] = defaultdict(list)
    for node in sub.nodes:
        ring[int(hops.get(node, 0))].append(node)
    start: dict[str, tuple[float, float]] = {}
    for h, members in ring.items():
        members.sort(key=lambda n: (labels[ex.pos[n]] if n in ex.pos else "", n))
        for i, node in enumerate(members):
            angle = 2 * math.pi * i / max(1, len(members)) + 0.3 * h
            start[node] = (h * math.cos(angle), h * math.sin(angle))
    if sub.number_of_nodes() > 2:
        pos = nx.spring_layout(
            sub.to_undirected(as_view=True),
            pos=start,
            fixed=[pid],
            seed=0,
            iterations=40,
            k=1.6 / math.sqrt(sub.number_of_nodes()),
        )
        xy = {n: (float(x), float(y)) for n, (x, y) in pos.items()}
        span = max(1e-9, max(max(abs(x), abs(y)) for x, y in xy.values()))
        xy = {n: (x / span, y / span) for n, (x, y) in xy.items()}
    else:
        xy = start
    nodes = []
    for node in sub.nodes:
        o = ex.pos.get(node)
        p = ex.papers[o] if o is not None else None
        x, y = xy[node]
        nodes.append(
            {
                "paper_id": node,
                "title": p.title if p is not None else ex.title(node),
                "year": p.year if p is not None else None,
                "topic": labels[o] if o is not None else NO_TOPIC,
                "hops": int(hops.get(node, 0)),
                "citations": int(ex.citations[o]) if o is not None else 0,
                "seed": bool(ex.is_seed[o]) if o is not None else False,
                "centre": node == pid,
                "x": round(x, 4),
                "y": round(y, 4),
            }
        )
    edges = [
        {
            "source": u,
            "target": v,
            "x": round(xy[u][0], 4),
            "y": round(xy[u][1], 4),
            "x2": round(xy[v][0], 4),
            "y2": round(xy[v][1], 4),
        }
        for u, v in sub.edges
    ]
    return EgoView(pid, depth, nodes, edges, total, sub.number_of_nodes() - 1)


# --------------------------------------------------------------------------- read next
@dataclass(frozen=True)
class ReadNext:
    #: rank, paper_id, title, authors, year, venue, score, reasons, snippet (plain text)
    rows: list[dict[str, Any]]
    read: list[str]
    disliked: list[str]
    candidates: int
    seconds: float


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
    from kg.graph.citations import SECTION_SEP

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
    from kg.recommend.fusion import Filters
    from kg.recommend.rank import DEFAULT_DIVERSITY, recommend_detailed

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
        rows, list(result.read), list(result.disliked), result.candidates, result.seconds
    )


# --------------------------------------------------------------------------- topics
@dataclass(frozen=True)
class TopicNode:
    topic_id: str
    label: str
    size: int
    keywords: tuple[str, ...]
    children: tuple[TopicNode, ...] = ()


def topic_tree(ex: Explorer, scheme: str) -> list[TopicNode]:
    """The topics of ``scheme`` as a forest, largest first; ``size`` counts the papers in
    the topic or a narrower one."""
    if scheme not in ex.schemes:
        raise ExploreError(f"Unknown topic scheme {scheme!r}; the graph has {ex.schemes}.")

    def node(tid: str, seen: frozenset[str]) -> TopicNode:
        t = ex.topics[tid]
        kids = [node(c, seen | {tid}) for c in ex.children.get(tid, []) if c not in seen]
        kids.sort(key=lambda k: (-k.size, k.label.lower()))
        keywords = tuple(t.keywords) or tuple(w for w, _ in ex.kg.topics.keywords.get(tid, [])[:8])
        return TopicNode(tid, t.label, len(ex.topic_items(tid)), keywords, tuple(kids))

    roots = [tid for tid in ex.children.get(None, []) if ex.topics[tid].scheme == scheme]
    out = [node(tid, frozenset()) for tid in roots]
    return sorted(out, key=lambda k: (-k.size, k.label.lower()))


@dataclass(frozen=True)
class TopicDetail:
    topic: Topic
    scheme: str
    size: int
    broader: tuple[str, str] | None
    narrower: list[tuple[str, str, int]]
    keywords: list[tuple[str, float]]
    key_papers: list[dict[str, Any]]
    per_year: list[dict[str, Any]]  # year, papers, total (cumulative)
    related: list[tuple[str, str, str, float]]  # id, label, scheme, share


def topic_detail(ex: Explorer, topic_id: str, *, key_papers: int = 15) -> TopicDetail:
    """One topic: its key papers (membership score times log citations), keywords, papers
    per year and cumulative, broader/narrower topics and the linked topics of the other
    scheme (curated <-> discovered)."""
    t = ex.topics.get(topic_id)
    if t is None:
        raise ExploreError(f"Unknown topic {topic_id!r}.")
    items = ex.topic_items(topic_id)
    scores: dict[int, float] = {}
    for tid in [topic_id, *_descendants(ex, topic_id)]:
        for j, s in ex.members.get(tid, {}).items():
            scores[j] = max(scores.get(j, 0.0), s)
    ranked = sorted(
        items, key=lambda j: (-scores.get(j, 0.0) * math.log1p(ex.citations[j] + 1), ex.ids[j])
    )
    labels = ex.primary_labels(_pick_scheme(ex, None)) if ex.schemes else [NO_TOPIC] * ex.n
    top = []
    for j in ranked[:key_papers]:
        row = _row(ex, j, labels)
        row["membership"] = round(scores.get(j, 0.0), 3)
        top.append(row)
    years = Counter(int(ex.year[j]) for j in items if not np.isnan(ex.year[j]))
    per_year, total = [], 0
    for y in sorted(years):
        total += years[y]
        per_year.append({"year": y, "papers": years[y], "total": total})
    keywords = list(ex.kg.topics.keywords.get(topic_id, []))
    if not keywords:
        keywords = [(w, 1.0) for w in t.keywords]
    related = []
    for a, b, share in ex.kg.topics.links:
        other = b if a == topic_id else a if b == topic_id else None
        if other is not None and other in ex.topics:
            o = ex.topics[other]
            related.append((other, o.label, o.scheme, round(share, 3)))
    related.sort(key=lambda r: -r[3])
    broader = (t.broader, ex.topic_label(t.broader)) if t.broader in ex.topics else None
    narrower = [
        (c, ex.topic_label(c), len(ex.topic_items(c))) for c in ex.children.get(topic_id, [])
    ]
    narrower.sort(key=lambda r: -r[2])
    return TopicDetail(
        topic=t,
        scheme=t.scheme,
        size=len(items),
        broader=broader,
        narrower=narrower,
        keywords=keywords,
        key_papers=top,
        per_year=per_year,
        related=related,
    )


def _descendants(ex: Explorer, topic_id: str) -> list[str]:
    out, stack = [], list(ex.children.get(topic_id, []))
    while stack:
        tid = stack.pop()
        if tid in out or tid == topic_id:
            continue
        out.append(tid)
        stack.extend(ex.children.get(tid, []))
    return out


# --------------------------------------------------------------------------- SPARQL
@dataclass(frozen=True)
class _SparqlRequest:
    settings: Settings
    query: str
    bindings: dict[str, Any] | None


def _pooled_query(request: _SparqlRequest) -> QueryResult:
    """One query, in a worker process: the store is opened for it only, so it sees the
    latest build and lists."""
    from kg.rdf.sparql import run_query
    from kg.rdf.stores import open_graph

    settings = request.settings
    dataset = open_graph(settings)
    # open_graph's build-state check leaves a half-read Oxigraph result in a reference
    # cycle; pyoxigraph refuses to free it from another thread, so collect it here, in
    # the thread that made it (young generations only: cheap).
    gc.collect(1)
    try:
        return run_query(
            dataset,
            request.query,
            bindings=request.bindings,
            timeout_s=0,  # the pool kills the worker at the limit
            max_rows=settings.sparql_max_rows,
            allow_service=settings.sparql_allow_service,
        )
    finally:
        dataset.close()


_POOL: list[Any] = []
_POOL_LOCK = threading.Lock()


def _sparql_pool() -> Any:
    """The app process's query workers (two: one person's queries, one slow one at a time
    stopped after its share when another waits)."""
    from kg.rdf.pool import QueryPool

    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(QueryPool(_pooled_query, size=2, share_s=1.0))
        return _POOL[0]


@dataclass(frozen=True)
class SparqlAnswer:
    result: QueryResult
    columns: list[str]
    rows: list[dict[str, Any]]
    csv: str
    json: str


def run_sparql(
    settings: Settings,
    query: str,
    *,
    params: Mapping[str, str] | None = None,
    canned: CannedQuery | None = None,
) -> SparqlAnswer:
    """A read-only SPARQL query against the store (or server), with the CLI's limits
    (``LITKG_SPARQL_TIMEOUT``, ``LITKG_SPARQL_MAX_ROWS``). ``params`` are bound as RDF
    terms (typed by ``canned``'s declarations when given; empty values are left out).
    The store is opened for this query only, so it sees the latest build and lists.
    Raises :class:`~kg.core.errors.SparqlError` (syntax errors carry the parser's message) or
    :class:`~kg.core.errors.GraphStoreError`."""
    from kg.rdf.binding import parse_param_value
    from kg.rdf.results import format_csv, format_json

    raw = {k: v.strip() for k, v in (params or {}).items() if v and v.strip()}
    if canned is not None:
        bindings: dict[str, Any] = dict(canned.bind(raw))
    else:
        bindings = {k: parse_param_value(v) for k, v in raw.items()}
    # parse and evaluation run in a worker process killed at the limit (kg.sparql_pool)
    result = _sparql_pool().run(
        _SparqlRequest(settings, query, bindings or None), settings.sparql_timeout
    )
    columns = list(result.columns)
    if result.kind == "ask":
        columns = ["answer"]
        rows = [{"answer": bool(result.boolean)}]
    else:
        rows = [dict(zip(columns, r, strict=True)) for r in result.rows]
    return SparqlAnswer(result, columns, rows, format_csv(result), format_json(result))


# --------------------------------------------------------------------------- reading lists
def list_view(ex: Explorer, lst: ReadingList) -> list[dict[str, Any]]:
    """The papers of a list, in order, with their details and notes."""
    rows = []
    for i, item in enumerate(lst.items, 1):
        p = ex.paper(item.paper_id) or _store_paper(ex, item.paper_id)
        rows.append(
            {
                "position": i,
                "paper_id": item.paper_id,
                "title": p.title if p is not None else f"(not in the corpus: {item.paper_id})",
                "authors": authors_text(p) if p is not None else "",
                "year": p.year if p is not None else None,
                "venue": (p.venue or p.journal or "") if p is not None else "",
                "note": item.note or "",
                "added": item.added_at,
            }
        )
    return rows


def _store_paper(ex: Explorer, paper_id: str) -> Paper | None:
    store = ex.store()
    if store is None:
        return None
    with ex.lock:
        return store.get_paper(paper_id)


def list_papers(ex: Explorer, lst: ReadingList) -> list[Paper]:
    out = []
    for pid in lst.paper_ids:
        p = ex.paper(pid) or _store_paper(ex, pid)
        out.append(p if p is not None else Paper(paper_id=pid, title=pid, resolved=False))
    return out


@dataclass(frozen=True)
class Download:
    data: str
    file_name: str
    mime: str
    label: str


def export_list(ex: Explorer, lst: ReadingList, fmt: str) -> Download:
    """A list as BibTeX, RIS, CSL-JSON, Markdown or CSV (:func:`kg.formats.registry.export`)."""
    from kg.formats.registry import FORMATS, export, format_for

    key = format_for(fmt)
    text = export(list_papers(ex, lst), key, notes=lst.notes, title=lst.name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", lst.name).strip("-.") or "reading-list"
    f = FORMATS[key]
    return Download(text, stem + f.extension, f.mime, f.label)


def export_all(ex: Explorer, lst: ReadingList) -> list[Download]:
    from kg.formats.registry import FORMATS

    return [export_list(ex, lst, key) for key in FORMATS]


@dataclass(frozen=True)
class ImportOutcome:
    report: ImportReport
    skipped: tuple[str, ...]


def import_into_list(
    ex: Explorer, lists: ReadingLists, name: str, text: str, fmt: str
) -> ImportOutcome:
    """Read BibTeX, RIS or CSL-JSON ``text`` and add the papers found in the corpus (by
    id, DOI, arXiv id or title) to list ``name`` (made when missing)."""
    from kg.formats.registry import read_entries

    read = read_entries(text, fmt)
    papers = [e.paper for e in read.entries]
    notes = [e.note for e in read.entries]
    store = ex.store()
    if store is not None:
        with ex.lock:
            report = lists.import_papers(name, papers, store, notes=notes)
    else:
        report = lists.import_papers(name, papers, ex.kg.papers, notes=notes)
    return ImportOutcome(report, read.skipped)


def order_as_path(ex: Explorer, lists: ReadingLists, name: str) -> list[PathStep]:
    """Reorder list ``name`` as a reading path (:func:`kg.recommend.path.reading_path`: what a
    paper builds on comes first); papers not in the graph go last, in their order."""
    from kg.recommend.path import reading_path

    lst = lists.get(name)
    known = [pid for pid in lst.paper_ids if ex.canon(pid) in ex.pos]
    if not known:
        raise ReadingListError(
            f"None of the papers on {lst.name!r} is in the built graph; run `litkg build`."
        )
    steps = reading_path(ex.kg, known)
    by_canon = {ex.canon(pid): pid for pid in known}
    ordered = [by_canon.get(ex.canon(s.paper_id), s.paper_id) for s in steps]
    lists.reorder(lst.name, [pid for pid in ordered if pid in set(lst.paper_ids)])
    return steps


def sync_lists_rdf(settings: Settings, lists: ReadingLists) -> str | None:
    """Mirror the lists into the RDF store (:func:`kg.rdf.lists.write_rdf`); returns
    None, or a message saying why the RDF copy could not be updated (the JSON file, the
    lists' home, is saved either way)."""
    from kg.rdf.lists import write_rdf
    from kg.rdf.stores import open_graph

    if not settings.sparql_query_url and not Path(settings.rdf_path).is_dir():
        return "No RDF store yet (run `litkg build`); the lists are saved on disk."
    try:
        dataset = open_graph(settings, writable=True)
    except KGError as exc:
        return f"The lists are saved on disk, but the RDF copy was not updated: {exc}"
    try:
        write_rdf(lists.all(), dataset)
    except KGError as exc:
        return f"The lists are saved on disk, but the RDF copy was not updated: {exc}"
    finally:
        dataset.close()
    return None


# --------------------------------------------------------------------------- status
@dataclass(frozen=True)
class StatusView:
    readiness: Readiness
    data_dir: str
    corpus: CorpusStatus | None
    manifest: Mapping[str, Any] | None
    stale: bool  # an ingest finished after the last build
    #: Who is writing the data dir now (an ingest, build or import-list), or None.
    writing: str | None = None
    unresolved: list[SeedRow] = field(default_factory=list)
    low_confidence: list[SeedRow] = field(default_factory=list)
    provenance: list[tuple[str, str | None, int, str | None]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    error: str | None = None
    weights: WeightsStatus | None = None
    #: Where the corpus's data comes from and how fresh it is (:func:`describe_origin`).
    origin: str | None = None


def describe_origin(
    corpus: CorpusStatus,
    provenance: Sequence[tuple[str, str | None, int, str | None]],
    *,
    starter: int = 0,
) -> str | None:
    """One sentence on where the corpus's papers come from and how fresh they are.

    Derived from the store: papers fetched from Semantic Scholar (and when last),
    local-only papers by the source that listed them (and whether they were kept
    offline), and what to do to get citations. ``starter``: how many papers the bundled
    starter snapshot brought (:func:`kg.portable.starter.starter_papers`); while the corpus has no
    Semantic Scholar paper, they are named as such. None for an empty corpus.
    """
    if corpus.papers == 0:
        return None
    if starter and not corpus.papers_full:
        text = f"starter snapshot: {starter:,} papers, text only"
        if corpus.papers > starter:
            text += f" (and {corpus.papers - starter:,} local papers of yours)"
        return f"{text}; connect to Semantic Scholar and press Refresh for citations"
    parts: list[str] = []
    if corpus.papers_full:
        when = _when(corpus.last_fetch)
        parts.append(
            f"{corpus.papers_full:,} papers from Semantic Scholar"
            + (f" (last fetched {when})" if when else "")
        )
    local = [(src or "a local file", n) for kind, src, n, _ in provenance if kind == "local" and n]
    if local:
        total = sum(n for _, n in local)
        sources = ", ".join(f"{n:,} from {src}" if len(local) > 1 else src for src, n in local)
        offline = " (kept offline)" if corpus.seeds_offline else ""
        parts.append(
            f"{total:,} local papers from {sources}, not yet resolved on Semantic Scholar{offline}"
        )
    text = "; ".join(parts) or f"{corpus.papers:,} papers known by id only"
    if local and not corpus.papers_full:
        return (
            f"{text}: text only, no citations yet. Connect to Semantic Scholar and press "
            "Refresh (Status page) for abstracts and citations."
        )
    if local:
        return f"{text}. Connect to Semantic Scholar and press Refresh to resolve them."
    return f"{text}."


def _when(stamp: str | None) -> str | None:
    """``2026-12-06 08:47 UTC`` for a stored ISO time (the text as is if it is not one)."""
    if not stamp:
        return None
    m = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})", stamp)
    return f"{m.group(1)} {m.group(2)} UTC" if m else stamp


def data_origin(settings: Settings) -> str | None:
    """:func:`describe_origin` of the corpus under ``settings`` (None without a readable one)."""
    from kg.portable.starter import starter_papers
    from kg.store.corpus import CorpusStore

    if not settings.corpus_path.is_file():
        return None
    try:
        with CorpusStore(settings.corpus_path, create=False) as store:
            return describe_origin(
                store.status(),
                store.provenance(),
                starter=starter_papers(store.snapshot_imports()),
            )
    except KGError:
        return None


def status(settings: Settings) -> StatusView:
    """Data freshness and the last ingest (never raises for missing or broken data: the
    message is in ``readiness`` or ``error``)."""
    from kg.build import MANIFEST, weights_status
    from kg.store.corpus import LOW_CONFIDENCE, UNRESOLVED, CorpusStore

    ready = readiness(settings)
    corpus = None
    manifest = None
    unresolved: list[SeedRow] = []
    low: list[SeedRow] = []
    prov: list[tuple[str, str | None, int, str | None]] = []
    starter = 0
    sources: list[str] = []
    error = None
    if settings.corpus_path.is_file():
        try:
            with CorpusStore(settings.corpus_path, create=False) as store:
                corpus = store.status()
                seeds = store.seeds()
                prov = store.provenance()
                from kg.portable.starter import starter_papers

                starter = starter_papers(store.snapshot_imports())
        except KGError as exc:
            error = str(exc)
        else:
            unresolved = [s for s in seeds if s.status == UNRESOLVED]
            low = [s for s in seeds if s.status == LOW_CONFIDENCE]
            summary = ((corpus.last_run or {}).get("summary") or {}) if corpus else {}
            sources = [str(s) for s in summary.get("sources") or []]
    path = settings.graph_dir / MANIFEST
    if path.is_file():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
    stale = False
    if corpus is not None and manifest is not None:
        finished = (corpus.last_run or {}).get("finished_at")
        used = manifest.get("last_ingest") or manifest.get("built_at") or ""
        stale = bool(finished) and str(finished) > str(used)
    from kg.core.fileio import lock_holder

    return StatusView(
        readiness=ready,
        data_dir=str(settings.data_dir),
        corpus=corpus,
        manifest=manifest,
        stale=stale,
        writing=lock_holder(settings.data_dir),
        unresolved=unresolved,
        low_confidence=low,
        provenance=prov,
        sources=sources,
        error=error,
        weights=weights_status(settings) if manifest is not None else None,
        origin=describe_origin(corpus, prov, starter=starter) if corpus is not None else None,
    )


def paper_choices(ex: Explorer, ids: Iterable[str]) -> dict[str, str]:
    """``paper_id -> "Surname Year - Title"`` for selection widgets."""
    out = {}
    for pid in ids:
        p = ex.paper(pid)
        out[pid] = p.short_label() if p is not None else ex.title(pid)
    return out


__all__ = [
    "EGO_MAX_NODES",
    "NO_TOPIC",
    "OTHER",
    "SCOPES",
    "SEARCH_FIELDS",
    "SNIPPET_CHARS",
    "SORTS",
    "Download",
    "EgoView",
    "ExploreError",
    "Explorer",
    "Facets",
    "ImportOutcome",
    "Linked",
    "Overview",
    "PaperView",
    "ReadNext",
    "Readiness",
    "SearchFilters",
    "SearchResult",
    "SeedPick",
    "SparqlAnswer",
    "StatusView",
    "TopicDetail",
    "TopicNode",
    "authors_text",
    "data_origin",
    "describe_origin",
    "ego_view",
    "export_all",
    "export_list",
    "import_into_list",
    "list_papers",
    "list_view",
    "order_as_path",
    "overview",
    "paper_choices",
    "paper_links",
    "paper_view",
    "query_embedder",
    "read_next",
    "readiness",
    "run_sparql",
    "safe_url",
    "search",
    "seed_picks",
    "snippet",
    "status",
    "sync_lists_rdf",
    "topic_detail",
    "topic_tree",
]
