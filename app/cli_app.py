"""``litkg app``: serve the Streamlit app (``app/Home.py`` and ``app/pages``) locally."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cli import _friendly, _settings, app, exposure_warning
from kg.core.errors import ConfigError

HOME = Path(__file__).resolve().with_name("Home.py")
#: The port ``litkg app`` serves on unless ``--port`` or ``LITKG_APP_PORT`` says otherwise.
DEFAULT_PORT = 8501


def streamlit_command(port: int, host: str) -> list[str]:
    """The ``streamlit run`` command line: headless, no usage statistics, no file watcher,
    error details kept to the console (the pages show library errors themselves)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(HOME),
        f"--server.port={port}",
        f"--server.address={host}",
        "--server.headless=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        f"--browser.serverAddress={host}",
        f"--browser.serverPort={port}",
        "--client.showErrorDetails=none",
        "--client.toolbarMode=minimal",
        "--runner.magicEnabled=false",
        "--global.developmentMode=false",
    ]


@app.command("app")
@_friendly
def app_cmd(
    port: Annotated[
        int, typer.Option(envvar="LITKG_APP_PORT", help="Port to serve on")
    ] = DEFAULT_PORT,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only)")
    ] = "127.0.0.1",
) -> None:
    """Open the app: explore the graph, get recommendations, topics, SPARQL, reading lists."""
    if not 0 < port < 65536:
        raise ConfigError(f"--port (or LITKG_APP_PORT) must be between 1 and 65535, not {port}")
    settings = _settings()  # a bad setting fails here, with its message
    typer.echo(f"litkg app on http://{host}:{port} (data: {settings.data_dir}); Ctrl+C stops it")
    if warning := exposure_warning(host):
        typer.secho(warning, err=True, fg=typer.colors.YELLOW)
    env = dict(os.environ)
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    proc = subprocess.Popen(streamlit_command(port, host), env=env)

    def stop(signum: int, frame: object) -> None:  # a SIGTERM to litkg stops the server too
        proc.terminate()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # Ctrl+C reaches streamlit too; let it finish cleanly
        try:
            code = proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            code = proc.wait()
        code = 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code and code != -signal.SIGTERM:
        raise typer.Exit(code=code)
