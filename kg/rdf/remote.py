"""A SPARQL 1.1 server as litkg's triple store: the only module that speaks HTTP to one.

:class:`RemoteStore` is rdflib's ``SPARQLUpdateStore`` with its traps worked around:
every node is an IRI (no blank nodes, which cannot round-trip through a server),
queries and updates are sent by us (``urllib``) with a timeout and the server's own
error message, and the union of litkg's named graphs is asked for with
``default-graph-uri`` / ``named-graph-uri`` (SPARQL 1.1 Protocol), so no
server-specific "union default graph" switch is needed. Bound values reach the
server already in the query text (:func:`kg.rdf.binding.bind_values`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from rdflib import Graph
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore
from rdflib.query import Result
from rdflib.term import BNode

from kg.core.errors import GraphStoreError, QueryTimeout, SparqlError
from kg.rdf.binding import bind_values
from kg.rdf.mapping import G_META
from kg.rdf.vocab import BASE

_ACCEPT_RESULTS = "application/sparql-results+json, application/n-triples;q=0.9"


class RemoteStore(SPARQLUpdateStore):
    """A SPARQL 1.1 server: rdflib's update store, with our own HTTP for reads and updates."""

    def __init__(
        self,
        query_url: str,
        update_url: str | None,
        timeout: float,
        *,
        bulk_url: str | None = None,
    ):
        super().__init__(
            query_endpoint=query_url,
            update_endpoint=update_url or query_url,
            context_aware=True,
            autocommit=True,
            returnFormat="json",
            method="POST_FORM",
        )
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.timeout = timeout or None
        #: The server's bulk-load endpoint (Oxigraph: ``/store``; ``None``: graphs are
        #: written by SPARQL UPDATE batches).
        self.bulk_url = bulk_url
        self._graphs: tuple[float, list[str]] | None = None
        #: Where builds keep the snapshots of this server's graphs (None: in memory).
        self.snapshot_dir: Path | None = None

    # -- HTTP
    def _post(self, url: str, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        request = Request(
            url, data=body, headers={"Content-Type": content_type, "Accept": accept}, method="POST"
        )
        try:
            with urlopen(request, timeout=self.timeout) as response:
                return response.read(), response.headers.get("Content-Type", "")
        except HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace").strip()[:500]
            raise SparqlError(
                f"The SPARQL server at {url} answered HTTP {exc.code}: {detail or exc.reason}"
            ) from None
        except TimeoutError:
            raise QueryTimeout(self._timeout_message(url)) from None
        except URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise QueryTimeout(self._timeout_message(url)) from None
            raise GraphStoreError(
                f"Cannot reach the SPARQL server at {url} ({exc.reason}). Start it, or unset "
                f"LITKG_SPARQL_QUERY_URL to use the embedded store."
            ) from None

    def _timeout_message(self, url: str) -> str:
        return (
            f"The SPARQL server at {url} did not answer within {self.timeout:g} s; "
            f"narrow the query or raise LITKG_SPARQL_TIMEOUT"
        )

    def graph_names(self) -> list[str]:
        """litkg's named graphs on the server (cached for two seconds)."""
        now = time.monotonic()
        if self._graphs is not None and now - self._graphs[0] < 2.0:
            return self._graphs[1]
        query = (
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { } "
            f'FILTER(STRSTARTS(STR(?g), "{BASE}graph/")) }}'
        )
        body, ctype = self._post(
            self.query_url,
            urlencode([("query", query)]).encode(),
            "application/x-www-form-urlencoded",
            "application/sparql-results+json",
        )
        result = Result.parse(io.BytesIO(body), content_type=ctype.split(";")[0].strip())
        found = {str(row[0]) for row in result if row[0] is not None}  # type: ignore[index]
        names = sorted(found | {str(G_META)})
        self._graphs = (now, names)
        return names

    def bulk_load(self, nquads: bytes) -> None:
        """POST N-Quads to the bulk-load endpoint: a field-scale build sends each graph
        this way, in pieces of a few MB, instead of as ``INSERT DATA`` updates (the server
        parses them once, without SPARQL)."""
        if self.bulk_url is None:
            raise GraphStoreError("No bulk-load endpoint: set LITKG_SPARQL_BULK_URL.")
        self._post(self.bulk_url, nquads, "application/n-quads", "*/*")
        self._graphs = None

    def update_text(self, update: str) -> None:
        self._post(self.update_url, update.encode("utf-8", "replace"), _UPDATE_TYPE, "*/*")
        self._graphs = None

    # -- what rdflib calls
    def _query(self, query: str, default_graph: Any = None, named_graph: Any = None) -> Result:
        params: list[tuple[str, str]] = [("query", query)]
        if default_graph is not None and not isinstance(default_graph, BNode):
            if str(default_graph) != str(DATASET_DEFAULT_GRAPH_ID):
                params.append(("default-graph-uri", str(default_graph)))
        else:  # the union of litkg's graphs, asked for by the protocol
            graphs = self.graph_names()
            params += [("default-graph-uri", g) for g in graphs]
            params += [("named-graph-uri", g) for g in graphs]
        body, ctype = self._post(
            self.query_url,
            urlencode(params).encode(),
            "application/x-www-form-urlencoded",
            _ACCEPT_RESULTS,
        )
        media = ctype.split(";")[0].strip().lower()
        if media in ("application/n-triples", "text/plain"):
            result = Result("CONSTRUCT")
            graph = Graph()
            graph.parse(data=body.decode("utf-8"), format="nt")
            result.graph = graph
            return result
        return Result.parse(io.BytesIO(body), content_type=media)

    def query(  # type: ignore[override]
        self,
        query: Any,
        initNs: Mapping[str, Any] | None = None,
        initBindings: Mapping[str, Any] | None = None,
        queryGraph: Any = None,
        DEBUG: bool = False,
    ) -> Result:
        text = str(query)
        if initBindings:
            text = bind_values(text, initBindings)
        if initNs:
            used = {k: v for k, v in initNs.items() if k and f"{k}:" in text}
            if used:
                # one line, so the server's line numbers still match the query's
                decls = " ".join(f"PREFIX {k}: <{v}>" for k, v in sorted(used.items()))
                text = f"{decls} {text}"
        contextual = self._is_contextual(queryGraph)
        return self._query(text, default_graph=queryGraph if contextual else None)


_UPDATE_TYPE = "application/sparql-update; charset=UTF-8"


__all__ = ["RemoteStore"]
