"""Full-text search of the corpus: an SQLite FTS5 index over the papers' text.

The index (``papers_fts``) holds the words of each row of the ``papers`` table, by column:

* ``title``;
* ``authors``: the authors' names;
* ``venue``: venue and journal;
* ``body``: abstract and TL;DR;
* ``ids``: the paper id and its external ids (arXiv, DOI, CorpusId, ...).

It stores no copy of the text (a contentless table, keyed by the papers' rowids), and
triggers on ``papers`` keep it in step with every write (insert, replace, update of the
record, delete), so no write path of the store has to remember it. :func:`ensure_fulltext`
creates it (and fills it from the papers already stored) when a store is opened: a
corpus written before the index existed gets it on its first writable open. The index
is bound to the papers' rowids: should the file ever be ``VACUUM``-ed (which may
renumber them), :func:`rebuild_fulltext` makes it again from the papers.

:func:`match_expression` turns what a user typed into an FTS5 query that cannot be a
syntax error: each word is a quoted string (``"``, ``*``, ``-``, ``NEAR``, ``AND``, ``:``
and brackets are text, never operators), every word must occur, and the last word
matches as a prefix (results while a user types). :func:`fulltext_matches` ranks the
matches with bm25, a title hit weighing most. :class:`MemoryFullText` is the same index
over papers held in memory (a graph without a writable corpus).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from kg.core.model import Paper

#: The FTS5 table.
FTS_TABLE = "papers_fts"
#: The index's columns, in order.
COLUMNS = ("title", "authors", "venue", "body", "ids")
#: Which columns each search field reads (``text``: title, abstract and TL;DR).
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "all": COLUMNS,
    "title": ("title",),
    "author": ("authors",),
    "text": ("title", "body"),
}
#: bm25 weight of each column: a word in the title counts most, then the authors.
WEIGHTS = (10.0, 4.0, 2.0, 1.0, 1.0)
#: Words as the search screen splits them (letters and digits, inner apostrophes kept).
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"


def _columns_of(row: str) -> str:
    """SQL for the five column values of the ``papers`` row named ``row``."""
    return f"""
        coalesce(json_extract({row}.data, '$.title'), ''),
        coalesce((SELECT group_concat(json_extract(a.value, '$.name'), ' ; ')
                  FROM json_each({row}.data, '$.authors') AS a), ''),
        trim(coalesce(json_extract({row}.data, '$.venue'), '') || ' '
             || coalesce(json_extract({row}.data, '$.journal'), '')),
        trim(coalesce(json_extract({row}.data, '$.abstract'), '') || ' '
             || coalesce(json_extract({row}.data, '$.tldr'), '')),
        {row}.paper_id || ' ' || coalesce((SELECT group_concat(e.value, ' ')
                  FROM json_each({row}.data, '$.external_ids') AS e), '')"""  # noqa: S608


_NAMES = ", ".join(COLUMNS)
_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS papers_fts USING fts5({_NAMES}, content = '', {_TOKENIZE});
CREATE TRIGGER IF NOT EXISTS papers_fts_insert AFTER INSERT ON papers BEGIN
    INSERT INTO papers_fts (rowid, {_NAMES}) VALUES (new.rowid, {_columns_of("new")});
END;
CREATE TRIGGER IF NOT EXISTS papers_fts_replace BEFORE INSERT ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, {_NAMES})
        SELECT 'delete', prev.rowid, {_columns_of("prev")} FROM papers AS prev
        WHERE prev.paper_id = new.paper_id;
END;
CREATE TRIGGER IF NOT EXISTS papers_fts_delete AFTER DELETE ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, {_NAMES})
        VALUES ('delete', old.rowid, {_columns_of("old")});
END;
CREATE TRIGGER IF NOT EXISTS papers_fts_update AFTER UPDATE OF paper_id, data ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, {_NAMES})
        VALUES ('delete', old.rowid, {_columns_of("old")});
    INSERT INTO papers_fts (rowid, {_NAMES}) VALUES (new.rowid, {_columns_of("new")});
END;
"""  # noqa: S608
_FILL = (
    f"INSERT INTO papers_fts (rowid, {_NAMES}) SELECT p.rowid, {_columns_of('p')} FROM papers AS p"  # noqa: S608
)


def has_fulltext(db: sqlite3.Connection) -> bool:
    """Whether the store behind ``db`` has the full-text index."""
    row = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FTS_TABLE,)
    ).fetchone()
    return row is not None


def ensure_fulltext(db: sqlite3.Connection) -> bool:
    """Create the index, its view and triggers where missing, and fill a new index from
    the papers already stored (one pass, inside the caller's open of the store). True
    when the index was made now."""
    made = not has_fulltext(db)
    db.executescript(_SCHEMA)
    if made:
        rebuild_fulltext(db)
    return made


def rebuild_fulltext(db: sqlite3.Connection) -> None:
    """Make the index again from the stored papers."""
    db.execute("INSERT INTO papers_fts (papers_fts) VALUES ('delete-all')")
    db.execute(_FILL)


def match_expression(query: str, columns: Sequence[str] = COLUMNS) -> str | None:
    """An FTS5 query for what a user typed: every word in one of ``columns``, the last one
    as a prefix; None when ``query`` has no word (nothing can match).

    Words are found as the search screen finds them (letters and digits) and each is
    written as a quoted FTS5 string, so no character or keyword the user typed is read as
    FTS5 syntax."""
    words = _WORD.findall(query)
    if not words:
        return None
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown or not columns:
        raise ValueError(f"not a full-text column: {unknown or columns!r}")
    scope = "{" + " ".join(columns) + "}"
    parts = [f'{scope} : "{w.replace(chr(34), chr(34) * 2)}"' for w in words]
    parts[-1] += " *"
    return " AND ".join(parts)


def _ranked(db: sqlite3.Connection, sql: str, expression: str) -> list[tuple[Any, float]]:
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = db.execute(sql.format(bm25=f"-bm25(papers_fts, {weights})"), (expression,))
    return [(key, float(score)) for key, score in rows]


def _arrays(found: list[tuple[Any, float]]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.fromiter((r for r, _ in found), dtype=np.int64, count=len(found))
    return rows, np.fromiter((s for _, s in found), dtype=np.float64, count=len(found))


def fulltext_rows(db: sqlite3.Connection, query: str, field: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``papers`` rowids matching ``query`` in ``field`` and their bm25 scores, in no
    order: the fast form of :func:`fulltext_matches` for a caller that maps rowids to
    papers itself (``SELECT rowid, paper_id FROM papers``, once)."""
    expression = match_expression(query, FIELD_COLUMNS[field])
    if expression is None:
        return _arrays([])
    sql = "SELECT rowid, {bm25} FROM papers_fts WHERE papers_fts MATCH ?"
    return _arrays(_ranked(db, sql, expression))


def fulltext_matches(db: sqlite3.Connection, query: str, field: str) -> list[tuple[str, float]]:
    """``(paper_id, score)`` of the stored papers matching ``query`` in ``field`` (a key of
    :data:`FIELD_COLUMNS`), best first; the score is bm25's (higher is better)."""
    expression = match_expression(query, FIELD_COLUMNS[field])
    if expression is None:
        return []
    sql = (
        "SELECT p.paper_id, {bm25} FROM papers_fts JOIN papers AS p "
        "ON p.rowid = papers_fts.rowid WHERE papers_fts MATCH ? ORDER BY 2 DESC"
    )
    return [(str(pid), score) for pid, score in _ranked(db, sql, expression)]


def document(paper: Paper) -> tuple[str, str, str, str, str]:
    """The index's five column values of ``paper`` (as the view computes them)."""
    return (
        paper.title or "",
        " ; ".join(a.name for a in paper.authors),
        " ".join(x for x in (paper.venue, paper.journal) if x),
        " ".join(x for x in (paper.abstract, paper.tldr) if x),
        " ".join([paper.paper_id, *(str(v) for v in paper.external_ids.values())]),
    )


class MemoryFullText:
    """The full-text index of papers held in memory (an in-memory SQLite database): for a
    graph whose corpus store cannot take the index (read-only, or none)."""

    def __init__(self, papers: Iterable[tuple[str, Paper]]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(f"CREATE VIRTUAL TABLE papers_fts USING fts5({_NAMES}, {_TOKENIZE})")
        self._keys: list[str] = []
        rows = []
        for key, paper in papers:
            rows.append((len(self._keys), *document(paper)))
            self._keys.append(key)
        self._db.executemany(
            "INSERT INTO papers_fts (rowid, title, authors, venue, body, ids) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def matches(self, query: str, field: str) -> list[tuple[str, float]]:
        """Like :func:`fulltext_matches`, keyed by the keys the papers were given."""
        expression = match_expression(query, FIELD_COLUMNS[field])
        if expression is None:
            return []
        sql = "SELECT rowid, {bm25} FROM papers_fts WHERE papers_fts MATCH ? ORDER BY 2 DESC"
        return [(self._keys[int(r)], s) for r, s in _ranked(self._db, sql, expression)]

    def rows(self, query: str, field: str) -> tuple[np.ndarray, np.ndarray]:
        """Like :func:`fulltext_rows`: the positions of the matching papers (in the order
        they were given) and their scores."""
        expression = match_expression(query, FIELD_COLUMNS[field])
        if expression is None:
            return _arrays([])
        sql = "SELECT rowid, {bm25} FROM papers_fts WHERE papers_fts MATCH ?"
        return _arrays(_ranked(self._db, sql, expression))

    def close(self) -> None:
        self._db.close()


__all__ = [
    "COLUMNS",
    "FIELD_COLUMNS",
    "FTS_TABLE",
    "WEIGHTS",
    "MemoryFullText",
    "document",
    "ensure_fulltext",
    "fulltext_matches",
    "fulltext_rows",
    "has_fulltext",
    "match_expression",
    "rebuild_fulltext",
]
