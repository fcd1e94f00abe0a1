"""``litkg watch``: alerts for new papers citing a reading list (or the seeds).

A thin adapter over :meth:`kg.api.Litkg.watch` (fetch, rank, remember) and
:func:`kg.recommend.watch.write_atom`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli import _friendly, _settings, app


@app.command()
@_friendly
def watch(
    list_name: Annotated[
        str | None,
        typer.Option(
            "--list",
            help="Watch this reading list (or seed source); default: every seed",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Papers published since this year or date (2025, 2025-03-01); default: "
            "since the last run (a year back on the first)",
        ),
    ] = None,
    min_cites: Annotated[
        int, typer.Option(help="How many watched papers a new paper must cite")
    ] = 2,
    k: Annotated[int, typer.Option("-k", "--k", help="Most new papers to list")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    atom: Annotated[
        Path | None,
        typer.Option(help="Also write the recent alerts as an Atom feed to this file"),
    ] = None,
    refresh: Annotated[
        str,
        typer.Option(help="Ask S2 again for citation pages cached longer ago than this"),
    ] = "12h",
    include_shown: Annotated[
        bool, typer.Option("--all", help="List papers shown by earlier runs too")
    ] = False,
) -> None:
    """New papers citing at least N papers of a reading list, ranked, with reasons; each
    run lists only papers no earlier run showed."""
    import kg as litkg
    from app.cli_recommend import load_graph
    from ingest.s2 import S2Client, parse_duration
    from kg.core.errors import ConfigError
    from kg.recommend.watch import WatchState, write_atom
    from kg.views.search import query_embedder

    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, not {fmt!r}")
    settings = _settings()
    graph = load_graph()
    with S2Client(settings, refresh_older_than=parse_duration(refresh)) as client:
        lib = litkg.open(
            settings=settings,
            graph=graph,
            s2=client,
            embedder=query_embedder(settings, graph),
        )
        report = lib.watch(
            list_name=list_name,
            since=since,
            min_cites=min_cites,
            k=k,
            include_shown=include_shown,
        )
    if atom is not None:
        state = WatchState.load(settings)
        write_atom(
            atom,
            state.recent_items(),
            title="litkg: new papers citing your reading lists",
            feed_id="urn:litkg:watch",
        )
    if fmt == "json":
        data = report.as_dict()
        data["atom"] = str(atom) if atom is not None else None
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for line in report.lines():
        typer.echo(line)
    if atom is not None:
        typer.echo(f"Atom feed: {atom}")
