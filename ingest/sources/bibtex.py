"""BibTeX / Zotero exports as seed sources: :func:`parse_bibtex`, one SeedRef per work with
its own metadata, duplicates merged. The entries are read by :mod:`kg.formats.bibtex` (the
reader the reading-list import uses too, so both give an entry the same ids)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.errors import SourceError
from ingest.sources.local import paper_url
from ingest.types import SeedRef, Skipped, SourceResult
from kg.core.errors import ExportError
from kg.core.ids import external_ids, local_paper_id, order_ids
from kg.core.latex import bib_name, latex_to_text, plain_field, split_authors
from kg.core.model import Author, Paper
from kg.core.text import title_key
from kg.formats.bibtex import BIB_HINT, BibFailure, entry_ids, entry_year, read_blocks

__all__ = ["parse_bibtex"]


@dataclass
class _BibRecord:
    key: str
    position: int
    line: int
    title: str
    fields: dict[str, str]
    ids: list[str]
    year: int | None


def _conflicting(a: _BibRecord, b: _BibRecord) -> bool:
    """Two records with the same title that name different arXiv ids or DOIs."""
    for kind in ("ARXIV:", "DOI:"):
        ids_a = {i for i in a.ids if i.startswith(kind)}
        ids_b = {i for i in b.ids if i.startswith(kind)}
        if ids_a and ids_b and not ids_a & ids_b:
            return True
    return False


def _merge(kept: _BibRecord, dup: _BibRecord) -> None:
    for name, value in dup.fields.items():
        if name == "keywords" and kept.fields.get(name):
            both = _split_keywords(kept.fields[name]) + _split_keywords(value)
            kept.fields[name] = ", ".join(dict.fromkeys(both))
        elif not kept.fields.get(name, "").strip():
            kept.fields[name] = value
    kept.ids = list(order_ids([*kept.ids, *dup.ids]))
    kept.year = kept.year or dup.year


def _split_keywords(value: str) -> list[str]:
    return [k for k in (latex_to_text(p) for p in re.split(r"[,;]", value)) if k]


def _bib_seedref(rec: _BibRecord, source: str) -> SeedRef:
    f = rec.fields
    authors = tuple(
        Author(name) for name in (bib_name(a) for a in split_authors(f.get("author", ""))) if name
    )
    url = plain_field(f.get("url", "")) or None
    external = external_ids(rec.ids)
    url = url or paper_url(external)
    journal = latex_to_text(f.get("journal", "")) or None
    venue = journal or latex_to_text(f.get("booktitle", "")) or None
    date = f.get("date", "").strip()
    paper = Paper(
        paper_id=local_paper_id(rec.ids, rec.title, rec.year),
        title=rec.title,
        abstract=latex_to_text(f.get("abstract", ""), unescape_twice=True) or None,
        year=rec.year,
        venue=venue,
        authors=authors,
        external_ids=external,
        url=url,
        publication_date=date if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", date) else None,
        journal=journal,
        tags=tuple(dict.fromkeys(_split_keywords(f.get("keywords", "")))),
        resolved=False,
    )
    return SeedRef(
        title=rec.title,
        source=source,
        url=url,
        ids=tuple(rec.ids),
        position=rec.position,
        year=rec.year,
        metadata=paper,
    )


def parse_bibtex(text: str, source: str) -> SourceResult:
    """Papers in a BibTeX / Zotero export, one SeedRef per work with ``metadata``.

    LaTeX is decoded to Unicode; entries without a title, entries the parser
    cannot read and duplicates (same key, arXiv id, DOI or normalised title, the
    later one merged into the first) become :class:`Skipped`. Raises
    :class:`SourceError` if the text holds no readable entry.
    """
    if not text.strip():
        raise SourceError(f"{source}: the file is empty; {BIB_HINT}")
    try:
        blocks = read_blocks(text)
    except ExportError as exc:
        raise SourceError(f"{source}: {exc}") from exc
    records: list[_BibRecord] = []
    skipped: list[Skipped] = []
    first_failure: str | None = None
    for block in blocks:
        if isinstance(block, BibFailure):
            first_failure = first_failure or block.reason
            skipped.append(Skipped(source, block.key, None, block.reason, block.position))
            continue
        fields = dict(block.fields)
        key, line, position = block.key, block.line, block.position
        title = latex_to_text(fields.get("title", ""), unescape_twice=True)
        if not title:
            skipped.append(
                Skipped(
                    source,
                    key,
                    plain_field(fields.get("url", "")) or None,
                    f"line {line}: entry {key} has no title; add a title field",
                    position,
                )
            )
            continue
        records.append(
            _BibRecord(key, position, line, title, fields, entry_ids(fields), entry_year(fields))
        )

    if not records and first_failure:
        raise SourceError(f"{source}: no BibTeX entry could be read ({first_failure}); {BIB_HINT}")

    kept: list[_BibRecord] = []
    index: dict[str, _BibRecord] = {}
    for rec in records:
        match = next((index[i] for i in rec.ids if i in index), None)
        by_title = f"title:{title_key(rec.title)}"
        if match is None and by_title in index and not _conflicting(index[by_title], rec):
            match = index[by_title]
        if match is not None:
            _merge(match, rec)
            for ident in match.ids:
                index.setdefault(ident, match)
            skipped.append(
                Skipped(
                    source,
                    f"{rec.key}: {rec.title}",
                    plain_field(rec.fields.get("url", "")) or None,
                    f"duplicate of {match.key}",
                    rec.position,
                )
            )
            continue
        kept.append(rec)
        for ident in rec.ids:
            index.setdefault(ident, rec)
        index.setdefault(by_title, rec)

    refs = tuple(_bib_seedref(rec, source) for rec in kept)
    if not refs:
        raise SourceError(f"{source}: no paper entries with a title found; {BIB_HINT}")
    return SourceResult(refs=refs, skipped=tuple(sorted(skipped, key=lambda s: s.position)))
