"""A local Zotero API v3 for tests (stdlib only, binds 127.0.0.1, a random port).

It speaks the documented shapes litkg relies on, for web libraries (``/users/{id}``,
``/groups/{id}``, ``Zotero-API-Key`` required) and for Zotero 7's local API (the same
reads under ``/api/users/0``, no key, no writes)::

    with FakeZotero(api_key="k") as z:
        lib = z.library("users/123")                 # {"version", "items", "collections"}
        key = z.add_item("users/123", {"itemType": "preprint", "title": ..., ...})
        z.url                                       # "http://127.0.0.1:PORT" (api.zotero.org)
        z.local_url                                 # "http://127.0.0.1:PORT/api"
        z.faults.append((429, {"Retry-After": "3"}))  # the next request answers this
        z.stale_writes = 1                          # the next write finds the library moved
        z.calls                                     # [(method, path, query, headers)]

Reads: ``GET .../items``, ``.../items/top``, ``.../collections``,
``.../collections/{key}``, ``.../collections/{key}/items[/top]`` with ``start``/``limit``
(at most 100), ``since``, ``sort=dateAdded|dateModified|title`` and ``direction``;
answers carry ``Total-Results``, ``Link`` (``rel="next"``/``"last"``) and
``Last-Modified-Version``; ``format=versions`` gives ``{key: version}``. Writes: ``POST
.../collections`` and ``.../items`` with a JSON array of at most 50 objects and
``If-Unmodified-Since-Version`` (412 when stale), answering 200 with ``successful``,
``success``, ``unchanged`` and ``failed``. A wrong key is 403, an unknown library or
collection 404.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

KEY_ALPHABET = "23456789ABCDEFGHIJKLMNPQRSTUVWXYZ"
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class FakeLibrary:
    version: int = 1
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class FakeZotero:
    api_key: str = "test-key"
    libraries: dict[str, FakeLibrary] = field(default_factory=dict)
    #: (status, headers) answered, in order, before any real handling.
    faults: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    #: How many coming writes find the library moved on (another client wrote): 412.
    stale_writes: int = 0
    calls: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    #: The JSON arrays POSTed, in order (one per write request).
    posted_batches: list[Any] = field(default_factory=list)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ data
    def library(self, name: str) -> FakeLibrary:
        return self.libraries.setdefault(name, FakeLibrary())

    def new_key(self) -> str:
        n = next(self._counter)
        out = ""
        for _ in range(8):
            n, r = divmod(n, len(KEY_ALPHABET))
            out = KEY_ALPHABET[r] + out
        return out

    def add_item(self, library: str, data: dict[str, Any], *, key: str | None = None) -> str:
        with self._lock:
            lib = self.library(library)
            lib.version += 1
            key = key or self.new_key()
            added = (_EPOCH + timedelta(minutes=len(lib.items) + 1)).isoformat()
            full = {
                "key": key,
                "version": lib.version,
                "dateAdded": added,
                "dateModified": added,
                "creators": [],
                "tags": [],
                "collections": [],
                "relations": {},
                **data,
            }
            lib.items[key] = {
                "key": key,
                "version": lib.version,
                "library": {"type": library.split("/")[0][:-1], "id": library.split("/")[1]},
                "meta": {"parsedDate": _parsed(str(data.get("date", "")))},
                "data": full,
            }
            return key

    def add_collection(self, library: str, name: str, *, key: str | None = None) -> str:
        with self._lock:
            lib = self.library(library)
            lib.version += 1
            key = key or self.new_key()
            lib.collections[key] = {
                "key": key,
                "version": lib.version,
                "data": {
                    "key": key,
                    "version": lib.version,
                    "name": name,
                    "parentCollection": False,
                },
            }
            return key

    def edit_item(self, library: str, key: str, **changes: Any) -> None:
        with self._lock:
            lib = self.library(library)
            lib.version += 1
            item = lib.items[key]
            item["data"].update(changes)
            item["version"] = item["data"]["version"] = lib.version
            if "date" in changes:
                item["meta"]["parsedDate"] = _parsed(str(changes["date"]))

    def delete_item(self, library: str, key: str) -> None:
        with self._lock:
            lib = self.library(library)
            lib.version += 1
            del lib.items[key]

    def children(self, library: str, parent: str) -> list[dict[str, Any]]:
        return [
            i["data"]
            for i in self.library(library).items.values()
            if i["data"].get("parentItem") == parent
        ]

    def in_collection(self, library: str, collection: str) -> list[dict[str, Any]]:
        return [
            i["data"]
            for i in self.library(library).items.values()
            if collection in i["data"].get("collections", ()) and not i["data"].get("parentItem")
        ]

    # ------------------------------------------------------------------ server
    @property
    def url(self) -> str:
        assert self._server is not None, "use FakeZotero as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def local_url(self) -> str:
        return self.url + "/api"

    def serve(self, port: int = 0) -> FakeZotero:
        """Start serving on ``port`` (0: a free one); use as a context manager."""
        fake = self

        class Handler(_Handler):
            zotero = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> FakeZotero:
        if self._server is None:
            self.serve()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _parsed(date: str) -> str:
    return date[:10] if date[:4].isdigit() else ""


class _Answer(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


class _Handler(BaseHTTPRequestHandler):
    zotero: FakeZotero
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        z = self.zotero
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with z._lock:
            z.calls.append((method, split.path, query, dict(self.headers.items())))
            try:
                if z.faults:
                    status, headers = z.faults.pop(0)
                    raise _Answer(status, {"error": "injected"}, headers)
                self._route(method, split.path, query, raw)
            except _Answer as answer:
                self._send(answer.status, answer.body, answer.headers)

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # ------------------------------------------------------------------ routing
    def _route(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> None:
        z = self.zotero
        parts = [p for p in path.split("/") if p]
        local = parts[:1] == ["api"]
        if local:
            parts = parts[1:]
            if parts[:2] != ["users", "0"]:
                raise _Answer(404, b"Not found")
            if method != "GET":
                raise _Answer(501, b"The local API is read-only")
        else:
            key = self.headers.get("Zotero-API-Key") or (
                self.headers.get("Authorization") or ""
            ).removeprefix("Bearer ")
            if key != z.api_key:
                raise _Answer(403, b"Invalid key")
        if len(parts) < 3 or parts[0] not in ("users", "groups"):
            raise _Answer(404, b"Not found")
        name = "users/0" if local else f"{parts[0]}/{parts[1]}"
        if name not in z.libraries:
            raise _Answer(404, b"Not found")
        lib = z.libraries[name]
        rest = parts[2:]
        if method == "POST":
            self._write(name, lib, rest, raw)
            return
        if rest == ["collections"]:
            self._page(lib, list(lib.collections.values()), query, path)
        elif len(rest) == 2 and rest[0] == "collections":
            if rest[1] not in lib.collections:
                raise _Answer(404, b"Collection not found")
            raise _Answer(
                200, lib.collections[rest[1]], {"Last-Modified-Version": str(lib.version)}
            )
        elif rest[:1] == ["items"] or (len(rest) >= 3 and rest[0] == "collections"):
            coll = None
            if rest[0] == "collections":
                coll = rest[1]
                if coll not in lib.collections:
                    raise _Answer(404, b"Collection not found")
                rest = rest[2:]
            if rest not in (["items"], ["items", "top"]):
                raise _Answer(404, b"Not found")
            items = [
                i
                for i in lib.items.values()
                if (coll is None or coll in i["data"].get("collections", ()))
                and (rest == ["items"] or not i["data"].get("parentItem"))
            ]
            self._page(lib, items, query, path)
        else:
            raise _Answer(404, b"Not found")

    def _page(
        self,
        lib: FakeLibrary,
        objects: list[dict[str, Any]],
        query: dict[str, list[str]],
        path: str,
    ) -> None:
        def one(name: str, default: str) -> str:
            return query.get(name, [default])[0]

        since = int(one("since", "0"))
        objects = [o for o in objects if o["version"] > since]
        sort = one("sort", "dateModified")
        if sort in ("dateAdded", "dateModified", "title"):
            objects.sort(
                key=lambda o: str(o["data"].get(sort, o["data"].get("name", ""))),
                reverse=one("direction", "desc" if sort.startswith("date") else "asc") == "desc",
            )
        start = int(one("start", "0"))
        limit = min(int(one("limit", "25")), 100)
        page = objects[start : start + limit]
        headers = {
            "Total-Results": str(len(objects)),
            "Last-Modified-Version": str(lib.version),
        }
        base = self.zotero.url + path
        plain = {k: v[0] for k, v in query.items() if k not in ("start",)}
        links = []
        if start + limit < len(objects):
            links.append(f'<{base}?{urlencode({**plain, "start": start + limit})}>; rel="next"')
            last = (len(objects) - 1) // limit * limit
            links.append(f'<{base}?{urlencode({**plain, "start": last})}>; rel="last"')
        if links:
            headers["Link"] = ", ".join(links)
        if one("format", "json") == "versions":
            raise _Answer(200, {o["key"]: o["version"] for o in page}, headers)
        raise _Answer(200, page, headers)

    def _write(self, name: str, lib: FakeLibrary, rest: list[str], raw: bytes) -> None:
        z = self.zotero
        if rest not in (["items"], ["collections"]):
            raise _Answer(405, b"Method not allowed")
        try:
            objects = json.loads(raw)
        except ValueError:
            raise _Answer(400, b"Invalid JSON") from None
        if not isinstance(objects, list):
            raise _Answer(400, b"Uploaded data must be a JSON array")
        z.posted_batches.append(objects)
        if len(objects) > 50:
            raise _Answer(413, b"Only 50 objects can be written at a time")
        if z.stale_writes:
            z.stale_writes -= 1
            z.add_item(name, {"itemType": "journalArticle", "title": "Written by someone else"})
        expected = self.headers.get("If-Unmodified-Since-Version")
        if expected is not None and int(expected) != lib.version:
            raise _Answer(
                412,
                f"Library has been modified since specified version (expected {expected}, "
                f"found {lib.version})".encode(),
                {"Last-Modified-Version": str(lib.version)},
            )
        before = lib.version
        successful: dict[str, Any] = {}
        failed: dict[str, Any] = {}
        for i, obj in enumerate(objects):
            if not isinstance(obj, dict):
                failed[str(i)] = {"key": "", "code": 400, "message": "not an object"}
            elif rest == ["collections"]:
                if not obj.get("name"):
                    failed[str(i)] = {"key": "", "code": 400, "message": "name is empty"}
                    continue
                key = z.add_collection(name, str(obj["name"]))
                successful[str(i)] = lib.collections[key]
            else:
                problem = _check_item(obj, lib)
                if problem:
                    failed[str(i)] = {"key": "", "code": 400, "message": problem}
                    continue
                key = z.add_item(name, obj)
                successful[str(i)] = lib.items[key]
        if successful:  # one write is one new library version
            lib.version = before + 1
            for obj in successful.values():
                obj["data"]["version"] = lib.version
                obj["version"] = lib.version
        raise _Answer(
            200,
            {
                "successful": successful,
                "success": {i: o["key"] for i, o in successful.items()},
                "unchanged": {},
                "failed": failed,
            },
            {"Last-Modified-Version": str(lib.version)},
        )


_ITEM_TYPES = {"journalArticle", "preprint", "conferencePaper", "document", "book", "note"}


def _check_item(obj: dict[str, Any], lib: FakeLibrary) -> str | None:
    kind = obj.get("itemType")
    if kind not in _ITEM_TYPES:
        return f"'{kind}' is not a valid itemType"
    if kind == "note":
        if obj.get("parentItem") not in lib.items:
            return f"Parent item {obj.get('parentItem')} not found"
        return None
    for key in obj.get("collections", ()):
        if key not in lib.collections:
            return f"Collection {key} not found"
    if kind == "document" and "DOI" in obj:
        return "'DOI' is not a valid field for type 'document'"
    if kind not in ("preprint",) and "archiveID" in obj:
        return f"'archiveID' is not a valid field for type '{kind}'"
    return None
