"""``litkg app``: the port comes from ``--port``, else ``LITKG_APP_PORT``, else 8501."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import app.cli_app as cli_app
from app.cli import app


class _Server:
    """Stands in for the streamlit process: records its command line, exits at once."""

    commands: ClassVar[list[list[str]]] = []

    def __init__(self, command: list[str], **_: Any) -> None:
        self.commands.append(command)

    def wait(self, timeout: float | None = None) -> int:
        return 0


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    _Server.commands = []
    monkeypatch.setattr(cli_app.subprocess, "Popen", _Server)
    monkeypatch.setenv("LITKG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LITKG_APP_PORT", raising=False)
    return _Server.commands


def _port(command: list[str]) -> str:
    return next(a for a in command if a.startswith("--server.port=")).split("=", 1)[1]


def test_port_defaults_to_8501(served: list[list[str]]) -> None:
    result = CliRunner().invoke(app, ["app"])
    assert result.exit_code == 0, result.output
    assert _port(served[0]) == "8501" and "http://127.0.0.1:8501" in result.output


def test_port_from_litkg_app_port_and_option_wins(served: list[list[str]]) -> None:
    result = CliRunner().invoke(app, ["app"], env={"LITKG_APP_PORT": "8765"})
    assert result.exit_code == 0, result.output
    assert _port(served[0]) == "8765" and "http://127.0.0.1:8765" in result.output
    result = CliRunner().invoke(app, ["app", "--port", "9001"], env={"LITKG_APP_PORT": "8765"})
    assert result.exit_code == 0 and _port(served[1]) == "9001"


def test_bad_litkg_app_port_is_named(served: list[list[str]]) -> None:
    result = CliRunner().invoke(app, ["app"], env={"LITKG_APP_PORT": "http"})
    assert result.exit_code != 0 and "LITKG_APP_PORT" in result.output and not served
    result = CliRunner().invoke(app, ["app"], env={"LITKG_APP_PORT": "70000"})
    assert result.exit_code != 0 and "between 1 and 65535" in result.output and not served
