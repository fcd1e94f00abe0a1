"""The build's load snapshot (kg.snapshot): used when fresh, ignored when stale or
tampered with, and the graph it gives equals the one loaded from the corpus."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

from kg.build import KnowledgeGraph, build, write_snapshot
from kg.core.model import Author, Citation, Paper
from kg.core.settings import Settings
from kg.graph import snapshot
from kg.graph.citations import CitationGraph
from kg.store.corpus import DETAIL_FULL, CorpusStore
from kg.text.embed import FakeEmbedder


def _papers(n: int) -> list[Paper]:
    return [
        Paper(
            paper_id=f"{i:040x}",
            title=f"Paper {i} on sparse features",
            abstract=f"Abstract {i}.",
            year=2018 + i % 6,
            authors=(Author(f"Author {i}", str(i)), Author("Ünïcode Name")),
            venue="NeurIPS" if i % 2 else None,
        )
        for i in range(n)
    ]


@pytest.fixture
def built(tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path / "data")
    papers = _papers(12)
    with CorpusStore(settings.corpus_path) as store, store.transaction():
        for p in papers:
            store.upsert_paper(p, detail=DETAIL_FULL, endpoint="test")
        store.add_citations(
            [
                Citation(papers[i].paper_id, papers[i - 1].paper_id, intents=("background",))
                for i in range(1, 12)
            ],
            endpoint="test",
        )
    build(settings, embedder=FakeEmbedder(dim=8), progress=False, rdf=False)
    yield settings


def _no_live_projection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the projection was rebuilt from the corpus")

    monkeypatch.setattr(CitationGraph, "__init__", refuse)


def test_build_writes_a_snapshot_that_load_uses(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (built.graph_dir / snapshot.SNAPSHOT).is_file()
    live = KnowledgeGraph.load(built, snapshot=False)
    _no_live_projection(monkeypatch)
    fast = KnowledgeGraph.load(built)
    assert fast.papers == live.papers
    assert fast.seeds == live.seeds and fast.same_as == live.same_as
    assert nx.utils.graphs_equal(fast.graph.graph, live.graph.graph)
    assert dict(fast.graph.graph.nodes(data=True)) == dict(live.graph.graph.nodes(data=True))
    assert fast.graph.pagerank() == pytest.approx(live.graph.pagerank())


def test_a_loaded_graph_answers_from_its_arrays_and_makes_networkx_on_demand(
    built: Settings,
) -> None:
    """The recommender reads the matrix and node attributes; the NetworkX graph (gigabytes
    at field scale) is made only when a view asks, equal to the corpus's, edge data and
    predecessor order included."""
    import kg as litkg

    live = KnowledgeGraph.load(built, snapshot=False)
    fast = KnowledgeGraph.load(built)
    cg = fast.graph
    assert cg._graph is None and cg._columns is not None
    assert (cg.A != live.graph.A).nnz == 0 and cg.ids == live.graph.ids
    assert cg.node_values("year") == live.graph.node_values("year")
    assert len(cg) == len(live.graph) and live.graph.ids[3] in cg
    ids = sorted(fast.papers)
    got = litkg.open(settings=built, graph=fast).recommend(ids[:2], k=5)
    want = litkg.open(settings=built, graph=live).recommend(ids[:2], k=5)
    assert [r.paper.paper_id for r in got.items] == [r.paper.paper_id for r in want.items]
    assert cg._graph is None, "recommending made the NetworkX graph"
    g, h = cg.graph, live.graph.graph
    assert list(g.edges(data=True)) == list(h.edges(data=True))
    assert all(list(g.pred[v]) == list(h.pred[v]) for v in h)
    assert all(g.succ[u][v] is g.pred[v][u] for u, v in g.edges)  # one dict per edge


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("succ", lambda v: [[len(v) + 5], *v[1:]]),  # a node number outside the graph
        ("succ", lambda v: [["x"], *v[1:]]),
        ("pred", lambda v: [[-1], *v[1:]]),
        ("pred", lambda v: [[], *v[1:]]),  # an edge without its other end
        ("influential", lambda v: ["yes", *v[1:]]),
    ],
)
def test_a_graph_that_does_not_add_up_is_rejected(
    built: Settings, part: str, value: object
) -> None:
    import hashlib

    path = built.graph_dir / snapshot.SNAPSHOT
    head, body = path.read_bytes().split(b"\n", 1)
    header = json.loads(head)
    doc = json.loads(body)
    graph = doc["graph"]
    assert graph[part] and any(graph["pred"])
    if part == "pred":
        first = next(i for i, row in enumerate(graph["pred"]) if row)
        graph["pred"] = graph["pred"][first:] + graph["pred"][:first]
    graph[part] = value(graph[part])  # type: ignore[operator]
    body = json.dumps(doc).encode()
    header["sha256"] = hashlib.sha256(body).hexdigest()
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    assert snapshot.load(path, header["key"]) is None
    assert len(KnowledgeGraph.load(built).graph.ids) == 12


def test_an_ingest_after_the_build_makes_it_stale(built: Settings) -> None:
    new = Paper(paper_id="f" * 40, title="A newer paper", year=2025)
    with CorpusStore(built.corpus_path) as store:
        store.upsert_paper(new, detail=DETAIL_FULL, endpoint="test")
    kg = KnowledgeGraph.load(built)
    assert new.paper_id in kg.papers and new.paper_id in kg.graph


@pytest.mark.parametrize("content", [b"", b"not a pickle", b"\x80\x05truncated"])
def test_a_broken_snapshot_falls_back_to_the_corpus(built: Settings, content: bytes) -> None:
    (built.graph_dir / snapshot.SNAPSHOT).write_bytes(content)
    kg = KnowledgeGraph.load(built)
    assert len(kg.papers) == 12


def _current_key(settings: Settings) -> str:
    manifest = json.loads((settings.graph_dir / "manifest.json").read_text())
    with CorpusStore(settings.corpus_path, create=False) as store:
        return snapshot.key(snapshot.fingerprint(store), manifest.get("topics_digest"))


def test_a_planted_pickle_is_never_unpickled(built: Settings, tmp_path: Path) -> None:
    """A pickle that names a kg function (the atomic writer) with the right header:
    the allow-list of the pickle era let it write any file on load."""
    from kg.core.fileio import atomic_write_text

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (atomic_write_text, (str(marker), "ran"))

    planted = pickle.dumps((1, _current_key(built))) + pickle.dumps({"graph": Evil()})
    for name in ("snapshot.pickle", snapshot.SNAPSHOT):
        (built.graph_dir / name).write_bytes(planted)
        assert len(KnowledgeGraph.load(built).papers) == 12
        assert not marker.exists()
    build(built, embedder=FakeEmbedder(dim=8), progress=False, rdf=False)
    assert not (built.graph_dir / "snapshot.pickle").exists()  # the build removes it
    assert snapshot.stored_key(built.graph_dir / snapshot.SNAPSHOT, verify=True) is not None


def test_the_snapshot_is_data_only(built: Settings) -> None:
    path = built.graph_dir / snapshot.SNAPSHOT
    header, body = path.read_bytes().split(b"\n", 1)
    assert json.loads(header)["key"] == _current_key(built)
    assert isinstance(json.loads(body), dict)


def test_a_tampered_snapshot_is_rejected_and_rebuilt(
    built: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = built.graph_dir / snapshot.SNAPSHOT
    data = path.read_bytes()
    tampered = data.replace(b"Paper 3 on sparse", b"Paper 3 on SPARSE")
    assert tampered != data
    path.write_bytes(tampered)
    with caplog.at_level("WARNING"):
        assert snapshot.load(path, _current_key(built)) is None
    assert str(path) in caplog.text and "digest" in caplog.text
    kg = KnowledgeGraph.load(built)
    assert kg.papers[f"{3:040x}"].title == "Paper 3 on sparse features"  # from the corpus
    build(built, embedder=FakeEmbedder(dim=8), progress=False, rdf=False)
    assert path.read_bytes() == data  # the build wrote it again


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"papers": 1}', b'{"papers": {}, "seeds": [], "same_as": {}, "graph": []}'],
)
def test_a_snapshot_of_another_shape_is_rejected(built: Settings, body: bytes) -> None:
    """Even with a matching digest (made by hand), a shape we did not write is ignored."""
    import hashlib

    path = built.graph_dir / snapshot.SNAPSHOT
    header = json.loads(path.read_bytes().split(b"\n", 1)[0])
    header["sha256"] = hashlib.sha256(body).hexdigest()
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    assert snapshot.load(path, header["key"]) is None
    assert len(KnowledgeGraph.load(built).papers) == 12


def test_a_snapshot_made_for_other_data_is_not_used(built: Settings) -> None:
    path = built.graph_dir / snapshot.SNAPSHOT
    assert snapshot.stored_key(path) is not None
    assert snapshot.load(path, "another corpus") is None


def test_a_build_that_changed_nothing_keeps_topics_and_snapshot(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kg.build

    path = built.graph_dir / snapshot.SNAPSHOT
    before = path.stat().st_mtime_ns

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("topics recomputed although nothing changed")

    monkeypatch.setattr(kg.build, "build_topic_model", refuse)
    build(built, embedder=FakeEmbedder(dim=8), progress=False, rdf=False)
    assert path.stat().st_mtime_ns == before
    monkeypatch.undo()
    _no_live_projection(monkeypatch)
    assert len(KnowledgeGraph.load(built).papers) == 12


def test_new_papers_recompute_topics_and_snapshot(built: Settings) -> None:
    with CorpusStore(built.corpus_path) as store:
        store.upsert_paper(Paper(paper_id="e" * 40, title="Another"), detail=DETAIL_FULL)
    build(built, embedder=FakeEmbedder(dim=8), progress=False, rdf=False)
    kg = KnowledgeGraph.load(built)
    assert "e" * 40 in kg.graph and "e" * 40 in kg.ids
    assert write_snapshot(built, force=False) is None  # up to date


def test_the_lexical_index_is_kept_with_the_graph(built: Settings) -> None:
    from kg.recommend.index import RecommendIndex
    from kg.recommend.rank import recommend

    kg = KnowledgeGraph.load(built)
    assert kg.lexical is not None and len(kg.lexical_ids) == len(kg.graph)
    index = RecommendIndex.of(kg)
    assert index.lexical is kg.lexical  # loaded, not rebuilt
    fresh = KnowledgeGraph.load(built)
    fresh.lexical = None
    rebuilt = RecommendIndex.of(fresh)
    assert rebuilt.lexical is not kg.lexical
    assert (rebuilt.lexical.X != index.lexical.X).nnz == 0
    assert rebuilt.lexical.surface == index.lexical.surface
    read = [next(iter(kg.papers))]
    assert recommend(kg, read, k=5) == recommend(fresh, read, k=5)


def test_a_stale_lexical_index_is_not_used(built: Settings) -> None:
    with CorpusStore(built.corpus_path) as store:
        store.upsert_paper(Paper(paper_id="c" * 40, title="Changed"), detail=DETAIL_FULL)
    kg = KnowledgeGraph.load(built)  # the corpus changed since the build
    assert kg.lexical is None


@pytest.mark.parametrize("name", ["embeddings.npz", "specter.npz", "topics.json", "manifest.json"])
@pytest.mark.parametrize("damage", [b"garbage", b"PK\x03\x04truncated", b""])
def test_a_damaged_artefact_is_named_and_rebuilt(built: Settings, name: str, damage: bytes) -> None:
    from kg.core.errors import KGError

    path = built.graph_dir / name
    path.write_bytes(damage)
    with pytest.raises(KGError) as err:
        KnowledgeGraph.load(built)
    assert str(path) in str(err.value) and "rebuild" in str(err.value)
    build(built, embedder=FakeEmbedder(dim=8), progress=False, rdf=False)
    assert len(KnowledgeGraph.load(built).papers) == 12


@pytest.mark.parametrize("damage", [b"garbage", b"PK\x03\x04truncated", b""])
def test_a_damaged_lexical_index_is_named_and_rebuilt(
    built: Settings, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = built.graph_dir / "lexical.npz"
    good = path.read_bytes()
    path.write_bytes(damage)
    with caplog.at_level("WARNING"):
        kg = KnowledgeGraph.load(built)
    assert kg.lexical is None and str(path) in caplog.text and "litkg build" in caplog.text
    build(built, embedder=FakeEmbedder(dim=8), progress=False, rdf=False)  # nothing changed
    assert path.read_bytes() != damage
    assert KnowledgeGraph.load(built).lexical is not None
    assert len(path.read_bytes()) == len(good)
