"""`litkg build` over a small ingested corpus, with a deterministic fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kg.build import EMBEDDINGS, BuildError, KnowledgeGraph, WeightsOutcome, build
from kg.core.model import Paper
from kg.core.settings import Settings
from kg.store.corpus import DETAIL_FULL, CorpusError, CorpusStore
from kg.text.embed import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.calls = 0

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.calls += len(texts)
        return super().embed(texts)


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


def test_build_fits_fusion_weights_once_per_graph(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kg.build
    from kg.build import WEIGHTS
    from kg.core.model import Paper
    from kg.recommend.tuning import TuneOutcome

    calls: list[int] = []
    outcome = TuneOutcome("citation hold-out", {"text": 0.7, "ppr": 0.3}, 10, 10, 0.5, 0.4, 0.1)

    def fake_tune(kg, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(kg.papers))
        kwargs["echo"]("tuned, says the fake")
        return outcome if len(calls) == 1 else None

    monkeypatch.setattr(kg.build, "auto_tune", fake_tune)
    report = build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    assert report.weights is not None and report.weights.outcome is WeightsOutcome.FITTED
    assert report.weights.why.startswith("on the citation hold-out")
    assert KnowledgeGraph.load(ingested).weights == {"text": 0.7, "ppr": 0.3}
    again = build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    assert again.weights is not None and again.weights.outcome is WeightsOutcome.KEPT
    assert len(calls) == 1  # nothing changed: kept
    with CorpusStore(ingested.corpus_path) as store:
        store.upsert_paper(Paper(paper_id="d" * 40, title="New"), detail=DETAIL_FULL)
    changed = build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    assert len(calls) == 2 and changed.weights is not None
    assert changed.weights.outcome is WeightsOutcome.DEFAULTS
    assert not (ingested.graph_dir / WEIGHTS).exists()  # fitted for the old graph: dropped
    assert KnowledgeGraph.load(ingested).weights is None
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False, tune=False)
    assert len(calls) == 2


def test_build_tunes_for_real_on_a_small_world(ingested: Settings) -> None:
    """No fake tuner: the small world has one curated list (the ids file), too few to
    judge weights on, so the build keeps the defaults, records why in the manifest as
    data, and says the same in the status."""
    from kg.build import MANIFEST, WEIGHTS, WeightsChoice, weights_status

    report = build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    choice = report.weights
    assert choice is not None and choice.outcome is WeightsOutcome.DEFAULTS
    assert choice.source == "defaults" and "1 list has >= 4 papers" in choice.why
    recorded = json.loads((ingested.graph_dir / MANIFEST).read_text())["weights"]
    assert WeightsChoice.from_dict(recorded) == choice
    assert not (ingested.graph_dir / WEIGHTS).exists()
    status = weights_status(ingested)
    assert status.source == "defaults" and status.why == choice.why
    assert report.as_dict()["weights"] == {**choice.as_dict(), "outcome": "defaults"}
    assert "weights" in report.seconds


def test_long_steps_are_named_when_progress_is_shown(ingested: Settings) -> None:
    said: list[str] = []
    build(ingested, embedder=FakeEmbedder(dim=16), progress=True, rdf=False, echo=said.append)
    assert "computing topics ..." in said
    assert any(s.startswith("writing the load snapshot") for s in said)
    assert any(s.startswith("fitting the fusion weights") for s in said)
    quiet: list[str] = []
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False, echo=quiet.append)
    assert not any(s.endswith(" ...") for s in quiet)


def test_specter_vectors_are_unit_length_in_the_graph(ingested: Settings) -> None:
    """S2's vectors are not unit length (their norms vary from paper to paper): the graph
    keeps them normalised, so that the recommender's dot products are cosines."""
    rng = np.random.default_rng(0)
    raw = {"e" * 40: rng.standard_normal(768) * 30, "f" * 40: rng.standard_normal(768) * 3}
    with CorpusStore(ingested.corpus_path) as store:
        for pid, vec in raw.items():
            paper = Paper(paper_id=pid, title=f"Paper {pid[0]}", abstract="About circuits.")
            store.upsert_paper(paper, detail=DETAIL_FULL, specter=vec.tolist())
    report = build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False, tune=False)
    kg = KnowledgeGraph.load(ingested)
    assert report.with_specter == len(kg.specter_ids) >= 2
    np.testing.assert_allclose(np.linalg.norm(kg.specter, axis=1), 1.0, rtol=1e-5)
    for pid, vec in raw.items():
        got = kg.specter[kg.specter_row[pid]]
        np.testing.assert_allclose(got, vec / np.linalg.norm(vec), rtol=1e-5, atol=1e-6)


def test_damaged_or_missing_weights_are_named_and_refitted(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import kg.build
    from kg.build import WEIGHTS, weights_status
    from kg.recommend.fusion import DEFAULT_WEIGHTS
    from kg.recommend.tuning import TuneOutcome

    calls: list[int] = []
    fitted = {"text": 0.7, "ppr": 0.3}
    outcome = TuneOutcome("curated lists (4 lists)", fitted, 10, 10, 0.5, 0.4, 0.1, (0.05, 0.15))

    def fake_tune(kg, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return outcome

    monkeypatch.setattr(kg.build, "auto_tune", fake_tune)
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    state = weights_status(ingested)
    assert state.source == "fitted" and state.why.startswith("fitted on the curated lists")
    assert "(gain +0.050 to +0.150)" in state.why and state.weights["text"] == 0.7
    path = ingested.graph_dir / WEIGHTS
    path.write_text("{not json")
    state = weights_status(ingested)
    assert state.source == "defaults" and str(path) in state.why and "litkg build" in state.why
    assert state.weights == DEFAULT_WEIGHTS
    with caplog.at_level("WARNING"):
        assert KnowledgeGraph.load(ingested).weights is None  # the defaults, not a traceback
    assert str(path) in caplog.text
    out = CliRunner().invoke(_app(), ["status"], env=_env(ingested)).output
    assert f"Fusion weights: defaults (The fitted fusion weights in {path} are damaged" in out
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    assert len(calls) == 2, "the graph did not change, but the damaged file is refitted"
    assert weights_status(ingested).source == "fitted"
    path.unlink()
    state = weights_status(ingested)
    assert state.source == "defaults" and "missing although the last build fitted it" in state.why
    build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    assert len(calls) == 3 and path.exists()
    again = build(ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False)
    assert len(calls) == 3 and again.weights is not None
    assert (again.weights.outcome, again.weights.source) == (WeightsOutcome.KEPT, "fitted")


def _app():  # type: ignore[no-untyped-def]
    from app.cli import app

    return app


def _env(settings: Settings) -> dict[str, str]:
    return {"LITKG_DATA_DIR": str(settings.data_dir)}


def test_build_tunes_on_the_users_reading_lists(ingested: Settings) -> None:
    """Four saved reading lists are curated lists, with the ids file the corpus was ingested
    from (a source without sections is one list): the build's tuning uses them, and says
    the interval and the verdict."""
    from kg.store.readinglists import ReadingLists

    with CorpusStore(ingested.corpus_path, create=False) as store:
        ids = sorted(store.paper_ids())
    assert len(ids) >= 10
    lists = ReadingLists.open(ingested)
    for n in range(4):  # overlapping windows of 4: the small world has 10 papers
        lists.add_many(f"list {n}", ids[2 * n : 2 * n + 4], create=True)
    said: list[str] = []
    report = build(
        ingested, embedder=FakeEmbedder(dim=16), progress=False, rdf=False, echo=said.append
    )
    line = next(s for s in said if s.startswith("Fusion weights"))
    assert line.startswith("Fusion weights tuned on the curated lists (5 lists of >= 4 papers")
    assert "90% interval" in line
    # no gain beyond the noise on 5 small lists: the defaults stay, and the build says so
    assert "kept the default weights" in line
    assert report.weights is not None and report.weights.outcome is WeightsOutcome.DEFAULTS
    assert report.weights.why.startswith("Fusion weights tuned on the curated lists")
