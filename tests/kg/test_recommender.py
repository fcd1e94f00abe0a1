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
