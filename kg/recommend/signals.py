"""The recommender's signals: raw values for every node, then scaled to 0..1 over the
candidates (see :mod:`kg.recommend` for what each signal measures)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kg.graph.algorithms import FLOAT as _F
from kg.graph.algorithms import LOCAL_MIN_NODES, GraphView, hop
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
class TextApprox:
    """Where the text cosines are approximate (the index path, field scale). ``sims``: the
    cosines of every vector row to the ``query`` vectors (columns ``cols`` of the read and
    disliked nodes; ``mine``: the read ones); exact on the rows marked in ``exact`` (the
    index's neighbours of each query and of the read set's mean vector, an even sample,
    and what :func:`complete_text` added), a per-column typical value elsewhere. ``bound``:
    the most an inexact row's ``text`` value can be (the ``neighbours``-th largest among
    the exact rows, for the read set's mean vector). ``sample``: the nodes of the even
    sample, whose median over the candidates is the text signal's floor."""

    sims: np.ndarray
    cols: np.ndarray
    mine: np.ndarray
    query: np.ndarray
    exact: np.ndarray
    bound: float
    sample: np.ndarray
    specter_is_text: bool


@dataclass
class Signals:
    """Raw per-node signal values for one read set (arrays of length ``index.n``), plus
    what the reasons need: MiniLM cosines per embedding row to the read papers that have a
    vector (``text_sims``, rows x ``text_read``, positions in ``read``) and tf-idf cosines
    per node to the read papers that have terms (``lexical_sims``, ``lexical_read``).
    ``approx``: set when the text cosines came from the approximate index."""

    raw: dict[str, np.ndarray]
    read: np.ndarray
    text_sims: np.ndarray | None = None
    text_read: np.ndarray | None = None
    lexical_sims: np.ndarray | None = None
    lexical_read: np.ndarray | None = None
    approx: TextApprox | None = None

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
    raw = (_graph_local if n >= LOCAL_MIN_NODES else _graph_dense)(view, read, dis)
    both = read if dis is None else np.concatenate([read, dis])
    ann = index.text_ann()
    approx = None if ann is None else _approx_cosines(index, both, read.size, ann)
    if approx is None:
        sims, cols = _cosines(index.embeddings, index.emb_row, both)
    else:
        sims, cols = approx.sims, approx.cols
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
        raw["dislike_text"] = _blend(sims, cols, ~mine, index.emb_row, index.emb_identity, 1.0)
    read_sims = None if sims is None or mine.all() else sims[:, mine]
    text_sims = read_sims if read_sims is not None else sims
    return Signals(raw, read, text_sims, cols[mine], lex, lcols, approx)


def _graph_dense(
    view: GraphView, read: np.ndarray, dis: np.ndarray | None
) -> dict[str, np.ndarray]:
    """The graph signals by products over every node (exact; below field scale), with
    ``dis``, also the co-citation and coupling with the disliked papers."""
    n = view.A.shape[0]
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
    if dis is not None:
        raw["dislike_cocitation"] = coc[:, 1]
        raw["dislike_coupling"] = cpl[:, 1]
    return raw


def _graph_local(
    view: GraphView, read: np.ndarray, dis: np.ndarray | None
) -> dict[str, np.ndarray]:
    """:func:`_graph_dense`'s values gathered from the read (and disliked) papers'
    neighbourhoods (:func:`kg.graph.algorithms.hop`, :meth:`GraphView.ppr_push`): at field
    scale a query then costs its neighbourhood, not the graph. The same values, summed in
    another order (and personalised PageRank to its push tolerance)."""
    n = view.A.shape[0]

    def dense(cols: np.ndarray, vals: np.ndarray, dtype: type = _F) -> np.ndarray:
        out = np.zeros(n, dtype=dtype)
        out[cols] = vals
        return out

    def cocitation(nodes: np.ndarray) -> np.ndarray:
        # citers of the nodes (weighted), then what those citers cite
        citers, w = hop(view.AT, nodes, view.inv_in[nodes].astype(np.float64))
        cols, vals = hop(view.A, citers, w * view.aa_out[citers])
        return dense(cols, vals * view.inv_in[cols])

    def coupling(nodes: np.ndarray) -> np.ndarray:
        # the nodes' references (weighted), then what else cites them
        refs, w = hop(view.A, nodes, view.inv_out[nodes].astype(np.float64))
        cols, vals = hop(view.AT, refs, w * view.aa_in[refs])
        return dense(cols, vals * view.inv_out[cols])

    ones = np.ones(read.size)
    raw: dict[str, np.ndarray] = {}
    refs, counts = hop(view.A, read, ones)
    raw["cited_by"] = dense(refs, counts)
    citers, counts = hop(view.AT, read, ones)
    raw["cites"] = dense(citers, counts)
    raw["cocitation"] = cocitation(read)
    cols, vals = hop(view.A, citers, counts)
    raw["cocited"] = dense(cols, vals, np.float64)
    raw["coupling"] = coupling(read)
    raw["ppr"] = view.ppr_push(read)
    if dis is not None:
        raw["dislike_cocitation"] = cocitation(dis)
        raw["dislike_coupling"] = coupling(dis)
    return raw


def _blend_all(sims: np.ndarray | None, n: int, max_share: float = TEXT_MAX_SHARE) -> np.ndarray:
    """Per node: ``max_share`` * max + the rest * mean of its similarities (0 without any)."""
    if sims is None:
        return np.zeros(n)
    return _blend_rows(sims, max_share)


#: Vector rows sampled evenly on the index path: their cosines are exact and their median
#: over the candidates is the text signal's floor (:func:`_scale_floor`), an unbiased
#: estimate of the exact path's median over every candidate.
_FLOOR_SAMPLE = 16384


def _cosines(
    vectors: np.ndarray, rows: np.ndarray, nodes: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray]:
    """(cosines of every vector row to the ``nodes`` that have a vector, their positions in
    ``nodes``): one dense product over all vectors."""
    cols = np.flatnonzero(rows[nodes] >= 0)
    if cols.size == 0 or vectors.size == 0:
        return None, cols
    return vectors @ vectors[rows[nodes[cols]]].T, cols


def _floor_sample(index: RecommendIndex) -> tuple[np.ndarray, np.ndarray]:
    """The even sample's vector rows and their vectors, gathered once and kept with the
    index (at 1M papers 16k scattered rows of a 3 GB memory-mapped matrix, read per query
    otherwise)."""
    vectors = index.embeddings
    if index.floor_sample is None:
        sample = np.unique(np.linspace(0, vectors.shape[0] - 1, _FLOOR_SAMPLE).astype(np.int64))
        index.floor_sample = (sample, np.ascontiguousarray(vectors[sample]))
    return index.floor_sample


def _approx_cosines(
    index: RecommendIndex, nodes: np.ndarray, n_read: int, ann: TextAnnIndex
) -> TextApprox | None:
    """The index path of :func:`_cosines` (field scale): exact cosines on the rows among the
    ``index.text_neighbours`` nearest of any of ``nodes`` or of the read set's mean vector
    (the ``text`` signal's own direction), and on an even sample of rows; every other row
    gets, per column, the sample's median. The rows that can still reach the top are made
    exact later (:func:`text_headroom`, :func:`complete_text`). ``None`` when no node
    has a vector (nothing to approximate)."""
    vectors, rows = index.embeddings, index.emb_row
    cols = np.flatnonzero(rows[nodes] >= 0)
    if cols.size == 0 or vectors.size == 0:
        return None
    query = vectors[rows[nodes[cols]]]
    mine = cols < n_read
    asked = query
    centred = False
    if mine.any():
        centre = query[mine].mean(axis=0)
        norm = float(np.linalg.norm(centre))
        if norm > 0:
            asked = np.vstack([query, centre / norm])
            centred = True
    k = index.text_neighbours
    sample, sample_vectors = _floor_sample(index)
    near = np.union1d(ann.neighbours(asked, k), sample)
    # The sample's rows are held in memory (read once per index); only the neighbours'
    # rows are read from the (memory-mapped) matrix per query.
    part = np.empty((near.size, query.shape[0]), dtype=np.result_type(vectors, query))
    at = np.searchsorted(near, sample)
    part[at] = sample_vectors @ query.T
    rest = np.ones(near.size, dtype=bool)
    rest[at] = False
    if rest.any():
        part[rest] = vectors[near[rest]] @ query.T
    sims = np.empty((vectors.shape[0], cols.size), dtype=part.dtype)
    sims[:] = np.median(part[at], axis=0)
    sims[near] = part
    exact = np.zeros(vectors.shape[0], dtype=bool)
    exact[near] = True
    bound = -np.inf if near.size == vectors.shape[0] else np.inf
    if mine.any() and k < near.size < vectors.shape[0]:
        # A row outside a query's k nearest is below its k-th nearest, hence below the
        # k-th largest cosine among the exact rows (they hold those k): per read column,
        # and for the mean cosine (the read set's mean vector was asked too).
        mine_part = part[:, mine]
        per = np.partition(mine_part, near.size - k, axis=0)[near.size - k]
        bound = float(per.max())
        if centred:
            mean = mine_part.mean(axis=1)
            mean_k = float(np.partition(mean, near.size - k)[near.size - k])
            bound = TEXT_MAX_SHARE * bound + (1 - TEXT_MAX_SHARE) * mean_k
    in_sample = np.zeros(vectors.shape[0], dtype=bool)
    in_sample[sample] = True
    sampled = (rows >= 0) & in_sample[np.maximum(rows, 0)]
    return TextApprox(sims, cols, mine, query, exact, bound, sampled, index.specter_is_text)


def _blend_rows(
    part: np.ndarray, max_share: float = TEXT_MAX_SHARE, cols: Sequence[int] | None = None
) -> np.ndarray:
    """Per row: ``max_share`` * max + the rest * mean of its cosines (of the columns
    ``cols``, all by default). Column by column: a matrix of a million rows and a few
    columns reduces several times faster so than along its rows (the same sums in the same
    order up to 7 columns, so the values are the row-wise ``max`` and ``mean``'s)."""
    use = range(part.shape[1]) if cols is None else cols
    if len(use) > 7:  # numpy sums longer rows in 8 lanes: its own reduction, same values
        sub = part if cols is None else part[:, list(cols)]
        return np.asarray(max_share * sub.max(axis=1) + (1 - max_share) * sub.mean(axis=1))
    first, *rest = use
    total = part[:, first].copy()
    for c in rest:
        total += part[:, c]
    mean = total / len(use)
    if max_share == 0.0:
        return mean
    top = part[:, first].copy()
    for c in rest:
        np.maximum(top, part[:, c], out=top)
    return np.asarray(max_share * top + (1 - max_share) * mean)


def _loose(index: RecommendIndex, approx: TextApprox) -> np.ndarray:
    """Nodes whose text cosines are not exact."""
    has = index.emb_row >= 0
    return has & ~approx.exact[np.maximum(index.emb_row, 0)]


def complete_text(index: RecommendIndex, sig: Signals, nodes: np.ndarray) -> int:
    """Make the text cosines of ``nodes`` exact (a gather of their vector rows), and their
    ``text``, ``specter`` (when it is the text) and ``dislike_text`` values with them. The
    number of vector rows computed; 0 on the exact path."""
    ap = sig.approx
    if ap is None:
        return 0
    nodes = np.asarray(nodes, dtype=np.int64)
    nodes = nodes[index.emb_row[nodes] >= 0]
    rows = np.unique(index.emb_row[nodes])
    rows = rows[~ap.exact[rows]]
    if rows.size > ap.exact.size // 4:
        # Many rows: one dense product is cheaper than a gather of them.
        ap.sims[:] = index.embeddings @ ap.query.T
        rows = np.flatnonzero(~ap.exact)
        ap.exact[:] = True
        nodes = np.flatnonzero(index.emb_row >= 0)
        if sig.text_sims is not None and sig.text_sims is not ap.sims:
            sig.text_sims[:] = ap.sims[:, ap.mine]
    elif rows.size:
        part = index.embeddings[rows] @ ap.query.T
        ap.sims[rows] = part
        ap.exact[rows] = True
        if sig.text_sims is not None and sig.text_sims is not ap.sims:
            sig.text_sims[rows] = part[:, ap.mine]
    at = ap.sims[index.emb_row[nodes]]
    raw = sig.raw
    if ap.mine.any():
        raw["text"][nodes] = _blend_rows(at[:, ap.mine])
        if index.specter_is_text:
            keep = index.spec_row[nodes] >= 0
            raw["specter"][nodes[keep]] = raw["text"][nodes[keep]]
    if "dislike_text" in raw and not ap.mine.all():
        raw["dislike_text"][nodes] = _blend_rows(at[:, ~ap.mine], 1.0)
    return int(rows.size)


def text_headroom(
    index: RecommendIndex, sig: Signals, cand: np.ndarray, now: np.ndarray
) -> np.ndarray | None:
    """How far each node's scaled ``text`` signal (``now``, :func:`scaled_signals`'s; same
    floor and top) could rise if its cosines were exact: 0 where they are; for the others,
    the scaled bound less the scaled value. ``None`` on the exact path."""
    ap = sig.approx
    if ap is None:
        return None
    raw = sig.raw
    loose = _loose(index, ap)
    text = raw["text"].copy()
    text[loose] = np.maximum(text[loose], ap.bound)
    spec = raw["specter"]
    if index.specter_is_text:
        spec = np.where(index.spec_row >= 0, text, np.nan)
    high = _scaled_text(text, spec, cand, sig, ref=(raw["text"], raw["specter"]))
    return np.where(loose, np.maximum(high - now, 0.0), 0.0)


def scaled_text(sig: Signals, cand: np.ndarray) -> np.ndarray:
    """The scaled ``text`` signal alone (:func:`scaled_signals`' ``text``)."""
    return _scaled_text(sig.raw["text"], sig.raw["specter"], cand, sig)


def text_tops(sig: Signals, cand: np.ndarray) -> tuple[float, ...]:
    """The largest ``text``, ``specter`` and ``dislike_text`` values over the candidates
    (the tops of their scales; NaN where none has one)."""
    out = []
    for name in ("text", "specter", "dislike_text"):
        top = _cand_max(sig.raw[name], cand) if name in sig.raw else -np.inf
        out.append(math.nan if top == -np.inf else top)
    return tuple(out)


def exact_text(index: RecommendIndex, sig: Signals) -> np.ndarray:
    """Nodes whose text cosines are exact (every node on the exact path)."""
    if sig.approx is None:
        return np.ones(index.n, dtype=bool)
    return ~_loose(index, sig.approx)


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
    blend = _blend_rows(sims, max_share, np.flatnonzero(use).tolist())
    if identity:
        out[: blend.size] = blend
    else:
        has = rows >= 0
        out[has] = blend[rows[has]]
    return out


def _cand_max(v: np.ndarray, cand: np.ndarray) -> float:
    """The largest value of ``v`` over the candidates ``cand`` (a mask), NaNs skipped;
    -inf when there is none. One pass, no gathered copy (at 1M nodes the copies cost)."""
    return float(np.fmax.reduce(v, where=cand, initial=-np.inf))


def _unit(out: np.ndarray) -> np.ndarray:
    """``out`` clipped to 0..1 in place, NaN -> 0."""
    np.fmax(out, 0.0, out=out)
    np.fmin(out, 1.0, out=out)
    return out


def _scale_max(v: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """``v`` over its largest value among the candidates, clipped to 0..1; NaN -> 0."""
    top = _cand_max(v, cand)
    if not top > 0:
        return np.zeros(v.shape, dtype=v.dtype)
    return _unit(v / top)


def _floor_top(
    r: np.ndarray, cand: np.ndarray, sample: np.ndarray | None = None
) -> tuple[float, float] | None:
    """The floor (median over the candidates ``cand``, or over the sampled ones) and top
    (max) of ``r``'s non-NaN values: :func:`_scale_floor`'s scale (``None``: nothing to
    scale, every value 0)."""
    ok = cand & ~np.isnan(r)
    top = _cand_max(r, ok)
    if top == -np.inf:
        return None
    some = None if sample is None else r[ok & sample]
    floor = float(np.median(r[ok] if some is None or not some.size else some))
    return None if top <= floor else (floor, top)


def _on_scale(v: np.ndarray, scale: tuple[float, float] | None) -> np.ndarray:
    if scale is None:
        return np.zeros(v.size)
    floor, top = scale
    return _unit((v - floor) / (top - floor))


def _scale_floor(
    v: np.ndarray,
    cand: np.ndarray,
    sample: np.ndarray | None = None,
    ref: np.ndarray | None = None,
) -> np.ndarray:
    """(v - median) / (max - median) over candidates, clipped to 0..1; NaN -> 0. With
    ``sample`` (nodes), the median over the sampled candidates; with ``ref``, the median
    and max are ``ref``'s (the scale of another set of values)."""
    return _on_scale(v, _floor_top(v if ref is None else ref, cand, sample))


def scaled_signals(sig: Signals, cand: np.ndarray) -> dict[str, np.ndarray]:
    """Each signal scaled to 0..1 over the candidates ``cand`` (a boolean mask)."""
    raw = sig.raw
    out = {name: _scale_max(raw[name], cand) for name in ("cited_by", "cites", "ppr")}
    out["cocitation"] = _scale_max(raw["cocitation"], cand)
    out["cocited"] = _scale_max(np.log1p(raw["cocited"]), cand)
    out["coupling"] = _scale_max(raw["coupling"], cand)
    out["text"] = _scaled_text(raw["text"], raw["specter"], cand, sig)
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
    counts = sig.raw["cocited"]
    size = int(np.count_nonzero(cand))
    if size == 0:
        return 0.0
    top = min(SUPPORT_TOP, size)
    # Few papers are co-cited with the read set at all: the top is among those.
    vals = counts[cand & (counts > 0)]
    if vals.size > top:
        vals = np.partition(vals, vals.size - top)[vals.size - top :]
    return float(vals.sum() / top)


@dataclass(frozen=True)
class TextScale:
    """The scaled ``text`` signal's scale over the candidates, fixed: the text cosines'
    and SPECTER's (floor, top) (``None``: all 0, :func:`_text_floors`), and the tops of
    :func:`text_tops`. Rows whose cosines are made exact later are scored on it
    (:meth:`at`) as long as none of them rises above a top (:meth:`moved`)."""

    floors: tuple[tuple[float, float] | None, tuple[float, float] | None]
    tops: tuple[float, ...]

    def at(self, sig: Signals, nodes: np.ndarray) -> np.ndarray:
        """The scaled ``text`` signal at ``nodes``."""
        return _on_text_scale(sig.raw["text"][nodes], sig.raw["specter"][nodes], self.floors)

    def moved(self, sig: Signals, cand: np.ndarray, nodes: np.ndarray) -> bool:
        """Whether a candidate among ``nodes`` now tops one of the three scales."""
        mine = nodes[cand[nodes]]
        for name, top in zip(("text", "specter", "dislike_text"), self.tops, strict=True):
            if name not in sig.raw or not mine.size:
                continue
            vals = sig.raw[name][mine]
            high = float(np.fmax.reduce(vals, initial=-np.inf))
            if high > top or (math.isnan(top) and high > -np.inf):
                return True
        return False


def text_scale(sig: Signals, cand: np.ndarray) -> TextScale:
    """The ``text`` signal's scale over the candidates now (:class:`TextScale`)."""
    raw = sig.raw
    return TextScale(_text_floors(raw["text"], raw["specter"], cand, sig), text_tops(sig, cand))


def _text_floors(
    text: np.ndarray, spec: np.ndarray, cand: np.ndarray, sig: Signals
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """The (floor, top) of the text cosines and of SPECTER's over the candidates. On the
    index path the text cosines' floor is the median of the sampled candidates."""
    ap = sig.approx
    sample = None if ap is None else ap.sample
    # SPECTER's own cosines are exact (a dense product) unless they are the text's.
    spec_sample = sample if ap is not None and ap.specter_is_text else None
    return _floor_top(text, cand, sample), _floor_top(spec, cand, spec_sample)


def _on_text_scale(
    text: np.ndarray,
    spec: np.ndarray,
    floors: tuple[tuple[float, float] | None, tuple[float, float] | None],
) -> np.ndarray:
    """The text cosines and SPECTER's on their scales, averaged where a node has both."""
    out = _on_scale(text, floors[0])
    has = ~np.isnan(spec)
    if has.any():
        out = np.where(has, 0.5 * (out + _on_scale(spec, floors[1])), out)
    return out


def _scaled_text(
    text: np.ndarray,
    spec: np.ndarray,
    cand: np.ndarray,
    sig: Signals,
    ref: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The scaled ``text`` signal: the text cosines' and SPECTER's floor scales, averaged
    where a node has both; with ``ref``, the floors and tops are those of ``ref``."""
    text_ref, spec_ref = (text, spec) if ref is None else ref
    return _on_text_scale(text, spec, _text_floors(text_ref, spec_ref, cand, sig))


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
    sample = None if sig.approx is None else sig.approx.sample
    return np.maximum(_scale_floor(raw["dislike_text"], cand, sample), graph)


__all__ = [
    "GRAPH_SIGNALS",
    "PRIORS",
    "RECENCY_HALF_LIFE",
    "SIGNALS",
    "SUPPORT_TOP",
    "TEXT_MAX_SHARE",
    "Signals",
    "TextApprox",
    "TextScale",
    "complete_text",
    "dislike_penalty",
    "exact_text",
    "graph_support",
    "raw_signals",
    "scaled_signals",
    "scaled_text",
    "signal_matrix",
    "text_headroom",
    "text_scale",
    "text_tops",
]
