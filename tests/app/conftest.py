"""A small built graph for the app's tests: the local S2 server's small world, ingested
(from a Markdown seed page with sections, so there are curated topics, and an id list)
and built with the fake embedder. Built once per session; each test gets its own copy,
so reading lists written by one test never leak into another."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.crawl import CrawlPolicy
from ingest.pipeline import run_ingest
from ingest.s2 import S2Client
from kg.build import build
from kg.core.settings import Settings
from kg.text.embed import FakeEmbedder
from tests.s2server import S2Server
from tests.s2world import small_world

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app"
ARTIFACTS = REPO / "tests" / "artifacts"

#: A title with HTML and Markdown in it: the app must show it as text.
HOSTILE_TITLE = (
    "Probing <script>alert('x')</script> <b>Representations</b> of a **Protein** "
    "[Language](javascript:alert(1)) Model"
)
SEED_PAGE = """# Papers

## Transformers

- [Attention Is All You Need](https://arxiv.org/abs/1706.03762)
- [BERT](https://arxiv.org/abs/1810.04805)

## Classics

- [Computing Machinery and Intelligence](https://doi.org/10.1093/mind/lix.236.433)
"""


def fixture_world() -> object:
    world = small_world()
    for record in world.papers.values():
        if record["title"].startswith("Probing Representations"):
            record["title"] = HOSTILE_TITLE
    world.invalidate()
    return world


def build_fixture(root: Path) -> Settings:
    """Ingest and build the small world under ``root`` (about two seconds)."""
    world = fixture_world()
    root.mkdir(parents=True, exist_ok=True)
    seeds = root / "seeds.md"
    seeds.write_text(SEED_PAGE, encoding="utf-8")
    ids = root / "ids.txt"
    ids.write_text("\n".join(p["paperId"] for p in list(world.papers.values())[:4]) + "\n")
    with S2Server(world) as srv:  # type: ignore[arg-type]
        settings = Settings(data_dir=root / "data", s2_api_url=srv.url, s2_min_interval=0.0)
        with S2Client(settings) as client:
            run_ingest(
                [seeds, ids],
                settings=settings,
                client=client,
                progress=False,
                policy=CrawlPolicy(depth=1),
            )
    build(settings, embedder=FakeEmbedder(dim=16), progress=False)
    return Settings(data_dir=root / "data")


@pytest.fixture(scope="session")
def built_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir of the small built graph (read-only: tests copy it)."""
    return build_fixture(tmp_path_factory.mktemp("app-graph")).data_dir


@pytest.fixture
def data_dir(built_graph: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of the small graph, set as LITKG_DATA_DIR (fake query embedder)."""
    target = tmp_path / "data"
    shutil.copytree(built_graph, target)
    monkeypatch.setenv("LITKG_DATA_DIR", str(target))
    monkeypatch.setenv("LITKG_EMBED_BACKEND", "fake")
    monkeypatch.setenv("LITKG_APP_OFFLINE", "1")
    yield target


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item (the browser test screenshots failures)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
