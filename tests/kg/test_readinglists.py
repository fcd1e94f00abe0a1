"""Reading lists: CRUD, persistence across reopen, corrupt files, matching imports to the
corpus, and the RDF mirror (order read back with SPARQL on rdflib and Oxigraph)."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, URIRef

from kg.core.errors import KGError, ReadingListError
from kg.core.model import Author, Paper
from kg.core.settings import Settings
from kg.formats.registry import export, import_papers
from kg.rdf.lists import READING_LISTS_GRAPH, read_order, reading_list_iri, to_rdf_lines, write_rdf
from kg.rdf.stores import memory_graph, open_graph
from kg.rdf.vocab import paper_iri
from kg.store.corpus import DETAIL_FULL, CorpusStore
from kg.store.readinglists import (
    FILE_NAME,
    ReadingItem,
    ReadingList,
    ReadingLists,
    match_papers,
)

A, B, C, D = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(minutes=1)
        return self.t


@pytest.fixture
def store(tmp_path: Path) -> ReadingLists:
    return ReadingLists(tmp_path / FILE_NAME, clock=Clock())


# --------------------------------------------------------------------------- CRUD
def test_create_add_and_reopen(store: ReadingLists, tmp_path: Path) -> None:
    assert store.names() == [] and not store.path.exists()
    created = store.create("MI basics")
    assert created == ReadingList("MI basics", (), "2024-05-01T12:01:00+00:00", created.created_at)
    assert store.add("MI basics", A, note="  start here ")
    assert store.add("mi basics", B)  # names match ignoring case
    assert not store.add("MI basics", A, note="other")  # a duplicate is a no-op
    store.create("Later")
    again = ReadingLists(tmp_path / FILE_NAME)  # a fresh instance reads the file
    assert again.names() == ["MI basics", "Later"]
    assert again.paper_ids_by_name() == {"MI basics": [A, B], "Later": []}
    lst = again.get("MI basics")
    assert lst.paper_ids == (A, B) and lst.notes == {A: "start here"}
    assert lst.items[0] == ReadingItem(A, "start here", "2024-05-01T12:02:00+00:00")
    assert lst.updated_at == "2024-05-01T12:03:00+00:00"
    doc = json.loads(store.path.read_text())
    assert doc["format"] == "litkg.reading-lists" and doc["version"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_rename_delete_and_errors(store: ReadingLists) -> None:
    store.create("One")
    store.create("Two")
    with pytest.raises(ReadingListError, match="'One' already exists"):
        store.create("one")
    assert store.create("ONE", exist_ok=True).name == "One"
    with pytest.raises(ReadingListError, match="'Two' already exists"):
        store.rename("One", "two")
    assert store.rename("One", "Uno").name == "Uno"
    assert store.rename("uno", "UNO").name == "UNO"  # a case-only rename is fine
    store.delete("two")
    assert store.names() == ["UNO"]
    with pytest.raises(
        ReadingListError, match=r"no reading list named 'x' \(existing lists: 'UNO'\)"
    ):
        store.get("x")
    with pytest.raises(ReadingListError, match="existing lists: 'UNO'") as info:
        store.add("x", A)
    assert isinstance(info.value, KGError)
    for bad in ("", "   ", "a\x00b", "x" * 201):
        with pytest.raises(ReadingListError):
            store.create(bad)
    assert store.create("  spaced   name ").name == "spaced name"
    assert "spaced name" in store and "nope" not in store


def test_add_many_creates_when_asked(store: ReadingLists) -> None:
    assert store.add_many("New", [A, B, A], {B: "b"}, create=True) == (A, B)
    assert store.add_many("New", [B, C]) == (C,)
    assert store.get("New").notes == {B: "b"}
    with pytest.raises(ReadingListError, match="empty paper id"):
        store.add_many("New", [" "])


def test_remove_move_note_reorder(store: ReadingLists) -> None:
    store.add_many("L", [A, B, C, D], create=True)
    assert store.remove("L", B) and not store.remove("L", B)
    assert store.get("L").paper_ids == (A, C, D)
    assert store.move("L", D, 0).paper_ids == (D, A, C)
    assert store.move("L", D, 99).paper_ids == (A, C, D)  # clamped
    assert store.move("L", C, -5).paper_ids == (C, A, D)
    with pytest.raises(ReadingListError, match="not on reading list 'L'; add it first"):
        store.move("L", B, 0)
    assert store.set_note("L", A, "read twice").notes == {A: "read twice"}
    assert store.set_note("L", A, "  ").notes == {}
    assert store.reorder("L", [D, A]).paper_ids == (D, A, C)  # the rest keep their order
    with pytest.raises(ReadingListError, match=f"{B} is not on reading list 'L'"):
        store.reorder("L", [B, A])
    assert store.reorder("L", [B, A], add_missing=True).paper_ids == (B, A, D, C)


def test_open_uses_the_data_dir(tmp_path: Path) -> None:
    lists = ReadingLists.open(Settings(data_dir=tmp_path / "d"))
    lists.create("x")
    assert (tmp_path / "d" / FILE_NAME).exists()


_ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "move", "reorder"]),
        st.sampled_from([A, B, C, D]),
        st.integers(-1, 5),
    ),
    max_size=12,
)


@given(ops=_ops)
@settings(max_examples=25, deadline=None)
def test_operations_match_a_plain_list_model(ops: list[tuple[str, str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FILE_NAME
        store = ReadingLists(path)
        store.create("L")
        model: list[str] = []
        for op, pid, n in ops:
            if op == "add":
                store.add("L", pid)
                model += [] if pid in model else [pid]
            elif op == "remove":
                store.remove("L", pid)
                model = [p for p in model if p != pid]
            elif op == "move" and pid in model:
                store.move("L", pid, n)
                model.remove(pid)
                model.insert(max(0, min(n, len(model))), pid)
            elif op == "reorder":
                store.reorder("L", [pid], add_missing=True)
                model = [pid] + [p for p in model if p != pid]
        assert ReadingLists(path).get("L").paper_ids == tuple(model)


# --------------------------------------------------------------------------- corrupt files
@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "other", "lists": []}', "is not a litkg reading-lists file"),
        ('{"format": "litkg.reading-lists", "version": 9, "lists": []}', "upgrade litkg"),
        ('{"format": "litkg.reading-lists", "version": 1, "lists": {}}', 'no "lists" array'),
        (
            '{"format": "litkg.reading-lists", "version": 1, "lists": [{"name": 3}]}',
            r"bad lists\[0\]\.name",
        ),
        (
            '{"format": "litkg.reading-lists", "version": 1, '
            '"lists": [{"name": "a"}, {"name": "A"}]}',
            "repeated list name",
        ),
    ],
)
def test_a_corrupt_file_is_refused_and_kept(tmp_path: Path, content: str, what: str) -> None:
    path = tmp_path / FILE_NAME
    path.write_text(content)
    store = ReadingLists(path)
    for call in (store.names, lambda: store.add("x", A, create=True)):
        with pytest.raises(ReadingListError, match=what) as info:
            call()
        message = str(info.value)
        assert str(path) in message and ".bak" in message and "fix it by hand" in message
    assert path.read_text() == content  # never overwritten
    moved = store.set_aside()
    assert moved == tmp_path / (FILE_NAME + ".bak") and moved.read_text() == content
    assert store.names() == []
    store.create("fresh")
    path.write_text("[]")
    assert store.set_aside() == tmp_path / (FILE_NAME + ".bak2")


def test_hand_edited_duplicates_keep_the_first(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    items = [{"paper_id": A, "note": "first"}, {"paper_id": A, "note": "second"}]
    doc = {"format": "litkg.reading-lists", "version": 1, "lists": [{"name": "L", "items": items}]}
    path.write_text(json.dumps(doc))
    assert ReadingLists(path).get("L").items == (ReadingItem(A, "first", ""),)


# --------------------------------------------------------------------------- import
def corpus_papers() -> dict[str, Paper]:
    papers = [
        Paper(A, "Interpretability in the Wild", year=2022, external_ids={"DOI": "10.1/IOI"}),
        Paper(B, "Toy Models of Superposition", year=2022, external_ids={"ArXiv": "2209.10652"}),
        Paper(C, "Zoom In: An Introduction to Circuits", year=2020),
        Paper(D, "Zoom In: an introduction to circuits!", year=2018),
    ]
    return {p.paper_id: p for p in papers}


def imported() -> list[Paper]:
    return [
        Paper("local:1", "Some other title", external_ids={"DOI": "10.1/ioi"}),  # DOI
        Paper("local:2", "x", external_ids={"ArXiv": "2209.10652"}),  # arXiv
        Paper("local:3", "ZOOM IN - An Introduction to Circuits", year=2020),  # title, same year
        Paper("local:4", "Not in the corpus", authors=(Author("N. N."),)),
        Paper(A, "whatever"),  # the id itself
    ]


def test_match_papers_against_a_mapping_and_a_store(tmp_path: Path) -> None:
    corpus = corpus_papers()
    expected = [A, B, C, None, A]
    assert match_papers(imported(), corpus) == expected
    with CorpusStore(tmp_path / "c.sqlite") as db:
        for paper in corpus.values():
            db.upsert_paper(paper, detail=DETAIL_FULL)
        assert match_papers(imported(), db) == expected


def test_import_papers_adds_matches_and_reports_the_rest(store: ReadingLists) -> None:
    store.add("L", A, create=True)
    notes = ["n1", "n2", None, None, None]
    report = store.import_papers("l", imported(), corpus_papers(), notes=notes)
    assert report.name == "L" and not report.created
    assert report.added == (B, C) and report.already_listed == (A,)
    assert [p.title for p in report.unmatched] == ["Not in the corpus"]
    assert store.get("L").paper_ids == (A, B, C) and store.get("L").notes == {B: "n2"}
    fresh = store.import_papers("New", imported()[3:4], corpus_papers())
    assert fresh.created and fresh.added == () and store.get("New").paper_ids == ()


def test_import_from_an_exported_file_round_trips_through_the_corpus(store: ReadingLists) -> None:
    corpus = corpus_papers()
    text = export([corpus[B], corpus[A]], "ris")
    report = store.import_papers("From RIS", import_papers(text, "ris"), corpus)
    assert report.added == (B, A) and not report.unmatched


# --------------------------------------------------------------------------- RDF
def sample_lists(store: ReadingLists) -> tuple[ReadingList, ...]:
    store.add_many("Reading path", [C, A, B], {A: 'say "hi"\nthen go'}, create=True)
    store.add_many("Other list / with odd chars?", [D], create=True)
    return store.all()


def test_rdf_lines_are_valid_ntriples_without_blank_nodes(store: ReadingLists) -> None:
    lists = sample_lists(store)
    lines = to_rdf_lines(lists)
    graph = Graph().parse(data="\n".join(lines), format="nt")
    assert len(graph) == len(lines)
    assert not any(isinstance(t, BNode) for triple in graph for t in triple)
    node = reading_list_iri("Reading path")
    rdf_ns = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    assert (node, URIRef(rdf_ns + "_1"), paper_iri(C)) in graph
    assert (node, URIRef(rdf_ns + "_3"), paper_iri(B)) in graph
    quads = to_rdf_lines(lists, quads=True)
    assert all(q.endswith(f" <{READING_LISTS_GRAPH}> .") for q in quads)


@pytest.mark.parametrize("engine", ["rdflib", "oxigraph"])
def test_write_rdf_and_read_the_order_back(store: ReadingLists, engine: str) -> None:
    dataset = memory_graph(engine)
    other = URIRef("https://litkg.org/graph/s2/papers")
    dataset.graph(other).add((paper_iri(A), URIRef("https://e.org/p"), paper_iri(B)))
    lists = sample_lists(store)
    assert write_rdf(lists, dataset) == len(to_rdf_lines(lists))
    assert read_order(dataset, "Reading path") == [C, A, B]
    assert read_order(dataset, "Other list / with odd chars?") == [D]
    store.reorder("Reading path", [B])
    store.remove("Reading path", A)
    write_rdf(store.all(), dataset)  # replaces the graph: no stale order left
    assert read_order(dataset, "Reading path") == [B, C]
    notes = dataset.query(
        "SELECT ?note WHERE { ?e <http://www.w3.org/2004/02/skos/core#note> ?note }"
    )
    assert list(notes) == []
    write_rdf([], dataset)
    assert read_order(dataset, "Reading path") == []
    assert len(dataset.graph(other)) == 1  # other graphs untouched


def test_write_rdf_to_the_embedded_store(store: ReadingLists, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    lists = sample_lists(store)
    dataset = open_graph(settings, writable=True)
    try:
        write_rdf(lists, dataset)
    finally:
        dataset.close()
    reader = open_graph(settings)
    try:
        assert read_order(reader, "Reading path") == [C, A, B]
        note = reader.query(
            "SELECT ?note WHERE { ?e <https://litkg.org/ns#listedPaper> ?p ; "
            "<http://www.w3.org/2004/02/skos/core#note> ?note }"
        )
        assert [str(row[0]) for row in note] == ['say "hi"\nthen go']  # type: ignore[index]
        with pytest.raises(KGError, match="read-only"):
            write_rdf(lists, reader)
    finally:
        reader.close()
