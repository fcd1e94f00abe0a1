"""CSL-JSON out and in: :func:`write_csl`, :func:`read_csl`.

**CSL-JSON** (what Zotero, pandoc and citeproc read): ``id`` is the BibTeX
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
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kg.core.errors import ExportError
from kg.core.ids import arxiv_in_text
from kg.core.model import Paper, is_s2_paper_id
from kg.formats.entries import (
    UNRESOLVED_NOTE,
    ImportedEntry,
    ImportResult,
    citation_keys,
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

__all__ = ["read_csl", "write_csl"]


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
        return {"literal": clean(name)}
    out = {"family": parts.family}
    if parts.given:
        out["given"] = parts.given
    if parts.suffix:
        out["suffix"] = parts.suffix
    return out


def write_csl(papers: Sequence[Paper], notes: Mapping[str, str]) -> str:
    """``papers`` as a CSL-JSON array (item ids are the BibTeX keys)."""
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
            item["author"] = [_csl_name(a.name) for a in paper.authors if clean(a.name)]
        if pub := valid_date(paper.publication_date):
            item["issued"] = {"date-parts": [[int(x) for x in pub.split("-")]]}
        elif paper.year is not None:
            item["issued"] = {"date-parts": [[paper.year]]}
        if venue := venue_of(paper):
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
            item["keyword"] = ", ".join(clean(t) for t in paper.tags if clean(t))
        if not paper.resolved:
            extra.append(UNRESOLVED_NOTE)
        if extra:
            item["note"] = "\n".join(extra)
        if note := notes.get(paper.paper_id):
            item["annote"] = note
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def read_csl(text: str) -> ImportResult:
    """The papers (and ``annote`` notes) of a CSL-JSON array (or ``{"items": [...]}``);
    items without a title are skipped."""
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
            join_name(
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
            nums = [n for n in (parse_year(_csl_str(x)) for x in parts[0][:3]) if n is not None]
            year = nums[0] if nums else None
            if len(nums) == 3:
                pub_date = valid_date(f"{nums[0]:04d}-{nums[1]:02d}-{nums[2]:02d}")
        elif raw := _csl_str(issued.get("raw") or issued.get("literal")):
            year = parse_year(raw)
    note = _csl_str(item.get("note"))
    number = _csl_str(item.get("number"))
    values = (number, note, _csl_str(item.get("URL")))
    arxiv = next(filter(None, map(arxiv_in_text, values)), None)
    kind = _CSL_KINDS.get(_csl_str(item.get("type")), "misc")
    venue = _csl_str(item.get("container-title")) or None
    keyword = _csl_str(item.get("keyword"))
    csl_id = _csl_str(item.get("id")).lower()
    doi = _csl_str(item.get("DOI")) or None
    paper = imported_paper(
        title=title,
        authors=authors,
        year=year,
        venue=venue,
        journal=venue if kind == "article" else None,
        doi=doi,
        arxiv=arxiv,
        url=_csl_str(item.get("URL")) or None,
        abstract=_csl_str(item.get("abstract")) or None,
        tags=[k.strip() for k in re.split(r"[,;]", keyword)],
        publication_date=pub_date,
        kind=kind,
        ids=typed_ids(arxiv, doi),
        s2_id=csl_id if is_s2_paper_id(csl_id) else None,
    )
    return ImportedEntry(paper, _csl_str(item.get("annote")) or None)
