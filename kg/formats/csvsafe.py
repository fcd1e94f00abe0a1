"""CSV that a spreadsheet opens as text: the one CSV writer every export uses.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (``=cmd|' /C calc'!A0``,
``=HYPERLINK(...)``). Titles, notes, abstracts and SPARQL results hold text from
others (S2 records, BibTeX files, RDF literals), so every cell of every CSV litkg
writes goes through :func:`safe_cell`: such a cell gets a leading ``'`` (shown by
spreadsheets as text, kept by a program that reads the file). Plain numbers (``-3``,
``+1.5e3``) are left alone: no spreadsheet runs them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: object) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """RFC 4180 CSV (CRLF line ends) of ``rows``, every cell through :func:`safe_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buf.getvalue()


__all__ = ["csv_text", "safe_cell"]
