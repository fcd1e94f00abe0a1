"""Field-scale memory: the build's steps hold no full-size copies (vectors written and read
without copies, mapped at field scale, topics clustered on samples, the lexical index
made without the recommender's index), with the same results below the thresholds."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import kg.build
import kg.text.lexical
import kg.topics.discover
from kg.build import KnowledgeGraph, _specter_vectors, build
from kg.core.settings import Settings
from kg.graph import snapshot
from kg.graph.knowledge import atomic_savez, mapped, npz, prefetch
from kg.recommend.index import RecommendIndex
from kg.store.corpus import DETAIL_FULL, CorpusStore
from kg.text.embed import FakeEmbedder
from kg.text.lexical import LexicalIndex
from kg.topics.cluster import sampled_kmeans, spherical_kmeans, unit_rows
from kg.topics.discover import discover_topics
from kg.topics.model import DISCOVERED
from kg.topics.quality import purity
from tests.kg.test_topics import blobs


# --------------------------------------------------------------------------- vector files
def test_atomic_savez_writes_the_archive_np_load_reads(tmp_path: Path) -> None:
    path = tmp_path / "g" / "e.npz"
    v = np.random.default_rng(0).standard_normal((300, 7)).astype(np.float32)
    atomic_savez(path, ids=np.array(["a", "bb"]), vectors=v, model=np.array("m"))
    with npz(path) as z:
        assert z["ids"].tolist() == ["a", "bb"] and str(z["model"]) == "m"
        np.testing.assert_array_equal(z["vectors"], v)
    assert [p.name for p in path.parent.iterdir()] == ["e.npz"]  # no temp file left


def test_mapped_reads_a_member_in_place_and_refuses_what_it_cannot_map(tmp_path: Path) -> None:
    path = tmp_path / "e.npz"
    v = np.random.default_rng(1).standard_normal((50, 4)).astype(np.float32)
    atomic_savez(path, ids=np.array(["x"] * 50), vectors=v, empty=np.zeros((0, 4), np.float32))
    m = mapped(path, "vectors")
    assert isinstance(m, np.memmap) and m.dtype == np.float32 and not m.flags.writeable
    np.testing.assert_array_equal(m, v)
    assert mapped(path, "empty").shape == (0, 4)
    with pytest.raises(KeyError):
        mapped(path, "nothing")
    squeezed = tmp_path / "c.npz"
    np.savez_compressed(squeezed, vectors=v)
    with pytest.raises(ValueError, match="compressed"):
        mapped(squeezed, "vectors")
    objects = tmp_path / "o.npz"
    with zipfile.ZipFile(objects, "w") as archive, archive.open("vectors.npy", "w") as fh:
        np.lib.format.write_array(fh, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="objects"):
        mapped(objects, "vectors")


def test_prefetch_advises_the_kernel_for_mapped_arrays_only(tmp_path: Path) -> None:
    path = tmp_path / "e.npz"
    v = np.arange(512, dtype=np.float32).reshape(64, 8)
    atomic_savez(path, vectors=v)
    m = mapped(path, "vectors")
    assert prefetch(m) and prefetch(np.asarray(m, dtype=np.float32))  # a view of the map too
    np.testing.assert_array_equal(m, v)  # advice changes nothing read
    assert not prefetch(np.ones((3, 3))) and not prefetch(v[2:])


def test_specter_vectors_are_read_into_one_matrix_with_the_same_values(
    ingested: Settings,
) -> None:
    rng = np.random.default_rng(3)
    with CorpusStore(ingested.corpus_path) as store:
        papers = sorted(store.papers(), key=lambda p: p.paper_id)
        for p in papers[1:]:
            vec = (rng.standard_normal(768) * 60).astype(np.float32)
            store.upsert_paper(p, detail=DETAIL_FULL, specter=vec.tolist())
        ids = [p.paper_id for p in papers]
        got_ids, got = _specter_vectors(store, ids)
        rows = [np.asarray(store.specter(pid), dtype=np.float32) for pid in ids[1:]]
    want = np.stack(rows)  # what the build did before: stack, then normalise all at once
    norms = np.linalg.norm(want, axis=1, keepdims=True)
    want /= np.where(norms > 0, norms, 1.0)
    assert got_ids == ids[1:]
    np.testing.assert_array_equal(got, want)


def test_a_field_scale_graph_maps_its_vectors_a_small_one_reads_them(
    ingested: Settings,
) -> None:
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    small = KnowledgeGraph.load(ingested)
    assert not isinstance(small.embeddings, np.memmap)
    assert isinstance(KnowledgeGraph.load(ingested, mmap=True).embeddings, np.memmap)
    field = replace(ingested, ann_min_papers=0)
    build(field, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    big = KnowledgeGraph.load(field)
    assert isinstance(big.embeddings, np.memmap) and isinstance(big.specter, np.memmap)
    np.testing.assert_array_equal(big.embeddings, small.embeddings)


def test_the_builds_lexical_index_is_the_one_the_recommender_makes(ingested: Settings) -> None:
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    saved = KnowledgeGraph.load(ingested)
    assert saved.lexical is not None and saved.lexical_ids == list(saved.graph.ids)
    own = KnowledgeGraph.load(ingested)
    own.lexical = None  # the recommender makes its own from the papers
    made = RecommendIndex(own).lexical
    for name, value in made.arrays().items():
        np.testing.assert_array_equal(saved.lexical.arrays()[name], value, err_msg=name)


# --------------------------------------------------------------------------- topics
def test_unit_rows_copies_only_when_it_must() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rows, same = unit_rows(x, block=7)
    assert same is x and rows.tolist() == list(range(40))
    y = x * 3
    y[4] = 0
    rows, unit = unit_rows(y, block=7)
    assert unit is not y and unit.dtype == np.float32 and 4 not in rows.tolist()
    np.testing.assert_allclose(unit, np.delete(x, 4, axis=0), rtol=1e-6, atol=1e-6)


def test_sampled_kmeans_finds_the_clusters_and_assigns_every_row() -> None:
    _, x, _, coarse, _ = blobs(per_sub=40)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    labels, centroids = sampled_kmeans(x, 4, 240, seed=0, block=50)
    assert labels.shape == (x.shape[0],) and centroids.shape == (4, x.shape[1])
    assert purity(coarse, labels) > 0.95
    sizes = np.bincount(labels)
    assert sizes.tolist() == sorted(sizes.tolist(), reverse=True)  # numbered by size
    small_l, small_c = sampled_kmeans(x, 4, x.shape[0], seed=0)  # no more rows than the sample
    want_l, want_c = spherical_kmeans(x, 4, seed=0)
    np.testing.assert_array_equal(small_l, want_l)
    np.testing.assert_array_equal(small_c, want_c)


class _Counted(Sequence[str]):
    """Texts that count how many were read."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.read = 0

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        self.read += 1
        return self.texts[i]


def test_field_scale_topics_cluster_on_samples_and_read_sampled_texts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kg.topics.discover, "KEYWORD_SAMPLE", 100)
    monkeypatch.setattr(kg.topics.discover, "SUB_KEYWORD_SAMPLE", 40)
    ids, x, texts, coarse, fine = blobs(per_sub=40)
    counted = _Counted(texts)
    found = discover_topics(ids, x, counted, k1=4, k2=3, seed=0, sample=150)
    assert counted.read <= 100 + 4 * 40 < len(texts)
    assert "samples of 150" in found.params["method"]
    assert purity(coarse, found.coarse) > 0.95 and purity(fine, found.fine) > 0.9
    primary = {m.paper_id for m in found.memberships if m.topic_id.count("/") == 1}
    assert primary == set(ids)  # every paper placed, not only the sampled ones
    labels = " ".join(t.label for t in found.topics)
    assert "induction" in labels and "protein" in labels
    exact = discover_topics(ids, x, texts, k1=4, k2=3, seed=0, sample=len(ids))
    plain = discover_topics(ids, x, texts, k1=4, k2=3, seed=0)
    assert exact.memberships == plain.memberships  # not above the sample: the same topics


def test_build_clusters_on_samples_only_above_the_field_scale(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kg.build, "TOPIC_SAMPLE", 5)
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    below = KnowledgeGraph.load(ingested).topics.params[DISCOVERED]
    assert "samples" not in below["method"]
    field = replace(ingested, field_scale=0)
    build(field, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False, rebuild=True)
    above = KnowledgeGraph.load(field).topics.params[DISCOVERED]
    assert "samples of 5 papers" in above["method"]


# --------------------------------------------------------------------------- snapshot
def _made(obj: object) -> object:
    """The snapshot document with every part made (what one ``json.dumps`` encoded)."""
    if isinstance(obj, snapshot._Later):
        return _made(obj.make())
    if isinstance(obj, snapshot._Chunked):
        return [x for lo in range(0, obj.size, 2) for x in obj.make(lo, min(obj.size, lo + 2))]
    if isinstance(obj, dict):
        return {k: _made(v) for k, v in obj.items()}
    return obj


def test_the_snapshot_is_written_in_pieces_with_the_bytes_of_one_dump(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, tune=False, rdf=False)
    graph = KnowledgeGraph.load(ingested, snapshot=False)
    content = {"papers": graph.papers, "seeds": graph.seeds, "same_as": graph.same_as}
    content["graph"] = graph.graph
    monkeypatch.setattr(snapshot, "_CHUNK", 3)  # long lists: several pieces each
    whole = json.dumps(
        _made(snapshot._document(content)),
        ensure_ascii=False,
        separators=(",", ":"),
        default=list,
    ).encode()
    assert len(list(snapshot._pieces(snapshot._document(content)))) > 50
    path = ingested.graph_dir / "again.json"
    snapshot.save(path, "k", content)
    head, body = path.read_bytes().split(b"\n", 1)
    assert body == whole
    assert json.loads(head)["sha256"] == hashlib.sha256(whole).hexdigest()
    assert snapshot.stored_key(path, verify=True) == "k"
    loaded = snapshot.load(path, "k")
    assert loaded is not None and set(loaded["papers"]) == set(graph.papers)
    assert sorted(loaded["graph"].graph.edges) == sorted(graph.graph.graph.edges)


# --------------------------------------------------------------------------- lexical index
def test_the_lexical_index_made_chunk_by_chunk_is_the_same_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, texts, _, _ = blobs(per_sub=6)
    texts = [*texts, "", "Sparse autoencoders, sparse autoencoders and induction heads."]
    whole = LexicalIndex(texts)  # one chunk
    monkeypatch.setattr(kg.text.lexical, "_LEX_CHUNK", 5)
    pieces = LexicalIndex(texts)
    assert whole.X.nnz > 0 and whole.surface == pieces.surface
    for name, value in whole.arrays().items():
        got = pieces.arrays()[name]
        assert got.dtype == value.dtype, name
        np.testing.assert_array_equal(got, value, err_msg=name)
