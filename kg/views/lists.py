"""The Reading list page: lists with paper details, export, import, reading-path order and
the lists' RDF mirror (:mod:`kg.store.readinglists` holds the lists)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.core.errors import KGError, ReadingListError
from kg.core.model import Paper
from kg.formats.registry import FORMATS, export, format_for, read_entries
from kg.rdf.lists import write_rdf
from kg.rdf.stores import open_graph
from kg.recommend.path import reading_path
from kg.views.explorer import (
    Explorer,
    authors_text,
)

if TYPE_CHECKING:
    from kg.core.settings import Settings
    from kg.recommend.path import PathStep
    from kg.store.readinglists import ImportReport, ReadingList, ReadingLists


def list_view(ex: Explorer, lst: ReadingList) -> list[dict[str, Any]]:
    """The papers of a list, in order, with their details and notes."""
    rows = []
    for i, item in enumerate(lst.items, 1):
        p = ex.paper(item.paper_id) or _store_paper(ex, item.paper_id)
        rows.append(
            {
                "position": i,
                "paper_id": item.paper_id,
                "title": p.title if p is not None else f"(not in the corpus: {item.paper_id})",
                "authors": authors_text(p) if p is not None else "",
                "year": p.year if p is not None else None,
                "venue": (p.venue or p.journal or "") if p is not None else "",
                "note": item.note or "",
                "added": item.added_at,
            }
        )
    return rows


def _store_paper(ex: Explorer, paper_id: str) -> Paper | None:
    store = ex.store()
    if store is None:
        return None
    with ex.lock:
        return store.get_paper(paper_id)


def list_papers(ex: Explorer, lst: ReadingList) -> list[Paper]:
    out = []
    for pid in lst.paper_ids:
        p = ex.paper(pid) or _store_paper(ex, pid)
        out.append(p if p is not None else Paper(paper_id=pid, title=pid, resolved=False))
    return out


@dataclass(frozen=True)
class Download:
    data: str
    file_name: str
    mime: str
    label: str


def export_list(ex: Explorer, lst: ReadingList, fmt: str) -> Download:
    """A list as BibTeX, RIS, CSL-JSON, Markdown or CSV (:func:`kg.formats.registry.export`)."""

    key = format_for(fmt)
    text = export(list_papers(ex, lst), key, notes=lst.notes, title=lst.name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", lst.name).strip("-.") or "reading-list"
    f = FORMATS[key]
    return Download(text, stem + f.extension, f.mime, f.label)


def export_all(ex: Explorer, lst: ReadingList) -> list[Download]:

    return [export_list(ex, lst, key) for key in FORMATS]


@dataclass(frozen=True)
class ImportOutcome:
    report: ImportReport
    skipped: tuple[str, ...]


def import_into_list(
    ex: Explorer, lists: ReadingLists, name: str, text: str, fmt: str
) -> ImportOutcome:
    """Read BibTeX, RIS or CSL-JSON ``text`` and add the papers found in the corpus (by
    id, DOI, arXiv id or title) to list ``name`` (made when missing)."""

    read = read_entries(text, fmt)
    papers = [e.paper for e in read.entries]
    notes = [e.note for e in read.entries]
    store = ex.store()
    if store is not None:
        with ex.lock:
            report = lists.import_papers(name, papers, store, notes=notes)
    else:
        report = lists.import_papers(name, papers, ex.kg.papers, notes=notes)
    return ImportOutcome(report, read.skipped)


def order_as_path(ex: Explorer, lists: ReadingLists, name: str) -> list[PathStep]:
    """Reorder list ``name`` as a reading path (:func:`kg.recommend.path.reading_path`: what a
    paper builds on comes first); papers not in the graph go last, in their order."""

    lst = lists.get(name)
    known = [pid for pid in lst.paper_ids if ex.canon(pid) in ex.pos]
    if not known:
        raise ReadingListError(
            f"None of the papers on {lst.name!r} is in the built graph; run `litkg build`."
        )
    steps = reading_path(ex.kg, known)
    by_canon = {ex.canon(pid): pid for pid in known}
    ordered = [by_canon.get(ex.canon(s.paper_id), s.paper_id) for s in steps]
    lists.reorder(lst.name, [pid for pid in ordered if pid in set(lst.paper_ids)])
    return steps


def sync_lists_rdf(settings: Settings, lists: ReadingLists) -> str | None:
    """Mirror the lists into the RDF store (:func:`kg.rdf.lists.write_rdf`); returns
    None, or a message saying why the RDF copy could not be updated (the JSON file, the
    lists' home, is saved either way)."""

    if not settings.sparql_query_url and not Path(settings.rdf_path).is_dir():
        return "No RDF store yet (run `litkg build`); the lists are saved on disk."
    try:
        dataset = open_graph(settings, writable=True)
    except KGError as exc:
        return f"The lists are saved on disk, but the RDF copy was not updated: {exc}"
    try:
        write_rdf(lists.all(), dataset)
    except KGError as exc:
        return f"The lists are saved on disk, but the RDF copy was not updated: {exc}"
    finally:
        dataset.close()
    return None


__all__ = [
    "Download",
    "ImportOutcome",
    "export_all",
    "export_list",
    "import_into_list",
    "list_papers",
    "list_view",
    "order_as_path",
    "sync_lists_rdf",
]
