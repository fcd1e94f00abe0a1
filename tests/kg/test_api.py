"""kg.open(): the Python API end to end on the small world (ingest through the local S2
server, build, then every reader), and that it says the same as the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kg
from ingest.errors import IngestError
from ingest.s2 import S2Client
from kg.api import Litkg, Recommended
from kg.core.errors import BuildError, KGError, LitkgError, UnknownPaperError
from kg.core.model import Paper
from kg.core.settings import Settings
from kg.text.embed import FakeEmbedder
from tests.s2server import S2Server
from tests.s2world import small_world

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Litkg:
    root = tmp_path_factory.mktemp("api")
    world = small_world()
    ids = root / "ids.txt"
    ids.write_text("\n".join(p["paperId"] for p in list(world.papers.values())[:4]) + "\n")
    with S2Server(world) as srv:
        settings = Settings(data_dir=root / "data", s2_api_url=srv.url, s2_min_interval=0.0)
        with S2Client(settings) as client:
            lib = kg.open(settings=settings, embedder=FakeEmbedder(dim=16), s2=client)
            summary = lib.ingest([ids])
    assert summary.papers > 4
    report = lib.build()
    assert report.papers == summary.papers
    return lib


def test_one_exception_root() -> None:
    assert kg.LitkgError is LitkgError
    assert issubclass(KGError, LitkgError) and issubclass(IngestError, LitkgError)


def test_open_names_the_data_dir(tmp_path: Path) -> None:
    lib = kg.open(tmp_path / "somewhere")
    assert lib.settings.data_dir == tmp_path / "somewhere"
    assert "somewhere" in repr(lib)
    with pytest.raises(BuildError, match="litkg build"):
        lib.recommend(["x"])  # nothing built there: the error names the fix


def test_recommend_items_carry_papers_reasons_and_signals(lib: Litkg) -> None:
    read = lib.graph.seed_ids()[:2] or lib.graph.ids[:2]
    recs = lib.recommend(read, k=3)
    assert len(recs) == 3 and recs.read == tuple(read)
    for item in recs:
        assert isinstance(item, Recommended) and isinstance(item.paper, Paper)
        assert item.paper.title and item.paper_id not in read
        assert item.reasons and all(isinstance(r, str) and r for r in item.reasons)
        assert set(item.signals) >= {"text", "cites", "influence"}
        assert all(0.0 <= v <= 1.0 for v in item.signals.values())
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_recommend_agrees_with_the_cli(lib: Litkg) -> None:
    read = lib.graph.seed_ids()[:2] or lib.graph.ids[:2]
    args = [sys.executable, "-m", "app.cli", "recommend", "-k", "3", "--format", "json"]
    for r in read:
        args += ["--read", r]
    env = {
        **os.environ,
        "LITKG_DATA_DIR": str(lib.settings.data_dir),
        "LITKG_EMBED_BACKEND": "fake",
        "PYTHONPATH": str(REPO),
    }
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True, cwd=REPO)
    cli = json.loads(out.stdout)
    cli_ids = [row["paper_id"] for row in cli["recommendations"]]
    recs = lib.recommend(read, k=3)
    assert cli_ids == [item.paper_id for item in recs]
    assert cli["graph_trust"] == recs.graph_trust and 0.0 <= recs.graph_trust <= 1.0
    if recs.graph_trust < 1.0:  # the table says the ranking leans on content, and why
        table = subprocess.run(
            [a for a in args if a not in ("--format", "json")],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=REPO,
        ).stdout
        assert f"graph trust {recs.graph_trust:.2f}" in table


def test_paper_search_path_sparql_export_lists(lib: Litkg) -> None:
    some = lib.graph.papers[lib.graph.ids[0]]
    assert lib.paper(some.paper_id) == some
    with pytest.raises(UnknownPaperError):
        lib.paper("no such paper at all, really")

    word = max(some.title.split(), key=len)
    hits = lib.search(word, limit=5)
    assert hits and any(h.paper.paper_id == some.paper_id for h in hits)
    assert all(word.lower() in (h.paper.title + (h.paper.abstract or "")).lower() for h in hits)

    steps = lib.reading_path(lib.graph.ids[:3])
    assert sorted(s.paper_id for s in steps) == sorted(lib.graph.ids[:3])
    assert [s.position for s in steps] == [1, 2, 3]

    answer = lib.sparql(
        "PREFIX dcterms: <http://purl.org/dc/terms/> "
        "SELECT (COUNT(?p) AS ?n) WHERE { ?p dcterms:title ?t }"
    )
    assert int(answer.rows[0]["n"]) >= len(lib.graph.papers) - 5
    with pytest.raises(LitkgError, match="read-only"):
        lib.sparql("DELETE WHERE { ?s ?p ?o }")

    lib.lists.add("to read", some.paper_id, note="start here", create=True)
    bib = lib.export("to read", "bibtex")
    assert bib.text.startswith("@") and "start here" in bib.text
    assert [p.paper_id for p in bib.papers] == [some.paper_id] and not bib.missing
    md = lib.export([some.paper_id], "markdown")
    assert some.title in md.text and md.format == "markdown"
    assert lib.stored_id(some.paper_id) == some.paper_id
    other = lib.graph.ids[1]
    assert lib.stored_ids([other, f"  {some.paper_id} "]) == [other, some.paper_id]
    assert lib.paper_or_stub("f" * 40) == Paper(paper_id="f" * 40, title="f" * 40)
    with pytest.raises(LitkgError, match="is not in the corpus"):
        lib.stored_id("DOI:10.9999/nothing-here")

    status = lib.status()
    assert status.built and status.corpus is not None and status.corpus.papers > 0
    assert status.weights.source in {"fitted", "defaults"}
