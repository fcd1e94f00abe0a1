"""Reading lists out and in: BibTeX, RIS, CSL-JSON, Markdown and CSV.

:func:`export` turns a sequence of :class:`~kg.core.model.Paper` into the text of one
format; :func:`import_papers` (and :func:`read_entries`, which also returns the
per-paper notes and what was skipped) reads BibTeX, RIS and CSL-JSON back.
:data:`FORMATS` gives each format's file extension and MIME type (the app uses
them for its download buttons).

Format choices
--------------
* **BibTeX** (written with bibtexparser 2). Keys are stable:
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
* **RIS**: ``TY`` (``JOUR``, ``CPAPER`` or ``GEN``), one ``AU`` per author
  (``Last, First, Suffix``), ``TI``, ``PY`` (year), ``DA`` (``YYYY/MM/DD/``),
  ``T2`` (the venue; also ``JO`` for journals), ``DO``, ``UR``, ``AB``, one
  ``KW`` per tag, ``AN`` (``arXiv:<id>``), ``N1`` (the note), ``ER``. Lines end
  in CRLF as the RIS specification says; values are one line each.
* **CSL-JSON** (what Zotero, pandoc and citeproc read): ``id`` is the BibTeX
  key (so pandoc's ``@key`` citations work), ``type`` is ``article-journal``,
  ``paper-conference`` or ``article`` (a preprint; Zotero's mapping), authors
  as ``{family, given, suffix}`` (``literal`` for names with a comma),
  ``issued`` ``date-parts``, ``container-title``, ``DOI``, ``URL``,
  ``abstract``, ``keyword`` (comma-separated), ``annote`` (the note). arXiv
  preprints carry ``number: "arXiv:<id>"`` and ``publisher: "arXiv"``
  (Zotero's convention); other papers with an arXiv id carry it as an
  ``arXiv: <id>`` line in ``note`` (Zotero's "Extra").
* **Markdown**: a numbered reading list, each entry a link (the paper's URL,
  else arXiv, DOI or Semantic Scholar) with authors, year, venue, identifiers,
  and the optional note and reasons as sub-items. Markdown specials in text are
  backslash-escaped; only http(s) addresses become links (a ``javascript:`` URL
  from an S2 record or a BibTeX file does not).
* **CSV** (RFC 4180, CRLF): ``position, title, authors, year, venue, doi,
  arxiv, s2_id, url, note, reason``; authors joined with ``"; "``. Cells that
  a spreadsheet would run as a formula (starting with ``= + - @``) get a
  leading ``'`` (:mod:`kg.formats.csvsafe`, shared with SPARQL results). Export only.

What survives a round trip (export then import): title, authors in order,
year, publication date, venue, DOI, arXiv id, URL, abstract and tags, for
BibTeX, RIS and CSL-JSON, with whitespace collapsed to single spaces (BibTeX
and RIS have no paragraphs). Tags holding ``,`` or ``;`` are split on import
from BibTeX and CSL-JSON; author names holding a comma do not survive RIS.
Imported papers get the Semantic Scholar id when their URL is an S2 paper page
(or a CSL ``id`` is one), else a ``local:<hash>`` id derived, like the ingest's,
from the arXiv id, the DOI, or the title and year.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kg.core.errors import ExportError
from kg.core.latex import (
    bib_name,
    field_value,
    latex_to_text,
    plain_field,
    quiet_bibtexparser,
    split_authors,
)
from kg.core.model import LOCAL_PREFIX, Author, Paper, is_s2_paper_id
from kg.formats.csvsafe import csv_text

__all__ = [
    "FORMATS",
    "ExportFormat",
    "ImportResult",
    "ImportedEntry",
    "NameParts",
    "citation_keys",
    "entry_kind",
    "export",
    "format_for",
    "format_for_path",
    "import_papers",
    "read_entries",
    "split_name",
    "tex_escape",
    "tex_to_text",
]


# --------------------------------------------------------------------------- formats
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


# --------------------------------------------------------------------------- text helpers
def _clean(text: str | None) -> str:
    """Whitespace collapsed to single spaces (formats without paragraphs)."""
    return " ".join(text.split()) if text else ""


def _ascii_fold(text: str) -> str:
    """Lowercase ASCII letters and digits only (``Kramár`` -> ``kramar``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    special = {"ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe"}
    decomposed = "".join(special.get(ch, ch) for ch in decomposed)
    decomposed = decomposed.replace("ł", "l").replace("Ł", "l").replace("đ", "d")
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]", "", ascii_text)


def _norm_title(title: str) -> str:
    folded = unicodedata.normalize("NFKD", title.casefold())
    return "".join(ch for ch in folded if ch.isalnum())


def _valid_date(text: str | None) -> str | None:
    if not text or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        return None
    return text


def _dedupe(papers: Sequence[Paper]) -> list[Paper]:
    seen: set[str] = set()
    out: list[Paper] = []
    for paper in papers:
        if paper.paper_id not in seen:
            seen.add(paper.paper_id)
            out.append(paper)
    return out


_ARXIV_VENUE = re.compile(r"^\s*arxiv(?:\.org)?\b", re.I)
_CONFERENCE_VENUE = re.compile(
    r"\b(conference|proceedings|workshop|symposium|meeting|congress|neurips|nips|icml|iclr|"
    r"acl|emnlp|naacl|eacl|coling|aaai|ijcai|cvpr|iccv|eccv|kdd|sigir|www|uai|aistats|colt|"
    r"interspeech|icassp|blackboxnlp)\b",
    re.I,
)


def entry_kind(paper: Paper) -> str:
    """``inproceedings``, ``article`` or ``misc`` (preprints, papers without a venue)."""
    venue = paper.venue or paper.journal or ""
    types = set(paper.publication_types)
    arxiv_only = not venue or bool(_ARXIV_VENUE.match(venue))
    if "Conference" in types:
        return "inproceedings"
    if arxiv_only:
        return "misc"
    if types & {"JournalArticle", "Review"}:
        return "article"
    return "inproceedings" if _CONFERENCE_VENUE.search(venue) else "article"


_KIND_TYPES = {"inproceedings": ("Conference",), "article": ("JournalArticle",), "misc": ()}


# --------------------------------------------------------------------------- names
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


@dataclass(frozen=True)
class NameParts:
    """A display name split for citation formats: ``given von-family, suffix``.

    ``literal`` names (a comma or the word "and" in them) are kept whole.
    Joining ``given``, ``family`` and ``suffix`` with spaces gives the name back.
    """

    given: str
    family: str
    suffix: str = ""
    literal: bool = False


def split_name(name: str) -> NameParts:
    """``Ludwig van Beethoven`` -> given ``Ludwig``, family ``van Beethoven``;
    ``Martin Luther King Jr.`` -> suffix ``Jr.``; one word -> family only."""
    name = _clean(name)
    tokens = name.split(" ")
    if "," in name or any(t.lower() == "and" for t in tokens):
        return NameParts("", name, "", literal=True)
    if len(tokens) == 1:
        return NameParts("", name)
    suffix = ""
    if len(tokens) >= 3 and tokens[-1].lower() in _SUFFIXES:
        suffix = tokens.pop()
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1][:1].islower():
        start -= 1
    return NameParts(" ".join(tokens[:start]), " ".join(tokens[start:]), suffix)


def _join_name(*parts: str) -> str:
    return " ".join(p for p in (_clean(x) for x in parts) if p)


def _surname(paper: Paper) -> str:
    if not paper.authors:
        return ""
    parts = split_name(paper.authors[0].name)
    words = parts.family.split(" ")
    if parts.literal:
        return words[0] if words else ""
    return words[-1]


# --------------------------------------------------------------------------- keys
_STOPWORDS = frozenset(
    str.split(
        "a an the on of in for to and or with without via from by at as is are be do does did "
        "can what how why when where which who whom toward towards into onto over under about "
        "between through using its it this that these those not no your our their we you i "
        "all any some more most"
    )
)


def _base_key(paper: Paper) -> str:
    who = _ascii_fold(_surname(paper)) or "anon"
    year = str(paper.year) if paper.year is not None else "nd"
    word = ""
    for raw in re.split(r"[\s\-\u2010-\u2015:/.,;!?()\[\]{}'\"`]+", paper.title):
        folded = _ascii_fold(raw)
        if folded and folded not in _STOPWORDS:
            word = folded
            break
    return f"{who}{year}{word}"


def _letters(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa (bijective base 26)."""
    out = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("a") + rem) + out
    return out


def citation_keys(papers: Sequence[Paper]) -> dict[str, str]:
    """Stable BibTeX keys by paper id: ``wang2022interpretability``; papers sharing a key
    get ``a``, ``b``, ... in paper-id order (independent of the list's order)."""
    groups: dict[str, list[str]] = {}
    for paper in _dedupe(papers):
        groups.setdefault(_base_key(paper), []).append(paper.paper_id)
    keys: dict[str, str] = {}
    used: set[str] = {base for base, ids in groups.items() if len(ids) == 1}
    for base in sorted(groups):
        ids = groups[base]
        if len(ids) == 1:
            keys[ids[0]] = base
            continue
        n = 0
        for pid in sorted(ids):
            while (key := base + _letters(n)) in used:
                n += 1
            used.add(key)
            keys[pid] = key
            n += 1
    return keys


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
    words = _clean(title).split(" ")
    return " ".join(
        "{" + tex_escape(w) + "}" if _needs_protection(w) else tex_escape(w) for w in words
    )


def _tex_name(name: str) -> str:
    parts = split_name(name)
    if parts.literal or parts.family.lower() == "others":
        return "{" + tex_escape(_clean(name)) + "}"
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


# --------------------------------------------------------------------------- ids
_S2_URL = re.compile(r"semanticscholar\.org/paper/(?:[^/?#]*/)?([0-9a-fA-F]{40})(?:[/?#]|$)")
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/([^?#\s]+?)(?:v\d+)?(?:\.pdf)?/?(?:[?#]|$)", re.I)
_ARXIV_TEXT = re.compile(
    r"\barxiv\s*[:/]?\s*([0-9]{4}\.[0-9]{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/[0-9]{7})(?:v\d+)?",
    re.I,
)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.I)


def _strip_arxiv(value: str) -> str:
    value = value.strip()
    value = re.sub(r"^arxiv\s*:\s*", "", value, flags=re.I)
    return re.sub(r"v\d+$", "", value) if re.match(r"^\d{4}\.\d{4,5}v\d+$", value) else value


def _s2_id_from_url(url: str | None) -> str | None:
    m = _S2_URL.search(url or "")
    return m.group(1).lower() if m else None


def _arxiv_url(arxiv: str) -> str:
    return f"https://arxiv.org/abs/{arxiv}"


def _s2_url(paper_id: str) -> str:
    return f"https://www.semanticscholar.org/paper/{paper_id}"


def _local_id(arxiv: str | None, doi: str | None, title: str, year: int | None) -> str:
    """As the ingest mints them: from the arXiv id, else the DOI, else title and year."""
    if arxiv:
        basis = f"ARXIV:{arxiv}"
    elif doi:
        basis = f"DOI:{doi.lower()}"
    else:
        basis = f"{_norm_title(title)}|{year or ''}"
    return LOCAL_PREFIX + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def _imported(
    *,
    title: str,
    authors: Sequence[str],
    year: int | None,
    venue: str | None,
    journal: str | None = None,
    doi: str | None,
    arxiv: str | None,
    url: str | None,
    abstract: str | None,
    tags: Sequence[str],
    publication_date: str | None,
    kind: str,
    s2_id: str | None = None,
) -> Paper:
    external: dict[str, str] = {}
    if arxiv:
        external["ArXiv"] = arxiv
    if doi:
        external["DOI"] = doi
    s2_id = s2_id or _s2_id_from_url(url)
    paper_id = s2_id if s2_id and is_s2_paper_id(s2_id) else _local_id(arxiv, doi, title, year)
    return Paper(
        paper_id=paper_id,
        title=title,
        abstract=abstract or None,
        year=year,
        venue=venue or None,
        authors=tuple(Author(a) for a in authors if a),
        external_ids=external,
        url=url or None,
        publication_date=_valid_date(publication_date),
        publication_types=_KIND_TYPES.get(kind, ()),
        journal=journal or None,
        tags=tuple(dict.fromkeys(t for t in tags if t)),
        resolved=paper_id == s2_id,
    )


def _year(text: str | None) -> int | None:
    m = re.search(r"\b\d{4}\b", text or "") or re.search(r"\d{1,4}", text or "")
    return int(m.group(0)) if m else None


# --------------------------------------------------------------------------- import API
@dataclass(frozen=True)
class ImportedEntry:
    """One paper read from a file, with the note it carried (BibTeX ``annote``, RIS ``N1``,
    CSL ``annote``)."""

    paper: Paper
    note: str | None = None


@dataclass(frozen=True)
class ImportResult:
    """What a file held: its papers in file order, and what could not be read (each a
    message naming the entry and why)."""

    entries: tuple[ImportedEntry, ...]
    skipped: tuple[str, ...] = ()

    @property
    def papers(self) -> list[Paper]:
        return [e.paper for e in self.entries]


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
        return _read_bibtex(text)
    if key == "ris":
        return _read_ris(text)
    return _read_csl(text)


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
    items = _dedupe(papers)
    notes = notes or {}
    reasons = reasons or {}
    if key == "bibtex":
        return _bibtex(items, notes)
    if key == "ris":
        return _ris(items, notes)
    if key == "csl-json":
        return _csl(items, notes)
    if key == "markdown":
        return _markdown(items, notes, reasons, title)
    return _csv(items, notes, reasons)


def _reason_text(value: str | Sequence[str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _clean(value)
    return "; ".join(_clean(v) for v in value if _clean(v))


def _venue(paper: Paper) -> str:
    return _clean(paper.venue or paper.journal)


# --------------------------------------------------------------------------- BibTeX
_UNRESOLVED_NOTE = "Not resolved on Semantic Scholar (local record)"


def _bibtex(papers: Sequence[Paper], notes: Mapping[str, str]) -> str:
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

        add("author", " and ".join(_tex_name(a.name) for a in paper.authors if _clean(a.name)))
        add("title", _tex_title(paper.title))
        add("year", str(paper.year) if paper.year is not None else None)
        add("date", _valid_date(paper.publication_date))
        venue = tex_escape(_venue(paper))
        add({"article": "journal", "inproceedings": "booktitle"}.get(kind, "howpublished"), venue)
        add("doi", _tex_verbatim(paper.doi or ""))
        if paper.arxiv_id:
            add("eprint", _tex_verbatim(paper.arxiv_id))
            add("archiveprefix", "arXiv")
        add("url", _tex_verbatim(paper.url or ""))
        add("abstract", tex_escape(_clean(paper.abstract)))
        add("keywords", ", ".join(tex_escape(_clean(t)) for t in paper.tags if _clean(t)))
        if not paper.resolved:
            add("note", _UNRESOLVED_NOTE)
        add("annote", tex_escape(_clean(notes.get(paper.paper_id))))
        library.add(Entry(kind, keys[paper.paper_id], fields))
    if not papers:
        return ""
    layout = BibtexFormat()
    layout.indent = "  "
    layout.block_separator = "\n"
    return bibtexparser.write_string(library, bibtex_format=layout)


_BIB_HINT = "a BibTeX file holds entries like @article{key, title = {...}, author = {...}}"


def _read_bibtex(text: str) -> ImportResult:
    import bibtexparser
    from bibtexparser.model import Entry, ParsingFailedBlock

    if not re.search(r"@\s*[A-Za-z]+\s*[{(]", text):
        raise ExportError(f"not BibTeX: no @entries found; {_BIB_HINT}")
    try:
        with quiet_bibtexparser():
            library = bibtexparser.parse_string(text)
    except Exception as exc:
        raise ExportError(f"the BibTeX could not be parsed ({exc}); {_BIB_HINT}") from exc
    entries: list[ImportedEntry] = []
    skipped: list[str] = []
    blocks = sorted(library.blocks, key=lambda b: b.start_line or 0)
    for block in blocks:
        line = (block.start_line or 0) + 1
        entry: Any = block
        if isinstance(block, ParsingFailedBlock):
            entry = block.ignore_error_block
            if not isinstance(entry, Entry):
                raw = (block.raw or "").strip().splitlines()
                what = raw[0][:60] if raw else "an entry"
                skipped.append(f"line {line}: could not parse {what} ({block.error})")
                continue
        if not isinstance(entry, Entry):
            continue
        fields: dict[str, str] = {}
        for fld in entry.fields:
            # recovered entries did not go through the middlewares: still enclosed
            value = field_value(fld.value, enclosed=entry is not block)
            fields.setdefault(str(fld.key).strip().lower(), value)
        title = tex_to_text(fields.get("title", ""))
        if not title:
            skipped.append(f"line {line}: entry {entry.key} has no title")
            continue
        entries.append(_bib_entry(str(entry.entry_type).lower(), fields, title))
    if not entries and not skipped:
        raise ExportError(f"not BibTeX: no entries could be read; {_BIB_HINT}")
    if not entries:
        raise ExportError(f"no BibTeX entry could be read ({skipped[0]}); {_BIB_HINT}")
    return ImportResult(tuple(entries), tuple(skipped))


def _bib_arxiv(f: Mapping[str, str], url: str | None) -> str | None:
    eprint = plain_field(f.get("eprint", ""))
    prefix = plain_field(f.get("archiveprefix", "") or f.get("eprinttype", "")).lower()
    if eprint and prefix in ("arxiv", ""):
        return _strip_arxiv(eprint)
    if arxivid := plain_field(f.get("arxivid", "")):
        return _strip_arxiv(arxivid)
    for name in ("journal", "note", "howpublished", "number"):
        if m := _ARXIV_TEXT.search(f.get(name, "")):
            return m.group(1)
    if m := _ARXIV_URL.search(url or ""):
        return m.group(1)
    if m := _ARXIV_DOI.match(plain_field(f.get("doi", ""))):
        return _strip_arxiv(m.group(1))
    return None


def _bib_entry(kind: str, f: Mapping[str, str], title: str) -> ImportedEntry:
    authors = [
        bib_name(a, ligatures=False, letters_only=False) for a in split_authors(f.get("author", ""))
    ]
    url = plain_field(f.get("url", "")) or None
    doi = plain_field(f.get("doi", "")) or None
    if doi:
        doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", doi, flags=re.I)
    journal = tex_to_text(f.get("journal", "")) or None
    venue = journal or tex_to_text(f.get("booktitle", "") or f.get("howpublished", "")) or None
    pub_date = _valid_date(plain_field(f.get("date", "")))
    year = _year(f.get("year")) if f.get("year") else _year(pub_date)
    keywords = [tex_to_text(k) for k in re.split(r"[,;]", f.get("keywords", ""))]
    kind = kind if kind in _KIND_TYPES else "misc"
    paper = _imported(
        title=title,
        authors=[a for a in authors if a],
        year=year,
        venue=venue,
        journal=journal if kind == "article" else None,
        doi=doi,
        arxiv=_bib_arxiv(f, url),
        url=url,
        abstract=tex_to_text(f.get("abstract", "")) or None,
        tags=keywords,
        publication_date=pub_date,
        kind=kind,
    )
    return ImportedEntry(paper, tex_to_text(f.get("annote", "")) or None)


# --------------------------------------------------------------------------- RIS
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
        return _clean(name)
    pieces = [parts.family, parts.given] if parts.given or parts.suffix else [parts.family]
    if parts.suffix:
        pieces.append(parts.suffix)
    return ", ".join(pieces)


def _ris(papers: Sequence[Paper], notes: Mapping[str, str]) -> str:
    lines: list[str] = []
    for paper in papers:
        kind = entry_kind(paper)

        def add(tag: str, value: str | None) -> None:
            value = _clean(value)
            if value:
                lines.append(f"{tag}  - {value}")

        lines.append(f"TY  - {_RIS_TYPES[kind]}")
        for author in paper.authors:
            add("AU", _ris_name(author.name))
        add("TI", paper.title)
        add("PY", f"{paper.year:04d}" if paper.year is not None else None)
        if pub := _valid_date(paper.publication_date):
            add("DA", pub.replace("-", "/") + "/")
        add("T2", _venue(paper))
        if kind == "article":
            add("JO", _venue(paper))
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


def _read_ris(text: str) -> ImportResult:
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
        return _join_name(parts[1], parts[0])
    return _join_name(parts[1], parts[0], *parts[2:])


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
    arxiv = None
    for value in [*every("AN"), *every("M1", "M3"), *every("UR", "L2"), *every("N1")]:
        m = _ARXIV_TEXT.search(value) or _ARXIV_URL.search(value)
        if m:
            arxiv = m.group(1)
            break
    date_text = first("DA", "Y1", "PY") or ""
    pub_date = None
    if m := re.match(r"^(\d{4})/(\d{2})/(\d{2})", date_text):
        pub_date = _valid_date("-".join(m.groups()))
    year = _year(first("PY", "Y1", "DA"))
    kind = _RIS_KINDS.get(fields[0][1].upper(), "misc")
    venue = first("T2", "JO", "JF", "JA", "BT", "T3")
    doi = first("DO")
    if doi:
        doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", doi, flags=re.I)
    paper = _imported(
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
        s2_id=next((v for v in every("ID") if is_s2_paper_id(v.lower())), None),
    )
    notes = [v for v in every("N1") if not _ARXIV_TEXT.fullmatch(v)]
    return ImportedEntry(paper, " ".join(notes) or None)


# --------------------------------------------------------------------------- CSL-JSON
_CSL_TYPES = {"article": "article-journal", "inproceedings": "paper-conference", "misc": "article"}
_CSL_KINDS = {
    "article-journal": "article",
    "article-magazine": "article",
    "article-newspaper": "article",
    "paper-conference": "inproceedings",
}


def _csl_name(name: str) -> dict[str, str]:
    parts = split_name(name)
    if parts.literal:
        return {"literal": _clean(name)}
    out = {"family": parts.family}
    if parts.given:
        out["given"] = parts.given
    if parts.suffix:
        out["suffix"] = parts.suffix
    return out


def _csl(papers: Sequence[Paper], notes: Mapping[str, str]) -> str:
    keys = citation_keys(papers)
    items: list[dict[str, Any]] = []
    for paper in papers:
        kind = entry_kind(paper)
        item: dict[str, Any] = {
            "id": keys[paper.paper_id],
            "type": _CSL_TYPES[kind],
            "title": paper.title,
        }
        if paper.authors:
            item["author"] = [_csl_name(a.name) for a in paper.authors if _clean(a.name)]
        if pub := _valid_date(paper.publication_date):
            item["issued"] = {"date-parts": [[int(x) for x in pub.split("-")]]}
        elif paper.year is not None:
            item["issued"] = {"date-parts": [[paper.year]]}
        if venue := _venue(paper):
            item["container-title"] = venue
        extra: list[str] = []
        if paper.arxiv_id:
            if kind == "misc":
                item["number"] = f"arXiv:{paper.arxiv_id}"
                item["publisher"] = "arXiv"
            else:
                extra.append(f"arXiv: {paper.arxiv_id}")
        if paper.doi:
            item["DOI"] = paper.doi
        if paper.url:
            item["URL"] = paper.url
        if paper.abstract:
            item["abstract"] = paper.abstract
        if paper.tags:
            item["keyword"] = ", ".join(_clean(t) for t in paper.tags if _clean(t))
        if not paper.resolved:
            extra.append(_UNRESOLVED_NOTE)
        if extra:
            item["note"] = "\n".join(extra)
        if note := notes.get(paper.paper_id):
            item["annote"] = note
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def _read_csl(text: str) -> ImportResult:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportError(
            f"not CSL-JSON: invalid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "export the items as CSL JSON from your reference manager"
        ) from exc
    if isinstance(doc, dict):
        doc = doc.get("items", [doc])
    if not isinstance(doc, list):
        raise ExportError("not CSL-JSON: expected a list of items; export CSL JSON again")
    entries: list[ImportedEntry] = []
    skipped: list[str] = []
    for n, item in enumerate(doc, 1):
        if not isinstance(item, dict):
            skipped.append(f"item {n}: not an object")
            continue
        title = _csl_str(item.get("title"))
        if not title:
            skipped.append(f"item {n} ({_csl_str(item.get('id')) or 'no id'}): has no title")
            continue
        entries.append(_csl_entry(item, title))
    if not entries:
        detail = f" ({skipped[0]})" if skipped else ""
        raise ExportError(f"no CSL-JSON item could be read{detail}; each item needs a title")
    return ImportResult(tuple(entries), tuple(skipped))


def _csl_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _csl_entry(item: Mapping[str, Any], title: str) -> ImportedEntry:
    authors: list[str] = []
    people = item.get("author")
    for person in people if isinstance(people, list) else []:
        if not isinstance(person, dict):
            continue
        if literal := _csl_str(person.get("literal")):
            authors.append(literal)
            continue
        authors.append(
            _join_name(
                *(
                    _csl_str(person.get(k))
                    for k in (
                        "given",
                        "dropping-particle",
                        "non-dropping-particle",
                        "family",
                        "suffix",
                    )
                )
            )
        )
    year: int | None = None
    pub_date: str | None = None
    issued = item.get("issued")
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            nums = [n for n in (_year(_csl_str(x)) for x in parts[0][:3]) if n is not None]
            year = nums[0] if nums else None
            if len(nums) == 3:
                pub_date = _valid_date(f"{nums[0]:04d}-{nums[1]:02d}-{nums[2]:02d}")
        elif raw := _csl_str(issued.get("raw") or issued.get("literal")):
            year = _year(raw)
    note = _csl_str(item.get("note"))
    arxiv = None
    number = _csl_str(item.get("number"))
    for value in (number, note, _csl_str(item.get("URL"))):
        m = _ARXIV_TEXT.search(value) or _ARXIV_URL.search(value)
        if m:
            arxiv = m.group(1)
            break
    kind = _CSL_KINDS.get(_csl_str(item.get("type")), "misc")
    venue = _csl_str(item.get("container-title")) or None
    keyword = _csl_str(item.get("keyword"))
    csl_id = _csl_str(item.get("id")).lower()
    paper = _imported(
        title=title,
        authors=authors,
        year=year,
        venue=venue,
        journal=venue if kind == "article" else None,
        doi=_csl_str(item.get("DOI")) or None,
        arxiv=arxiv,
        url=_csl_str(item.get("URL")) or None,
        abstract=_csl_str(item.get("abstract")) or None,
        tags=[k.strip() for k in re.split(r"[,;]", keyword)],
        publication_date=pub_date,
        kind=kind,
        s2_id=csl_id if is_s2_paper_id(csl_id) else None,
    )
    return ImportedEntry(paper, _csl_str(item.get("annote")) or None)


# --------------------------------------------------------------------------- Markdown
_MD_SPECIALS = re.compile(r"([\\`*_\[\]<>|~$])")


def _md(text: str) -> str:
    return _MD_SPECIALS.sub(r"\\\1", _clean(text))


_MD_URL_ESCAPES = re.compile(r"[\x00-\x20()<>\\\x7f]")


def _md_url(url: str) -> str:
    """A link target Markdown cannot end early: spaces, controls, ``()<>\\`` are
    percent-encoded."""
    return _MD_URL_ESCAPES.sub(lambda m: f"%{ord(m.group()):02X}", url)


def web_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) address, else ``None``: a ``javascript:`` or
    ``data:`` link from an S2 record or a BibTeX file must not become a clickable link."""
    text = (url or "").strip()
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in ("http", "https") and rest.startswith("//") and len(rest) > 2:
        return text
    return None


def _link(paper: Paper) -> str | None:
    if web_url(paper.url):
        return web_url(paper.url)
    if paper.arxiv_id:
        return _arxiv_url(paper.arxiv_id)
    if paper.doi:
        return f"https://doi.org/{paper.doi}"
    if is_s2_paper_id(paper.paper_id):
        return _s2_url(paper.paper_id)
    return None


def _authors_short(paper: Paper, limit: int = 3) -> str:
    names = [_clean(a.name) for a in paper.authors if _clean(a.name)]
    if len(names) > limit:
        return ", ".join(names[:limit]) + " et al."
    return ", ".join(names)


def _markdown(
    papers: Sequence[Paper],
    notes: Mapping[str, str],
    reasons: Mapping[str, str | Sequence[str]],
    title: str | None,
) -> str:
    lines = [f"# {_md(title or 'Reading list')}", ""]
    if not papers:
        lines.append("*(empty)*")
    for n, paper in enumerate(papers, 1):
        link = _link(paper)
        head = f"[{_md(paper.title)}]({_md_url(link)})" if link else _md(paper.title)
        lines.append(f"{n}. {head}")
        byline = [
            x
            for x in (
                _md(_authors_short(paper)),
                str(paper.year) if paper.year is not None else "",
                f"*{_md(_venue(paper))}*" if _venue(paper) else "",
            )
            if x
        ]
        if byline:
            lines.append("   - " + " · ".join(byline))
        ids = []
        if paper.arxiv_id:
            ids.append(f"arXiv: [{_md(paper.arxiv_id)}]({_md_url(_arxiv_url(paper.arxiv_id))})")
        if paper.doi:
            ids.append(f"DOI: [{_md(paper.doi)}]({_md_url('https://doi.org/' + paper.doi)})")
        if ids:
            lines.append("   - " + " · ".join(ids))
        if note := _clean(notes.get(paper.paper_id)):
            lines.append(f"   - Note: {_md(note)}")
        if why := _reason_text(reasons.get(paper.paper_id)):
            lines.append(f"   - Why: {_md(why)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CSV
CSV_COLUMNS = (
    "position",
    "title",
    "authors",
    "year",
    "venue",
    "doi",
    "arxiv",
    "s2_id",
    "url",
    "note",
    "reason",
)


def _csv(
    papers: Sequence[Paper],
    notes: Mapping[str, str],
    reasons: Mapping[str, str | Sequence[str]],
) -> str:
    rows: list[list[str]] = [list(CSV_COLUMNS)]
    for n, paper in enumerate(papers, 1):
        rows.append(
            [
                str(n),
                _clean(paper.title),
                "; ".join(_clean(a.name) for a in paper.authors if _clean(a.name)),
                str(paper.year) if paper.year is not None else "",
                _venue(paper),
                paper.doi or "",
                paper.arxiv_id or "",
                paper.paper_id if is_s2_paper_id(paper.paper_id) else "",
                paper.url or "",
                _clean(notes.get(paper.paper_id)),
                _reason_text(reasons.get(paper.paper_id)),
            ]
        )
    return csv_text(rows)
