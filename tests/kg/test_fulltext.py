"""kg.store.search: the corpus's FTS5 index, its upkeep by triggers, its migration into an
older corpus, bm25 ranking, and queries that no user text can break."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kg.core.model import Author, Paper
from kg.store.corpus import DETAIL_FULL, DETAIL_STUB, SCHEMA_VERSION, CorpusStore
from kg.store.search import (
    FTS_TABLE,
    MemoryFullText,
    document,
    has_fulltext,
    match_expression,
    rebuild_fulltext,
)

PAPERS = (
    Paper(
        paper_id="p-attention",
        title="Attention Is All You Need",
        abstract="The dominant sequence transduction models are recurrent networks.",
        tldr="A network based solely on attention mechanisms.",
        authors=(Author(name="Ashish Vaswani"), Author(name="Noam Shazeer")),
        venue="NeurIPS",
        external_ids={"ArXiv": "1706.03762", "CorpusId": "13756489"},
    ),
    Paper(
        paper_id="p-bert",
        title="BERT: Pre-training of Deep Bidirectional Transformers",
        abstract="We introduce a language representation model; attention is used.",
        authors=(Author(name="Jacob Devlin"),),
        venue="NAACL",
    ),
    Paper(
        paper_id="p-schrodinger",
        title="Schrödinger's cat and the “quoted” NEAR-AND-OR paper",
        abstract="Physics, not attention.",
        journal="Nature",
    ),
)

#: What users type that FTS5 would read as syntax, were it not quoted.
ODD = [
    '"',
    '""',
    "*",
    "-",
    "+",
    "^",
    ":",
    "(",
    ")",
    "{title}",
    "title:bert",
    "NEAR",
    "NEAR(a b)",
    "AND",
    "OR",
    "NOT",
    "a AND",
    "bert OR",
    "NOT bert",
    '"unclosed',
    "a*b*",
    "-bert",
    "bert'",
    "'",
    "’",
    "\x00",
    "\\",
    ";DROP TABLE papers;--",
    "🙂",
    " ",
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CorpusStore]:
    with CorpusStore(tmp_path / "corpus.sqlite") as s:
        for p in PAPERS:
            s.upsert_paper(p, detail=DETAIL_FULL)
        yield s


def ids(found: list[tuple[str, float]] | None) -> list[str]:
    assert found is not None
    return [pid for pid, _ in found]


def integrity(store: CorpusStore) -> None:
    db = sqlite3.connect(store.path)
    try:
        db.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('integrity-check', 0)")
    finally:
        db.close()


def test_fields_and_bm25_ranking_title_first(store: CorpusStore) -> None:
    # "attention": in a title (p-attention), in two abstracts; the title hit ranks first
    found = store.search_text("attention")
    assert found is not None and ids(found)[0] == "p-attention"
    assert set(ids(found)) == {"p-attention", "p-bert", "p-schrodinger"}
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    assert ids(store.search_text("attention", "title")) == ["p-attention"]
    assert ids(store.search_text("vaswani", "author")) == ["p-attention"]
    assert ids(store.search_text("vaswani", "title")) == []
    assert ids(store.search_text("solely on attention", "text")) == ["p-attention"]  # TL;DR
    assert ids(store.search_text("1706.03762")) == ["p-attention"]  # an arXiv id
    assert ids(store.search_text("nature")) == ["p-schrodinger"]  # the journal
    assert ids(store.search_text("schrodinger")) == ["p-schrodinger"]  # diacritics folded


def test_every_word_must_occur_and_the_last_is_a_prefix(store: CorpusStore) -> None:
    assert ids(store.search_text("bidirectional transf", "title")) == ["p-bert"]
    assert ids(store.search_text("transf bidirectional", "title")) == []  # only the last
    assert ids(store.search_text("attention devlin")) == ["p-bert"]  # words in two columns
    assert ids(store.search_text("attention nobody")) == []


@pytest.mark.parametrize("query", ODD)
def test_odd_characters_are_text_never_syntax(store: CorpusStore, query: str) -> None:
    found = store.search_text(query)
    assert found is not None
    assert all(pid in {p.paper_id for p in PAPERS} for pid, _ in found)
    memory = MemoryFullText((p.paper_id, p) for p in PAPERS)
    assert ids(memory.matches(query, "all")) == ids(found)


def test_keywords_and_quotes_are_searched_as_words(store: CorpusStore) -> None:
    assert ids(store.search_text("NEAR AND OR", "title")) == ["p-schrodinger"]
    assert ids(store.search_text('"quoted"', "title")) == ["p-schrodinger"]
    assert ids(store.search_text("bert: pre-training")) == ["p-bert"]
    assert match_expression("") is None and match_expression('"*-') is None
    assert match_expression('a"b', ("title",)) == '{title} : "a" AND {title} : "b" *'
    with pytest.raises(ValueError, match="not a full-text column"):
        match_expression("x", ("data",))


def test_triggers_keep_the_index_in_step(store: CorpusStore) -> None:
    renamed = Paper(paper_id="p-bert", title="RoBERTa: a robustly optimised approach")
    store.upsert_paper(renamed, detail=DETAIL_FULL)  # INSERT OR REPLACE
    assert ids(store.search_text("bidirectional")) == []
    assert ids(store.search_text("robustly")) == ["p-bert"]
    # a poorer record only merges tags (UPDATE of the stored record)
    store.upsert_paper(Paper(paper_id="p-bert", title="x", tags=("t",)), detail=DETAIL_STUB)
    assert ids(store.search_text("robustly")) == ["p-bert"]
    store.upsert_paper(Paper(paper_id="p-new", title="Robustly new"), detail=DETAIL_FULL)
    store.replace_paper_id("p-new", "p-attention")  # DELETE of the local record
    assert ids(store.search_text("robustly new")) == []
    integrity(store)


def test_a_corpus_from_before_the_index_gets_it_on_open(tmp_path: Path) -> None:
    path = tmp_path / "corpus.sqlite"
    with CorpusStore(path) as s:
        for p in PAPERS:
            s.upsert_paper(p, detail=DETAIL_FULL)
    db = sqlite3.connect(path)  # back to schema 2: no index, no triggers
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'papers_fts%'"
    ).fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute(f"DROP TABLE {FTS_TABLE}")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    assert not has_fulltext(db)
    db.close()
    with CorpusStore(path) as s:
        assert ids(s.search_text("vaswani")) == ["p-attention"]  # the old papers indexed
        s.upsert_paper(Paper(paper_id="p-later", title="Written later"), detail=DETAIL_FULL)
        assert ids(s.search_text("later")) == ["p-later"]  # and the triggers are back
        integrity(s)
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    db.close()
    assert int(version) == SCHEMA_VERSION == 3


def test_a_read_only_old_corpus_answers_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "corpus.sqlite"
    with CorpusStore(path) as s:
        s.upsert_paper(PAPERS[0], detail=DETAIL_FULL)
        s._db.execute(f"DROP TABLE {FTS_TABLE}")
    monkeypatch.setattr("kg.store.corpus.writable", lambda path: False)  # a read-only disk
    with CorpusStore(path, create=False) as s:
        assert s.read_only
        assert s.search_text("attention") is None  # the caller falls back (Explorer)
        assert s.get_paper("p-attention") is not None


def test_rebuild_makes_the_same_index(store: CorpusStore) -> None:
    before = store.search_text("attention")
    db = sqlite3.connect(store.path)
    try:
        rebuild_fulltext(db)
        db.commit()
    finally:
        db.close()
    assert store.search_text("attention") == before
    integrity(store)


def test_memory_index_matches_the_store(store: CorpusStore) -> None:
    memory = MemoryFullText((p.paper_id, p) for p in PAPERS)
    for query in ("attention", "vaswani", "transf", "1706.03762", "nature"):
        for field in ("all", "title", "author", "text"):
            found = store.search_text(query, field)
            assert ids(memory.matches(query, field)) == ids(found)
            assert [s for _, s in memory.matches(query, field)] == pytest.approx(
                [s for _, s in found or ()]
            )
    assert document(PAPERS[0])[1] == "Ashish Vaswani ; Noam Shazeer"
    memory.close()


# --------------------------------------------------------------------------- fuzzing
FUZZ = settings(
    max_examples=int(os.environ.get("LITKG_FUZZ_EXAMPLES", "40")),
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_QUERY = st.lists(
    st.sampled_from(['"', "*", "-", "+", ":", "(", ")", "{", "}", "^", "NEAR", "AND", "OR"])
    | st.sampled_from(["NOT", " ", "title", "attention", "bert", "'", "’", "\\", "\x00"])
    | st.text(max_size=8),
    max_size=20,
).map("".join)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusStore]:
    with CorpusStore(tmp_path_factory.mktemp("fts") / "corpus.sqlite") as s:
        for p in PAPERS:
            s.upsert_paper(p, detail=DETAIL_FULL)
        yield s


@FUZZ
@given(query=_QUERY, field=st.sampled_from(["all", "title", "author", "text"]))
@example(query='" OR "', field="all")
@example(query="NEAR(attention bert, 2)", field="title")
@example(query="attention*", field="all")
def test_no_query_raises(shared: CorpusStore, query: str, field: str) -> None:
    found = shared.search_text(query, field)
    assert found is not None
    assert all(pid in {p.paper_id for p in PAPERS} for pid, _ in found)
    memory = MemoryFullText((p.paper_id, p) for p in PAPERS)
    assert ids(memory.matches(query, field)) == ids(found)
    memory.close()


def test_rows_form_matches_the_ranked_form(store: CorpusStore) -> None:
    found = store.search_rows("attention")
    assert found is not None
    rowids, scores = found
    by_row = dict(store.paper_rowids())
    fast = sorted(zip([by_row[int(r)] for r in rowids], scores.tolist(), strict=True))
    assert fast == sorted(store.search_text("attention") or [])
    memory = MemoryFullText((p.paper_id, p) for p in PAPERS)
    positions, _ = memory.rows("vaswani", "author")
    assert positions.tolist() == [0]
    assert store.search_rows("") is not None and store.search_rows("")[0].size == 0
