"""Field-scale builds: S2's SPECTER vectors as the ``text`` signal's vectors (nothing
embedded locally) and the approximate text index the recommender reads above a size."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kg
from kg.build import MINILM_TEXT, SPECTER_TEXT, BuildError, KnowledgeGraph, build, text_vectors_for
from kg.core.errors import ConfigError
from kg.core.settings import Settings
from kg.recommend import signals
from kg.recommend.fusion import fuse
from kg.recommend.index import RecommendIndex
from kg.recommend.rank import Recommender
from kg.store.corpus import DETAIL_FULL, CorpusStore
from kg.text.ann import ANN_FILE, TextAnnIndex
from kg.text.embed import FakeEmbedder
from kg.views.search import SemanticSearchUnavailable, query_embedder


class RefusingEmbedder(FakeEmbedder):
    """Fails the test when anything is embedded."""

    def embed(self, texts):  # type: ignore[no-untyped-def]
        raise AssertionError(f"embedded {len(texts)} texts in a SPECTER-vector build")


def _give_specter(settings: Settings, *, leave_out: int = 1) -> dict[str, np.ndarray]:
    """A SPECTER vector (not unit length) for every paper of the corpus but ``leave_out``."""
    rng = np.random.default_rng(7)
    given: dict[str, np.ndarray] = {}
    with CorpusStore(settings.corpus_path) as store:
        papers = sorted(store.papers(), key=lambda p: p.paper_id)
        for paper in papers[leave_out:]:
            vec = rng.standard_normal(768).astype(np.float32) * 50
            store.upsert_paper(paper, detail=DETAIL_FULL, specter=vec.tolist())
            given[paper.paper_id] = vec
    return given


def test_text_vectors_setting_is_read_and_checked() -> None:
    assert Settings.from_env({}).text_vectors == "auto"
    assert Settings.from_env({"LITKG_TEXT_VECTORS": "SPECTER"}).text_vectors == "specter"
    assert Settings.from_env({"LITKG_FIELD_SCALE": "10"}).field_scale == 10
    with pytest.raises(ConfigError, match="auto, minilm, specter"):
        Settings.from_env({"LITKG_TEXT_VECTORS": "bert"})


def test_auto_takes_specter_only_at_field_scale_with_enough_vectors() -> None:
    auto = Settings(field_scale=100)
    assert text_vectors_for(auto, 100, 100) == MINILM_TEXT  # not above the field scale
    assert text_vectors_for(auto, 101, 91) == SPECTER_TEXT  # >= 90% have one
    assert text_vectors_for(auto, 101, 90) == MINILM_TEXT
    assert text_vectors_for(replace(auto, text_vectors="minilm"), 10**6, 10**6) == MINILM_TEXT
    assert text_vectors_for(replace(auto, text_vectors="specter"), 3, 1) == SPECTER_TEXT
    with pytest.raises(BuildError, match="LITKG_TEXT_VECTORS=minilm"):
        text_vectors_for(replace(auto, text_vectors="specter"), 3, 0)


def test_specter_text_build_embeds_nothing_and_everything_else_works(
    ingested: Settings,
) -> None:
    given = _give_specter(ingested)
    settings = replace(ingested, text_vectors="specter")
    report = build(settings, embedder=RefusingEmbedder(), progress=False, tune=False)
    assert report.text_vectors == SPECTER_TEXT
    assert report.embedded_new == report.embedded_cached == 0
    assert report.text_missing == report.papers - len(given) == 1
    assert any("zero vector" in line for line in report.lines())
    manifest = json.loads((settings.graph_dir / "manifest.json").read_text())
    assert manifest["text_vectors"] == SPECTER_TEXT
    graph = KnowledgeGraph.load(settings)
    assert graph.embeddings.shape == (report.papers, 768)
    for pid in graph.ids:
        row = graph.embeddings[graph.row[pid]]
        if pid in given:
            vec = given[pid]
            np.testing.assert_allclose(row, vec / np.linalg.norm(vec), rtol=1e-5, atol=1e-6)
        else:
            assert not row.any()  # no vector: zero
    with pytest.raises(SemanticSearchUnavailable, match="no local SPECTER query encoder"):
        query_embedder(settings, graph)
    lib = kg.open(settings=settings)
    with pytest.raises(SemanticSearchUnavailable, match="LITKG_TEXT_VECTORS=minilm"):
        lib.search("circuits", field="semantic")
    assert lib.search(graph.papers[graph.ids[0]].title.split()[0], field="title")
    read = [pid for pid in graph.ids if pid in given][:2]
    recs = lib.recommend(read, k=3)
    assert recs.items and not {r.paper.paper_id for r in recs.items} & set(read)


def test_a_specter_build_keeps_one_copy_of_the_vectors(ingested: Settings) -> None:
    # Every paper has a vector: the text vectors are the SPECTER rows, written once.
    from kg.build import BuildError
    from kg.graph.knowledge import EMBEDDINGS, SPECTER, atomic_savez

    _give_specter(ingested, leave_out=0)
    settings = replace(ingested, text_vectors="specter")
    build(settings, embedder=RefusingEmbedder(), progress=False, tune=False, rdf=False)
    spec_file, emb_file = settings.graph_dir / SPECTER, settings.graph_dir / EMBEDDINGS
    with np.load(spec_file) as archive:
        assert "vectors" not in archive.files and str(archive["same_as"]) == EMBEDDINGS
    assert spec_file.stat().st_size < emb_file.stat().st_size / 10
    graph = KnowledgeGraph.load(settings)
    assert graph.specter is graph.embeddings and graph.specter_ids == graph.ids
    read = graph.ids[:2]
    assert kg.open(settings=settings, graph=graph).recommend(read, k=3).items
    # A file that claims the text vectors' rows but names other papers is named as damaged.
    atomic_savez(spec_file, ids=np.array(graph.ids[::-1]), same_as=np.array(EMBEDDINGS))
    with pytest.raises(BuildError, match=r"specter\.npz is damaged"):
        KnowledgeGraph.load(settings)


def test_minilm_build_records_its_text_vectors(ingested: Settings) -> None:
    _give_specter(ingested)
    report = build(ingested, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    assert report.text_vectors == MINILM_TEXT and report.embedded_new > 0
    manifest = json.loads((ingested.graph_dir / "manifest.json").read_text())
    assert manifest["text_vectors"] == MINILM_TEXT
    assert isinstance(query_embedder(ingested, KnowledgeGraph.load(ingested)), FakeEmbedder)


# --------------------------------------------------------------------------- the index
def _clustered(n: int, dim: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim))
    vectors = centres[rng.integers(0, 20, n)] + 0.4 * rng.standard_normal((n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def test_index_finds_the_exact_nearest_neighbours() -> None:
    vectors = _clustered(3000, 64)
    index = TextAnnIndex.build(vectors)
    found = 0
    for q in range(0, 3000, 100):
        exact = set(np.argsort(-(vectors @ vectors[q]))[:20].tolist())
        found += len(exact & set(index.neighbours(vectors[q], 20).tolist()))
    assert found / (30 * 20) >= 0.98  # recall@20
    both = index.neighbours(vectors[[0, 1500]], 20)
    assert both.size <= 40 and {0, 1500} <= set(both.tolist())  # a union, sorted
    assert np.all(np.diff(both) > 0)


def test_index_built_in_blocks_with_a_progress_bar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import kg.text.ann as ann

    monkeypatch.setattr(ann, "_BLOCK", 700)
    vectors = _clustered(3000, 64)
    index = TextAnnIndex.build(vectors, progress=True)
    assert index.rows == 3000 and len(index._index) == 3000  # type: ignore[arg-type]
    assert "text index" in capsys.readouterr().err
    found = sum(q in index.neighbours(vectors[q], 5).tolist() for q in range(0, 3000, 7))
    assert found >= 0.98 * len(range(0, 3000, 7))  # every block's rows are found


def test_damaged_index_is_named_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vectors = _clustered(500, 32)
    path = tmp_path / ANN_FILE
    TextAnnIndex.build(vectors).save(path)
    assert TextAnnIndex.load(path, vectors).rows == 500 and not caplog.records
    path.write_bytes(b"not an index" * 100)
    with caplog.at_level(logging.WARNING):
        again = TextAnnIndex.load(path, vectors)
    assert str(path) in caplog.text and "rebuilt" in caplog.text
    assert 7 in again.neighbours(vectors[7], 5).tolist()
    caplog.clear()
    assert TextAnnIndex.load(path, vectors).rows == 500 and not caplog.records  # saved back
    with caplog.at_level(logging.WARNING):
        TextAnnIndex.load(path, vectors[:400])  # made for other vectors
    assert "made for 500 vectors" in caplog.text


def test_a_large_damaged_index_is_rebuilt_with_a_progress_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rebuild of more than one block (minutes at field scale) shows its progress; a
    small one stays quiet."""
    import kg.text.ann as ann

    monkeypatch.setattr(ann, "_BLOCK", 200)
    path = tmp_path / ANN_FILE
    path.write_bytes(b"not an index" * 100)
    assert TextAnnIndex.load(path, _clustered(200, 16)).rows == 200
    assert "text index" not in capsys.readouterr().err
    path.write_bytes(b"not an index" * 100)
    assert TextAnnIndex.load(path, _clustered(600, 16)).rows == 600
    assert "text index" in capsys.readouterr().err


def test_build_writes_the_index_above_the_threshold_only(ingested: Settings) -> None:
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    assert not (ingested.graph_dir / ANN_FILE).exists()
    graph = KnowledgeGraph.load(ingested)
    assert graph.text_index_path is None and RecommendIndex.of(graph).text_ann() is None
    forced = replace(ingested, ann_min_papers=0, ann_neighbours=7)
    build(forced, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    graph = KnowledgeGraph.load(forced)
    assert graph.text_index_path == forced.graph_dir / ANN_FILE and graph.text_neighbours == 7
    assert graph.text_index_path.exists()
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    assert not (ingested.graph_dir / ANN_FILE).exists()  # below again: no stale index


def test_recommender_with_the_index_matches_exact(ingested: Settings) -> None:
    _give_specter(ingested, leave_out=0)
    settings = replace(ingested, text_vectors="specter", ann_min_papers=0, ann_neighbours=10**6)
    build(settings, embedder=RefusingEmbedder(), progress=False, tune=False, rdf=False)
    approx = KnowledgeGraph.load(settings)
    exact = KnowledgeGraph.load(settings)
    exact.text_index_path = None
    ids = sorted(approx.papers)
    for read in (ids[:1], ids[1:3], ids[-2:]):
        got = kg.open(settings=settings, graph=approx).recommend(read, k=5)
        want = kg.open(settings=settings, graph=exact).recommend(read, k=5)
        assert [r.paper.paper_id for r in got.items] == [r.paper.paper_id for r in want.items]
        for a, b in zip(got.items, want.items, strict=True):
            assert a.signals["text"] == pytest.approx(b.signals["text"], abs=1e-5)
    assert RecommendIndex.of(approx).text_ann() is not None  # the index was used
    assert RecommendIndex.of(exact).text_ann() is None


def _approx_world(settings: Settings) -> tuple[Settings, KnowledgeGraph, KnowledgeGraph]:
    """A SPECTER-vector build with the index forced on and 2 neighbours per query: the
    graph read through the index, and the same graph read exactly."""
    _give_specter(settings, leave_out=0)
    forced = replace(settings, text_vectors="specter", ann_min_papers=0, ann_neighbours=2)
    build(forced, embedder=RefusingEmbedder(), progress=False, tune=False, rdf=False)
    exact = KnowledgeGraph.load(forced)
    exact.text_index_path = None
    return forced, KnowledgeGraph.load(forced), exact


def test_a_candidate_with_graph_evidence_gets_its_exact_cosine(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A floor sample of 3 rows: most rows start with the sample's median, not a cosine.
    monkeypatch.setattr(signals, "_FLOOR_SAMPLE", 3)
    _, approx, exact = _approx_world(ingested)
    index, want_index = RecommendIndex.of(approx), RecommendIndex.of(exact)
    checked = 0
    for j in range(index.n):
        cited = want_index.view.A[j].indices  # what j cites: j has graph evidence for them
        if not want_index.recommendable[j] or not cited.size:
            continue
        read = np.array([cited[0]], dtype=np.int64)
        first = signals.raw_signals(index, read)
        if signals.exact_text(index, first)[j]:
            continue  # among the index's neighbours or the sample already
        want = signals.raw_signals(want_index, read).raw["text"][j]
        assert first.raw["text"][j] != pytest.approx(want, abs=1e-6)  # a stand-in value
        scored = Recommender(approx)._score([index.ids[read[0]]], (), None, None)
        assert scored.cand[j] and scored.sig.raw["text"][j] == pytest.approx(want, abs=1e-6)
        checked += 1
    assert checked >= 3


def _top_is_the_exact_one(rec: Recommender, read: list[str]) -> tuple[Any, np.ndarray, np.ndarray]:
    """The index path's top 5 for ``read``: every one's cosine exact, and the top 5 that
    every cosine made exact (same floor) gives. Returns the scored query, its top and
    the exact fused scores."""
    scored = rec._score(read, (), None, None, pool=5)
    top = np.argsort(-np.where(scored.cand, scored.score, -np.inf), kind="stable")[:5]
    assert signals.exact_text(rec.index, scored.sig)[top].all()
    signals.complete_text(rec.index, scored.sig, np.arange(rec.index.n))
    again = fuse(signals.scaled_signals(scored.sig, scored.cand), scored.weights)
    want = np.argsort(-np.where(scored.cand, again, -np.inf), kind="stable")[:5]
    assert top.tolist() == want.tolist()
    return scored, top, again


def test_the_index_path_ranks_as_exact_cosines_would(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "_FLOOR_SAMPLE", 3)
    _, approx, _ = _approx_world(ingested)
    rec = Recommender(approx)
    ids = sorted(approx.papers)
    for read in (ids[:1], ids[1:3], ids[-2:]):
        scored, top, again = _top_is_the_exact_one(rec, read)
        assert scored.score[top] == pytest.approx(again[top], abs=1e-6)  # the same scores


def test_contenders_are_made_exact_best_first_in_batches(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One row per batch: each contender is made exact on its own, best first, and the
    # top 5 is still the one exact cosines give.
    import kg.recommend.rank as rank

    monkeypatch.setattr(signals, "_FLOOR_SAMPLE", 3)
    monkeypatch.setattr(rank, "SETTLE_BATCH", 1)
    _, approx, _ = _approx_world(ingested)
    rec = Recommender(approx)
    batches: list[int] = []
    complete = rank.complete_text

    def spy(index: RecommendIndex, sig: signals.Signals, nodes: np.ndarray) -> int:
        batches.append(len(nodes))
        return complete(index, sig, nodes)

    monkeypatch.setattr(rank, "complete_text", spy)
    ids = sorted(approx.papers)
    for read in (ids[:1], ids[1:3], ids[-2:]):
        _top_is_the_exact_one(rec, read)
    settled = [b for b in batches if b]  # the calls with no contender left out
    assert settled and max(settled) == 1 and len(settled) > 3


def test_with_the_whole_sample_the_index_path_is_the_exact_one(ingested: Settings) -> None:
    # The default sample covers this small world: the floor is the exact median.
    settings, approx, exact = _approx_world(ingested)
    ids = sorted(approx.papers)
    for read in (ids[:1], ids[1:3], ids[-2:]):
        got = kg.open(settings=settings, graph=approx).recommend(read, k=5)
        want = kg.open(settings=settings, graph=exact).recommend(read, k=5)
        assert [r.paper.paper_id for r in got.items] == [r.paper.paper_id for r in want.items]
        for a, b in zip(got.items, want.items, strict=True):
            assert a.signals["text"] == pytest.approx(b.signals["text"], abs=1e-5)
    assert RecommendIndex.of(approx).text_ann() is not None


def test_many_contenders_take_the_dense_product(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pool larger than the graph: every candidate contends, so every row is computed,
    # in one product rather than a gather, and the text values are the exact path's.
    monkeypatch.setattr(signals, "_FLOOR_SAMPLE", 3)
    _, approx, exact = _approx_world(ingested)
    rec, want = Recommender(approx), Recommender(exact)
    read = sorted(approx.papers)[:2]
    scored = rec._score(read, (), None, None, pool=10**6)
    assert scored.sig.approx is not None and scored.sig.approx.exact.all()
    wanted = want._score(read, (), None, None).sig.raw["text"]
    assert np.allclose(scored.sig.raw["text"], wanted, atol=1e-6, equal_nan=True)


def test_the_bound_holds_for_every_row_the_index_left_out(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "_FLOOR_SAMPLE", 3)
    _, approx, exact = _approx_world(ingested)
    index, want_index = RecommendIndex.of(approx), RecommendIndex.of(exact)
    ids = sorted(approx.papers)
    for read in (ids[:1], ids[1:3], ids[-3:]):
        nodes = np.array(index.resolve(read))
        sig = signals.raw_signals(index, nodes)
        want = signals.raw_signals(want_index, nodes).raw["text"]
        assert sig.approx is not None
        loose = ~signals.exact_text(index, sig)
        assert loose.any()  # 2 neighbours per query and a sample of 3 leave rows out
        assert np.all(want[loose] <= sig.approx.bound + 1e-6)
        kept = np.flatnonzero(~loose & (index.emb_row >= 0))
        assert np.allclose(sig.raw["text"][kept], want[kept], atol=1e-6)
