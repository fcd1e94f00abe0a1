"""The recommender's signals: raw values for every node, then scaled to 0..1 over the
candidates (see :mod:`kg.recommend` for what each signal measures)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kg.graph.algorithms import FLOAT as _F
from kg.graph.algorithms import GraphView
from kg.recommend.index import RecommendIndex
from kg.text.ann import TextAnnIndex
from kg.text.lexical import LEXICAL_MAX_SHARE

#: The signals, in the order of :func:`signal_matrix` columns.
SIGNALS: tuple[str, ...] = (
    "cited_by",
    "cites",
    "cocitation",
    "cocited",
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
#: set: they raise a candidate's evidence (:func:`kg.recommend.fusion.fuse`) and never rank
#: a paper alone.
PRIORS: tuple[str, ...] = ("influence", "recency")

#: Signals that are statistics over the citation graph: how much weight they keep depends
#: on how much co-citation evidence the read set has in the graph (:func:`graph_support`,
#: :func:`kg.recommend.fusion.gate_weights`). A direct link (``cites``, ``cited_by``) is
#: one fact, as telling in a small graph as in a large one, and keeps its weight.
GRAPH_SIGNALS: tuple[str, ...] = ("cocitation", "cocited", "coupling", "ppr")

#: :func:`graph_support` averages the co-citation counts of this many best candidates.
SUPPORT_TOP = 20

#: text = share * max cosine + (1 - share) * mean cosine over R. The mean (the cosine to
#: R's summed vector) beat 0.25 and 0.5 on the tag/keyword evaluations (RESULTS.md).
TEXT_MAX_SHARE = 0.0
RECENCY_HALF_LIFE = 4.0  # years


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
    # How many times each paper is cited together with a read paper, counted, not
    # normalised: the central papers of the read set's topic come first.
    raw["cocited"] = np.asarray(view.AT @ (view.A @ x[:, 0]), dtype=np.float64)
    raw["coupling"] = cpl[:, 0]
    raw["ppr"] = view.ppr(read)
    both = read if dis is None else np.concatenate([read, dis])
    ann = index.text_ann()
    sims, cols = _cosines(index.embeddings, index.emb_row, both, ann, index.text_neighbours)
    mine = cols < read.size
    raw["text"] = _blend(sims, cols, mine, index.emb_row, index.emb_identity)
    lex, lcols = index.lexical.similarities(read)
    raw["lexical"] = _blend_all(lex, index.n, LEXICAL_MAX_SHARE)
    if index.specter_is_text:
        # The text vectors are the SPECTER ones: the same cosines (NaN where S2 has none).
        raw["specter"] = np.where(index.spec_row >= 0, raw["text"], np.nan)
    else:
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


#: Rows sampled for the typical cosine of the rows the approximate index leaves out.
_FLOOR_SAMPLE = 4096


def _cosines(
    vectors: np.ndarray,
    rows: np.ndarray,
    nodes: np.ndarray,
    ann: TextAnnIndex | None = None,
    neighbours: int = 0,
) -> tuple[np.ndarray | None, np.ndarray]:
    """(cosines of every vector row to the ``nodes`` that have a vector, their positions in
    ``nodes``): one dense product over all vectors. With ``ann`` (field scale), exact
    cosines on the rows among the ``neighbours`` nearest of any of the nodes only; every
    other row gets, per column, the median cosine of a sample of all rows."""
    cols = np.flatnonzero(rows[nodes] >= 0)
    if cols.size == 0 or vectors.size == 0:
        return None, cols
    query = vectors[rows[nodes[cols]]]
    if ann is None:
        return vectors @ query.T, cols
    near = ann.neighbours(query, neighbours)
    part = vectors[near] @ query.T
    # Rows the index did not return are far from every read paper: they get the median
    # cosine of an even sample of all rows (per column), so that the text signal's floor
    # (the median over the candidates, :func:`_scale_floor`) stays near the exact one.
    sample = np.unique(np.linspace(0, vectors.shape[0] - 1, _FLOOR_SAMPLE).astype(np.int64))
    sims = np.empty((vectors.shape[0], cols.size), dtype=part.dtype)
    sims[:] = np.median(vectors[sample] @ query.T, axis=0)
    sims[near] = part
    return sims, cols


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
    out["cocited"] = _scale_max(np.log1p(raw["cocited"]), cand)
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


def graph_support(sig: Signals, cand: np.ndarray) -> float:
    """How much the citation graph knows about the read set: the mean co-citation count
    (``cocited``) of the :data:`SUPPORT_TOP` most co-cited candidates. Read papers that
    few papers of the graph cite (new preprints, a corner of the field the crawl barely
    reached) give little, and their graph signals are mostly noise."""
    vals = np.nan_to_num(sig.raw["cocited"][cand])
    if vals.size == 0:
        return 0.0
    top = min(SUPPORT_TOP, vals.size)
    return float(np.partition(vals, vals.size - top)[vals.size - top :].mean())


def signal_matrix(scaled: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """(len(rows), len(SIGNALS)) float32 matrix of the scaled signals at ``rows``."""
    return np.stack([scaled[s][rows] for s in SIGNALS], axis=1).astype(np.float32)


def dislike_penalty(sig: Signals, cand: np.ndarray) -> np.ndarray:
    """Closeness to the disliked papers, 0..1: the larger of text (max cosine) and
    co-citation/coupling, each scaled over the candidates."""
    raw = sig.raw
    graph = np.maximum(
        _scale_max(raw["dislike_cocitation"], cand), _scale_max(raw["dislike_coupling"], cand)
    )
    return np.maximum(_scale_floor(raw["dislike_text"], cand), graph)


__all__ = [
    "GRAPH_SIGNALS",
    "PRIORS",
    "RECENCY_HALF_LIFE",
    "SIGNALS",
    "SUPPORT_TOP",
    "TEXT_MAX_SHARE",
    "Signals",
    "dislike_penalty",
    "graph_support",
    "raw_signals",
    "scaled_signals",
    "signal_matrix",
]
