"""One paper's screen: details, topics, links, references and citations (with S2's
intents and citation contexts), and its citation neighbourhood laid out for drawing."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg.core.model import Paper
from kg.views.explorer import (
    NO_TOPIC,
    ExploreError,
    Explorer,
    paper_links,
    pick_scheme,
)

if TYPE_CHECKING:
    pass


#: Ego views are capped so that they stay drawable.
EGO_MAX_NODES = {1: 80, 2: 150}


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
    labels = ex.primary_labels(pick_scheme(ex, scheme)) if ex.schemes else [NO_TOPIC] * ex.n
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


__all__ = [
    "EGO_MAX_NODES",
    "EgoView",
    "Linked",
    "PaperView",
    "ego_view",
    "paper_view",
]
