"""``litkg snapshot export`` and ``litkg snapshot import``: portable corpus snapshots.

Thin adapters over :mod:`kg.portable.archive`. One person with an S2 key ingests and exports;
the others import (a folder, a ``.tar``/``.tar.gz``, or an https URL) and build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli import _friendly, _library, app

snapshot_app = typer.Typer(
    name="snapshot",
    help="Portable corpus snapshots (Parquet + manifest): export one, or import one.",
    no_args_is_help=True,
)
app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("export")
@_friendly
def snapshot_export(
    path: Annotated[
        Path,
        typer.Argument(help="Where to write it: a new folder, or a file ending .tar or .tar.gz"),
    ],
    list_name: Annotated[
        str | None,
        typer.Option(
            "--list",
            help="Only this reading list (a seed source, or one of `litkg list`) and the "
            "papers citing or cited by its papers",
        ),
    ] = None,
) -> None:
    """Write the corpus (or one reading list and its neighbourhood) as a snapshot."""
    report = _library().export_snapshot(path, list_name=list_name)
    for line in report.lines():
        typer.echo(line)


@snapshot_app.command("import")
@_friendly
def snapshot_import(
    source: Annotated[
        str, typer.Argument(help="A snapshot folder, .tar/.tar.gz file, or https:// URL")
    ],
) -> None:
    """Check a snapshot (format, checksums) and merge it into the corpus (idempotent)."""
    report = _library().import_snapshot(source)
    for line in report.lines():
        typer.echo(line)


@snapshot_app.command("starter")
@_friendly
def snapshot_starter(
    source: Annotated[
        Path | None,
        typer.Argument(help="A starter snapshot (default: the bundled data/starter/snapshot)"),
    ] = None,
) -> None:
    """Import the bundled starter snapshot into an empty corpus (never over one you built);
    says in one line what it did. `make run` calls it after the ingest."""
    typer.echo(_library().import_starter(source).message)
