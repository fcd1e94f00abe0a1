"""The corpus store: upserts never lose detail, aliases, resume markers, corruption errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.core.model import Author, Citation, Paper
from kg.store.corpus import (
    DETAIL_FULL,
    DETAIL_LOCAL,
    DETAIL_STUB,
    RESOLVED,
    CorpusError,
    CorpusStore,
    SeedRow,
    paper_from_json,
    paper_to_json,
)

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
papers = st.builds(
    Paper,
    paper_id=st.from_regex(r"[0-9a-f]{40}", fullmatch=True),
    title=text,
    abstract=st.none() | text,
    year=st.none() | st.integers(1900, 2030),
    venue=st.none() | text,
    authors=st.lists(
        st.builds(
            Author, name=text, author_id=st.none() | st.from_regex(r"[0-9]{3,8}", fullmatch=True)
        ),
        max_size=4,
    ).map(tuple),
    external_ids=st.dictionaries(st.sampled_from(["ArXiv", "DOI", "CorpusId"]), text, max_size=3),
    tags=st.lists(text, max_size=3, unique=True).map(tuple),
    citation_count=st.none() | st.integers(0, 10**6),
    is_open_access=st.none() | st.booleans(),
    resolved=st.booleans(),
)


@given(papers)
@settings(max_examples=60, deadline=None)
def test_paper_json_round_trip(paper: Paper) -> None:
    assert paper_from_json(paper_to_json(paper)) == paper


def P(pid: str, title: str = "T", **kw: object) -> Paper:
    return Paper(paper_id=pid, title=title, **kw)  # type: ignore[arg-type]


def test_richer_record_is_never_replaced_by_a_stub(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.sqlite") as store:
        full = P("a" * 40, "Full title", abstract="Abstract", external_ids={"ArXiv": "2211.00593"})
        store.upsert_paper(full, detail=DETAIL_FULL, specter=[0.5] * 4)
        store.upsert_paper(P("a" * 40, "stub", tags=("x",)), detail=DETAIL_STUB)
        got = store.get_paper("a" * 40)
        assert got is not None and got.title == "Full title" and got.tags == ("x",)
        assert store.specter("a" * 40) is not None
        assert store.lookup("ARXIV:2211.00593") == "a" * 40


def test_local_paper_folds_into_s2_record(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.sqlite") as store:
        local = P("local:abc", "My paper", tags=("mechinterp",), resolved=False)
        store.upsert_paper(local, detail=DETAIL_LOCAL)
        store.put_seed(SeedRow("lib.bib", 0, "My paper", "offline", paper_id="local:abc"))
        store.upsert_paper(P("b" * 40, "My paper"), detail=DETAIL_FULL)
        store.replace_paper_id("local:abc", "b" * 40)
        assert store.get_paper("local:abc") is None
        merged = store.get_paper("b" * 40)
        assert merged is not None and merged.tags == ("mechinterp",)
        assert store.lookup("local:abc") == "b" * 40
        assert store.seeds()[0].paper_id == "b" * 40
        assert store.paper_count() == 1


def test_citations_and_neighbours(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.sqlite") as store:
        for pid, infl in (("a", 1), ("b", 5), ("c", 9)):
            store.upsert_paper(P(pid * 40, influential_citation_count=infl), detail=DETAIL_FULL)
        store.add_citations(
            [
                Citation("a" * 40, "b" * 40, ("ctx",), ("background",), True),
                Citation("c" * 40, "a" * 40),
            ],
            endpoint="references",
        )
        assert {(c.citing[0], c.cited[0]) for c in store.citations()} == {("a", "b"), ("c", "a")}
        assert store.neighbours(["a" * 40]) == ["c" * 40, "b" * 40]  # most influential first
        assert store.citations_of("b" * 40)[0].contexts == ("ctx",)


def test_neighbourhood_markers_and_status(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.sqlite") as store:
        assert not store.neighbourhood_done("a", "references")
        store.mark_neighbourhood("a", "references", total=10, kept=3)
        assert store.neighbourhood_done("a", "references")
        store.put_seed(SeedRow("s", 0, "T", RESOLVED, paper_id="a" * 40))
        st_ = store.status()
        assert st_.seeds == 1 and st_.seeds_resolved == 1


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.sqlite") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.upsert_paper(P("d" * 40), detail=DETAIL_FULL)
            raise RuntimeError("killed mid-way")
        assert store.paper_count() == 0


def test_missing_store_says_run_ingest(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="litkg ingest"):
        CorpusStore(tmp_path / "none.sqlite", create=False)


def test_corrupt_store_says_how_to_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(CorpusError, match="rebuild"):
        CorpusStore(path)


def _damaged_store(path: Path) -> None:
    """A store whose ``papers`` table has scrambled b-tree pages (and nothing else: the
    schema and the tables an open reads stay sound)."""
    with CorpusStore(path) as store, store.transaction():
        for i in range(300):
            store.upsert_paper(Paper(f"{i:040x}", f"Paper {i}", abstract="x" * 400), detail=1)
    db = sqlite3.connect(path)
    try:
        pages = [
            int(n)
            for (n,) in db.execute("SELECT pageno FROM dbstat WHERE name = 'papers' AND pageno > 4")
        ]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find the papers' pages with")
    finally:
        db.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for number in pages[::3]:
        at = (number - 1) * page
        data[at : at + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def test_a_damaged_page_is_found_when_the_store_opens(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _damaged_store(path)
    with pytest.raises(CorpusError, match="rebuild"):
        CorpusStore(path, create=False)


def test_a_large_store_opens_without_reading_every_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Above QUICK_CHECK_MAX_BYTES (11 GB at 1M papers: ~40 s from disk) the check is not
    # run at open; the damage is met when a damaged page is read.
    import kg.store.corpus as corpus

    path = tmp_path / "c.sqlite"
    _damaged_store(path)
    monkeypatch.setattr(corpus, "QUICK_CHECK_MAX_BYTES", 1024)
    with CorpusStore(path, create=False) as store, pytest.raises(sqlite3.DatabaseError):
        list(store.papers())


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE other (x)")
    db.commit()
    db.close()
    with pytest.raises(CorpusError, match="not a litkg corpus"):
        CorpusStore(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    CorpusStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(CorpusError, match="newer litkg"):
        CorpusStore(path)


def test_provenance_reads_small_indexes_and_an_older_store_gets_them(tmp_path: Path) -> None:
    """The graph load's fingerprint (``provenance``) scans two narrow indexes, not the
    tables (11 GB at 1M papers); a store made before them gets them at its next writable
    open, with the same answer."""
    path = tmp_path / "corpus.sqlite"
    with CorpusStore(path) as store, store.transaction():
        store.upsert_paper(Paper("p1", "One"), detail=DETAIL_FULL, endpoint="/paper/batch")
        store.upsert_paper(Paper("p2", "Two"), detail=DETAIL_FULL, endpoint="/paper/batch")
        store.add_citations([Citation("p1", "p2")], endpoint="/paper/p1/references")
        before = store.provenance()
    db = sqlite3.connect(path)
    db.execute("DROP INDEX papers_provenance")
    db.execute("DROP INDEX citations_provenance")
    db.commit()
    db.close()
    with CorpusStore(path) as store:
        ran: list[str] = []
        store._db.set_trace_callback(ran.append)
        assert store.provenance() == before
        store._db.set_trace_callback(None)
        query = next(q for q in ran if "GROUP BY" in q)
        plan = " ".join(str(row) for row in store._db.execute("EXPLAIN QUERY PLAN " + query))
    assert "COVERING INDEX papers_provenance" in plan
    assert "COVERING INDEX citations_provenance" in plan
