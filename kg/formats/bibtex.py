"""BibTeX out and in: :func:`write_bibtex`, :func:`read_bibtex`, and the one BibTeX reader
(:func:`read_blocks`, :func:`entry_ids`) the seed import (:mod:`ingest.sources.bibtex`) uses too.

**BibTeX** (written with bibtexparser 2). Keys are stable:
``<first author's surname><year><first significant title word>``,
ASCII-folded and lowercased (``wang2022interpretability``; ``anon`` without an
author, ``nd`` without a year). Papers that share a key get ``a``, ``b``, ...
in the order of their paper ids, so the same set of papers always gets the
same keys, whatever order the list is in. Entry types: ``@inproceedings``
(``booktitle``) for S2 ``Conference`` papers or conference-like venues,
``@article`` (``journal``) for journal papers, ``@misc`` (``howpublished``)
for preprints (arXiv venue) and anything without a venue. arXiv ids go to
``eprint`` + ``archiveprefix = {arXiv}`` (``primaryclass`` is left out: S2
does not give the arXiv category). Text is UTF-8 (non-ASCII characters are
kept as they are, not turned into LaTeX accents; biber, bibtex8 and Zotero
read them, and so does classic BibTeX with ``\\usepackage[utf8]{inputenc}``);
the LaTeX specials are escaped: ``& % $ # _`` as ``\\&`` ..., and
``\\ { } ~ ^`` as ``\\textbackslash{}``, ``\\textbraceleft{}``,
``\\textbraceright{}``, ``\\textasciitilde{}``, ``\\textasciicircum{}`` (braces
stay balanced whatever the title holds). Title words with a capital after
their first letter (``GPT-2``, ``LaTeX``, ``BERT``) are braced so that
sentence-case styles keep them. Authors are ``von Last, First`` or
``Last, Jr., First``; a name holding a comma or the word "and" is braced
whole. ``url`` and ``doi`` are verbatim but for ``%`` (``\\%``) and braces and
backslashes (percent-encoded). Tags go to ``keywords`` (comma-separated), the
reading-list note to ``annote`` (Zotero imports it as a note), and papers not
resolved on Semantic Scholar get a ``note`` saying so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kg.core.errors import ExportError
from kg.core.ids import (
    ARXIV_IN_TEXT,
    canonical_ids_from_url,
    doi_as_typed,
    doi_ids,
    first_id,
    local_paper_id,
    normalise_arxiv_id,
    normalise_doi,
    order_ids,
)
from kg.core.latex import (
    bib_name,
    field_value,
    latex_to_text,
    plain_field,
    quiet_bibtexparser,
    split_authors,
)
from kg.core.model import Paper
from kg.formats.entries import (
    KIND_TYPES,
    UNRESOLVED_NOTE,
    ImportedEntry,
    ImportResult,
    citation_keys,
    clean,
    entry_kind,
    imported_paper,
    parse_year,
    split_name,
    valid_date,
    venue_of,
)

__all__ = [
    "BIB_HINT",
    "BibEntry",
    "BibFailure",
    "entry_ids",
    "entry_local_id",
    "entry_year",
    "read_bibtex",
    "read_blocks",
    "tex_escape",
    "tex_to_text",
    "write_bibtex",
]


# --------------------------------------------------------------------------- LaTeX
_TEX_ESCAPES = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "{": r"\textbraceleft{}",
        "}": r"\textbraceright{}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
    }
)


def tex_escape(text: str) -> str:
    """Plain text as BibTeX field text: the LaTeX specials escaped, Unicode kept."""
    return text.translate(_TEX_ESCAPES)


def _needs_protection(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) > 1 and any(ch.isupper() for ch in letters[1:])


def _tex_title(title: str) -> str:
    words = clean(title).split(" ")
    return " ".join(
        "{" + tex_escape(w) + "}" if _needs_protection(w) else tex_escape(w) for w in words
    )


def _tex_name(name: str) -> str:
    parts = split_name(name)
    if parts.literal or parts.family.lower() == "others":
        return "{" + tex_escape(clean(name)) + "}"
    family, given, suffix = (tex_escape(p) for p in (parts.family, parts.given, parts.suffix))
    if suffix:
        return f"{family}, {suffix}, {given}"
    return f"{family}, {given}" if given else family


def _tex_verbatim(text: str) -> str:
    """URL and DOI fields: verbatim, but for ``%`` and what would unbalance the braces."""
    text = "".join(text.split())
    text = text.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")
    return text.replace("%", r"\%")


def tex_to_text(value: str) -> str:
    """BibTeX field text as plain Unicode: braces dropped, specials and accents decoded,
    whitespace collapsed (``Kram{\\'a}r`` -> ``Kramár``, ``\\&`` -> ``&``).

    The exact inverse of :func:`tex_escape` and the title/name protection above:
    TeX's ligatures (``--``, ``''``) are kept as typed, since the writer leaves them
    so (see :func:`kg.core.latex.latex_to_text`).
    """
    return latex_to_text(value, ligatures=False)


# --------------------------------------------------------------------------- writing
def write_bibtex(papers: Sequence[Paper], notes: Mapping[str, str]) -> str:
    """``papers`` as BibTeX entries (keys from :func:`~kg.formats.entries.citation_keys`)."""
    import bibtexparser
    from bibtexparser.library import Library
    from bibtexparser.model import Entry, Field
    from bibtexparser.writer import BibtexFormat

    keys = citation_keys(papers)
    library = Library()
    for paper in papers:
        kind = entry_kind(paper)
        fields: list[Field] = []

        def add(name: str, value: str | None, fields: list[Field] = fields) -> None:
            if value:
                fields.append(Field(name, value))

        add("author", " and ".join(_tex_name(a.name) for a in paper.authors if clean(a.name)))
        add("title", _tex_title(paper.title))
        add("year", str(paper.year) if paper.year is not None else None)
        add("date", valid_date(paper.publication_date))
        venue = tex_escape(venue_of(paper))
        add({"article": "journal", "inproceedings": "booktitle"}.get(kind, "howpublished"), venue)
        add("doi", _tex_verbatim(paper.doi or ""))
        if paper.arxiv_id:
            add("eprint", _tex_verbatim(paper.arxiv_id))
            add("archiveprefix", "arXiv")
        add("url", _tex_verbatim(paper.url or ""))
        add("abstract", tex_escape(clean(paper.abstract)))
        add("keywords", ", ".join(tex_escape(clean(t)) for t in paper.tags if clean(t)))
        if not paper.resolved:
            add("note", UNRESOLVED_NOTE)
        add("annote", tex_escape(clean(notes.get(paper.paper_id))))
        library.add(Entry(kind, keys[paper.paper_id], fields))
    if not papers:
        return ""
    layout = BibtexFormat()
    layout.indent = "  "
    layout.block_separator = "\n"
    return bibtexparser.write_string(library, bibtex_format=layout)


# --------------------------------------------------------------------------- reading
BIB_HINT = "a BibTeX file holds entries like @article{key, title = {...}, author = {...}}"
_ENTRY_START = re.compile(r"@\s*(?!(?:comment|string|preamble)\b)[A-Za-z]+\s*[{(]", re.I)
_KEY = re.compile(r"@\s*[A-Za-z]+\s*[{(]\s*([^,\s}]+)")


@dataclass(frozen=True)
class BibEntry:
    """One entry of a BibTeX file: its key, type (lowercase), fields (names lowercase, the
    values as written but for their enclosing braces or quotes; a repeated field keeps its
    first value), 1-based line and ``position`` among the file's entries."""

    key: str
    kind: str
    fields: Mapping[str, str]
    line: int
    position: int


@dataclass(frozen=True)
class BibFailure:
    """An entry the parser could not read; ``reason`` names its line, key and the error."""

    key: str
    line: int
    position: int
    reason: str


def read_blocks(text: str) -> list[BibEntry | BibFailure]:
    """The entries of a BibTeX file in file order, an unreadable one as a :class:`BibFailure`.

    The one BibTeX reader: the reading-list import (:func:`read_bibtex`) and the seed
    import (:func:`ingest.sources.bibtex.parse_bibtex`) both read through it, and decode
    the field text each its own way. Raises :class:`ExportError` when the text holds no
    ``@entry`` or cannot be parsed at all.
    """
    import bibtexparser
    from bibtexparser.model import Entry, ParsingFailedBlock

    if not _ENTRY_START.search(text):
        raise ExportError(f"not a BibTeX file: no @entries found; {BIB_HINT}")
    try:
        with quiet_bibtexparser():
            library = bibtexparser.parse_string(text)
    except Exception as exc:
        raise ExportError(f"the BibTeX could not be parsed ({exc}); {BIB_HINT}") from exc
    blocks = [b for b in library.blocks if isinstance(b, (Entry, ParsingFailedBlock))]
    blocks.sort(key=lambda b: b.start_line if b.start_line is not None else 0)
    out: list[BibEntry | BibFailure] = []
    for position, block in enumerate(blocks):
        line = (block.start_line or 0) + 1
        entry: Any = block
        if isinstance(block, ParsingFailedBlock):
            entry = block.ignore_error_block  # a duplicate key's entry is still readable
            if not isinstance(entry, Entry):
                raw = block.raw or ""
                m = _KEY.match(raw.lstrip())
                key = m.group(1) if m else (raw.strip().splitlines() or ["?"])[0][:60]
                err = block.error
                message = getattr(err, "abort_reason", None) or str(err) or type(err).__name__
                reason = f"line {line}: could not parse entry {key}: {message.strip()}"
                out.append(BibFailure(key, line, position, reason))
                continue
        fields: dict[str, str] = {}
        for fld in entry.fields:
            # recovered entries did not go through the middlewares: still enclosed
            value = field_value(fld.value, enclosed=entry is not block)
            fields.setdefault(str(fld.key).strip().lower(), value)
        out.append(BibEntry(str(entry.key), str(entry.entry_type).lower(), fields, line, position))
    if not out:
        raise ExportError(f"not a BibTeX file: no @entries could be read; {BIB_HINT}")
    return out


def entry_ids(fields: Mapping[str, str]) -> list[str]:
    """The canonical ids (:mod:`kg.core.ids`) an entry's fields name, most specific first:
    arXiv (``eprint``, ``arxivid``, an ``arXiv:`` mention in journal, number, note,
    howpublished or volume), DOI, PubMed id and what its ``url`` gives."""
    ids: list[str] = []
    eprint = plain_field(fields.get("eprint", ""))
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    is_arxiv = prefix in ("arxiv", "") or "arxiv" in eprint.lower()
    if eprint and is_arxiv and (arxiv := normalise_arxiv_id(eprint)):
        ids.append(f"ARXIV:{arxiv}")
    if (arxivid := fields.get("arxivid")) and (arxiv := normalise_arxiv_id(plain_field(arxivid))):
        ids.append(f"ARXIV:{arxiv}")
    for name in ("journal", "number", "note", "howpublished", "volume"):
        m = ARXIV_IN_TEXT.search(fields.get(name, ""))
        if m and (arxiv := normalise_arxiv_id(m.group(1))):
            ids.append(f"ARXIV:{arxiv}")
    if (doi_field := fields.get("doi")) and (doi := normalise_doi(plain_field(doi_field))):
        ids.extend(doi_ids(doi))
    if (pmid := plain_field(fields.get("pmid", ""))) and pmid.isdigit():
        ids.append(f"PMID:{pmid}")
    if url := plain_field(fields.get("url", "")):
        ids.extend(canonical_ids_from_url(url))
    return list(order_ids(ids))


def entry_year(fields: Mapping[str, str]) -> int | None:
    """The year of an entry's ``year`` (else ``date``) field: a plausible year standing
    alone (1500-2199), else None."""
    for name in ("year", "date"):
        if m := re.search(r"\b(1[5-9][0-9]{2}|2[01][0-9]{2})\b", fields.get(name, "")):
            return int(m.group(1))
    return None


def entry_local_id(fields: Mapping[str, str], ids: Sequence[str]) -> str:
    """The ``local:`` id of an entry (its canonical ``ids`` from :func:`entry_ids`), as the
    seed import mints it: from the title decoded as the seed import decodes it and the
    year of :func:`entry_year`, so an entry known only by its title gets the same id from
    both imports even where their decoding of the text differs."""
    title = latex_to_text(fields.get("title", ""), unescape_twice=True)
    return local_paper_id(ids, title, entry_year(fields))


def read_bibtex(text: str) -> ImportResult:
    """The papers (and ``annote`` notes) of a BibTeX file; TeX ligatures are kept as typed
    (:func:`tex_to_text`). Entries without a title or that cannot be parsed are skipped."""
    entries: list[ImportedEntry] = []
    skipped: list[str] = []
    for block in read_blocks(text):
        if isinstance(block, BibFailure):
            skipped.append(block.reason)
            continue
        title = tex_to_text(block.fields.get("title", ""))
        if not title:
            skipped.append(f"line {block.line}: entry {block.key} has no title")
            continue
        entries.append(_bib_entry(block.kind, block.fields, title))
    if not entries:
        raise ExportError(f"no BibTeX entry could be read ({skipped[0]}); {BIB_HINT}")
    return ImportResult(tuple(entries), tuple(skipped))


def _bib_entry(kind: str, f: Mapping[str, str], title: str) -> ImportedEntry:
    authors = [
        bib_name(a, ligatures=False, letters_only=False) for a in split_authors(f.get("author", ""))
    ]
    url = plain_field(f.get("url", "")) or None
    doi = doi_as_typed(plain_field(f.get("doi", ""))) or None
    journal = tex_to_text(f.get("journal", "")) or None
    venue = journal or tex_to_text(f.get("booktitle", "") or f.get("howpublished", "")) or None
    pub_date = valid_date(plain_field(f.get("date", "")))
    year = parse_year(f.get("year")) if f.get("year") else parse_year(pub_date)
    keywords = [tex_to_text(k) for k in re.split(r"[,;]", f.get("keywords", ""))]
    kind = kind if kind in KIND_TYPES else "misc"
    # The seed import's ids, so both give an entry the same local id. Where the two readers
    # differed, the seed import's rules are the right ones and are kept: arXiv ids are
    # checked and lose their version whatever their style (``hep-th/9905111v3`` is the
    # paper ``hep-th/9905111``), a DOI must be one, and a PubMed id or an ACL Anthology
    # URL identifies the paper (the import used to fall back to the title for them).
    ids = entry_ids(f)
    paper = imported_paper(
        title=title,
        authors=[a for a in authors if a],
        year=year,
        venue=venue,
        journal=journal if kind == "article" else None,
        doi=doi,
        arxiv=first_id(ids, "ARXIV"),
        url=url,
        abstract=tex_to_text(f.get("abstract", "")) or None,
        tags=keywords,
        publication_date=pub_date,
        kind=kind,
        local_id=entry_local_id(f, ids),
    )
    return ImportedEntry(paper, tex_to_text(f.get("annote", "")) or None)
