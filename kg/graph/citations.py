"""The NetworkX projection of the corpus and the sparse-matrix algorithms over it.

:class:`CitationGraph` holds

* ``graph``: an ``nx.DiGraph``, one node per paper (preprint/published twins folded
  into their canonical id), an edge ``citing -> cited`` per citation, with the
  paper's scalar facts as node attributes and S2's intents and influence flag as
  edge attributes;
* ``topic_graph``: the paper-topic bipartite ``nx.Graph`` (``kind`` = ``paper`` or
  ``topic``; ``bipartite`` = 0 or 1 as NetworkX's bipartite helpers expect);
* a CSR adjacency matrix ``A`` (``A[i, j] = 1`` when paper ``i`` cites paper ``j``),
  built once on first use from the DiGraph, with ``ids``/``index`` maps.

The ranking algorithms (PageRank and personalised PageRank, co-citation, bibliographic
coupling and their Salton-normalised variants) are :class:`kg.graph.algorithms.GraphView`'s,
the one engine the recommender scores on too (:attr:`CitationGraph.view`); the methods
here take and return paper ids. Counts are *within the corpus*: a paper's S2
``citation_count`` is kept as a node attribute, but in-degree here counts only the
citing papers we hold.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from kg.core.model import Citation, Paper, Topic, TopicMembership, canonical_map
from kg.graph.algorithms import GraphError, GraphView
from kg.store.corpus import DUPLICATE, OFFLINE, RESOLVED, CorpusStore, SeedRow

#: Seed statuses whose ``paper_id`` is a listed paper (low-confidence matches are not).
_SEED_STATUSES = frozenset({RESOLVED, DUPLICATE, OFFLINE})

#: Section paths are shown joined with this separator (``Papers > Induction Heads``).
SECTION_SEP = " > "


def _combine(primary: Mapping[str, Any], secondary: Mapping[str, Any]) -> dict[str, Any]:
    """Node attributes of a paper and its twin: ``primary`` wins, ``secondary`` fills gaps;
    counts take the larger, tags the union."""
    out = dict(primary)
    for key, value in secondary.items():
        if out.get(key) in (None, (), "") and value not in (None, (), ""):
            out[key] = value
    for key in ("citation_count", "influential_citation_count"):
        if primary.get(key) is not None and secondary.get(key) is not None:
            out[key] = max(primary[key], secondary[key])
    out["tags"] = tuple(dict.fromkeys((*primary.get("tags", ()), *secondary.get("tags", ()))))
    return out


def _paper_attrs(p: Paper) -> dict[str, Any]:
    return {
        "title": p.title,
        "year": p.year,
        "venue": p.venue or p.journal,
        "citation_count": p.citation_count,
        "influential_citation_count": p.influential_citation_count,
        "reference_count": p.reference_count,
        "fields_of_study": tuple(p.fields_of_study),
        "tags": tuple(p.tags),
        "first_author": p.first_author,
        "arxiv_id": p.arxiv_id,
        "doi": p.doi,
        "resolved": p.resolved,
    }


def _stub_attrs() -> dict[str, Any]:
    """A node known only as the end of a citation (no paper record)."""
    return {"title": "", "resolved": False}


@dataclass(frozen=True)
class GraphColumns:
    """The citation DiGraph as arrays (what a load snapshot holds, :mod:`kg.graph.snapshot`):
    node ``i`` is ``ids[i]`` with the attribute dict ``attrs[i]``; its edges are
    ``indices[indptr[i]:indptr[i + 1]]`` (cited nodes, in the DiGraph's order), edge ``k``
    with the intents ``intent_table[intent_codes[k]]`` and the influence flag
    ``influential[k]`` (-1: unknown); ``pred_edges[pred_indptr[j]:pred_indptr[j + 1]]``
    are the positions of node ``j``'s incoming edges, in the DiGraph's order.

    A reader that needs only the matrices and node attributes (the recommender) never
    makes the NetworkX graph: at 1M papers and 10M citations it is gigabytes of dicts."""

    ids: list[str]
    attrs: list[dict[str, Any]]
    indptr: np.ndarray
    indices: np.ndarray
    pred_indptr: np.ndarray
    pred_edges: np.ndarray
    intent_codes: np.ndarray
    intent_table: list[tuple[str, ...]]
    influential: np.ndarray

    def matrix(self) -> sp.csr_matrix:
        """``A`` as :meth:`CitationGraph._build_matrix` makes it from the DiGraph."""
        n = len(self.ids)
        rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(self.indptr))
        data = np.ones(self.indices.size, dtype=np.float64)
        return sp.csr_matrix((data, (rows, self.indices)), shape=(n, n))

    def digraph(self) -> nx.DiGraph:
        """The NetworkX DiGraph (each edge's attribute dict shared by both ends)."""
        ids = self.ids
        flags: list[bool | None] = [None, False, True]
        table = self.intent_table
        edges = [
            {"intents": table[c], "is_influential": flags[f + 1]}
            for c, f in zip(self.intent_codes.tolist(), self.influential.tolist(), strict=True)
        ]
        ptr, targets = self.indptr.tolist(), self.indices.tolist()
        succ = {
            u: {ids[targets[k]]: edges[k] for k in range(ptr[i], ptr[i + 1])}
            for i, u in enumerate(ids)
        }
        source = np.repeat(np.arange(len(ids)), np.diff(self.indptr)).tolist()
        pptr, came = self.pred_indptr.tolist(), self.pred_edges.tolist()
        pred = {
            v: {ids[source[k]]: edges[k] for k in came[pptr[j] : pptr[j + 1]]}
            for j, v in enumerate(ids)
        }
        g: nx.DiGraph = nx.DiGraph()
        g._node.update(zip(ids, self.attrs, strict=True))
        g._succ = succ  # also sets _adj
        g._pred = pred
        return g


class CitationGraph:
    """The citation DiGraph, the paper-topic bipartite graph and the sparse algorithms.

    Build with :meth:`from_store` or directly from sequences (tests, benchmarks).
    Every method that takes paper ids accepts twins' ids too (they are folded to the
    canonical id); ids not in the graph are ignored by the multi-id methods and raise
    :class:`GraphError` in the single-id ones.
    """

    def __init__(
        self,
        papers: Iterable[Paper],
        citations: Iterable[Citation],
        *,
        same_as: Mapping[str, str] | None = None,
        seeds: Iterable[SeedRow] = (),
        topics: Iterable[Topic] = (),
        memberships: Iterable[TopicMembership] = (),
    ) -> None:
        self.canonical: dict[str, str] = canonical_map(same_as or {})
        g: nx.DiGraph = nx.DiGraph()
        twins: dict[str, list[str]] = {}
        for paper in papers:
            pid = self.canon(paper.paper_id)
            if pid != paper.paper_id:
                twins.setdefault(pid, []).append(paper.paper_id)
            attrs = {**_paper_attrs(paper), "in_corpus": True}
            if pid in g:  # a twin already there: the canonical record wins, the other fills gaps
                node = g.nodes[pid]
                merged = _combine(attrs, node) if paper.paper_id == pid else _combine(node, attrs)
                node.clear()
                node.update(merged)
            else:
                g.add_node(pid, **attrs)
        for pid, names in twins.items():
            g.nodes[pid]["twins"] = tuple(sorted(names))
        for c in citations:
            u, v = self.canon(c.citing), self.canon(c.cited)
            if u == v:  # a preprint citing its own published version: not a citation
                continue
            for end in (u, v):
                if end not in g:
                    g.add_node(end, **_stub_attrs(), in_corpus=False)
            data = g.get_edge_data(u, v)
            if data is None:
                g.add_edge(u, v, intents=tuple(c.intents), is_influential=c.is_influential)
            else:  # two twins' edges fold into one
                data["intents"] = tuple(dict.fromkeys(data["intents"] + tuple(c.intents)))
                if c.is_influential is not None:
                    data["is_influential"] = bool(data["is_influential"]) or c.is_influential
        for node in g.nodes.values():
            node.setdefault("is_seed", False)
            node.setdefault("sections", ())
        for row in seeds:
            if row.paper_id is None or row.status not in _SEED_STATUSES:
                continue
            pid = self.canon(row.paper_id)
            if pid not in g:
                g.add_node(pid, title=row.title, resolved=False, in_corpus=False, sections=())
            node = g.nodes[pid]
            node["is_seed"] = True
            if row.section_path:
                label = SECTION_SEP.join(row.section_path)
                node["sections"] = tuple(dict.fromkeys((*node.get("sections", ()), label)))
        self._graph: nx.DiGraph | None = g
        self._columns: GraphColumns | None = None
        self.topic_graph = self._bipartite(topics, memberships)
        self._matrix: sp.csr_matrix | None = None
        self._view: GraphView | None = None
        self._ids: list[str] = []
        self._index: dict[str, int] = {}

    @classmethod
    def from_columns(
        cls, canonical: dict[str, str], columns: GraphColumns, topic_graph: nx.Graph
    ) -> CitationGraph:
        """A projection held as arrays (:class:`GraphColumns`, decoded from a load
        snapshot): the matrix and node attributes come from them, and the NetworkX graph
        is made only when something asks for it (:attr:`graph`)."""
        self = cls.__new__(cls)
        self.canonical = canonical
        self._graph = None
        self._columns = columns
        self.topic_graph = topic_graph
        self._matrix = None
        self._view = None
        self._ids = []
        self._index = {}
        return self

    @property
    def graph(self) -> nx.DiGraph:
        """The citation ``nx.DiGraph`` (made from the columns on first use when the
        projection was loaded as arrays)."""
        if self._graph is None:
            assert self._columns is not None
            self._graph = self._columns.digraph()
        return self._graph

    def node_values(self, name: str) -> list[Any]:
        """The node attribute ``name`` of every node, in :attr:`ids` order (``None`` where
        a node has none), without making the NetworkX graph."""
        if self._graph is None and self._columns is not None:
            return [a.get(name) for a in self._columns.attrs]
        nodes = self.graph.nodes
        return [nodes[pid].get(name) for pid in self.ids]

    @classmethod
    def from_store(
        cls,
        store: CorpusStore,
        *,
        topics: Iterable[Topic] = (),
        memberships: Iterable[TopicMembership] = (),
    ) -> CitationGraph:
        """The projection of a whole corpus store (twins folded, seeds flagged)."""
        return cls(
            store.papers(),
            store.citations(),
            same_as=store.same_as(),
            seeds=store.seeds(),
            topics=topics,
            memberships=memberships,
        )

    # ------------------------------------------------------------------ basics
    def canon(self, paper_id: str) -> str:
        """The canonical id of a paper (itself unless it is a folded twin)."""
        return self.canonical.get(paper_id, paper_id)

    def __contains__(self, paper_id: object) -> bool:
        return isinstance(paper_id, str) and self.canon(paper_id) in self.index

    def __len__(self) -> int:
        return len(self.ids)

    def _require(self, paper_id: str) -> str:
        pid = self.canon(paper_id)
        if pid not in self.index:
            raise GraphError(
                f"Paper {paper_id!r} is not in the citation graph. Check the id (S2 paper id, "
                f"or a twin folded by same_as), or ingest it first with `litkg ingest`."
            )
        return pid

    def _bipartite(
        self, topics: Iterable[Topic], memberships: Iterable[TopicMembership]
    ) -> nx.Graph:
        bg: nx.Graph = nx.Graph()
        for t in topics:
            bg.add_node(
                t.topic_id,
                kind="topic",
                bipartite=1,
                label=t.label,
                scheme=t.scheme,
                broader=t.broader,
                keywords=tuple(t.keywords),
            )
        for m in memberships:
            pid = self.canon(m.paper_id)
            if pid not in bg:
                title = self.graph.nodes[pid].get("title", "") if pid in self.graph else ""
                bg.add_node(pid, kind="paper", bipartite=0, title=title)
            if m.topic_id not in bg:
                bg.add_node(m.topic_id, kind="topic", bipartite=1, label=m.topic_id, scheme="")
            old = bg.get_edge_data(pid, m.topic_id)
            score = max(m.score, old["score"]) if old else m.score
            bg.add_edge(pid, m.topic_id, score=float(score))
        return bg

    def topics_of(self, paper_id: str) -> dict[str, float]:
        """Topic id -> membership score for one paper (empty when it has none)."""
        pid = self.canon(paper_id)
        if pid not in self.topic_graph:
            return {}
        return {t: float(d["score"]) for t, d in self.topic_graph[pid].items()}

    # ------------------------------------------------------------------ sparse matrices
    def _build_matrix(self) -> None:
        if self._columns is not None:
            self._ids = self._columns.ids
            self._index = {pid: i for i, pid in enumerate(self._ids)}
            self._matrix = self._columns.matrix()
            return
        ids = list(self.graph.nodes)
        index = {pid: i for i, pid in enumerate(ids)}
        m = self.graph.number_of_edges()
        rows = np.empty(m, dtype=np.int32)
        cols = np.empty(m, dtype=np.int32)
        for k, (u, v) in enumerate(self.graph.edges()):
            rows[k] = index[u]
            cols[k] = index[v]
        n = len(ids)
        data = np.ones(m, dtype=np.float64)
        self._matrix = sp.csr_matrix((data, (rows, cols)), shape=(n, n))
        self._ids, self._index = ids, index

    @property
    def A(self) -> sp.csr_matrix:
        """CSR adjacency, ``A[i, j] = 1`` when ``ids[i]`` cites ``ids[j]`` (built once)."""
        if self._matrix is None:
            self._build_matrix()
        assert self._matrix is not None
        return self._matrix

    @property
    def ids(self) -> list[str]:
        """Row/column order of :attr:`A`."""
        if self._matrix is None:
            self._build_matrix()
        return self._ids

    @property
    def index(self) -> dict[str, int]:
        """Paper id -> row/column of :attr:`A`."""
        if self._matrix is None:
            self._build_matrix()
        return self._index

    def _indicator(self, ids: Iterable[str] | Mapping[str, float]) -> np.ndarray:
        x = np.zeros(len(self.ids), dtype=np.float64)
        items = ids.items() if isinstance(ids, Mapping) else ((i, 1.0) for i in ids)
        for pid, w in items:
            j = self.index.get(self.canon(pid))
            if j is not None:
                x[j] += float(w)
        return x

    def _to_dict(self, v: np.ndarray, *, exclude: np.ndarray | None = None) -> dict[str, float]:
        nz = np.flatnonzero(v)
        if exclude is not None:
            nz = nz[exclude[nz] == 0]
        order = nz[np.lexsort((nz, -v[nz]))]
        ids = self.ids
        return {ids[i]: float(v[i]) for i in order}

    # ------------------------------------------------------------------ ranking
    # The algorithms are :class:`kg.graph.algorithms.GraphView`'s (the recommender's engine);
    # these methods take and return paper ids.
    @property
    def view(self) -> GraphView:
        """The citation matrices and their algorithms (:class:`GraphView` of :attr:`A`,
        built once; the recommender's index shares it)."""
        if self._view is None:
            self._view = GraphView(self.A)
        return self._view

    def pagerank(
        self, alpha: float = 0.85, *, tol: float = 1e-10, max_iter: int = 1000
    ) -> dict[str, float]:
        """Global PageRank over citations (:meth:`GraphView.pagerank`): id -> score,
        highest first, summing to 1."""
        return self._to_dict(self.view.pagerank(alpha, tol=tol, max_iter=max_iter))

    def personalized_pagerank(
        self,
        seeds: Mapping[str, float] | Iterable[str],
        alpha: float = 0.85,
        *,
        tol: float = 1e-10,
        max_iter: int = 1000,
        exclude_seeds: bool = False,
    ) -> dict[str, float]:
        """PageRank restarting at ``seeds`` (id -> weight; a plain list weighs them equally).

        Dangling papers jump back to the seeds (``nx.pagerank(personalization=...)``
        does the same), so the rank stays near them. Seeds not in the graph are
        ignored; if none is in it, :class:`GraphError`. Returns id -> score, highest
        first, papers the walk cannot reach (score 0) left out, and the seeds too
        when ``exclude_seeds``.
        """
        p = self._indicator(seeds)
        if (p < 0).any():
            raise GraphError("personalized_pagerank: seed weights must be >= 0")
        if p.sum() <= 0:
            raise GraphError(
                "None of the seed papers is in the citation graph (or all weights are 0); "
                "ingest them first, or check their ids."
            )
        p = p / p.sum()
        x = self.view.pagerank(alpha, personalization=p, tol=tol, max_iter=max_iter)
        return self._to_dict(x, exclude=p if exclude_seeds else None)

    def _query(self, ids: Iterable[str]) -> np.ndarray:
        """Sorted row numbers of the known ``ids`` (twins folded, each once)."""
        rows = {j for j in (self.index.get(self.canon(i)) for i in ids) if j is not None}
        return np.array(sorted(rows), dtype=np.int64)

    def _ranked(
        self, cols: np.ndarray, vals: np.ndarray, exclude: np.ndarray | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Ids and values of the non-zero entries, highest first (ties in index order)."""
        keep = vals != 0
        if exclude is not None and exclude.size:
            keep &= ~np.isin(cols, exclude)
        cols, vals = cols[keep], vals[keep]
        order = np.lexsort((cols, -vals))
        return list(map(self.ids.__getitem__, cols[order].tolist())), vals[order]

    def _as_dict(
        self, cols: np.ndarray, vals: np.ndarray, exclude: np.ndarray | None = None
    ) -> dict[str, float]:
        ids, v = self._ranked(cols, vals, exclude)
        return dict(zip(ids, v.tolist(), strict=True))

    def _as_counts(
        self, cols: np.ndarray, vals: np.ndarray, exclude: np.ndarray | None = None
    ) -> dict[str, int]:
        ids, v = self._ranked(cols, vals, exclude)
        return dict(zip(ids, np.rint(v).astype(np.int64).tolist(), strict=True))

    def cocitation_counts(self, ids: Iterable[str]) -> dict[str, int]:
        """Papers cited together with ``ids``: other -> number of (citing paper, query paper)
        pairs where the citing paper cites both (``sum_q (A.T A)[q, other]``).

        With one query paper this is the classic co-citation count. Query papers
        themselves are left out; highest first (ties in :attr:`ids` order).
        """
        q = self._query(ids)
        return self._as_counts(*self.view.cocitation(q), q)

    def coupling_counts(self, ids: Iterable[str]) -> dict[str, int]:
        """Bibliographic coupling: other -> shared references with ``ids``
        (``sum_q (A A.T)[q, other]``). Query papers left out; highest first."""
        q = self._query(ids)
        return self._as_counts(*self.view.coupling(q), q)

    def cocitation_scores(self, ids: Iterable[str]) -> dict[str, float]:
        """Salton-normalised (cosine) co-citation, summed over ``ids``:
        ``sum_q C[q, o] / sqrt(indeg(q) * indeg(o))``, each term in 0..1."""
        q = self._query(ids)
        return self._as_dict(*self.view.cocitation(q, normalise=True), q)

    def coupling_scores(self, ids: Iterable[str]) -> dict[str, float]:
        """Salton-normalised (cosine) coupling, summed over ``ids``:
        ``sum_q B[q, o] / sqrt(outdeg(q) * outdeg(o))``, each term in 0..1."""
        q = self._query(ids)
        return self._as_dict(*self.view.coupling(q, normalise=True), q)

    def cited_by_counts(self, ids: Iterable[str] | None = None) -> dict[str, int]:
        """How many papers cite each paper: all citing papers in the corpus when ``ids`` is
        None, else only those among ``ids`` ("cited by 3 of your seeds"). Highest first."""
        if ids is None:
            deg = self.view.indeg.astype(np.float64)
            return self._as_counts(np.arange(deg.size), deg)
        return self._as_counts(*self.view.cited_by(self._query(ids)))

    def cites_counts(self, ids: Iterable[str]) -> dict[str, int]:
        """How many of ``ids`` each paper cites ("cites 2 of your seeds"). Highest first."""
        return self._as_counts(*self.view.cites(self._query(ids)))

    # ------------------------------------------------------------------ paths and neighbourhoods
    def shortest_citation_path(
        self, a: str, b: str, *, undirected: bool = False
    ) -> list[str] | None:
        """The shortest chain of citations from ``a`` to ``b`` (``a`` cites ... cites ``b``),
        or, with ``undirected``, through citations in either direction. None when there
        is none (:meth:`explain_no_path` says why); :class:`GraphError` for unknown ids."""
        u, v = self._require(a), self._require(b)
        g = self.graph.to_undirected(as_view=True) if undirected else self.graph
        try:
            return [str(n) for n in nx.bidirectional_shortest_path(g, u, v)]
        except nx.NetworkXNoPath:
            return None

    def explain_no_path(self, a: str, b: str, *, undirected: bool = False) -> str:
        """A sentence saying why :meth:`shortest_citation_path` found nothing (or that it did)."""
        for pid in (a, b):
            if pid not in self:
                return f"{pid} is not in the citation graph (not ingested, or a wrong id)."
        u, v = self.canon(a), self.canon(b)
        path = self.shortest_citation_path(u, v, undirected=undirected)
        if path is not None:
            return f"A path of {len(path) - 1} citation(s) links them."
        if not undirected:
            if self.shortest_citation_path(v, u) is not None:
                return (
                    f"No chain leads from {u} to {v}, but one leads the other way "
                    f"({v} builds on {u}); try the reverse direction."
                )
            if self.graph.out_degree(u) == 0:
                return f"{u} cites no paper in the corpus, so no citation chain starts there."
            if self.graph.in_degree(v) == 0:
                return f"No paper in the corpus cites {v}, so no citation chain ends there."
            if self.shortest_citation_path(u, v, undirected=True) is not None:
                return (
                    f"No chain of citations leads from {u} to {v}; they are connected only "
                    f"through citations in both directions (try undirected=True)."
                )
        return (
            f"{u} and {v} lie in different connected parts of the corpus graph: no sequence "
            f"of citations in either direction links them. Crawling deeper may connect them."
        )

    def ego_graph(
        self, paper_id: str, depth: int = 1, *, max_nodes: int | None = 200
    ) -> nx.DiGraph:
        """The papers within ``depth`` citation hops (either direction) of ``paper_id``, with
        the citations among them. Node attribute ``hops`` is the distance from the centre.
        When a ring would overflow ``max_nodes`` the most cited (S2 count, then in-corpus
        degree) papers of that ring are kept, so hubs stay drawable."""
        centre = self._require(paper_id)
        g = self.graph
        hops = {centre: 0}
        frontier = [centre]
        for d in range(1, depth + 1):
            ring: dict[str, None] = {}
            for u in frontier:
                for w in (*g.successors(u), *g.predecessors(u)):
                    if w not in hops:
                        ring[w] = None
            nodes = list(ring)
            if max_nodes is not None and len(hops) + len(nodes) > max_nodes:
                nodes.sort(
                    key=lambda n: (-(g.nodes[n].get("citation_count") or 0), -g.degree(n), n)
                )
                nodes = nodes[: max(0, max_nodes - len(hops))]
            for w in nodes:
                hops[w] = d
            frontier = nodes
            if not frontier:
                break
        sub: nx.DiGraph = g.subgraph(hops).copy()
        nx.set_node_attributes(sub, hops, "hops")
        return sub

    def bfs_layers(self, paper_id: str, depth: int) -> list[list[str]]:
        """Papers by citation distance (either direction) from ``paper_id``, up to ``depth``."""
        centre = self._require(paper_id)
        seen = {centre}
        layers = [[centre]]
        queue: deque[str] = deque([centre])
        while queue and len(layers) <= depth:
            nxt: list[str] = []
            for _ in range(len(queue)):
                u = queue.popleft()
                for w in (*self.graph.successors(u), *self.graph.predecessors(u)):
                    if w not in seen:
                        seen.add(w)
                        nxt.append(w)
                        queue.append(w)
            if not nxt:
                break
            layers.append(nxt)
        return layers

    # ------------------------------------------------------------------ export
    def export_graphml(self, path: Path, *, include_topics: bool = False) -> Path:
        """Write the citation graph as GraphML (Gephi, yEd, Cytoscape read it).

        GraphML holds scalars only: tuples and lists become JSON arrays in a string
        (``json.loads`` gives them back), None values are left out. With
        ``include_topics`` the topic nodes (``kind="topic"``) and ``in_topic`` edges
        (paper -> topic, ``score``) are added.
        """
        out: nx.DiGraph = nx.DiGraph()
        for n, d in self.graph.nodes(data=True):
            out.add_node(n, kind="paper", **_scalars(d))
        for u, v, d in self.graph.edges(data=True):
            out.add_edge(u, v, kind="cites", **_scalars(d))
        if include_topics:
            for n, d in self.topic_graph.nodes(data=True):
                if d.get("kind") == "topic":
                    attrs = {k: x for k, x in d.items() if k not in ("bipartite", "kind")}
                    out.add_node(n, kind="topic", **_scalars(attrs))
            for u, v, d in self.topic_graph.edges(data=True):
                p, t = (u, v) if self.topic_graph.nodes[u].get("kind") == "paper" else (v, u)
                if p not in out:
                    out.add_node(p, kind="paper")
                out.add_edge(p, t, kind="in_topic", score=float(d["score"]))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        nx.write_graphml(out, path)
        return path


def _scalars(attrs: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    out: dict[str, str | int | float | bool] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool | int | float | str):
            out[key] = value
        elif isinstance(value, Sequence | set | frozenset):
            out[key] = json.dumps(list(value), ensure_ascii=False)
        else:
            out[key] = str(value)
    return out
