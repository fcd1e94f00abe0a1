"""`litkg build` over a small ingested corpus, with a deterministic fake embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.crawl import CrawlPolicy
from ingest.pipeline import run_ingest
from ingest.s2 import S2Client
from kg.build import EMBEDDINGS, BuildError, KnowledgeGraph, build
from kg.corpus import CorpusError, CorpusStore
from kg.embed import FakeEmbedder
from kg.settings import Settings
from tests.s2server import S2Server
from tests.s2world import small_world


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.calls = 0

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.calls += len(texts)
        return super().embed(texts)


@pytest.fixture
def ingested(tmp_path: Path) -> Iterator[Settings]:
    world = small_world()
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(p["paperId"] for p in list(world.papers.values())[:4]) + "\n")
    with S2Server(world) as srv:
        settings = Settings(data_dir=tmp_path / "data", s2_api_url=srv.url, s2_min_interval=0.0)
        with S2Client(settings) as client:
            run_ingest(
                [ids], settings=settings, client=client, progress=False, policy=CrawlPolicy(depth=1)
            )
        yield settings


def test_build_then_load_then_rebuild_only_new_work(ingested: Settings) -> None:
    embedder = CountingEmbedder()
    report = build(ingested, embedder=embedder, progress=False)
    assert report.papers >= 4 and report.embedded_new > 0 and report.triples
    first_calls = embedder.calls
    assert first_calls >= report.embedded_new
    kg = KnowledgeGraph.load(ingested)
    assert len(kg.ids) == report.papers == len(kg.papers)
    assert kg.embeddings.shape == (report.papers, 16)
    assert {t.scheme for t in kg.topics.topics} >= {"s2-fields"}
    again = build(ingested, embedder=embedder, progress=False)
    assert again.embedded_new == 0 and embedder.calls == first_calls  # nothing re-embedded


def test_build_without_corpus_says_ingest_first(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="litkg ingest"):
        build(Settings(data_dir=tmp_path), embedder=FakeEmbedder(), progress=False)


def test_build_of_empty_corpus_says_ingest_first(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    CorpusStore(settings.corpus_path).close()
    with pytest.raises(BuildError, match="no papers"):
        build(settings, embedder=FakeEmbedder(), progress=False)


def test_load_without_build_or_with_broken_artefacts(ingested: Settings) -> None:
    with pytest.raises(BuildError, match="litkg build"):
        KnowledgeGraph.load(ingested)
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    (ingested.graph_dir / EMBEDDINGS).write_bytes(b"half-written")
    with pytest.raises(BuildError, match="rebuild"):
        KnowledgeGraph.load(ingested)


def test_cli_build_reports(ingested: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.build as kb

    monkeypatch.setattr(kb, "default_embedder", lambda settings: FakeEmbedder(dim=16))
    runner = CliRunner()
    result = runner.invoke(
        __import__("app.cli", fromlist=["app"]).app,
        ["build", "--no-progress"],
        env={"LITKG_DATA_DIR": str(ingested.data_dir)},
    )
    assert result.exit_code == 0, result.output
    assert "Embeddings:" in result.output and "RDF:" in result.output
