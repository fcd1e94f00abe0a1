"""The Explore page's search: title / author / full-text search and semantic search.

Full-text queries go through the corpus's SQLite FTS5 index (:mod:`kg.store.search`);
semantic search embeds the query with the model that embedded the papers
(:func:`query_embedder`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.core.errors import ConfigError
from kg.graph.knowledge import MANIFEST
from kg.text.embed import FakeEmbedder, MiniLMEmbedder
from kg.views.explorer import (
    NO_TOPIC,
    ExploreError,
    Explorer,
    SearchFilters,
    fold,
    paper_row,
    pick_scheme,
)

if TYPE_CHECKING:
    from kg.build import KnowledgeGraph
    from kg.core.settings import Settings
    from kg.text.embed import Embedder


#: Search fields; ``semantic`` embeds the query.
SEARCH_FIELDS = ("all", "title", "author", "text", "semantic")
#: Sort orders of search results.
SORTS = ("relevance", "citations", "newest", "oldest", "title")


def _has_onnxruntime() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


class SemanticSearchUnavailable(ExploreError):
    """The graph's text vectors are S2's SPECTER ones (a field-scale build): there is no
    local SPECTER query encoder, so a query cannot be put in their space."""


#: What semantic search says on a graph built on SPECTER text vectors.
SEMANTIC_UNAVAILABLE = (
    "Semantic search is unavailable for this graph: its text vectors are S2's SPECTER "
    "vectors (a field-scale build), and litkg has no local SPECTER query encoder. Search "
    "the text (field `text`) instead, or rebuild with LITKG_TEXT_VECTORS=minilm."
)


def semantic_available(manifest: Mapping[str, Any]) -> bool:
    """Whether semantic search can embed a query for a graph with this manifest."""
    return str(manifest.get("text_vectors") or "minilm") != "specter"


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

    manifest: Mapping[str, Any] = kg.manifest if kg is not None else {}
    if kg is None:
        try:
            manifest = json.loads((settings.graph_dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
    if not semantic_available(manifest):
        raise SemanticSearchUnavailable(SEMANTIC_UNAVAILABLE)
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
    ``text`` (title, abstract, TLDR): every query word must occur as a word, the last one
    also as the start of a word (:func:`kg.store.search.match_expression`: any text is a
    valid query); ranked by bm25 (a title hit weighing most) times the log of the paper's
    citations, so that among like matches the most cited comes first.
    ``semantic``: cosine of the query's embedding (``embedder``) to the papers'. An empty
    query lists the filtered papers, most cited first.
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
        if not semantic_available(ex.kg.manifest):
            raise SemanticSearchUnavailable(SEMANTIC_UNAVAILABLE)
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
        items, bm25 = ex.fulltext(query, field)
        best = np.full(ex.n, -np.inf)
        np.maximum.at(best, items, bm25)  # twins: the better match
        hit = best > -np.inf
        # a paper's citations weigh in (log-scaled): the classic first among like matches
        score[hit] = best[hit] * np.log(np.e + ex.citations[hit])
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
        keys = [fold(ex.papers[j].title) for j in idx.tolist()]
        order = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
    chosen = idx[order[:limit]] if idx.size else idx
    labels = ex.primary_labels(pick_scheme(ex, None)) if ex.schemes else [NO_TOPIC] * ex.n
    rows = [paper_row(ex, j, labels) for j in chosen.tolist()]
    if query:
        for r, j in zip(rows, chosen.tolist(), strict=True):
            r["score"] = round(float(score[j]), 4)
    return SearchResult(rows, total, field, time.perf_counter() - started)


__all__ = [
    "SEARCH_FIELDS",
    "SEMANTIC_UNAVAILABLE",
    "SORTS",
    "SearchResult",
    "SemanticSearchUnavailable",
    "query_embedder",
    "search",
    "semantic_available",
]
