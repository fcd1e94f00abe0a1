"""The knowledge graph written to a file: Turtle, N-Triples, JSON-LD, TriG, N-Quads.

Oxigraph serialises its own quads (streamed); other stores go through rdflib. The
file appears whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from rdflib import Dataset, URIRef
from rdflib.plugins.stores.memory import Memory

from kg.core.errors import GraphStoreError
from kg.rdf.stores import make_dataset, select
from kg.rdf.vocab import PREFIXES

EXPORT_FORMATS: dict[str, tuple[ox.RdfFormat, str, bool]] = {
    "turtle": (ox.RdfFormat.TURTLE, "turtle", False),
    "nt": (ox.RdfFormat.N_TRIPLES, "nt", False),
    "json-ld": (ox.RdfFormat.JSON_LD, "json-ld", False),
    "trig": (ox.RdfFormat.TRIG, "trig", True),
    "nquads": (ox.RdfFormat.N_QUADS, "nquads", True),
}
_EXTENSIONS = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".trig": "trig",
    ".nq": "nquads",
    ".nquads": "nquads",
}


def export_format_for(path: Path | str, fmt: str | None = None) -> str:
    """The export format named, or guessed from the file extension."""
    if fmt:
        key = fmt.lower().replace("_", "-")
        key = {"ttl": "turtle", "ntriples": "nt", "n-triples": "nt", "jsonld": "json-ld"}.get(
            key, key
        )
        key = {"n-quads": "nquads", "nq": "nquads"}.get(key, key)
        if key not in EXPORT_FORMATS:
            raise GraphStoreError(
                f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}"
            )
        return key
    guess = _EXTENSIONS.get(Path(path).suffix.lower())
    if guess is None:
        raise GraphStoreError(
            f"cannot tell the format of {path} from its extension; pass --format "
            f"({', '.join(EXPORT_FORMATS)})"
        )
    return guess


_UNION_TRIPLES = (
    "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
)


class _Counter:
    def __init__(self, items: Iterable[Any]):
        self.items = items
        self.n = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            self.n += 1
            yield item


def export_graph(dataset: Dataset, path: Path | str, fmt: str | None = None) -> int:
    """Write the graph to ``path``: Turtle, N-Triples, JSON-LD (the union of the named
    graphs), or TriG / N-Quads (every named graph kept). Returns the statement count.

    The file appears whole or not at all (written beside it, then renamed).
    """
    path = Path(path)
    key = export_format_for(path, fmt)
    ox_format, rdflib_format, quads = EXPORT_FORMATS[key]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        if isinstance(dataset.store, OxigraphStore):
            inner = dataset.store._inner
            if quads:
                counter = _Counter(inner.quads_for_pattern(None, None, None, None))
            else:
                counter = _Counter(inner.query(_UNION_TRIPLES))  # type: ignore[arg-type]
            prefixes = PREFIXES if key in ("turtle", "trig") else None
            ox.serialize(counter, str(tmp), ox_format, prefixes=prefixes)
            count = counter.n
        else:
            count = _export_rdflib(dataset, tmp, rdflib_format, quads)
        tmp.replace(path)
    except OSError as exc:
        raise GraphStoreError(f"Cannot write {path} ({exc})") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return count


def _export_rdflib(dataset: Dataset, tmp: Path, rdflib_format: str, quads: bool) -> int:
    if quads:
        out = make_dataset(Memory())
        rows = select(dataset, "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        count = 0
        for s, p, o, g in rows:
            if s is not None and p is not None and o is not None and isinstance(g, URIRef):
                out.graph(g).add((s, p, o))
                count += 1
        for prefix, ns in PREFIXES.items():
            out.bind(prefix, URIRef(ns))
        out.serialize(destination=str(tmp), format=rdflib_format, encoding="utf-8")
        return count
    graph = dataset.query(_UNION_TRIPLES).graph
    assert graph is not None
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, URIRef(ns))
    graph.serialize(destination=str(tmp), format=rdflib_format, encoding="utf-8")
    return len(graph)


__all__ = ["EXPORT_FORMATS", "export_format_for", "export_graph"]
