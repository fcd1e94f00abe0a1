"""The one place that speaks HTTP to Semantic Scholar.

``S2Client`` is a small, faithful client of the S2 Graph API
(``../shared/docs/s2-api.md``):

* one reused ``httpx.Client`` (injectable: pass ``http=`` or ``transport=``);
* the API key (``x-api-key``) on every request, references and citations too;
* pacing (a minimum interval between requests), 429 handling that honours
  ``Retry-After`` and otherwise grows the wait, retries with backoff on 5xx,
  timeouts and unreadable bodies, then one clear exception from
  :mod:`ingest.errors` (never an empty result);
* every answer (200 and 404) cached on disk, so an interrupted run resumes
  without re-fetching, and ``refresh_older_than`` re-fetches only stale answers.

The ``semanticscholar`` package is supported through :class:`S2Requester`, a
subclass of its ``ApiRequester`` that routes every call of a
``semanticscholar.SemanticScholar`` object through this client, so users of
that API get the same key handling, retries, cache and errors
(:meth:`S2Client.semanticscholar`).
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from ingest.errors import (
    S2AuthError,
    S2BadRequest,
    S2Error,
    S2NotFound,
    S2RateLimited,
    S2ResponseError,
    S2Unavailable,
    StoreError,
)
from kg.core.errors import ConfigError
from kg.core.settings import Settings

log = logging.getLogger(__name__)

GRAPH = "/graph/v1"
RECOMMENDATIONS = "/recommendations/v1"
DATASETS = "/datasets/v1"
BATCH_MAX = 500
PAGE_MAX = 1000
#: Most nested ``references``/``citations`` entries one ``/paper/batch`` answer may hold.
NESTED_MAX = 9_999

#: Paper fields we store (the batch endpoint accepts all of them).
PAPER_FIELDS: tuple[str, ...] = (
    "paperId",
    "corpusId",
    "externalIds",
    "url",
    "title",
    "abstract",
    "venue",
    "publicationVenue",
    "year",
    "referenceCount",
    "citationCount",
    "influentialCitationCount",
    "isOpenAccess",
    "openAccessPdf",
    "fieldsOfStudy",
    "s2FieldsOfStudy",
    "publicationTypes",
    "publicationDate",
    "journal",
    "authors",
    "tldr",
    "embedding.specter_v2",
)

#: Fields asked on /references and /citations: the edge fields, and enough of
#: the neighbour to rank it (details come later, in batches).
EDGE_FIELDS: tuple[str, ...] = ("contexts", "intents", "isInfluential")
NEIGHBOUR_FIELDS: tuple[str, ...] = (
    "paperId",
    "externalIds",
    "title",
    "year",
    "citationCount",
    "influentialCitationCount",
)
REFERENCE_FIELDS = EDGE_FIELDS + tuple("citedPaper." + f for f in NEIGHBOUR_FIELDS)
CITATION_FIELDS = EDGE_FIELDS + tuple("citingPaper." + f for f in NEIGHBOUR_FIELDS)

Sleep = Callable[[float], None]
Clock = Callable[[], float]


# --------------------------------------------------------------------------- cache


class ResponseCache:
    """S2 answers on disk (SQLite), keyed by request. Each write commits at once.

    Thread-safe; one connection per cache object. Only final answers are kept
    (200 and 404); errors and rate limits never are.
    """

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, method TEXT, url TEXT, status INTEGER,"
                " body BLOB, fetched_at REAL)"
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"The S2 response cache {path} is unreadable ({exc}). It only holds "
                f"downloaded answers: delete it and run again to re-fetch them."
            ) from exc

    @staticmethod
    def key(method: str, url: str, params: dict[str, str], body: Any) -> str:
        canon = json.dumps(
            [method.upper(), url, sorted(params.items()), body], sort_keys=True, ensure_ascii=True
        )
        return hashlib.sha256(canon.encode()).hexdigest()

    def get(self, key: str) -> tuple[int, bytes, float] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT status, body, fetched_at FROM responses WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return int(row[0]), gzip.decompress(row[1]), float(row[2])

    def put(self, key: str, method: str, url: str, status: int, body: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                (key, method, url, status, gzip.compress(body, 5), time.time()),
            )

    def keys(self) -> set[str]:
        with self._lock:
            return {str(r[0]) for r in self._db.execute("SELECT key FROM responses")}

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --------------------------------------------------------------------------- stats


@dataclass
class CallStats:
    """What a client did: real HTTP requests, cache hits, retries, per endpoint."""

    http_requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    waited_s: float = 0.0
    by_endpoint: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "http_requests": self.http_requests,
            "cache_hits": self.cache_hits,
            "retries": self.retries,
            "waited_s": round(self.waited_s, 2),
            "by_endpoint": dict(self.by_endpoint),
        }


def _endpoint_name(path: str) -> str:
    if path.endswith("/batch"):
        return "batch"
    if path.endswith("/references"):
        return "references"
    if path.endswith("/citations"):
        return "citations"
    if "/search/match" in path:
        return "match"
    if "/search" in path:
        return "search"
    if path.startswith(RECOMMENDATIONS):
        return "recommendations"
    if path.startswith(DATASETS):
        return "datasets"
    return "paper"


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)
    return str(body)[:200]


# --------------------------------------------------------------------------- client


class S2Client:
    """A paced, retrying, caching client of the Semantic Scholar Graph API."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        cache: ResponseCache | None = None,
        use_cache: bool = True,
        refresh_older_than: float | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ):
        self.settings = settings or Settings.from_env()
        self.base_url = self.settings.s2_api_url.rstrip("/")
        headers = {"user-agent": "litkg (+https://github.com/litkg)"}
        if self.settings.s2_api_key:
            headers["x-api-key"] = self.settings.s2_api_key
        self._owns_http = http is None
        self._http = http or httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(self.settings.s2_timeout),
            headers=headers,
        )
        if http is not None and self.settings.s2_api_key:
            self._http.headers["x-api-key"] = self.settings.s2_api_key
        if cache is None and use_cache:
            cache = ResponseCache(self.settings.cache_path)
        self.cache = cache
        self.refresh_older_than = refresh_older_than
        self.stats = CallStats()
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        self._lock = threading.Lock()

    # -- lifecycle
    def close(self) -> None:
        if self._owns_http:
            self._http.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> S2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- core
    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one API call (cached, paced, retried) and return the decoded JSON.

        Raises :class:`S2NotFound` on 404 and another :class:`S2Error` on
        every other failure, after the retries the settings allow.
        """
        params = dict(params or {})
        url = self.base_url + path
        endpoint = _endpoint_name(path)
        key = ResponseCache.key(method, url, params, body)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None and not self._stale(hit[2]):
                self.stats.cache_hits += 1
                return self._decode_cached(hit[0], hit[1], url)
        with self._lock:
            status, content = self._send(method, url, params, body, endpoint)
        if self.cache is not None:
            self.cache.put(key, method, url, status, content)
        return self._decode_cached(status, content, url)

    def _stale(self, fetched_at: float) -> bool:
        return self.refresh_older_than is not None and (
            time.time() - fetched_at > self.refresh_older_than
        )

    @staticmethod
    def _decode_cached(status: int, content: bytes, url: str) -> Any:
        if status == 404:
            try:
                message = str(json.loads(content).get("error", "not found"))
            except (ValueError, AttributeError):
                message = "not found"
            raise S2NotFound(f"{message} (S2 answered 404 for {url})", url=url, status=404)
        return json.loads(content)

    def _pace(self) -> None:
        interval = self.settings.s2_min_interval
        if interval <= 0 or self._last_request is None:
            return
        wait = self._last_request + interval - self._clock()
        if wait > 0:
            self.stats.waited_s += wait
            self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.settings.s2_backoff * (2**attempt), self.settings.s2_backoff_max))

    def _send(
        self, method: str, url: str, params: dict[str, str], body: Any, endpoint: str
    ) -> tuple[int, bytes]:
        """The retry loop. Returns (200 or 404, body bytes) or raises."""
        retries = self.settings.s2_max_retries
        last_problem = ""
        rate_limited = 0
        tries = 0
        for attempt in range(retries + 1):
            tries = attempt + 1
            if attempt:
                self.stats.retries += 1
            self._pace()
            self.stats.http_requests += 1
            self.stats.by_endpoint[endpoint] += 1
            try:
                response = self._http.request(
                    method, url, params=params, json=body if method == "POST" else None
                )
            except httpx.TimeoutException as exc:
                self._last_request = self._clock()
                last_problem = (
                    f"timed out after {self.settings.s2_timeout:g}s ({type(exc).__name__})"
                )
                self._wait(self._backoff(attempt), attempt, retries, url, last_problem)
                continue
            except httpx.TransportError as exc:
                self._last_request = self._clock()
                # Unreachable hosts fail fast: two quick retries, not the full budget.
                last_problem = f"could not connect ({exc})"
                if attempt >= min(retries, 2):
                    break
                # Quietly: the error after the last try says how often it was tried.
                wait = min(self._backoff(attempt), 2.0)
                self._wait(wait, attempt, retries, url, last_problem, level=logging.INFO)
                continue
            # Pace from the end of the answer: a strict server never sees two calls
            # closer than the interval, whatever the network jitter.
            self._last_request = self._clock()
            status = response.status_code
            if status == 200:
                content = response.content
                try:
                    json.loads(content)
                except ValueError:
                    last_problem = "answered 200 with a body that is not JSON"
                    self._wait(self._backoff(attempt), attempt, retries, url, last_problem)
                    continue
                return 200, content
            if status == 404:
                return 404, response.content or b"{}"
            if status == 429:
                rate_limited += 1
                advised = _retry_after_seconds(response.headers.get("retry-after"))
                # Grow the wait on every 429, honouring Retry-After when S2 sends one.
                wait = max(advised or 0.0, self._backoff(attempt))
                last_problem = "answered 429 Too Many Requests"
                self._wait(wait, attempt, retries, url, last_problem)
                continue
            if status in (401, 403):
                raise S2AuthError(
                    f"Semantic Scholar refused the request ({status}: {_error_text(response)}) "
                    f"for {url}. Check S2_API_KEY: unset it to use the shared public pool, "
                    f"or set a valid key.",
                    url=url,
                    status=status,
                )
            if status == 400:
                raise S2BadRequest(
                    f"Semantic Scholar rejected the request for {url}: {_error_text(response)}",
                    url=url,
                    status=status,
                )
            if status >= 500 or status in (408, 425):
                last_problem = f"answered {status} ({_error_text(response)})"
                self._wait(self._backoff(attempt), attempt, retries, url, last_problem)
                continue
            raise S2ResponseError(
                f"Semantic Scholar answered an unexpected {status} for {url}: "
                f"{_error_text(response)}",
                url=url,
                status=status,
            )

        hint = (
            "Wait a while, or set S2_API_KEY (a key raises your rate limit), or raise "
            "LITKG_S2_MIN_INTERVAL to pace requests further apart."
            if rate_limited
            else f"Check your network, or point S2_API_URL (now {self.base_url}) at a "
            f"reachable server; raise LITKG_S2_TIMEOUT or LITKG_S2_MAX_RETRIES for a slow one."
        )
        exc_type: type[S2Error] = S2RateLimited if rate_limited else S2Unavailable
        raise exc_type(
            f"Semantic Scholar {last_problem} at {url} (tried {tries} time"
            f"{'s' if tries != 1 else ''}). {hint} "
            "Nothing fetched so far is lost: run the same command again to resume.",
            url=url,
        )

    def _wait(
        self,
        seconds: float,
        attempt: int,
        retries: int,
        url: str,
        problem: str,
        *,
        level: int = logging.WARNING,
    ) -> None:
        if attempt >= retries:
            return
        log.log(level, "S2 %s at %s; retrying in %.1fs", problem, url, seconds)
        self.stats.waited_s += seconds
        self._sleep(seconds)

    def download(self, url: str, dest: Path, *, chunk: int = 1 << 20) -> int:
        """Stream a file (e.g. a bulk dataset shard from its signed URL) to ``dest``
        through ``dest``'s ``.partial`` sibling, without the API key (the URL is signed;
        the key stays with S2). Returns the bytes written. Raises :class:`S2Unavailable`
        when it cannot be fetched whole (run again: the finished files are kept)."""
        request = self._http.build_request("GET", url)
        request.headers.pop("x-api-key", None)
        partial = dest.with_name(dest.name + ".partial")
        got = 0
        try:
            response = self._http.send(request, stream=True)
            try:
                if response.status_code != 200:
                    raise S2Unavailable(
                        f"{url.split('?')[0]} answered {response.status_code}; signed URLs "
                        f"expire: run the command again for fresh ones.",
                        url=url,
                    )
                with partial.open("wb") as out:
                    for part in response.iter_bytes(chunk):
                        out.write(part)
                        got += len(part)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            partial.unlink(missing_ok=True)
            raise S2Unavailable(
                f"could not download {url.split('?')[0]} ({exc}); run the command again "
                f"(the files already downloaded are kept).",
                url=url,
            ) from exc
        partial.replace(dest)
        self.stats.http_requests += 1
        return got

    # -- endpoints
    def paper(self, paper_id: str, fields: Sequence[str] = PAPER_FIELDS) -> dict[str, Any]:
        data = self.request(
            "GET", f"{GRAPH}/paper/{quote(paper_id, safe=':/')}", {"fields": ",".join(fields)}
        )
        return self._expect_dict(data, "paper")

    def papers(
        self, ids: Sequence[str], fields: Sequence[str] = PAPER_FIELDS
    ) -> list[dict[str, Any] | None]:
        """Details of many papers via ``POST /paper/batch``, aligned with ``ids``.

        Batches of at most 500; a batch whose answer would be too large is split.
        """
        out: list[dict[str, Any] | None] = []
        for start in range(0, len(ids), BATCH_MAX):
            out.extend(self._batch(list(ids[start : start + BATCH_MAX]), fields))
        return out

    def _batch(self, ids: list[str], fields: Sequence[str]) -> list[dict[str, Any] | None]:
        if not ids:
            return []
        try:
            data = self.request(
                "POST", f"{GRAPH}/paper/batch", {"fields": ",".join(fields)}, {"ids": ids}
            )
        except S2BadRequest as exc:
            if "exceed" in str(exc).lower() and len(ids) > 1:
                half = len(ids) // 2
                return self._batch(ids[:half], fields) + self._batch(ids[half:], fields)
            raise
        if not isinstance(data, list) or len(data) != len(ids):
            raise S2ResponseError(
                f"S2 batch answer has {len(data) if isinstance(data, list) else 'no'} entries "
                f"for {len(ids)} ids; expected a list aligned with the ids.",
                url=self.base_url + f"{GRAPH}/paper/batch",
            )
        return [item if isinstance(item, dict) else None for item in data]

    def references(
        self,
        paper_id: str,
        fields: Sequence[str] = REFERENCE_FIELDS,
        page_size: int = PAGE_MAX,
        max_items: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every entry of ``/paper/{id}/references`` (``{"citedPaper", ...}``), paged."""
        return self._pages(
            f"{GRAPH}/paper/{quote(paper_id, safe=':/')}/references", fields, page_size, max_items
        )

    def citations(
        self,
        paper_id: str,
        fields: Sequence[str] = CITATION_FIELDS,
        page_size: int = PAGE_MAX,
        max_items: int | None = None,
        publication_date_or_year: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every entry of ``/paper/{id}/citations`` (``{"citingPaper", ...}``), paged;
        ``publication_date_or_year`` (e.g. ``2025-03-01:``) keeps citing papers of that
        period (S2's filter)."""
        extra = (
            {"publicationDateOrYear": publication_date_or_year} if publication_date_or_year else {}
        )
        return self._pages(
            f"{GRAPH}/paper/{quote(paper_id, safe=':/')}/citations",
            fields,
            page_size,
            max_items,
            extra,
        )

    def _pages(
        self,
        path: str,
        fields: Sequence[str],
        page_size: int,
        max_items: int | None,
        extra: dict[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        # S2 takes "contexts,intents,isInfluential,title,..." for nested paper fields.
        plain = ",".join(f.split(".", 1)[-1] for f in fields)
        offset = 0
        seen = 0
        page_size = max(1, min(page_size, PAGE_MAX))
        while True:
            data = self.request(
                "GET",
                path,
                {"fields": plain, "offset": str(offset), "limit": str(page_size), **(extra or {})},
            )
            page = self._expect_dict(data, "page")
            entries = page.get("data")
            if not isinstance(entries, list):
                raise S2ResponseError(
                    f"S2 page at {self.base_url + path} (offset {offset}) has no 'data' list.",
                    url=self.base_url + path,
                )
            for entry in entries:
                if isinstance(entry, dict):
                    yield entry
                    seen += 1
                    if max_items is not None and seen >= max_items:
                        return
            nxt = page.get("next")
            if nxt is None or not entries:
                return
            offset = int(nxt)

    def match_title(
        self, title: str, fields: Sequence[str] = PAPER_FIELDS
    ) -> dict[str, Any] | None:
        """S2's best title match (with ``matchScore``), or None when S2 has none."""
        try:
            data = self.request(
                "GET", f"{GRAPH}/paper/search/match", {"query": title, "fields": ",".join(fields)}
            )
        except S2NotFound:
            return None
        items = self._expect_dict(data, "match").get("data") or []
        return items[0] if items and isinstance(items[0], dict) else None

    def search(
        self, query: str, limit: int = 20, fields: Sequence[str] = NEIGHBOUR_FIELDS
    ) -> list[dict[str, Any]]:
        data = self.request(
            "GET",
            f"{GRAPH}/paper/search",
            {"query": query, "limit": str(min(limit, 100)), "fields": ",".join(fields)},
        )
        return [
            d for d in self._expect_dict(data, "search").get("data") or [] if isinstance(d, dict)
        ]

    def recommendations(
        self,
        positive_ids: Sequence[str],
        negative_ids: Sequence[str] = (),
        limit: int = 100,
        fields: Sequence[str] = NEIGHBOUR_FIELDS,
    ) -> list[dict[str, Any]]:
        """S2's own recommendations from lists of liked and disliked papers, best first.

        ``POST /recommendations/v1/papers`` (at most 500 results); cached like every call.
        """
        data = self.request(
            "POST",
            f"{RECOMMENDATIONS}/papers",
            {"limit": str(max(1, min(limit, 500))), "fields": ",".join(fields)},
            {
                "positivePaperIds": list(dict.fromkeys(positive_ids)),
                "negativePaperIds": list(dict.fromkeys(negative_ids)),
            },
        )
        items = self._expect_dict(data, "recommendations").get("recommendedPapers")
        if not isinstance(items, list):
            raise S2ResponseError(
                f"S2 recommendations answer has no 'recommendedPapers' list: {str(data)[:120]}",
                url=self.base_url + f"{RECOMMENDATIONS}/papers",
            )
        return [d for d in items if isinstance(d, dict) and d.get("paperId")]

    def _expect_dict(self, data: Any, what: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise S2ResponseError(f"S2 {what} answer is not a JSON object: {str(data)[:120]}")
        return data

    # -- the semanticscholar package, with our fixes
    def semanticscholar(self) -> Any:
        """A ``semanticscholar.SemanticScholar`` whose every call goes through this client.

        The key is sent on every endpoint, 429s wait and retry, and failures
        raise :mod:`ingest.errors` instead of returning ``{}``.
        """
        from semanticscholar import SemanticScholar

        sch = SemanticScholar(api_url=self.base_url, api_key=self.settings.s2_api_key)
        # The sync class delegates to an AsyncSemanticScholar, which owns the requester.
        sch._AsyncSemanticScholar._requester = S2Requester(self)
        return sch


def _make_requester_base() -> type:
    try:
        from semanticscholar.ApiRequester import ApiRequester
    except ImportError:  # pragma: no cover - semanticscholar is a required dependency
        return object
    return ApiRequester


class S2Requester(_make_requester_base()):  # type: ignore[misc]
    """``semanticscholar``'s ``ApiRequester``, routed through :class:`S2Client`."""

    def __init__(self, client: S2Client):
        super().__init__(timeout=client.settings.s2_timeout, retry=False)
        self.client = client

    async def get_data_async(
        self, url: str, parameters: str, headers: dict[str, str], payload: Any = None
    ) -> Any:
        from urllib.parse import parse_qsl

        base = self.client.base_url
        path = url[len(base) :] if url.startswith(base) else url
        params = dict(parse_qsl(parameters.lstrip("&"), keep_blank_values=True))
        method = "POST" if payload else "GET"
        return self.client.request(method, path, params, payload)


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``12h``, ``30d``, ``2w`` (or plain seconds) -> seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a duration; use e.g. 30d, 12h, 15m or a number of seconds"
        ) from None


__all__ = [
    "EDGE_FIELDS",
    "NEIGHBOUR_FIELDS",
    "NESTED_MAX",
    "PAPER_FIELDS",
    "CallStats",
    "ResponseCache",
    "S2Client",
    "S2Requester",
    "parse_duration",
]
