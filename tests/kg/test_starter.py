"""The bundled starter snapshot (data/starter) and :func:`kg.portable.starter.import_starter`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from kg.core.model import Paper
from kg.core.settings import Settings
from kg.core.text import title_key
from kg.portable.starter import STARTER_SNAPSHOT, import_starter
from kg.store.corpus import DETAIL_FULL, DETAIL_LOCAL, CorpusStore
from kg.text.embed import EmbeddingCache, FakeEmbedder, equivalent_names, paper_text
from kg.views.status import data_origin, describe_origin
from kg.views.status import status as status_view

MINILM = "all-MiniLM-L6-v2@0.1.0:{}:seq256"
OLSSON = "In-context Learning and Induction Heads"


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data")


def test_equivalent_names_cover_the_fp32_and_bf16_minilm_backends_only() -> None:
    names = equivalent_names(MINILM.format("torch-bf16"))
    assert names[0] == MINILM.format("torch-bf16")
    assert set(names) == {MINILM.format(b) for b in ("torch-bf16", "torch", "onnx")}
    assert equivalent_names(MINILM.format("onnx-int8")) == (MINILM.format("onnx-int8"),)
    assert equivalent_names("fake-bow-16") == ("fake-bow-16",)
    assert equivalent_names("other-model@1:onnx:seq256") == ("other-model@1:onnx:seq256",)


def test_bundled_starter_is_text_only_small_and_says_where_its_parts_come_from() -> None:
    manifest = json.loads((STARTER_SNAPSHOT / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["starter"] is True and manifest["text_only"] is True
    assert manifest["counts"]["citations"] == 0
    assert manifest["counts"]["papers"] >= 500
    assert manifest["counts"]["embeddings"] == manifest["counts"]["papers"]
    licences = " ".join(s["licence"] for s in manifest["sources"])
    assert "CC0" in licences and "given with the project" in licences
    assert sum(f.stat().st_size for f in STARTER_SNAPSHOT.iterdir()) < 5_000_000
    notice = (STARTER_SNAPSHOT.parent / "NOTICE").read_text(encoding="utf-8")
    assert "CC0" in notice and "make_starter.py" in notice and "Apache-2.0" in notice


def test_starter_goes_into_an_empty_corpus_once_with_vectors_for_every_cpu(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    first = import_starter(settings)
    assert first.imported, first.message
    assert first.message.startswith("starter snapshot imported: ")
    again = import_starter(settings)
    assert not again.imported and "already in the corpus" in again.message

    with CorpusStore(settings.corpus_path, create=False) as store:
        status = store.status()
        papers = [r.paper for r in store.paper_rows()]
    assert status.papers >= 500 and status.papers_full == 0 and status.citations == 0
    assert status.seeds == 22
    # Whatever backend `auto` picks on the importing CPU, the build finds the vectors.
    texts = [paper_text(p.title, p.abstract)[0] for p in papers]
    with EmbeddingCache(settings.graph_dir) as cache:
        for backend in ("torch-bf16", "torch", "onnx"):
            assert len(cache.get_many(MINILM.format(backend), texts, 384)) == len(set(texts))
    origin = data_origin(settings)
    assert origin == (
        f"starter snapshot: {status.papers:,} papers, text only; connect to Semantic Scholar "
        "and press Refresh for citations"
    )
    assert status_view(settings).origin == origin


@pytest.mark.parametrize(
    ("detail", "expect"), [(DETAIL_FULL, "1 Semantic Scholar papers"), (DETAIL_LOCAL, "1 papers")]
)
def test_starter_never_goes_over_a_corpus_the_user_built(
    tmp_path: Path, detail: int, expect: str
) -> None:
    settings = _settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    pid = "a" * 40 if detail == DETAIL_FULL else "local:mine"
    with CorpusStore(settings.corpus_path) as store:
        store.upsert_paper(
            Paper(pid, "My own paper", resolved=detail == DETAIL_FULL), detail=detail
        )
    out = import_starter(settings)
    assert not out.imported and expect in out.message
    with CorpusStore(settings.corpus_path, create=False) as store:
        assert [r.paper.paper_id for r in store.paper_rows()] == [pid]
        assert store.snapshot_imports() == []


def test_starter_restores_its_records_over_the_offline_ingests_barer_ones(
    tmp_path: Path,
) -> None:
    """An offline ingest re-stores a seed-page paper from its link text (no abstract,
    fetched later): the next starter step puts the starter's record back, so the build
    finds its vector and embeds nothing."""
    settings = _settings(tmp_path)
    assert import_starter(settings).imported
    with CorpusStore(settings.corpus_path) as store:
        row = next(r for r in store.paper_rows() if r.paper.abstract and r.endpoint != "x")
        rich = row.paper
        bare = Paper(rich.paper_id, rich.title, external_ids=rich.external_ids, resolved=False)
        store.upsert_paper(bare, detail=DETAIL_LOCAL, endpoint="seed page")
        assert store.paper_row(rich.paper_id).paper.abstract is None  # type: ignore[union-attr]
    out = import_starter(settings)
    assert out.imported and "1 of its records restored" in out.message
    with CorpusStore(settings.corpus_path, create=False) as store:
        assert store.paper_row(rich.paper_id).paper == rich  # type: ignore[union-attr]


def test_origin_names_the_starter_until_semantic_scholar_papers_arrive() -> None:
    from kg.store.corpus import CorpusStatus

    base: dict[str, object] = dict(
        papers=600, papers_full=0, papers_unresolved=600, citations=0, seeds=22,
        seeds_resolved=0, seeds_unresolved=0, seeds_low_confidence=0, seeds_offline=22,
        with_abstract=590, with_specter=0, last_fetch=None, last_run=None, path="c",
    )  # fmt: skip
    offline = CorpusStatus(**base)  # type: ignore[arg-type]
    prov = [("local", "arXiv metadata (CC0)", 600, None)]
    assert describe_origin(offline, prov, starter=600) == (
        "starter snapshot: 600 papers, text only; connect to Semantic Scholar and press "
        "Refresh for citations"
    )
    assert "starter" not in (describe_origin(offline, prov) or "")
    online = CorpusStatus(**(base | {"papers_full": 10}))  # type: ignore[arg-type]
    assert "starter" not in (describe_origin(online, prov, starter=600) or "")


def _make_starter_module() -> Any:
    path = STARTER_SNAPSHOT.parent / "make_starter.py"
    spec = importlib.util.spec_from_file_location("litkg_make_starter", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its imports are today's module names
    return module


def test_the_starter_maker_runs_and_a_seed_linked_elsewhere_is_one_paper(
    tmp_path: Path, shared: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make_starter.py`` builds its corpus from ../shared (a small one here, with a fake
    embedder): every seed-page paper once, and a seed linked to its own site (Olsson et al.
    on transformer-circuits.pub) is the library's arXiv record of the same title, not a
    second paper beside it."""
    shared.path("seeds", "mechanistic-interpretability.dokuwiki.txt")
    shared.path("corpus", "llm-papers.jsonl.gz")
    maker = _make_starter_module()

    class _Fake:
        @staticmethod
        def from_env(**_: Any) -> FakeEmbedder:
            return FakeEmbedder()

    monkeypatch.setattr(maker, "MiniLMEmbedder", _Fake)
    settings = _settings(tmp_path)
    n = maker.build_corpus(shared.root, settings, 120)
    with CorpusStore(settings.corpus_path, create=False) as store:
        papers = [r.paper for r in store.paper_rows()]
        assert store.status().seeds == 22
    assert n == len(papers) == 120
    keys = [title_key(p.title) for p in papers]
    assert len(set(keys)) == len(keys), "two papers of the same title"
    arxiv = [p.external_ids["ArXiv"] for p in papers if "ArXiv" in p.external_ids]
    assert len(set(arxiv)) == len(arxiv), "two papers of the same arXiv id"
    olsson = [p for p in papers if title_key(p.title) == title_key(OLSSON)]
    assert len(olsson) == 1
    assert olsson[0].external_ids["ArXiv"] == "2209.11895" and olsson[0].abstract


def test_the_bundled_starter_has_each_paper_once() -> None:
    import pyarrow.parquet as pq

    rows = pq.read_table(STARTER_SNAPSHOT / "papers.parquet").to_pylist()
    keys = [title_key(r["title"]) for r in rows]
    assert len(set(keys)) == len(keys)
    olsson = next(r for r in rows if title_key(r["title"]) == title_key(OLSSON))
    assert ("ArXiv", "2209.11895") in {tuple(x) for x in olsson["external_ids"]}
