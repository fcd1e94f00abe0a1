"""The reading-list formats by name: BibTeX, RIS, CSL-JSON, Markdown and CSV.

:func:`export` turns a sequence of :class:`~kg.core.model.Paper` into the text of one
format; :func:`import_papers` (and :func:`read_entries`, which also returns the
per-paper notes and what was skipped) reads BibTeX, RIS and CSL-JSON back.
:data:`FORMATS` gives each format's file extension and MIME type (the app uses
them for its download buttons).

Each format lives in its own module (:mod:`kg.formats.bibtex`, ``ris``, ``csl``,
``markdown``, ``csv``); what they share is in :mod:`kg.formats.entries`.

What survives a round trip (export then import): title, authors in order,
year, publication date, venue, DOI, arXiv id, URL, abstract and tags, for
BibTeX, RIS and CSL-JSON, with whitespace collapsed to single spaces (BibTeX
and RIS have no paragraphs). Tags holding ``,`` or ``;`` are split on import
from BibTeX and CSL-JSON; author names holding a comma do not survive RIS.
Imported papers get ids as :mod:`kg.formats.entries` says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.core.errors import ExportError
from kg.core.model import Paper
from kg.formats.bibtex import read_bibtex, write_bibtex
from kg.formats.csl import read_csl, write_csl
from kg.formats.csv import write_csv
from kg.formats.entries import (
    ImportResult,
    dedupe,
)
from kg.formats.markdown import write_markdown
from kg.formats.ris import read_ris, write_ris

__all__ = [
    "FORMATS",
    "ExportFormat",
    "export",
    "format_for",
    "format_for_path",
    "import_papers",
    "read_entries",
]


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its name, a label for buttons, file extension and MIME type."""

    name: str
    label: str
    extension: str
    mime: str
    importable: bool


FORMATS: dict[str, ExportFormat] = {
    "bibtex": ExportFormat("bibtex", "BibTeX", ".bib", "application/x-bibtex", True),
    "ris": ExportFormat("ris", "RIS", ".ris", "application/x-research-info-systems", True),
    "csl-json": ExportFormat(
        "csl-json", "CSL-JSON", ".json", "application/vnd.citationstyles.csl+json", True
    ),
    "markdown": ExportFormat("markdown", "Markdown", ".md", "text/markdown", False),
    "csv": ExportFormat("csv", "CSV", ".csv", "text/csv", False),
}

_ALIASES = {
    "bib": "bibtex",
    "biblatex": "bibtex",
    "csl": "csl-json",
    "csljson": "csl-json",
    "csl_json": "csl-json",
    "json": "csl-json",
    "md": "markdown",
}
_BY_EXTENSION = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".ris": "ris",
    ".json": "csl-json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".csv": "csv",
}


def format_for(name: str) -> str:
    """The canonical format name for ``name`` (``bib`` -> ``bibtex``, ``json`` -> ``csl-json``)."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ExportError(f"unknown format {name!r}; use one of {', '.join(FORMATS)}")
    return key


def format_for_path(path: Path | str) -> str | None:
    """The format a file name's extension implies (``.bib`` -> ``bibtex``), or None."""
    return _BY_EXTENSION.get(Path(path).suffix.lower())


def read_entries(text: str, fmt: str) -> ImportResult:
    """Papers (and their notes) in BibTeX, RIS or CSL-JSON ``text``.

    Entries that cannot be read (no title, a parse error) are listed in
    ``skipped``; a text with nothing readable raises :class:`ExportError`.
    """
    key = format_for(fmt)
    if not FORMATS[key].importable:
        importable = ", ".join(k for k, f in FORMATS.items() if f.importable)
        raise ExportError(f"{FORMATS[key].label} cannot be imported; use one of {importable}")
    text = text.lstrip("\ufeff")
    if key == "bibtex":
        return read_bibtex(text)
    if key == "ris":
        return read_ris(text)
    return read_csl(text)


def import_papers(text: str, fmt: str) -> list[Paper]:
    """The papers in BibTeX, RIS or CSL-JSON ``text``, in file order (see :func:`read_entries`).

    Ids are the Semantic Scholar id when the URL is an S2 paper page (or a CSL
    ``id`` is one), else ``local:<hash>``; DOI and arXiv id are kept in
    ``external_ids``.
    """
    return read_entries(text, fmt).papers


# --------------------------------------------------------------------------- export API
def export(
    papers: Sequence[Paper],
    fmt: str,
    *,
    notes: Mapping[str, str] | None = None,
    reasons: Mapping[str, str | Sequence[str]] | None = None,
    title: str | None = None,
) -> str:
    """``papers`` (in order; repeated paper ids kept once) as the text of format ``fmt``.

    ``notes`` and ``reasons`` map paper ids to a note and to why the paper is on the
    list (shown in Markdown and CSV; notes are also written to BibTeX ``annote``,
    RIS ``N1`` and CSL ``annote``). ``title`` heads the Markdown list.
    """
    key = format_for(fmt)
    items = dedupe(papers)
    notes = notes or {}
    reasons = reasons or {}
    if key == "bibtex":
        return write_bibtex(items, notes)
    if key == "ris":
        return write_ris(items, notes)
    if key == "csl-json":
        return write_csl(items, notes)
    if key == "markdown":
        return write_markdown(items, notes, reasons, title)
    return write_csv(items, notes, reasons)
