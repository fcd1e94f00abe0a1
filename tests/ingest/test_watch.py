"""``litkg watch``'s fetcher against the local S2 server: papers citing the watched list
since a date (S2's ``publicationDateOrYear``), at least ``min_cites`` of them, one
citations call per watched paper, cached pages on a rerun."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.s2 import S2Client
from ingest.watch import WATCH_FIELDS, fetch_citing
from kg.core.errors import WatchError
from kg.core.settings import Settings
from tests.s2server import S2Server, hex_id
from tests.s2world import WATCH_CITING, add_citing_paper, watch_world

WATCHED_KEYS = ("attention", "bert", "turing", "agrawal")


def small_id(world: object, title_prefix: str) -> str:
    papers = world.papers  # type: ignore[attr-defined]
    (pid,) = [p for p, r in papers.items() if r["title"].startswith(title_prefix)]
    return pid


@pytest.fixture
def server() -> Iterator[S2Server]:
    with S2Server(watch_world()) as srv:
        yield srv


@pytest.fixture
def watched(server: S2Server) -> list[str]:
    w = server.world
    return [
        small_id(w, "Attention Is All"),
        small_id(w, "BERT"),
        small_id(w, "Computing Machinery"),
        small_id(w, "Mining association rules"),
    ]


def client_for(url: str, tmp_path: Path, **kw: object) -> S2Client:
    settings = Settings(data_dir=tmp_path, s2_api_url=url, s2_min_interval=0.0, s2_max_retries=1)
    return S2Client(settings, **kw)  # type: ignore[arg-type]


def titles(found: object) -> set[str]:
    return {p.paper.title for p in found.papers}  # type: ignore[attr-defined]


def watch_title(key: str) -> str:
    return WATCH_CITING[key][0]


def test_since_year_and_min_cites(server: S2Server, watched: list[str], tmp_path: Path) -> None:
    with client_for(server.url, tmp_path) as client:
        found = fetch_citing(client, watched, "2024")
    # 2023's paper is too old, w2025b cites one watched paper; older small-world papers
    # citing two of them (GPT-3, BERT's citers) are before 2024.
    assert titles(found) == {watch_title(k) for k in ("w2024", "w2025a", "w2026a", "w2026b")}
    by_title = {p.paper.title: p for p in found.papers}
    assert set(by_title[watch_title("w2026b")].cites) == {watched[0], watched[1], watched[3]}
    assert found.papers[0].cites and len(found.papers[0].cites) == 3  # most cited first
    assert found.since == "2024" and found.watched == tuple(watched)
    with client_for(server.url, tmp_path / "b") as client:
        three = fetch_citing(client, watched, "2024", min_cites=3)
    assert titles(three) == {watch_title("w2025a"), watch_title("w2026b")}


def test_since_date_uses_s2_filter(server: S2Server, watched: list[str], tmp_path: Path) -> None:
    with client_for(server.url, tmp_path) as client:
        found = fetch_citing(client, watched, "2025-06-01")
    # the undated 2026 paper counts as 2026-01-01 (S2's rule); 2025-03-01 is before
    assert titles(found) == {watch_title("w2026a"), watch_title("w2026b")}
    calls = [c for c in server.calls if c.path.endswith("/citations")]
    assert {c.query["publicationDateOrYear"] for c in calls} == {"2025-06-01:"}
    asked = set(calls[0].query["fields"].split(","))
    assert {f.split(".", 1)[1] for f in WATCH_FIELDS} <= asked
    paper = next(p.paper for p in found.papers if p.paper.title == watch_title("w2026b"))
    assert paper.publication_date == "2026-02-14" and paper.abstract and paper.authors


def test_one_call_per_watched_paper_and_cached_rerun(
    server: S2Server, watched: list[str], tmp_path: Path
) -> None:
    local = ["local:0123abcd", watched[0]]  # not an S2 id: never asked, and no duplicate call
    with client_for(server.url, tmp_path) as client:
        first = fetch_citing(client, [*watched, *local], "2024")
    assert first.http_requests == len(watched) == server.counts["citations"]
    assert first.watched == tuple(watched)
    with client_for(server.url, tmp_path) as client:
        again = fetch_citing(client, watched, "2024")
    assert again.http_requests == 0 and again.cache_hits == len(watched)
    assert server.counts["citations"] == len(watched)
    assert titles(again) == titles(first)
    # a stale page is fetched again: a new citing paper appears
    add_citing_paper(
        server.world,
        "w2026c",
        "Attention Rules Revisited",
        2026,
        "2026-05-01",
        ("attention", "agrawal"),
    )
    server.world.invalidate()
    with client_for(server.url, tmp_path, refresh_older_than=0.0) as client:
        fresh = fetch_citing(client, watched, "2024")
    assert fresh.http_requests == len(watched)
    assert titles(fresh) - titles(first) == {"Attention Rules Revisited"}


def test_full_page_is_reported_and_still_one_call(
    server: S2Server, watched: list[str], tmp_path: Path
) -> None:
    with client_for(server.url, tmp_path) as client:
        found = fetch_citing(client, watched[:2], "2000", page_size=2)
    assert found.http_requests == 2 and set(found.truncated) == set(watched[:2])


def test_unknown_paper_and_bad_arguments(
    server: S2Server, watched: list[str], tmp_path: Path
) -> None:
    ghost = hex_id("watch", "nobody")
    with client_for(server.url, tmp_path) as client:
        found = fetch_citing(client, [ghost, *watched], "2024")
        assert found.not_found == (ghost,) and found.papers
        with pytest.raises(WatchError, match="--since 2025"):
            fetch_citing(client, watched, "last week")
        with pytest.raises(WatchError, match="not a year or a date"):
            fetch_citing(client, watched, "2025-02-30")
        with pytest.raises(WatchError, match="min-cites"):
            fetch_citing(client, watched, "2024", min_cites=0)
