"""Reading lists as RDF, in the named graph :data:`READING_LISTS_GRAPH`.

RDF (:func:`to_triples`, :func:`to_rdf_lines`, :func:`write_rdf`): every list
is a ``litkg:ReadingList`` that is also an ``rdf:Seq`` of its papers
(``rdf:_1``, ``rdf:_2`` ... in list order), with ``dcterms:title``,
``dcterms:created`` and ``dcterms:modified``, and one ``litkg:Listing`` per
entry (``litkg:position``, ``litkg:listedPaper``, ``skos:note``,
``dcterms:created``), all in the named graph :data:`READING_LISTS_GRAPH`.
Every node is an IRI (``https://litkg.org/reading-list/<name>`` and
``.../entry/<n>``): no blank nodes. :data:`ORDER_QUERY` reads a list back in
order. ``kg.rdf.sync.build_rdf`` may clear the whole store on a big rebuild, so
call :func:`write_rdf` again after a build.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.core.errors import ReadingListError
from kg.rdf.sync import load_triples
from kg.rdf.vocab import (
    BASE,
    DCTERMS,
    LITKG,
    RDF,
    SKOS,
    XSD,
    graph_iri,
    paper_id_from_iri,
    paper_iri,
)
from kg.store.readinglists import ReadingList

if TYPE_CHECKING:
    from rdflib import Dataset

__all__ = [
    "ORDER_QUERY",
    "READING_LISTS_GRAPH",
    "read_order",
    "reading_list_iri",
    "to_rdf_lines",
    "to_triples",
    "write_rdf",
]

#: The named graph that holds every reading list.
READING_LISTS_GRAPH = graph_iri("reading-lists")

Triple = tuple[Node, Node, Node]


def reading_list_iri(name: str) -> URIRef:
    """``https://litkg.org/reading-list/<url-quoted name>``."""
    return URIRef(f"{BASE}reading-list/{quote(name, safe='')}")


def to_triples(lists: Iterable[ReadingList]) -> list[Triple]:
    """Every list as triples (see the module docstring for the model)."""
    out: list[Triple] = []
    add = out.append
    for lst in lists:
        node = reading_list_iri(lst.name)
        add((node, RDF.type, LITKG.ReadingList))
        add((node, RDF.type, RDF.Seq))
        add((node, DCTERMS.title, Literal(lst.name)))
        if lst.created_at:
            add((node, DCTERMS.created, Literal(lst.created_at, datatype=XSD.dateTime)))
        if lst.updated_at:
            add((node, DCTERMS.modified, Literal(lst.updated_at, datatype=XSD.dateTime)))
        for n, item in enumerate(lst.items, 1):
            paper = paper_iri(item.paper_id)
            entry = URIRef(f"{node}/entry/{n}")
            add((node, URIRef(f"{RDF}_{n}"), paper))
            add((node, LITKG.listing, entry))
            add((entry, RDF.type, LITKG.Listing))
            add((entry, LITKG.position, Literal(n)))
            add((entry, LITKG.listedPaper, paper))
            if item.note:
                add((entry, SKOS.note, Literal(item.note)))
            if item.added_at:
                add((entry, DCTERMS.created, Literal(item.added_at, datatype=XSD.dateTime)))
    return out


_NT_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _nt(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        lexical = str(term).translate(_NT_ESCAPE)
        return f'"{lexical}"^^<{term.datatype}>' if term.datatype else f'"{lexical}"'
    raise ReadingListError(f"cannot write {term!r} as N-Triples: every node must be an IRI")


def to_rdf_lines(lists: Iterable[ReadingList], *, quads: bool = False) -> list[str]:
    """The lists as N-Triples lines (N-Quads in :data:`READING_LISTS_GRAPH` with
    ``quads``), each ending in `` .``."""
    graph = f" <{READING_LISTS_GRAPH}>" if quads else ""
    return [f"{_nt(s)} {_nt(p)} {_nt(o)}{graph} ." for s, p, o in to_triples(lists)]


def write_rdf(lists: Iterable[ReadingList], dataset: Dataset) -> int:
    """Replace the named graph :data:`READING_LISTS_GRAPH` in ``dataset`` (any store
    ``kg.rdf.writers`` supports: embedded Oxigraph opened writable, a SPARQL server, rdflib's
    memory store) with ``lists``; returns the triple count."""
    return load_triples(dataset, str(READING_LISTS_GRAPH), to_triples(lists))


#: The papers of one list in order (``?position`` from 1); ``LIST`` stands for its IRI
#: (see :func:`read_order`).
ORDER_QUERY = f"""PREFIX xsd: <{XSD}>
SELECT ?position ?paper WHERE {{
  GRAPH <{READING_LISTS_GRAPH}> {{
    LIST ?member ?paper .
    FILTER(STRSTARTS(STR(?member), "{RDF}_"))
    BIND(xsd:integer(STRAFTER(STR(?member), "{RDF}_")) AS ?position)
  }}
}}
ORDER BY ?position"""


def read_order(dataset: Dataset, name: str) -> list[str]:
    """The paper ids of list ``name`` in order, as the RDF graph has them.

    The query runs on the calling thread (pyoxigraph results must be dropped on the
    thread that made them); the list IRI is percent-encoded, so the name cannot
    change the query.
    """

    query = ORDER_QUERY.replace("LIST", f"<{reading_list_iri(name)}>")
    rows = [(int(str(row[0])), str(row[1])) for row in dataset.query(query)]  # type: ignore[index]
    return [paper_id_from_iri(paper) for _, paper in sorted(rows)]
