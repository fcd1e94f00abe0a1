"""Graph algorithms on the citation matrix: one engine for the recommender, the
evaluation and :class:`kg.graph.citations.CitationGraph`.

:class:`GraphView` holds a CSR citation matrix ``A`` (``A[i, j] = 1``: ``i`` cites ``j``)
of the whole graph, or (for the evaluation) of a graph with some papers' edges removed
(:meth:`GraphView.masked`), with its transpose and degrees. Its algorithms come in two
shapes:

* over every node at once, as sparse matrix-vector products (the recommender scores all
  candidates of a query together): PageRank (:meth:`GraphView.pagerank`, the same power
  iteration and dangling-node rule as ``nx.pagerank``, so they agree with it to the
  tolerance), centrality within the graph (:meth:`GraphView.centrality`), personalised
  PageRank on the undirected citation walk (:meth:`GraphView.ppr`);
* for a few query papers, gathered straight from the CSR rows they need (a query costs
  time in proportion to its neighbourhood, not to the graph, and ``A.T @ A`` is never
  materialised): citing and cited counts, co-citation (``A.T @ A``) and bibliographic
  coupling (``A @ A.T``), plain or Salton-normalised (:meth:`GraphView.cocitation`,
  :meth:`GraphView.coupling`).

Counts are *within the graph*: in-degree counts only the citing papers it holds.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from kg.core.errors import KGError

#: Sparse matrices and graph vectors are float32: half the memory traffic of float64 in
#: the matrix-vector products that dominate a query (counts stay exact below 2**24).
FLOAT = np.float32
_F = FLOAT

# Signal shapes of the recommender (chosen on the evaluation, see kg.recommend.evaluate
# and RESULTS.md).
PPR_ALPHA = 0.5  # continue-probability of the walk (restart 0.5: stays near the read set)
PPR_TOL = 1e-6
PPR_MAX_ITER = 50
CENTRALITY_ALPHA = 0.85
CENTRALITY_MAX_ITER = 100

#: From this many nodes up (field scale), a query's graph signals are gathered from the
#: read set's neighbourhood (:meth:`GraphView.ppr_push` and the :func:`hop` gathers) instead
#: of products over every node: a query then costs what its neighbourhood costs. Below it
#: the products over every node are kept (exact, and cheap at that size).
LOCAL_MIN_NODES = 100_000
#: :meth:`GraphView.ppr_push` stops pushing from a node once its residual is below this
#: share of its degree: each value is then low by at most about ``eps * degree``, and a
#: query pushes at most ``1 / ((1 - alpha) * eps)`` edges, whatever the graph's size.
PPR_PUSH_EPS = 1e-7


class GraphError(KGError):
    """A graph query cannot be answered (unknown paper, bad parameters, no convergence)."""


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
        self._walk_degree = np.zeros(0)
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
            self._walk_degree = deg.astype(np.float64)
        assert self._dangling is not None
        return self._walk, self._dangling

    def centrality(self) -> np.ndarray:
        """PageRank within this graph (a citation passes rank to the cited paper; dangling
        papers spread theirs uniformly), scaled so the mean is 1: how central a paper is
        to the pool, whatever the world outside cites it (computed once)."""
        if self._centrality is None:
            n = self.A.shape[0]
            x, _ = self._power(CENTRALITY_ALPHA, None, PPR_TOL, CENTRALITY_MAX_ITER)
            self._centrality = np.asarray(x * n)
        return self._centrality

    def pagerank(
        self,
        alpha: float = 0.85,
        *,
        personalization: np.ndarray | None = None,
        tol: float = 1e-10,
        max_iter: int = 1000,
    ) -> np.ndarray:
        """Global PageRank over citations (a citation passes rank to the cited paper), per
        node, summing to 1.

        Dangling papers (no references in the graph) spread their rank uniformly, as
        ``nx.pagerank`` does; with ``personalization`` (restart weights per node, summing
        to 1) the walk restarts there and dangling papers jump there too
        (``nx.pagerank(personalization=...)`` does the same). ``tol`` is on the L1 change
        between iterations; :class:`GraphError` when it is not reached in ``max_iter``.
        """
        if not 0.0 < alpha < 1.0:
            raise GraphError(f"alpha must be in (0, 1), got {alpha}")
        if self.A.shape[0] == 0:
            return np.zeros(0)
        x, converged = self._power(alpha, personalization, tol, max_iter)
        if not converged:
            raise GraphError(
                f"PageRank did not converge to {tol:g} in {max_iter} iterations; "
                f"raise max_iter or loosen tol."
            )
        return np.asarray(x / x.sum())

    def _power(
        self, alpha: float, p: np.ndarray | None, tol: float, max_iter: int
    ) -> tuple[np.ndarray, bool]:
        """Power iteration of the directed citation walk from the uniform vector (float64):
        restart and dangling mass go to ``p``, or uniformly when it is None. Returns the
        last iterate and whether the L1 change fell below ``tol``."""
        n = self.A.shape[0]
        x = np.full(n, 1.0 / max(n, 1), dtype=np.float64)
        if not n:
            return x, True
        out = self.outdeg.astype(np.float64)
        dangling = out == 0
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=~dangling)
        walk = (sp.diags(inv) @ self.A).T.tocsr()  # column-stochastic: one matvec per step
        for _ in range(max_iter):
            last = x
            if p is None:
                x = alpha * (walk @ last + last[dangling].sum() / n) + (1.0 - alpha) / n
            else:
                x = alpha * (walk @ last + last[dangling].sum() * p) + (1.0 - alpha) * p
            if np.abs(x - last).sum() < tol:
                return x, True
        return x, False

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

    def ppr_push(
        self, read: np.ndarray, alpha: float = PPR_ALPHA, eps: float = PPR_PUSH_EPS
    ) -> np.ndarray:
        """:meth:`ppr` by pushing residual mass outwards from ``read`` (the Neumann series
        ``(1 - alpha) sum_t (alpha W)^t p`` of the same walk, dangling mass restarting at
        ``read``), each round from every node whose residual is at least ``eps`` times its
        degree, all at once (:func:`hop`). What is left unpushed is dropped, so each value
        is at most ``eps * degree`` (summed over the rounds) below :meth:`ppr`'s; the work
        is the read set's neighbourhood, not the graph."""
        m, dangling = self.walk()
        n = m.shape[0]
        x = np.zeros(n, dtype=np.float64)
        if read.size == 0:
            return x.astype(_F)
        deg = self._walk_degree
        idx = np.asarray(read, dtype=np.int64)
        val = np.full(idx.size, 1.0 / read.size)
        restart = idx.copy()
        for _ in range(PPR_MAX_ITER):
            x[idx] += (1.0 - alpha) * val
            dead = dangling[idx]
            lost = float(val[dead].sum())
            live = idx[~dead]
            push = val[~dead]
            keep = push >= eps * deg[live]
            live, push = live[keep], push[keep]
            if not live.size and lost == 0.0:
                break
            # Row j of the column-stochastic walk is links(j, .) / deg(.): what j's
            # neighbours receive from it, once multiplied back by their own degree.
            cols, vals = hop(m, live, push / deg[live], weighted=True)
            vals = vals * deg[cols]
            if lost:
                cols = np.concatenate([cols, restart])
                vals = np.concatenate([vals, np.full(restart.size, lost / restart.size)])
                cols, inverse = np.unique(cols, return_inverse=True)
                vals = np.bincount(inverse, weights=vals)
            idx, val = cols.astype(np.int64), alpha * vals
            if float(val.sum()) < PPR_TOL:
                break
        return x.astype(_F)

    # ------------------------------------------------------------------ sparse gathers
    # A and A.T are both kept as CSR and a query's products are gathered straight from the
    # rows it needs (:func:`hop`), so a query costs time in proportion to its neighbourhood
    # (its citers' reference lists, or its references' citer lists), not to the graph.
    def cited_by(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns, counts): how many of the papers ``rows`` cite each paper."""
        return hop(self.A, rows, np.ones(rows.size))

    def cites(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns, counts): how many of the papers ``rows`` each paper cites."""
        return hop(self.AT, rows, np.ones(rows.size))

    def cocitation(
        self, rows: np.ndarray, *, normalise: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of ``sum_q (A.T A)[q, :]`` over the papers ``q`` in ``rows``:
        (citing paper, query paper) pairs where the citing paper cites both; with
        ``normalise`` each term is Salton's cosine, ``C[q, o] / sqrt(indeg(q) indeg(o))``.
        The query papers themselves are among the columns (the diagonal)."""
        return self._pairs(rows, cocitation=True, normalise=normalise)

    def coupling(
        self, rows: np.ndarray, *, normalise: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of ``sum_q (A A.T)[q, :]``: references shared with the papers
        ``rows``; with ``normalise`` each term over ``sqrt(outdeg(q) outdeg(o))``."""
        return self._pairs(rows, cocitation=False, normalise=normalise)

    def _pairs(
        self, rows: np.ndarray, *, cocitation: bool, normalise: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        # co-citation: C = A.T A (shared citing papers); coupling: B = A A.T (shared references)
        first, second = (self.AT, self.A) if cocitation else (self.A, self.AT)
        w = np.ones(rows.size)
        inv: np.ndarray | None = None
        if normalise:
            deg = (self.indeg if cocitation else self.outdeg).astype(np.float64)
            inv = np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0)
            w = inv[rows]
        mid, wm = hop(first, rows, w)
        cols, vals = hop(second, mid, wm)
        if inv is not None:
            vals = vals * inv[cols]
        return cols, vals


def hop(
    m: sp.csr_matrix, rows: np.ndarray, weights: np.ndarray, *, weighted: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``weights @ m[rows]`` as (column indices, summed weights) for a 0/1 matrix (with
    ``weighted``, ``m``'s values count too): the rows' neighbours, gathered straight from
    the CSR arrays (cost: the neighbourhood, not the graph)."""
    starts, ends = m.indptr[rows], m.indptr[rows + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    shift = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    at = np.arange(total) + shift
    cols = m.indices[at]
    w = np.repeat(weights, lengths)
    if weighted:
        w = w * m.data[at]
    n = m.shape[1]
    if total * 8 > n:  # a big neighbourhood: one dense pass beats sorting
        dense = np.bincount(cols, weights=w, minlength=n)
        uniq = np.flatnonzero(dense)
        return uniq, dense[uniq]
    uniq, inverse = np.unique(cols, return_inverse=True)
    return uniq.astype(np.int64), np.bincount(inverse, weights=w)


def _inv_sqrt(deg: np.ndarray) -> np.ndarray:
    return np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0).astype(_F)


def row_set(m: sp.csr_matrix, i: int) -> set[int]:
    """The column numbers of row ``i`` of a CSR matrix (a paper's references in ``A``, its
    citing papers in ``A.T``)."""
    return set(m.indices[m.indptr[i] : m.indptr[i + 1]].tolist())


__all__ = [
    "CENTRALITY_ALPHA",
    "CENTRALITY_MAX_ITER",
    "FLOAT",
    "PPR_ALPHA",
    "PPR_MAX_ITER",
    "PPR_TOL",
    "GraphError",
    "GraphView",
    "hop",
    "row_set",
]
