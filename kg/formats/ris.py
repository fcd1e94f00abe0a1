"""RIS out and in: :func:`write_ris`, :func:`read_ris`.

**RIS**: ``TY`` (``JOUR``, ``CPAPER`` or ``GEN``), one ``AU`` per author
(``Last, First, Suffix``), ``TI``, ``PY`` (year), ``DA`` (``YYYY/MM/DD/``),
``T2`` (the venue; also ``JO`` for journals), ``DO``, ``UR``, ``AB``, one
``KW`` per tag, ``AN`` (``arXiv:<id>``), ``N1`` (the note), ``ER``. Lines end
in CRLF as the RIS specification says; values are one line each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from kg.core.errors import ExportError
from kg.core.ids import ARXIV_IN_TEXT, arxiv_in_text, doi_as_typed
from kg.core.model import Paper, is_s2_paper_id
from kg.formats.entries import (
    ImportedEntry,
    ImportResult,
    clean,
    entry_kind,
    imported_paper,
    join_name,
    parse_year,
    split_name,
    typed_ids,
    valid_date,
    venue_of,
)

__all__ = ["read_ris", "write_ris"]


_RIS_TYPES = {"article": "JOUR", "inproceedings": "CPAPER", "misc": "GEN"}
_RIS_KINDS = {
    "JOUR": "article",
    "JFULL": "article",
    "MGZN": "article",
    "CPAPER": "inproceedings",
    "CONF": "inproceedings",
}
_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])\s{1,2}-(?:\s(.*))?$")


def _ris_name(name: str) -> str:
    parts = split_name(name)
    if parts.literal:
        return clean(name)
    pieces = [parts.family, parts.given] if parts.given or parts.suffix else [parts.family]
    if parts.suffix:
        pieces.append(parts.suffix)
    return ", ".join(pieces)


def write_ris(papers: Sequence[Paper], notes: Mapping[str, str]) -> str:
    """``papers`` as RIS records (CRLF line ends)."""
    lines: list[str] = []
    for paper in papers:
        kind = entry_kind(paper)

        def add(tag: str, value: str | None) -> None:
            value = clean(value)
            if value:
                lines.append(f"{tag}  - {value}")

        lines.append(f"TY  - {_RIS_TYPES[kind]}")
        for author in paper.authors:
            add("AU", _ris_name(author.name))
        add("TI", paper.title)
        add("PY", f"{paper.year:04d}" if paper.year is not None else None)
        if pub := valid_date(paper.publication_date):
            add("DA", pub.replace("-", "/") + "/")
        add("T2", venue_of(paper))
        if kind == "article":
            add("JO", venue_of(paper))
        add("DO", paper.doi)
        add("UR", paper.url)
        add("AN", f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else None)
        add("AB", paper.abstract)
        for tag in paper.tags:
            add("KW", tag)
        add("N1", notes.get(paper.paper_id))
        lines.append("ER  - ")
        lines.append("")
    return "\r\n".join(lines)


def read_ris(text: str) -> ImportResult:
    """The papers (and ``N1`` notes) of a RIS file; records without a title are skipped."""
    records: list[tuple[int, list[tuple[str, str]]]] = []
    current: list[tuple[str, str]] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _RIS_LINE.match(line.rstrip())
        if not m:
            if current is not None and current and line.strip():
                tag, value = current[-1]
                current[-1] = (tag, f"{value} {line.strip()}")
            continue
        tag, value = m.group(1), (m.group(2) or "").strip()
        if tag == "TY":
            current = [(tag, value)]
            records.append((lineno, current))
        elif tag == "ER":
            current = None
        elif current is not None:
            current.append((tag, value))
    if not records:
        raise ExportError(
            "not RIS: no 'TY  - ' line found; a RIS file holds records like "
            "'TY  - JOUR', 'TI  - Title', ..., 'ER  - '"
        )
    entries: list[ImportedEntry] = []
    skipped: list[str] = []
    for lineno, fields in records:
        entry = _ris_entry(fields)
        if entry is None:
            skipped.append(f"line {lineno}: record has no title (TI or T1)")
        else:
            entries.append(entry)
    if not entries:
        raise ExportError(f"no RIS record could be read ({skipped[0]}); add TI lines")
    return ImportResult(tuple(entries), tuple(skipped))


def _ris_name_back(value: str) -> str:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return join_name(parts[1], parts[0])
    return join_name(parts[1], parts[0], *parts[2:])


def _ris_entry(fields: Sequence[tuple[str, str]]) -> ImportedEntry | None:
    def first(*tags: str) -> str | None:
        for tag in tags:
            for t, v in fields:
                if t == tag and v:
                    return v
        return None

    def every(*tags: str) -> list[str]:
        return [v for t, v in fields if t in tags and v]

    title = first("TI", "T1", "CT")
    if not title:
        return None
    url = first("UR", "L2")
    where = [*every("AN"), *every("M1", "M3"), *every("UR", "L2"), *every("N1")]
    arxiv = next(filter(None, map(arxiv_in_text, where)), None)
    date_text = first("DA", "Y1", "PY") or ""
    pub_date = None
    if m := re.match(r"^(\d{4})/(\d{2})/(\d{2})", date_text):
        pub_date = valid_date("-".join(m.groups()))
    year = parse_year(first("PY", "Y1", "DA"))
    kind = _RIS_KINDS.get(fields[0][1].upper(), "misc")
    venue = first("T2", "JO", "JF", "JA", "BT", "T3")
    doi = doi_as_typed(first("DO") or "") or None
    paper = imported_paper(
        title=title,
        authors=[_ris_name_back(a) for a in every("AU", "A1")],
        year=year,
        venue=venue,
        journal=venue if kind == "article" else None,
        doi=doi,
        arxiv=arxiv,
        url=url,
        abstract=first("AB", "N2"),
        tags=every("KW"),
        publication_date=pub_date,
        kind=kind,
        ids=typed_ids(arxiv, doi),
        s2_id=next((v for v in every("ID") if is_s2_paper_id(v.lower())), None),
    )
    notes = [v for v in every("N1") if not ARXIV_IN_TEXT.fullmatch(v)]
    return ImportedEntry(paper, " ".join(notes) or None)
