"""The NetworkX projection and its sparse algorithms, on hand-made graphs with known answers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import networkx as nx
import pytest

from kg.core.model import Citation, Paper, Topic, TopicMembership, canonical_map
from kg.graph.algorithms import GraphError
from kg.graph.citations import CitationGraph
from kg.store.corpus import DETAIL_FULL, LOW_CONFIDENCE, RESOLVED, CorpusStore, SeedRow


def P(pid: str, **kw: object) -> Paper:
    return Paper(paper_id=pid, title=f"Paper {pid}", **kw)  # type: ignore[arg-type]


def C(a: str, b: str, **kw: object) -> Citation:
    return Citation(a, b, **kw)  # type: ignore[arg-type]


# Hand-made: x, y, z cite papers; known co-citation and coupling answers.
#   x -> a, b, c      y -> a, b      z -> b, d      a -> d
EDGES = [("x", "a"), ("x", "b"), ("x", "c"), ("y", "a"), ("y", "b"), ("z", "b"), ("z", "d")]
EDGES.append(("a", "d"))


@pytest.fixture
def small() -> CitationGraph:
    papers = [P(i, year=2020) for i in "abcdxyz"]
    return CitationGraph(papers, [C(u, v) for u, v in EDGES])


def random_graph(n: int = 300, m: int = 1500, seed: int = 1) -> CitationGraph:
    rng = random.Random(seed)
    edges = {(rng.randrange(n), rng.randrange(n)) for _ in range(m)}
    papers = [P(f"p{i}") for i in range(n)]
    return CitationGraph(papers, [C(f"p{u}", f"p{v}") for u, v in edges if u != v])


def test_nodes_and_edges_carry_attributes() -> None:
    papers = [
        P("a", year=2021, venue="NeurIPS", citation_count=7, fields_of_study=("Computer Science",)),
        P("b"),
    ]
    seeds = [
        SeedRow("page", 0, "Paper a", RESOLVED, paper_id="a", section_path=("Papers", "Heads")),
        SeedRow("page", 1, "Paper b?", LOW_CONFIDENCE, paper_id="b"),
    ]
    cites = [C("b", "a", intents=("methodology",), is_influential=True)]
    g = CitationGraph(papers, cites, seeds=seeds).graph
    assert g.nodes["a"]["year"] == 2021 and g.nodes["a"]["venue"] == "NeurIPS"
    assert g.nodes["a"]["citation_count"] == 7
    assert g.nodes["a"]["is_seed"] and g.nodes["a"]["sections"] == ("Papers > Heads",)
    assert not g.nodes["b"]["is_seed"], "a low-confidence match is not a listed paper"
    assert g.edges["b", "a"] == {"intents": ("methodology",), "is_influential": True}


def test_citation_to_unknown_paper_adds_a_stub_node() -> None:
    g = CitationGraph([P("a")], [C("a", "zzz")]).graph
    assert g.nodes["zzz"]["in_corpus"] is False and g.nodes["a"]["in_corpus"] is True


def test_twins_fold_into_the_canonical_node() -> None:
    papers = [
        P("pre", citation_count=3, tags=("arxiv",)),
        P("pub", citation_count=10, venue="ICLR"),
        P("x"),
        P("y"),
    ]
    cites = [
        C("x", "pre", intents=("background",)),
        C("x", "pub", intents=("result",), is_influential=True),
        C("y", "pre"),
        C("pre", "pub"),  # preprint citing its own version: dropped
    ]
    cg = CitationGraph(papers, cites, same_as={"pre": "pub"})
    g = cg.graph
    assert "pre" not in g and set(g) == {"pub", "x", "y"}
    assert g.nodes["pub"]["twins"] == ("pre",)
    assert g.nodes["pub"]["citation_count"] == 10 and g.nodes["pub"]["tags"] == ("arxiv",)
    assert g.nodes["pub"]["venue"] == "ICLR"
    assert g.number_of_edges() == 2 and not nx.number_of_selfloops(g)
    assert set(g.edges["x", "pub"]["intents"]) == {"background", "result"}
    assert g.edges["x", "pub"]["is_influential"] is True
    assert cg.cited_by_counts(["x", "y"]) == {"pub": 2}
    assert "pre" in cg and cg.canon("pre") == "pub"


def test_canonical_map_resolves_chains_and_cycles() -> None:
    assert canonical_map({"a": "b", "b": "c"}) == {"a": "c", "b": "c"}
    assert canonical_map({"a": "b", "b": "a"}) == {"b": "a"}


def test_pagerank_agrees_with_networkx() -> None:
    cg = random_graph()
    ours = cg.pagerank()
    ref = nx.pagerank(cg.graph, tol=1e-12, max_iter=1000)
    assert max(abs(ours[k] - ref[k]) for k in ref) < 1e-6
    assert abs(sum(ours.values()) - 1) < 1e-9
    assert list(ours.values()) == sorted(ours.values(), reverse=True)


def test_personalized_pagerank_agrees_with_networkx() -> None:
    cg = random_graph()
    seeds = {"p1": 2.0, "p2": 1.0}
    ours = cg.personalized_pagerank(seeds, alpha=0.85)
    total = sum(seeds.values())
    pers = {k: seeds.get(k, 0.0) / total for k in cg.graph}
    ref = nx.pagerank(cg.graph, personalization=pers, tol=1e-12, max_iter=1000)
    assert max(abs(ours.get(k, 0.0) - ref[k]) for k in ref) < 1e-6
    assert all(ref[k] < 1e-12 for k in ref if k not in ours), "unreachable papers left out"


def test_personalized_pagerank_concentrates_near_seeds() -> None:
    # Two communities joined by one edge; seeding in the first keeps the mass there.
    left = [(f"l{i}", f"l{j}") for i in range(10) for j in range(10) if i != j and (i + j) % 3]
    right = [(f"r{i}", f"r{j}") for i in range(10) for j in range(10) if i != j and (i + j) % 3]
    edges = [*left, *right, ("l0", "r0")]
    cg = CitationGraph([], [C(u, v) for u, v in edges])
    ppr = cg.personalized_pagerank(["l3"])
    left_mass = sum(v for k, v in ppr.items() if k.startswith("l"))
    assert left_mass > 0.9
    assert next(iter(ppr)) == "l3"
    assert "l3" not in cg.personalized_pagerank(["l3"], exclude_seeds=True)


def test_personalized_pagerank_errors() -> None:
    cg = random_graph(30, 60)
    with pytest.raises(GraphError, match="None of the seed papers"):
        cg.personalized_pagerank(["nope"])
    with pytest.raises(GraphError, match="alpha"):
        cg.pagerank(alpha=1.0)


def test_cocitation_counts_known_answers(small: CitationGraph) -> None:
    # a is cited by x, y; b by x, y, z; c by x; d by z, a.
    assert small.cocitation_counts(["a"]) == {"b": 2, "c": 1}
    assert small.cocitation_counts(["b"]) == {"a": 2, "c": 1, "d": 1}
    # summed over query papers; query papers themselves left out
    assert small.cocitation_counts(["a", "c"]) == {"b": 3}


def test_coupling_counts_known_answers(small: CitationGraph) -> None:
    # x refs {a,b,c}; y refs {a,b}; z refs {b,d}; a refs {d}
    assert small.coupling_counts(["x"]) == {"y": 2, "z": 1}
    assert small.coupling_counts(["z"]) == {"x": 1, "y": 1, "a": 1}


def test_salton_normalisation(small: CitationGraph) -> None:
    s = small.cocitation_scores(["a"])
    # C[a,b] = 2, indeg a = 2, indeg b = 3 -> 2 / sqrt(6)
    assert s["b"] == pytest.approx(2 / 6**0.5)
    assert s["c"] == pytest.approx(1 / 2**0.5)
    k = small.coupling_scores(["x"])
    assert k["y"] == pytest.approx(2 / 6**0.5)  # outdeg x = 3, outdeg y = 2
    assert all(0 < v <= 1 for v in k.values())


def test_cited_by_and_cites_counts(small: CitationGraph) -> None:
    assert small.cited_by_counts() == {"b": 3, "a": 2, "d": 2, "c": 1}
    assert small.cited_by_counts(["x", "y"]) == {"a": 2, "b": 2, "c": 1}
    assert small.cites_counts(["a", "b"]) == {"x": 2, "y": 2, "z": 1}


def test_cocitation_matches_networkx_loops() -> None:
    cg = random_graph()
    g = cg.graph
    for q in ["p0", "p5", "p17"]:
        expect: dict[str, int] = {}
        for citing in g.predecessors(q):
            for other in g.successors(citing):
                if other != q:
                    expect[other] = expect.get(other, 0) + 1
        assert cg.cocitation_counts([q]) == dict(
            sorted(expect.items(), key=lambda kv: (-kv[1], cg.index[kv[0]]))
        )


def test_shortest_path_found_and_absent(small: CitationGraph) -> None:
    assert small.shortest_citation_path("x", "d") in (["x", "a", "d"],)
    assert small.shortest_citation_path("d", "x") is None
    assert "other way" in small.explain_no_path("d", "x")
    assert small.shortest_citation_path("d", "x", undirected=True) is not None
    assert small.shortest_citation_path("c", "d") is None
    assert "cites no paper" in small.explain_no_path("c", "d")
    assert small.shortest_citation_path("c", "d", undirected=True) == ["c", "x", "a", "d"]
    with pytest.raises(GraphError, match="not in the citation graph"):
        small.shortest_citation_path("x", "missing")


def test_no_path_between_components() -> None:
    cg = CitationGraph([], [C("a", "b"), C("c", "d")])
    assert cg.shortest_citation_path("a", "d", undirected=True) is None
    assert "different connected parts" in cg.explain_no_path("a", "d", undirected=True)
    assert "not in the citation graph" in cg.explain_no_path("a", "zz")


def test_ego_graph_depth_and_cap(small: CitationGraph) -> None:
    ego = small.ego_graph("a", depth=1)
    assert set(ego) == {"a", "x", "y", "d"}
    assert ego.nodes["a"]["hops"] == 0 and ego.nodes["d"]["hops"] == 1
    assert ego.has_edge("x", "a") and ego.nodes["x"]["title"] == "Paper x"
    assert set(small.ego_graph("a", depth=2)) == set("abcdxyz")
    assert len(small.ego_graph("b", depth=2, max_nodes=3)) == 3
    assert small.bfs_layers("c", 2) == [["c"], ["x"], ["a", "b"]]


def test_topic_bipartite_graph() -> None:
    topics = [Topic("curated/heads", "Heads", "curated"), Topic("s2-fields/cs", "CS", "s2-fields")]
    members = [TopicMembership("a", "curated/heads"), TopicMembership("pre", "s2-fields/cs", 0.5)]
    cg = CitationGraph([P("a"), P("b")], [], same_as={"pre": "b"}, topics=topics)
    assert cg.topics_of("a") == {}
    cg = CitationGraph(
        [P("a"), P("b")], [], same_as={"pre": "b"}, topics=topics, memberships=members
    )
    bg = cg.topic_graph
    assert bg.nodes["curated/heads"]["kind"] == "topic" and bg.nodes["a"]["kind"] == "paper"
    assert nx.is_bipartite(bg)
    assert cg.topics_of("pre") == {"s2-fields/cs": 0.5}


def test_graphml_export_reads_back(tmp_path: Path) -> None:
    papers = [P("a", year=2020, fields_of_study=("CS", "Math")), P("b", citation_count=4)]
    seeds = [SeedRow("page", 0, "Paper a", RESOLVED, paper_id="a", section_path=("S", "T"))]
    topics = [Topic("curated/s/t", "T", "curated", broader="curated/s", keywords=("k1", "k2"))]
    cg = CitationGraph(
        papers,
        [C("b", "a", intents=("result",), is_influential=None)],
        seeds=seeds,
        topics=topics,
        memberships=[TopicMembership("a", "curated/s/t")],
    )
    path = cg.export_graphml(tmp_path / "out" / "g.graphml", include_topics=True)
    back = nx.read_graphml(path)
    assert back.nodes["a"]["year"] == 2020 and back.nodes["a"]["is_seed"] is True
    assert json.loads(back.nodes["a"]["fields_of_study"]) == ["CS", "Math"]
    assert json.loads(back.nodes["a"]["sections"]) == ["S > T"]
    assert json.loads(back.edges["b", "a"]["intents"]) == ["result"]
    assert "is_influential" not in back.edges["b", "a"]
    assert back.nodes["curated/s/t"]["kind"] == "topic"
    assert back.edges["a", "curated/s/t"]["score"] == 1.0


def test_from_store(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.sqlite") as store:
        for pid in ("a" * 40, "b" * 40, "c" * 40):
            store.upsert_paper(P(pid), detail=DETAIL_FULL)
        store.add_citations([C("a" * 40, "b" * 40), C("c" * 40, "b" * 40)], endpoint="t")
        store.put_seed(SeedRow("page", 0, "x", RESOLVED, paper_id="a" * 40))
        cg = CitationGraph.from_store(store)
    assert cg.graph.number_of_edges() == 2 and cg.graph.nodes["a" * 40]["is_seed"]
    assert cg.cocitation_counts(["b" * 40]) == {}
    assert cg.coupling_counts(["a" * 40]) == {"c" * 40: 1}


def test_empty_graph() -> None:
    cg = CitationGraph([], [])
    assert cg.pagerank() == {} and cg.cocitation_counts(["a"]) == {} and len(cg) == 0
