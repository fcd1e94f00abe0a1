"""S2's recommendations: the client call (cached, one exception tree) and the rank scores."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.errors import S2Unavailable
from ingest.s2 import S2Client
from ingest.s2recs import fetch_s2_recommendations, rank_score, s2_recommendation_scores
from kg.core.settings import Settings
from tests.s2server import S2Server
from tests.s2world import small_world


@pytest.fixture
def server() -> Iterator[S2Server]:
    with S2Server(small_world()) as srv:
        yield srv


def client_for(url: str, tmp_path: Path, **kw: object) -> S2Client:
    settings = Settings(
        data_dir=tmp_path,
        s2_api_url=url,
        s2_min_interval=0.0,
        s2_backoff=0.01,
        s2_backoff_max=0.02,
        s2_max_retries=1,
        s2_timeout=2.0,
    )
    return S2Client(settings, **kw)  # type: ignore[arg-type]


def test_recommendations_posts_the_lists_and_is_cached(server: S2Server, tmp_path: Path) -> None:
    read, rejected = list(server.world.papers)[:2], list(server.world.papers)[2:3]
    with client_for(server.url, tmp_path) as client:
        got = client.recommendations(read, rejected, limit=5)
        again = client.recommendations(read, rejected, limit=5)
    (call,) = server.calls
    assert call.method == "POST" and call.path == "/recommendations/v1/papers"
    assert call.body == {"positivePaperIds": read, "negativePaperIds": rejected}
    assert call.query["limit"] == "5" and "paperId" in call.query["fields"]
    direct = httpx.post(
        server.url + "/recommendations/v1/papers",
        params={"limit": "5", "fields": "paperId"},
        json={"positivePaperIds": read, "negativePaperIds": rejected},
    ).json()["recommendedPapers"]
    assert [p["paperId"] for p in got] == [p["paperId"] for p in direct] and again == got
    assert got and not {p["paperId"] for p in got} & {*read, *rejected}
    assert all(p.get("title") for p in got)


def test_recommendation_errors_come_from_the_exception_tree(
    server: S2Server, tmp_path: Path
) -> None:
    server.faults.error(503, times=None, endpoint="recommendations")
    with client_for(server.url, tmp_path) as client, pytest.raises(S2Unavailable):
        client.recommendations(list(server.world.papers)[:1])


def test_scores_follow_s2s_rank(server: S2Server, tmp_path: Path) -> None:
    read = list(server.world.papers)[:2]
    with client_for(server.url, tmp_path) as client:
        scores = s2_recommendation_scores(client, [*read, "local:abc"], limit=20)
        ranked = [p["paperId"] for p in client.recommendations(read, limit=20)]
    assert list(scores) == ranked and len(ranked) >= 3
    assert [scores[p] for p in ranked] == [rank_score(i) for i in range(len(ranked))]
    assert scores[ranked[0]] == 1.0 and all(0 < s <= 1 for s in scores.values())
    assert rank_score(10) == 0.5
    assert server.calls[0].body["positivePaperIds"] == read  # local papers are not sent


def test_unreachable_s2_gives_no_scores_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with client_for("http://127.0.0.1:9", tmp_path, use_cache=False) as client:
        with caplog.at_level(logging.WARNING, logger="ingest.s2recs"):
            assert s2_recommendation_scores(client, ["a" * 40]) == {}
        result = fetch_s2_recommendations(client, ["a" * 40])
    assert not result.scores and result.reason and "unavailable" in result.reason
    assert "S2 recommendations unavailable" in caplog.text
    offline = fetch_s2_recommendations(None, ["a" * 40])
    assert not offline.scores and offline.reason and "offline" in offline.reason
    assert fetch_s2_recommendations(None, []).scores == {}
