"""A small corpus for the RDF/SPARQL tests: a dozen papers, citations, two seed lists, topics.

Facts the canned-query tests rely on:

* seed list ``mi-wiki.txt`` lists circuits, superposition and heads (sections
  ``Papers > Circuits`` ...), an unresolved title and a low-confidence match;
  ``lib.bib`` lists ``survey`` and a local-only paper.
* ``classic`` is cited by circuits, superposition and heads (3 listed papers) and
  is not listed: the one missing classic at min 3; ``older`` is cited by 2.
* ``new_a`` (2024) cites circuits, superposition, heads; ``new_b`` (2024) cites
  circuits and superposition; ``new_c`` (2024) cites circuits only; ``mid``
  (2020) cites circuits and heads.
* co-cited with circuits: superposition 2 (new_a, new_b), heads 2 (new_a, mid).
* paths: new_a -> circuits -> classic; nothing reaches new_a.

The patch tests edit this corpus with :func:`apply_edit` and compare a patched store
with a fresh build (:func:`all_quads`, :func:`fresh_quads`).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from rdflib import Dataset

from kg.core.model import Author, Citation, Paper, Topic, TopicMembership
from kg.rdf.mapping import G_META
from kg.rdf.stores import memory_graph, select
from kg.rdf.sync import build_rdf
from kg.rdf.vocab import PROV
from kg.store.corpus import (
    DETAIL_FULL,
    DETAIL_LOCAL,
    DETAIL_STUB,
    LOW_CONFIDENCE,
    OFFLINE,
    RESOLVED,
    UNRESOLVED,
    CorpusStore,
    SeedRow,
)


def sid(name: str) -> str:
    """A deterministic S2-like paper id."""
    return hashlib.sha1(name.encode()).hexdigest()


ID = {
    name: sid(name)
    for name in (
        "circuits",
        "superposition",
        "heads",
        "survey",
        "classic",
        "older",
        "new_a",
        "new_b",
        "new_c",
        "mid",
        "twin",
        "odd",
    )
}
LOCAL_ID = "local:mybib2023"
WIKI = "mi-wiki.txt"
BIB = "lib.bib"

PAPERS: list[Paper] = [
    Paper(
        ID["circuits"],
        "Zoom In: An Introduction to Circuits",
        abstract="Circuits in vision models.",
        year=2020,
        venue="Distill",
        authors=(Author("Chris Olah", "2000001"), Author("Nick Cammarata", "2000002")),
        external_ids={"DOI": "10.23915/distill.00024.001", "CorpusId": "215930358"},
        url="https://distill.pub/2020/circuits/zoom-in",
        publication_date="2020-03-10",
        publication_types=("JournalArticle",),
        fields_of_study=("Computer Science",),
        citation_count=500,
        reference_count=40,
        influential_citation_count=50,
        is_open_access=True,
        tags=("circuits", "vision"),
    ),
    Paper(
        ID["superposition"],
        "Toy Models of Superposition",
        year=2022,
        authors=(Author("Nelson Elhage"), Author("Chris Olah", "2000001")),
        external_ids={"ArXiv": "2209.10652"},
        fields_of_study=("Computer Science", "Mathematics"),
        citation_count=300,
    ),
    Paper(
        ID["heads"],
        "In-context Learning and Induction Heads",
        year=2022,
        authors=(Author("Catherine Olsson"),),
        external_ids={"ArXiv": "2209.11895"},
        publication_types=("Review", "JournalArticle"),
    ),
    Paper(ID["survey"], "Mechanistic Interpretability for AI Safety: A Review", year=2024),
    Paper(ID["classic"], "Attention Is All You Need", year=2017, venue="NeurIPS"),
    Paper(ID["older"], "Visualizing and Understanding CNNs", year=2014),
    Paper(ID["new_a"], "New A cites three seeds", year=2024),
    Paper(ID["new_b"], "New B cites two seeds", year=2024),
    Paper(ID["new_c"], "New C cites one seed", year=2024),
    Paper(ID["mid"], "Mid-period paper", year=2020),
    Paper(ID["twin"], "Zoom In (preprint twin)", year=2020),
    Paper(
        ID["odd"],
        'A "quoted" title\nwith a newline, a tab\t and \\ backslash',
        year=2021,
        external_ids={"DBLP": "journals/x/Odd21", "Wikidata": "Q42"},
        tldr="Odd but valid.",
        tags=("b", "a", "b"),
    ),
]
LOCAL_PAPER = Paper(LOCAL_ID, "My own unpublished note", year=2023, resolved=False, tags=("mine",))

CITATIONS: list[Citation] = [
    Citation(ID["circuits"], ID["classic"], intents=("background",)),
    Citation(ID["superposition"], ID["classic"], is_influential=False),
    Citation(ID["heads"], ID["classic"]),
    Citation(ID["circuits"], ID["older"]),
    Citation(ID["superposition"], ID["older"]),
    Citation(
        ID["new_a"],
        ID["circuits"],
        contexts=("we follow the circuits approach", "as in Olah et al."),
        intents=("methodology", "background"),
        is_influential=True,
    ),
    Citation(ID["new_a"], ID["superposition"], intents=("result",), is_influential=False),
    Citation(ID["new_a"], ID["heads"]),
    Citation(ID["new_b"], ID["circuits"], intents=("background",)),
    Citation(ID["new_b"], ID["superposition"]),
    Citation(ID["new_c"], ID["circuits"]),
    Citation(ID["mid"], ID["circuits"]),
    Citation(ID["mid"], ID["heads"]),
]

SEEDS: list[SeedRow] = [
    SeedRow(
        WIKI,
        0,
        "Zoom In",
        RESOLVED,
        ID["circuits"],
        section_path=("Papers", "Circuits"),
        method="title",
        match_score=0.97,
        url="https://distill.pub/2020/circuits/zoom-in",
    ),
    SeedRow(
        WIKI,
        1,
        "Toy Models of Superposition",
        RESOLVED,
        ID["superposition"],
        section_path=("Papers", "Superposition"),
        method="id:arxiv",
    ),
    SeedRow(WIKI, 2, "Induction heads", RESOLVED, ID["heads"], section_path=("Papers", "Circuits")),
    SeedRow(WIKI, 3, "A paper nobody can find", UNRESOLVED, section_path=("Papers",)),
    SeedRow(
        WIKI,
        4,
        "Attention is all you need?",
        LOW_CONFIDENCE,
        ID["classic"],
        match_score=0.6,
        section_path=("Papers",),
    ),
    SeedRow(BIB, 0, "MI for AI safety", RESOLVED, ID["survey"]),
    SeedRow(BIB, 1, "My own unpublished note", OFFLINE, LOCAL_ID),
]

TOPICS: list[Topic] = [
    Topic("curated/papers", "Papers", "curated"),
    Topic("curated/papers/circuits", "Circuits", "curated", broader="curated/papers"),
    Topic("curated/papers/superposition", "Superposition", "curated", broader="curated/papers"),
    Topic("discovered/0", "circuits / features", "discovered", keywords=("circuit", "feature")),
    Topic("s2-fields/computer-science", "Computer Science", "s2-fields"),
]
MEMBERSHIPS: list[TopicMembership] = [
    TopicMembership(ID["circuits"], "curated/papers/circuits"),
    TopicMembership(ID["heads"], "curated/papers/circuits"),
    TopicMembership(ID["superposition"], "curated/papers/superposition"),
    TopicMembership(ID["new_a"], "discovered/0", 0.8),
    TopicMembership(ID["new_b"], "discovered/0", 0.3),
    TopicMembership(ID["circuits"], "s2-fields/computer-science"),
    TopicMembership(ID["superposition"], "s2-fields/computer-science"),
    TopicMembership(ID["new_a"], "no-such/topic", 0.9),
]


def make_corpus(path: Path) -> CorpusStore:
    """The fixture corpus in a fresh store at ``path`` (the caller closes it)."""
    store = CorpusStore(path)
    with store.transaction():
        for paper in PAPERS:
            detail = DETAIL_STUB if paper.paper_id in (ID["new_c"], ID["mid"]) else DETAIL_FULL
            endpoint = "citations" if detail == DETAIL_STUB else "batch"
            store.upsert_paper(
                paper, detail=detail, endpoint=endpoint, fetched_at="2024-05-01T10:00:00+00:00"
            )
        store.upsert_paper(LOCAL_PAPER, detail=DETAIL_LOCAL, endpoint=BIB)
        store.add_citations(
            CITATIONS, endpoint="references", fetched_at="2024-05-02T10:00:00+00:00"
        )
        for row in SEEDS:
            store.put_seed(row)
        store.set_same_as(ID["twin"], ID["circuits"], "same title and authors")
    return store


# --------------------------------------------------------------------------- patch tests
Quad = tuple[object, ...]  # a row of all_quads: s, p, o, graph


def all_quads(ds: Dataset) -> set[Quad]:
    rows = select(ds, "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    clock = {PROV.generatedAtTime, PROV.endedAtTime}
    return {r for r in rows if not (r[3] == G_META and r[1] in clock)}


def fresh_quads(corpus: CorpusStore, engine: str, memberships: list[TopicMembership]) -> set[Quad]:
    ds = memory_graph(engine)
    build_rdf(corpus, ds, TOPICS, memberships, progress=False)
    return all_quads(ds)


CHRIS = Author("Chris Olah", "2000001")  # also an author of circuits and superposition


def apply_edit(corpus: CorpusStore, members: list[TopicMembership], edit: tuple[str, int]) -> None:
    kind, n = edit
    if kind == "add-paper":
        new = Paper(sid(f"added-{n}"), f"Added paper {n}", year=2025, authors=(CHRIS,))
        corpus.upsert_paper(new, detail=DETAIL_FULL, endpoint="batch")
        cite = Citation(new.paper_id, ID["classic"], ("ctx",), ("methodology",), True)
        corpus.add_citations([cite], endpoint="references")
    elif kind == "remove-citation":
        c = CITATIONS[n % len(CITATIONS)]
        corpus._db.execute(
            "DELETE FROM citations WHERE citing = ? AND cited = ?", (c.citing, c.cited)
        )
    elif kind == "retitle":
        paper = PAPERS[n % len(PAPERS)]
        changed = replace(paper, title=f"{paper.title} (v{n})", abstract=f"Revised {n}.")
        corpus.upsert_paper(changed, detail=DETAIL_FULL, endpoint="batch")
    elif kind == "drop-authors":  # shared person statements must survive
        paper = PAPERS[n % 2]  # circuits or superposition, both by Chris Olah
        corpus.upsert_paper(replace(paper, authors=()), detail=DETAIL_FULL, endpoint="batch")
    elif kind == "drop-membership" and members:
        members.pop(n % len(members))
    elif kind == "rescore-membership" and members:
        i = n % len(members)
        members[i] = replace(members[i], score=0.9 if members[i].score < 0.5 else 0.2)
    elif kind == "add-membership":
        members.append(TopicMembership(PAPERS[n % len(PAPERS)].paper_id, "discovered/0", 0.7))
