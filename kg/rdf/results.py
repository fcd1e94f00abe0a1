"""A query's answer (:class:`QueryResult`) and its formats.

Plain-text table, CSV and TSV (SPARQL 1.1 CSV/TSV results), JSON (SPARQL 1.1 JSON
results) and XML (SPARQL XML results); CONSTRUCT/DESCRIBE results also as Turtle or
N-Triples (:func:`format_result`). JSON, Turtle and N-Triples are written by rdflib's
serialisers; CSV goes through the house's one CSV writer (:mod:`kg.formats.csvsafe`),
so a cell a spreadsheet would run as a formula is neutralised; XML is written here
because rdflib's writer passes through characters XML 1.0 cannot hold (see
``docs/decisions.md``, "SPARQL result formats").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.query import Result
from rdflib.term import BNode, Identifier, Node, Variable

from kg.core.errors import SparqlError
from kg.formats.csvsafe import csv_text
from kg.rdf.vocab import BASE, PREFIXES, XSD


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class QueryResult:
    """Rows of RDF terms (``terms``) and the same as Python values (``rows``).

    ``kind`` is ``select``, ``ask`` (``boolean`` set, no rows) or ``graph``
    (CONSTRUCT/DESCRIBE: columns subject, predicate, object).
    """

    kind: str
    columns: tuple[str, ...]
    terms: tuple[tuple[Node | None, ...], ...]
    boolean: bool | None = None
    truncated: bool = False
    elapsed: float = 0.0
    max_rows: int = 0

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """Numbers and booleans as Python values, IRIs and other literals as strings."""
        return [tuple(python_value(t) for t in row) for row in self.terms]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.terms)


_NUMERIC = {
    str(XSD[t])
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "unsignedInt",
        "unsignedLong",
        "decimal",
        "double",
        "float",
    )
}


def python_value(term: Node | None) -> Any:
    if term is None:
        return None
    if isinstance(term, Literal):
        if term.datatype is not None and (
            str(term.datatype) in _NUMERIC or term.datatype == XSD.boolean
        ):
            value = term.toPython()
            if isinstance(value, bool | int | float | Decimal):
                return float(value) if isinstance(value, Decimal) else value
        return str(term)
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


# --------------------------------------------------------------------------- formats
FORMATS: dict[str, str] = {
    "table": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "turtle": "text/turtle; charset=utf-8",
    "nt": "application/n-triples",
}
GRAPH_ONLY_FORMATS = ("turtle", "nt")

_DISPLAY_PREFIXES = [(f"{BASE}{kind}/", f"{kind}:") for kind in ("paper", "author", "list")] + [
    (ns, f"{prefix}:") for prefix, ns in PREFIXES.items()
]


def _display(term: Node | None, width: int = 80) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        text = str(term)
        for ns, prefix in _DISPLAY_PREFIXES:
            if text.startswith(ns) and "/" not in text[len(ns) :]:
                text = prefix + text[len(ns) :]
                break
    elif isinstance(term, BNode):
        text = f"_:{term}"
    else:
        text = str(term)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(result: QueryResult) -> str:
    if result.kind == "ask":
        return ("true" if result.boolean else "false") + "\n"
    cells = [[_display(t) for t in row] for row in result.terms]
    widths = [len(c) for c in result.columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True)).rstrip(),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [
        " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    note = f"({len(result)} row{'s' if len(result) != 1 else ''}"
    if result.truncated:
        note += f", truncated at {result.max_rows}: raise --limit or LITKG_SPARQL_MAX_ROWS"
    lines.append(note + f"; {result.elapsed * 1000:.0f} ms)")
    return "\n".join(lines) + "\n"


def _csv_value(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


def format_csv(result: QueryResult) -> str:
    """SPARQL 1.1 CSV results; a cell a spreadsheet would run as a formula gets a
    leading ``'`` (:mod:`kg.formats.csvsafe`)."""
    if result.kind == "ask":
        return csv_text([["_askResult"], ["true" if result.boolean else "false"]])
    return csv_text([result.columns, *([_csv_value(t) for t in row] for row in result.terms)])


_TSV_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        lexical = f'"{str(term).translate(_TSV_ESCAPE)}"'
        if term.language:
            return f"{lexical}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{lexical}^^<{term.datatype}>"
        return lexical
    return str(term)


def format_tsv(result: QueryResult) -> str:
    if result.kind == "ask":
        return "?_askResult\n" + ("true" if result.boolean else "false") + "\n"
    lines = ["\t".join(f"?{c}" for c in result.columns)]
    lines += ["\t".join(_tsv_term(t) for t in row) for row in result.terms]
    return "\n".join(lines) + "\n"


def _json_term(term: Node) -> Identifier:
    """``term`` as rdflib's JSON serialiser should write it: an ``xsd:string`` literal
    as the simple literal it is (RDF 1.1; Oxigraph's answers already say so, rdflib's
    casts do not), anything that is not an IRI, blank node or literal as its text."""
    if isinstance(term, Literal):
        if term.datatype == XSD.string and not term.language:
            return Literal(str(term))
        return term
    if isinstance(term, URIRef | BNode):
        return term
    return Literal(str(term))


def _rdflib_result(result: QueryResult) -> Result:
    """``result`` as an rdflib ``Result`` (ASK, or SELECT-shaped rows), for its serialisers."""
    if result.kind == "ask":
        out = Result("ASK")
        out.askAnswer = bool(result.boolean)
        return out
    out = Result("SELECT")
    names = [Variable(c) for c in result.columns]
    out.vars = names
    out.bindings = [
        {v: _json_term(t) for v, t in zip(names, row, strict=True) if t is not None}
        for row in result.terms
    ]
    return out


def format_json(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results JSON, written by rdflib's result serialiser."""
    body = _rdflib_result(result).serialize(format="json")
    assert body is not None
    return body.decode("utf-8") + "\n"


_SRX = "http://www.w3.org/2005/sparql-results#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_BAD.sub("\ufffd", text)


def format_xml(result: QueryResult) -> str:
    """SPARQL Query Results XML."""
    ET.register_namespace("", _SRX)
    root = ET.Element(f"{{{_SRX}}}sparql")
    head = ET.SubElement(root, f"{{{_SRX}}}head")
    if result.kind == "ask":
        ET.SubElement(root, f"{{{_SRX}}}boolean").text = "true" if result.boolean else "false"
    else:
        for column in result.columns:
            ET.SubElement(head, f"{{{_SRX}}}variable", name=column)
        results = ET.SubElement(root, f"{{{_SRX}}}results")
        for row in result.terms:
            item = ET.SubElement(results, f"{{{_SRX}}}result")
            for column, term in zip(result.columns, row, strict=True):
                if term is None:
                    continue
                binding = ET.SubElement(item, f"{{{_SRX}}}binding", name=column)
                if isinstance(term, URIRef):
                    ET.SubElement(binding, f"{{{_SRX}}}uri").text = _xml_text(str(term))
                elif isinstance(term, BNode):
                    ET.SubElement(binding, f"{{{_SRX}}}bnode").text = _xml_text(str(term))
                else:
                    lit = ET.SubElement(binding, f"{{{_SRX}}}literal")
                    lit.text = _xml_text(str(term))
                    if isinstance(term, Literal) and term.language:
                        lit.set(_XML_LANG, term.language)
                    elif (
                        isinstance(term, Literal)
                        and term.datatype is not None
                        and term.datatype != XSD.string
                    ):
                        lit.set("datatype", str(term.datatype))
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _format_graph(result: QueryResult, fmt: str) -> str:
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, URIRef(ns))
    for s, p, o in result.terms:
        graph.add((s, p, o))  # type: ignore[arg-type]
    return graph.serialize(format="turtle" if fmt == "turtle" else "nt")


def format_result(result: QueryResult, fmt: str = "table") -> str:
    """``table``, ``csv``, ``tsv``, ``json``, ``xml``; ``turtle``/``nt`` for graph results."""
    fmt = fmt.lower()
    if fmt in GRAPH_ONLY_FORMATS:
        if result.kind != "graph":
            raise SparqlError(f"--format {fmt} is for CONSTRUCT/DESCRIBE results; use json or csv")
        return _format_graph(result, fmt)
    formatter = {
        "table": format_table,
        "csv": format_csv,
        "tsv": format_tsv,
        "json": format_json,
        "xml": format_xml,
    }.get(fmt)
    if formatter is None:
        raise SparqlError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return formatter(result)


__all__ = [
    "FORMATS",
    "GRAPH_ONLY_FORMATS",
    "QueryResult",
    "format_csv",
    "format_json",
    "format_result",
    "format_table",
    "format_tsv",
    "format_xml",
    "python_value",
]
