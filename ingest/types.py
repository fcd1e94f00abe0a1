"""What the sources produce and the resolver consumes."""

from __future__ import annotations

from dataclasses import dataclass

from kg.core.model import Paper


@dataclass(frozen=True)
class SeedRef:
    """One paper as a source lists it, before it is resolved on S2.

    ``ids`` holds S2-style identifiers in canonical form, most specific first:
    ``ARXIV:2404.14082`` (version suffix dropped), ``DOI:10.1000/x`` (lowercase),
    ``CorpusId:123``, a 40-hex S2 paper id, or ``URL:https://...`` for URLs S2
    recognises. ``section_path`` is the heading path it sits under on a seed
    page, e.g. ``("Papers", "Induction Heads")``. ``metadata`` carries what a
    BibTeX/Zotero entry says of the work (used offline, and to enrich). ``key`` is
    the source's own lasting name of the entry (``ZOTERO:users/1/ABCD2345`` for a
    Zotero item), stored as an alias so a re-run finds the paper it became.
    """

    title: str
    source: str
    url: str | None = None
    ids: tuple[str, ...] = ()
    section_path: tuple[str, ...] = ()
    position: int = 0
    note: str | None = None
    year: int | None = None
    metadata: Paper | None = None
    key: str | None = None


@dataclass(frozen=True)
class Skipped:
    """A link or entry a source recognised as not a paper (or could not read)."""

    source: str
    text: str
    url: str | None
    reason: str
    position: int = 0


@dataclass(frozen=True)
class SourceResult:
    refs: tuple[SeedRef, ...]
    skipped: tuple[Skipped, ...] = ()
