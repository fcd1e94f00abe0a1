"""The corpus as RDF terms: papers, citations, topics, reading lists and imported
snapshots as triples, and a paper read back (:func:`paper_from_graph`).

The build (:mod:`kg.rdf.sync`) takes the ``*_raw`` forms: triples as plain strings
(an IRI is a ``str``, a literal a ``(lexical, datatype IRI or None)`` tuple), because
creating millions of rdflib terms costs more than the store's own bulk load. The
``*_to_triples`` functions give rdflib terms for everyone else.

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
* No blank nodes anywhere: every node is an IRI, so a SPARQL server holds the same
  graph (:func:`from_rdflib` refuses blank nodes and malformed IRIs).
"""

from __future__ import annotations

import functools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.graph import ConjunctiveGraph
from rdflib.term import Node

from kg.core.errors import GraphStoreError, NotInGraphError
from kg.core.model import Author, Citation, Paper, Topic, TopicMembership, is_s2_paper_id
from kg.rdf.vocab import (
    BASE,
    BIBO,
    CITO,
    DCTERMS,
    FABIO,
    FOAF,
    LITKG,
    OWL,
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
from kg.store.corpus import DUPLICATE, OFFLINE, RESOLVED, SeedRow, SnapshotImport

Triple = tuple[Node, Node, Node]

# --------------------------------------------------------------------------- constants
G_S2_PAPERS = graph_iri("s2", "papers")
G_S2_CITATIONS = graph_iri("s2", "citations")
G_LOCAL_PAPERS = graph_iri("local", "papers")
G_META = graph_iri("meta")
BUILD_IRI = URIRef(BASE + "build")
S2_API_IRI = URIRef("https://api.semanticscholar.org/graph/v1")


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

XSD_STRING = str(XSD.string)
_INTEGER, _BOOLEAN, _DOUBLE = str(XSD.integer), str(XSD.boolean), str(XSD.double)
_GYEAR, _XDATE, _ANYURI, DATETIME = (
    str(XSD.gYear),
    str(XSD.date),
    str(XSD.anyURI),
    str(XSD.dateTime),
)
RDF_TYPE = str(RDF.type)


class P:
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


def integer_literal(n: int) -> Lit:
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


def paper_raw(paper: Paper) -> list[Raw]:
    p = _paper_str(paper.paper_id)
    out: list[Raw] = [(p, RDF_TYPE, P.work), (p, RDF_TYPE, P.article)]
    add = out.append
    for kind in dict.fromkeys(paper.publication_types):
        cls = _TYPE_CLASSES.get(kind)
        if cls is not None:
            add((p, RDF_TYPE, cls))
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
            add((p, pred, integer_literal(count)))
    if paper.is_open_access is not None:
        add((p, P.oa, _b(paper.is_open_access)))
    for n, author in enumerate(paper.authors, 1):
        person = str(author_iri(author.name, author.author_id or None))
        slot = f"{p}/authorship/{n}"
        name = (author.name, None)
        add((p, P.creator, person))
        add((p, P.authorship, slot))
        add((slot, RDF_TYPE, P.authorship_cls))
        add((slot, P.position, integer_literal(n)))
        add((slot, P.author, person))
        add((slot, P.credited, name))
        add((person, RDF_TYPE, P.person))
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
            add((node, RDF_TYPE, P.ext_cls))
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


def from_rdflib(triples: Iterable[Triple]) -> list[Raw]:
    out: list[Raw] = []
    for s, p, o in triples:
        if isinstance(o, Literal):
            if o.language:
                raise GraphStoreError(f"language-tagged literals are not stored ({o!r})")
            dt = str(o.datatype) if o.datatype is not None else None
            out.append((_check_iri(s), _check_iri(p), (str(o), None if dt == XSD_STRING else dt)))
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
    return _to_rdflib(paper_raw(paper))


def _quote(text: str) -> str:
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
def citation_raw(citation: Citation) -> list[Raw]:
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
    out += [(node, RDF_TYPE, P.citation), (node, P.citing, a), (node, P.cited, b)]
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
    return _to_rdflib(citation_raw(citation))


def topic_raw(topic: Topic, topics: Mapping[str, Topic] | None = None) -> list[Raw]:
    t = str(topic_iri(topic.scheme, topic.topic_id))
    scheme = str(scheme_iri(topic.scheme))
    out: list[Raw] = [
        (t, RDF_TYPE, P.concept),
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
    return _to_rdflib(topic_raw(topic, topics))


def scheme_raw(scheme: str) -> list[Raw]:
    s = str(scheme_iri(scheme))
    return [
        (s, RDF_TYPE, P.scheme),
        (s, P.pref_label, (scheme, None)),
        (s, P.title, (f"litkg topics: {scheme}", None)),
    ]


def membership_raw(membership: TopicMembership, topic: Topic) -> list[Raw]:
    p = _paper_str(membership.paper_id)
    t = str(topic_iri(topic.scheme, topic.topic_id))
    node = str(membership_iri(topic.scheme, topic.topic_id, membership.paper_id))
    out: list[Raw] = [
        (node, RDF_TYPE, P.membership),
        (node, P.member, p),
        (node, P.topic, t),
        (node, P.score, _d(membership.score)),
    ]
    if membership.score >= SUBJECT_MIN_SCORE:
        out.append((p, P.subject, t))
    return out


def membership_to_triples(membership: TopicMembership, topic: Topic) -> list[Triple]:
    """A scored ``litkg:TopicMembership`` node (plus ``dcterms:subject`` at score >= 0.5)."""
    return _to_rdflib(membership_raw(membership, topic))


def reading_list_raw(source: str, rows: Sequence[SeedRow]) -> list[Raw]:
    lst = str(list_iri(source))
    out: list[Raw] = [
        (lst, RDF_TYPE, P.reading_list),
        (lst, P.source_name, (source, None)),
        (lst, P.title, (source, None)),
    ]
    for row in rows:
        entry = f"{lst}/entry/{row.position}"
        out += [
            (lst, P.listing, entry),
            (entry, RDF_TYPE, P.listing_cls),
            (entry, P.list_pos, integer_literal(row.position)),
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


def snapshot_raw(imp: SnapshotImport) -> list[Raw]:
    """An imported snapshot in PROV-O: the snapshot, its sources, the import."""
    m = imp.manifest
    snap = snapshot_iri(imp.snapshot_id)
    act = f"{snap}/import"
    prov = PROV
    what = f"reading list {m['list']}" if m.get("list") else "whole corpus"
    out: list[Raw] = [
        (snap, RDF_TYPE, str(LITKG.Snapshot)),
        (snap, RDF_TYPE, str(prov.Entity)),
        (snap, P.title, (f"litkg snapshot ({what})", None)),
        (snap, str(LITKG.sha256), (imp.snapshot_id, None)),
        (act, RDF_TYPE, str(prov.Activity)),
        (act, str(prov.used), snap),
    ]
    if isinstance(m.get("format_version"), int):
        out.append((snap, str(LITKG.snapshotFormat), integer_literal(m["format_version"])))
    if m.get("litkg_version"):
        out.append((snap, str(LITKG.litkgVersion), (str(m["litkg_version"]), None)))
    created = iso_or_none(m.get("created_at") if isinstance(m.get("created_at"), str) else None)
    if created:
        out.append((snap, str(prov.generatedAtTime), (created, DATETIME)))
    if iso_or_none(imp.imported_at):
        out.append((act, str(prov.endedAtTime), (imp.imported_at, DATETIME)))
    if imp.origin:
        out.append((act, str(DCTERMS.source), (imp.origin, None)))
    for n, src in enumerate(m.get("sources") or []):
        if not isinstance(src, dict):
            continue
        node = f"{snap}/source/{n + 1}"
        out += [(node, RDF_TYPE, str(prov.Entity)), (snap, str(prov.wasDerivedFrom), node)]
        if src.get("name"):
            out.append((node, P.title, (f"{src['name']} ({src.get('kind')})", None)))
        if src.get("endpoint"):
            out.append((node, str(LITKG.endpoint), (str(src["endpoint"]), None)))
        if src.get("licence"):
            out.append((node, str(LITKG.licence), (str(src["licence"]), None)))
        if isinstance(src.get("rows"), int):
            out.append((node, str(LITKG.rowCount), integer_literal(src["rows"])))
        fetched = iso_or_none(
            src.get("fetched_at") if isinstance(src.get("fetched_at"), str) else None
        )
        if fetched:
            out.append((node, str(prov.generatedAtTime), (fetched, DATETIME)))
        if src.get("kind") in ("papers", "citations"):
            out.append((node, str(prov.wasDerivedFrom), str(S2_API_IRI)))
    for pid in imp.paper_ids:
        out.append((snap, str(prov.hadMember), str(paper_iri(pid))))
    return out


def reading_list_to_triples(source: str, rows: Sequence[SeedRow]) -> list[Triple]:
    """One seed source as a ``litkg:ReadingList`` with an entry per listed paper."""
    return _to_rdflib(reading_list_raw(source, rows))


_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def iso_or_none(value: str | None) -> str | None:
    if not value:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return None
    return value


__all__ = [
    "BUILD_IRI",
    "DATETIME",
    "G_LOCAL_PAPERS",
    "G_META",
    "G_S2_CITATIONS",
    "G_S2_PAPERS",
    "ID_PROPERTIES",
    "INTENT_TO_CITO",
    "PUBLICATION_TYPE_CLASSES",
    "RDF_TYPE",
    "S2_API_IRI",
    "SUBJECT_MIN_SCORE",
    "XSD_STRING",
    "Lit",
    "P",
    "Raw",
    "Triple",
    "citation_raw",
    "citation_to_triples",
    "from_rdflib",
    "integer_literal",
    "iso_or_none",
    "membership_raw",
    "membership_to_triples",
    "paper_from_graph",
    "paper_raw",
    "paper_to_triples",
    "reading_list_raw",
    "reading_list_to_triples",
    "scheme_raw",
    "snapshot_graph",
    "snapshot_iri",
    "snapshot_raw",
    "source_graph",
    "topic_raw",
    "topic_to_triples",
    "topics_graph",
]
