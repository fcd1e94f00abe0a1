"""The corpus as RDF: triples, named graphs with provenance, and the store behind them.

This is the one module that knows which triple store holds the graph. Everyone
else gets an ``rdflib.Dataset`` from :func:`open_graph` and queries it through
:mod:`kg.rdf.sparql`.

Stores
------
* **embedded** (default): Oxigraph, on disk at ``settings.rdf_path``, through
  ``oxrdflib``. Readers open it read-only, so ``litkg serve`` and ``litkg sparql``
  can run side by side; the build opens it read-write (one writer at a time).
* **remote**: any SPARQL 1.1 server when ``LITKG_SPARQL_QUERY_URL`` is set
  (updates go to ``LITKG_SPARQL_UPDATE_URL``), through rdflib's
  ``SPARQLUpdateStore`` with its traps worked around: every node is an IRI (no
  blank nodes, which cannot round-trip through a server), queries and updates
  are sent by us with a timeout and the server's own error message, and the
  union of litkg's named graphs is asked for with ``default-graph-uri`` /
  ``named-graph-uri`` (SPARQL 1.1 Protocol), so no server-specific
  "union default graph" switch is needed.
* **in memory** (:func:`memory_graph`): Oxigraph or rdflib's own store, for
  tests and benchmarks.

In all three, a query's default graph is the union of the named graphs.

Named graphs (one per source; each described with PROV-O in the meta graph)
---------------------------------------------------------------------------
=====================================  =============================================
``graph/s2/papers``                    papers resolved on Semantic Scholar
``graph/s2/citations``                 citation edges from S2's references/citations
``graph/local/papers``                 works known only from a user's file
``graph/source/<source>``              one reading list (seed page, BibTeX file)
``graph/topics/<scheme>``              one topic scheme and its memberships
``graph/snapshot/<id>``                one imported portable snapshot (``kg.portable.archive``):
                                       the snapshot (``litkg:Snapshot``, a
                                       ``prov:Entity``: creation time, format and
                                       litkg version, ``prov:hadMember`` per paper),
                                       its sources (licence, fetch time) and the
                                       import (a ``prov:Activity`` that ``prov:used`` it)
``graph/meta``                         ``prov:generatedAtTime`` (latest fetch time
                                       from the corpus store), ``prov:wasDerivedFrom``,
                                       ``litkg:endpoint``, content hash and triple
                                       count of every graph; the build state
=====================================  =============================================

Modelling choices
-----------------
* A paper is ``fabio:ScholarlyWork`` and ``schema:ScholarlyArticle``, plus a
  FaBiO class per S2 publication type where one exists (``JournalArticle`` ->
  ``fabio:JournalArticle``, ``Conference`` -> ``fabio:ConferencePaper``,
  ``Review`` -> ``fabio:ReviewArticle``, ... see :data:`PUBLICATION_TYPE_CLASSES`).
* ``fabio:hasPublicationYear`` (``xsd:gYear``) holds the year;
  ``dcterms:issued`` the publication date (``xsd:date``), or the year when
  there is no date.
* Authors: ``dcterms:creator`` -> ``foaf:Person`` for queries, and an ordered
  ``litkg:Authorship`` node per slot (``litkg:authorPosition``, the name as
  written, the S2 author id) so author order round-trips.
* Tags, fields of study and publication types: one direct triple per value
  (``litkg:tag`` ...) for queries, and a container node (``litkg:tags`` ->
  ``rdf:_1``, ``rdf:_2`` ...) that keeps their order and repeats.
* Paper ids: ``dcterms:identifier`` always, ``litkg:s2PaperId`` for S2 ids;
  DOI -> ``bibo:doi``, ArXiv -> ``litkg:arxivId``, CorpusId -> ``litkg:corpusId``
  (see :data:`ID_PROPERTIES`); any other id key -> a ``litkg:ExternalId`` node.
  Every :class:`Paper` field round-trips (:func:`paper_from_graph`).
* Citations: a direct ``cito:cites`` edge, a direct CiTO edge per mapped intent,
  and, when S2 says anything about the edge, a ``cito:Citation`` node
  (``cito:hasCitingEntity`` / ``cito:hasCitedEntity``) with the intents
  (``cito:hasCitationCharacterization`` and the raw ``litkg:intent``),
  ``litkg:isInfluential`` and the ``litkg:context`` snippets. S2 intents map to
  CiTO as in :data:`INTENT_TO_CITO`.
* Topics: ``skos:Concept`` in one ``skos:ConceptScheme`` per scheme,
  ``skos:broader``, ``skos:prefLabel``, ``skos:notation`` (the topic id),
  ``litkg:keyword``; a membership is a ``litkg:TopicMembership`` node with its
  score, plus a direct ``dcterms:subject`` when the score is at least 0.5.

Builds (:func:`build_rdf`) regenerate every graph from the corpus store as N-Quads
in :data:`SNAPSHOT_BUCKETS` buckets by subject (a paper's own nodes and its citation
nodes go with the paper), hash each bucket, and hash the bucket digests into the
graph's ``litkg:contentHash``. One graph at a time is encoded, streamed from the
corpus in chunks that spill to a file beside the store, so memory stays bounded (a
few hundred MB) whatever the corpus size. A graph whose hash is unchanged is left
alone. A changed graph is *patched* when possible: the previous build left a snapshot
of it (its bucket digests and compressed buckets, beside the store in
``<rdf>-snapshots``; in memory for in-memory stores), so only the buckets whose digest
changed are compared, and exactly the statements that went are deleted and those that
came are added (a statement several papers share, such as an author's name, lives in
one bucket, so it goes only when no paper states it any more). Oxigraph gets
``DELETE DATA`` and a load, a SPARQL server ``DELETE DATA`` / ``INSERT DATA`` chunks,
rdflib's store triple by triple. A graph is reloaded whole instead when its snapshot
is missing, unreadable or not the content the meta graph records, or when the change
exceeds :data:`PATCH_MAX_FRACTION` of the graph. Each graph is decided on its own: a
reloaded graph is dropped (in chunks) and loaded again while the others are patched or
left alone, and the embedded store is cleared (instantly) and everything loaded only
when most of it must be reloaded anyway (the cost model of :data:`DROP_COST`).
Oxigraph is bulk-loaded in pieces of :data:`_BULK_CHUNK_BYTES` (its loader keeps a
call's input in memory), then compacted (``optimize()``, which halves later lookup
times). A build marks itself in progress first and complete last, and makes its new
snapshots current only after that; a reader that finds a store half-written says so
and names ``litkg build --rebuild``, and the next build reloads everything. A reader
sees the store as it was when opened: restart ``litkg serve`` after a build to see it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import time
import weakref
import zlib
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, ConjunctiveGraph
from rdflib.plugins.stores.memory import Memory
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore
from rdflib.query import Result
from rdflib.store import Store
from rdflib.term import BNode, IdentifiedNode, Node

from kg.core.errors import (
    ConfigError,
    GraphStoreError,
    NotInGraphError,
    QueryTimeout,
    SparqlError,
)
from kg.core.model import Author, Citation, Paper, Topic, TopicMembership, is_s2_paper_id
from kg.core.settings import Settings
from kg.rdf.vocab import (
    BASE,
    BIBO,
    CITO,
    DCTERMS,
    FABIO,
    FOAF,
    LITKG,
    OWL,
    PREFIXES,
    PROV,
    RDF,
    SCHEMA,
    SKOS,
    XSD,
    author_iri,
    citation_iri,
    graph_iri,
    list_iri,
    membership_iri,
    paper_id_from_iri,
    paper_iri,
    scheme_iri,
    topic_iri,
)
from kg.store.corpus import DUPLICATE, OFFLINE, RESOLVED, CorpusStore, SeedRow, SnapshotImport

log = logging.getLogger(__name__)

Triple = tuple[Node, Node, Node]

# --------------------------------------------------------------------------- constants
G_S2_PAPERS = graph_iri("s2", "papers")
G_S2_CITATIONS = graph_iri("s2", "citations")
G_LOCAL_PAPERS = graph_iri("local", "papers")
G_META = graph_iri("meta")
BUILD_IRI = URIRef(BASE + "build")
S2_API_IRI = URIRef("https://api.semanticscholar.org/graph/v1")

#: The command that repairs a broken store (named in every error about one).
REBUILD_HINT = "litkg build --rebuild"


def source_graph(source: str) -> URIRef:
    """The named graph of one reading list (seed source)."""
    return graph_iri("source", source)


def topics_graph(scheme: str) -> URIRef:
    return graph_iri("topics", scheme)


#: S2 citation intents -> CiTO. ``methodology``: the citing paper uses the cited
#: one's method; ``background``: it draws background from it; ``result``: it
#: uses (compares with, builds on) its results or conclusions. Intents without a
#: fitting CiTO property are kept only as ``litkg:intent``.
INTENT_TO_CITO: dict[str, URIRef] = {
    "methodology": CITO.usesMethodIn,
    "background": CITO.obtainsBackgroundFrom,
    "result": CITO.usesConclusionsFrom,
}

#: S2 ``publicationTypes`` -> FaBiO classes (added to ``fabio:ScholarlyWork``).
PUBLICATION_TYPE_CLASSES: dict[str, URIRef] = {
    "JournalArticle": FABIO.JournalArticle,
    "Conference": FABIO.ConferencePaper,
    "Review": FABIO.ReviewArticle,
    "Book": FABIO.Book,
    "BookSection": FABIO.BookChapter,
    "Editorial": FABIO.Editorial,
    "LettersAndComments": FABIO.Letter,
    "Dataset": FABIO.DataFile,
    "CaseReport": FABIO.CaseReport,
    "ClinicalTrial": FABIO.ClinicalTrialReport,
}

#: ``Paper.external_ids`` keys with a dedicated property; others use a litkg:ExternalId node.
ID_PROPERTIES: dict[str, URIRef] = {
    "DOI": BIBO.doi,
    "ArXiv": LITKG.arxivId,
    "CorpusId": LITKG.corpusId,
    "PubMed": BIBO.pmid,
    "DBLP": LITKG.dblpKey,
    "MAG": LITKG.magId,
    "ACL": LITKG.aclId,
    "PubMedCentral": LITKG.pmcId,
}
_ID_KEYS = {v: k for k, v in ID_PROPERTIES.items()}

#: Memberships scoring at least this also get a direct ``dcterms:subject`` edge.
SUBJECT_MIN_SCORE = 0.5

#: Seed statuses whose paper counts as listed (``litkg:listedIn``).
_LISTED = frozenset({RESOLVED, OFFLINE, DUPLICATE})

_RDF_MEMBER_PREFIX = f"{RDF}_"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# --------------------------------------------------------------------------- raw triples
# The build emits triples as plain strings (an IRI is a ``str``, a literal a
# ``(lexical, datatype IRI or None)`` tuple): creating millions of rdflib terms
# costs more than the store's own bulk load. ``*_to_triples`` turn them into
# rdflib terms for everyone else.
Lit = tuple[str, str | None]
Raw = tuple[str, str, str | Lit]

_XSD_STRING = str(XSD.string)
_INTEGER, _BOOLEAN, _DOUBLE = str(XSD.integer), str(XSD.boolean), str(XSD.double)
_GYEAR, _XDATE, _ANYURI, _DATETIME = (
    str(XSD.gYear),
    str(XSD.date),
    str(XSD.anyURI),
    str(XSD.dateTime),
)
_TYPE = str(RDF.type)


class _P:
    """Predicate and class IRIs as plain strings (DefinedNamespace lookups are slow)."""

    abstract, creator, identifier = (
        str(DCTERMS.abstract),
        str(DCTERMS.creator),
        str(DCTERMS.identifier),
    )
    issued, subject, title = str(DCTERMS.issued), str(DCTERMS.subject), str(DCTERMS.title)
    year = str(FABIO.hasPublicationYear)
    work, article, person, name = (
        str(FABIO.ScholarlyWork),
        str(SCHEMA.ScholarlyArticle),
        str(FOAF.Person),
        str(FOAF.name),
    )
    url = str(SCHEMA.url)
    cites, citation = str(CITO.cites), str(CITO.Citation)
    citing, cited, characterization = (
        str(CITO.hasCitingEntity),
        str(CITO.hasCitedEntity),
        str(CITO.hasCitationCharacterization),
    )
    same_as = str(OWL.sameAs)
    concept, scheme, in_scheme = str(SKOS.Concept), str(SKOS.ConceptScheme), str(SKOS.inScheme)
    pref_label, notation, broader, narrower = (
        str(SKOS.prefLabel),
        str(SKOS.notation),
        str(SKOS.broader),
        str(SKOS.narrower),
    )
    top_of, has_top = str(SKOS.topConceptOf), str(SKOS.hasTopConcept)
    s2id, resolved, venue, journal, tldr = (
        str(LITKG.s2PaperId),
        str(LITKG.resolved),
        str(LITKG.venue),
        str(LITKG.journal),
        str(LITKG.tldr),
    )
    oa, oa_pdf = str(LITKG.isOpenAccess), str(LITKG.openAccessPdf)
    n_cit, n_ref, n_infl = (
        str(LITKG.citationCount),
        str(LITKG.referenceCount),
        str(LITKG.influentialCitationCount),
    )
    authorship, authorship_cls, position, author = (
        str(LITKG.authorship),
        str(LITKG.Authorship),
        str(LITKG.authorPosition),
        str(LITKG.author),
    )
    credited, s2author = str(LITKG.creditedAs), str(LITKG.s2AuthorId)
    ext, ext_cls, id_scheme, id_value = (
        str(LITKG.externalId),
        str(LITKG.ExternalId),
        str(LITKG.idScheme),
        str(LITKG.idValue),
    )
    types, type_, fields, field, tags, tag = (
        str(LITKG.publicationTypes),
        str(LITKG.publicationType),
        str(LITKG.fieldsOfStudy),
        str(LITKG.fieldOfStudy),
        str(LITKG.tags),
        str(LITKG.tag),
    )
    intent, influential, context = str(LITKG.intent), str(LITKG.isInfluential), str(LITKG.context)
    keyword, membership, member, topic, score = (
        str(LITKG.keyword),
        str(LITKG.TopicMembership),
        str(LITKG.member),
        str(LITKG.topic),
        str(LITKG.membershipScore),
    )
    reading_list, source_name, listing, listing_cls = (
        str(LITKG.ReadingList),
        str(LITKG.sourceName),
        str(LITKG.listing),
        str(LITKG.Listing),
    )
    list_pos, listed_title, status, section_path, section = (
        str(LITKG.position),
        str(LITKG.listedTitle),
        str(LITKG.resolutionStatus),
        str(LITKG.sectionPath),
        str(LITKG.section),
    )
    match_score, match_method, listed_paper, listed_in = (
        str(LITKG.matchScore),
        str(LITKG.matchMethod),
        str(LITKG.listedPaper),
        str(LITKG.listedIn),
    )


_TYPE_CLASSES = {k: str(v) for k, v in PUBLICATION_TYPE_CLASSES.items()}
_ID_PROPS = {k: str(v) for k, v in ID_PROPERTIES.items()}
_INTENTS = {k: str(v) for k, v in INTENT_TO_CITO.items()}


def _s(text: str) -> Lit:
    return (text, None)


def _i(n: int) -> Lit:
    return (str(int(n)), _INTEGER)


def _b(value: bool) -> Lit:
    return ("true" if value else "false", _BOOLEAN)


def _d(value: float) -> Lit:
    x = float(value)
    if math.isnan(x):
        return ("NaN", _DOUBLE)
    if math.isinf(x):
        return ("INF" if x > 0 else "-INF", _DOUBLE)
    return (repr(x), _DOUBLE)


def _gyear(year: int) -> Lit:
    return (f"{year:04d}" if year >= 0 else f"-{-year:04d}", _GYEAR)


def _date(text: str) -> Lit:
    if _DATE.match(text):
        try:
            date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return (text, _XDATE)
    return (text, None)


def _seq(out: list[Raw], p: str, link: str, direct: str, values: Sequence[str], name: str) -> None:
    """Values in order (an ``rdf:Seq``: ``rdf:_1``, ``rdf:_2`` ...) and one direct triple each."""
    if not values:
        return
    seq = f"{p}/{name}"
    out.append((p, link, seq))
    for i, value in enumerate(values, 1):
        out.append((seq, f"{_RDF_MEMBER_PREFIX}{i}", (value, None)))
    for value in dict.fromkeys(values):
        out.append((p, direct, (value, None)))


@functools.lru_cache(maxsize=1 << 18)
def _paper_str(paper_id: str) -> str:
    """``paper_iri`` as a string, cached: a build asks for the same papers many times."""
    return str(paper_iri(paper_id))


def _paper_raw(paper: Paper) -> list[Raw]:
    P = _P
    p = _paper_str(paper.paper_id)
    out: list[Raw] = [(p, _TYPE, P.work), (p, _TYPE, P.article)]
    add = out.append
    for kind in dict.fromkeys(paper.publication_types):
        cls = _TYPE_CLASSES.get(kind)
        if cls is not None:
            add((p, _TYPE, cls))
    add((p, P.identifier, (paper.paper_id, None)))
    if is_s2_paper_id(paper.paper_id):
        add((p, P.s2id, (paper.paper_id, None)))
    add((p, P.resolved, _b(paper.resolved)))
    add((p, P.title, (paper.title, None)))
    for pred, text in (
        (P.abstract, paper.abstract),
        (P.venue, paper.venue),
        (P.journal, paper.journal),
        (P.tldr, paper.tldr),
    ):
        if text is not None:
            add((p, pred, (text, None)))
    if paper.year is not None:
        add((p, P.year, _gyear(paper.year)))
    if paper.publication_date is not None:
        add((p, P.issued, _date(paper.publication_date)))
    elif paper.year is not None:
        add((p, P.issued, _gyear(paper.year)))
    if paper.url is not None:
        add((p, P.url, (paper.url, _ANYURI)))
    if paper.open_access_pdf is not None:
        add((p, P.oa_pdf, (paper.open_access_pdf, _ANYURI)))
    for pred, count in (
        (P.n_cit, paper.citation_count),
        (P.n_ref, paper.reference_count),
        (P.n_infl, paper.influential_citation_count),
    ):
        if count is not None:
            add((p, pred, _i(count)))
    if paper.is_open_access is not None:
        add((p, P.oa, _b(paper.is_open_access)))
    for n, author in enumerate(paper.authors, 1):
        person = str(author_iri(author.name, author.author_id or None))
        slot = f"{p}/authorship/{n}"
        name = (author.name, None)
        add((p, P.creator, person))
        add((p, P.authorship, slot))
        add((slot, _TYPE, P.authorship_cls))
        add((slot, P.position, _i(n)))
        add((slot, P.author, person))
        add((slot, P.credited, name))
        add((person, _TYPE, P.person))
        add((person, P.name, name))
        if author.author_id is not None:
            add((slot, P.s2author, (author.author_id, None)))
            if author.author_id:
                add((person, P.s2author, (author.author_id, None)))
    for key, value in paper.external_ids.items():
        id_pred = _ID_PROPS.get(key)
        if id_pred is not None:
            add((p, id_pred, (str(value), None)))
        else:
            node = f"{p}/id/{_quote(key)}"
            add((p, P.ext, node))
            add((node, _TYPE, P.ext_cls))
            add((node, P.id_scheme, (key, None)))
            add((node, P.id_value, (str(value), None)))
    _seq(out, p, P.types, P.type_, paper.publication_types, "types")
    _seq(out, p, P.fields, P.field, paper.fields_of_study, "fields")
    _seq(out, p, P.tags, P.tag, paper.tags, "tags")
    return out


def _to_rdflib(raws: Iterable[Raw]) -> list[Triple]:
    iris: dict[str, URIRef] = {}

    def iri(text: str) -> URIRef:
        u = iris.get(text)
        if u is None:
            u = iris[text] = URIRef(text)
        return u

    out: list[Triple] = []
    for s, p, o in raws:
        if isinstance(o, str):
            obj: Node = iri(o)
        else:
            obj = Literal(o[0], datatype=iri(o[1]) if o[1] else None)
        out.append((iri(s), iri(p), obj))
    return out


def _from_rdflib(triples: Iterable[Triple]) -> list[Raw]:
    out: list[Raw] = []
    for s, p, o in triples:
        if isinstance(o, Literal):
            if o.language:
                raise GraphStoreError(f"language-tagged literals are not stored ({o!r})")
            dt = str(o.datatype) if o.datatype is not None else None
            out.append((_check_iri(s), _check_iri(p), (str(o), None if dt == _XSD_STRING else dt)))
        else:
            out.append((_check_iri(s), _check_iri(p), _check_iri(o)))
    return out


def _check_iri(term: Node) -> str:
    if not isinstance(term, URIRef):
        raise GraphStoreError(f"blank nodes are not stored (got {term!r}); mint an IRI instead")
    if _BAD_IRI.search(term):
        raise GraphStoreError(f"cannot store the malformed IRI {term!r}")
    return str(term)


def paper_to_triples(paper: Paper) -> list[Triple]:
    """Every fact of ``paper`` as triples about ``paper_iri(paper.paper_id)``."""
    return _to_rdflib(_paper_raw(paper))


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _triples(graph: Graph, pattern: tuple[Any, Any, Any]) -> Iterator[Triple]:
    """Triples matching ``pattern`` in a graph, or in the union of a dataset's graphs."""
    if isinstance(graph, ConjunctiveGraph):
        # Dataset.triples() trips over its own deprecated default_context; the
        # store's triples(pattern, None) is the union in every store we use.
        for triple, _ in graph.store.triples(pattern, None):
            yield triple
    else:
        yield from graph.triples(pattern)


def _props(graph: Graph, subject: Node) -> dict[Node, list[Node]]:
    out: dict[Node, list[Node]] = defaultdict(list)
    for _, pred, obj in _triples(graph, (subject, None, None)):
        if obj not in out[pred]:
            out[pred].append(obj)
    return out


def _one(props: Mapping[Node, list[Node]], pred: Node) -> Node | None:
    values = props.get(pred)
    return values[0] if values else None


def _text(props: Mapping[Node, list[Node]], pred: Node) -> str | None:
    value = _one(props, pred)
    return None if value is None else str(value)


def _int(props: Mapping[Node, list[Node]], pred: Node) -> int | None:
    value = _one(props, pred)
    return None if value is None else int(str(value))


def _bool(props: Mapping[Node, list[Node]], pred: Node) -> bool | None:
    value = _one(props, pred)
    return None if value is None else str(value) in ("true", "1")


def _read_seq(graph: Graph, seq: Node | None) -> tuple[str, ...]:
    if seq is None:
        return ()
    items: list[tuple[int, str]] = []
    prefix = f"{RDF}_"
    for _, pred, obj in _triples(graph, (seq, None, None)):
        if str(pred).startswith(prefix) and str(pred)[len(prefix) :].isdigit():
            items.append((int(str(pred)[len(prefix) :]), str(obj)))
    return tuple(v for _, v in sorted(set(items)))


def paper_from_graph(graph: Graph, iri: str) -> Paper:
    """The :class:`Paper` that :func:`paper_to_triples` wrote (a Graph or a Dataset's union)."""
    p = URIRef(str(iri))
    props = _props(graph, p)
    if not props:
        raise NotInGraphError(f"{p} is not in the knowledge graph; is the paper in the corpus?")
    paper_id = _text(props, DCTERMS.identifier) or paper_id_from_iri(p)
    publication_date = None
    for issued in props.get(DCTERMS.issued, ()):
        if not (isinstance(issued, Literal) and issued.datatype == XSD.gYear):
            publication_date = str(issued)
    slots: list[tuple[int, Author]] = []
    for slot in props.get(LITKG.authorship, ()):
        sp = _props(graph, slot)
        position = _int(sp, LITKG.authorPosition)
        slots.append(
            (
                position if position is not None else 0,
                Author(
                    name=_text(sp, LITKG.creditedAs) or "", author_id=_text(sp, LITKG.s2AuthorId)
                ),
            )
        )
    slots.sort(key=lambda s: s[0])
    external_ids: dict[str, str] = {}
    for id_pred, key in _ID_KEYS.items():
        id_value = _text(props, id_pred)
        if id_value is not None:
            external_ids[key] = id_value
    for node in props.get(LITKG.externalId, ()):
        np_ = _props(graph, node)
        scheme, scheme_value = _text(np_, LITKG.idScheme), _text(np_, LITKG.idValue)
        if scheme is not None and scheme_value is not None:
            external_ids[scheme] = scheme_value
    return Paper(
        paper_id=paper_id,
        title=_text(props, DCTERMS.title) or "",
        abstract=_text(props, DCTERMS.abstract),
        year=_int(props, FABIO.hasPublicationYear),
        venue=_text(props, LITKG.venue),
        authors=tuple(a for _, a in slots),
        external_ids=external_ids,
        url=_text(props, SCHEMA.url),
        publication_date=publication_date,
        publication_types=_read_seq(graph, _one(props, LITKG.publicationTypes)),
        fields_of_study=_read_seq(graph, _one(props, LITKG.fieldsOfStudy)),
        citation_count=_int(props, LITKG.citationCount),
        reference_count=_int(props, LITKG.referenceCount),
        influential_citation_count=_int(props, LITKG.influentialCitationCount),
        is_open_access=_bool(props, LITKG.isOpenAccess),
        open_access_pdf=_text(props, LITKG.openAccessPdf),
        tldr=_text(props, LITKG.tldr),
        journal=_text(props, LITKG.journal),
        tags=_read_seq(graph, _one(props, LITKG.tags)),
        resolved=bool(_bool(props, LITKG.resolved)),
    )


# --------------------------------------------------------------------------- other triples
def _citation_raw(citation: Citation) -> list[Raw]:
    P = _P
    a, b = _paper_str(citation.citing), _paper_str(citation.cited)
    out: list[Raw] = [(a, P.cites, b)]
    intents = list(dict.fromkeys(citation.intents))
    for intent in intents:
        pred = _INTENTS.get(intent.lower())
        if pred is not None:
            out.append((a, pred, b))
    if not (intents or citation.contexts or citation.is_influential is not None):
        return out
    node = str(citation_iri(citation.citing, citation.cited))
    out += [(node, _TYPE, P.citation), (node, P.citing, a), (node, P.cited, b)]
    for intent in intents:
        out.append((node, P.intent, (intent, None)))
        pred = _INTENTS.get(intent.lower())
        if pred is not None:
            out.append((node, P.characterization, pred))
    if citation.is_influential is not None:
        out.append((node, P.influential, _b(citation.is_influential)))
    for context in dict.fromkeys(citation.contexts):
        out.append((node, P.context, (context, None)))
    return out


def citation_to_triples(citation: Citation) -> list[Triple]:
    """``cito:cites``, a CiTO edge per mapped intent, and a ``cito:Citation`` node when
    S2 said more about the edge (intents, contexts, the influence flag)."""
    return _to_rdflib(_citation_raw(citation))


def _topic_raw(topic: Topic, topics: Mapping[str, Topic] | None = None) -> list[Raw]:
    P = _P
    t = str(topic_iri(topic.scheme, topic.topic_id))
    scheme = str(scheme_iri(topic.scheme))
    out: list[Raw] = [
        (t, _TYPE, P.concept),
        (t, P.pref_label, (topic.label, None)),
        (t, P.notation, (topic.topic_id, None)),
        (t, P.in_scheme, scheme),
    ]
    if topic.broader:
        parent = (topics or {}).get(topic.broader)
        b = str(topic_iri(parent.scheme if parent else topic.scheme, topic.broader))
        out += [(t, P.broader, b), (b, P.narrower, t)]
    else:
        out += [(t, P.top_of, scheme), (scheme, P.has_top, t)]
    for keyword in dict.fromkeys(topic.keywords):
        out.append((t, P.keyword, (keyword, None)))
    return out


def topic_to_triples(topic: Topic, topics: Mapping[str, Topic] | None = None) -> list[Triple]:
    """A ``skos:Concept`` in its scheme; ``topics`` (by id) finds the broader topic's scheme."""
    return _to_rdflib(_topic_raw(topic, topics))


def _scheme_raw(scheme: str) -> list[Raw]:
    s = str(scheme_iri(scheme))
    return [
        (s, _TYPE, _P.scheme),
        (s, _P.pref_label, (scheme, None)),
        (s, _P.title, (f"litkg topics: {scheme}", None)),
    ]


def _membership_raw(membership: TopicMembership, topic: Topic) -> list[Raw]:
    P = _P
    p = _paper_str(membership.paper_id)
    t = str(topic_iri(topic.scheme, topic.topic_id))
    node = str(membership_iri(topic.scheme, topic.topic_id, membership.paper_id))
    out: list[Raw] = [
        (node, _TYPE, P.membership),
        (node, P.member, p),
        (node, P.topic, t),
        (node, P.score, _d(membership.score)),
    ]
    if membership.score >= SUBJECT_MIN_SCORE:
        out.append((p, P.subject, t))
    return out


def membership_to_triples(membership: TopicMembership, topic: Topic) -> list[Triple]:
    """A scored ``litkg:TopicMembership`` node (plus ``dcterms:subject`` at score >= 0.5)."""
    return _to_rdflib(_membership_raw(membership, topic))


def _reading_list_raw(source: str, rows: Sequence[SeedRow]) -> list[Raw]:
    P = _P
    lst = str(list_iri(source))
    out: list[Raw] = [
        (lst, _TYPE, P.reading_list),
        (lst, P.source_name, (source, None)),
        (lst, P.title, (source, None)),
    ]
    for row in rows:
        entry = f"{lst}/entry/{row.position}"
        out += [
            (lst, P.listing, entry),
            (entry, _TYPE, P.listing_cls),
            (entry, P.list_pos, _i(row.position)),
            (entry, P.listed_title, (row.title, None)),
            (entry, P.status, (row.status, None)),
        ]
        if row.section_path:
            out.append((entry, P.section_path, (" > ".join(row.section_path), None)))
            out.append((entry, P.section, (row.section_path[-1], None)))
        if row.match_score is not None:
            out.append((entry, P.match_score, _d(row.match_score)))
        if row.method:
            out.append((entry, P.match_method, (row.method, None)))
        if row.url:
            out.append((entry, P.url, (row.url, _ANYURI)))
        if row.paper_id and row.status in _LISTED:
            p = str(paper_iri(row.paper_id))
            out += [(entry, P.listed_paper, p), (p, P.listed_in, lst)]
    return out


def snapshot_graph(snapshot_id: str) -> URIRef:
    """The named graph describing one imported portable snapshot."""
    return graph_iri("snapshot", snapshot_id[:16])


def snapshot_iri(snapshot_id: str) -> str:
    return f"{BASE}snapshot/{snapshot_id[:16]}"


def _snapshot_raw(imp: SnapshotImport) -> list[Raw]:
    """An imported snapshot in PROV-O: the snapshot, its sources, the import."""
    m = imp.manifest
    snap = snapshot_iri(imp.snapshot_id)
    act = f"{snap}/import"
    prov = PROV
    what = f"reading list {m['list']}" if m.get("list") else "whole corpus"
    out: list[Raw] = [
        (snap, _TYPE, str(LITKG.Snapshot)),
        (snap, _TYPE, str(prov.Entity)),
        (snap, _P.title, (f"litkg snapshot ({what})", None)),
        (snap, str(LITKG.sha256), (imp.snapshot_id, None)),
        (act, _TYPE, str(prov.Activity)),
        (act, str(prov.used), snap),
    ]
    if isinstance(m.get("format_version"), int):
        out.append((snap, str(LITKG.snapshotFormat), _i(m["format_version"])))
    if m.get("litkg_version"):
        out.append((snap, str(LITKG.litkgVersion), (str(m["litkg_version"]), None)))
    created = _iso(m.get("created_at") if isinstance(m.get("created_at"), str) else None)
    if created:
        out.append((snap, str(prov.generatedAtTime), (created, _DATETIME)))
    if _iso(imp.imported_at):
        out.append((act, str(prov.endedAtTime), (imp.imported_at, _DATETIME)))
    if imp.origin:
        out.append((act, str(DCTERMS.source), (imp.origin, None)))
    for n, src in enumerate(m.get("sources") or []):
        if not isinstance(src, dict):
            continue
        node = f"{snap}/source/{n + 1}"
        out += [(node, _TYPE, str(prov.Entity)), (snap, str(prov.wasDerivedFrom), node)]
        if src.get("name"):
            out.append((node, _P.title, (f"{src['name']} ({src.get('kind')})", None)))
        if src.get("endpoint"):
            out.append((node, str(LITKG.endpoint), (str(src["endpoint"]), None)))
        if src.get("licence"):
            out.append((node, str(LITKG.licence), (str(src["licence"]), None)))
        if isinstance(src.get("rows"), int):
            out.append((node, str(LITKG.rowCount), _i(src["rows"])))
        fetched = _iso(src.get("fetched_at") if isinstance(src.get("fetched_at"), str) else None)
        if fetched:
            out.append((node, str(prov.generatedAtTime), (fetched, _DATETIME)))
        if src.get("kind") in ("papers", "citations"):
            out.append((node, str(prov.wasDerivedFrom), str(S2_API_IRI)))
    for pid in imp.paper_ids:
        out.append((snap, str(prov.hadMember), str(paper_iri(pid))))
    return out


def _snapshot_maker(imp: SnapshotImport) -> Callable[[], Iterable[Raw]]:
    return lambda: _snapshot_raw(imp)


def reading_list_to_triples(source: str, rows: Sequence[SeedRow]) -> list[Triple]:
    """One seed source as a ``litkg:ReadingList`` with an entry per listed paper."""
    return _to_rdflib(_reading_list_raw(source, rows))


# --------------------------------------------------------------------------- N-Quads in buckets
_NT_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')

#: Each named graph's statements are split into this many buckets by subject (a
#: paper's own nodes and its citation nodes go with the paper). A bucket is the
#: unit of change detection: a rebuild re-reads and compares only the buckets whose
#: digest changed. The same statement always lands in the same bucket.
SNAPSHOT_BUCKETS = 1024

#: Statements the encoder holds as text before it moves them, bucket by bucket, to its
#: spill file (so a graph of any size is encoded in bounded memory).
_ENCODE_CHUNK = 200_000
#: A graph whose N-Quads exceed this many bytes waits for the store in a file, not in memory.
_SPILL_BYTES = 16 << 20
#: Oxigraph's bulk loader keeps what one call gives it in memory (up to a million quads
#: per thread, about 0.5 KB each): it is fed this many bytes of N-Quads per call.
_BULK_CHUNK_BYTES = 32 << 20

_PAPER_PREFIX = f"{BASE}paper/"
_CITATION_PREFIX = f"{BASE}citation/"


def _subject_root(subject: str) -> str:
    """The entity a subject belongs to: ``paper/<id>/authorship/1`` -> ``paper/<id>``, a
    citation node -> its citing paper; anything else is its own root."""
    if subject.startswith(_PAPER_PREFIX):
        end = subject.find("/", len(_PAPER_PREFIX))
        return subject if end < 0 else subject[:end]
    if subject.startswith(_CITATION_PREFIX):
        end = subject.find("/", len(_CITATION_PREFIX))
        if end > 0:
            return _PAPER_PREFIX + subject[len(_CITATION_PREFIX) : end]
    return subject


def _bucket_of(subject: str, buckets: int) -> int:
    return zlib.crc32(_subject_root(subject).encode("utf-8", "replace")) % buckets


class _Spool:
    """A private directory for one build's spill files (removed when the build ends)."""

    def __init__(self, parent: Path | None = None):
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix=".litkg-build-", dir=parent)
        self.dir = Path(self._tmp.name)
        self._n = 0

    def path(self, kind: str) -> Path:
        self._n += 1
        return self.dir / f"{self._n}.{kind}"

    def close(self) -> None:
        self._tmp.cleanup()


@dataclass
class _GraphData:
    """One named graph's content as N-Quads, in buckets: bucket i's statements (one per
    line, each ending in `` <graph> .\\n``) are ``block(i)``, its SHA-256 ``digests[i]``
    (empty for an empty bucket). The blocks are in memory (``blocks``) or, for a big
    graph, one after the other in the file ``path``."""

    iri: URIRef
    digests: list[bytes]
    sizes: list[int]
    count: int
    blocks: list[bytes] | None = None
    path: Path | None = None

    @property
    def digest(self) -> str:
        """The graph's content hash: SHA-256 over its bucket digests."""
        return hashlib.sha256(b"".join(self.digests)).hexdigest()

    @property
    def nbytes(self) -> int:
        return sum(self.sizes)

    def block(self, i: int) -> bytes:
        if self.blocks is not None:
            return self.blocks[i]
        if not self.sizes[i] or self.path is None:
            return b""
        with self.path.open("rb") as fh:
            fh.seek(sum(self.sizes[:i]))
            return fh.read(self.sizes[i])

    def chunks(self, limit: int | None = None) -> Iterator[bytes]:
        """The N-Quads in pieces of whole buckets, each :data:`_BULK_CHUNK_BYTES` (or
        ``limit``) at most unless one bucket is bigger."""
        limit = limit or _BULK_CHUNK_BYTES
        if self.blocks is not None:
            yield from _gather(iter(self.blocks), limit)
        elif self.path is not None:
            with self.path.open("rb") as fh:
                yield from _gather((fh.read(n) for n in self.sizes), limit)

    def close(self) -> None:
        """Forget the statements (digests and counts stay)."""
        self.blocks = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def _gather(blocks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    parts: list[bytes] = []
    size = 0
    for block in blocks:
        if not block:
            continue
        if parts and size + len(block) > limit:
            yield b"".join(parts)
            parts, size = [], 0
        parts.append(block)
        size += len(block)
    if parts:
        yield b"".join(parts)


def _finish_bucket(raw: bytes, dedupe: bool, sort: bool) -> tuple[bytes, int]:
    """A bucket's lines, duplicates dropped (first occurrence kept) and sorted if asked."""
    if not raw:
        return b"", 0
    if not (dedupe or sort):
        return raw, raw.count(b"\n")
    lines = raw.split(b"\n")
    lines.pop()  # after the last newline
    if dedupe and len(lines) > 1:
        lines = list(dict.fromkeys(lines))
    if sort:
        lines.sort()
    lines.append(b"")
    return b"\n".join(lines), len(lines) - 1


def _encode(
    iri: URIRef,
    raws: Iterable[Raw],
    *,
    buckets: int = SNAPSHOT_BUCKETS,
    dedupe: bool = True,
    sort: bool = False,
    spool: _Spool | None = None,
) -> _GraphData:
    """Raw triples as N-Quads lines of graph ``iri``, bucketed by subject; duplicates
    dropped (``dedupe``; pass False only where the source cannot repeat a statement)
    and each bucket sorted (``sort``, for sources whose order is not stable).

    ``raws`` is read once, as it comes: with a ``spool``, every :data:`_ENCODE_CHUNK`
    statements go to a spill file bucket by bucket, and a graph bigger than
    :data:`_SPILL_BYTES` ends in a file too, so memory stays bounded whatever the size.
    """
    end = f" <{iri}> .\n"
    parts: list[list[str]] = [[] for _ in range(buckets)]
    where: dict[str, list[str]] = {}
    escape = _NT_ESCAPE
    spill: Any = None  # the spill file, once the first chunk is written
    segments: list[list[tuple[int, int]]] = [[] for _ in range(buckets)]
    pending = 0

    def flush() -> None:
        offset = spill.tell()
        for b, lines in enumerate(parts):
            if lines:
                data = "".join(lines).encode("utf-8", "replace")
                spill.write(data)
                segments[b].append((offset, len(data)))
                offset += len(data)
                lines.clear()
        where.clear()

    try:
        for s, p, o in raws:
            target = where.get(s)
            if target is None:
                target = where[s] = parts[_bucket_of(s, buckets)]
            if isinstance(o, str):
                target.append(f"<{s}> <{p}> <{o}>{end}")
            else:
                lexical, dt = o
                # most literals need no escaping, and looking is much cheaper than translate()
                if "\\" in lexical or '"' in lexical or "\n" in lexical or "\r" in lexical:
                    lexical = lexical.translate(escape)
                if dt:
                    target.append(f'<{s}> <{p}> "{lexical}"^^<{dt}>{end}')
                else:
                    target.append(f'<{s}> <{p}> "{lexical}"{end}')
            pending += 1
            if pending >= _ENCODE_CHUNK and spool is not None:
                if spill is None:
                    spill = spool.path("spill").open("w+b")
                flush()
                pending = 0
        raw_blocks: Iterator[bytes]
        if spill is None:
            raw_blocks = ("".join(lines).encode("utf-8", "replace") for lines in parts)
        else:
            flush()
            raw_blocks = (_read_segments(spill, seg) for seg in segments)
        data = _GraphData(iri, [], [], 0, blocks=[])
        out: Any = None
        total = 0
        for b, raw in enumerate(raw_blocks):
            parts[b] = []
            block, n = _finish_bucket(raw, dedupe, sort)
            data.count += n
            data.sizes.append(len(block))
            total += len(block)
            data.digests.append(hashlib.sha256(block).digest() if block else b"")
            if out is not None:
                out.write(block)
                continue
            assert data.blocks is not None
            data.blocks.append(block)
            if spool is not None and (spill is not None or total > _SPILL_BYTES):
                data.path = spool.path("nq")
                out = data.path.open("wb")
                out.write(b"".join(data.blocks))
                data.blocks = None
        if out is not None:
            out.close()
        return data
    finally:
        if spill is not None:
            spill.close()
            Path(spill.name).unlink(missing_ok=True)


def _read_segments(fh: Any, segments: Sequence[tuple[int, int]]) -> bytes:
    out: list[bytes] = []
    for offset, size in segments:
        fh.seek(offset)
        out.append(fh.read(size))
    return b"".join(out)


def _statements_of(nquads: bytes, graph: URIRef) -> list[str]:
    """N-Quads lines of one graph back as ``<s> <p> o`` (SPARQL INSERT/DELETE DATA)."""
    cut = len(f" <{graph}> .")
    return [line[:-cut] for line in nquads.decode("utf-8").split("\n") if line]


# --------------------------------------------------------------------------- stores
class _OxStore(OxigraphStore):
    """oxrdflib's store, holding an explicit pyoxigraph store (and letting it go on close)."""

    def __init__(self, store: ox.Store, *, location: str = "memory", read_only: bool = False):
        super().__init__(store=store)
        self.location = location
        self.read_only = read_only

    @property
    def _inner(self) -> ox.Store:
        if self._store is None:
            raise GraphStoreError(f"the RDF store {self.location} is closed")
        return self._store

    @property
    def ox(self) -> ox.Store:
        return self._inner

    def close(self, commit_pending_transaction: bool = False) -> None:
        self._store = None  # dropping the last reference closes RocksDB and frees the lock


_ACCEPT_RESULTS = "application/sparql-results+json, application/n-triples;q=0.9"


class _RemoteStore(SPARQLUpdateStore):
    """A SPARQL 1.1 server: rdflib's update store, with our own HTTP for reads and updates."""

    def __init__(self, query_url: str, update_url: str | None, timeout: float):
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
            from kg.rdf.sparql import bind_values

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


class _Dataset(Dataset):
    """rdflib's Dataset without its deprecation warnings for attributes rdflib itself uses.

    rdflib 7's SPARQL engine and ``Dataset.triples`` use ``default_context``,
    ``identifier`` and ``contexts()``, which the Dataset deprecates with a warning
    on every access.
    """

    @property
    def default_context(self) -> Graph:
        return self._default_context

    @default_context.setter
    def default_context(self, value: Graph) -> None:
        self._default_context = value

    @property
    def identifier(self) -> IdentifiedNode:
        return ConjunctiveGraph.identifier.fget(self)  # type: ignore[attr-defined]

    def contexts(self, triple: Any = None) -> Generator[Graph, None, None]:
        return self.graphs(triple)


def _dataset(store: Store) -> Dataset:
    ds = _Dataset(store=store, default_union=True)
    for prefix, namespace in PREFIXES.items():
        ds.bind(prefix, URIRef(namespace), override=True, replace=True)
    return ds


@dataclass
class QueryRows:
    """A query's answer as rdflib terms: ``kind`` select/ask/graph, ``columns``, and
    ``rows``, a generator to read in the thread that ran the query and then close."""

    kind: str
    columns: tuple[str, ...]
    rows: Generator[tuple[Node | None, ...], None, None]
    boolean: bool | None = None


def _no_rows() -> Generator[tuple[Node | None, ...]]:
    yield from ()


class _OxTerms:
    """pyoxigraph terms -> rdflib terms, caching the ones a result repeats."""

    def __init__(self) -> None:
        self.iris: dict[str, URIRef] = {}
        self.literals: dict[tuple[str, str, str | None], Literal] = {}

    def __call__(self, term: Any) -> Node | None:
        if term is None:
            return None
        if isinstance(term, ox.NamedNode):
            value = term.value
            iri = self.iris.get(value)
            if iri is None:
                iri = self.iris[value] = URIRef(value)
            return iri
        if isinstance(term, ox.Literal):
            key = (term.value, term.datatype.value, term.language)
            lit = self.literals.get(key)
            if lit is None:
                if term.language:
                    lit = Literal(term.value, lang=term.language)
                elif key[1] == _XSD_STRING:
                    lit = Literal(term.value)
                else:
                    lit = Literal(term.value, datatype=URIRef(key[1]))
                self.literals[key] = lit
            return lit
        if isinstance(term, ox.BlankNode):
            return BNode(term.value)
        return Literal(str(term))  # an RDF-star triple term: shown as text


def _ox_rows(solutions: ox.QuerySolutions, width: int) -> Generator[tuple[Node | None, ...]]:
    convert = _OxTerms()
    try:
        for solution in solutions:
            yield tuple(convert(solution[i]) for i in range(width))
    finally:
        del solutions  # pyoxigraph results must be dropped by the thread that made them


def _ox_triples(triples: ox.QueryTriples) -> Generator[tuple[Node | None, ...]]:
    convert = _OxTerms()
    try:
        for triple in triples:
            yield (convert(triple.subject), convert(triple.predicate), convert(triple.object))
    finally:
        del triples


def _rdflib_rows(result: Result) -> Generator[tuple[Node | None, ...]]:
    try:
        if result.type in ("CONSTRUCT", "DESCRIBE"):
            yield from (tuple(t) for t in (result.graph or Graph()))
        else:
            for row in result:
                yield tuple(row)  # type: ignore[arg-type]
    finally:
        del result


def query_rows(dataset: Dataset, query: str) -> QueryRows:
    """Run a (checked, read-only) query on whatever store holds ``dataset``.

    Oxigraph is asked directly (pyoxigraph), which streams solutions and converts
    terms faster than going through rdflib's Result; other stores go through
    ``dataset.query``. The predeclared prefixes of :data:`kg.rdf.vocab.PREFIXES` apply.
    """
    store = dataset.store
    if isinstance(store, OxigraphStore):
        answer = store._inner.query(query, use_default_graph_as_union=True, prefixes=PREFIXES)
        if isinstance(answer, ox.QueryBoolean):
            return QueryRows("ask", (), _no_rows(), bool(answer))
        if isinstance(answer, ox.QuerySolutions):
            columns = tuple(v.value for v in answer.variables)
            return QueryRows("select", columns, _ox_rows(answer, len(columns)))
        return QueryRows("graph", ("subject", "predicate", "object"), _ox_triples(answer))
    namespaces = {k: URIRef(v) for k, v in PREFIXES.items()}
    result = dataset.query(query, initNs=namespaces)
    if result.type == "ASK":
        return QueryRows("ask", (), _no_rows(), bool(result.askAnswer))
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        return QueryRows("graph", ("subject", "predicate", "object"), _rdflib_rows(result))
    columns = tuple(str(v) for v in (result.vars or ()))
    return QueryRows("select", columns, _rdflib_rows(result))


def select(dataset: Dataset, query: str) -> list[tuple[Node | None, ...]]:
    """All rows of a trusted internal query, read (and released) in the calling thread.

    pyoxigraph's results may only be freed by the thread that made them; a half-read
    rdflib ``Result`` keeps one alive in a reference cycle until some other thread's
    garbage collection trips over it. Library code queries through here or
    :func:`query_rows`, never ``dataset.query``.
    """
    answer = query_rows(dataset, query)
    with closing(answer.rows) as rows:
        return list(rows)


def memory_graph(engine: str = "oxigraph") -> Dataset:
    """An empty in-memory dataset: ``oxigraph`` (fast) or ``rdflib`` (pure Python)."""
    if engine == "oxigraph":
        return _dataset(_OxStore(ox.Store()))
    if engine == "rdflib":
        return _dataset(Memory())
    raise ConfigError(f"engine must be 'oxigraph' or 'rdflib', not {engine!r}")


def store_kind(dataset: Dataset) -> str:
    """``oxigraph``, ``remote`` or ``rdflib``: which engine answers this dataset's queries."""
    if isinstance(dataset.store, OxigraphStore):
        return "oxigraph"
    if isinstance(dataset.store, SPARQLUpdateStore):
        return "remote"
    return "rdflib"


def describe_store(dataset: Dataset) -> str:
    store = dataset.store
    if isinstance(store, _OxStore):
        return f"Oxigraph at {store.location}"
    if isinstance(store, _RemoteStore):
        return f"SPARQL server {store.query_url}"
    return f"{type(store).__name__} (in memory)"


def _looks_like_oxigraph(path: Path) -> bool:
    return (path / "CURRENT").exists() or (path / "IDENTITY").exists()


def _open_local(path: Path, *, writable: bool) -> ox.Store:
    if not writable:
        if not path.exists():
            raise GraphStoreError(
                f"No RDF store at {path}: run `litkg build` to create it "
                f"(or set LITKG_SPARQL_QUERY_URL to use a SPARQL server)."
            )
        if not _looks_like_oxigraph(path):
            raise GraphStoreError(
                f"{path} is not an Oxigraph store (no CURRENT file): it is half-written or "
                f"something else. Run `{REBUILD_HINT}` to rebuild it."
            )
    elif path.exists() and not path.is_dir():
        raise GraphStoreError(f"{path} is a file, not an RDF store directory; move it aside.")
    elif path.exists() and any(path.iterdir()) and not _looks_like_oxigraph(path):
        raise GraphStoreError(
            f"{path} exists but is not an Oxigraph store; move it aside, or run "
            f"`{REBUILD_HINT}` if it is a broken litkg store."
        )
    try:
        return ox.Store.read_only(str(path)) if not writable else ox.Store(str(path))
    except OSError as exc:
        message = str(exc)
        if "lock" in message.lower():
            raise GraphStoreError(
                f"The RDF store {path} is in use by another process (its LOCK is held): "
                f"stop the other litkg process (a running `litkg build`?) and try again."
            ) from None
        raise GraphStoreError(
            f"The RDF store {path} cannot be opened ({message.strip()[:300]}): it is corrupt "
            f"or half-written. Run `{REBUILD_HINT}` to rebuild it from the corpus."
        ) from None


def _wipe_local(path: Path) -> None:
    if not path.exists():
        return
    if not path.is_dir() or (any(path.iterdir()) and not _looks_like_oxigraph(path)):
        raise GraphStoreError(
            f"Refusing to delete {path}: it does not look like an Oxigraph store. Move it aside."
        )
    try:
        probe = ox.Store(str(path))
    except OSError as exc:
        if "lock" in str(exc).lower():
            raise GraphStoreError(
                f"The RDF store {path} is in use by another process (its LOCK is held): stop "
                f"it (a running `litkg serve` or `litkg build`?) before rebuilding."
            ) from None
    else:
        del probe
    shutil.rmtree(path)
    shutil.rmtree(_snapshot_dir(path), ignore_errors=True)


def open_graph(settings: Settings, *, writable: bool = False, rebuild: bool = False) -> Dataset:
    """The knowledge graph as an ``rdflib.Dataset`` whose default graph is the union.

    Embedded Oxigraph at ``settings.rdf_path`` unless ``settings.sparql_query_url``
    is set. Readers (``writable=False``) open the embedded store read-only and
    refuse a half-written one; ``rebuild=True`` deletes the embedded store (or
    drops litkg's graphs on the server) first. Close the dataset when done.
    """
    if settings.sparql_query_url:
        remote = _RemoteStore(
            settings.sparql_query_url, settings.sparql_update_url, settings.sparql_timeout
        )
        key = hashlib.sha256(remote.update_url.encode()).hexdigest()[:16]
        remote.snapshot_dir = _snapshot_dir(Path(settings.rdf_path)).with_name(
            f"rdf-remote-{key}-snapshots"
        )
        ds = _dataset(remote)
        if rebuild:
            for g in remote.graph_names():
                remote.update_text(f"DROP SILENT GRAPH <{g}>")
            shutil.rmtree(remote.snapshot_dir, ignore_errors=True)
        if not writable:
            check_complete(ds)
        return ds
    path = Path(settings.rdf_path)
    if rebuild:
        _wipe_local(path)
    if writable:
        path.mkdir(parents=True, exist_ok=True)
    store = _open_local(path, writable=writable)
    ds = _dataset(_OxStore(store, location=str(path), read_only=not writable))
    if not writable:
        try:
            check_complete(ds)
        except GraphStoreError:
            ds.close()
            raise
    return ds


def _build_state(dataset: Dataset) -> str | None:
    pattern = f"<{BUILD_IRI}> <{LITKG.buildState}> ?state"
    query = f"SELECT ?state WHERE {{ GRAPH <{G_META}> {{ {pattern} }} }}"
    for row in select(dataset, query):
        return str(row[0])
    return None


def check_complete(dataset: Dataset) -> None:
    """Raise :class:`GraphStoreError` when a build of this store was interrupted."""
    state = _build_state(dataset)
    if state is not None and state != "complete":
        raise GraphStoreError(
            f"The RDF store ({describe_store(dataset)}) is half-written: a build was interrupted "
            f"or is still running. Wait for a running build, or run `{REBUILD_HINT}`."
        )


# --------------------------------------------------------------------------- writers
class _Writer(Protocol):
    def add(self, graphs: Sequence[_GraphData]) -> None:
        """Add the statements of ``graphs`` (graphs that are empty or were just dropped)."""

    def patch(self, graph: URIRef, added: bytes, removed: bytes) -> None: ...

    def drop(self, graph: URIRef) -> None: ...

    def clear_all(self) -> bool: ...

    def finish(self) -> None: ...


def _split_lines(nquads: bytes, limit: int) -> Iterator[bytes]:
    """``nquads`` in pieces of whole lines, each about ``limit`` bytes at most."""
    start, size = 0, len(nquads)
    while start < size:
        end = size if size - start <= limit else nquads.rfind(b"\n", start, start + limit) + 1
        if end <= start:  # one line longer than ``limit``
            end = nquads.find(b"\n", start + limit) + 1 or size
        yield nquads[start:end]
        start = end


#: Patches adding more N-Quads than this go through Oxigraph's bulk loader.
_BULK_PATCH_BYTES = 32 << 20
#: Statements removed per update: one transaction holds them all in memory (Oxigraph's
#: ``remove_graph`` of a 1.3M-quad graph took 1.9 GiB and twice the time of chunks).
_DELETE_CHUNK = 50_000
_DELETE_CHUNK_BYTES = 8 << 20


class _OxWriter:
    def __init__(self, store: ox.Store, location: str):
        self.ox = store
        self.location = location
        self.bulk_loaded = False

    def _fail(self, exc: Exception) -> GraphStoreError:
        return GraphStoreError(
            f"Writing the RDF store {self.location} failed ({exc}). Check the disk, then run "
            f"`{REBUILD_HINT}`."
        )

    def _load(self, nquads: bytes) -> None:
        if len(nquads) > 1 << 20:
            self.ox.bulk_load(nquads, ox.RdfFormat.N_QUADS)
            self.bulk_loaded = True
        elif nquads:
            self.ox.load(nquads, ox.RdfFormat.N_QUADS)

    def add(self, graphs: Sequence[_GraphData]) -> None:
        """All the graphs' quads, in bulk loads of :data:`_BULK_CHUNK_BYTES` (small graphs
        share one): one call for everything would hold everything in memory (2.7M quads:
        1.6 GiB; in 300k-quad calls: 0.5 GiB, no slower)."""
        try:
            pieces = (chunk for g in graphs for chunk in g.chunks())
            for chunk in _gather(pieces, _BULK_CHUNK_BYTES):
                self._load(chunk)
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._fail(exc) from exc

    def patch(self, graph: URIRef, added: bytes, removed: bytes) -> None:
        """Remove, then add (an equal value written differently is removed and re-added)."""
        try:
            for piece in _split_lines(removed, _DELETE_CHUNK_BYTES):
                body = " .\n".join(_statements_of(piece, graph))
                self.ox.update(f"DELETE DATA {{ GRAPH <{graph}> {{\n{body} .\n}} }}")
            if len(added) > _BULK_PATCH_BYTES:
                for piece in _split_lines(added, _BULK_CHUNK_BYTES):
                    self._load(piece)
            elif added:
                self.ox.load(added, ox.RdfFormat.N_QUADS)
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._fail(exc) from exc

    def drop(self, graph: URIRef) -> None:
        """Remove a graph, :data:`_DELETE_CHUNK` quads per transaction."""
        name = ox.NamedNode(str(graph))
        try:
            if not self.ox.contains_named_graph(name):
                return
            first: ox.Quad | None = None
            while True:
                quads = list(
                    islice(self.ox.quads_for_pattern(None, None, None, name), _DELETE_CHUNK)
                )
                if not quads or quads[0] == first:
                    break  # nothing left, or a quad DELETE DATA cannot name: remove_graph does
                if any(isinstance(t, ox.BlankNode) for q in quads for t in (q.subject, q.object)):
                    break
                first = quads[0]
                body = ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES)
                assert body is not None
                self.ox.update(f"DELETE DATA {{ GRAPH <{graph}> {{\n{body.decode()}}} }}")
                if len(quads) < _DELETE_CHUNK:
                    break
            self.ox.remove_graph(name)
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._fail(exc) from exc

    def clear_all(self) -> bool:
        try:
            self.ox.clear()
        except OSError as exc:
            raise self._fail(exc) from exc
        return True

    def finish(self) -> None:
        try:
            self.ox.flush()
            if self.bulk_loaded:
                # The bulk loader leaves many overlapping files; compacting them once
                # halves the time of index lookups (measured: 526 -> 244 ms on a join).
                self.ox.optimize()
        except OSError as exc:
            raise self._fail(exc) from exc


class _RemoteWriter:
    chunk_lines = 5000

    def __init__(self, store: _RemoteStore):
        self.store = store

    def _send(self, verb: str, graph: URIRef, nquads: bytes) -> None:
        lines = _statements_of(nquads, graph)
        for i in range(0, len(lines), self.chunk_lines):
            chunk = " .\n".join(lines[i : i + self.chunk_lines])
            self.store.update_text(f"{verb} DATA {{ GRAPH <{graph}> {{\n{chunk} .\n}} }}")

    def add(self, graphs: Sequence[_GraphData]) -> None:
        for g in graphs:
            for chunk in g.chunks(4 << 20):
                self._send("INSERT", g.iri, chunk)

    def patch(self, graph: URIRef, added: bytes, removed: bytes) -> None:
        for piece in _split_lines(removed, 4 << 20):
            self._send("DELETE", graph, piece)
        for piece in _split_lines(added, 4 << 20):
            self._send("INSERT", graph, piece)

    def drop(self, graph: URIRef) -> None:
        self.store.update_text(f"DROP SILENT GRAPH <{graph}>")

    def clear_all(self) -> bool:
        return False  # a shared server may hold other data: only ever drop our own graphs

    def finish(self) -> None:
        pass


def _parsed_triples(nquads: bytes) -> list[Triple]:
    """N-Quads (litkg's own: IRIs and literals only) as rdflib triples."""
    convert = _OxTerms()
    out: list[Triple] = []
    for quad in ox.parse(nquads, ox.RdfFormat.N_QUADS):
        s, p, o = convert(quad.subject), convert(quad.predicate), convert(quad.object)
        assert s is not None and p is not None and o is not None
        out.append((s, p, o))
    return out


class _RdflibWriter:
    def __init__(self, dataset: Dataset):
        self.ds = dataset

    def add(self, graphs: Sequence[_GraphData]) -> None:
        for g in graphs:
            target = self.ds.graph(g.iri)
            for chunk in g.chunks():
                self.ds.addN((s, p, o, target) for s, p, o in _parsed_triples(chunk))

    def patch(self, graph: URIRef, added: bytes, removed: bytes) -> None:
        target = self.ds.graph(graph)
        for triple in _parsed_triples(removed):
            target.remove(triple)
        self.ds.addN((s, p, o, target) for s, p, o in _parsed_triples(added))

    def drop(self, graph: URIRef) -> None:
        self.ds.remove_graph(graph)

    def clear_all(self) -> bool:
        return False

    def finish(self) -> None:
        pass


def _writer(dataset: Dataset) -> _Writer:
    store = dataset.store
    if isinstance(store, _OxStore):
        if store.read_only:
            raise GraphStoreError(
                f"The RDF store {store.location} was opened read-only; open it with "
                f"open_graph(settings, writable=True) to build."
            )
        return _OxWriter(store.ox, store.location)
    if isinstance(store, OxigraphStore):
        return _OxWriter(store._inner, "memory")
    if isinstance(store, _RemoteStore):
        return _RemoteWriter(store)
    if isinstance(store, SPARQLUpdateStore):
        raise GraphStoreError("open remote stores with kg.rdf.open_graph(settings)")
    return _RdflibWriter(dataset)


# --------------------------------------------------------------------------- snapshots
# What each named graph held after the last build, so that the next build can patch
# a changed graph (remove the statements that went, add those that came) instead of
# reloading it. A snapshot is the graph's bucket digests and its buckets' N-Quads,
# each zlib-compressed; it is trusted only when its content hash is the one the meta
# graph records for that graph, so a snapshot that is missing, unreadable or out of
# step with the store only costs a full reload of that graph. A build stages the new
# snapshots as it goes and makes them current once the store is complete.
@dataclass
class _Snapshot:
    graph: str
    digest: str
    digests: list[bytes]
    blocks: list[bytes] | None = None  # zlib-compressed, b"" for an empty bucket; or
    path: Path | None = None  # read from this file, at these offsets
    offsets: list[int] | None = None

    def compressed(self, bucket: int) -> bytes:
        if self.blocks is not None:
            return self.blocks[bucket]
        assert self.path is not None and self.offsets is not None
        start, end = self.offsets[bucket], self.offsets[bucket + 1]
        if start == end:
            return b""
        with self.path.open("rb") as fh:
            fh.seek(start)
            block = fh.read(end - start)
        if len(block) != end - start:
            raise zlib.error(f"{self.path} is truncated")
        return block

    def lines(self, bucket: int) -> set[bytes]:
        """Bucket ``bucket``'s N-Quads lines (zlib.error if the snapshot is corrupt)."""
        block = self.compressed(bucket)
        out = set(zlib.decompress(block).split(b"\n")) if block else set()
        out.discard(b"")
        return out


def _compressed_blocks(data: _GraphData, old: _Snapshot | None) -> Iterator[bytes]:
    """``data``'s buckets compressed, reusing ``old``'s where the digest is unchanged."""
    same = old is not None and len(old.digests) == len(data.digests)
    for i, digest in enumerate(data.digests):
        if same and old is not None and old.digests[i] == digest:
            yield old.compressed(i)
        else:
            block = data.block(i)
            yield zlib.compress(block, 1) if block else b""


class _Snapshots(Protocol):
    def get(self, graph: str) -> _Snapshot | None: ...

    def stage(self, data: _GraphData, old: _Snapshot | None) -> None:
        """Write ``data``'s snapshot, to become current at :meth:`commit`."""

    def commit(self) -> None: ...

    def abort(self) -> None:
        """Forget what was staged (the build failed)."""

    def discard(self, graph: str) -> None: ...


class _MemorySnapshots:
    """Snapshots of an in-memory store, kept beside it for the life of the process."""

    def __init__(self) -> None:
        self.items: dict[str, _Snapshot] = {}
        self.staged: dict[str, _Snapshot] = {}

    def get(self, graph: str) -> _Snapshot | None:
        return self.items.get(graph)

    def stage(self, data: _GraphData, old: _Snapshot | None) -> None:
        blocks = list(_compressed_blocks(data, old))
        self.staged[str(data.iri)] = _Snapshot(
            str(data.iri), data.digest, list(data.digests), blocks
        )

    def commit(self) -> None:
        self.items.update(self.staged)
        self.staged.clear()

    def abort(self) -> None:
        self.staged.clear()

    def discard(self, graph: str) -> None:
        self.items.pop(graph, None)
        self.staged.pop(graph, None)


_SNAPSHOT_MAGIC = b"litkg-graph-snapshot 1\n"


class _DiskSnapshots:
    """Snapshots in a directory beside the store: one file per graph, a JSON header line
    (graph, content hash, each bucket's digest and compressed size) and the buckets.
    Buckets are read when needed, never the whole file at once."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.staged: list[str] = []

    def _path(self, graph: str) -> Path:
        return self.dir / f"{hashlib.sha256(graph.encode()).hexdigest()[:32]}.snapshot"

    def _staged_path(self, graph: str) -> Path:
        return self._path(graph).with_suffix(".staged")

    def _header(self, graph: str, fh: Any) -> dict[str, Any] | None:
        if fh.read(len(_SNAPSHOT_MAGIC)) != _SNAPSHOT_MAGIC:
            return None
        header = json.loads(fh.readline())
        if not isinstance(header, dict) or header.get("graph") != graph:
            return None
        return header

    def get(self, graph: str) -> _Snapshot | None:
        path = self._path(graph)
        try:
            with path.open("rb") as fh:
                header = self._header(graph, fh)
                if header is None:
                    return None
                offsets = [fh.tell()]
                digests: list[bytes] = []
                for digest, size in header["buckets"]:
                    digests.append(bytes.fromhex(digest))
                    offsets.append(offsets[-1] + int(size))
                if path.stat().st_size != offsets[-1]:
                    raise ValueError("the file is truncated")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # a string, not the exception: its traceback would keep the store open
            log.warning("ignoring the unreadable graph snapshot of %s (%s)", graph, str(exc))
            return None
        return _Snapshot(graph, str(header["hash"]), digests, path=path, offsets=offsets)

    def stage(self, data: _GraphData, old: _Snapshot | None) -> None:
        """Write the snapshot beside the current one (the buckets go to a scratch file
        first: the header that lists their sizes comes before them)."""
        graph = str(data.iri)
        staged = self._staged_path(graph)
        body = staged.with_suffix(".body")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            sizes: list[int] = []
            with body.open("w+b") as fh:
                for block in _compressed_blocks(data, old):
                    fh.write(block)
                    sizes.append(len(block))
                header = {
                    "graph": graph,
                    "hash": data.digest,
                    "buckets": [[d.hex(), n] for d, n in zip(data.digests, sizes, strict=True)],
                }
                with staged.open("wb") as out:
                    out.write(_SNAPSHOT_MAGIC)
                    out.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
                    fh.seek(0)
                    shutil.copyfileobj(fh, out, 1 << 20)
                    out.flush()
                    os.fsync(out.fileno())
            if graph not in self.staged:
                self.staged.append(graph)
        except (OSError, zlib.error) as exc:  # only the next build's speed depends on it
            log.warning("cannot write the graph snapshot in %s (%s)", self.dir, str(exc))
            staged.unlink(missing_ok=True)
        finally:
            body.unlink(missing_ok=True)

    def commit(self) -> None:
        for graph in self.staged:
            try:
                self._staged_path(graph).replace(self._path(graph))
            except OSError as exc:
                log.warning("cannot write the graph snapshot in %s (%s)", self.dir, str(exc))
        self.staged.clear()

    def abort(self) -> None:
        for graph in self.staged:
            self._staged_path(graph).unlink(missing_ok=True)
        self.staged.clear()

    def discard(self, graph: str) -> None:
        self._path(graph).unlink(missing_ok=True)
        self._staged_path(graph).unlink(missing_ok=True)


_MEMORY_SNAPSHOTS: weakref.WeakKeyDictionary[Store, _MemorySnapshots] = weakref.WeakKeyDictionary()


def _snapshot_dir(store_path: Path) -> Path:
    """Where the snapshots of the store at ``store_path`` live (beside it)."""
    return store_path.with_name(store_path.name + "-snapshots")


def _snapshots(dataset: Dataset) -> _Snapshots:
    store = dataset.store
    if isinstance(store, _OxStore) and store.location != "memory":
        return _DiskSnapshots(_snapshot_dir(Path(store.location)))
    if isinstance(store, _RemoteStore) and store.snapshot_dir is not None:
        return _DiskSnapshots(store.snapshot_dir)
    found = _MEMORY_SNAPSHOTS.get(store)
    if found is None:
        found = _MEMORY_SNAPSHOTS[store] = _MemorySnapshots()
    return found


#: A changed graph is patched when its snapshot is usable and the statements added
#: plus removed are at most this fraction of the graph; otherwise it is reloaded whole.
PATCH_MAX_FRACTION = 0.3


@dataclass
class _Patch:
    added: bytes
    removed: bytes
    n_added: int
    n_removed: int


def _diff(data: _GraphData, snapshot: _Snapshot | None, old_digest: str | None) -> _Patch | None:
    """The statements to add and remove to turn the snapshot's graph into ``data``, or
    None when the snapshot cannot be trusted or the change is too big to patch."""
    if (
        snapshot is None
        or old_digest is None
        or snapshot.digest != old_digest
        or len(snapshot.digests) != len(data.digests)
    ):
        return None
    changed = [i for i, d in enumerate(data.digests) if d != snapshot.digests[i]]
    limit = PATCH_MAX_FRACTION * max(data.count, 1)
    added: list[bytes] = []
    removed: list[bytes] = []
    for i in changed:
        try:
            old = snapshot.lines(i)
        except (OSError, zlib.error) as exc:
            log.warning("the graph snapshot of %s is corrupt (%s): reloading", data.iri, str(exc))
            return None
        new = set(data.block(i).split(b"\n"))
        new.discard(b"")
        removed += old - new
        added += new - old
        if len(added) + len(removed) > limit:
            return None
    return _Patch(
        b"".join(line + b"\n" for line in added),
        b"".join(line + b"\n" for line in removed),
        len(added),
        len(removed),
    )


# --------------------------------------------------------------------------- build
#: What a build did to one named graph.
UNCHANGED, PATCHED, RELOADED = "unchanged", "patched", "reloaded"


@dataclass(frozen=True)
class GraphStats:
    iri: str
    title: str
    triples: int
    changed: bool
    action: str = UNCHANGED  # UNCHANGED, PATCHED (``added``/``removed``) or RELOADED
    added: int = 0
    removed: int = 0

    def describe(self) -> str:
        if self.action == PATCHED:
            return f"patched +{self.added:,}/-{self.removed:,}"
        return self.action


@dataclass(frozen=True)
class BuildReport:
    graphs: tuple[GraphStats, ...]
    seconds: float
    full_reload: bool
    dropped: tuple[str, ...] = ()
    skipped_memberships: int = 0

    @property
    def triples(self) -> int:
        return sum(g.triples for g in self.graphs)

    @property
    def changed(self) -> tuple[GraphStats, ...]:
        return tuple(g for g in self.graphs if g.changed)

    def _count(self, action: str) -> int:
        return sum(1 for g in self.graphs if g.action == action)

    def lines(self) -> list[str]:
        out = [
            f"RDF: {self.triples:,} triples in {len(self.graphs)} named graphs; "
            f"{self._count(RELOADED)} reloaded{' (full reload)' if self.full_reload else ''}, "
            f"{self._count(PATCHED)} patched, {self._count(UNCHANGED)} unchanged, "
            f"in {self.seconds:.1f} s"
        ]
        out += [f"  {g.triples:>10,}  {g.iri}  ({g.describe()})" for g in self.graphs]
        if self.dropped:
            out.append(f"  dropped: {', '.join(self.dropped)}")
        if self.skipped_memberships:
            out.append(f"  {self.skipped_memberships} memberships named unknown topics (skipped)")
        return out


@dataclass
class _Spec:
    iri: URIRef
    title: str
    make: Callable[[], Iterable[Raw]]
    derived_from: tuple[URIRef, ...] = ()
    endpoints: tuple[str, ...] = ()
    generated_at: str | None = None
    sort: bool = False
    dedupe: bool = True
    digest: str = ""
    count: int = 0
    action: str = UNCHANGED
    patch: _Patch | None = None


#: The reload policy's cost model, in units of loading one triple. A graph that must be
#: reloaded is dropped (its old triples deleted, chunk by chunk) and loaded again; the
#: alternative, for the embedded store, is to clear everything (instant) and load every
#: graph, encoding again those that were left alone or patched. Measured at 21k papers:
#: deleting a triple costs about twice as much as bulk loading one (17-27 us vs 10-13 us
#: per quad), encoding one about a third. So a build clears everything only when most of
#: the store must be reloaded anyway (about 40 % of it, counting both costs).
DROP_COST = 2.0
ENCODE_COST = 0.3


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return None
    return value


def _latest(values: Iterable[str | None]) -> str | None:
    present = [v for v in (_iso(x) for x in values) if v]
    return max(present) if present else None


def _s2_endpoint(endpoint: str | None) -> str:
    return endpoint or "unknown"


def _reading_list_maker(source: str, rows: list[SeedRow]) -> Callable[[], Iterable[Raw]]:
    return lambda: _reading_list_raw(source, rows)


def _plan(
    store: CorpusStore,
    topics: Sequence[Topic],
    memberships: Sequence[TopicMembership],
) -> tuple[list[_Spec], int]:
    prov = store.provenance()
    by_kind: dict[str, list[tuple[str | None, int, str | None]]] = defaultdict(list)
    for kind, endpoint, count, latest in prov:
        by_kind[kind].append((endpoint, count, latest))

    # Makers are generators: the corpus is read as the statements are encoded.
    def papers(resolved: bool) -> Callable[[], Iterator[Raw]]:
        def make() -> Iterator[Raw]:
            for paper in store.papers():
                if paper.resolved == resolved:
                    yield from _paper_raw(paper)
            if resolved:
                for twin, canonical in sorted(store.same_as().items()):
                    yield (str(paper_iri(twin)), _P.same_as, str(paper_iri(canonical)))

        return make

    def citations() -> Iterator[Raw]:
        for c in store.citations():
            yield from _citation_raw(c)

    seeds: dict[str, list[SeedRow]] = defaultdict(list)
    for row in store.seeds():
        seeds[row.source].append(row)
    seed_times = {ep: latest for ep, _, latest in by_kind.get("seeds", ()) if ep}

    specs = [
        _Spec(
            G_S2_PAPERS,
            "Papers resolved on Semantic Scholar",
            papers(True),
            (S2_API_IRI,),
            tuple(_s2_endpoint(e) for e, _, _ in by_kind.get("papers", ())),
            _latest(t for _, _, t in by_kind.get("papers", ())),
        ),
        _Spec(
            G_S2_CITATIONS,
            "Citation edges from Semantic Scholar",
            citations,
            (S2_API_IRI,),
            tuple(_s2_endpoint(e) for e, _, _ in by_kind.get("citations", ())),
            _latest(t for _, _, t in by_kind.get("citations", ())),
            dedupe=False,  # one row per (citing, cited) in the store: no duplicates
        ),
    ]
    local = by_kind.get("local", ())
    if local:
        specs.append(
            _Spec(
                G_LOCAL_PAPERS,
                "Works known only from a user's file",
                papers(False),
                tuple(list_iri(e) for e, _, _ in local if e),
                tuple(e for e, _, _ in local if e),
                _latest(t for _, _, t in local),
            )
        )
    for source, rows in sorted(seeds.items()):
        specs.append(
            _Spec(
                source_graph(source),
                f"Reading list {source}",
                _reading_list_maker(source, rows),
                (list_iri(source),),
                (source,),
                seed_times.get(source),
            )
        )

    for imp in store.snapshot_imports():
        specs.append(
            _Spec(
                snapshot_graph(imp.snapshot_id),
                f"Portable snapshot {imp.snapshot_id[:12]}",
                _snapshot_maker(imp),
                (URIRef(snapshot_iri(imp.snapshot_id)),),
                (),
                imp.imported_at,
            )
        )

    by_id = {t.topic_id: t for t in topics}
    by_scheme: dict[str, list[Topic]] = defaultdict(list)
    for t in topics:
        by_scheme[t.scheme].append(t)
    members: dict[str, list[tuple[TopicMembership, Topic]]] = defaultdict(list)
    skipped = 0
    for m in memberships:
        topic = by_id.get(m.topic_id)
        if topic is None:
            skipped += 1
            continue
        members[topic.scheme].append((m, topic))
    curated_sources = tuple(list_iri(s) for s in sorted(seeds))
    for scheme, scheme_topics in sorted(by_scheme.items()):

        def make_topics(s: str = scheme, ts: list[Topic] = scheme_topics) -> Iterator[Raw]:
            yield from _scheme_raw(s)
            for t in ts:
                yield from _topic_raw(t, by_id)
            for m, t in members.get(s, ()):
                yield from _membership_raw(m, t)

        derived = curated_sources if scheme == "curated" else (G_S2_PAPERS,)
        specs.append(
            _Spec(topics_graph(scheme), f"Topic scheme {scheme}", make_topics, derived, sort=True)
        )
    return specs, skipped


def _read_meta(dataset: Dataset) -> dict[str, tuple[str, int, str | None]]:
    query = (
        f"SELECT ?g ?hash ?n ?time WHERE {{ GRAPH <{G_META}> {{ ?g <{LITKG.contentHash}> ?hash ; "
        f"<{LITKG.tripleCount}> ?n . OPTIONAL {{ ?g <{PROV.generatedAtTime}> ?time }} }} }}"
    )
    out: dict[str, tuple[str, int, str | None]] = {}
    for g, h, n, t in select(dataset, query):
        out[str(g)] = (str(h), int(str(n)), None if t is None else str(t))
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _meta_raw(specs: Sequence[_Spec], times: Mapping[str, str | None], state: str) -> list[Raw]:
    build = str(BUILD_IRI)
    out: list[Raw] = [
        (build, _TYPE, str(LITKG.Build)),
        (build, _TYPE, str(PROV.Activity)),
        (build, str(LITKG.buildState), (state, None)),
    ]
    if state != "complete":
        return out
    out.append((build, str(PROV.endedAtTime), (_now(), _DATETIME)))
    for spec in specs:
        g = str(spec.iri)
        out += [
            (g, _TYPE, str(LITKG.SourceGraph)),
            (g, _TYPE, str(PROV.Entity)),
            (g, _P.title, (spec.title, None)),
            (g, str(LITKG.contentHash), (spec.digest, None)),
            (g, str(LITKG.tripleCount), _i(spec.count)),
            (build, str(PROV.generated), g),
        ]
        when = times.get(g)
        if when:
            out.append((g, str(PROV.generatedAtTime), (when, _DATETIME)))
        for source in spec.derived_from:
            out.append((g, str(PROV.wasDerivedFrom), str(source)))
        for endpoint in dict.fromkeys(spec.endpoints):
            out.append((g, str(LITKG.endpoint), (endpoint, None)))
    return out


def build_rdf(
    store: CorpusStore,
    graph_store: Dataset,
    topics: Sequence[Topic] = (),
    memberships: Sequence[TopicMembership] = (),
    progress: bool = True,
    *,
    force: bool = False,
) -> BuildReport:
    """Fill ``graph_store`` from the corpus: bring every named graph up to date.

    A graph whose content hash is unchanged is left alone; a changed one is patched
    (only the statements that went are removed and those that came added) when its
    snapshot from the last build is usable and the change is small
    (:data:`PATCH_MAX_FRACTION`), else reloaded whole. Each graph is decided on its
    own: the embedded store is cleared and loaded whole only when that costs less than
    dropping and reloading the graphs that need it (:data:`DROP_COST`). Idempotent: a
    second run with the same corpus writes nothing. ``force`` reloads every graph.
    Graphs of sources no longer in the corpus are dropped.

    One graph at a time is encoded (streamed from the corpus, in bounded memory); a
    graph waiting to be reloaded waits in a file beside the store.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    writer = _writer(graph_store)
    snapshots = _snapshots(graph_store)
    old = _read_meta(graph_store)
    state = _build_state(graph_store)
    full = force or state not in (None, "complete")
    # Nothing (complete) to keep: each graph is loaded as soon as it is encoded.
    stream = full or state is None
    specs, skipped = _plan(store, topics, memberships)
    wanted = {str(s.iri) for s in specs}
    stale = sorted(g for g in old if g not in wanted and g != str(G_META))
    spool = _Spool(_spool_parent(graph_store))
    reload: list[_GraphData] = []
    cleared = False
    try:
        if stream:
            cleared = full and writer.clear_all()
            _write_meta(writer, specs, {}, "in-progress")
        bar = tqdm(specs, desc="RDF graphs", unit="graph", disable=not progress, leave=False)
        for spec in bar:
            bar.set_postfix_str(spec.iri.rsplit("/graph/", 1)[-1])
            data = _encode_spec(spec, spool)
            iri = str(spec.iri)
            snapshot = snapshots.get(iri)
            if stream:
                if not cleared:
                    writer.drop(spec.iri)
                writer.add([data])
                spec.action = RELOADED
            elif _old_digest(old, spec) != spec.digest:
                spec.patch = _diff(data, snapshot, _old_digest(old, spec))
                spec.action = RELOADED if spec.patch is None else PATCHED
            if snapshot is None or snapshot.digest != spec.digest:
                snapshots.stage(data, snapshot)
            if spec.action == RELOADED and not stream:
                reload.append(data)  # loaded once every graph is decided
            else:
                data.close()
        bar.close()
        if stream and not cleared:
            for g in stale:
                writer.drop(URIRef(g))
        patched = [s for s in specs if s.patch is not None]
        if not stream and (reload or patched or stale):
            if progress:
                print(
                    f"Loading {len(reload)} named graphs, patching {len(patched)} ...",
                    file=sys.stderr,
                )
            if _clear_all_pays(old, specs, stale) and writer.clear_all():
                cleared = True
                _write_meta(writer, specs, {}, "in-progress")
                writer.add(reload)
                for data in reload:
                    data.close()
                for spec in specs:
                    if spec.action != RELOADED:
                        _reload_again(spec, spool, writer, snapshots)
            else:
                _write_meta(writer, specs, {}, "in-progress")
                for data in reload:
                    writer.drop(data.iri)
                writer.add(reload)
                for data in reload:
                    data.close()
                for spec in patched:
                    assert spec.patch is not None
                    writer.patch(spec.iri, spec.patch.added, spec.patch.removed)
                    spec.patch.added = spec.patch.removed = b""
                for g in stale:
                    writer.drop(URIRef(g))
        if stream or reload or patched or stale:
            times = {
                str(s.iri): s.generated_at
                or (old.get(str(s.iri), ("", 0, None))[2] if s.action == UNCHANGED else None)
                or _now()
                for s in specs
            }
            _write_meta(writer, specs, times, "complete")
            writer.finish()
    except BaseException:
        snapshots.abort()
        raise
    finally:
        for data in reload:
            data.close()
        spool.close()
    # only now: a snapshot ahead of the store is never trusted
    snapshots.commit()
    for g in stale:
        snapshots.discard(g)
    return BuildReport(
        graphs=tuple(_stats(s) for s in specs),
        seconds=time.perf_counter() - started,
        full_reload=cleared or (full and bool(specs)),
        dropped=tuple(stale),
        skipped_memberships=skipped,
    )


def _encode_spec(spec: _Spec, spool: _Spool | None) -> _GraphData:
    data = _encode(spec.iri, spec.make(), dedupe=spec.dedupe, sort=spec.sort, spool=spool)
    spec.count, spec.digest = data.count, data.digest
    return data


def _reload_again(spec: _Spec, spool: _Spool, writer: _Writer, snapshots: _Snapshots) -> None:
    """Encode and load a graph that was left alone or patched (after a clear-all)."""
    digest = spec.digest
    data = _encode_spec(spec, spool)
    try:
        if spec.digest != digest:  # the corpus changed under the build
            snapshots.stage(data, snapshots.get(str(spec.iri)))
        writer.add([data])
    finally:
        data.close()
    spec.action, spec.patch = RELOADED, None


def _clear_all_pays(
    old: Mapping[str, tuple[str, int, str | None]], specs: Sequence[_Spec], stale: Sequence[str]
) -> bool:
    """Whether clearing the store and loading every graph costs less than dropping and
    reloading the graphs that need it (see :data:`DROP_COST`)."""
    dropped = sum(old.get(str(s.iri), ("", 0))[1] for s in specs if s.action == RELOADED)
    dropped += sum(old[g][1] for g in stale)
    loaded = sum(s.count for s in specs if s.action == RELOADED)
    others = sum(s.count for s in specs if s.action != RELOADED)
    per_graph = DROP_COST * dropped + loaded
    return per_graph > loaded + others * (1 + ENCODE_COST)


def _spool_parent(dataset: Dataset) -> Path | None:
    """Where a build's spill files go: beside the store when it is on disk."""
    store = dataset.store
    if isinstance(store, _OxStore) and store.location != "memory":
        return _snapshot_dir(Path(store.location))
    if isinstance(store, _RemoteStore) and store.snapshot_dir is not None:
        return store.snapshot_dir
    return None


def _old_digest(old: Mapping[str, tuple[str, int, str | None]], spec: _Spec) -> str | None:
    found = old.get(str(spec.iri))
    return None if found is None else found[0]


def _stats(spec: _Spec) -> GraphStats:
    iri = str(spec.iri)
    patch = spec.patch
    if spec.action == PATCHED and patch is not None:
        return GraphStats(
            iri, spec.title, spec.count, True, PATCHED, patch.n_added, patch.n_removed
        )
    if spec.action == RELOADED:
        return GraphStats(iri, spec.title, spec.count, True, RELOADED)
    return GraphStats(iri, spec.title, spec.count, False, UNCHANGED)


def _write_meta(
    writer: _Writer, specs: Sequence[_Spec], times: Mapping[str, str | None], state: str
) -> None:
    data = _encode(G_META, _meta_raw(specs, times, state), buckets=1)
    writer.drop(G_META)
    writer.add([data])


def load_triples(graph_store: Dataset, graph: str, triples: Iterable[Triple]) -> int:
    """Replace one named graph with ``triples`` (any store); returns the triple count."""
    writer = _writer(graph_store)
    data = _encode(URIRef(graph), _from_rdflib(triples), buckets=1)
    writer.drop(URIRef(graph))
    writer.add([data])
    writer.finish()
    _snapshots(graph_store).discard(graph)  # the next build must not patch from it
    return data.count


# --------------------------------------------------------------------------- export
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
        out = _dataset(Memory())
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
