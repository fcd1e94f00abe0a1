"""kg.graph.algorithms, the one graph-algorithm engine: PageRank, the recommender's
centrality and citation walk, and co-citation/coupling, against NetworkX and dense products."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from kg.core.model import Citation, Paper
from kg.graph.algorithms import (
    CENTRALITY_ALPHA,
    PPR_ALPHA,
    GraphError,
    GraphView,
    hop,
    row_set,
)
from kg.graph.citations import CitationGraph


def random_graph(n: int = 300, m: int = 1500, seed: int = 1, *, dag: bool = False) -> CitationGraph:
    """A random citation graph; ``dag``: a paper cites only lower-numbered ones (no pair of
    papers cites each other, so the undirected walk has unit weights, as NetworkX's)."""
    rng = random.Random(seed)
    edges = {(rng.randrange(n), rng.randrange(n)) for _ in range(m)}
    if dag:
        edges = {(max(u, v), min(u, v)) for u, v in edges}
    papers = [Paper(paper_id=f"p{i}", title=f"Paper {i}") for i in range(n)]
    return CitationGraph(papers, [Citation(f"p{u}", f"p{v}") for u, v in edges if u != v])


def by_id(cg: CitationGraph, v: np.ndarray) -> dict[str, float]:
    return {pid: float(v[i]) for i, pid in enumerate(cg.ids)}


def test_pagerank_agrees_with_networkx() -> None:
    cg = random_graph()
    ours = by_id(cg, cg.view.pagerank())
    ref = nx.pagerank(cg.graph, tol=1e-12, max_iter=1000)
    assert max(abs(ours[k] - ref[k]) for k in ref) < 1e-6
    assert abs(sum(ours.values()) - 1) < 1e-9


def test_personalised_pagerank_agrees_with_networkx() -> None:
    cg = random_graph()
    p = np.zeros(len(cg.ids))
    p[cg.index["p1"]], p[cg.index["p2"]] = 2 / 3, 1 / 3
    ours = by_id(cg, cg.view.pagerank(personalization=p))
    pers = {k: float(p[cg.index[k]]) for k in cg.graph}
    ref = nx.pagerank(cg.graph, personalization=pers, tol=1e-12, max_iter=1000)
    assert max(abs(ours[k] - ref[k]) for k in ref) < 1e-6


def test_pagerank_checks_alpha_and_convergence() -> None:
    view = random_graph(30, 60).view
    with pytest.raises(GraphError, match="alpha"):
        view.pagerank(alpha=1.0)
    with pytest.raises(GraphError, match="did not converge"):
        view.pagerank(max_iter=2)
    assert GraphView(sp.csr_matrix((0, 0))).pagerank().size == 0


def test_centrality_is_pagerank_scaled_to_mean_one() -> None:
    cg = random_graph()
    n = len(cg.ids)
    central = cg.view.centrality()
    ref = nx.pagerank(cg.graph, alpha=CENTRALITY_ALPHA, tol=1e-12, max_iter=1000)
    assert central.mean() == pytest.approx(1.0, abs=1e-6)
    assert max(abs(central[cg.index[k]] - n * ref[k]) for k in ref) < 1e-4
    assert cg.view.centrality() is central, "computed once"


def test_ppr_is_personalised_pagerank_on_the_undirected_citation_walk() -> None:
    cg = random_graph(200, 600, dag=True)
    read = np.array([cg.index["p3"], cg.index["p7"]])
    ours = cg.view.ppr(read)
    assert ours.dtype == np.float32
    pers = {k: (0.5 if k in ("p3", "p7") else 0.0) for k in cg.graph}
    ref = nx.pagerank(cg.graph.to_undirected(), alpha=PPR_ALPHA, personalization=pers, tol=1e-12)
    assert max(abs(float(ours[cg.index[k]]) - ref[k]) for k in ref) < 1e-4
    assert not cg.view.ppr(np.zeros(0, dtype=np.int64)).any()


@pytest.mark.parametrize("dag", [True, False])
def test_ppr_push_is_ppr_to_its_tolerance(dag: bool) -> None:
    """The field-scale personalised PageRank (pushing from the read set's neighbourhood)
    is the power iteration's, each value low by at most eps * degree per round; with
    mutual citations (links counted twice) and isolated read papers too."""
    cg = random_graph(400, 1600, seed=3, dag=dag)
    view = cg.view
    view.walk()
    deg = view._walk_degree
    rng = np.random.default_rng(0)
    for size in (1, 3, 8):
        read = rng.choice(len(cg.ids), size, replace=False)
        exact = view.ppr(read).astype(np.float64)
        for eps in (1e-4, 1e-7):
            raw = view.ppr_push(read, eps=eps)
            assert raw.dtype == np.float32 and raw.shape == exact.shape
            push = raw.astype(np.float64)
            assert np.all(push <= exact + 1e-6), "what is not pushed is dropped, never added"
            assert np.all(exact - push <= 60 * eps * np.maximum(deg, 1) + 1e-6)
        assert np.abs(view.ppr_push(read) - exact).max() < 1e-4
    lonely = GraphView(sp.csr_matrix((3, 3)))
    out = lonely.ppr_push(np.array([1]))
    assert out[1] == pytest.approx(1.0, abs=1e-6) and out.sum() == pytest.approx(1.0, abs=1e-6)
    assert not view.ppr_push(np.zeros(0, dtype=np.int64)).any()


def test_weighted_hop_counts_the_values() -> None:
    m = sp.csr_matrix(np.array([[0, 2.0, 0], [0, 0, 0.5], [1.0, 0, 0]]))
    cols, vals = hop(m, np.array([0, 1]), np.array([1.0, 4.0]), weighted=True)
    assert dict(zip(cols.tolist(), vals.tolist(), strict=True)) == {1: 2.0, 2: 2.0}
    cols, vals = hop(m, np.array([0, 1]), np.array([1.0, 4.0]))
    assert dict(zip(cols.tolist(), vals.tolist(), strict=True)) == {1: 1.0, 2: 4.0}


def test_sparse_gathers_equal_the_dense_products() -> None:
    cg = random_graph()
    view = cg.view
    a = view.A.toarray().astype(np.float64)
    rows = np.array(sorted({cg.index[f"p{i}"] for i in (0, 5, 17, 40)}))
    x = np.zeros(a.shape[0])
    x[rows] = 1.0

    def dense(cols: np.ndarray, vals: np.ndarray) -> np.ndarray:
        out = np.zeros(a.shape[0])
        out[cols] = vals
        return out

    np.testing.assert_allclose(dense(*view.cited_by(rows)), a.T @ x)
    np.testing.assert_allclose(dense(*view.cites(rows)), a @ x)
    np.testing.assert_allclose(dense(*view.cocitation(rows)), a.T @ a @ x)
    np.testing.assert_allclose(dense(*view.coupling(rows)), a @ a.T @ x)
    inv = np.divide(1.0, np.sqrt(a.sum(axis=0)), out=np.zeros(a.shape[0]), where=a.sum(axis=0) > 0)
    salton = inv * (a.T @ a @ (x * inv))
    np.testing.assert_allclose(dense(*view.cocitation(rows, normalise=True)), salton, rtol=1e-6)


def test_hop_takes_the_dense_and_the_sorted_path_alike() -> None:
    m = sp.csr_matrix(np.array([[0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 0]]))
    cols, vals = hop(m, np.array([0, 1]), np.array([1.0, 2.0]))  # 4 entries * 8 > 4: dense
    assert cols.tolist() == [1, 2, 3] and vals.tolist() == [1.0, 3.0, 2.0]
    big = sp.block_diag([m, sp.csr_matrix((40, 40))]).tocsr()  # 4 * 8 < 44: sorted
    cols, vals = hop(big, np.array([0, 1]), np.array([1.0, 2.0]))
    assert cols.tolist() == [1, 2, 3] and vals.tolist() == [1.0, 3.0, 2.0]
    assert hop(m, np.array([3]), np.array([1.0]))[0].size == 0
    assert row_set(m, 1) == {2, 3}


def test_masked_view_drops_every_edge_of_the_papers_left_out() -> None:
    cg = random_graph(50, 200)
    keep = np.ones(len(cg.ids), dtype=bool)
    keep[cg.index["p3"]] = False
    masked = cg.view.masked(keep)
    j = cg.index["p3"]
    assert masked.indeg[j] == 0 and masked.outdeg[j] == 0
    assert masked.A.nnz == cg.view.A.nnz - len(row_set(cg.view.A, j)) - len(row_set(cg.view.AT, j))


def test_citation_graph_and_recommender_share_one_view() -> None:
    from kg.recommend.index import RecommendIndex
    from tests.kg.recommend_fixtures import make_kg

    kg = make_kg()
    assert RecommendIndex.of(kg).view is kg.graph.view
