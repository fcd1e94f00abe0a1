"""kg.rdf.results: SPARQL JSON from rdflib's serialiser, the hand-written XML and CSV."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.query import Result

from kg.rdf.results import QueryResult, format_csv, format_json, format_xml
from kg.rdf.vocab import XSD

SRX = "{http://www.w3.org/2005/sparql-results#}"

ROW = (
    URIRef("https://litkg.org/paper/x"),
    Literal('A "quoted" title\nwith a newline, a tab\t and \\ backslash, é'),
    Literal("typed", datatype=XSD.string),  # what rdflib's engine gives for xsd:string(...)
    Literal("2020", datatype=XSD.gYear),
    Literal("chat", lang="fr"),
    BNode("b0"),
    None,
)
RESULT = QueryResult("select", ("p", "title", "cast", "year", "label", "node", "none"), (ROW,))


def test_json_is_the_sparql_json_document() -> None:
    """rdflib writes it; an ``xsd:string`` literal stays a simple literal, as Oxigraph's
    answers have it, so every engine's answer reads the same."""
    text = format_json(RESULT)
    assert text.endswith("}\n")
    assert json.loads(text) == {
        "head": {"vars": ["p", "title", "cast", "year", "label", "node", "none"]},
        "results": {
            "bindings": [
                {
                    "p": {"type": "uri", "value": "https://litkg.org/paper/x"},
                    "title": {"type": "literal", "value": str(ROW[1])},
                    "cast": {"type": "literal", "value": "typed"},
                    "year": {"type": "literal", "value": "2020", "datatype": str(XSD.gYear)},
                    "label": {"type": "literal", "value": "chat", "xml:lang": "fr"},
                    "node": {"type": "bnode", "value": "b0"},
                }
            ]
        },
    }
    back = Result.parse(io.StringIO(text), format="json")
    assert back.vars == [Variable(c) for c in RESULT.columns]
    (row,) = back.bindings
    assert row[Variable("title")] == ROW[1] and row[Variable("cast")] == Literal("typed")
    assert Variable("none") not in row


def test_json_ask_and_empty_results() -> None:
    assert json.loads(format_json(QueryResult("ask", (), (), boolean=False))) == {
        "head": {},
        "boolean": False,
    }
    empty = json.loads(format_json(QueryResult("select", ("a",), ())))
    assert empty == {"head": {"vars": ["a"]}, "results": {"bindings": []}}


def test_xml_stays_well_formed_whatever_the_text() -> None:
    """A control character XML 1.0 cannot hold (rdflib's writer passes it through, and
    no parser reads the document) becomes U+FFFD."""
    odd = QueryResult("select", ("t",), ((Literal("vertical\x0btab"),),))
    root = ET.fromstring(format_xml(odd))
    (literal,) = root.iter(f"{SRX}literal")
    assert literal.text == "vertical\ufffdtab"
    root = ET.fromstring(format_xml(RESULT))
    assert [v.get("name") for v in root.iter(f"{SRX}variable")] == list(RESULT.columns)
    bindings = {b.get("name"): b for b in root.iter(f"{SRX}binding")}
    assert set(bindings) == {"p", "title", "cast", "year", "label", "node"}
    assert bindings["cast"][0].get("datatype") is None
    assert bindings["year"][0].get("datatype") == str(XSD.gYear)


def test_csv_cells_are_the_terms_text() -> None:
    rows = list(csv.reader(io.StringIO(format_csv(RESULT))))
    assert rows[0] == list(RESULT.columns)
    assert rows[1] == [str(ROW[0]), str(ROW[1]), "typed", "2020", "chat", "_:b0", ""]
