"""``litkg export`` and the reading-list commands (``list``, ``list-add``, ``list-remove``,
``list-move``, ``list-note``, ``list-rename``, ``list-delete``, ``import-list``).

Thin adapters over :mod:`kg.formats.registry` and :mod:`kg.store.readinglists`; papers come
from the corpus store (``litkg ingest`` fills it).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli import _friendly, _settings, app
from kg.core.errors import ExportError


def _store(settings: Any) -> Any:
    from kg.store.corpus import CorpusStore

    return CorpusStore(settings.corpus_path, create=False)


def _lists(settings: Any) -> Any:
    """The reading lists, through the Python API's object for the data dir."""
    import kg

    return kg.open(settings=settings).lists


def _split_ids(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out.extend(v for v in re.split(r"[\s,]+", value) if v)
    return out


def _write_out(text: str, output: str) -> None:
    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(path)
    except OSError as exc:
        raise ExportError(f"cannot write {path} ({exc.strerror or exc}); check the path") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


@app.command("export")
@_friendly
def export_cmd(
    name: Annotated[
        str | None, typer.Argument(help="Reading list to export (see `litkg list`)")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="bibtex, ris, csl-json, markdown or csv (default: from the -o extension, "
            "else bibtex)",
        ),
    ] = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write; - for stdout")
    ] = "-",
    ids: Annotated[
        list[str] | None,
        typer.Option(
            "--ids", help="Export these papers instead of a list (repeatable; comma-separated ok)"
        ),
    ] = None,
) -> None:
    """Export a reading list (or --ids papers) as BibTeX, RIS, CSL-JSON, Markdown or CSV."""
    from kg.formats.registry import FORMATS, format_for, format_for_path

    wanted = _split_ids(ids)
    if (name is None) == (not wanted):
        raise ExportError("give a reading-list NAME or --ids ID ..., not both or neither")
    key = format_for(fmt) if fmt else (format_for_path(output) if output != "-" else None)
    key = key or "bibtex"
    import kg

    done = kg.open(settings=_settings()).export(name if name is not None else wanted, key)
    for pid in done.missing:
        typer.secho(f"warning: {pid} is not in the corpus (any more); left out", err=True)
    text, papers = done.text, done.papers
    _write_out(text, output)
    if output != "-":
        typer.echo(f"Wrote {len(papers)} papers to {output} ({FORMATS[key].label})", err=True)


@app.command("list")
@_friendly
def list_cmd(
    name: Annotated[str | None, typer.Argument(help="Show this list (default: all lists)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Show the reading lists, or the papers on one."""
    settings = _settings()
    lists = _lists(settings)
    if name is None:
        every = lists.all()
        if as_json:
            summary = [
                {"name": lst.name, "papers": len(lst), "updated_at": lst.updated_at}
                for lst in every
            ]
            typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
            return
        if not every:
            typer.echo("No reading lists yet; add papers with `litkg list-add NAME ID ...`")
        for lst in every:
            typer.echo(f"{lst.name}  ({len(lst)} papers, updated {lst.updated_at or '-'})")
        return
    lst = lists.get(name)
    titles: dict[str, str] = {}
    if settings.corpus_path.exists():
        with _store(settings) as store:
            for pid in lst.paper_ids:
                paper = store.get_paper(pid)
                if paper is not None:
                    titles[pid] = paper.short_label()
    if as_json:
        doc = {
            "name": lst.name,
            "created_at": lst.created_at,
            "updated_at": lst.updated_at,
            "items": [
                {
                    "position": n,
                    "paper_id": item.paper_id,
                    "label": titles.get(item.paper_id),
                    "note": item.note,
                    "added_at": item.added_at,
                }
                for n, item in enumerate(lst.items, 1)
            ],
        }
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{lst.name} ({len(lst)} papers)")
    for n, item in enumerate(lst.items, 1):
        label = titles.get(item.paper_id, "(not in the corpus)")
        typer.echo(f"{n:3d}. {label}  [{item.paper_id}]")
        if item.note:
            typer.echo(f"     note: {item.note}")


@app.command("list-add")
@_friendly
def list_add(
    name: Annotated[str, typer.Argument(help="Reading list (made if missing)")],
    ids: Annotated[list[str], typer.Argument(help="Paper ids, DOI:..., ARXIV:...")],
    note: Annotated[str | None, typer.Option(help="A note on each added paper")] = None,
) -> None:
    """Add papers to a reading list (papers already on it are left as they are)."""
    import kg

    lib = kg.open(settings=_settings())
    lists = lib.lists
    resolved = lib.stored_ids(_split_ids(ids))
    existed = lists.find(name) is not None
    added = lists.add_many(name, resolved, dict.fromkeys(resolved, note), create=True)
    final = lists.get(name).name
    if not existed:
        typer.echo(f"Created reading list {final!r}")
    typer.echo(f"Added {len(added)} papers to {final!r}")
    for pid in dict.fromkeys(resolved):
        if pid not in added:
            typer.echo(f"  already listed: {pid}")


@app.command("list-remove")
@_friendly
def list_remove(
    name: Annotated[str, typer.Argument(help="Reading list")],
    ids: Annotated[list[str], typer.Argument(help="Paper ids to take off")],
) -> None:
    """Take papers off a reading list."""
    lists = _lists(_settings())
    for pid in _split_ids(ids):
        if lists.remove(name, pid):
            typer.echo(f"Removed {pid}")
        else:
            typer.echo(f"{pid} was not on the list", err=True)


@app.command("list-move")
@_friendly
def list_move(
    name: Annotated[str, typer.Argument(help="Reading list")],
    paper_id: Annotated[str, typer.Argument(help="Paper id on the list")],
    position: Annotated[int, typer.Argument(help="New position, from 1")],
) -> None:
    """Move a paper to another position on a reading list."""
    lst = _lists(_settings()).move(name, paper_id, position - 1)
    typer.echo(f"{paper_id} is now number {lst.paper_ids.index(paper_id) + 1} on {lst.name!r}")


@app.command("list-note")
@_friendly
def list_note(
    name: Annotated[str, typer.Argument(help="Reading list")],
    paper_id: Annotated[str, typer.Argument(help="Paper id on the list")],
    note: Annotated[str, typer.Argument(help="The note (empty to clear it)")],
) -> None:
    """Set or clear the note on a paper of a reading list."""
    _lists(_settings()).set_note(name, paper_id, note)
    typer.echo("Note cleared" if not note.strip() else "Note saved")


@app.command("list-rename")
@_friendly
def list_rename(
    name: Annotated[str, typer.Argument(help="Reading list")],
    new_name: Annotated[str, typer.Argument(help="Its new name")],
) -> None:
    """Rename a reading list."""
    lst = _lists(_settings()).rename(name, new_name)
    typer.echo(f"Renamed to {lst.name!r}")


@app.command("list-delete")
@_friendly
def list_delete(name: Annotated[str, typer.Argument(help="Reading list")]) -> None:
    """Delete a reading list (the papers stay in the corpus)."""
    lists = _lists(_settings())
    final = lists.get(name).name
    lists.delete(name)
    typer.echo(f"Deleted reading list {final!r}")


@app.command("import-list")
@_friendly
def import_list(
    name: Annotated[str, typer.Argument(help="Reading list to add to (made if missing)")],
    path: Annotated[Path, typer.Argument(help="BibTeX (.bib), RIS (.ris) or CSL-JSON (.json)")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="bibtex, ris or csl-json (default: from the extension)"
        ),
    ] = None,
) -> None:
    """Add a BibTeX/RIS/CSL-JSON file's papers to a list (matched by id, DOI, arXiv, title)."""
    from kg.core.fileio import writer_lock
    from kg.formats.registry import read_entries

    key = fmt or _sniff(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: cannot be read as UTF-8 text ({exc}); re-save it") from exc
    result = read_entries(text, key)
    settings = _settings()
    lists = _lists(settings)
    with writer_lock(settings.data_dir, "import-list"), _store(settings) as store:
        report = lists.import_papers(
            name, result.papers, store, notes=[e.note for e in result.entries]
        )
    if report.created:
        typer.echo(f"Created reading list {report.name!r}")
    typer.echo(
        f"{path.name}: {len(result.entries)} papers read, {len(report.added)} added to "
        f"{report.name!r}, {len(report.already_listed)} already listed, "
        f"{len(report.unmatched)} not in the corpus"
    )
    for paper in report.unmatched:
        ids = " ".join(f"{k}:{v}" for k, v in paper.external_ids.items())
        typer.echo(f"  not in the corpus: {paper.title} {ids}".rstrip())
    for message in result.skipped:
        typer.echo(f"  skipped: {message}")
    if report.unmatched:
        typer.echo("  (ingest them with `litkg ingest FILE` to add them to the corpus)")


def _sniff(path: Path) -> str:
    from kg.formats.registry import format_for_path

    key = format_for_path(path)
    if key in ("bibtex", "ris", "csl-json"):
        return key
    try:
        head = path.read_text(encoding="utf-8-sig", errors="replace")[:4096].lstrip()
    except OSError:
        head = ""
    if head.startswith(("[", "{")):
        return "csl-json"
    if re.search(r"^TY  -", head, re.M):
        return "ris"
    if "@" in head:
        return "bibtex"
    raise ExportError(f"cannot tell the format of {path}; pass --format bibtex, ris or csl-json")
