"""Rules of the house, checked: the library never imports its adapters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ADAPTERS = {"streamlit", "typer", "app", "mcp"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


LIBRARY = sorted((REPO / "kg").rglob("*.py")) + sorted((REPO / "ingest").rglob("*.py"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(REPO)))
def test_library_does_not_import_adapters(path: Path) -> None:
    bad = imports_of(path) & ADAPTERS
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}: kg/ingest must stay UI-free"


@pytest.mark.parametrize(
    "path", sorted((REPO / "kg").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO))
)
def test_kg_does_not_import_ingest(path: Path) -> None:
    assert "ingest" not in imports_of(path), "data flows ingest -> kg, never back up"


#: The library's HTTP clients: Semantic Scholar and Zotero, both in ingest.
HTTP_CLIENTS = {"ingest/s2.py", "ingest/zotero.py"}


def test_only_the_ingest_clients_speak_http() -> None:
    for path in LIBRARY:
        if path.relative_to(REPO).as_posix() in HTTP_CLIENTS:
            continue
        assert not imports_of(path) & {"httpx", "requests", "urllib3"}, path
    for name in HTTP_CLIENTS:
        assert "httpx" in imports_of(REPO / name), f"{name} is listed as an HTTP client"


def test_no_machine_paths_in_repo() -> None:
    """No absolute path of a developer's machine in any tracked file."""
    import subprocess

    try:
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    needles = ("/work/", "/root/", "/home/")
    for name in listed:
        path = REPO / name
        if path == Path(__file__) or not path.is_file():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for needle in needles:
            assert needle not in text, f"{name} contains a machine path {needle}"
