"""The ``litkg`` command line: a thin typer adapter over the library.

Each command parses its options, calls one library function, and prints.
Errors from the library (``kg.LitkgError``: ingest's and kg's) are shown as one
clear message and exit code 2; they never print a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from kg.core.errors import ConfigError, LitkgError

if TYPE_CHECKING:
    from kg.api import Litkg

app = typer.Typer(
    name="litkg",
    help="litkg: a literature knowledge graph and 'what to read next' recommender.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


#: What an interrupted command leaves behind, by command (the default: nothing changed).
_INTERRUPTED = {
    "ingest": "everything fetched so far is stored; run the same command to resume",
    "build": "the previous build stays readable (each artefact is replaced whole); run "
    "`litkg build` again to finish",
    "import_list": "the list is as it was before, or has every paper of the file",
}


def _os_message(exc: OSError) -> str | None:
    """A message for the file-system failures anyone can hit (disk full, read-only)."""
    import errno

    where = f": {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"disk full{where}. Free some space (or point LITKG_DATA_DIR elsewhere) and run "
            f"the command again; what was written before stays intact."
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"read-only{where} ({exc.strerror}); make it writable or use another data dir."
    return None


def _friendly(func: F) -> F:
    """Turn library errors into one line on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import sqlite3

        try:
            return func(*args, **kwargs)
        except LitkgError as exc:
            message = str(exc)
        except OSError as exc:
            known = _os_message(exc)
            if known is None:
                raise
            message = known
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            message = (
                f"disk full ({exc}). Free some space and run the command again; SQLite "
                f"rolled back the unfinished transaction, so what was stored before is intact."
            )
        except sqlite3.DatabaseError as exc:  # a damaged page read after the store opened
            if not any(w in str(exc) for w in ("malformed", "not a database", "corrupt")):
                raise
            message = (
                f"an SQLite file of the data dir is damaged ({exc}). Check it with "
                f"`sqlite3 FILE 'PRAGMA quick_check'`; a damaged corpus.sqlite is rebuilt by "
                f"moving it aside and running `litkg ingest` again (the S2 response cache makes "
                f"that fast)."
            )
        except RecursionError:
            message = (
                "the input is nested too deeply to read (thousands of brackets or "
                "parentheses); check the file or the query for unbalanced nesting."
            )
        except KeyboardInterrupt:
            left = _INTERRUPTED.get(func.__name__, "nothing was changed")
            typer.secho(f"interrupted: {left}", err=True)
            raise typer.Exit(code=130) from None
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def _settings() -> Any:
    from kg.core.settings import Settings

    return Settings.from_env()


def _library() -> Litkg:
    """The data dir the environment names, as the Python API's one object: commands
    read their input, call it (or a view) and print."""
    import kg

    return kg.open(settings=_settings())


def exposure_warning(host: str) -> str | None:
    """The warning for an address other machines can reach (``None`` for loopback)."""
    if host.strip().lower().strip("[]") in ("127.0.0.1", "localhost", "::1"):
        return None
    return (
        f"warning: listening on {host}: anyone who can reach this port can read the graph, "
        f"run SPARQL queries and change reading lists (the app has no login)"
    )


@app.command()
@_friendly
def ingest(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Seed page (DokuWiki/Markdown), BibTeX/Zotero export, or id list; or a live "
            "Zotero library: zotero:users/<id>[/collections/<key or name>], zotero-local:. "
            "Default: the bundled mechanistic-interpretability seed list.",
        ),
    ] = None,
    depth: Annotated[
        int, typer.Option(help="0: seeds only; 1: + references and citations; 2: + theirs")
    ] = 1,
    max_citations: Annotated[
        int, typer.Option(help="Citing papers kept per paper (ranked by influence)")
    ] = 100,
    max_references: Annotated[int, typer.Option(help="Referenced papers kept per paper")] = 100,
    budget: Annotated[int, typer.Option(help="Overall cap on papers in the corpus")] = 20_000,
    close: Annotated[
        bool,
        typer.Option(
            help="Fetch every paper's reference list (batched) and store the edges among "
            "the corpus, so co-citation and coupling score every paper"
        ),
    ] = True,
    cocited_min: Annotated[
        int,
        typer.Option(
            help="Add a paper cited alongside a seed by at least this many of its citing papers"
        ),
    ] = 3,
    cocited_max: Annotated[
        int, typer.Option(help="Most papers added by co-citation, most co-cited first (0: none)")
    ] = 300,
    offline: Annotated[
        bool,
        typer.Option(
            help="Do not call S2: keep the listed papers (BibTeX entries, seed-page links) "
            "as local papers"
        ),
    ] = False,
    fallback_offline: Annotated[
        bool,
        typer.Option(
            help="If S2 cannot be reached, keep the listed papers as local papers "
            "(a later online run resolves them)"
        ),
    ] = False,
    refresh: Annotated[
        str | None, typer.Option(help="Re-fetch cached S2 answers older than this (e.g. 30d, 12h)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Resolve listed papers on Semantic Scholar and fetch their citation neighbourhood."""
    from ingest.s2 import parse_duration

    summary = _library().ingest(
        sources or (),
        depth=depth,
        max_citations=max_citations,
        max_references=max_references,
        budget=budget,
        close=close,
        cocited_min=cocited_min,
        cocited_max=cocited_max,
        offline=offline,
        fallback_offline=fallback_offline,
        refresh_older_than=parse_duration(refresh) if refresh else None,
        progress=progress and sys.stderr.isatty(),
        echo=lambda m: typer.echo(m, err=True),
    )
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        for line in summary.lines():
            typer.echo(line)


@app.command()
@_friendly
def status(
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Counts of papers, edges, seeds and unresolved listings; the last fetch; the
    recommender's weights in force and why."""
    now = _library().status()
    st, sources, weights = now.corpus, now.seed_sources, now.weights
    if fmt == "json":
        data = st.as_dict() | {
            "seed_sources": sources,
            "weights": {"source": weights.source, "why": weights.why, "weights": weights.weights},
            "writing": now.writing,
        }
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if fmt != "text":
        raise ConfigError(f"--format must be text or json, not {fmt!r}")
    typer.echo(f"Corpus: {st.path}")
    typer.echo(
        f"Papers: {st.papers} ({st.papers_full} with full details, "
        f"{st.papers_unresolved} local-only, {st.with_abstract} with abstract, "
        f"{st.with_specter} with SPECTER vectors)"
    )
    typer.echo(f"Citation edges: {st.citations}")
    typer.echo(
        f"Seeds: {st.seeds} listed: {st.seeds_resolved} resolved, "
        f"{st.seeds_unresolved} unresolved, {st.seeds_low_confidence} low confidence, "
        f"{st.seeds_offline} offline"
    )
    if sources:
        typer.echo("Seed sources: " + ", ".join(f"{name} ({n})" for name, n in sources.items()))
    typer.echo(f"Last fetch: {st.last_fetch or 'never'}")
    typer.echo(weights.line())
    if now.writing:
        typer.echo(f"Writing now: {now.writing} (these counts change when it finishes)")


@app.command()
@_friendly
def build(
    rebuild: Annotated[
        bool, typer.Option(help="Reload every RDF graph, not only changed ones")
    ] = False,
    no_rdf: Annotated[bool, typer.Option("--no-rdf", help="Skip the RDF store")] = False,
    tune: Annotated[
        bool, typer.Option(help="Fit the recommender's fusion weights on the built graph")
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show progress bars")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Build the knowledge graph: embeddings, topics, RDF store (only new work on re-runs)."""
    report = _library().build(
        progress=progress and sys.stderr.isatty(),
        rdf=not no_rdf,
        rebuild=rebuild,
        tune=tune,
        echo=lambda m: typer.echo(m, err=True),
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            typer.echo(line)


@app.command()
@_friendly
def sources(
    paths: Annotated[list[Path], typer.Argument(help="Files (or zotero: sources) to parse")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Parse sources and list the papers they name, without calling S2."""
    from ingest.pipeline import load_sources

    refs, skipped, _ = load_sources(paths)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "papers": [
                        {
                            "title": r.title,
                            "ids": list(r.ids),
                            "url": r.url,
                            "section": list(r.section_path),
                            "year": r.year,
                        }
                        for r in refs
                    ],
                    "skipped": [
                        {"text": s.text, "url": s.url, "reason": s.reason} for s in skipped
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    for r in refs:
        section = " > ".join(r.section_path) or "-"
        typer.echo(f"{r.position:3d}  [{section}]  {r.title}  {' '.join(r.ids)}")
    for s in skipped:
        typer.echo(f"skip  {s.text} ({s.reason})")


def _register_command_modules() -> None:
    """Commands of other rooms live in their own modules, each registering on ``app``."""
    import importlib

    for name in (
        "app.cli_graph",
        "app.cli_recommend",
        "app.cli_export",
        "app.cli_app",
        "app.cli_mcp",
        "app.cli_snapshot",
        "app.cli_zotero",
        "app.cli_watch",
        "app.cli_bulk",
    ):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


_register_command_modules()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    # ``python -m app.cli`` runs this file as ``__main__``, a second copy of the module:
    # the command modules registered on ``app.cli``'s ``app``, so run that one.
    from app.cli import main as registered_main

    registered_main()
