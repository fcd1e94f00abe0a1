"""A read-only SPARQL 1.1 Protocol endpoint over the knowledge graph (stdlib HTTP server).

* ``GET /sparql?query=...`` and ``POST /sparql`` with a form-encoded ``query=`` or an
  ``application/sparql-query`` body (``/query`` is an alias).
* Results as SPARQL JSON (default), CSV, TSV or SPARQL XML, chosen by the ``Accept``
  header or a ``format=`` parameter (``json``, ``csv``, ``tsv``, ``xml`` or a media
  type); CONSTRUCT/DESCRIBE answer Turtle or N-Triples.
* Read-only: an update (``update=`` form field, an ``application/sparql-update``
  body, or update text sent as a query) gets 403 with the reason; a malformed query
  400 with the parser's line and column; a query past its time limit 503
  ("stopped after N s ..."); the row cap sets ``X-LITKG-Truncated: true``.
* Each query (parse, evaluation, formatting) runs in a worker process
  (:mod:`kg.rdf.pool`) killed at the time limit, with bounded memory
  (``memory_mb``); at most ``max_concurrent`` run at once, a query that finds them
  busy waits, and a running query that has had its share (``share_s``) is stopped to
  let it in (503 "stopped ... to let waiting queries run"), so slow queries cannot
  starve fast ones; too many waiting: 503 "busy".
* ``GET /`` is a small HTML form (everything user-supplied is escaped).
* SERVICE (federated query) is refused (403) unless ``allow_service``
  (``LITKG_SPARQL_ALLOW_SERVICE=1``): it would let whoever reaches the endpoint make
  this machine fetch internal URLs.
* Only requests for this server are answered: the ``Host`` header must name it (the
  loopback names, the address it listens on, or ``allowed_hosts``), else 421, so a
  web page whose domain is re-pointed at 127.0.0.1 (DNS rebinding) gets nothing; and
  a request a browser marks as coming from another site (an ``Origin`` that is not
  this server, or ``Sec-Fetch-Site: cross-site``/``same-site``) gets 403.

Binds 127.0.0.1 unless told otherwise. :func:`serve` returns the server without
starting it; call ``serve_forever()`` (tests run it in a thread).
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rdflib import Dataset

from kg.core.errors import (
    KGError,
    QueryParamError,
    QueryTimeout,
    ReadOnlyError,
    ServiceRefused,
    SparqlSyntaxError,
)
from kg.rdf.canned import canned_queries
from kg.rdf.pool import DEFAULT_MEMORY_MB, Busy, QueryPool
from kg.rdf.results import FORMATS, format_result
from kg.rdf.sparql import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_S, run_query

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # 1 MiB of query text is plenty

#: media type -> our format name, in our order of preference
_MEDIA = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "text/plain": "table",
}
_NAMES = {"json", "csv", "tsv", "xml", "turtle", "nt", "table"}


def negotiate(accept: str | None, explicit: str | None, graph: bool) -> str | None:
    """The format to answer in: ``format=`` wins, then the Accept header (q-values honoured).

    None when nothing acceptable can be produced (answer 406).
    """
    if explicit:
        key = explicit.strip().lower()
        chosen = key if key in _NAMES else _MEDIA.get(key.split(";")[0].strip())
        return None if chosen in ("turtle", "nt") and not graph else chosen
    default = "turtle" if graph else "json"
    if not accept:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *options = (p.strip() for p in part.split(";"))
        q = 1.0
        for option in options:
            if option.startswith("q="):
                try:
                    q = float(option[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        media = media.lower()
        if media in ("*/*", "application/*", "text/*"):
            name: str | None = default
        else:
            name = _MEDIA.get(media)
        if name is not None:
            choices.append((-q, index, name))
    for _, _, candidate in sorted(choices):
        if graph or candidate not in ("turtle", "nt"):
            return candidate
    return None


_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>litkg SPARQL</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
textarea{{width:100%;font-family:monospace}}</style></head>
<body><h1>litkg SPARQL endpoint</h1>
<p>Read-only. POST or GET <code>{path}?query=...</code>; results as JSON, CSV, TSV or XML.</p>
<form method="post" action="{path}">
<textarea name="query" rows="14">{query}</textarea>
<p><label>format <select name="format">
<option value="table">table</option><option value="json">json</option>
<option value="csv">csv</option><option value="tsv">tsv</option><option value="xml">xml</option>
</select></label> <button type="submit">Run</button></p></form>
<h2>Canned queries</h2><ul>{canned}</ul></body></html>
"""

_DEFAULT_QUERY = """PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?paper ?title WHERE { ?paper dcterms:title ?title } LIMIT 10"""


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARD = frozenset({"0.0.0.0", "::", ""})


def _host_name(header: str | None) -> str | None:
    """The host of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), lowercase."""
    text = (header or "").strip().lower()
    if not text:
        return None
    if text.startswith("["):
        end = text.find("]")
        return text[1:end] if end > 0 else None
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SparqlServer(ThreadingHTTPServer):
    """The HTTP server; ``url`` is the endpoint's address."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        dataset: Dataset,
        *,
        timeout_s: float,
        max_rows: int,
        max_concurrent: int,
        allow_service: bool = False,
        allowed_hosts: tuple[str, ...] = (),
        memory_mb: int = DEFAULT_MEMORY_MB,
        share_s: float | None = None,
    ):
        super().__init__(address, _Handler)
        self.dataset = dataset
        self.pool = QueryPool(
            functools.partial(_respond, dataset),
            size=max_concurrent,
            memory_mb=memory_mb,
            share_s=min(1.0, timeout_s / 4) if share_s is None else share_s,
        )
        self.pool.start()  # forked now, before the request threads exist
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self.max_concurrent = max_concurrent
        self.allow_service = allow_service
        bound = str(self.server_address[0]).lower()
        self.allowed_hosts = frozenset(
            {*_LOOPBACK, *(h.strip().lower().strip("[]") for h in allowed_hosts if h.strip())}
            | ({bound} if bound not in _WILDCARD else set())
        )
        self.any_ip_host = bound in _WILDCARD

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether a request's ``Host`` names this server (DNS-rebinding guard)."""
        host = _host_name(host_header)
        if host is None:
            return False
        if host in self.allowed_hosts:
            return True
        return self.any_ip_host and _is_ip(host)

    def origin_allowed(self, origin: str | None, fetch_site: str | None) -> bool:
        """Whether a browser request comes from this server's own pages (or is no
        browser request at all: no ``Origin``, no ``Sec-Fetch-Site``)."""
        if (fetch_site or "").strip().lower() in ("cross-site", "same-site"):
            return False
        if origin is None:
            return True
        parts = urlsplit(origin.strip())
        if parts.scheme != "http" or parts.hostname is None:
            return False
        port = parts.port or 80
        return port == self.server_address[1] and self.host_allowed(parts.netloc)

    def server_close(self) -> None:
        super().server_close()
        self.pool.close()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/sparql"


class _Handler(BaseHTTPRequestHandler):
    server: SparqlServer
    server_version = "litkg-sparql"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    # -- responses
    def _send(
        self,
        status: int,
        body: str,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._send(status, message.rstrip() + "\n")

    # -- routing
    def _refused(self) -> bool:
        """Answer requests not meant for this server (wrong Host, another site's page)."""
        if not self.server.host_allowed(self.headers.get("Host")):
            self._error(
                HTTPStatus.MISDIRECTED_REQUEST,
                f"This endpoint answers only requests for itself (Host "
                f"{self.headers.get('Host')!r} is not one of its names); reach it at "
                f"{self.server.url} or start it with --allow-host NAME.",
            )
            return True
        if not self.server.origin_allowed(
            self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site")
        ):
            self._error(
                HTTPStatus.FORBIDDEN,
                "Requests from other sites' pages are refused (Origin "
                f"{self.headers.get('Origin')!r}); query from this server's own page, "
                "the command line or a script.",
            )
            return True
        return False

    def do_GET(self) -> None:
        if self._refused():
            return
        parts = urlsplit(self.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        if parts.path in ("/", "/index.html") and "query" not in params:
            self._form(parts.path)
            return
        if parts.path not in ("/sparql", "/query", "/"):
            self._error(HTTPStatus.NOT_FOUND, f"No such page {parts.path!r}: use /sparql")
            return
        if "update" in params:
            self._error(HTTPStatus.FORBIDDEN, "This endpoint is read-only: updates are refused.")
            return
        query = params.get("query", [""])[0]
        self._answer(query, params.get("format", [None])[0])

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        if self._refused():
            return
        parts = urlsplit(self.path)
        if parts.path not in ("/sparql", "/query", "/"):
            self._error(HTTPStatus.NOT_FOUND, f"No such page {parts.path!r}: use /sparql")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "Bad Content-Length")
            return
        if length > MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"Query over {MAX_BODY} bytes")
            return
        body = self.rfile.read(length).decode("utf-8", "replace")
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        params = parse_qs(parts.query, keep_blank_values=True)
        if media == "application/sparql-update":
            self._error(HTTPStatus.FORBIDDEN, "This endpoint is read-only: updates are refused.")
            return
        if media == "application/sparql-query":
            query = body
        elif media in ("application/x-www-form-urlencoded", ""):
            form = parse_qs(body, keep_blank_values=True)
            if "update" in form:
                self._error(
                    HTTPStatus.FORBIDDEN, "This endpoint is read-only: updates are refused."
                )
                return
            query = form.get("query", [""])[0]
            params = {**params, **form}
        else:
            self._error(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Send application/sparql-query or a form with query=, not {media!r}",
            )
            return
        self._answer(query, params.get("format", [None])[0])

    # -- the work
    def _form(self, path: str) -> None:
        items = "".join(
            f"<li><b>{html.escape(name)}</b>: {html.escape(cq.title)}"
            + (
                f" (parameters: {html.escape(', '.join(p.name for p in cq.params))})"
                if cq.params
                else ""
            )
            + "</li>"
            for name, cq in canned_queries().items()
        )
        page = _FORM.format(
            path=html.escape("/sparql"), query=html.escape(_DEFAULT_QUERY), canned=items
        )
        self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")

    def _answer(self, query: str, explicit_format: str | None) -> None:
        server = self.server
        if not query.strip():
            self._error(HTTPStatus.BAD_REQUEST, "No query: send query=<SPARQL>")
            return
        request = _Request(
            query,
            self.headers.get("Accept"),
            explicit_format,
            server.max_rows,
            server.allow_service,
        )
        try:
            status, body, content_type, headers = server.pool.run(request, server.timeout_s)
        except Busy as exc:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, f"{exc}\n", headers={"Retry-After": "5"})
            return
        except (ReadOnlyError, ServiceRefused) as exc:
            self._error(HTTPStatus.FORBIDDEN, str(exc))
            return
        except (SparqlSyntaxError, QueryParamError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        except QueryTimeout as exc:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
            return
        except KGError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))
            return
        self._send(status, body, content_type, headers)


@dataclass(frozen=True)
class _Request:
    """What a worker needs to answer one query (sent to it over a pipe)."""

    query: str
    accept: str | None
    explicit_format: str | None
    max_rows: int
    allow_service: bool


def _respond(dataset: Dataset, request: _Request) -> tuple[int, str, str, dict[str, str]]:
    """Run and format one query (in a worker process): status, body, type, headers."""
    result = run_query(
        dataset,
        request.query,
        timeout_s=0,  # the pool kills the worker at the limit
        max_rows=request.max_rows,
        allow_service=request.allow_service,
    )
    fmt = negotiate(request.accept, request.explicit_format, result.kind == "graph")
    if fmt is None:
        return (
            HTTPStatus.NOT_ACCEPTABLE,
            "Cannot answer in the requested format; accept one of "
            + ", ".join(sorted(set(_MEDIA)))
            + "\n",
            "text/plain; charset=utf-8",
            {},
        )
    body = format_result(result, fmt)
    headers = {"X-LITKG-Truncated": "true"} if result.truncated else {}
    headers["X-LITKG-Elapsed-Ms"] = f"{result.elapsed * 1000:.1f}"
    return HTTPStatus.OK, body, FORMATS[fmt], headers


def serve(
    dataset: Dataset,
    host: str = "127.0.0.1",
    port: int = 7878,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_concurrent: int = 4,
    allow_service: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    memory_mb: int = DEFAULT_MEMORY_MB,
    share_s: float | None = None,
) -> SparqlServer:
    """A SPARQL endpoint for ``dataset`` (not yet serving: call ``serve_forever()``).

    ``port=0`` picks a free port (see ``server.url``); ``allowed_hosts``: more names
    the ``Host`` header may give (beyond the loopback names and ``host``).
    """
    return SparqlServer(
        (host, port),
        dataset,
        timeout_s=timeout_s,
        max_rows=max_rows,
        max_concurrent=max_concurrent,
        allow_service=allow_service,
        allowed_hosts=allowed_hosts,
        memory_mb=memory_mb,
        share_s=share_s,
    )


__all__ = ["SparqlServer", "negotiate", "serve"]
