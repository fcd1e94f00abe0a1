"""Zotero, both ways: a library or collection read as seeds, a reading list written back.

Reading goes to the Zotero web API v3 (``https://api.zotero.org``, a key in
``ZOTERO_API_KEY``) or to Zotero 7's local API (``http://localhost:23119/api``,
read-only, no key); writing goes to the web API only. Sources are named like files
on the ``litkg ingest`` command line:

==========================================  ============================================
``zotero:users/123``                        a user's library (``groups/456``: a group's)
``zotero:users/123/collections/ABCD2345``   the top-level items of one collection
``zotero:users/123/collections/Reading``    ... a collection named by its name
``zotero:``                                 the library in ``ZOTERO_LIBRARY_TYPE`` (``user``
                                            or ``group``) and ``ZOTERO_LIBRARY_ID``
``zotero-local:``                           the local library of a running Zotero 7
``zotero-local:collections/ABCD2345``       one collection of it
==========================================  ============================================

An item becomes the same :class:`~ingest.types.SeedRef` the BibTeX export of it
gives (the identifiers and the ``local:`` id come from the export path's code), with
``key`` set to ``ZOTERO:<library>/<item key>``; the pipeline stores that as an alias,
so a re-run updates the paper the item became (even when the item gained a DOI)
instead of adding a second one. Items are read oldest first (``sort=dateAdded``), so
a new item takes the next position and earlier listings keep theirs.

The client (:class:`ZoteroClient`) is small and written here rather than taken from
pyzotero (``docs/decisions.md``): pages of up to 100 (``start``/``limit``, ``Link``
and ``Total-Results``), ``Last-Modified-Version`` and ``?since=``, writes of at most 50
objects with ``If-Unmodified-Since-Version`` (a 412 re-reads what changed and tries
again), 429/503 with ``Retry-After`` and ``Backoff`` honoured through an injectable
``sleep``. Every failure is a :class:`ZoteroError` whose message names the fix.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from ingest.errors import IngestError
from ingest.types import SeedRef, Skipped, SourceResult
from kg.core.fileio import atomic_write_text
from kg.core.ids import external_ids, local_paper_id, normalise_arxiv_id, normalise_doi
from kg.core.model import Author, Paper
from kg.formats.bibtex import entry_ids, entry_year

__all__ = [
    "LOCAL_API",
    "WEB_API",
    "Library",
    "PushReport",
    "ZoteroClient",
    "ZoteroError",
    "client_for",
    "is_zotero_spec",
    "item_to_seedref",
    "parse_spec",
    "push_papers",
    "read_library",
]

WEB_API = "https://api.zotero.org"
LOCAL_API = "http://localhost:23119/api"
#: Page size of reads (the API's maximum) and batch size of writes (likewise).
PAGE_SIZE = 100
WRITE_BATCH = 50
KEYS_URL = "https://www.zotero.org/settings/keys"
_LOCAL_HINT = (
    "start Zotero 7 and tick 'Allow other applications on this computer to communicate "
    "with Zotero' (Settings > Advanced)"
)
_KEY = re.compile(r"^[23456789ABCDEFGHIJKLMNPQRSTUVWXYZ]{8}$")
_NOT_PAPERS = {"note", "attachment", "annotation"}
_RICH_TEXT = re.compile(r"</?(?:i|b|sub|sup|span|sc)\b[^>]*>", re.I)
_EXTRA_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(\S.*?)\s*$", re.M)


class ZoteroError(IngestError):
    """Zotero could not be read or written; the message says what to change."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class _Stale(ZoteroError):
    """412: the library changed since the version a write was based on."""


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Library:
    """One Zotero library (``users/123``, ``groups/456``; ``users/0`` locally),
    optionally narrowed to a collection (a key, or a name looked up once)."""

    kind: str
    id: str
    collection: str | None = None
    local: bool = False

    @property
    def path(self) -> str:
        return f"/{self.kind}/{self.id}"

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.id}"

    @property
    def spec(self) -> str:
        """The source name seeds from it are stored under."""
        if self.local:
            tail = f"collections/{self.collection}" if self.collection else ""
            return f"zotero-local:{tail}"
        tail = f"/collections/{self.collection}" if self.collection else ""
        return f"zotero:{self.name}{tail}"


_SPEC_HELP = (
    "name a Zotero source as zotero:users/<id>, zotero:groups/<id>, "
    "zotero:users/<id>/collections/<key or name>, zotero: (with ZOTERO_LIBRARY_ID and "
    "ZOTERO_LIBRARY_TYPE set), zotero-local: or zotero-local:collections/<key or name>"
)


def is_zotero_spec(value: str) -> bool:
    return value.startswith(("zotero:", "zotero-local:"))


def parse_spec(spec: str, env: Mapping[str, str] | None = None) -> Library:
    """The library (and collection) a ``zotero:``/``zotero-local:`` source names."""
    env = os.environ if env is None else env
    scheme, _, rest = spec.partition(":")
    parts = [p for p in rest.strip().strip("/").split("/") if p]
    if scheme == "zotero-local":
        if parts[:1] == ["users"] and len(parts) >= 2:
            parts = parts[2:]
        if not parts:
            return Library("users", "0", local=True)
        if len(parts) == 2 and parts[0] == "collections":
            return Library("users", "0", parts[1], local=True)
        raise ZoteroError(f"{spec}: not a Zotero source; {_SPEC_HELP}")
    if not parts:
        kind = (env.get("ZOTERO_LIBRARY_TYPE") or "user").strip().lower()
        lib_id = (env.get("ZOTERO_LIBRARY_ID") or "").strip()
        if not lib_id:
            raise ZoteroError(
                f"{spec}: no library named and ZOTERO_LIBRARY_ID is not set; set it (your "
                f"userID is on {KEYS_URL}) or {_SPEC_HELP}"
            )
        parts = [kind + "s" if not kind.endswith("s") else kind, lib_id]
    if len(parts) in (2, 4) and parts[0] in ("users", "groups") and parts[1].isdigit():
        if len(parts) == 2:
            return Library(parts[0], parts[1])
        if parts[2] == "collections":
            return Library(parts[0], parts[1], parts[3])
    raise ZoteroError(f"{spec}: not a Zotero source; {_SPEC_HELP}")


# --------------------------------------------------------------------------- client


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    return " ".join(response.text.split())[:200]


_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class ZoteroClient:
    """The few Zotero API v3 calls litkg makes, over one ``httpx.Client``.

    ``transport``/``http`` let tests route it to a local fake; ``sleep`` is what
    waits out ``Retry-After``/``Backoff`` (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str = WEB_API,
        api_key: str | None = None,
        *,
        local: bool = False,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.local = local
        headers = {"Zotero-API-Version": "3", "User-Agent": "litkg"}
        if api_key:
            headers["Zotero-API-Key"] = api_key
        self._has_key = bool(api_key)
        self._http = http or httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            trust_env=not local,
        )
        if http is not None:
            self._http.headers.update(headers)
        self.max_retries = max_retries
        self._sleep = sleep
        self._clock = clock
        self._backoff_until = 0.0
        self.requests = 0
        self.waited_s = 0.0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZoteroClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport
    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_s += seconds
            self._sleep(seconds)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        library: Library | None = None,
    ) -> httpx.Response:
        """One call, retried on 429/5xx and on a dropped connection; 2xx/304 returned,
        412 raised as :class:`_Stale`, anything else a :class:`ZoteroError`."""
        url = path if path.startswith("http") else self.base_url + path
        problem = ""
        for attempt in range(self.max_retries + 1):
            self._wait(self._backoff_until - self._clock())
            self.requests += 1
            try:
                response = self._http.request(
                    method, url, params=params, json=json_body, headers=headers
                )
            except httpx.TransportError as exc:
                problem = f"could not connect ({exc})"
                if attempt >= 2:
                    break
                self._wait(min(2.0**attempt, 4.0))
                continue
            if backoff := _seconds(response.headers.get("Backoff")):
                self._backoff_until = self._clock() + backoff
            status = response.status_code
            if status < 300 or status == 304:
                return response
            if status in (429, 503) or status >= 500:
                problem = f"answered {status} ({_error_text(response)})"
                advised = _seconds(response.headers.get("Retry-After"))
                self._wait(advised if advised is not None else min(2.0 ** (attempt + 1), 60.0))
                continue
            if status == 412:
                raise _Stale(
                    f"Zotero: the library changed while litkg was writing ({url})", status=412
                )
            raise self._refused(status, url, response, library)
        where = f"Zotero at {self.base_url}"
        hint = (
            _LOCAL_HINT
            if self.local
            else "wait a while and run the same command again (nothing written twice)"
        )
        raise ZoteroError(
            f"{where} {problem} (tried {self.max_retries + 1} times): {hint}", status=None
        )

    def _refused(
        self, status: int, url: str, response: httpx.Response, library: Library | None
    ) -> ZoteroError:
        lib = library.name if library is not None else "the library"
        said = _error_text(response)
        if status in (401, 403):
            if self.local:
                fix = _LOCAL_HINT
            elif not self._has_key:
                fix = f"set ZOTERO_API_KEY to a key with access to {lib} (create one at {KEYS_URL})"
            else:
                fix = (
                    f"check ZOTERO_API_KEY: the key must allow reading {lib} (and writing, for "
                    f"`litkg zotero push`); edit it at {KEYS_URL}"
                )
            return ZoteroError(f"Zotero refused {url} ({status}: {said}): {fix}", status=status)
        if status == 404:
            fix = (
                f"check the library id: your userID is shown on {KEYS_URL}, a group's id is "
                "the number in its zotero.org/groups/<id> address"
            )
            if library is not None and library.collection:
                fix = f"check the collection key or name ({library.collection}) and the library id"
            if self.local:
                fix = "the local API serves users/0 only; check the collection key"
            return ZoteroError(f"Zotero knows no {url} (404: {said}): {fix}", status=status)
        return ZoteroError(
            f"Zotero answered {status} for {url}: {said}. This is likely a litkg bug; "
            "please report it with this message",
            status=status,
        )

    # ------------------------------------------------------------------ reads
    def pages(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        library: Library | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Every object of a listing (all pages) and the library version it reflects."""
        query: dict[str, str | int] = {"limit": PAGE_SIZE, "start": 0, **(params or {})}
        out: list[dict[str, Any]] = []
        version: int | None = None
        url: str | None = path
        while url is not None:
            response = self.request(
                "GET", url, params=query if url == path else None, library=library
            )
            if (v := response.headers.get("Last-Modified-Version", "")).isdigit():
                version = int(v) if version is None else min(version, int(v))
            try:
                body = response.json()
            except ValueError as exc:
                raise ZoteroError(
                    f"Zotero answered {url} with a body that is not JSON; check that "
                    f"{self.base_url} is a Zotero API"
                ) from exc
            if not isinstance(body, list):
                raise ZoteroError(
                    f"Zotero answered {url} with {type(body).__name__}, not a list; check that "
                    f"{self.base_url} is a Zotero API"
                )
            out.extend(b for b in body if isinstance(b, dict))
            m = _NEXT.search(response.headers.get("Link", ""))
            total = response.headers.get("Total-Results", "")
            if m:
                url = m.group(1)
            elif body and total.isdigit() and len(out) < int(total):
                query = {**query, "start": len(out)}
                url = path if url == path else None
            else:
                url = None
        return out, version

    def version(self, library: Library) -> int:
        """The library's current version (one cheap read)."""
        response = self.request(
            "GET",
            f"{library.path}/items",
            params={"limit": 1, "format": "versions"},
            library=library,
        )
        value = response.headers.get("Last-Modified-Version", "")
        return int(value) if value.isdigit() else 0

    def collections(self, library: Library) -> list[dict[str, Any]]:
        return self.pages(f"{library.path}/collections", library=library)[0]

    def collection_key(self, library: Library, name_or_key: str) -> str | None:
        """The key of the collection with this key or (exact, then case-insensitive) name."""
        found = self.collections(library)
        for exact in (True, False):
            for c in found:
                data = c.get("data") or {}
                name = str(data.get("name", ""))
                if c.get("key") == name_or_key or (
                    name == name_or_key if exact else name.casefold() == name_or_key.casefold()
                ):
                    return str(c["key"])
        return None

    def items(
        self, library: Library, *, collection: str | None = None, since: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Top-level items, oldest first, with the version they reflect."""
        where = f"/collections/{collection}" if collection else ""
        params: dict[str, str | int] = {"sort": "dateAdded", "direction": "asc"}
        if since is not None:
            params["since"] = since
        return self.pages(f"{library.path}{where}/items/top", params, library=library)

    # ------------------------------------------------------------------ writes
    def create(
        self, library: Library, what: str, objects: Sequence[dict[str, Any]], version: int
    ) -> tuple[list[str | None], int]:
        """POST ``objects`` (``items`` or ``collections``) in batches of 50; the new keys
        (None where Zotero refused one) and the library version after the write.

        Raises :class:`_Stale` when the library moved past ``version``."""
        keys: list[str | None] = []
        for start in range(0, len(objects), WRITE_BATCH):
            batch = list(objects[start : start + WRITE_BATCH])
            response = self.request(
                "POST",
                f"{library.path}/{what}",
                json_body=batch,
                headers={"If-Unmodified-Since-Version": str(version)},
                library=library,
            )
            body = response.json() if response.content else {}
            ok = {**(body.get("success") or {}), **(body.get("unchanged") or {})}
            for i, obj in (body.get("successful") or {}).items():
                ok.setdefault(i, obj.get("key") if isinstance(obj, dict) else obj)
            failed = body.get("failed") or {}
            if failed and not ok:
                first = next(iter(failed.values()))
                raise ZoteroError(
                    f"Zotero refused to create {what} in {library.name}: "
                    f"{first.get('code')} {first.get('message')}; check that the key may write "
                    f"to it ({KEYS_URL})",
                    status=int(first.get("code") or 0) or None,
                )
            keys.extend(str(ok[str(i)]) if str(i) in ok else None for i in range(len(batch)))
            v = response.headers.get("Last-Modified-Version", "")
            version = int(v) if v.isdigit() else version + 1
        return keys, version


def client_for(
    library: Library,
    env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> ZoteroClient:
    """A client for ``library``: the local API (``LITKG_ZOTERO_LOCAL_URL`` to move it)
    or the web API (``LITKG_ZOTERO_API_URL``) with ``ZOTERO_API_KEY``."""
    env = os.environ if env is None else env
    if library.local:
        return ZoteroClient(env.get("LITKG_ZOTERO_LOCAL_URL") or LOCAL_API, local=True, **kwargs)
    return ZoteroClient(
        env.get("LITKG_ZOTERO_API_URL") or WEB_API,
        env.get("ZOTERO_API_KEY") or None,
        **kwargs,
    )


# --------------------------------------------------------------------------- items -> seeds


def _plain(text: str) -> str:
    """Zotero's rich-text title markup (``<i>``, ``<sub>``, ``<span class="nocase">``) dropped."""
    return " ".join(_RICH_TEXT.sub("", text).split())


def _extra(data: Mapping[str, Any]) -> dict[str, str]:
    """``Key: value`` lines of the ``extra`` field, keys lowercased (first one kept)."""
    out: dict[str, str] = {}
    for m in _EXTRA_LINE.finditer(str(data.get("extra") or "")):
        out.setdefault(m.group(1).strip().lower(), m.group(2))
    return out


def _arxiv(data: Mapping[str, Any], extra: Mapping[str, str]) -> str | None:
    for value in (str(data.get("archiveID") or ""), extra.get("arxiv", "")):
        if value and (arxiv := normalise_arxiv_id(value.split()[0])):
            return arxiv
    return None


def item_fields(data: Mapping[str, Any]) -> dict[str, str]:
    """A Zotero item's data as the BibTeX fields its export has (the ones ids come from)."""
    extra = _extra(data)
    fields = {
        "title": _plain(str(data.get("title") or "")),
        "doi": str(data.get("DOI") or extra.get("doi") or ""),
        "url": str(data.get("url") or ""),
        "date": str(data.get("date") or ""),
    }
    if arxiv := _arxiv(data, extra):
        fields["eprint"] = arxiv
        fields["archiveprefix"] = "arXiv"
    if pmid := extra.get("pmid"):
        fields["pmid"] = pmid
    return {k: v for k, v in fields.items() if v}


def _author(creator: Mapping[str, Any]) -> Author | None:
    name = creator.get("name") or " ".join(
        p for p in (str(creator.get("firstName") or ""), str(creator.get("lastName") or "")) if p
    )
    name = " ".join(str(name).split())
    return Author(name) if name else None


def item_to_seedref(item: Mapping[str, Any], library: Library, position: int) -> SeedRef | None:
    """The seed a Zotero item is, as its BibTeX export gives it (None: no title)."""
    data = item.get("data") or {}
    fields = item_fields(data)
    title = fields.get("title", "")
    if not title:
        return None
    ids = entry_ids(fields)
    meta = item.get("meta") or {}
    parsed = str(meta.get("parsedDate") or "")
    year = entry_year({"date": parsed or fields.get("date", "")})
    external = external_ids(ids)
    url = fields.get("url") or None
    if url is None and "ArXiv" in external:
        url = f"https://arxiv.org/abs/{external['ArXiv']}"
    elif url is None and "DOI" in external:
        url = f"https://doi.org/{external['DOI']}"
    creators = [c for c in data.get("creators") or () if isinstance(c, dict)]
    authors = [c for c in creators if c.get("creatorType", "author") == "author"] or creators
    journal = str(data.get("publicationTitle") or "") or None
    venue = (
        journal
        or str(data.get("proceedingsTitle") or data.get("conferenceName") or "")
        or str(data.get("repository") or "")
        or None
    )
    tags = [str(t.get("tag")) for t in data.get("tags") or () if isinstance(t, dict)]
    paper = Paper(
        paper_id=local_paper_id(ids, title, year),
        title=title,
        abstract=" ".join(str(data.get("abstractNote") or "").split()) or None,
        year=year,
        venue=venue,
        authors=tuple(a for a in (_author(c) for c in authors) if a is not None),
        external_ids=external,
        url=url,
        publication_date=parsed if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", parsed) else None,
        journal=journal,
        tags=tuple(dict.fromkeys(t for t in tags if t.strip())),
        resolved=False,
    )
    return SeedRef(
        title=title,
        source=library.spec,
        url=url,
        ids=tuple(ids),
        position=position,
        year=year,
        metadata=paper,
        key=f"ZOTERO:{library.name}/{item.get('key')}",
    )


def read_library(library: Library, client: ZoteroClient) -> SourceResult:
    """The seeds a Zotero library or collection lists, oldest item first.

    Notes, attachments and items without a title are :class:`Skipped`, as are items
    whose DOI/arXiv id an earlier item has (the export path folds those the same way).
    """
    collection = library.collection
    if collection and not _KEY.match(collection):
        found = client.collection_key(library, collection)
        if found is None:
            names = sorted(
                str((c.get("data") or {}).get("name")) for c in client.collections(library)
            )
            raise ZoteroError(
                f"{library.spec}: {library.name} has no collection called {collection!r}; "
                f"use one of {', '.join(names) or '(none)'} or its key"
            )
        collection = found
        library = replace(library, collection=found)  # seeds are stored under the key
    items, _version = client.items(library, collection=collection)
    refs: list[SeedRef] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for position, item in enumerate(items):
        data = item.get("data") or {}
        kind = str(data.get("itemType") or "")
        key = str(item.get("key") or "")
        if kind in _NOT_PAPERS:
            skipped.append(
                Skipped(
                    library.spec, key, None, f"Zotero {kind}, not a paper (item {key})", position
                )
            )
            continue
        ref = item_to_seedref(item, library, position)
        if ref is None:
            skipped.append(
                Skipped(
                    library.spec,
                    key,
                    str(data.get("url") or "") or None,
                    f"item {key} has no title; give it one in Zotero",
                    position,
                )
            )
            continue
        dup = next((seen[i] for i in ref.ids if i in seen), None)
        if dup is not None:
            skipped.append(
                Skipped(
                    library.spec, f"{key}: {ref.title}", ref.url, f"duplicate of {dup}", position
                )
            )
            continue
        for ident in ref.ids:
            seen.setdefault(ident, key)
        refs.append(ref)
    if not refs:
        raise ZoteroError(
            f"{library.spec}: no papers found ({len(items)} items, none with a title that is "
            "not a note or attachment); add papers in Zotero or name another collection"
        )
    return SourceResult(refs=tuple(refs), skipped=tuple(skipped))


def load_zotero_source(spec: str, env: Mapping[str, str] | None = None) -> SourceResult:
    """Read the Zotero source ``spec`` names (see the module docstring)."""
    library = parse_spec(spec, env)
    with client_for(library, env) as client:
        return read_library(library, client)


# --------------------------------------------------------------------------- push


@dataclass(frozen=True)
class PushPaper:
    """A paper to put in the collection, and litkg's reason for it (None: no note)."""

    paper: Paper
    reason: str | None = None


@dataclass
class PushReport:
    collection: str = ""
    collection_key: str = ""
    created_collection: bool = False
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    notes: int = 0
    retries_412: int = 0

    def lines(self) -> list[str]:
        made = "created" if self.created_collection else "found"
        return [
            f"Collection {self.collection!r} ({self.collection_key}): {made}",
            f"Added {len(self.added)} item{'' if len(self.added) == 1 else 's'}, "
            f"{self.notes} with a note; {len(self.present)} already in the collection",
        ]


def _match_keys_of(data: Mapping[str, Any]) -> set[str]:
    """What identifies an item in a collection: its DOI, arXiv id and URL."""
    fields = item_fields(data)
    keys = {i for i in entry_ids(fields) if not i.startswith("URL:")}
    if url := fields.get("url"):
        keys.add("URL:" + url.rstrip("/").lower())
    return keys


def _paper_keys(paper: Paper) -> set[str]:
    keys = set()
    if doi := paper.external_ids.get("DOI"):
        keys.update(entry_ids({"doi": doi}))
    if arxiv := paper.external_ids.get("ArXiv"):
        keys.add(f"ARXIV:{arxiv}")
    if paper.url:
        keys.add("URL:" + paper.url.rstrip("/").lower())
    return keys


def _creators(paper: Paper) -> list[dict[str, str]]:
    out = []
    for author in paper.authors:
        first, _, last = author.name.rpartition(" ")
        if first and last:
            out.append({"creatorType": "author", "firstName": first, "lastName": last})
        else:
            out.append({"creatorType": "author", "name": author.name})
    return out


def item_json(paper: Paper, collection_key: str) -> dict[str, Any]:
    """A new Zotero item for ``paper`` in the collection: a conference paper when S2 says
    so, a journal article when it has a journal, a conference paper when it has another
    venue (arXiv is not one), a preprint when it has an arXiv id, else a document. Its URL
    is the paper's own, not its Semantic Scholar page."""
    arxiv = paper.external_ids.get("ArXiv")
    doi = paper.external_ids.get("DOI")
    doi = normalise_doi(doi) if doi else None
    if doi and doi.startswith("10.48550/arxiv."):
        doi = None  # arXiv's own DOI: the archive id says it
    extra = []

    def named(value: str | None) -> str | None:
        return value if value and "arxiv" not in value.lower() else None

    journal, venue = named(paper.journal), named(paper.venue)
    types = set(paper.publication_types)
    if "Conference" in types and (venue or journal):
        kind = "conferencePaper"
    elif journal:
        kind = "journalArticle"
    elif venue:
        kind = "conferencePaper"
    elif arxiv:
        kind = "preprint"
    else:
        kind = "document"
    url = paper.url if paper.url and "semanticscholar.org/" not in paper.url else None
    if url is None and arxiv:
        url = f"https://arxiv.org/abs/{arxiv}"
    elif url is None and doi:
        url = f"https://doi.org/{doi}"
    item: dict[str, Any] = {
        "itemType": kind,
        "title": paper.title,
        "creators": _creators(paper),
        "date": paper.publication_date or (str(paper.year) if paper.year else ""),
        "url": url or paper.url or "",
        "abstractNote": paper.abstract or "",
        "collections": [collection_key],
        "tags": [{"tag": "litkg"}],
    }
    if kind == "journalArticle":
        item["publicationTitle"] = journal or ""
    elif kind == "conferencePaper":
        item["proceedingsTitle"] = venue or journal or ""
    if arxiv:
        extra.append(f"arXiv: {arxiv}")
        if kind == "preprint":
            item["archiveID"] = f"arXiv:{arxiv}"
            item["repository"] = "arXiv"
    if doi:
        if kind == "document":
            extra.append(f"DOI: {doi}")
        else:
            item["DOI"] = doi
    item["extra"] = "\n".join(extra)
    return item


def note_html(reason: str, list_name: str) -> str:
    """The child note: litkg's reason, escaped (it holds third-party titles)."""
    paragraphs = "".join(
        f"<p>{html.escape(p.strip())}</p>" for p in reason.split("\n") if p.strip()
    )
    return (
        f"<h2>Why litkg suggests it</h2>{paragraphs}"
        f"<p><em>From the litkg reading list “{html.escape(list_name)}”.</em></p>"
    )


def push_papers(
    client: ZoteroClient,
    library: Library,
    collection: str,
    papers: Sequence[PushPaper],
    *,
    list_name: str,
    collection_key: str | None = None,
    max_stale: int = 3,
) -> PushReport:
    """Put ``papers`` into the collection ``collection`` (created if missing), each with
    a child note holding its reason; idempotent.

    An item already in the collection (same DOI, arXiv id or URL) is left as it is.
    ``collection_key`` (from an earlier push) is used when the collection still exists,
    so a collection renamed in Zotero keeps receiving the list. A 412 (someone wrote to
    the library meanwhile) re-reads the collection since the stale version and retries.
    """
    if library.local:
        raise ZoteroError(
            "the Zotero local API is read-only; push through the web API: name the library "
            "as users/<id> or groups/<id> and set ZOTERO_API_KEY"
        )
    report = PushReport(collection=collection)
    for _attempt in range(max_stale + 1):
        try:
            return _push_once(
                client, library, collection, papers, list_name, collection_key, report
            )
        except _Stale:
            report.retries_412 += 1
            collection_key = report.collection_key or collection_key
    raise ZoteroError(
        f"Zotero: {library.name} kept changing while litkg wrote to it "
        f"({max_stale + 1} tries); run the same command again when it is quiet "
        "(nothing is added twice)"
    )


def _push_once(
    client: ZoteroClient,
    library: Library,
    collection: str,
    papers: Sequence[PushPaper],
    list_name: str,
    collection_key: str | None,
    report: PushReport,
) -> PushReport:
    version = client.version(library)
    key = None
    if collection_key:
        key = client.collection_key(library, collection_key)
    key = key or client.collection_key(library, collection)
    if key is None:
        created, version = client.create(library, "collections", [{"name": collection}], version)
        if not created or created[0] is None:
            raise ZoteroError(f"Zotero did not create the collection {collection!r}")
        key = created[0]
        report.created_collection = True
    report.collection_key = key
    existing, _ = client.items(library, collection=key)
    have: set[str] = set()
    for item in existing:
        have |= _match_keys_of(item.get("data") or {})
    todo: list[PushPaper] = []
    for p in papers:
        keys = _paper_keys(p.paper)
        if keys & have:
            if p.paper.paper_id not in report.present:
                report.present.append(p.paper.paper_id)
            continue
        have |= keys
        todo.append(p)
    if not todo:
        return report
    made, version = client.create(
        library, "items", [item_json(p.paper, key) for p in todo], version
    )
    notes = []
    for p, item_key in zip(todo, made, strict=True):
        if item_key is None:
            continue
        report.added.append(p.paper.paper_id)
        if p.reason:
            notes.append(
                {
                    "itemType": "note",
                    "parentItem": item_key,
                    "note": note_html(p.reason, list_name),
                    "tags": [{"tag": "litkg"}],
                }
            )
    # The items are in: a 412 now must not re-add them, so only the notes are retried.
    for _attempt in range(4):
        if not notes:
            break
        try:
            done, _ = client.create(library, "items", notes, version)
        except _Stale:
            report.retries_412 += 1
            version = client.version(library)
            continue
        report.notes += sum(k is not None for k in done)
        notes = []
    return report


# --------------------------------------------------------------------------- memory

#: Under the data dir: the collection key each (library, collection name) was pushed to.
PUSHES_FILE = "zotero-pushes.json"


def remembered_collection(path: Path, library: Library, collection: str) -> str | None:
    """The collection key an earlier push to ``collection`` in ``library`` used."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ZoteroError(
            f"{path} cannot be read ({exc}); delete it (the next push finds the collection "
            "by its name)"
        ) from exc
    value = (
        doc.get("collections", {}).get(f"{library.name}|{collection}")
        if isinstance(doc, dict)
        else None
    )
    return value if isinstance(value, str) and _KEY.match(value) else None


def remember_collection(path: Path, library: Library, collection: str, key: str) -> None:
    """Keep the collection key of a push (atomically, beside the corpus)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("collections"), dict):
        doc = {"collections": {}}
    doc["collections"][f"{library.name}|{collection}"] = key
    atomic_write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
