"""kg.recommend.rank.Recommender, the recommender fitted once on a graph: the same answers
as the module functions, explanations of any candidate, and the figures of the recommender
before it was split into modules (pinned: the split must not move a number)."""

from __future__ import annotations

import pytest

from kg.core.errors import RecommendError, UnknownPaperError
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.fusion import DEFAULT_WEIGHTS
from kg.recommend.index import RecommendIndex
from kg.recommend.path import reading_path
from kg.recommend.rank import Recommender, recommend, recommend_detailed
from tests.kg.recommend_fixtures import make_kg

READ = ["r1", "r2"]


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return make_kg()


def test_recommendations_are_pinned(kg: KnowledgeGraph) -> None:
    # The output on the fixture graph, pinned when counted co-citation and graph trust came
    # in (the split into modules before that moved no number). The fixture is small: no
    # candidate is co-cited with the read papers more than a few times, so the graph
    # statistics give their weight to the content signals (trust 0); direct links keep it.
    result = recommend_detailed(kg, READ)
    assert result.graph_trust == 0.0
    top = [(r.paper_id, r.score) for r in result.recommendations[:8]]
    assert top == [
        ("t1", 0.6478),
        ("y", 0.3335),
        ("w", 0.3353),
        ("tq", 0.1955),
        ("s1", 0.1571),
        ("oa", 0.1096),
        ("h1", 0.0649),
        ("z", 0.1567),
    ]
    assert result.recommendations[0].reasons == (
        "close to Elhage et al. 2022 in content (0.97)",
        "shares the terms 'toy models', 'superposition', 'neurons' with Elhage et al. 2022",
    )
    assert result.signals["t1"] == {
        "cited_by": 0.0,
        "cites": 0.0,
        "cocitation": 0.0,
        "cocited": 0.0,
        "coupling": 0.0,
        "ppr": 0.0,
        "text": 1.0,
        "lexical": 1.0,
        "topic": 0.0,
        "influence": 0.331,
        "recency": 0.7071,
        "s2": 0.0,
    }
    disliked = recommend(kg, ["r1"], disliked=["z"])
    assert [(r.paper_id, r.score) for r in disliked[:3]] == [
        ("t1", 0.1684),
        ("y", 0.1532),
        ("c3", 0.0499),
    ]
    steps = reading_path(kg, ["r1", "r2", "x", "y", "z"])
    assert [s.paper_id for s in steps] == ["x", "r1", "z", "r2", "y"]
    assert steps[-1].reason == (
        "read after Bricken et al. 2023 and Elhage et al. 2022: it builds on them"
    )


def test_the_recommender_answers_as_the_module_functions(kg: KnowledgeGraph) -> None:
    rec = Recommender.fit(kg)
    for kwargs in ({}, {"disliked": ["z"]}, {"k": 5, "diversity": 0.0}, {"external": {"y": 0.9}}):
        ours = rec.recommend(READ, **kwargs)  # type: ignore[arg-type]
        theirs = recommend_detailed(kg, READ, **kwargs)  # type: ignore[arg-type]
        assert ours.recommendations == theirs.recommendations
        assert ours.signals == theirs.signals and ours.weights == theirs.weights
    assert rec.reading_path(["y", "x"]) == reading_path(kg, ["y", "x"])


def test_fitted_once_index_shared_weights_checked_up_front(kg: KnowledgeGraph) -> None:
    rec = Recommender(kg)
    assert rec.index is RecommendIndex.of(kg), "the graph's one index, as the views use"
    assert rec.weights == pytest.approx(
        {k: v / sum(DEFAULT_WEIGHTS.values()) for k, v in DEFAULT_WEIGHTS.items()}
    )
    assert sum(Recommender(kg, {"text": 1.0}).weights.values()) == pytest.approx(1.0)
    with pytest.raises(RecommendError, match="Unknown signal weight"):
        Recommender(kg, {"txet": 1.0})
    only_text = Recommender(kg, {s: (1.0 if s == "text" else 0.0) for s in DEFAULT_WEIGHTS})
    assert only_text.recommend(READ, k=3).weights["text"] == 1.0


def test_explain_gives_a_candidates_score_and_reasons_as_recommend_does(
    kg: KnowledgeGraph,
) -> None:
    rec = Recommender(kg)
    listed = {r.paper_id: r for r in rec.recommend(READ).recommendations}
    for pid in ("t1", "y", "x"):
        assert rec.explain(READ, pid) == listed[pid]
    # by any id form, and with dislikes as recommend has them
    assert rec.explain(READ, "Softmax Linear Units").paper_id == "x"
    after = {r.paper_id: r for r in rec.recommend(READ, disliked=["z"]).recommendations}
    assert rec.explain(READ, "y", disliked=["z"]) == after["y"]


def test_explain_says_why_a_paper_is_no_candidate(kg: KnowledgeGraph) -> None:
    rec = Recommender(kg)
    with pytest.raises(RecommendError, match="is no candidate: it is in your read set"):
        rec.explain(READ, "r1")
    with pytest.raises(RecommendError, match="is no candidate: it is marked not relevant"):
        rec.explain(READ, "z", disliked=["z"])
    with pytest.raises(UnknownPaperError):
        rec.explain(READ, "no such paper at all")


def test_the_local_graph_path_scores_as_the_products_over_every_node(
    kg: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At field scale the graph signals are gathered from the read set's neighbourhood
    # (personalised PageRank by pushing): the same values to float rounding, the same list.
    import numpy as np

    from kg.recommend import signals

    index = RecommendIndex.of(kg)
    reads = [READ, ["r1"], ["x", "z"]]
    want = {}
    for read in reads:
        nodes = np.array(index.resolve(read), dtype=np.int64)
        dis = np.array(index.resolve(["y"]), dtype=np.int64)
        want[tuple(read)] = (
            signals.raw_signals(index, nodes, disliked=dis).raw,
            recommend_detailed(kg, read, k=8),
        )
    monkeypatch.setattr(signals, "LOCAL_MIN_NODES", 0)
    calls = []
    local = signals._graph_local
    monkeypatch.setattr(signals, "_graph_local", lambda *a: calls.append(1) or local(*a))
    for read in reads:
        nodes = np.array(index.resolve(read), dtype=np.int64)
        dis = np.array(index.resolve(["y"]), dtype=np.int64)
        raw = signals.raw_signals(index, nodes, disliked=dis).raw
        dense, result = want[tuple(read)]
        assert set(raw) == set(dense)
        for name, values in dense.items():
            assert np.allclose(raw[name], values, atol=1e-5, equal_nan=True), name
        got = recommend_detailed(kg, read, k=8)
        assert [r.paper_id for r in got.recommendations] == [
            r.paper_id for r in result.recommendations
        ]
        for a, b in zip(got.recommendations, result.recommendations, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-3)
    assert len(calls) == 2 * len(reads)


@pytest.mark.parametrize("columns", [1, 2, 3, 5, 7, 8, 12])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_column_wise_blend_is_the_row_wise_one(columns: int, dtype: str) -> None:
    # The text and lexical blends reduce a million rows of a few columns column by column:
    # the values of the row-wise max and mean, bit for bit (NaN rows stay NaN).
    import numpy as np

    from kg.recommend.signals import _blend_rows

    rng = np.random.default_rng(columns)
    part = rng.standard_normal((5000, columns)).astype(dtype)
    part[7, 0] = np.nan
    for share in (0.0, 0.25, 1.0):
        want = share * part.max(axis=1) + (1 - share) * part.mean(axis=1)
        got = _blend_rows(part, share)
        assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True)
    pick = list(range(0, columns, 2))
    want = part[:, pick].mean(axis=1)
    assert np.array_equal(_blend_rows(part, 0.0, pick), want, equal_nan=True)
