"""The ``litkg`` command line: a thin typer adapter over the library.

Each command parses its options, calls one library function, and prints.
Errors from the library (``IngestError``, ``KGError``) are shown as one
clear message and exit code 2; they never print a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ingest.errors import IngestError
from kg.errors import KGError

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
        except (IngestError, KGError, ValueError) as exc:
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
    from kg.settings import Settings

    return Settings.from_env()


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
            help="Seed page (DokuWiki/Markdown), BibTeX/Zotero export, or id list. "
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
    from ingest.crawl import CrawlPolicy
    from ingest.pipeline import run_ingest
    from ingest.s2 import S2Client, parse_duration
    from kg.fileio import writer_lock

    settings = _settings()
    policy = CrawlPolicy(
        depth=depth,
        max_citations=max_citations,
        max_references=max_references,
        paper_budget=budget,
        close=close,
        cocited_min=cocited_min,
        cocited_max=cocited_max,
    )
    client = None
    with writer_lock(settings.data_dir, "ingest"):  # taken before the S2 cache is opened
        try:
            if not offline:
                client = S2Client(
                    settings, refresh_older_than=parse_duration(refresh) if refresh else None
                )
            summary = run_ingest(
                sources,
                settings=settings,
                client=client,
                policy=policy,
                offline=offline,
                fallback_offline=fallback_offline,
                progress=progress and sys.stderr.isatty(),
                echo=lambda m: typer.echo(m, err=True),
            )
        finally:
            if client is not None:
                client.close()
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
    from kg.build import weights_status
    from kg.corpus import CorpusStore
    from kg.fileio import lock_holder

    settings = _settings()
    weights = weights_status(settings)
    with CorpusStore(settings.corpus_path, create=False) as store:
        st = store.status()
        sources: dict[str, int] = {}
        for seed in store.seeds():
            sources[seed.source] = sources.get(seed.source, 0) + 1
    if fmt == "json":
        data = st.as_dict() | {
            "seed_sources": sources,
            "weights": {"source": weights.source, "why": weights.why, "weights": weights.weights},
            "writing": lock_holder(settings.data_dir),
        }
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if fmt != "text":
        raise ValueError(f"--format must be text or json, not {fmt!r}")
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
    if writer := lock_holder(settings.data_dir):
        typer.echo(f"Writing now: {writer} (these counts change when it finishes)")


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
    from kg.build import build as run_build

    report = run_build(
        _settings(),
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
    paths: Annotated[list[Path], typer.Argument(help="Files to parse")],
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
    main()
