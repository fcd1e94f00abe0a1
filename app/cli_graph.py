"""``litkg sparql``, ``litkg serve`` and ``litkg export-graph``: the knowledge graph's commands.

Registered on the main typer app when ``app.cli`` imports this module.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli import _friendly, _library, _settings, app
from kg.core.errors import KGError, QueryParamError


def _split_params(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise QueryParamError(f"--param {item!r}: write it as name=value")
        out[name.strip().lstrip("?$")] = value
    return out


def _query_text(query: str) -> tuple[str, Any]:
    """(text, canned query or None) for a query string, a file, ``-`` or a canned name."""
    from kg.rdf.canned import find_canned

    if query == "-":
        return sys.stdin.read(), None
    looks_like_name = not any(c in query for c in " \n\t{")
    if looks_like_name:
        canned = find_canned(Path(query).name if query.endswith(".rq") else query)
        path = Path(query)
        if path.is_file():
            return path.read_text(encoding="utf-8"), None
        if canned is not None:
            return canned.text, canned
        if path.suffix in (".rq", ".sparql") or "/" in query:
            raise KGError(
                f"No file {query} and no canned query of that name; `litkg sparql --list` "
                f"lists the canned queries."
            )
    return query, None


@app.command()
@_friendly
def sparql(
    query: Annotated[
        str | None,
        typer.Argument(
            help="SPARQL query text, a .rq file, '-' for stdin, or a canned query name "
            "(see --list).",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="table, csv, tsv, json, xml (turtle, nt: CONSTRUCT)"),
    ] = "table",
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A bound value, name=value (repeatable)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Row cap (default LITKG_SPARQL_MAX_ROWS; 0: none).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds (default LITKG_SPARQL_TIMEOUT; 0: none).")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the canned queries.")] = False,
) -> None:
    """Run a read-only SPARQL query over the knowledge graph."""
    from kg.rdf.canned import canned_queries
    from kg.rdf.results import format_result

    if list_:
        for name, cq in canned_queries().items():
            params = " ".join(
                f"--param {p.name}=<{p.kind}>" if p.required else f"[--param {p.name}=<{p.kind}>]"
                for p in cq.params
            )
            typer.echo(f"{name:26s} {cq.title}")
            if params:
                typer.echo(f"{'':26s}   {params}")
        return
    if not query:
        raise KGError("Give a query, a .rq file or a canned query name (`litkg sparql --list`).")
    text, canned = _query_text(query)
    answer = _library().sparql(
        text, _split_params(param), canned=canned, timeout=timeout, max_rows=limit
    )
    result = answer.result
    typer.echo(format_result(result, fmt), nl=False)
    if result.truncated and fmt != "table":
        typer.secho(
            f"note: truncated at {result.max_rows} rows; raise --limit or LITKG_SPARQL_MAX_ROWS",
            err=True,
        )


@app.command("serve")
@_friendly
def serve_command(
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free one).")] = 7878,
    max_concurrent: Annotated[int, typer.Option(help="Queries running at once.")] = 4,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Another name clients reach this server by (the Host header; repeatable).",
        ),
    ] = None,
) -> None:
    """Serve the knowledge graph as a read-only SPARQL 1.1 endpoint."""
    from kg.rdf.serve import serve
    from kg.rdf.stores import open_graph

    settings = _settings()
    dataset = open_graph(settings)
    try:
        try:
            server = serve(
                dataset,
                host,
                port,
                timeout_s=settings.sparql_timeout,
                max_rows=settings.sparql_max_rows,
                max_concurrent=max_concurrent,
                allow_service=settings.sparql_allow_service,
                allowed_hosts=tuple(allow_host or ()),
            )
        except OSError as exc:
            raise KGError(f"Cannot listen on {host}:{port} ({exc}); pick another --port") from None
        typer.echo(f"SPARQL endpoint: {server.url} (read-only; Ctrl-C stops it)", err=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            typer.secho(
                f"warning: listening on {host}: anyone who can reach this port can query",
                err=True,
                fg=typer.colors.YELLOW,
            )

        def stop(signum: int, frame: object) -> None:  # SIGTERM: stop like Ctrl+C does
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            typer.echo("stopped", err=True)
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.server_close()  # its query workers too
    finally:
        dataset.close()


@app.command("export-graph")
@_friendly
def export_graph_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="turtle, nt, json-ld (the union of the graphs), trig or nquads (named graphs "
            "kept). Default: from the file extension.",
        ),
    ] = None,
) -> None:
    """Export the knowledge graph as an RDF file."""
    from kg.rdf.export import export_format_for, export_graph
    from kg.rdf.stores import open_graph

    key = export_format_for(output, fmt)
    settings = _settings()
    dataset = open_graph(settings)
    try:
        count = export_graph(dataset, output, key)
    finally:
        dataset.close()
    typer.echo(f"Wrote {count:,} statements to {output} ({key})")
