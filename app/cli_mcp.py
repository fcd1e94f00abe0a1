"""``litkg mcp``: serve the knowledge graph to AI assistants over MCP (:mod:`app.mcp_server`).

stdio by default (what an MCP client that spawns ``litkg mcp`` speaks); ``--http`` serves
streamable HTTP on 127.0.0.1 instead.
"""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from app.cli import _friendly, _settings, app, exposure_warning
from kg.core.errors import ConfigError


@app.command("mcp")
@_friendly
def mcp_cmd(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio")
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the HTTP server (with --http)")] = 8765,
    host: Annotated[
        str,
        typer.Option(help="Address of the HTTP server (127.0.0.1: this machine only)"),
    ] = "127.0.0.1",
) -> None:
    """Serve the graph to AI assistants (MCP): search, paper, recommend, reading_path,
    sparql, list_add, list_export; reading lists as resources."""
    from app.mcp_server import serve_http, serve_stdio

    settings = _settings()  # a bad setting fails here, with its message
    if not http:
        serve_stdio(settings)  # stdout carries the protocol: nothing else is printed there
        return
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, not {port}")
    typer.echo(f"litkg MCP server on http://{host}:{port}/mcp; Ctrl+C stops it", err=True)
    if warning := exposure_warning(host):
        typer.secho(warning, err=True, fg=typer.colors.YELLOW)

    def stop(signum: int, frame: object) -> None:  # SIGTERM: stop like Ctrl+C does
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        serve_http(host, port, settings)
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
