"""Counted co-citation (``cocited``) and graph trust: the default weights give the graph
statistics' weight to the content signals when the graph knows little about the read set
(few papers cite the read papers together with others), and keep it when it knows much."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kg.core.model import Citation, Paper
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.fusion import (
    DEFAULT_WEIGHTS,
    SUPPORT_HIGH,
    SUPPORT_LOW,
    gate_vector,
    gate_weights,
    graph_trust,
)
from kg.recommend.index import RecommendIndex
from kg.recommend.protocols import Query, in_memory_graph, prepare_queries
from kg.recommend.rank import Recommender, recommend_detailed
from kg.recommend.signals import GRAPH_SIGNALS, SIGNALS, graph_support, raw_signals
from kg.views.read_next import trust_note

HUBS = 25
CITERS = 45


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    """``r`` and 25 hubs, each cited together by 45 papers (co-cited 45 times with ``r``);
    ``lonely``, which nobody cites, and ``twin``, close to it in text and linked to
    nothing; noise papers with random vectors."""
    rng = np.random.default_rng(3)
    dim = 24
    papers: list[Paper] = []
    vecs: list[np.ndarray] = []
    cites: list[Citation] = []

    def add(pid: str, v: np.ndarray, title: str | None = None, year: int = 2020) -> None:
        papers.append(Paper(pid, title or f"Paper {pid}", year=year))
        vecs.append(v / np.linalg.norm(v))

    add("r", rng.standard_normal(dim), "Circuits in transformers")
    for h in range(HUBS):
        add(f"h{h}", rng.standard_normal(dim), year=2018)
    for c in range(CITERS):
        add(f"c{c}", rng.standard_normal(dim), year=2023)
        cites.append(Citation(f"c{c}", "r"))
        cites += [Citation(f"c{c}", f"h{h}") for h in range(HUBS)]
    centre = rng.standard_normal(dim)
    add("lonely", centre, "Probing grokking in modular arithmetic networks")
    add("twin", centre + 0.05 * rng.standard_normal(dim), "Grokking modular arithmetic probes")
    for n in range(30):
        add(f"n{n}", rng.standard_normal(dim))
    return in_memory_graph(papers, cites, embeddings=np.array(vecs), k1=3, n_init=1)


def test_graph_trust_is_0_below_the_low_support_1_above_the_high_and_log_linear_between() -> None:
    assert graph_trust(0.0) == 0.0 and graph_trust(SUPPORT_LOW) == 0.0
    assert graph_trust(SUPPORT_HIGH) == 1.0 and graph_trust(10 * SUPPORT_HIGH) == 1.0
    assert graph_trust(math.nan) == 0.0
    mid = math.expm1((math.log1p(SUPPORT_LOW) + math.log1p(SUPPORT_HIGH)) / 2)
    assert graph_trust(mid) == pytest.approx(0.5)
    values = [graph_trust(s) for s in np.linspace(0, 2 * SUPPORT_HIGH, 50)]
    assert values == sorted(values)


def test_gating_moves_only_the_graph_statistics_weight_to_content_and_keeps_the_sum() -> None:
    w = np.array([DEFAULT_WEIGHTS[s] for s in SIGNALS])
    assert np.array_equal(gate_vector(w, 1.0), w)
    for trust in (0.0, 0.3, 0.8):
        g = dict(zip(SIGNALS, gate_vector(w, trust), strict=True))
        assert sum(g.values()) == pytest.approx(w.sum())
        for s in GRAPH_SIGNALS:
            assert g[s] == pytest.approx(DEFAULT_WEIGHTS[s] * trust)
        for s in ("cites", "cited_by", "influence", "recency", "topic"):
            assert g[s] == DEFAULT_WEIGHTS[s], "direct links and priors keep their weight"
        # text and lexical share the moved weight in proportion to their own
        assert g["text"] / g["lexical"] == pytest.approx(
            DEFAULT_WEIGHTS["text"] / DEFAULT_WEIGHTS["lexical"]
        )
        assert g["text"] > DEFAULT_WEIGHTS["text"] or trust == 1.0
    # no content weight at all: the moved weight is split evenly
    only_graph = gate_weights({"cocitation": 1.0}, 0.0)
    assert only_graph["text"] == only_graph["lexical"] == pytest.approx(0.5)


def test_cocited_counts_the_papers_that_cite_a_candidate_with_the_read_set(
    kg: KnowledgeGraph,
) -> None:
    index = RecommendIndex.of(kg)
    read = np.array([index.pos["r"]])
    sig = raw_signals(index, read)
    assert sig.raw["cocited"][index.pos["h0"]] == CITERS
    assert sig.raw["cocited"][index.pos["twin"]] == 0
    cand = index.recommendable.copy()
    cand[read] = False
    assert graph_support(sig, cand) == pytest.approx(CITERS * 20 / 20)  # 25 hubs >= top 20
    lonely = raw_signals(index, np.array([index.pos["lonely"]]))
    assert graph_support(lonely, cand) == 0.0


def test_the_defaults_trust_the_graph_where_it_knows_the_read_set_and_content_elsewhere(
    kg: KnowledgeGraph,
) -> None:
    rich = recommend_detailed(kg, ["r"], k=10, diversity=0.0)
    assert rich.graph_trust == 1.0
    assert {r.paper_id for r in rich.recommendations} <= {f"h{h}" for h in range(HUBS)}
    assert any("co-cited with" in reason for reason in rich.recommendations[0].reasons)
    poor = recommend_detailed(kg, ["lonely"], k=5, diversity=0.0)
    assert poor.graph_trust == 0.0
    assert poor.recommendations[0].paper_id == "twin"
    assert poor.weights["cocitation"] == 0.0 and poor.weights["cocited"] == 0.0
    assert poor.weights["text"] > rich.weights["text"]
    # weights a caller gives are used as they are
    mine = Recommender(kg, {"cocitation": 1.0, "text": 1.0})
    given = mine.recommend(["lonely"], k=3)
    assert given.graph_trust == 1.0 and given.weights == mine.weights
    assert given.weights["cocitation"] > 0


def test_the_cocited_reason_names_the_count_when_co_citation_is_not_named(
    kg: KnowledgeGraph,
) -> None:
    rec = Recommender(kg, {s: (1.0 if s == "cocited" else 0.0) for s in SIGNALS})
    top = rec.recommend(["r"], k=1).recommendations[0]
    assert top.paper_id.startswith("h")
    assert f"cited alongside your papers by {CITERS} papers of this graph" in top.reasons


def test_prepared_queries_carry_the_trust_the_tuning_gates_the_defaults_by(
    kg: KnowledgeGraph,
) -> None:
    queries = [
        Query(read=("r",), relevant=frozenset({"h1", "h2"})),
        Query(read=("lonely",), relevant=frozenset({"twin"})),
    ]
    rich, poor = prepare_queries(kg, queries, time_cut=False)
    assert rich.trust == 1.0 and poor.trust == 0.0
    assert rich.pruned(5).trust == 1.0 and poor.pruned(5).trust == 0.0


def test_the_note_for_a_thin_read_set_is_said_only_below_full_trust() -> None:
    assert trust_note(1.0) is None
    note = trust_note(0.5)
    assert note is not None and "graph trust 0.50" in note and "lean on content" in note
