"""Shared fixtures. Tests never touch the network; real data is read from ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LITKG_SHARED_DIR", REPO.parent / "shared")).resolve()


def shared_path(*parts: str) -> Path:
    """Path into ../shared, skipping the calling test with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is missing (see shared/PROVENANCE.md)")
    return path


@pytest.fixture
def shared() -> type:
    """Access to ../shared: ``shared.path("corpus", "x.bib")`` skips when missing."""

    class _Shared:
        root = SHARED
        path = staticmethod(shared_path)

    return _Shared


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the user's data dir or API key, or reaches the real API."""
    for var in ("S2_API_KEY", "SEMANTIC_SCHOLAR_API_KEY", "S2_API_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LITKG_DATA_DIR", str(tmp_path / "litkg-data"))
    monkeypatch.setenv("S2_API_URL", "http://127.0.0.1:9")  # discard port: never the internet
    for var in ("ZOTERO_API_KEY", "ZOTERO_LIBRARY_ID", "ZOTERO_LIBRARY_TYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LITKG_ZOTERO_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LITKG_ZOTERO_LOCAL_URL", "http://127.0.0.1:9/api")
