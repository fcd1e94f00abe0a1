"""The per-paper index the recommender scores on, computed once per graph.

:class:`RecommendIndex` holds everything that does not depend on the query: the alias
table that turns any id form or a unique title prefix into a graph node
(:meth:`RecommendIndex.resolve`), the embedding rows per node, the topic matrix, the
lexical index, years, venues and the citation matrices
(:class:`kg.graph.algorithms.GraphView`). It is built on first use and kept with the
:class:`KnowledgeGraph` (:meth:`RecommendIndex.of`); the views share it.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from kg.core.errors import RecommendError, UnknownPaperError
from kg.core.ids import canonical_ids, s2_id_from_url
from kg.core.memory import gc_paused
from kg.core.model import Paper, is_s2_paper_id
from kg.core.text import MappedTexts, title_words
from kg.graph.algorithms import GraphView
from kg.graph.knowledge import prefetch
from kg.text.ann import TextAnnIndex
from kg.text.lexical import LexicalIndex, lexical_text

if TYPE_CHECKING:
    from kg.graph.knowledge import KnowledgeGraph

_SURVEY = re.compile(r"\b(survey|surveys|review|reviews)\b", re.IGNORECASE)
_MIN_PREFIX = 4
_ID_KINDS = ("arxiv:", "doi:", "corpusid:", "mag:", "acl:", "dblp:", "pubmed")


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


def name_list(labels: Sequence[str], limit: int = 3, *, conj: bool = False) -> str:
    """``A, B, C and 2 more``; with ``conj`` two or three names end in ``and`` (``A and B``)."""
    if len(labels) > limit:
        return ", ".join(labels[:limit]) + f" and {len(labels) - limit} more"
    if conj and len(labels) > 1:
        return ", ".join(labels[:-1]) + " and " + labels[-1]
    return ", ".join(labels)


def _normalise_ref(ref: str) -> str:
    """An id as typed -> the key of the alias table (lower case, ``kind:value``): the
    identifiers :func:`kg.core.ids.canonical_ids` knows (S2 ids and pages, ARXIV:, DOI:,
    CorpusId:, ACL:, PMID:, their URLs and bare forms), else the text itself, lowered
    (a title prefix, or a kind the store keeps as typed, e.g. ``dblp:``)."""
    raw = ref.strip()
    if s2 := s2_id_from_url(raw):
        return s2
    ids = canonical_ids(raw)
    if not ids or ids[0].startswith("URL:"):
        return raw.lower()
    return ids[0].lower()


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
        # The node attributes, not the NetworkX graph (a loaded graph makes it on demand).
        self.year = np.array(
            [np.nan if y is None else float(y) for y in g.node_values("year")], dtype=np.float64
        )
        self.citation_count = np.array(
            [-1 if c is None else int(c) for c in g.node_values("citation_count")], dtype=np.int64
        )
        self.title_key = [title_words(p.title) if p is not None else "" for p in self.paper]
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
            self.lexical = LexicalIndex(MappedTexts(self.paper, lexical_text))
        self.view: GraphView = g.view
        #: Field scale: the build's approximate index over ``embeddings`` (loaded on first
        #: use, :meth:`text_ann`) and the neighbours per read paper the text signal asks.
        self.text_index_path = kg.text_index_path
        self.text_neighbours = kg.text_neighbours
        self._text_ann: TextAnnIndex | None = None
        #: The text signal's even sample of vector rows and their vectors, held in memory
        #: (:func:`kg.recommend.signals._approx_cosines`; made on first use).
        self.floor_sample: tuple[np.ndarray, np.ndarray] | None = None
        #: The text vectors are S2's SPECTER ones (a field-scale build): the ``specter``
        #: signal is then the text signal's cosines, not a second product.
        self.specter_is_text = kg.manifest.get("text_vectors") == "specter"
        self.signature = _signature(kg)

    def text_ann(self) -> TextAnnIndex | None:
        """The approximate text index (``None``: the graph has none, use exact cosines)."""
        if self.text_index_path is None or self.embeddings.ndim != 2 or not self.embeddings.size:
            return None
        if self._text_ann is None:
            self._text_ann = TextAnnIndex.load(self.text_index_path, self.embeddings)
            prefetch(self.embeddings)  # the queries' gathers: from the page cache
        return self._text_ann

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
        with gc_paused():  # ~10 objects a paper, none in cycles: no collector passes
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
        if j is None and is_s2_paper_id(key):
            j = self.pos.get(self.canon(key))
        if j is not None:
            return j
        if key.startswith("arxiv:"):
            j = self.aliases.get(re.sub(r"v\d+$", "", key))
            if j is not None:
                return j
        prefix = title_words(ref)
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
        key = title_words(ref)
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


__all__ = [
    "RecommendIndex",
    "name_list",
    "short_label",
]
