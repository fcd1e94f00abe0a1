"""``litkg zotero push``: a reading list written into a Zotero collection.

Reading goes through ``litkg ingest zotero:users/<id>`` (see :mod:`ingest.zotero`);
this thin adapter writes: the list's papers become items of the collection, each
with a child note holding the list's note for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli import _friendly, _settings, app

zotero_app = typer.Typer(
    name="zotero",
    help="Zotero: push a reading list into a collection (read one with "
    "`litkg ingest zotero:users/<id>`).",
    no_args_is_help=True,
)
app.add_typer(zotero_app, name="zotero")


@zotero_app.command("push")
@_friendly
def zotero_push(
    list_name: Annotated[str, typer.Argument(help="The reading list (see `litkg list`)")],
    collection: Annotated[
        str | None,
        typer.Option(
            help="The Zotero collection to fill (created if missing); default: the list's name"
        ),
    ] = None,
    library: Annotated[
        str | None,
        typer.Option(
            help="users/<id> or groups/<id>; default: ZOTERO_LIBRARY_TYPE and ZOTERO_LIBRARY_ID"
        ),
    ] = None,
) -> None:
    """Put a reading list's papers into a Zotero collection, with litkg's notes; a second
    push adds only what is new."""
    from ingest.zotero import (
        PUSHES_FILE,
        PushPaper,
        client_for,
        parse_spec,
        push_papers,
        remember_collection,
        remembered_collection,
    )
    from kg.store.corpus import CorpusStore
    from kg.store.readinglists import ReadingLists

    settings = _settings()
    lst = ReadingLists.open(settings).get(list_name)
    target = collection or lst.name
    lib = parse_spec(f"zotero:{library or ''}")
    papers: list[PushPaper] = []
    missing: list[str] = []
    with CorpusStore(settings.corpus_path, create=False) as store:
        for item in lst.items:
            paper = store.get_paper(item.paper_id)
            if paper is None:
                missing.append(item.paper_id)
            else:
                papers.append(PushPaper(paper, item.note))
    memory = Path(settings.data_dir) / PUSHES_FILE
    with client_for(lib) as client:
        report = push_papers(
            client,
            lib,
            target,
            papers,
            list_name=lst.name,
            collection_key=remembered_collection(memory, lib, target),
        )
    remember_collection(memory, lib, target, report.collection_key)
    for line in report.lines():
        typer.echo(line)
    if missing:
        typer.echo(
            f"Not in the corpus, not pushed ({len(missing)}): {', '.join(missing)}; "
            "run `litkg ingest` first",
            err=True,
        )
