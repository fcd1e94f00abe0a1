"""What to read next: recommendations from a read set, with reasons; reading paths.

:func:`recommend` takes the papers a reader has read or liked (any id form: S2 id,
``ARXIV:``, ``DOI:``, ``CorpusId:``, arXiv/DOI/S2 URLs, or a unique title prefix),
optionally papers they disliked, filters and ``k``, and returns
:class:`~kg.core.model.Recommendation` objects whose ``reasons`` say in plain words, with
numbers, why each paper is there.

Every paper of the graph that is not read is a candidate (preprint/published twins are
one item: the graph folds them via ``same_as``, and two items with the same title are
folded too), and every signal is computed for all candidates at once with sparse
matrix-vector products and one dense matrix product:

==============  ==========================================================================
signal          what (for candidate ``c`` and read set ``R``)
==============  ==========================================================================
``cited_by``    how many papers of ``R`` cite ``c``
``cites``       how many papers of ``R`` ``c`` cites
``cocitation``  co-citation with ``R``, summed over ``R``: Salton-normalised, each citing
                paper weighted 1 / log(2 + its reference count) (Adamic/Adar: a survey
                citing 300 papers says less about any two of them than a short list)
``coupling``    bibliographic coupling with ``R`` (the same two normalisations)
``ppr``         personalised PageRank restarting at ``R``, on the undirected citation graph
``text``        MiniLM cosine to ``R`` (the mean over ``R``); where
                ``c`` and a read paper both have SPECTER2 vectors, averaged with SPECTER2's
``lexical``     tf-idf cosine of title + abstract words and adjacent word pairs (plurals
                folded, stop words dropped) to ``R``, the mean over ``R``: exact terms
                ("sparse autoencoder") that a dense vector blurs
``topic``       cosine of idf-weighted topic memberships (scores) with ``R``'s profile
``influence``   ``log(1 + centrality)``: PageRank within this graph (mean 1), so a paper
                central to the reader's neighbourhood counts, not one the world cites for
                other reasons (a prior)
``recency``     ``0.5 ** (years before the newest candidate / 4)`` (a prior)
``s2``          Semantic Scholar's own recommendations for ``R`` where the caller asked
                for them (``external``: paper id -> score by S2's rank); 0 without them,
                so offline its absence changes nothing
==============  ==========================================================================

Each signal is scaled to 0..1 over the candidates (divided by its maximum; the text
similarity first has its median subtracted, so the bulk of unrelated papers sits at 0;
most papers share no term with ``R``, so lexical needs no such floor).
The fused score (:func:`fuse`) is the weighted evidence ``E`` (every signal but the
:data:`PRIORS`) raised by the weighted priors ``Q``: ``E * (1 + Q)`` (weights sum to 1),
so a paper with no link or closeness to ``R`` scores 0 however cited or recent, and every
recommendation names its evidence among its reasons. Disliked papers subtract
:data:`DISLIKE_WEIGHT` times a candidate's closeness to them (the larger of text
similarity and co-citation/coupling, scaled the same way). The weights are fitted on the
graph's own curated lists at build time (:func:`kg.recommend.evaluate.auto_tune`: seed-page
sections, keywords, reading lists) and stored with it only when they beat
:data:`DEFAULT_WEIGHTS` on held-out lists beyond the noise; the defaults come from the
curated-list benchmark (see there and ``tests/bench/RESULTS.md``). Diversity: maximal
marginal relevance over the fused score with MiniLM similarity (``diversity`` = 0 turns
it off); two items with the same title are one.

Everything that does not depend on the query (alias table, embedding rows per graph node,
topic matrix, lexical index, priors, the walk matrix) is computed once per
:class:`KnowledgeGraph` and kept with it (:meth:`RecommendIndex.of`).
"""

from __future__ import annotations

import difflib
import math
import re
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from kg.core.errors import RecommendError, UnknownPaperError
from kg.core.model import Paper, Recommendation
from kg.text.lexical import (
    LEXICAL_MAX_SHARE,
    LexicalIndex,
    _LexicalTexts,
)

if TYPE_CHECKING:
    from kg.graph.knowledge import KnowledgeGraph

#: The signals, in the order of :func:`signal_matrix` columns.
SIGNALS: tuple[str, ...] = (
    "cited_by",
    "cites",
    "cocitation",
    "coupling",
    "ppr",
    "text",
    "lexical",
    "topic",
    "influence",
    "recency",
    "s2",
)

#: Signals that say how good a paper is in general rather than how close it is to the read
#: set: they raise a candidate's evidence (:func:`fuse`) and never rank a paper alone.
PRIORS: tuple[str, ...] = ("influence", "recency")

#: Fusion weights used when the graph has no fitted ones (``litkg build`` fits them on the
#: graph's own curated lists, :func:`kg.recommend.evaluate.auto_tune`, and keeps them only when they
#: beat these beyond the noise). These come from the curated-list benchmark
#: (``tests/bench/bench_lists.py --refit``, see tests/bench/RESULTS.md): coordinate ascent
#: on nDCG@10 pooled over the TUNING half of the multi-list protocols (seed-page sections,
#: the MI review library's keywords, llm-papers' interpretability tags; each protocol at
#: each depth counting the same), on the seed page's neighbourhood at depth 1 and 2 of the
#: field-sized S2 test world (real records, SYNTHETIC edges), real MiniLM vectors. Every
#: figure reported is on the held-out lists. ``dislike`` is not tuned (no evaluation has
#: dislikes); ``s2`` is set per query (:func:`resolve_weights`).
DEFAULT_WEIGHTS: dict[str, float] = {
    "cited_by": 0.0,
    "cites": 0.048,
    "cocitation": 0.063,
    "coupling": 0.048,
    "ppr": 0.048,
    "text": 0.159,
    "lexical": 0.159,
    "topic": 0.0,
    "influence": 0.317,
    "recency": 0.159,
    "s2": 0.0,
}
#: How hard closeness to a disliked paper pushes a candidate down (fused scores are 0..1).
DISLIKE_WEIGHT = 0.5
#: Default MMR trade-off: 0 = pure relevance, 1 = pure novelty.
DEFAULT_DIVERSITY = 0.3

# Signal shapes (chosen on the evaluation, see kg.evaluate and RESULTS.md).
PPR_ALPHA = 0.5  # continue-probability of the walk (restart 0.5: stays near the read set)
PPR_TOL = 1e-6
PPR_MAX_ITER = 50
CENTRALITY_ALPHA = 0.85
CENTRALITY_MAX_ITER = 100
#: text = share * max cosine + (1 - share) * mean cosine over R. The mean (the cosine to
#: R's summed vector) beat 0.25 and 0.5 on the tag/keyword evaluations (RESULTS.md).
TEXT_MAX_SHARE = 0.0
RECENCY_HALF_LIFE = 4.0  # years
#: MMR picks from the top max(MMR_POOL, 2 * k) by fused score: a pool that does not
#: depend on k (below MMR_POOL / 2), so the first 20 of k = 50 are the k = 20 list.
MMR_POOL = 300

_SURVEY = re.compile(r"\b(survey|surveys|review|reviews)\b", re.IGNORECASE)
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$", re.IGNORECASE)
_ARXIV_OLD = re.compile(r"^([a-z\-]+(?:\.[a-z]{2})?/\d{7})(v\d+)?$", re.IGNORECASE)
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/([^?#]+?)(?:\.pdf)?/?(?:[?#].*)?$", re.IGNORECASE)
_DOI_URL = re.compile(r"(?:dx\.)?doi\.org/(10\.[^?#\s]+)", re.IGNORECASE)
_S2_URL = re.compile(r"semanticscholar\.org/paper/(?:[^/]+/)?([0-9a-fA-F]{40})")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_MIN_PREFIX = 4
_ID_KINDS = ("arxiv:", "doi:", "corpusid:", "mag:", "acl:", "dblp:", "pubmed")
#: Sparse matrices and graph vectors are float32: half the memory traffic of float64 in
#: the matrix-vector products that dominate a query (counts stay exact below 2**24).
_F = np.float32


# --------------------------------------------------------------------------- boundary types
@dataclass(frozen=True)
class Filters:
    """Which candidates may be recommended. ``topics``: topic ids or labels (any of them;
    narrower topics count); ``venue``: a case-insensitive substring of venue or journal;
    papers of unknown year fail a year bound."""

    year_from: int | None = None
    year_to: int | None = None
    topics: tuple[str, ...] = ()
    venue: str | None = None
    exclude_surveys: bool = False
    open_access_only: bool = False

    def active(self) -> bool:
        return bool(
            self.year_from is not None
            or self.year_to is not None
            or self.topics
            or self.venue
            or self.exclude_surveys
            or self.open_access_only
        )


@dataclass(frozen=True)
class PathStep:
    """One paper of a reading path: 1-based ``position`` and why it is there."""

    paper_id: str
    position: int
    reason: str


@dataclass(frozen=True)
class RecommendationResult:
    """:func:`recommend_detailed`'s answer: the recommendations, each one's scaled signal
    values (0..1) and the weights used, the resolved read and disliked sets, how many
    candidates passed the filters, and the wall time."""

    recommendations: tuple[Recommendation, ...]
    signals: Mapping[str, Mapping[str, float]]
    weights: Mapping[str, float]
    read: tuple[str, ...]
    disliked: tuple[str, ...]
    candidates: int
    seconds: float


# --------------------------------------------------------------------------- helpers
def short_label(paper: Paper | None, fallback: str = "?") -> str:
    """``Surname Year`` or ``Surname et al. Year`` (a cut title when there are no authors)."""
    if paper is None:
        return fallback
    year = str(paper.year) if paper.year else "n.d."
    if paper.authors and paper.authors[0].name.split():
        surname = paper.authors[0].name.split()[-1]
        who = surname + (" et al." if len(paper.authors) > 1 else "")
        return f"{who} {year}"
    title = paper.title
    if len(title) > 40:
        title = title[:38].rsplit(" ", 1)[0].rstrip(" ,;:-") + "..."
    return f'"{title}" {year}'


def _names(labels: Sequence[str], limit: int = 3, *, conj: bool = False) -> str:
    """``A, B, C and 2 more``; with ``conj`` two or three names end in ``and`` (``A and B``)."""
    if len(labels) > limit:
        return ", ".join(labels[:limit]) + f" and {len(labels) - limit} more"
    if conj and len(labels) > 1:
        return ", ".join(labels[:-1]) + " and " + labels[-1]
    return ", ".join(labels)


def title_key(title: str) -> str:
    """Lower-case words of a title joined by single spaces (for prefix and duplicate checks)."""
    return " ".join(_NON_WORD.sub(" ", title.lower()).split())


def _normalise_ref(ref: str) -> str:
    """An id as typed -> the key of the alias table (lower case, ``kind:value``)."""
    raw = ref.strip()
    m = _S2_URL.search(raw)
    if m:
        return m.group(1).lower()
    m = _ARXIV_URL.search(raw)
    if m:
        raw = "arxiv:" + m.group(1)
    m = _DOI_URL.search(raw)
    if m:
        raw = "doi:" + m.group(1)
    low = raw.lower()
    kind, sep, value = low.partition(":")
    if sep and kind in ("arxiv", "arxivid"):
        value = value.strip()
        for pat in (_ARXIV_NEW, _ARXIV_OLD):
            am = pat.match(value)
            if am:
                value = am.group(1)
        return "arxiv:" + value
    if sep and kind in ("doi", "corpusid", "mag", "acl", "dblp", "pubmed", "pubmedcentral"):
        return f"{kind}:{value.strip()}"
    if _ARXIV_NEW.match(low):
        return "arxiv:" + _ARXIV_NEW.match(low).group(1)  # type: ignore[union-attr]
    if low.startswith("10.") and "/" in low:
        return "doi:" + low
    return low


# --------------------------------------------------------------------------- graph views
class GraphView:
    """The citation matrices one query is scored on: the whole graph, or (for the
    evaluation) a graph with some papers' edges removed. ``A[i, j] = 1``: ``i`` cites ``j``."""

    def __init__(self, a: sp.csr_matrix) -> None:
        self.A: sp.csr_matrix = sp.csr_matrix(a, dtype=_F)
        self.AT: sp.csr_matrix = self.A.T.tocsr()
        self.indeg = np.diff(self.AT.indptr).astype(_F)
        self.outdeg = np.diff(self.A.indptr).astype(_F)
        self.inv_in = _inv_sqrt(self.indeg)
        self.inv_out = _inv_sqrt(self.outdeg)
        #: Adamic/Adar: a shared neighbour with many links says less (1 / log(2 + degree)):
        #: a survey citing 300 papers co-cites them all, a paper citing 12 means it.
        self.aa_out = (1.0 / np.log(2.0 + self.outdeg)).astype(_F)
        self.aa_in = (1.0 / np.log(2.0 + self.indeg)).astype(_F)
        self._walk: sp.csr_matrix | None = None
        self._dangling: np.ndarray | None = None
        self._centrality: np.ndarray | None = None

    def masked(self, keep: np.ndarray) -> GraphView:
        """The view without any edge that starts or ends at a paper outside ``keep``."""
        d = sp.diags(keep.astype(_F))
        return GraphView((d @ self.A @ d).tocsr())

    def walk(self) -> tuple[sp.csr_matrix, np.ndarray]:
        """Column-stochastic matrix of the undirected citation walk, and the dangling mask."""
        if self._walk is None:
            s = (self.A + self.AT).tocsr()
            deg = np.asarray(s.sum(axis=0)).ravel()
            inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
            self._walk = (s @ sp.diags(inv)).tocsr().astype(_F)
            self._dangling = deg == 0
        assert self._dangling is not None
        return self._walk, self._dangling

    def centrality(self) -> np.ndarray:
        """PageRank within this graph (a citation passes rank to the cited paper; dangling
        papers spread theirs uniformly), scaled so the mean is 1: how central a paper is
        to the pool, whatever the world outside cites it (computed once)."""
        if self._centrality is None:
            n = self.A.shape[0]
            x = np.full(n, 1.0 / max(n, 1), dtype=np.float64)
            if n:
                out = self.outdeg.astype(np.float64)
                dangling = out == 0
                inv = np.divide(1.0, out, out=np.zeros_like(out), where=~dangling)
                walk = (sp.diags(inv) @ self.A).T.tocsr()
                for _ in range(CENTRALITY_MAX_ITER):
                    last = x
                    x = (
                        CENTRALITY_ALPHA * (walk @ last + last[dangling].sum() / n)
                        + (1.0 - CENTRALITY_ALPHA) / n
                    )
                    if np.abs(x - last).sum() < PPR_TOL:
                        break
            self._centrality = np.asarray(x * n)
        return self._centrality

    def ppr(self, read: np.ndarray, alpha: float = PPR_ALPHA) -> np.ndarray:
        """Personalised PageRank restarting uniformly at ``read`` (power iteration)."""
        m, dangling = self.walk()
        n = m.shape[0]
        p = np.zeros(n, dtype=_F)
        if read.size == 0:
            return p
        p[read] = 1.0 / read.size
        x = p.copy()
        for _ in range(PPR_MAX_ITER):
            last = x
            x = alpha * (m @ last + last[dangling].sum() * p) + (1.0 - alpha) * p
            if np.abs(x - last).sum() < PPR_TOL:
                break
        return np.asarray(x)


def _inv_sqrt(deg: np.ndarray) -> np.ndarray:
    return np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0).astype(_F)


# --------------------------------------------------------------------------- the index
_CACHE_ATTR = "_litkg_recommend_index"


class RecommendIndex:
    """What the recommender needs of a :class:`KnowledgeGraph`, computed once.

    Arrays are aligned with the citation graph's nodes (``kg.graph.citations.ids``): twins are
    folded there, so one node is one item. Use :meth:`of` (cached on the graph object).
    """

    def __init__(self, kg: KnowledgeGraph) -> None:
        g = kg.graph
        self.ids: list[str] = list(g.ids)
        self.pos: dict[str, int] = dict(g.index)
        self.canon = g.canon
        n = self.n = len(self.ids)
        self.embeddings = np.asarray(kg.embeddings, dtype=np.float32)
        self.specter = np.asarray(kg.specter, dtype=np.float32)
        self.paper: list[Paper | None] = [None] * n
        self.emb_row = np.full(n, -1, dtype=np.int64)
        self.spec_row = np.full(n, -1, dtype=np.int64)
        review = np.zeros(n, dtype=bool)
        oa = np.zeros(n, dtype=bool)
        venues: list[list[str]] = [[] for _ in range(n)]
        self.aliases: dict[str, int] = {}
        for pid, paper in kg.papers.items():
            j = self.pos.get(g.canon(pid))
            if j is None:
                continue
            own = pid == self.ids[j]
            if self.paper[j] is None or own:
                self.paper[j] = paper
            row = kg.row.get(pid)
            if row is not None and (self.emb_row[j] < 0 or own):
                self.emb_row[j] = row
            srow = kg.specter_row.get(pid)
            if srow is not None and (self.spec_row[j] < 0 or own):
                self.spec_row[j] = srow
            review[j] |= "Review" in paper.publication_types or bool(_SURVEY.search(paper.title))
            oa[j] |= bool(paper.is_open_access) or bool(paper.open_access_pdf)
            venues[j] += [v.lower() for v in (paper.venue, paper.journal) if v]
            self.aliases[pid.lower()] = j
            for key, value in paper.external_ids.items():
                self.aliases[_normalise_ref(f"{key}:{value}")] = j
        for alias, canonical in g.canonical.items():
            if canonical in self.pos:
                self.aliases.setdefault(alias.lower(), self.pos[canonical])
        self.recommendable = np.array([p is not None for p in self.paper], dtype=bool)
        #: Embedding row j is node j for every node (no gather needed).
        self.emb_identity = bool(
            self.embeddings.ndim == 2
            and self.embeddings.shape[0] == n
            and np.array_equal(self.emb_row, np.arange(n))
        )
        self.review = review
        self.open_access = oa
        self.venue = ["|".join(v) for v in venues]
        self._venue_masks: dict[str, np.ndarray] = {}
        nodes = g.graph.nodes
        year = np.full(n, np.nan)
        cites = np.full(n, -1, dtype=np.int64)
        for j, pid in enumerate(self.ids):
            attrs = nodes[pid]
            y = attrs.get("year")
            if y is not None:
                year[j] = float(y)
            c = attrs.get("citation_count")
            if c is not None:
                cites[j] = int(c)
        self.year = year
        self.citation_count = cites
        self.title_key = [title_key(p.title) if p is not None else "" for p in self.paper]
        self.titles = sorted((t, j) for j, t in enumerate(self.title_key) if t)
        by_title: dict[str, list[int]] = {}
        for t, j in self.titles:
            if len(t) >= 10:
                by_title.setdefault(t, []).append(j)
        #: Nodes that share a title with another node (unfolded twins), by title.
        self.same_title = {t: js for t, js in by_title.items() if len(js) > 1}
        self._title_words = [t for t, _ in self.titles]
        self._build_topics(kg)
        saved = getattr(kg, "lexical", None)  # kept with the built graph (kg.build)
        if isinstance(saved, LexicalIndex) and saved.X.shape[0] == n and kg.lexical_ids == self.ids:
            self.lexical = saved
        else:
            self.lexical = LexicalIndex(_LexicalTexts(self.paper))
        self.view = GraphView(g.A)
        self.signature = _signature(kg)

    def _build_topics(self, kg: KnowledgeGraph) -> None:
        topics = kg.topics
        self.topic_ids: list[str] = [t.topic_id for t in topics.topics]
        tindex = {t: i for i, t in enumerate(self.topic_ids)}
        self.topic_label = {t.topic_id: t.label for t in topics.topics}
        self.topic_broader = {t.topic_id: t.broader for t in topics.topics}
        parents = {b for b in self.topic_broader.values() if b}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for m in topics.memberships:
            j = self.pos.get(self.canon(m.paper_id))
            if j is None:
                continue
            t = tindex.get(m.topic_id)
            if t is None:
                t = tindex[m.topic_id] = len(self.topic_ids)
                self.topic_ids.append(m.topic_id)
                self.topic_label[m.topic_id] = m.topic_id
            rows.append(j)
            cols.append(t)
            vals.append(float(m.score))
        shape = (self.n, len(self.topic_ids))
        member = sp.csr_matrix((vals, (rows, cols)), shape=shape)
        member.sum_duplicates()
        member.data = np.minimum(member.data, 1.0)  # twins' memberships: keep one score
        self.members = member
        items = max(1, int(self.recommendable.sum()))
        size = np.diff(member.tocsc().indptr).astype(np.float64)
        self.topic_share = size / items
        idf = np.log((items + 1) / (size + 1))
        weighted = (member @ sp.diags(idf)).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        self.topic_vectors = (sp.diags(_safe_inv(norms)) @ weighted).tocsr()
        #: Columns of topics that have narrower ones (a section such as "Papers"): too broad
        #: to name as a reason.
        self.topic_containers = {i for i, t in enumerate(self.topic_ids) if t in parents}
        #: Curated top sections with sub-sections (the page's "Papers"): never a reason.
        scheme = {t.topic_id: t.scheme for t in topics.topics}
        self.topic_skip = {
            i
            for i in self.topic_containers
            if scheme.get(self.topic_ids[i]) == "curated"
            and not self.topic_broader.get(self.topic_ids[i])
        }

    @classmethod
    def of(cls, kg: KnowledgeGraph) -> RecommendIndex:
        """The index of ``kg``, built on first use and kept on the object."""
        cached = vars(kg).get(_CACHE_ATTR)
        if isinstance(cached, RecommendIndex) and cached.signature == _signature(kg):
            return cached
        index = cls(kg)
        vars(kg)[_CACHE_ATTR] = index
        return index

    # ---------------------------------------------------------------- resolving ids
    def resolve(self, refs: Iterable[str], *, what: str = "paper") -> list[int]:
        """Node numbers of ``refs`` (duplicates and twins once, in order); every unknown or
        ambiguous one is named in one :class:`UnknownPaperError`, with suggestions."""
        out: list[int] = []
        unknown: dict[str, list[str]] = {}
        ambiguous: dict[str, list[str]] = {}
        for ref in refs:
            if not ref or not ref.strip():
                continue
            found = self._lookup(ref)
            if isinstance(found, int):
                if found not in out:
                    out.append(found)
            elif found:
                ambiguous[ref] = found
            else:
                unknown[ref] = self.suggest(ref)
        if unknown or ambiguous:
            parts = []
            for ref, sugg in unknown.items():
                hint = f" (did you mean {' or '.join(sugg)}?)" if sugg else ""
                parts.append(f"{ref!r}{hint}")
            msg = ""
            if parts:
                msg = (
                    f"Unknown {what}{'s' if len(parts) > 1 else ''}: {'; '.join(parts)}. "
                    "Give an S2 paper id, ARXIV:<id>, DOI:<doi>, CorpusId:<n>, an arXiv URL or "
                    "a unique title prefix; papers not in the graph can be added with "
                    "`litkg ingest` and `litkg build`."
                )
            for ref, matches in ambiguous.items():
                msg += (
                    f"{' ' if msg else ''}{ref!r} matches {len(matches)} titles "
                    f"({'; '.join(matches[:4])}{'; ...' if len(matches) > 4 else ''}): "
                    "type more of the title, or give an id."
                )
            raise UnknownPaperError(msg, {**unknown, **{k: v[:4] for k, v in ambiguous.items()}})
        return out

    def _lookup(self, ref: str) -> int | list[str] | None:
        key = _normalise_ref(ref)
        j = self.aliases.get(key)
        if j is None and _HEX40.match(key):
            j = self.pos.get(self.canon(key))
        if j is not None:
            return j
        if key.startswith("arxiv:"):
            j = self.aliases.get(re.sub(r"v\d+$", "", key))
            if j is not None:
                return j
        prefix = title_key(ref)
        if len(prefix) < _MIN_PREFIX:
            return None
        lo = bisect_left(self._title_words, prefix)
        hits: dict[int, str] = {}
        for t, jj in self.titles[lo:]:
            if not t.startswith(prefix):
                break
            if t == prefix:
                return jj
            hits.setdefault(jj, t)
            if len(hits) > 20:
                break
        if len(hits) == 1:
            return next(iter(hits))
        if hits:
            return [f'"{self._title(jj)}" [{self.ids[jj]}]' for jj in hits]
        return None

    def _title(self, j: int) -> str:
        p = self.paper[j]
        return p.title if p is not None else self.ids[j]

    def suggest(self, ref: str, n: int = 3) -> list[str]:
        """Close titles (or ids) for an unknown reference, as ``"Title" [id]``: titles that
        contain it, then titles (or their beginnings) close to it, then close ids."""
        key = title_key(ref)
        found: list[int] = []
        if len(key) >= 3 and not _normalise_ref(ref).startswith(_ID_KINDS):
            for t, j in self.titles:
                if key in t and j not in found:
                    found.append(j)
                    if len(found) >= n:
                        break
        words = {w for w in key.split() if len(w) >= 3}
        if len(found) < n and words:
            pool: dict[str, int] = {}
            for t, j in self.titles:
                if words & set(t.split()):
                    pool.setdefault(t, j)
                    pool.setdefault(t[: len(key) + 3].rstrip(), j)  # a typo in a prefix
            for match in difflib.get_close_matches(key, list(pool), n=2 * n, cutoff=0.6):
                if pool[match] not in found:
                    found.append(pool[match])
        out = [f'"{self._title(j)}" [{self.ids[j]}]' for j in found[:n]]
        if not out:
            norm = _normalise_ref(ref)
            kind = norm.partition(":")[0] + ":" if ":" in norm else ""
            same_kind = [a for a in self.aliases if a.startswith(kind)] if kind else []
            for alias in difflib.get_close_matches(norm, same_kind, n=n, cutoff=0.9):
                out.append(f'{alias} ("{self._title(self.aliases[alias])}")')
        return out

    def venue_mask(self, venue: str) -> np.ndarray:
        """Nodes whose venue or journal contains ``venue`` (case-insensitive); the last
        few masks are kept, so paging through one venue does not rescan every title."""
        needle = venue.strip().lower()
        mask = self._venue_masks.get(needle)
        if mask is None:
            mask = np.fromiter((needle in v for v in self.venue), dtype=bool, count=self.n)
            if len(self._venue_masks) >= 16:
                self._venue_masks.pop(next(iter(self._venue_masks)))
            self._venue_masks[needle] = mask
        return mask

    def title_twins(self, nodes: Iterable[int]) -> list[int]:
        """Other nodes with the same (10+ character) title as one of ``nodes``."""
        out: list[int] = []
        for j in nodes:
            out += self.same_title.get(self.title_key[int(j)], [])
        return out

    def label(self, j: int) -> str:
        return short_label(self.paper[j], self.ids[j][:12])

    # ---------------------------------------------------------------- topics
    def topic_columns(self, spec: str) -> list[int]:
        """Columns of a topic given by id or label (case-insensitive), narrower ones too."""
        low = spec.strip().lower()
        hits = [t for t in self.topic_ids if t.lower() == low]
        hits = hits or [t for t, label in self.topic_label.items() if label.lower() == low]
        hits = hits or [t for t in self.topic_ids if t.lower().endswith("/" + low)]
        if not hits:
            names = sorted(set(self.topic_label.values()))
            close = difflib.get_close_matches(spec, names, n=3, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise RecommendError(
                f"Unknown topic {spec!r}.{hint} Give a topic id or label as shown by "
                "`litkg topics` (the graph has "
                f"{len(self.topic_ids)} topics)."
            )
        wanted = set(hits)
        grew = True
        while grew:  # narrower topics belong to the broader one
            more = {t for t, b in self.topic_broader.items() if b in wanted} - wanted
            grew = bool(more)
            wanted |= more
        index = {t: i for i, t in enumerate(self.topic_ids)}
        return sorted(index[t] for t in wanted)


def _signature(kg: KnowledgeGraph) -> tuple[int, ...]:
    return (id(kg.graph), len(kg.graph), id(kg.embeddings), len(kg.papers), id(kg.topics))


def _safe_inv(x: np.ndarray) -> np.ndarray:
    return np.divide(1.0, x, out=np.zeros_like(x, dtype=np.float64), where=x > 0)


# --------------------------------------------------------------------------- signals
@dataclass
class Signals:
    """Raw per-node signal values for one read set (arrays of length ``index.n``), plus
    what the reasons need: MiniLM cosines per embedding row to the read papers that have a
    vector (``text_sims``, rows x ``text_read``, positions in ``read``) and tf-idf cosines
    per node to the read papers that have terms (``lexical_sims``, ``lexical_read``)."""

    raw: dict[str, np.ndarray]
    read: np.ndarray
    text_sims: np.ndarray | None = None
    text_read: np.ndarray | None = None
    lexical_sims: np.ndarray | None = None
    lexical_read: np.ndarray | None = None

    def text_by_read(self, index: RecommendIndex, j: int) -> np.ndarray:
        """Cosine of node ``j`` to each read paper (NaN where either has no vector)."""
        out = np.full(self.read.size, np.nan)
        row = int(index.emb_row[j])
        if self.text_sims is not None and self.text_read is not None and row >= 0:
            out[self.text_read] = self.text_sims[row]
        return out


def raw_signals(
    index: RecommendIndex,
    read: np.ndarray,
    view: GraphView | None = None,
    *,
    disliked: np.ndarray | None = None,
    external: Mapping[str, float] | None = None,
) -> Signals:
    """Every signal for every node, for the read set ``read`` (node numbers). With
    ``disliked``, also ``dislike_text``, ``dislike_cocitation`` and ``dislike_coupling``
    (closeness to them), computed in the same passes over the matrices. ``external``:
    S2's recommendations (paper id -> score in 0..1) for the ``s2`` signal."""
    view = view or index.view
    n = index.n
    dis = disliked if disliked is not None and disliked.size else None
    x = np.zeros((n, 1 if dis is None else 2), dtype=_F)
    x[read, 0] = 1.0
    if dis is not None:
        x[dis, 1] = 1.0
    inv_in, inv_out = view.inv_in[:, None], view.inv_out[:, None]
    aa_out, aa_in = view.aa_out[:, None], view.aa_in[:, None]
    coc = (view.AT @ (aa_out * (view.A @ (x * inv_in)))) * inv_in
    cpl = (view.A @ (aa_in * (view.AT @ (x * inv_out)))) * inv_out
    raw: dict[str, np.ndarray] = {}
    raw["cited_by"] = view.AT @ x[:, 0]
    raw["cites"] = view.A @ x[:, 0]
    raw["cocitation"] = coc[:, 0]
    raw["coupling"] = cpl[:, 0]
    raw["ppr"] = view.ppr(read)
    both = read if dis is None else np.concatenate([read, dis])
    sims, cols = _cosines(index.embeddings, index.emb_row, both)
    mine = cols < read.size
    raw["text"] = _blend(sims, cols, mine, index.emb_row, index.emb_identity)
    lex, lcols = index.lexical.similarities(read)
    raw["lexical"] = _blend_all(lex, index.n, LEXICAL_MAX_SHARE)
    spec, scols = _cosines(index.specter, index.spec_row, read)
    raw["specter"] = _blend(spec, scols, scols >= 0, index.spec_row, False)
    profile = np.asarray(index.topic_vectors[read].sum(axis=0)).ravel() / max(1, read.size)
    raw["topic"] = index.topic_vectors @ profile
    raw["influence"] = np.log1p(view.centrality())
    raw["recency"] = index.year.copy()
    s2 = np.zeros(n)
    for pid, value in (external or {}).items():
        j = index.pos.get(index.canon(pid))
        if j is not None and math.isfinite(value):
            s2[j] = max(s2[j], min(max(float(value), 0.0), 1.0))
    raw["s2"] = s2
    if dis is not None:
        raw["dislike_cocitation"] = coc[:, 1]
        raw["dislike_coupling"] = cpl[:, 1]
        raw["dislike_text"] = _blend(sims, cols, ~mine, index.emb_row, index.emb_identity, 1.0)
    read_sims = None if sims is None or mine.all() else sims[:, mine]
    return Signals(raw, read, read_sims if read_sims is not None else sims, cols[mine], lex, lcols)


def _blend_all(sims: np.ndarray | None, n: int, max_share: float = TEXT_MAX_SHARE) -> np.ndarray:
    """Per node: ``max_share`` * max + the rest * mean of its similarities (0 without any)."""
    if sims is None:
        return np.zeros(n)
    return np.asarray(max_share * sims.max(axis=1) + (1 - max_share) * sims.mean(axis=1))


def _cosines(
    vectors: np.ndarray, rows: np.ndarray, nodes: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray]:
    """(cosines of every vector row to the ``nodes`` that have a vector, their positions in
    ``nodes``): one dense product over all vectors."""
    cols = np.flatnonzero(rows[nodes] >= 0)
    if cols.size == 0 or vectors.size == 0:
        return None, cols
    return vectors @ vectors[rows[nodes[cols]]].T, cols


def _blend(
    sims: np.ndarray | None,
    cols: np.ndarray,
    use: np.ndarray,
    rows: np.ndarray,
    identity: bool,
    max_share: float = TEXT_MAX_SHARE,
) -> np.ndarray:
    """Per node: ``max_share`` * max + the rest * mean of the cosines in columns ``use``;
    NaN where the node has no vector (``identity``: vector row ``j`` is node ``j``)."""
    out = np.full(rows.size, np.nan)
    if sims is None or not use.any():
        return out
    part = sims if use.all() else sims[:, use]
    blend = max_share * part.max(axis=1) + (1 - max_share) * part.mean(axis=1)
    if identity:
        out[: blend.size] = blend
    else:
        has = rows >= 0
        out[has] = blend[rows[has]]
    return out


def _scale_max(v: np.ndarray, cand: np.ndarray) -> np.ndarray:
    vals = np.nan_to_num(v, nan=0.0)
    top = float(vals[cand].max()) if cand.any() else 0.0
    if top <= 0:
        return np.zeros_like(vals)
    return np.clip(vals / top, 0.0, 1.0)


def _scale_floor(v: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(v - median) / (max - median) over candidates, clipped to 0..1; NaN -> 0."""
    ok = cand & ~np.isnan(v)
    if not ok.any():
        return np.zeros(v.size)
    vals = v[ok]
    floor = float(np.median(vals))
    top = float(vals.max())
    if top <= floor:
        return np.zeros(v.size)
    out = np.clip((np.nan_to_num(v, nan=floor) - floor) / (top - floor), 0.0, 1.0)
    return np.asarray(out)


def scaled_signals(sig: Signals, cand: np.ndarray) -> dict[str, np.ndarray]:
    """Each signal scaled to 0..1 over the candidates ``cand`` (a boolean mask)."""
    raw = sig.raw
    out = {name: _scale_max(raw[name], cand) for name in ("cited_by", "cites", "ppr")}
    out["cocitation"] = _scale_max(raw["cocitation"], cand)
    out["coupling"] = _scale_max(raw["coupling"], cand)
    text = _scale_floor(raw["text"], cand)
    spec = raw["specter"]
    if not np.isnan(spec).all():
        has = ~np.isnan(spec)
        text = np.where(has, 0.5 * (text + _scale_floor(spec, cand)), text)
    out["text"] = text
    out["lexical"] = _scale_max(raw["lexical"], cand)
    out["topic"] = _scale_max(raw["topic"], cand)
    out["influence"] = _scale_max(raw["influence"], cand)
    out["s2"] = np.clip(raw["s2"], 0.0, 1.0)  # scores by S2's rank already
    year = raw["recency"]
    known = cand & ~np.isnan(year)
    newest = float(year[known].max()) if known.any() else 0.0
    age = np.clip(newest - np.nan_to_num(year, nan=-1e9), 0, None)
    rec = np.power(0.5, age / RECENCY_HALF_LIFE)
    out["recency"] = np.where(np.isnan(year), 0.0, rec)
    return out


def signal_matrix(scaled: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """(len(rows), len(SIGNALS)) float32 matrix of the scaled signals at ``rows``."""
    return np.stack([scaled[s][rows] for s in SIGNALS], axis=1).astype(np.float32)


def resolve_weights(
    kg_weights: Mapping[str, float] | None,
    weights: Mapping[str, float] | None,
    *,
    with_s2: bool = False,
) -> dict[str, float]:
    """The graph's tuned weights (a complete set: a signal they do not name, e.g. one
    added since they were tuned, weighs 0) or else the defaults, overridden by
    ``weights``; normalised to sum 1. Unknown names in ``weights`` are an error.

    ``s2`` is never fitted (no offline evaluation has S2's recommender): with S2's
    recommendations at hand (``with_s2``) it weighs as much as the stronger content signal
    (S2's picks are content similarity from SPECTER), else 0, unless ``weights`` names it."""
    if weights:
        bad = sorted(set(weights) - set(SIGNALS))
        if bad:
            raise RecommendError(
                f"Unknown signal weight(s) {', '.join(bad)}; use {', '.join(SIGNALS)}."
            )
    tuned = {k: v for k, v in (kg_weights or {}).items() if k in SIGNALS}
    merged = {s: float(tuned.get(s, 0.0)) for s in SIGNALS} if tuned else dict(DEFAULT_WEIGHTS)
    merged["s2"] = max(merged["text"], merged["lexical"]) if with_s2 else 0.0
    for name, value in (weights or {}).items():
        merged[name] = float(value)
    if any(v < 0 or not math.isfinite(v) for v in merged.values()):
        raise RecommendError(f"Signal weights must be finite and >= 0, got {merged}.")
    total = sum(merged.values())
    if total <= 0:
        raise RecommendError("At least one signal weight must be > 0.")
    return {k: v / total for k, v in merged.items()}


def fuse(scaled: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The fused score: the weighted evidence (every signal but the :data:`PRIORS`), raised
    by up to the priors' weighted sum: ``E * (1 + Q)``. A paper with no evidence scores 0
    however cited or recent it is; with weights summing to 1 the score stays in 0..1.
    Weights on the priors alone (a caller's explicit choice) rank by the priors."""
    m = np.stack([np.asarray(scaled[s], dtype=np.float64) for s in SIGNALS], axis=1)
    return fuse_matrix(m, np.array([weights.get(s, 0.0) for s in SIGNALS]))


#: Column mask of the :data:`PRIORS` in :data:`SIGNALS` order.
_PRIOR_COLS = np.array([s in PRIORS for s in SIGNALS])


def fuse_matrix(m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:func:`fuse` on a :func:`signal_matrix` (rows x SIGNALS) with weights in SIGNALS order."""
    w = np.asarray(w, dtype=m.dtype)
    prior = m[:, _PRIOR_COLS] @ w[_PRIOR_COLS]
    if not (w[~_PRIOR_COLS] > 0).any():
        return np.asarray(prior)
    evidence = m[:, ~_PRIOR_COLS] @ w[~_PRIOR_COLS]
    return np.asarray(evidence * (1.0 + prior))


# --------------------------------------------------------------------------- filters
def filter_mask(index: RecommendIndex, base: np.ndarray, filters: Filters) -> np.ndarray:
    """``base`` narrowed by ``filters``; a :class:`RecommendError` names the filter(s)
    when nothing is left."""
    parts: list[tuple[str, np.ndarray]] = []
    if filters.year_from is not None or filters.year_to is not None:
        lo = -np.inf if filters.year_from is None else filters.year_from
        hi = np.inf if filters.year_to is None else filters.year_to
        if lo > hi:
            raise RecommendError(
                f"year_from {filters.year_from} is after year_to {filters.year_to}; swap them."
            )
        y = index.year
        with np.errstate(invalid="ignore"):
            ok = ~np.isnan(y) & (y >= lo) & (y <= hi)
        parts.append((f"years {_span(filters.year_from, filters.year_to)}", ok))
    if filters.topics:
        cols = sorted({c for t in filters.topics for c in index.topic_columns(t)})
        ok = np.asarray(index.members[:, cols].sum(axis=1)).ravel() > 0
        parts.append((f"topic {' or '.join(repr(t) for t in filters.topics)}", ok))
    if filters.venue:
        ok = index.venue_mask(filters.venue)
        parts.append((f"venue containing {filters.venue!r}", ok))
    if filters.exclude_surveys:
        parts.append(("no surveys/reviews", ~index.review))
    if filters.open_access_only:
        parts.append(("open access only", index.open_access))
    mask = base.copy()
    for _, ok in parts:
        mask &= ok
    if parts and not mask.any():
        total = int(base.sum())
        each = "; ".join(f"{name} leaves {int((base & ok).sum()):,}" for name, ok in parts)
        empty = [name for name, ok in parts if not (base & ok).any()]
        blame = (
            f"{' and '.join(empty)} exclude{'s' if len(empty) == 1 else ''} every one"
            if empty
            else "each filter leaves some, but together they leave none"
        )
        raise RecommendError(
            f"No paper passes the filters ({blame}). Of {total:,} candidates: {each}. "
            "Loosen or drop a filter."
        )
    return mask


def _span(a: int | None, b: int | None) -> str:
    if a is not None and b is not None:
        return f"{a}-{b}"
    return f"from {a}" if a is not None else f"up to {b}"


# --------------------------------------------------------------------------- recommend
def recommend(
    kg: KnowledgeGraph,
    read: Iterable[str],
    *,
    disliked: Iterable[str] = (),
    filters: Filters | None = None,
    k: int = 20,
    weights: Mapping[str, float] | None = None,
    diversity: float = DEFAULT_DIVERSITY,
    external: Mapping[str, float] | None = None,
) -> list[Recommendation]:
    """The ``k`` papers to read next after ``read`` (see the module doc); each with a
    fused score in 0..1 and its reasons. ``external``: S2's recommendations for ``read``
    (paper id -> score), the optional ``s2`` signal."""
    result = recommend_detailed(
        kg,
        read,
        disliked=disliked,
        filters=filters,
        k=k,
        weights=weights,
        diversity=diversity,
        external=external,
    )
    return list(result.recommendations)


def recommend_detailed(
    kg: KnowledgeGraph,
    read: Iterable[str],
    *,
    disliked: Iterable[str] = (),
    filters: Filters | None = None,
    k: int = 20,
    weights: Mapping[str, float] | None = None,
    diversity: float = DEFAULT_DIVERSITY,
    external: Mapping[str, float] | None = None,
) -> RecommendationResult:
    """:func:`recommend` with each recommendation's scaled signals and the weights used."""
    started = time.perf_counter()
    if k < 1:
        raise RecommendError(f"k must be at least 1, got {k}.")
    if not 0.0 <= diversity <= 1.0:
        raise RecommendError(f"diversity must be between 0 and 1, got {diversity}.")
    index = RecommendIndex.of(kg)
    read_refs = [r for r in read if r and r.strip()]
    if not read_refs:
        raise RecommendError(
            "Give at least one paper you have read or liked (an S2 id, ARXIV:<id>, DOI:<doi> "
            "or a title prefix), e.g. `litkg recommend --read ARXIV:2209.11895`."
        )
    read_nodes = np.array(index.resolve(read_refs), dtype=np.int64)
    dis_nodes = np.array(
        [j for j in index.resolve(disliked, what="disliked paper") if j not in set(read_nodes)],
        dtype=np.int64,
    )
    w = resolve_weights(kg.weights, weights, with_s2=bool(external))
    base = index.recommendable.copy()
    base[read_nodes] = False
    base[dis_nodes] = False
    base[index.title_twins(read_nodes)] = False  # an unfolded twin of a read paper is not new
    if not base.any():
        raise RecommendError(
            "Every paper in the graph is in your read set: nothing is left to recommend. "
            "Ingest more (`litkg ingest --depth 2`) and rebuild."
        )
    cand = filter_mask(index, base, filters or Filters())
    sig = raw_signals(index, read_nodes, disliked=dis_nodes, external=external)
    scaled = scaled_signals(sig, cand)
    score = fuse(scaled, w)
    penalty = None
    if dis_nodes.size:
        penalty = _dislike_penalty(sig, cand)
        score = score - DISLIKE_WEIGHT * penalty
    chosen = select(index, score, cand, k, diversity)
    recs = []
    signals: dict[str, dict[str, float]] = {}
    for j in chosen:
        reasons = explain(index, sig, scaled, w, j)
        if penalty is not None and penalty[j] > 0.2:
            reasons.append(_dislike_reason(index, dis_nodes, j, float(penalty[j])))
        pid = index.ids[j]
        recs.append(Recommendation(pid, round(float(score[j]), 4), tuple(reasons)))
        signals[pid] = {s: round(float(scaled[s][j]), 4) for s in SIGNALS}
    return RecommendationResult(
        recommendations=tuple(recs),
        signals=signals,
        weights=w,
        read=tuple(index.ids[j] for j in read_nodes),
        disliked=tuple(index.ids[j] for j in dis_nodes),
        candidates=int(cand.sum()),
        seconds=time.perf_counter() - started,
    )


def _dislike_penalty(sig: Signals, cand: np.ndarray) -> np.ndarray:
    """Closeness to the disliked papers, 0..1: the larger of text (max cosine) and
    co-citation/coupling, each scaled over the candidates."""
    raw = sig.raw
    graph = np.maximum(
        _scale_max(raw["dislike_cocitation"], cand), _scale_max(raw["dislike_coupling"], cand)
    )
    return np.maximum(_scale_floor(raw["dislike_text"], cand), graph)


def _dislike_reason(index: RecommendIndex, dis: np.ndarray, j: int, penalty: float) -> str:
    names = _names([index.label(int(d)) for d in dis], 2)
    return f"ranked lower: close to {names}, which you marked not relevant ({penalty:.2f})"


def select(
    index: RecommendIndex, score: np.ndarray, cand: np.ndarray, k: int, diversity: float
) -> list[int]:
    """Top ``k`` candidates, by maximal marginal relevance when ``diversity`` > 0; two
    items with the same title are one (the better ranked is kept). Greedy over a pool
    that does not depend on ``k`` (up to ``MMR_POOL / 2``): a longer list starts with the
    shorter one."""
    rows = np.flatnonzero(cand)
    pool_size = min(rows.size, max(MMR_POOL, 2 * k) if diversity > 0 else 4 * k + 10)
    top = rows[np.argpartition(-score[rows], pool_size - 1)[:pool_size]] if pool_size else rows
    top = top[np.lexsort((top, -score[top]))]
    seen_titles: set[str] = set()
    pool: list[int] = []
    for j in top.tolist():
        t = index.title_key[j]
        if len(t) >= 10 and t in seen_titles:
            continue
        seen_titles.add(t)
        pool.append(j)
    if diversity <= 0 or len(pool) <= 1:
        return pool[:k]
    rel = score[pool]
    span = float(rel.max() - rel.min()) or 1.0
    rel = (rel - rel.min()) / span
    rows_e = index.emb_row[pool]
    vec = np.zeros((len(pool), index.embeddings.shape[1] if index.embeddings.ndim == 2 else 1))
    has = rows_e >= 0
    if has.any():
        vec[has] = index.embeddings[rows_e[has]]
    sim = np.clip(vec @ vec.T, 0.0, 1.0)
    chosen = [0]
    nearest = sim[0].copy()
    available = np.ones(len(pool), dtype=bool)
    available[0] = False
    while len(chosen) < min(k, len(pool)):
        mmr = (1.0 - diversity) * rel - diversity * nearest
        mmr[~available] = -np.inf
        nxt = int(np.argmax(mmr))
        chosen.append(nxt)
        available[nxt] = False
        nearest = np.maximum(nearest, sim[nxt])
    return [pool[i] for i in chosen]


# --------------------------------------------------------------------------- reasons
def explain(
    index: RecommendIndex,
    sig: Signals,
    scaled: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    j: int,
) -> list[str]:
    """Plain-words reasons for node ``j``, strongest contribution first. At least one
    reason is evidence (a link or closeness to the read papers), never a prior alone: when
    no evidence is strong enough to be named, the strongest there is is named anyway."""
    found = _reasons(index, sig, scaled, weights, j, strict=True)
    if not any(signal not in PRIORS for signal, _, _ in found):
        weak = [r for r in _reasons(index, sig, scaled, weights, j, strict=False)
                if r[0] not in PRIORS]  # fmt: skip
        if weak:
            found.append(max(weak, key=lambda r: r[1]))
    found.sort(key=lambda t: -t[1])
    reasons = [text for _, _, text in found[:6]]
    if not reasons:
        reasons = ["ranked by the fused score of weak signals (no single strong link)"]
    return reasons


def _reasons(
    index: RecommendIndex,
    sig: Signals,
    scaled: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    j: int,
    *,
    strict: bool,
) -> list[tuple[str, float, str]]:
    """(signal, contribution, text) for each reason of node ``j``; ``strict``: only the
    signals strong enough to be worth naming (else any evidence above 0)."""
    view = index.view
    read = sig.read.tolist()
    read_set = set(read)
    found: list[tuple[str, float, str]] = []
    cut = 1.0 if strict else 0.0

    def add(signal: str, text: str, bonus: float = 0.0) -> None:
        weight = weights.get(signal, 0.0)
        if weight > 0 or bonus > 0:  # a signal weighed 0 did not put the paper here
            found.append((signal, weight * float(scaled[signal][j]) + bonus, text))

    citers = set(view.AT.indices[view.AT.indptr[j] : view.AT.indptr[j + 1]].tolist())
    refs = set(view.A.indices[view.A.indptr[j] : view.A.indptr[j + 1]].tolist())
    by = [q for q in read if q in citers]
    if by:
        add(
            "cited_by",
            f"cited by {len(by)} of your papers: {_names([index.label(q) for q in by])}",
            1.0,
        )
    cites = [q for q in read if q in refs]
    if cites:
        add(
            "cites",
            f"cites {len(cites)} of your papers: {_names([index.label(q) for q in cites])}",
            1.0,
        )
    if scaled["cocitation"][j] > 0:
        best = max(
            ((len(citers & _row_set(view.AT, q)), q) for q in read), key=lambda t: (t[0], -t[1])
        )
        if best[0] > 0:
            add(
                "cocitation",
                f"co-cited with {index.label(best[1])} in {best[0]} "
                f"paper{'s' if best[0] > 1 else ''}",
            )
    if scaled["coupling"][j] > 0:
        best = max(
            ((len(refs & _row_set(view.A, q)), q) for q in read), key=lambda t: (t[0], -t[1])
        )
        if best[0] > 0:
            add(
                "coupling",
                f"shares {best[0]} reference{'s' if best[0] > 1 else ''} with "
                f"{index.label(best[1])}",
            )
    if not by and not cites and scaled["ppr"][j] > 0.05 * cut:
        via = _via(index, j, read_set)
        if via is not None:
            add(
                "ppr",
                f"two citation steps from {index.label(via[1])} (via {index.label(via[0])})",
            )
    if sig.text_sims is not None and scaled["text"][j] > 0.3 * cut:
        row = sig.text_by_read(index, j)
        if not np.isnan(row).all():
            q = int(np.nanargmax(row))
            add(
                "text",
                f"close to {index.label(read[q])} in content ({float(row[q]):.2f})",
            )
    lexical = scaled["lexical"][j]
    if sig.lexical_sims is not None and sig.lexical_read is not None and lexical > 0.3 * cut:
        row = sig.lexical_sims[j]
        q = int(read[int(sig.lexical_read[int(np.argmax(row))])])
        terms = index.lexical.shared_terms(j, q)
        if terms:
            quoted = ", ".join(f"'{t}'" for t in terms)
            add(
                "lexical",
                f"shares the term{'s' if len(terms) > 1 else ''} {quoted} with {index.label(q)}",
            )
    if scaled["s2"][j] > 0:
        rank = round(10.0 * (1.0 / float(scaled["s2"][j]) - 1.0)) + 1
        add("s2", f"Semantic Scholar recommends it for your papers (#{rank})")
    if scaled["topic"][j] > 0.2 * cut:
        topic = _shared_topic(index, j, sig.read)
        if topic is not None:
            add("topic", f"in topic {topic}")
    indeg = int(view.indeg[j])
    if scaled["influence"][j] >= 0.6 and indeg >= 3:
        count = int(index.citation_count[j])
        overall = f"; {count:,} in all" if count > indeg else ""
        add("influence", f"central in this graph (cited by {indeg:,} papers here{overall})")
    year = index.year[j]
    if scaled["recency"][j] >= 0.8 and not np.isnan(year):
        add("recency", f"recent ({int(year)})")
    return found


def _row_set(m: sp.csr_matrix, i: int) -> set[int]:
    return set(m.indices[m.indptr[i] : m.indptr[i + 1]].tolist())


def _via(index: RecommendIndex, j: int, read: set[int]) -> tuple[int, int] | None:
    """(intermediate paper, read paper) linking ``j`` to the read set in two steps: the
    neighbour of ``j`` linked to the most read papers (ties: the lowest node number)."""
    view = index.view
    around = np.union1d(
        view.A.indices[view.A.indptr[j] : view.A.indptr[j + 1]],
        view.AT.indices[view.AT.indptr[j] : view.AT.indptr[j + 1]],
    )
    if around.size == 0:
        return None
    mask = np.zeros(index.n, dtype=_F)
    mask[list(read)] = 1.0
    linked = np.asarray(view.A[around] @ mask + view.AT[around] @ mask).ravel()
    best = int(np.argmax(linked))
    if linked[best] <= 0:
        return None
    m = int(around[best])
    near = (_row_set(view.A, m) | _row_set(view.AT, m)) & read
    return m, min(near)


def _shared_topic(index: RecommendIndex, j: int, read: np.ndarray) -> str | None:
    """The label of the most telling topic ``j`` shares with the read set (not one that
    covers half the corpus, nor a curated top section); narrower topics first."""
    tv = index.topic_vectors
    mine = dict(zip(tv.indices[tv.indptr[j] : tv.indptr[j + 1]].tolist(),
                    tv.data[tv.indptr[j] : tv.indptr[j + 1]].tolist(), strict=True))  # fmt: skip
    if not mine:
        return None
    profile = np.asarray(tv[read].sum(axis=0)).ravel()
    best: tuple[bool, float, int] | None = None
    for t, v in mine.items():
        if profile[t] <= 0 or index.topic_share[t] > 0.5 or t in index.topic_skip:
            continue
        key = (t not in index.topic_containers, v * profile[t], t)  # the narrowest first
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    return index.topic_label.get(index.topic_ids[best[2]], index.topic_ids[best[2]])


# --------------------------------------------------------------------------- reading path
def reading_path(kg: KnowledgeGraph, paper_ids: Iterable[str]) -> list[PathStep]:
    """Order papers so that what a paper builds on comes before it.

    A topological order of the citations within the list (a cited paper before the
    papers citing it); among papers that are ready, the oldest first (foundations before
    the work built on them, even where the graph misses the citation between them), then
    the most cited within the list, then the most central in the graph, then the given
    order. A citation cycle is broken at its oldest paper.
    """
    index = RecommendIndex.of(kg)
    nodes = index.resolve(paper_ids)
    if not nodes:
        raise RecommendError("Give at least one paper to order into a reading path.")
    view = index.view
    inside = set(nodes)
    prereq = {u: _row_set(view.A, u) & inside - {u} for u in nodes}
    cited_in = {u: _row_set(view.AT, u) & inside - {u} for u in nodes}
    order = {u: i for i, u in enumerate(nodes)}
    year = {u: (index.year[u] if not np.isnan(index.year[u]) else math.inf) for u in nodes}
    central = view.centrality()
    placed: list[int] = []
    done: set[int] = set()
    steps: list[PathStep] = []
    while len(placed) < len(nodes):
        left = [u for u in nodes if u not in done]
        ready = [u for u in left if prereq[u] <= done]
        pool = ready or left
        u = min(pool, key=lambda v: (year[v], -len(cited_in[v]), -central[v], order[v]))
        before = sorted(prereq[u] & done, key=lambda v: -placed.index(v))
        after = sorted(prereq[u] - done, key=lambda v: order[v])
        reason = _path_reason(index, u, before, after, cited_in[u] - done, year)
        placed.append(u)
        done.add(u)
        steps.append(PathStep(index.ids[u], len(placed), reason))
    return steps


def _path_reason(
    index: RecommendIndex,
    u: int,
    before: list[int],
    after: list[int],
    cited_in: set[int],
    year: Mapping[int, float],
) -> str:
    parts = []
    if before:
        them = "them" if len(before) > 1 else "it"
        names = _names([index.label(v) for v in before], conj=True)
        parts.append(f"read after {names}: it builds on {them}")
    if after:
        y = year[u]
        when = f"{int(y)}" if math.isfinite(y) else "year unknown"
        parts.append(
            f"placed before {_names([index.label(v) for v in after], conj=True)} although it cites "
            f"{'them' if len(after) > 1 else 'it'}: they cite each other, so the older "
            f"comes first ({when})"
        )
    if not before and not after:
        if cited_in:
            n = len(cited_in)
            parts.append(f"foundational: cited by {n} paper{'s' if n > 1 else ''} in this list")
        else:
            y = year[u]
            when = f"{int(y)}" if math.isfinite(y) else "year unknown"
            parts.append(f"no citation links to the others in this list; placed by year ({when})")
    elif cited_in and not after:
        n = len(cited_in)
        parts.append(f"cited by {n} later paper{'s' if n > 1 else ''} in this list")
    return "; ".join(parts)


__all__ = [
    "DEFAULT_DIVERSITY",
    "DEFAULT_WEIGHTS",
    "DISLIKE_WEIGHT",
    "PRIORS",
    "SIGNALS",
    "Filters",
    "GraphView",
    "PathStep",
    "RecommendIndex",
    "RecommendationResult",
    "Signals",
    "filter_mask",
    "fuse",
    "fuse_matrix",
    "raw_signals",
    "reading_path",
    "recommend",
    "recommend_detailed",
    "resolve_weights",
    "scaled_signals",
    "select",
    "short_label",
    "signal_matrix",
]
