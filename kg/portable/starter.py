"""The bundled starter snapshot: a first corpus for a run without Semantic Scholar.

``data/starter/snapshot/`` is a portable snapshot (:mod:`kg.portable.archive`) of the
mechanistic-interpretability field made by ``data/starter/make_starter.py``: arXiv
metadata (CC0) and the seed page's papers and sections, text only (no citation edges),
with MiniLM vectors so the first build embeds nothing. :func:`import_starter` merges it
into a corpus that holds nothing the user built (no Semantic Scholar paper, no local
paper the starter does not have: the offline ingest's seed-page papers are in it), and
leaves any other corpus alone. ``make run`` calls it (``litkg snapshot starter``) after
the ingest; an online ingest later folds the starter's local papers into their S2
records (same ``local:`` ids as the offline ingest gives them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from kg.core.settings import Settings
from kg.formats.snapshot import MAX_DOWNLOAD_BYTES, ImportReport, read_manifest, read_table
from kg.portable.archive import import_snapshot, opened, papers_from
from kg.store.corpus import CorpusStore, SnapshotImport

__all__ = ["STARTER_SNAPSHOT", "StarterOutcome", "import_starter", "starter_papers"]

#: The starter snapshot bundled with the repository.
STARTER_SNAPSHOT = Path(__file__).resolve().parents[2] / "data" / "starter" / "snapshot"


@dataclass(frozen=True)
class StarterOutcome:
    """What :func:`import_starter` did, in one line."""

    imported: bool
    message: str
    report: ImportReport | None = None


def _snapshot_ids(source: Path) -> set[str]:
    with opened(source, None, MAX_DOWNLOAD_BYTES) as (folder, _):
        read_manifest(folder)
        table = pq.read_table(folder / "papers.parquet", columns=["paper_id"])
    return {str(p) for p in table.column("paper_id").to_pylist()}


def _restore(settings: Settings, source: Path) -> int:
    """Put back the starter's record of each paper an offline ingest re-stored barer
    (the seed page's link text, no abstract; later, so the import's merge kept it).
    Only called on a corpus holding nothing but starter papers; returns how many."""
    with opened(source, None, MAX_DOWNLOAD_BYTES) as (folder, _):
        rows = papers_from(
            read_table(folder, "papers.parquet"), read_table(folder, "authors.parquet")
        )
    restored = 0
    with CorpusStore(settings.corpus_path) as store, store.transaction():
        for paper, detail, endpoint, fetched_at in rows:
            old = store.paper_row(paper.paper_id)
            if old is not None and old.detail == detail and old.paper != paper:
                store.upsert_paper(paper, detail=detail, endpoint=endpoint, fetched_at=fetched_at)
                restored += 1
    return restored


def import_starter(settings: Settings, source: Path | str = STARTER_SNAPSHOT) -> StarterOutcome:
    """Import the starter snapshot into an empty corpus (or one holding only papers the
    starter has, e.g. the offline ingest's seed-page papers); never over one the user
    built. Idempotent: a second call adds nothing."""
    source = Path(source)
    if not source.exists():
        return StarterOutcome(False, f"no starter snapshot at {source}; skipped")
    theirs = _snapshot_ids(source)
    if settings.corpus_path.is_file():
        with CorpusStore(settings.corpus_path, create=False) as store:
            full = store.status().papers_full
            own = [r.paper.paper_id for r in store.paper_rows() if r.paper.paper_id not in theirs]
        if full or own:
            what = f"{full:,} Semantic Scholar papers" if full else f"{len(own):,} papers of yours"
            return StarterOutcome(
                False, f"starter snapshot not imported: the corpus holds {what}; it is kept as is"
            )
    report = import_snapshot(settings, source)
    restored = _restore(settings, source)
    n = report.counts.get("papers", 0)
    if report.rows_changed == 0 and report.embeddings_added == 0 and restored == 0:
        return StarterOutcome(
            False, f"starter snapshot already in the corpus ({n:,} papers, text only)", report
        )
    if report.rows_changed == 0 and report.embeddings_added == 0:
        return StarterOutcome(
            True, f"starter snapshot: {restored:,} of its records restored over barer ones", report
        )
    return StarterOutcome(
        True,
        f"starter snapshot imported: {n:,} papers, text only (no citations), "
        f"{report.embeddings_added:,} text embeddings cached",
        report,
    )


def starter_papers(imports: Sequence[SnapshotImport]) -> int:
    """How many papers the starter snapshots among ``imports`` brought (0: none imported)."""
    ids = {p for s in imports if s.manifest.get("starter") is True for p in s.paper_ids}
    return len(ids)
