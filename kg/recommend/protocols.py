"""The queries the recommender is judged on: citation hold-outs, groups and curated lists,
each query with every signal computed once (:class:`Prepared`); the in-memory graphs the
evaluations, tests and benchmarks run on.

A query gives ``read`` papers and hides ``relevant`` ones: :func:`holdout_queries` (a
target paper's references, split at random or by time), :func:`group_queries` (papers
that share a tag) and :func:`list_queries` (an expert's list: :func:`curated_lists`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.core.errors import EvaluationError
from kg.core.model import Citation, Paper
from kg.graph.citations import CitationGraph
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.fusion import DEFAULT_WEIGHTS, fuse_matrix, gate_vector, graph_trust
from kg.recommend.index import RecommendIndex
from kg.recommend.signals import (
    SIGNALS,
    graph_support,
    raw_signals,
    scaled_signals,
    signal_matrix,
)
from kg.store.corpus import OFFLINE, RESOLVED
from kg.topics.model import TopicModel
from kg.topics.schemes import build_topic_model

if TYPE_CHECKING:
    from kg.store.corpus import SeedRow

#: A curated list counts (:func:`curated_lists`, :func:`kg.recommend.tuning.auto_tune`)
#: with at least this many papers in the graph.
AUTO_LIST_SIZE = 4
#: Seed rows that are papers of the graph: resolved on S2, or kept offline as local papers.
LISTED = frozenset({RESOLVED, OFFLINE})
#: A tag (e.g. a BibTeX keyword) on more than this share of the papers is no list.
AUTO_TAG_MAX_SHARE = 0.3


# --------------------------------------------------------------------------- in-memory graphs
def in_memory_graph(
    papers: Sequence[Paper],
    citations: Iterable[Citation] = (),
    *,
    embeddings: np.ndarray,
    same_as: Mapping[str, str] | None = None,
    topics: TopicModel | None = None,
    weights: Mapping[str, float] | None = None,
    seeds: Sequence[SeedRow] = (),
    **discover: Any,
) -> KnowledgeGraph:
    """A :class:`KnowledgeGraph` built in memory (no corpus store, no files): for
    evaluations on data that is not an ingested corpus, tests and benchmarks.
    ``embeddings`` are rows aligned with ``papers``; without ``topics`` the discovered
    and S2-fields topics are built from them (``discover`` goes to the topic builder);
    ``seeds``: the seed rows of the sources (for the curated-list protocols)."""
    same_as = dict(same_as or {})
    ids = [p.paper_id for p in papers]
    vectors = np.asarray(embeddings, dtype=np.float32)
    if vectors.shape[0] != len(ids):
        raise EvaluationError(
            f"{vectors.shape[0]} embedding rows for {len(ids)} papers: give one row per paper."
        )
    if topics is None:
        topics = build_topic_model(
            list(papers), ids=ids, embeddings=vectors, same_as=same_as, **discover
        )
    graph = CitationGraph(
        papers,
        citations,
        same_as=same_as,
        seeds=seeds,
        topics=topics.topics,
        memberships=topics.memberships,
    )
    return KnowledgeGraph(
        papers={p.paper_id: p for p in papers},
        graph=graph,
        ids=ids,
        embeddings=vectors,
        title_only=np.array([not p.abstract for p in papers], dtype=bool),
        specter_ids=[],
        specter=np.zeros((0, 768), dtype=np.float32),
        topics=topics,
        seeds=list(seeds),
        same_as=same_as,
        manifest={"built_at": "in memory", "papers": len(ids)},
        weights=dict(weights) if weights else None,
    )


@dataclass(frozen=True)
class Query:
    """One hold-out query: ``read`` given, ``relevant`` hidden; ``target`` the paper whose
    references they are (None for group queries) and ``group`` the tag (group queries)."""

    read: tuple[str, ...]
    relevant: frozenset[str]
    target: str | None = None
    year: int | None = None
    group: str | None = None


# --------------------------------------------------------------------------- hold-out queries
#: How :func:`holdout_queries` splits a target's references into read and hidden.
SPLITS = ("random", "time")


def holdout_queries(
    kg: KnowledgeGraph,
    *,
    n: int | None = 200,
    min_refs: int = 8,
    seed: int = 0,
    skip: int = 0,
    split: str = "random",
) -> list[Query]:
    """Hold-out queries (see the module doc): targets drawn at random (seeded) among papers
    with >= ``min_refs`` references of known year in the graph; ``skip`` leaves out the
    first ``skip`` of the drawn order (to get a disjoint tuning set). ``split``:
    ``random`` (a seeded half of the references is read, the rest hidden: a diagnostic)
    or ``time`` (the older half read, the newer half hidden: rewards recency by
    construction, so it judges nothing at build time)."""
    if split not in SPLITS:
        raise EvaluationError(f"split must be one of {', '.join(SPLITS)}, not {split!r}.")
    index = RecommendIndex.of(kg)
    view = index.view
    known = index.recommendable & ~np.isnan(index.year)
    eligible = eligible_targets(kg, min_refs)
    if eligible.size == 0:
        raise EvaluationError(
            f"No paper has {min_refs} or more references of known year in the graph, so the "
            "citation hold-out has nothing to hide. Ingest deeper (`litkg ingest --depth 2`), "
            "rebuild, or lower min_refs."
        )
    rng = np.random.default_rng(seed)
    drawn = rng.permutation(eligible)
    drawn = drawn[skip:] if n is None else drawn[skip : skip + n]
    out = []
    for t in drawn.tolist():
        r = view.A.indices[view.A.indptr[t] : view.A.indptr[t + 1]]
        r = r[known[r] & (index.year[r] <= index.year[t])]
        tie = rng.random(r.size)
        r = r[np.lexsort((tie, index.year[r]))] if split == "time" else r[np.argsort(tie)]
        half = r.size // 2
        out.append(
            Query(
                read=tuple(index.ids[j] for j in r[:half]),
                relevant=frozenset(index.ids[j] for j in r[half:]),
                target=index.ids[t],
                year=int(index.year[t]),
            )
        )
    return out


def eligible_targets(kg: KnowledgeGraph, min_refs: int) -> np.ndarray:
    """Node numbers of the papers (of known year) with >= ``min_refs`` references of known
    year in the graph: the possible targets of the citation hold-out."""
    index = RecommendIndex.of(kg)
    known = index.recommendable & ~np.isnan(index.year)
    refs_known = np.asarray(index.view.A @ known.astype(index.view.A.dtype)).ravel()
    return np.flatnonzero(known & (refs_known >= min_refs))


@dataclass
class Prepared:
    """One query with every signal computed: candidates, their scaled and raw signals."""

    query: Query
    rows: np.ndarray  # candidate node numbers
    scaled: np.ndarray  # (m, len(SIGNALS)) scaled signals
    raw: np.ndarray  # (m, len(SIGNALS)) raw signals (for single-signal rankings)
    popularity: np.ndarray  # (m,)
    relevant: np.ndarray  # (m,) bool
    noise: np.ndarray  # (m,) tie-breaker
    cand: np.ndarray  # (n,) bool mask (empty in a pruned query)
    full_scaled: dict[str, np.ndarray]  # (empty in a pruned query)
    n_relevant: int = -1  # relevant candidates, pruned ones too (-1: relevant.sum())
    trust: float = 1.0  # how far the graph signals are trusted (fusion.graph_trust)

    def __post_init__(self) -> None:
        if self.n_relevant < 0:
            self.n_relevant = int(self.relevant.sum())

    def pruned(self, pool: int, defaults: Mapping[str, float] | None = None) -> Prepared:
        """The query on the union of the ``pool`` best candidates by each signal (scaled)
        and the ``pool`` best by the default fusion (``defaults``, else
        :data:`~kg.recommend.fusion.DEFAULT_WEIGHTS`): the fused top 10 of any weights lies
        there in practice, and tuning on it is many times cheaper. Relevant candidates
        left out still count in the ideal DCG; the full arrays are dropped."""
        m = self.rows.size
        if m <= pool:
            return replace(self, cand=np.zeros(0, dtype=bool), full_scaled={})
        weights = DEFAULT_WEIGHTS if defaults is None else defaults
        w = gate_vector(np.array([weights.get(s, 0.0) for s in SIGNALS]), self.trust)
        fused = fuse_matrix(self.scaled, w)
        cols = [self.scaled[:, i] for i in range(self.scaled.shape[1])] + [fused]
        keep = np.zeros(m, dtype=bool)
        for col in cols:
            keep[np.argpartition(-col, pool - 1)[:pool]] = True
        return Prepared(
            query=self.query,
            rows=self.rows[keep],
            scaled=self.scaled[keep],
            raw=self.raw[keep],
            popularity=self.popularity[keep],
            relevant=self.relevant[keep],
            noise=self.noise[keep],
            cand=np.zeros(0, dtype=bool),
            full_scaled={},
            n_relevant=self.n_relevant,
            trust=self.trust,
        )


def prepare(
    index: RecommendIndex, query: Query, rng: np.random.Generator, *, time_cut: bool
) -> Prepared | None:
    read = np.array(index.resolve(query.read), dtype=np.int64)
    # A hidden paper the graph does not hold (a curated list's paper outside the pool)
    # cannot be found: it counts as a miss.
    found = [index.pos.get(index.canon(r)) for r in query.relevant]
    missing = sum(1 for j in found if j is None)
    relevant_nodes = np.array(sorted({j for j in found if j is not None}), dtype=np.int64)
    base = index.recommendable.copy()
    view = index.view
    if time_cut and query.target is not None and query.year is not None:
        t = index.pos[index.canon(query.target)]
        with np.errstate(invalid="ignore"):
            keep = ~np.isnan(index.year) & (index.year <= query.year)
        keep[t] = False
        view = view.masked(keep)
        base &= keep
    base[read] = False
    base[index.title_twins(read)] = False
    rel_mask = np.zeros(index.n, dtype=bool)
    rel_mask[relevant_nodes] = True
    rel_mask &= base
    if read.size == 0 or not rel_mask.any():
        return None
    sig = raw_signals(index, read, view)
    scaled = scaled_signals(sig, base)
    rows = np.flatnonzero(base)
    raw = np.stack([sig.raw[s][rows] for s in SIGNALS], axis=1)
    pop = np.log1p(np.maximum(np.maximum(index.citation_count[rows], 0), view.indeg[rows]))
    return Prepared(
        query=query,
        rows=rows,
        scaled=signal_matrix(scaled, rows),
        raw=raw,
        popularity=pop,
        relevant=rel_mask[rows],
        noise=rng.random(rows.size),
        cand=base,
        full_scaled=scaled,
        n_relevant=int(rel_mask.sum()) + missing,
        trust=graph_trust(graph_support(sig, base)),
    )


def prepare_queries(
    kg: KnowledgeGraph, queries: Iterable[Query], *, time_cut: bool, seed: int = 0
) -> list[Prepared]:
    """Every signal of every query, computed once (queries left with no relevant
    candidate are dropped). ``time_cut``: cut the graph back to each target's time."""
    index = RecommendIndex.of(kg)
    rng = np.random.default_rng(seed + 1)
    return [p for q in queries if (p := prepare(index, q, rng, time_cut=time_cut)) is not None]


def group_queries(
    groups: Mapping[str, Collection[str]],
    *,
    n_read: int = 3,
    repeats: int = 5,
    seed: int = 0,
) -> list[Query]:
    """For each group with more than ``n_read`` + 1 papers, ``repeats`` draws of ``n_read``
    read papers; the rest of the group is relevant."""
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(groups):
        members = sorted(set(groups[name]))
        if len(members) < n_read + 2:
            continue
        for _ in range(repeats):
            pick = rng.choice(len(members), size=n_read, replace=False)
            read = tuple(members[i] for i in sorted(pick.tolist()))
            out.append(Query(read=read, relevant=frozenset(set(members) - set(read)), group=name))
    return out


def list_queries(
    lists: Mapping[str, Collection[str]],
    present: Collection[str],
    *,
    n_read: int = 2,
    repeats: int = 5,
    min_size: int = 4,
    seed: int = 0,
) -> list[Query]:
    """Curated-list queries: given ``n_read`` papers of an expert's list, recover the rest.

    For each list with >= ``min_size`` members and more than ``n_read`` of them in
    ``present`` (the pool a user would have), ``repeats`` seeded draws of ``n_read`` read
    papers among the present members; every other member is relevant, present or not, so
    a list paper missing from the pool counts as a miss. Draws repeat only when a list has
    too few present members for distinct ones."""
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(lists):
        members = sorted(set(lists[name]))
        here = [m for m in members if m in present]
        if len(members) < max(min_size, n_read + 1) or len(here) < n_read + 1:
            continue
        seen: set[tuple[str, ...]] = set()
        for _ in range(repeats * 4):
            if len(seen) >= repeats:
                break
            pick = rng.choice(len(here), size=n_read, replace=False)
            read = tuple(here[i] for i in sorted(pick.tolist()))
            if read in seen:
                continue
            seen.add(read)
            out.append(Query(read=read, relevant=frozenset(set(members) - set(read)), group=name))
    return out


def seed_sections(kg: KnowledgeGraph, min_size: int = AUTO_LIST_SIZE) -> dict[str, list[str]]:
    """The curated seed page's sections as groups: the papers listed under one
    section heading (``Papers > Induction Heads``), by graph id; sections with fewer than
    ``min_size`` papers in the graph are left out."""
    index = RecommendIndex.of(kg)
    groups: dict[str, set[str]] = {}
    for row in kg.seeds:
        if row.status not in LISTED or not row.paper_id or not row.section_path:
            continue
        j = index.pos.get(index.canon(row.paper_id))
        if j is None or not index.recommendable[j]:
            continue
        name = f"{row.source}: {' > '.join(row.section_path)}"
        groups.setdefault(name, set()).add(index.ids[j])
    return {g: sorted(m) for g, m in sorted(groups.items()) if len(m) >= min_size}


def curated_lists(
    kg: KnowledgeGraph,
    extra: Mapping[str, Collection[str]] | None = None,
    *,
    min_size: int = AUTO_LIST_SIZE,
) -> dict[str, list[str]]:
    """The expert-curated lists a graph carries, by graph id: the seed sources' sections
    (:func:`seed_sections`; a source without sections counts as one list), the tags the
    sources gave papers (BibTeX/Zotero keywords; none on more than
    :data:`AUTO_TAG_MAX_SHARE` of the papers), and ``extra`` (the user's reading lists).
    Lists with fewer than ``min_size`` papers in the graph are left out."""
    index = RecommendIndex.of(kg)

    def node_ids(ids: Iterable[str]) -> set[str]:
        out = set()
        for pid in ids:
            j = index.pos.get(index.canon(pid))
            if j is not None and index.recommendable[j]:
                out.add(index.ids[j])
        return out

    lists: dict[str, set[str]] = {g: set(m) for g, m in seed_sections(kg, min_size).items()}
    sectioned = {name.split(": ", 1)[0] for name in lists}
    whole: dict[str, list[str]] = {}
    for row in kg.seeds:
        if row.status in LISTED and row.paper_id and row.source not in sectioned:
            whole.setdefault(row.source, []).append(row.paper_id)
    for source, ids in whole.items():
        lists[f"{source} (whole list)"] = node_ids(ids)
    tags: dict[str, list[str]] = {}
    for pid, paper in kg.papers.items():
        for tag in paper.tags:
            tags.setdefault(" ".join(tag.lower().split()), []).append(pid)
    cap = AUTO_TAG_MAX_SHARE * max(1, len(kg.papers))
    for tag, ids in tags.items():
        if len(ids) <= cap:
            lists[f"tag: {tag}"] = node_ids(ids)
    for name, members in (extra or {}).items():
        lists[f"reading list: {name}"] = node_ids(members)
    return {g: sorted(m) for g, m in sorted(lists.items()) if len(m) >= min_size}


def judged_graph(kg: KnowledgeGraph) -> KnowledgeGraph:
    """The graph as the curated-list protocol must see it: without the curated topic
    scheme, which is made from the same seed-page sections the lists come from (its
    ``topic`` signal would find a section's papers by construction)."""
    curated = {t.topic_id for t in kg.topics.topics if t.scheme == "curated"}
    if not curated:
        return kg
    topics = replace(
        kg.topics,
        topics=[t for t in kg.topics.topics if t.topic_id not in curated],
        memberships=[m for m in kg.topics.memberships if m.topic_id not in curated],
    )
    return replace(kg, topics=topics)


__all__ = [
    "AUTO_LIST_SIZE",
    "AUTO_TAG_MAX_SHARE",
    "LISTED",
    "SPLITS",
    "Prepared",
    "Query",
    "curated_lists",
    "eligible_targets",
    "group_queries",
    "holdout_queries",
    "in_memory_graph",
    "judged_graph",
    "list_queries",
    "prepare",
    "prepare_queries",
    "seed_sections",
]
