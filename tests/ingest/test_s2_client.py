"""S2Client against an injected httpx.MockTransport: retries, pacing, cache, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ingest.errors import (
    S2AuthError,
    S2BadRequest,
    S2NotFound,
    S2RateLimited,
    S2ResponseError,
    S2Unavailable,
)
from ingest.s2 import ResponseCache, S2Client, parse_duration
from kg.core.errors import ConfigError
from kg.core.settings import Settings

Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    """A fake clock whose sleep advances time: tests never wait for real."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def make_client(
    tmp_path: Path,
    handler: Handler,
    *,
    key: str | None = None,
    retries: int = 4,
    interval: float = 0.0,
    cache: bool = True,
) -> tuple[S2Client, Clock, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    clock = Clock()
    settings = Settings(
        data_dir=tmp_path,
        s2_api_url="http://s2.test",
        s2_api_key=key,
        s2_max_retries=retries,
        s2_min_interval=interval,
        s2_backoff=1.0,
        s2_backoff_max=8.0,
    )
    client = S2Client(
        settings,
        transport=httpx.MockTransport(record),
        use_cache=cache,
        sleep=clock.sleep,
        clock=clock.time,
    )
    return client, clock, seen


def ok(data: object) -> httpx.Response:
    return httpx.Response(200, json=data)


def test_key_is_sent_on_every_endpoint(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch"):
            return ok([{"paperId": "a" * 40, "title": "A"}])
        if request.url.path.endswith(("/references", "/citations")):
            return ok({"offset": 0, "data": []})
        if "/search/match" in request.url.path:
            return ok({"data": [{"paperId": "a" * 40, "title": "A", "matchScore": 9.0}]})
        return ok({"paperId": "a" * 40, "title": "A"})

    client, _, seen = make_client(tmp_path, handler, key="sekret")
    client.paper("ARXIV:2211.00593")
    client.papers(["ARXIV:2211.00593"])
    list(client.references("a" * 40))
    list(client.citations("a" * 40))
    client.match_title("A")
    client.search("circuits")
    assert len(seen) == 6
    assert all(r.headers.get("x-api-key") == "sekret" for r in seen)
    client.close()


def test_no_key_header_without_key(tmp_path: Path) -> None:
    client, _, seen = make_client(tmp_path, lambda r: ok({"paperId": "b" * 40}))
    client.paper("b" * 40)
    assert "x-api-key" not in seen[0].headers


def test_429_honours_retry_after_then_succeeds(tmp_path: Path) -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Too Many Requests"}),
        httpx.Response(429, json={"message": "Too Many Requests"}),
        ok({"paperId": "c" * 40, "title": "C"}),
    ]
    client, clock, seen = make_client(tmp_path, lambda r: answers.pop(0))
    assert client.paper("c" * 40)["title"] == "C"
    # 7s as S2 asked, then a grown backoff (1 * 2**1) for the bare 429.
    assert clock.sleeps == [7.0, 2.0]
    assert client.stats.retries == 2 and len(seen) == 3


def test_429_forever_raises_rate_limited_with_advice(tmp_path: Path) -> None:
    client, clock, seen = make_client(tmp_path, lambda r: httpx.Response(429), retries=3)
    with pytest.raises(S2RateLimited) as err:
        client.paper("d" * 40)
    assert "S2_API_KEY" in str(err.value) and "resume" in str(err.value)
    assert len(seen) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]  # growing waits


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_retried_then_clear_error_never_empty(tmp_path: Path, status: int) -> None:
    client, _, seen = make_client(
        tmp_path, lambda r: httpx.Response(status, json={"message": "boom"}), retries=2
    )
    with pytest.raises(S2Unavailable) as err:
        client.papers(["ARXIV:1"])
    assert str(status) in str(err.value) and "S2_API_URL" in str(err.value)
    assert len(seen) == 3


def test_5xx_then_success(tmp_path: Path) -> None:
    answers = [httpx.Response(503, text="Service Unavailable"), ok({"paperId": "e" * 40})]
    client, _, _ = make_client(tmp_path, lambda r: answers.pop(0))
    assert client.paper("e" * 40)["paperId"] == "e" * 40


def test_timeout_retried_then_unavailable(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, _, seen = make_client(tmp_path, handler, retries=2)
    with pytest.raises(S2Unavailable, match="timed out"):
        client.paper("f" * 40)
    assert len(seen) == 3


def test_unreachable_names_url_and_setting(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, _, seen = make_client(tmp_path, handler, retries=6)
    with pytest.raises(S2Unavailable) as err:
        client.paper("f" * 40)
    message = str(err.value)
    assert "http://s2.test/graph/v1/paper/" in message and "S2_API_URL" in message
    assert len(seen) == 3  # unreachable hosts fail fast
    assert "tried 3 times" in message  # the calls made, not the retry budget


def test_malformed_json_is_retried(tmp_path: Path) -> None:
    answers = [httpx.Response(200, content=b"{not json"), ok({"paperId": "1" * 40})]
    client, _, _ = make_client(tmp_path, lambda r: answers.pop(0))
    assert client.paper("1" * 40)["paperId"] == "1" * 40


def test_malformed_json_forever_is_an_error(tmp_path: Path) -> None:
    client, _, _ = make_client(
        tmp_path, lambda r: httpx.Response(200, content=b"<html>"), retries=1
    )
    with pytest.raises(S2Unavailable, match="not JSON"):
        client.paper("1" * 40)


def test_404_is_not_found_and_cached(tmp_path: Path) -> None:
    client, _, seen = make_client(
        tmp_path, lambda r: httpx.Response(404, json={"error": "Paper with id X not found"})
    )
    for _ in range(2):
        with pytest.raises(S2NotFound, match="not found"):
            client.paper("X")
    assert len(seen) == 1 and client.stats.cache_hits == 1


def test_title_match_404_is_none(tmp_path: Path) -> None:
    client, _, _ = make_client(
        tmp_path, lambda r: httpx.Response(404, json={"error": "Title match not found"})
    )
    assert client.match_title("no such paper") is None


def test_auth_and_bad_request_are_not_retried(tmp_path: Path) -> None:
    client, _, seen = make_client(
        tmp_path, lambda r: httpx.Response(403, json={"message": "Forbidden"})
    )
    with pytest.raises(S2AuthError, match="S2_API_KEY"):
        client.paper("a")
    assert len(seen) == 1
    client, _, seen = make_client(
        tmp_path / "b",
        lambda r: httpx.Response(400, json={"error": "Unrecognized or unsupported fields: [x]"}),
    )
    with pytest.raises(S2BadRequest, match="Unrecognized"):
        client.paper("a")
    assert len(seen) == 1


def test_batch_splits_at_500_and_aligns(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        assert len(ids) <= 500
        return ok([None if i.endswith("7") else {"paperId": i} for i in ids])

    client, _, seen = make_client(tmp_path, handler)
    ids = [f"CorpusId:{n}" for n in range(1234)]
    out = client.papers(ids)
    assert len(seen) == 3 and len(out) == 1234
    assert out[7] is None and out[8] == {"paperId": "CorpusId:8"}


def test_batch_too_large_answer_is_split(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        if len(ids) > 2:
            return httpx.Response(400, json={"error": "Response would exceed maximum size"})
        return ok([{"paperId": i} for i in ids])

    client, _, _ = make_client(tmp_path, handler)
    out = client.papers([str(n) for n in range(7)])
    assert [p["paperId"] for p in out if p] == [str(n) for n in range(7)]


def test_batch_misaligned_answer_is_an_error(tmp_path: Path) -> None:
    client, _, _ = make_client(tmp_path, lambda r: ok([]))
    with pytest.raises(S2ResponseError, match="aligned"):
        client.papers(["a", "b"])


def test_paging_follows_next_until_absent(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        assert limit == 1000
        total = 2500
        rows = [
            {"citingPaper": {"paperId": f"{n:040d}"}}
            for n in range(offset, min(offset + limit, total))
        ]
        page: dict[str, object] = {"offset": offset, "data": rows}
        if offset + limit < total:
            page["next"] = offset + limit
        return ok(page)

    client, _, seen = make_client(tmp_path, handler)
    entries = list(client.citations("a" * 40))
    assert len(entries) == 2500 and len(seen) == 3
    fields = seen[0].url.params["fields"].split(",")
    assert {"contexts", "intents", "isInfluential", "paperId", "citationCount"} <= set(fields)


def test_pacing_spaces_requests(tmp_path: Path) -> None:
    client, clock, _ = make_client(
        tmp_path, lambda r: ok({"paperId": "a"}), interval=1.0, cache=False
    )
    for n in range(3):
        client.paper(str(n))
    assert clock.sleeps == [1.0, 1.0]


def test_cache_survives_a_new_client_and_refresh_refetches(tmp_path: Path) -> None:
    client, _, seen = make_client(tmp_path, lambda r: ok({"paperId": "a", "title": "v1"}))
    client.paper("a")
    client.close()
    client2, _, seen2 = make_client(tmp_path, lambda r: ok({"paperId": "a", "title": "v2"}))
    assert client2.paper("a")["title"] == "v1" and not seen2
    client2.refresh_older_than = 0.0
    assert client2.paper("a")["title"] == "v2" and len(seen2) == 1
    assert len(seen) == 1


def test_errors_are_never_cached(tmp_path: Path) -> None:
    answers = [httpx.Response(500), ok({"paperId": "z"})]
    client, _, _ = make_client(tmp_path, lambda r: answers.pop(0), retries=0)
    with pytest.raises(S2Unavailable):
        client.paper("z")
    assert client.paper("z") == {"paperId": "z"}


def test_corrupt_cache_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    from ingest.errors import StoreError

    with pytest.raises(StoreError, match="delete it"):
        ResponseCache(path)


def test_semanticscholar_package_goes_through_our_client(tmp_path: Path) -> None:
    """The package's own calls get our key on citations, 429 retries and clear errors."""

    answers: list[httpx.Response] = [
        httpx.Response(429),
        ok({"offset": 0, "data": [{"citingPaper": {"paperId": "a" * 40, "title": "A"}}]}),
        httpx.Response(503),
        httpx.Response(503),
        httpx.Response(503),
    ]
    client, _, seen = make_client(tmp_path, lambda r: answers.pop(0), key="k", retries=2)
    sch = client.semanticscholar()
    results = sch.get_paper_citations("b" * 40, fields=["title"], limit=100)
    assert [c.paper.title for c in results.items] == ["A"]
    assert all(r.headers["x-api-key"] == "k" for r in seen)
    with pytest.raises(S2Unavailable):  # the package alone would return {} here
        sch.get_paper("c" * 40)


def test_parse_duration() -> None:
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("12h") == 43200
    assert parse_duration("90") == 90
    with pytest.raises(ConfigError, match="30d"):
        parse_duration("soon")
