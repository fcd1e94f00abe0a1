"""The corpus store: the canonical local record of papers, citations, seeds and provenance.

SQLite, one file (``<data dir>/corpus.sqlite``). Why SQLite: it ships with
Python, every write is a transaction (a kill at any moment leaves the last
committed state, never a half-written file), it is queryable with plain SQL
for debugging, it handles the 200k-paper scale in one file, and other readers
(the app) can read while an ingest writes (WAL mode).

The store lives in ``kg`` because it is the boundary between the two
packages: ``ingest`` writes it, ``kg`` reads it, and so every import points
downstream (ingest -> kg), never back up.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kg.core.errors import DataDirReadOnly, KGError
from kg.core.fileio import READ_ONLY_ERRNOS, read_only_error
from kg.core.ids import alias_key, stored_aliases
from kg.core.model import Author, Citation, Paper
from kg.store.schema import SCHEMA, SCHEMA_VERSION
from kg.store.search import ensure_fulltext, fulltext_matches, fulltext_rows, has_fulltext
from kg.store.sqlite import open_read_only, read_only_message, writable

#: How much we know of a paper; a richer record never gets replaced by a poorer one.
DETAIL_STUB = 0  # a neighbour as listed on a references/citations page
DETAIL_LOCAL = 1  # from a user's BibTeX/Zotero file, not yet on S2
DETAIL_FULL = 2  # details from /paper/batch or /paper/{id}

#: Seed statuses.
RESOLVED = "resolved"
LOW_CONFIDENCE = "low_confidence"
UNRESOLVED = "unresolved"
OFFLINE = "offline"
DUPLICATE = "duplicate"


class CorpusError(KGError):
    """The corpus store is missing, corrupt, or of another version."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def paper_to_json(paper: Paper) -> str:
    data = asdict(paper)
    data["external_ids"] = dict(paper.external_ids)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def paper_from_json(text: str) -> Paper:
    data = json.loads(text)
    data["authors"] = tuple(Author(**a) for a in data.get("authors") or ())
    for key in ("publication_types", "fields_of_study", "tags"):
        data[key] = tuple(data.get(key) or ())
    data["external_ids"] = dict(data.get("external_ids") or {})
    return Paper(**data)


@dataclass(frozen=True)
class SeedRow:
    """A listed paper and what became of it."""

    source: str
    position: int
    title: str
    status: str
    paper_id: str | None = None
    url: str | None = None
    ids: tuple[str, ...] = ()
    section_path: tuple[str, ...] = ()
    note: str | None = None
    method: str | None = None
    match_score: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PaperRow:
    """A stored paper with its bookkeeping (for portable snapshots)."""

    paper: Paper
    detail: int
    endpoint: str | None
    fetched_at: str | None
    specter: np.ndarray | None = None


@dataclass(frozen=True)
class SnapshotImport:
    """One portable snapshot imported into the corpus (``kg.portable.archive``)."""

    snapshot_id: str
    manifest: dict[str, Any]
    origin: str | None
    imported_at: str
    paper_ids: tuple[str, ...]


@dataclass(frozen=True)
class CorpusStatus:
    papers: int
    papers_full: int
    papers_unresolved: int
    citations: int
    seeds: int
    seeds_resolved: int
    seeds_unresolved: int
    seeds_low_confidence: int
    seeds_offline: int
    with_abstract: int
    with_specter: int
    last_fetch: str | None
    last_run: dict[str, Any] | None
    path: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Stores up to this size have their pages checked when opened (``PRAGMA quick_check``: a
#: damaged store is named, with the fix, before anything reads it). The check reads the
#: whole file: ~1 s a GB when it is cached, ~4 s a GB from disk, so a field-scale store
#: (11 GB at 1M papers) skips it, and a damaged page there is reported when it is read.
QUICK_CHECK_MAX_BYTES = 1 << 30


class CorpusStore:
    """Read/write access to one corpus file. Use as a context manager."""

    def __init__(self, path: Path, *, create: bool = True):
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise CorpusError(
                f"No corpus at {self.path}. Run `litkg ingest` first "
                f"(or set LITKG_DATA_DIR to the folder that holds corpus.sqlite)."
            )
        #: Opened read-only because the file system allows no writes here: reading
        #: works, and every write raises DataDirReadOnly naming the path.
        self.read_only = self.path.exists() and not writable(self.path)
        try:
            if self.read_only:
                self._db = open_read_only(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=OFF")
            self._check_and_migrate()
        except DataDirReadOnly:
            raise
        except OSError as exc:
            if exc.errno in READ_ONLY_ERRNOS:
                raise read_only_error(self.path.parent, exc) from exc
            raise CorpusError(f"Cannot open the corpus store {self.path} ({exc}).") from exc
        except sqlite3.OperationalError as exc:
            if read_only_message(exc):
                raise read_only_error(self.path) from exc
            raise self._corrupt(exc) from exc
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc

    def _corrupt(self, exc: Exception) -> CorpusError:
        return CorpusError(
            f"The corpus store {self.path} is corrupt or not a litkg store ({exc}). "
            f"Move it aside and run `litkg ingest` again to rebuild it; the S2 response "
            f"cache makes the rebuild fast."
        )

    def _check_and_migrate(self) -> None:
        has_meta = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if has_meta:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                raise CorpusError(
                    f"{self.path} was written by a newer litkg (schema {row[0]}, this one "
                    f"reads {SCHEMA_VERSION}). Upgrade litkg, or use another LITKG_DATA_DIR."
                )
        else:
            tables = self._db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table'"
            ).fetchone()[0]
            if tables:
                raise CorpusError(
                    f"{self.path} is an SQLite file but not a litkg corpus. Point "
                    f"LITKG_DATA_DIR elsewhere, or move the file aside."
                )
        if self.read_only:
            if not has_meta:
                raise read_only_error(self.path)  # an empty file that needs its tables
        else:
            self._db.executescript(SCHEMA)
            ensure_fulltext(self._db)
            # Every migration so far only adds tables, which the two calls above just created.
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        if self.path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
            self._db.execute("PRAGMA quick_check").fetchone()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CorpusStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        if self.read_only:
            raise read_only_error(self.path)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ papers
    def upsert_paper(
        self,
        paper: Paper,
        *,
        detail: int,
        endpoint: str | None = None,
        specter: Sequence[float] | np.ndarray | None = None,
        fetched_at: str | None = None,
    ) -> None:
        """Store a paper unless a richer record of it is already there; tags are merged."""
        row = self._db.execute(
            "SELECT data, detail, specter FROM papers WHERE paper_id = ?", (paper.paper_id,)
        ).fetchone()
        has = specter is not None and len(specter) > 0
        blob = np.asarray(specter, dtype=np.float32).tobytes() if has else None
        if row is not None:
            old = paper_from_json(row[0])
            tags = tuple(dict.fromkeys(old.tags + paper.tags))
            if int(row[1]) > detail:
                if tags != old.tags:
                    self._db.execute(
                        "UPDATE papers SET data = ? WHERE paper_id = ?",
                        (paper_to_json(_with_tags(old, tags)), paper.paper_id),
                    )
                return
            paper = _with_tags(paper, tags)
            blob = blob or row[2]
        self._db.execute(
            "INSERT OR REPLACE INTO papers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                paper.paper_id,
                paper_to_json(paper),
                detail,
                int(paper.resolved),
                blob,
                endpoint,
                fetched_at or now_iso(),
            ),
        )
        self._add_aliases(paper)

    def _add_aliases(self, paper: Paper) -> None:
        aliases = [paper.paper_id, *stored_aliases(paper.external_ids)]
        self._db.executemany(
            "INSERT OR REPLACE INTO aliases VALUES (?, ?)", [(a, paper.paper_id) for a in aliases]
        )

    def add_alias(self, alias: str, paper_id: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?)", (alias, paper_id))

    def replace_paper_id(self, old_id: str, new_id: str) -> None:
        """Fold a local (offline) paper into its S2 record: tags kept, references moved."""
        old = self.get_paper(old_id)
        if old is None:
            return
        new = self.get_paper(new_id)
        if new is not None and old.tags:
            self.upsert_paper(_with_tags(new, old.tags), detail=self.detail(new_id))
        self._db.execute("DELETE FROM papers WHERE paper_id = ?", (old_id,))
        self._db.execute("UPDATE aliases SET paper_id = ? WHERE paper_id = ?", (new_id, old_id))
        self._db.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?)", (old_id, new_id))
        self._db.execute("UPDATE seeds SET paper_id = ? WHERE paper_id = ?", (new_id, old_id))
        for col in ("citing", "cited"):
            self._db.execute(
                f"UPDATE OR IGNORE citations SET {col} = ? WHERE {col} = ?",  # noqa: S608
                (new_id, old_id),
            )
        self._db.execute("DELETE FROM citations WHERE citing = ? OR cited = ?", (old_id, old_id))

    def detail(self, paper_id: str) -> int:
        row = self._db.execute(
            "SELECT detail FROM papers WHERE paper_id = ?", (paper_id,)
        ).fetchone()
        return int(row[0]) if row else -1

    def get_paper(self, paper_id: str) -> Paper | None:
        row = self._db.execute("SELECT data FROM papers WHERE paper_id = ?", (paper_id,)).fetchone()
        return paper_from_json(row[0]) if row else None

    def lookup(self, alias: str) -> str | None:
        """The stored paper id for any id form we index (S2 id, ARXIV:, DOI:, CorpusId:)."""
        row = self._db.execute(
            "SELECT paper_id FROM aliases WHERE alias = ?", (alias_key(alias),)
        ).fetchone()
        return str(row[0]) if row else None

    def papers(self, *, min_detail: int = DETAIL_STUB) -> Iterator[Paper]:
        for (data,) in self._db.execute(
            "SELECT data FROM papers WHERE detail >= ? ORDER BY paper_id", (min_detail,)
        ):
            yield paper_from_json(data)

    def paper_ids(
        self, *, min_detail: int = DETAIL_STUB, max_detail: int = DETAIL_FULL
    ) -> list[str]:
        return [
            r[0]
            for r in self._db.execute(
                "SELECT paper_id FROM papers WHERE detail BETWEEN ? AND ? ORDER BY paper_id",
                (min_detail, max_detail),
            )
        ]

    def paper_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM papers").fetchone()[0])

    def _temp_ids(self, table: str, paper_ids: Iterable[str]) -> None:
        """Fill the temporary one-column table ``table`` with ``paper_ids`` for a query to
        join against."""
        ids = list(dict.fromkeys(paper_ids))
        self._db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY)")
        self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - a fixed internal name
        self._db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", [(i,) for i in ids])  # noqa: S608

    def neighbours(self, paper_ids: Sequence[str]) -> list[str]:
        """Papers cited by or citing any of ``paper_ids``, most influential first."""
        self._temp_ids("frontier", paper_ids)
        rows = self._db.execute(
            "SELECT p.paper_id, coalesce(json_extract(p.data, '$.influential_citation_count'), 0) "
            "AS infl FROM papers p WHERE p.paper_id NOT IN (SELECT id FROM frontier) AND ("
            " p.paper_id IN (SELECT cited FROM citations WHERE citing IN frontier)"
            " OR p.paper_id IN (SELECT citing FROM citations WHERE cited IN frontier))"
            " ORDER BY infl DESC, p.paper_id"
        ).fetchall()
        self._db.execute("DELETE FROM frontier")
        return [str(r[0]) for r in rows]

    def specter(self, paper_id: str) -> np.ndarray | None:
        row = self._db.execute(
            "SELECT specter FROM papers WHERE paper_id = ?", (paper_id,)
        ).fetchone()
        if not row or row[0] is None:
            return None
        return np.frombuffer(row[0], dtype=np.float32)

    # ------------------------------------------------------------------ citations
    def add_citations(
        self,
        citations: Iterable[Citation],
        *,
        endpoint: str,
        fetched_at: str | None = None,
        keep_existing: bool = False,
    ) -> int:
        """Store edges; returns how many rows were written.

        ``keep_existing`` leaves an edge already stored untouched (an edge from a closed
        reference list has no contexts, so it must not replace one that has them).
        """
        stamp = fetched_at or now_iso()
        rows = [
            (
                c.citing,
                c.cited,
                json.dumps(list(c.contexts), ensure_ascii=False),
                json.dumps(list(c.intents)),
                None if c.is_influential is None else int(c.is_influential),
                endpoint,
                stamp,
            )
            for c in citations
        ]
        verb = "INSERT OR IGNORE" if keep_existing else "INSERT OR REPLACE"
        cur = self._db.executemany(f"{verb} INTO citations VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return cur.rowcount if keep_existing else len(rows)

    def citations(self, *, contexts: bool = True) -> Iterator[Citation]:
        """Every edge; ``contexts=False`` skips decoding the citation sentences (faster)."""
        if contexts:
            return self._iter_where("1 = 1 ORDER BY citing, cited", ())
        return (
            Citation(citing, cited, (), _intents(intents), None if infl is None else bool(infl))
            for citing, cited, intents, infl in self._db.execute(
                "SELECT citing, cited, intents, is_influential FROM citations "
                "ORDER BY citing, cited"
            )
        )

    def citations_of(self, paper_id: str) -> list[Citation]:
        """Edges touching a paper, either direction."""
        return list(self._iter_where("citing = ? OR cited = ?", (paper_id, paper_id)))

    def _iter_where(self, where: str, args: tuple[Any, ...]) -> Iterator[Citation]:
        for citing, cited, contexts, intents, infl in self._db.execute(
            "SELECT citing, cited, contexts, intents, is_influential FROM citations WHERE "  # noqa: S608
            + where,
            args,
        ):
            yield Citation(
                citing,
                cited,
                tuple(json.loads(contexts)),
                tuple(json.loads(intents)),
                None if infl is None else bool(infl),
            )

    # ------------------------------------------------------------------ neighbourhoods
    def mark_neighbourhood(self, paper_id: str, direction: str, total: int, kept: int) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO neighbourhoods VALUES (?, ?, ?, ?, ?)",
            (paper_id, direction, total, kept, now_iso()),
        )

    def neighbourhood_done(self, paper_id: str, direction: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM neighbourhoods WHERE paper_id = ? AND direction = ?",
                (paper_id, direction),
            ).fetchone()
            is not None
        )

    # ------------------------------------------------------------------ closed reference lists
    def put_reference_list(
        self,
        paper_id: str,
        refs: Sequence[str],
        *,
        reference_count: int | None,
        nested: int,
        endpoint: str,
    ) -> None:
        """Record a paper's whole reference list (S2 ids, inside the corpus or not).

        Its presence marks the paper's references as closed: a later run does not
        fetch them again. ``nested`` is how many entries S2 answered (unresolved
        references included), ``reference_count`` S2's ``referenceCount`` then.
        """
        self._db.execute(
            "INSERT OR REPLACE INTO reference_lists VALUES (?, ?, ?, ?, ?, ?)",
            (
                paper_id,
                reference_count,
                nested,
                json.dumps(list(dict.fromkeys(refs))),
                endpoint,
                now_iso(),
            ),
        )

    def closed_ids(self) -> set[str]:
        """Papers whose reference list is stored."""
        return {str(r[0]) for r in self._db.execute("SELECT paper_id FROM reference_lists")}

    def reference_lists(self, paper_ids: Iterable[str]) -> dict[str, list[str]]:
        """Stored reference lists of the given papers (papers without one are left out)."""
        out: dict[str, list[str]] = {}
        for pid in dict.fromkeys(paper_ids):
            row = self._db.execute(
                "SELECT refs FROM reference_lists WHERE paper_id = ?", (pid,)
            ).fetchone()
            if row is not None:
                out[pid] = [str(r) for r in json.loads(row[0])]
        return out

    def listed_citers(self, paper_ids: Iterable[str]) -> list[tuple[str, str]]:
        """``(citing, cited)`` for every stored reference list that names one of ``paper_ids``."""
        self._temp_ids("wanted", paper_ids)
        rows = self._db.execute(
            "SELECT DISTINCT r.paper_id, j.value FROM reference_lists r, json_each(r.refs) j"
            " WHERE j.value IN (SELECT id FROM wanted) ORDER BY 1, 2"
        ).fetchall()
        self._db.execute("DELETE FROM wanted")
        return [(str(a), str(b)) for a, b in rows]

    def reference_counts(self, paper_ids: Iterable[str]) -> dict[str, int | None]:
        """S2's ``referenceCount`` of stored papers, as their records say (None: unknown)."""
        out: dict[str, int | None] = {}
        for pid in dict.fromkeys(paper_ids):
            row = self._db.execute(
                "SELECT json_extract(data, '$.reference_count') FROM papers WHERE paper_id = ?",
                (pid,),
            ).fetchone()
            out[pid] = None if row is None or row[0] is None else int(row[0])
        return out

    def citing_ids(self, paper_id: str) -> list[str]:
        """Stored papers with an edge to ``paper_id``."""
        return [
            str(r[0])
            for r in self._db.execute(
                "SELECT c.citing FROM citations c JOIN papers p ON p.paper_id = c.citing"
                " WHERE c.cited = ? ORDER BY c.citing",
                (paper_id,),
            )
        ]

    def mark_cocited(self, paper_id: str, candidates: int, kept: int) -> None:
        """Record that the papers co-cited with seed ``paper_id`` were looked for."""
        self._db.execute(
            "INSERT OR REPLACE INTO cocitation_done VALUES (?, ?, ?, ?)",
            (paper_id, candidates, kept, now_iso()),
        )

    def cocited_done(self, paper_id: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM cocitation_done WHERE paper_id = ?", (paper_id,)
            ).fetchone()
            is not None
        )

    # ------------------------------------------------------------------ seeds
    def put_seed(self, row: SeedRow) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO seeds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _seed_values(row, now_iso()),
        )

    def drop_seeds(self, source: str, *, keep: Iterable[int]) -> int:
        """Delete ``source``'s seed rows except those at the ``keep`` positions; how many went."""
        kept = set(keep)
        gone = [
            (source, int(r[0]))
            for r in self._db.execute("SELECT position FROM seeds WHERE source = ?", (source,))
            if int(r[0]) not in kept
        ]
        self._db.executemany("DELETE FROM seeds WHERE source = ? AND position = ?", gone)
        return len(gone)

    def seeds(self, source: str | None = None) -> list[SeedRow]:
        sql = (
            "SELECT source, position, title, status, paper_id, url, ids, section_path, note, "
            "method, match_score, reason FROM seeds"
        )
        args: tuple[Any, ...] = ()
        if source is not None:
            sql += " WHERE source = ?"
            args = (source,)
        rows = self._db.execute(sql + " ORDER BY source, position", args).fetchall()
        return [
            SeedRow(
                source=r[0],
                position=r[1],
                title=r[2],
                status=r[3],
                paper_id=r[4],
                url=r[5],
                ids=tuple(json.loads(r[6])),
                section_path=tuple(json.loads(r[7])),
                note=r[8],
                method=r[9],
                match_score=r[10],
                reason=r[11],
            )
            for r in rows
        ]

    def seed_paper_ids(self) -> list[str]:
        return [
            r[0]
            for r in self._db.execute(
                "SELECT DISTINCT paper_id FROM seeds WHERE paper_id IS NOT NULL "
                "AND status IN (?, ?) ORDER BY paper_id",
                (RESOLVED, OFFLINE),
            )
        ]

    # ------------------------------------------------------------------ twins
    def set_same_as(self, paper_id: str, canonical_id: str, reason: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO same_as VALUES (?, ?, ?)", (paper_id, canonical_id, reason)
        )

    def same_as(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._db.execute("SELECT paper_id, canonical_id FROM same_as")}

    # ------------------------------------------------------------------ runs and status
    def start_run(self) -> int:
        cur = self._db.execute("INSERT INTO runs (started_at) VALUES (?)", (now_iso(),))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, summary: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE runs SET finished_at = ?, summary = ? WHERE run_id = ?",
            (now_iso(), json.dumps(summary, ensure_ascii=False), run_id),
        )

    def last_run(self) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT run_id, started_at, finished_at, summary FROM runs ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return {
            "run_id": row[0],
            "started_at": row[1],
            "finished_at": row[2],
            "summary": json.loads(row[3]) if row[3] else None,
        }

    def status(self) -> CorpusStatus:
        def one(sql: str, *args: Any) -> Any:
            return self._db.execute(sql, args).fetchone()[0]

        seed_counts = dict(
            self._db.execute("SELECT status, count(*) FROM seeds GROUP BY status").fetchall()
        )
        return CorpusStatus(
            papers=one("SELECT count(*) FROM papers"),
            papers_full=one("SELECT count(*) FROM papers WHERE detail = ?", DETAIL_FULL),
            papers_unresolved=one("SELECT count(*) FROM papers WHERE resolved = 0"),
            citations=one("SELECT count(*) FROM citations"),
            seeds=one("SELECT count(*) FROM seeds"),
            seeds_resolved=seed_counts.get(RESOLVED, 0),
            seeds_unresolved=seed_counts.get(UNRESOLVED, 0),
            seeds_low_confidence=seed_counts.get(LOW_CONFIDENCE, 0),
            seeds_offline=seed_counts.get(OFFLINE, 0),
            with_abstract=one(
                "SELECT count(*) FROM papers WHERE json_extract(data, '$.abstract') IS NOT NULL"
            ),
            with_specter=one("SELECT count(*) FROM papers WHERE specter IS NOT NULL"),
            last_fetch=one("SELECT max(fetched_at) FROM papers WHERE detail = ?", DETAIL_FULL),
            last_run=self.last_run(),
            path=str(self.path),
        )

    def provenance(self) -> list[tuple[str, str | None, int, str | None]]:
        """Where stored records came from: ``(kind, endpoint or source, rows, latest time)``.

        ``kind`` is ``papers`` (resolved), ``local`` (known only from a user's
        file), ``citations``, ``seeds`` (then the second field is the source) or
        ``snapshots`` (a portable snapshot imported: its id, papers, import time).
        """
        snapshots = (
            " UNION ALL SELECT 'snapshots', snapshot_id, json_array_length(papers), imported_at"
            " FROM snapshot_imports"
            if self._has_table("snapshot_imports")  # absent from a read-only older store
            else ""
        )
        rows = self._db.execute(
            "SELECT CASE WHEN resolved THEN 'papers' ELSE 'local' END, endpoint, count(*),"  # noqa: S608 (constant text only)
            " max(fetched_at) FROM papers GROUP BY 1, 2"
            " UNION ALL SELECT 'citations', endpoint, count(*), max(fetched_at)"
            " FROM citations GROUP BY 2"
            " UNION ALL SELECT 'seeds', source, count(*), max(updated_at) FROM seeds GROUP BY 2"
            + snapshots
            + " ORDER BY 1, 2"
        ).fetchall()
        return [(str(r[0]), r[1], int(r[2]), r[3]) for r in rows]

    def _has_table(self, name: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
            is not None
        )

    # ------------------------------------------------------------------ portable snapshots
    # Whole rows (with their endpoint and fetch time) out, and merged back in, for
    # kg.portable. Merges never downgrade: the richer or newer record stays.
    def changes(self) -> int:
        """Rows inserted, updated or deleted through this connection so far."""
        return int(self._db.total_changes)

    def paper_rows(self) -> Iterator[PaperRow]:
        """Every paper with how much is known of it, where and when it was fetched."""
        for data, detail, specter, endpoint, fetched_at in self._db.execute(
            "SELECT data, detail, specter, endpoint, fetched_at FROM papers ORDER BY paper_id"
        ):
            yield PaperRow(
                paper_from_json(data),
                int(detail),
                endpoint,
                fetched_at,
                None if specter is None else np.frombuffer(specter, dtype=np.float32),
            )

    def paper_row(self, paper_id: str) -> PaperRow | None:
        row = self._db.execute(
            "SELECT data, detail, specter, endpoint, fetched_at FROM papers WHERE paper_id = ?",
            (paper_id,),
        ).fetchone()
        if row is None:
            return None
        data, detail, specter, endpoint, fetched_at = row
        return PaperRow(
            paper_from_json(data),
            int(detail),
            endpoint,
            fetched_at,
            None if specter is None else np.frombuffer(specter, dtype=np.float32),
        )

    def citation_rows(self) -> Iterator[tuple[Citation, str | None, str | None]]:
        """Every edge with its endpoint and fetch time."""
        for citing, cited, contexts, intents, infl, endpoint, fetched_at in self._db.execute(
            "SELECT citing, cited, contexts, intents, is_influential, endpoint, fetched_at"
            " FROM citations ORDER BY citing, cited"
        ):
            yield (
                Citation(
                    citing,
                    cited,
                    tuple(json.loads(contexts)),
                    tuple(json.loads(intents)),
                    None if infl is None else bool(infl),
                ),
                endpoint,
                fetched_at,
            )

    def merge_citations(self, rows: Iterable[tuple[Citation, str | None, str | None]]) -> None:
        """Add edges; an edge already stored is replaced only when it has no contexts and
        the new one has (a closed reference list's edge, then S2's with its sentences)."""
        self._db.executemany(
            "INSERT INTO citations VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (citing, cited)"
            " DO UPDATE SET contexts = excluded.contexts, intents = excluded.intents,"
            " is_influential = excluded.is_influential, endpoint = excluded.endpoint,"
            " fetched_at = excluded.fetched_at"
            " WHERE citations.contexts = '[]' AND excluded.contexts != '[]'",
            [
                (
                    c.citing,
                    c.cited,
                    json.dumps(list(c.contexts), ensure_ascii=False),
                    json.dumps(list(c.intents)),
                    None if c.is_influential is None else int(c.is_influential),
                    endpoint,
                    fetched_at or now_iso(),
                )
                for c, endpoint, fetched_at in rows
            ],
        )

    def seed_rows(self) -> list[tuple[SeedRow, str | None]]:
        """Every seed row with the time it was last written."""
        times = {
            (str(r[0]), int(r[1])): r[2]
            for r in self._db.execute("SELECT source, position, updated_at FROM seeds")
        }
        return [(row, times.get((row.source, row.position))) for row in self.seeds()]

    def merge_seeds(self, rows: Iterable[tuple[SeedRow, str | None]]) -> None:
        """Add seed rows; a row already stored is replaced only when the new one is
        resolved and the stored one is not."""
        self._db.executemany(
            "INSERT INTO seeds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source, position) DO UPDATE SET title = excluded.title,"
            " url = excluded.url, ids = excluded.ids, section_path = excluded.section_path,"
            " note = excluded.note, status = excluded.status, paper_id = excluded.paper_id,"
            " method = excluded.method, match_score = excluded.match_score,"
            " reason = excluded.reason, updated_at = excluded.updated_at"
            " WHERE seeds.status != 'resolved' AND excluded.status = 'resolved'",
            [_seed_values(row, updated_at or now_iso()) for row, updated_at in rows],
        )

    def aliases(self) -> list[tuple[str, str]]:
        """Every ``(alias, paper_id)``."""
        return [
            (str(a), str(p))
            for a, p in self._db.execute("SELECT alias, paper_id FROM aliases ORDER BY alias")
        ]

    def merge_aliases(self, rows: Iterable[tuple[str, str]], *, replace: bool = False) -> None:
        """Add aliases not yet known (a known alias keeps its paper unless ``replace``)."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        self._db.executemany(f"{verb} INTO aliases VALUES (?, ?)", list(rows))

    def same_as_rows(self) -> list[tuple[str, str, str | None]]:
        """Every folded twin: ``(paper_id, canonical_id, reason)``."""
        return [
            (str(a), str(b), r)
            for a, b, r in self._db.execute(
                "SELECT paper_id, canonical_id, reason FROM same_as ORDER BY paper_id"
            )
        ]

    def merge_same_as(self, rows: Iterable[tuple[str, str, str | None]]) -> None:
        """Add twins not yet known (a known twin keeps its canonical paper)."""
        self._db.executemany("INSERT OR IGNORE INTO same_as VALUES (?, ?, ?)", list(rows))

    def record_snapshot_import(
        self, snapshot_id: str, manifest: str, origin: str | None, paper_ids: Sequence[str]
    ) -> bool:
        """Remember that a portable snapshot was imported (once: False when it already was)."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO snapshot_imports VALUES (?, ?, ?, ?, ?)",
            (snapshot_id, manifest, origin, now_iso(), json.dumps(sorted(set(paper_ids)))),
        )
        return cur.rowcount > 0

    def snapshot_imports(self) -> list[SnapshotImport]:
        """The portable snapshots imported into this corpus, oldest first."""
        if not self._has_table("snapshot_imports"):
            return []
        return [
            SnapshotImport(
                str(sid), json.loads(manifest), origin, str(at), tuple(json.loads(papers))
            )
            for sid, manifest, origin, at, papers in self._db.execute(
                "SELECT snapshot_id, manifest, origin, imported_at, papers"
                " FROM snapshot_imports ORDER BY imported_at, snapshot_id"
            )
        ]

    def search_text(self, query: str, field: str = "all") -> list[tuple[str, float]] | None:
        """Papers matching ``query`` in ``field``, best first, with their bm25 scores
        (:func:`kg.store.search.fulltext_matches`); None when the store has no full-text
        index (a store from before it, opened read-only)."""
        return fulltext_matches(self._db, query, field) if has_fulltext(self._db) else None

    def search_rows(self, query: str, field: str = "all") -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`search_text` as rowids of ``papers`` and scores, in no order (the fast form:
        :func:`kg.store.search.fulltext_rows`; map rowids with :meth:`paper_rowids`)."""
        return fulltext_rows(self._db, query, field) if has_fulltext(self._db) else None

    def paper_rowids(self) -> list[tuple[int, str]]:
        """``(rowid, paper_id)`` of every stored paper."""
        return [(int(r), str(p)) for r, p in self._db.execute("SELECT rowid, paper_id FROM papers")]

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


@lru_cache(maxsize=256)
def _intents(text: str) -> tuple[str, ...]:
    """Decoded intents; the few distinct values are decoded once each."""
    return tuple(json.loads(text))


def _with_tags(paper: Paper, tags: tuple[str, ...]) -> Paper:
    return replace(paper, tags=tags)


def _seed_values(row: SeedRow, updated_at: str) -> tuple[Any, ...]:
    """A seed row as the ``seeds`` table's columns, in order."""
    return (
        row.source,
        row.position,
        row.title,
        row.url,
        json.dumps(list(row.ids)),
        json.dumps(list(row.section_path), ensure_ascii=False),
        row.note,
        row.status,
        row.paper_id,
        row.method,
        row.match_score,
        row.reason,
        updated_at,
    )
