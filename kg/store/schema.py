"""The corpus store's SQLite schema: its tables and indexes, its version, and what each
version added (opening an older store creates the missing tables; see
:class:`kg.store.corpus.CorpusStore`)."""

from __future__ import annotations

SCHEMA_VERSION = 3
#: What each schema version added; opening an older store applies the steps above its
#: version (all of them are new tables, created by ``SCHEMA``'s ``IF NOT EXISTS`` and
#: :func:`kg.store.search.ensure_fulltext`, which fills a new full-text index). Indexes
#: added later (``papers_provenance``, ``citations_provenance``) need no version: any
#: writable open creates the missing ones, and a store without them reads the same.
MIGRATIONS: dict[int, str] = {
    2: "reference_lists (closed reference lists) and cocitation_done (widened seeds)",
    3: "papers_fts (the full-text index of kg.store.search, kept by triggers on papers)",
}

#: Every table and index of the store, each created if missing.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS papers (
    paper_id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    detail INTEGER NOT NULL,
    resolved INTEGER NOT NULL,
    specter BLOB,
    endpoint TEXT,
    fetched_at TEXT
);
CREATE TABLE IF NOT EXISTS aliases (
    alias TEXT PRIMARY KEY,
    paper_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS aliases_paper ON aliases(paper_id);
CREATE TABLE IF NOT EXISTS citations (
    citing TEXT NOT NULL,
    cited TEXT NOT NULL,
    contexts TEXT NOT NULL DEFAULT '[]',
    intents TEXT NOT NULL DEFAULT '[]',
    is_influential INTEGER,
    endpoint TEXT,
    fetched_at TEXT,
    PRIMARY KEY (citing, cited)
);
CREATE INDEX IF NOT EXISTS citations_cited ON citations(cited);
-- what CorpusStore.provenance reads (the graph load's fingerprint of the corpus): a scan of
-- these small indexes instead of every row (at 1M papers the tables are ~11 GB)
CREATE INDEX IF NOT EXISTS papers_provenance ON papers(resolved, endpoint, fetched_at);
CREATE INDEX IF NOT EXISTS citations_provenance ON citations(endpoint, fetched_at);
CREATE TABLE IF NOT EXISTS seeds (
    source TEXT NOT NULL,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    ids TEXT NOT NULL DEFAULT '[]',
    section_path TEXT NOT NULL DEFAULT '[]',
    note TEXT,
    status TEXT NOT NULL,
    paper_id TEXT,
    method TEXT,
    match_score REAL,
    reason TEXT,
    updated_at TEXT,
    PRIMARY KEY (source, position)
);
CREATE INDEX IF NOT EXISTS seeds_paper ON seeds(paper_id);
CREATE TABLE IF NOT EXISTS same_as (
    paper_id TEXT PRIMARY KEY,
    canonical_id TEXT NOT NULL,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS neighbourhoods (
    paper_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    total INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (paper_id, direction)
);
CREATE TABLE IF NOT EXISTS reference_lists (
    paper_id TEXT PRIMARY KEY,
    reference_count INTEGER,
    nested INTEGER NOT NULL,
    refs TEXT NOT NULL,
    endpoint TEXT,
    fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cocitation_done (
    paper_id TEXT PRIMARY KEY,
    candidates INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot_imports (
    snapshot_id TEXT PRIMARY KEY,
    manifest TEXT NOT NULL,
    origin TEXT,
    imported_at TEXT NOT NULL,
    papers TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    summary TEXT
);
"""

__all__ = ["MIGRATIONS", "SCHEMA", "SCHEMA_VERSION"]
