"""The Status page and the app's first check: is there a corpus and a built graph (and if
not, the command to run), how fresh the data is, the last ingest, what was left unresolved."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.build import weights_status
from kg.core.errors import KGError
from kg.core.fileio import lock_holder
from kg.graph.knowledge import MANIFEST
from kg.portable.starter import starter_papers
from kg.store.corpus import LOW_CONFIDENCE, UNRESOLVED, CorpusStore

if TYPE_CHECKING:
    from kg.build import WeightsStatus
    from kg.core.settings import Settings
    from kg.store.corpus import CorpusStatus, SeedRow


@dataclass(frozen=True)
class Readiness:
    """Whether the app can load the graph; when not, why and the command that fixes it."""

    ok: bool
    state: str  # ok | no-data-dir | no-corpus | empty | not-built | unreadable
    message: str = ""
    command: str = ""
    stamp: str = ""  # changes whenever the built graph changes (cache key)


def readiness(settings: Settings) -> Readiness:
    """Cheap checks (file stats only): data dir, corpus, built graph."""

    data_dir = Path(settings.data_dir)
    if not data_dir.is_dir():
        return Readiness(
            False,
            "no-data-dir",
            f"There is no data directory at {data_dir}. Ingest papers, then build the graph "
            "(or set LITKG_DATA_DIR to the folder that holds your data).",
            "litkg ingest && litkg build",
        )
    if not settings.corpus_path.is_file():
        return Readiness(
            False,
            "no-corpus",
            f"No corpus in {data_dir} yet: ingest papers first, then build the graph.",
            "litkg ingest && litkg build",
        )
    manifest = settings.graph_dir / MANIFEST
    if not manifest.is_file():
        if _corpus_empty(settings):
            return Readiness(
                False,
                "empty",
                f"The corpus in {data_dir} holds no papers yet: ingest some, then build.",
                "litkg ingest && litkg build",
            )
        return Readiness(
            False,
            "not-built",
            f"The corpus in {data_dir} has not been built into a knowledge graph yet.",
            "litkg build",
        )
    try:
        info = manifest.stat()
        json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Readiness(
            False,
            "unreadable",
            f"The built graph in {settings.graph_dir} is unreadable ({exc}).",
            "litkg build",
        )
    return Readiness(True, "ok", stamp=f"{info.st_mtime_ns}:{info.st_size}")


def _corpus_empty(settings: Settings) -> bool:

    try:
        with CorpusStore(settings.corpus_path, create=False) as store:
            return store.paper_count() == 0
    except KGError:
        return False


@dataclass(frozen=True)
class StatusView:
    readiness: Readiness
    data_dir: str
    corpus: CorpusStatus | None
    manifest: Mapping[str, Any] | None
    stale: bool  # an ingest finished after the last build
    #: Who is writing the data dir now (an ingest, build or import-list), or None.
    writing: str | None = None
    unresolved: list[SeedRow] = field(default_factory=list)
    low_confidence: list[SeedRow] = field(default_factory=list)
    provenance: list[tuple[str, str | None, int, str | None]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    error: str | None = None
    weights: WeightsStatus | None = None
    #: Where the corpus's data comes from and how fresh it is (:func:`describe_origin`).
    origin: str | None = None


def describe_origin(
    corpus: CorpusStatus,
    provenance: Sequence[tuple[str, str | None, int, str | None]],
    *,
    starter: int = 0,
) -> str | None:
    """One sentence on where the corpus's papers come from and how fresh they are.

    Derived from the store: papers fetched from Semantic Scholar (and when last),
    local-only papers by the source that listed them (and whether they were kept
    offline), and what to do to get citations. ``starter``: how many papers the bundled
    starter snapshot brought (:func:`kg.portable.starter.starter_papers`); while the corpus has no
    Semantic Scholar paper, they are named as such. None for an empty corpus.
    """
    if corpus.papers == 0:
        return None
    if starter and not corpus.papers_full:
        text = f"starter snapshot: {starter:,} papers, text only"
        if corpus.papers > starter:
            text += f" (and {corpus.papers - starter:,} local papers of yours)"
        return f"{text}; connect to Semantic Scholar and press Refresh for citations"
    parts: list[str] = []
    if corpus.papers_full:
        when = _when(corpus.last_fetch)
        parts.append(
            f"{corpus.papers_full:,} papers from Semantic Scholar"
            + (f" (last fetched {when})" if when else "")
        )
    local = [(src or "a local file", n) for kind, src, n, _ in provenance if kind == "local" and n]
    if local:
        total = sum(n for _, n in local)
        sources = ", ".join(f"{n:,} from {src}" if len(local) > 1 else src for src, n in local)
        offline = " (kept offline)" if corpus.seeds_offline else ""
        parts.append(
            f"{total:,} local papers from {sources}, not yet resolved on Semantic Scholar{offline}"
        )
    text = "; ".join(parts) or f"{corpus.papers:,} papers known by id only"
    if local and not corpus.papers_full:
        return (
            f"{text}: text only, no citations yet. Connect to Semantic Scholar and press "
            "Refresh (Status page) for abstracts and citations."
        )
    if local:
        return f"{text}. Connect to Semantic Scholar and press Refresh to resolve them."
    return f"{text}."


def _when(stamp: str | None) -> str | None:
    """``2026-12-06 08:47 UTC`` for a stored ISO time (the text as is if it is not one)."""
    if not stamp:
        return None
    m = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})", stamp)
    return f"{m.group(1)} {m.group(2)} UTC" if m else stamp


def data_origin(settings: Settings) -> str | None:
    """:func:`describe_origin` of the corpus under ``settings`` (None without a readable one)."""

    if not settings.corpus_path.is_file():
        return None
    try:
        with CorpusStore(settings.corpus_path, create=False) as store:
            return describe_origin(
                store.status(),
                store.provenance(),
                starter=starter_papers(store.snapshot_imports()),
            )
    except KGError:
        return None


def status(settings: Settings) -> StatusView:
    """Data freshness and the last ingest (never raises for missing or broken data: the
    message is in ``readiness`` or ``error``)."""

    ready = readiness(settings)
    corpus = None
    manifest = None
    unresolved: list[SeedRow] = []
    low: list[SeedRow] = []
    prov: list[tuple[str, str | None, int, str | None]] = []
    starter = 0
    sources: list[str] = []
    error = None
    if settings.corpus_path.is_file():
        try:
            with CorpusStore(settings.corpus_path, create=False) as store:
                corpus = store.status()
                seeds = store.seeds()
                prov = store.provenance()

                starter = starter_papers(store.snapshot_imports())
        except KGError as exc:
            error = str(exc)
        else:
            unresolved = [s for s in seeds if s.status == UNRESOLVED]
            low = [s for s in seeds if s.status == LOW_CONFIDENCE]
            summary = ((corpus.last_run or {}).get("summary") or {}) if corpus else {}
            sources = [str(s) for s in summary.get("sources") or []]
    path = settings.graph_dir / MANIFEST
    if path.is_file():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
    stale = False
    if corpus is not None and manifest is not None:
        finished = (corpus.last_run or {}).get("finished_at")
        used = manifest.get("last_ingest") or manifest.get("built_at") or ""
        stale = bool(finished) and str(finished) > str(used)

    return StatusView(
        readiness=ready,
        data_dir=str(settings.data_dir),
        corpus=corpus,
        manifest=manifest,
        stale=stale,
        writing=lock_holder(settings.data_dir),
        unresolved=unresolved,
        low_confidence=low,
        provenance=prov,
        sources=sources,
        error=error,
        weights=weights_status(settings) if manifest is not None else None,
        origin=describe_origin(corpus, prov, starter=starter) if corpus is not None else None,
    )


__all__ = [
    "Readiness",
    "StatusView",
    "data_origin",
    "describe_origin",
    "readiness",
    "status",
]
