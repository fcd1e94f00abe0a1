"""litkg's RDF vocabulary and the IRIs of its resources.

Our own terms live in :class:`LITKG` (``https://litkg.org/ns#``); everything a
standard vocabulary already names uses that vocabulary:

=========  ===========================================  ===============================
prefix     namespace                                    used for
=========  ===========================================  ===============================
dcterms    ``http://purl.org/dc/terms/``                title, abstract, issued, creator,
                                                        subject, identifier
fabio      ``http://purl.org/spar/fabio/``              work types, publication year
cito       ``http://purl.org/spar/cito/``               citations and their intents
bibo       ``http://purl.org/ontology/bibo/``           DOI, PubMed id
skos       ``http://www.w3.org/2004/02/skos/core#``     topics and topic schemes
prov       ``http://www.w3.org/ns/prov#``               provenance of the named graphs
schema     ``https://schema.org/``                      ScholarlyArticle, url
foaf       ``http://xmlns.com/foaf/0.1/``               authors
litkg      ``https://litkg.org/ns#``                    everything else (below)
=========  ===========================================  ===============================

Resource IRIs (every node is an IRI: no blank nodes anywhere, so the embedded
store and a remote SPARQL server hold exactly the same graph):

* paper ``https://litkg.org/paper/<id>`` (the S2 id, or the url-quoted
  ``local:...`` id);
* author ``https://litkg.org/author/<S2 author id>``, or
  ``https://litkg.org/author/name-<hash of the normalised name>`` without one;
* topic ``https://litkg.org/topic/<scheme>/<slug>``, scheme
  ``https://litkg.org/topic/<scheme>``;
* citation ``https://litkg.org/citation/<citing>/<cited>``; topic membership
  ``https://litkg.org/membership/<scheme>/<slug>/<paper>``; authorship
  ``<paper>/authorship/<n>``; reading list ``https://litkg.org/list/<source>``
  and its entries ``<list>/entry/<position>``;
* named graphs ``https://litkg.org/graph/...`` (see :mod:`kg.rdf.mapping`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from urllib.parse import quote, unquote

from rdflib.namespace import (
    DCTERMS,
    FOAF,
    OWL,
    PROV,
    RDF,
    RDFS,
    SDO,
    SKOS,
    XSD,
    DefinedNamespace,
    Namespace,
)
from rdflib.term import URIRef

__all__ = [
    "BASE",
    "BIBO",
    "CITO",
    "DCTERMS",
    "FABIO",
    "FOAF",
    "LITKG",
    "OWL",
    "PREFIXES",
    "PROV",
    "RDF",
    "RDFS",
    "SCHEMA",
    "SKOS",
    "XSD",
    "author_iri",
    "citation_iri",
    "graph_iri",
    "list_iri",
    "membership_iri",
    "paper_id_from_iri",
    "paper_iri",
    "scheme_iri",
    "source_from_list_iri",
    "topic_iri",
]

BASE = "https://litkg.org/"

#: schema.org, under the name the rest of litkg uses.
SCHEMA = SDO


class LITKG(DefinedNamespace):
    """litkg's own terms. A typo (``LITKG.arxivID``) raises instead of minting a new IRI."""

    _NS = Namespace(BASE + "ns#")
    _fail = True

    # classes
    Authorship: URIRef  # a paper's n-th author slot (position, person, name as written)
    TopicMembership: URIRef  # a paper's scored membership in a skos:Concept
    ReadingList: URIRef  # a seed source (a wiki page, a BibTeX file): the papers it lists
    Listing: URIRef  # one entry of a reading list: position, section, match
    ExternalId: URIRef  # an identifier of a scheme without a dedicated property
    SourceGraph: URIRef  # one of litkg's named graphs (also a prov:Entity)
    Build: URIRef  # the record of the last RDF build
    Snapshot: URIRef  # a portable corpus snapshot imported into the corpus (a prov:Entity)

    # paper identifiers
    s2PaperId: URIRef
    arxivId: URIRef
    corpusId: URIRef
    dblpKey: URIRef
    magId: URIRef
    aclId: URIRef
    pmcId: URIRef
    externalId: URIRef  # paper -> ExternalId
    idScheme: URIRef
    idValue: URIRef

    # paper details
    venue: URIRef
    journal: URIRef
    citationCount: URIRef
    referenceCount: URIRef
    influentialCitationCount: URIRef
    isOpenAccess: URIRef
    openAccessPdf: URIRef
    tldr: URIRef
    resolved: URIRef  # false for works known only from a user's file
    tag: URIRef
    tags: URIRef  # paper -> rdf:Seq of tags, in order
    fieldOfStudy: URIRef
    fieldsOfStudy: URIRef  # paper -> rdf:Seq
    publicationType: URIRef
    publicationTypes: URIRef  # paper -> rdf:Seq

    # authors
    authorship: URIRef  # paper -> Authorship
    authorPosition: URIRef  # 1-based
    author: URIRef  # Authorship -> foaf:Person
    creditedAs: URIRef  # the name as written on this paper
    s2AuthorId: URIRef

    # citations
    isInfluential: URIRef
    intent: URIRef  # S2's raw intent string ("methodology", "background", "result")
    context: URIRef  # a citation context snippet

    # topics
    keyword: URIRef
    member: URIRef  # TopicMembership -> paper
    topic: URIRef  # TopicMembership -> skos:Concept
    membershipScore: URIRef

    # reading lists (seed sources)
    readingList: URIRef  # named graph -> the ReadingList it holds
    listedIn: URIRef  # paper -> ReadingList (direct edge, for queries)
    listing: URIRef  # ReadingList -> Listing
    listedPaper: URIRef  # Listing -> paper
    listedTitle: URIRef  # the title as written in the source
    position: URIRef
    sectionPath: URIRef  # "Section > Subsection"
    section: URIRef  # the deepest section heading
    matchScore: URIRef
    matchMethod: URIRef
    resolutionStatus: URIRef
    sourceName: URIRef

    # named graphs and builds
    endpoint: URIRef  # the S2 API endpoint (or source file) a graph's records came from
    contentHash: URIRef
    tripleCount: URIRef
    buildState: URIRef

    # portable snapshots (kg.portable)
    snapshotFormat: URIRef  # the snapshot's format_version
    litkgVersion: URIRef  # the litkg that wrote it
    sha256: URIRef  # sha256 of its manifest.json (the snapshot's id)
    licence: URIRef  # a source's licence, as the manifest states it
    rowCount: URIRef  # rows a source contributed


class FABIO(DefinedNamespace):
    """The FRBR-aligned Bibliographic Ontology (the terms litkg uses)."""

    _NS = Namespace("http://purl.org/spar/fabio/")
    _fail = True

    ScholarlyWork: URIRef
    JournalArticle: URIRef
    ConferencePaper: URIRef
    ReviewArticle: URIRef
    Book: URIRef
    BookChapter: URIRef
    Editorial: URIRef
    Letter: URIRef
    DataFile: URIRef
    CaseReport: URIRef
    ClinicalTrialReport: URIRef
    hasPublicationYear: URIRef


class CITO(DefinedNamespace):
    """The Citation Typing Ontology (the terms litkg uses)."""

    _NS = Namespace("http://purl.org/spar/cito/")
    _fail = True

    Citation: URIRef
    cites: URIRef
    hasCitingEntity: URIRef
    hasCitedEntity: URIRef
    hasCitationCharacterization: URIRef
    usesMethodIn: URIRef
    obtainsBackgroundFrom: URIRef
    usesConclusionsFrom: URIRef
    citesAsEvidence: URIRef


class BIBO(DefinedNamespace):
    """The Bibliographic Ontology (the terms litkg uses)."""

    _NS = Namespace("http://purl.org/ontology/bibo/")
    _fail = True

    doi: URIRef
    pmid: URIRef


#: Prefixes bound in every litkg dataset and available to every query without a PREFIX line.
PREFIXES: dict[str, str] = {
    "litkg": str(LITKG._NS),
    "dcterms": str(DCTERMS._NS),
    "fabio": str(FABIO._NS),
    "cito": str(CITO._NS),
    "bibo": str(BIBO._NS),
    "skos": str(SKOS._NS),
    "prov": str(PROV._NS),
    "schema": str(SDO._NS),
    "foaf": str(FOAF._NS),
    "rdf": str(RDF._NS),
    "rdfs": str(RDFS._NS),
    "xsd": str(XSD._NS),
    "owl": str(OWL._NS),
}


def _q(text: str, safe: str = "") -> str:
    if text.isascii() and text.isalnum():  # S2 ids and most author ids: nothing to quote
        return text
    return quote(text, safe=safe)


@lru_cache(maxsize=1 << 18)
def paper_iri(paper_id: str) -> URIRef:
    """``https://litkg.org/paper/<id>``; ids that are not plain S2 ids are url-quoted."""
    return URIRef(f"{BASE}paper/{_q(paper_id)}")


def paper_id_from_iri(iri: str) -> str:
    """The paper id back from :func:`paper_iri` (ValueError for any other IRI)."""
    prefix = f"{BASE}paper/"
    rest = str(iri)[len(prefix) :] if str(iri).startswith(prefix) else ""
    if not rest or "/" in rest:
        raise ValueError(f"{iri} is not a litkg paper IRI ({prefix}<id>)")
    return unquote(rest)


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def author_iri(name: str, author_id: str | None = None) -> URIRef:
    """By S2 author id when known, else by a hash of the normalised name."""
    if author_id:
        return URIRef(f"{BASE}author/{_q(author_id)}")
    digest = hashlib.sha1(_name_key(name).encode("utf-8", "replace")).hexdigest()[:16]
    return URIRef(f"{BASE}author/name-{digest}")


def _topic_path(scheme: str, topic_id: str) -> str:
    rest = topic_id[len(scheme) + 1 :] if topic_id.startswith(scheme + "/") else topic_id
    return f"{_q(scheme)}/{_q(rest, safe='/')}"


def scheme_iri(scheme: str) -> URIRef:
    return URIRef(f"{BASE}topic/{_q(scheme)}")


def topic_iri(scheme: str, topic_id: str) -> URIRef:
    """``topic/<scheme>/<slug>``; a topic id already prefixed by its scheme is not doubled."""
    return URIRef(f"{BASE}topic/{_topic_path(scheme, topic_id)}")


def membership_iri(scheme: str, topic_id: str, paper_id: str) -> URIRef:
    return URIRef(f"{BASE}membership/{_topic_path(scheme, topic_id)}/{_q(paper_id)}")


def citation_iri(citing: str, cited: str) -> URIRef:
    return URIRef(f"{BASE}citation/{_q(citing)}/{_q(cited)}")


def list_iri(source: str) -> URIRef:
    """The reading list of one seed source (a file name or path, as the corpus stores it)."""
    return URIRef(f"{BASE}list/{_q(source)}")


def source_from_list_iri(iri: str) -> str:
    prefix = f"{BASE}list/"
    if not str(iri).startswith(prefix):
        raise ValueError(f"{iri} is not a litkg reading-list IRI ({prefix}<source>)")
    return unquote(str(iri)[len(prefix) :].split("/", 1)[0])


_GRAPH_NAME = re.compile(r"^[A-Za-z0-9._~%/-]+$")


def graph_iri(*parts: str) -> URIRef:
    """``https://litkg.org/graph/<part>/<part>``; each part is url-quoted."""
    path = "/".join(_q(p) for p in parts)
    if not _GRAPH_NAME.match(path):
        raise ValueError(f"bad graph name {parts!r}")
    return URIRef(f"{BASE}graph/{path}")
