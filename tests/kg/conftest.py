"""Fixtures shared by the kg tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.crawl import CrawlPolicy
from ingest.pipeline import run_ingest
from ingest.s2 import S2Client
from kg.core.settings import Settings
from tests.s2server import S2Server
from tests.s2world import small_world


@pytest.fixture
def ingested(tmp_path: Path) -> Iterator[Settings]:
    """A small corpus ingested (depth 1) from the toy world through the local S2 server;
    the server stays up while the test runs."""
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
