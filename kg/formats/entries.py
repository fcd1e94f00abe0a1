"""The common ground of the reading-list formats: a paper as a citation entry (its kind,
its authors' name parts, its stable citation key) and an entry read back as a paper
(:class:`ImportedEntry`, :class:`ImportResult`, :func:`imported_paper`).

BibTeX keys are stable: ``<first author's surname><year><first significant title
word>``, ASCII-folded and lowercased (``wang2022interpretability``; ``anon`` without an
author, ``nd`` without a year). Papers that share a key get ``a``, ``b``, ... in the order
of their paper ids, so the same set of papers always gets the same keys, whatever order
the list is in (CSL-JSON uses them as item ids).

Imported papers get the Semantic Scholar id when their URL is an S2 paper page (or a CSL
``id`` is one), else a ``local:<hash>`` id (:func:`kg.core.ids.local_paper_id`, as the
ingest mints them) from their identifiers, or their title and year.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from kg.core.ids import doi_ids, doi_key, local_paper_id, normalise_doi, s2_id_from_url
from kg.core.model import Author, Paper, is_s2_paper_id

__all__ = [
    "KIND_TYPES",
    "UNRESOLVED_NOTE",
    "ImportResult",
    "ImportedEntry",
    "NameParts",
    "citation_keys",
    "clean",
    "dedupe",
    "entry_kind",
    "imported_paper",
    "join_name",
    "parse_year",
    "reason_text",
    "split_name",
    "typed_ids",
    "valid_date",
    "venue_of",
]


# --------------------------------------------------------------------------- text helpers
def clean(text: str | None) -> str:
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


def valid_date(text: str | None) -> str | None:
    """``text`` when it is a real ``YYYY-MM-DD`` date, else None."""
    if not text or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        return None
    return text


def dedupe(papers: Sequence[Paper]) -> list[Paper]:
    """``papers`` in order, each paper id once."""
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


KIND_TYPES = {"inproceedings": ("Conference",), "article": ("JournalArticle",), "misc": ()}


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
    name = clean(name)
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


def join_name(*parts: str) -> str:
    """Name parts joined by single spaces, empty ones left out."""
    return " ".join(p for p in (clean(x) for x in parts) if p)


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
    for paper in dedupe(papers):
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


# --------------------------------------------------------------------------- imported papers
def imported_paper(
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
    ids: Sequence[str] = (),
    s2_id: str | None = None,
    local_id: str | None = None,
) -> Paper:
    """The paper an imported entry stands for. Its id is the S2 id (``s2_id``, or an S2
    paper page ``url``), else ``local_id`` when the format derives one itself, else the
    ``local:`` id of its canonical ``ids`` (:func:`kg.core.ids.local_paper_id`;
    :func:`typed_ids` makes them from an arXiv id and a DOI), or of its title and year."""
    external: dict[str, str] = {}
    if arxiv:
        external["ArXiv"] = arxiv
    if doi:
        external["DOI"] = doi
    s2_id = s2_id or s2_id_from_url(url)
    if s2_id and is_s2_paper_id(s2_id):
        paper_id = s2_id
    else:
        paper_id = local_id or local_paper_id(ids, title, year)
    return Paper(
        paper_id=paper_id,
        title=title,
        abstract=abstract or None,
        year=year,
        venue=venue or None,
        authors=tuple(Author(a) for a in authors if a),
        external_ids=external,
        url=url or None,
        publication_date=valid_date(publication_date),
        publication_types=KIND_TYPES.get(kind, ()),
        journal=journal or None,
        tags=tuple(dict.fromkeys(t for t in tags if t)),
        resolved=paper_id == s2_id,
    )


def typed_ids(arxiv: str | None, doi: str | None) -> list[str]:
    """The canonical ids of an entry's arXiv id and DOI (``ARXIV:...``, ``DOI:...``)."""
    ids = [f"ARXIV:{arxiv}"] if arxiv else []
    if doi and (valid := normalise_doi(doi)):
        ids.extend(doi_ids(valid))  # an arXiv DOI names the arXiv id too, as in the ingest
    elif doi:
        ids.append(f"DOI:{doi_key(doi)}")
    return ids


def parse_year(text: str | None) -> int | None:
    """The first four-digit number in ``text`` (else the first number), or None."""
    m = re.search(r"\b\d{4}\b", text or "") or re.search(r"\d{1,4}", text or "")
    return int(m.group(0)) if m else None


# --------------------------------------------------------------------------- what a file held
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


# --------------------------------------------------------------------------- export text
def reason_text(value: str | Sequence[str] | None) -> str:
    """Why a paper is on the list, as one line (several reasons joined with ``; ``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean(value)
    return "; ".join(clean(v) for v in value if clean(v))


def venue_of(paper: Paper) -> str:
    """The venue, else the journal, whitespace collapsed."""
    return clean(paper.venue or paper.journal)


#: The note BibTeX and CSL-JSON give a paper that Semantic Scholar did not resolve.
UNRESOLVED_NOTE = "Not resolved on Semantic Scholar (local record)"
