"""The vocabulary: closed namespaces, stable and reversible resource IRIs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import URIRef

from kg.rdf.vocab import (
    BIBO,
    CITO,
    FABIO,
    LITKG,
    PREFIXES,
    SCHEMA,
    author_iri,
    citation_iri,
    graph_iri,
    list_iri,
    membership_iri,
    paper_id_from_iri,
    paper_iri,
    scheme_iri,
    source_from_list_iri,
    topic_iri,
)


def test_terms_are_iris_in_their_namespaces() -> None:
    assert LITKG.arxivId == URIRef("https://litkg.org/ns#arxivId")
    assert CITO.usesMethodIn == URIRef("http://purl.org/spar/cito/usesMethodIn")
    assert FABIO.ScholarlyWork == URIRef("http://purl.org/spar/fabio/ScholarlyWork")
    assert BIBO.doi == URIRef("http://purl.org/ontology/bibo/doi")
    assert SCHEMA.ScholarlyArticle == URIRef("https://schema.org/ScholarlyArticle")


def test_a_typo_in_a_term_raises_instead_of_minting_an_iri() -> None:
    with pytest.raises(AttributeError):
        _ = LITKG.arxivID
    with pytest.raises(AttributeError):
        _ = CITO.usesMethodsIn


def test_prefixes_cover_every_vocabulary() -> None:
    assert PREFIXES["litkg"] == "https://litkg.org/ns#"
    assert PREFIXES["fabio"] == "http://purl.org/spar/fabio/"
    assert PREFIXES["schema"] == "https://schema.org/"
    assert {"dcterms", "cito", "bibo", "skos", "prov", "foaf", "xsd"} <= set(PREFIXES)


def test_paper_iris() -> None:
    sid = "204e3073870fae3d05bcbc2f6a8e263d9b72e776"
    assert paper_iri(sid) == URIRef(f"https://litkg.org/paper/{sid}")
    assert paper_iri("local:ab12") == URIRef("https://litkg.org/paper/local%3Aab12")
    assert paper_id_from_iri(paper_iri("local:ab12")) == "local:ab12"
    with pytest.raises(ValueError, match="not a litkg paper IRI"):
        paper_id_from_iri("https://example.org/paper/x")


@given(st.text(min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_any_paper_id_round_trips_through_its_iri(pid: str) -> None:
    iri = paper_iri(pid)
    assert " " not in iri and "/" not in iri[len("https://litkg.org/paper/") :]
    assert paper_id_from_iri(iri) == pid


def test_author_iris_by_id_or_normalised_name() -> None:
    assert author_iri("Chris Olah", "2000001") == URIRef("https://litkg.org/author/2000001")
    by_name = author_iri("Chris  Olah")
    assert by_name == author_iri("chris olah")
    assert str(by_name).startswith("https://litkg.org/author/name-")
    assert by_name != author_iri("Chris Olahh")


def test_topic_iris_do_not_repeat_the_scheme() -> None:
    assert topic_iri("curated", "curated/papers/induction-heads") == URIRef(
        "https://litkg.org/topic/curated/papers/induction-heads"
    )
    assert topic_iri("discovered", "7") == URIRef("https://litkg.org/topic/discovered/7")
    assert scheme_iri("s2-fields") == URIRef("https://litkg.org/topic/s2-fields")
    assert str(membership_iri("discovered", "7", "local:x")).endswith("/discovered/7/local%3Ax")


def test_list_graph_and_citation_iris() -> None:
    source = "seeds/mechanistic interpretability.txt"
    assert source_from_list_iri(list_iri(source)) == source
    assert " " not in list_iri(source)
    assert graph_iri("source", source).startswith("https://litkg.org/graph/source/")
    assert citation_iri("a" * 40, "b" * 40) == URIRef(
        f"https://litkg.org/citation/{'a' * 40}/{'b' * 40}"
    )
