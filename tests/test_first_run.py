"""``make run``'s steps in a fresh copy of the repository with Semantic Scholar unreachable:
the ingest says so in one line, the bundled starter snapshot goes into the empty corpus,
the build embeds nothing, and the app answers healthy over the starter's papers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.app.test_browser import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


def _fresh_copy(dest: Path) -> Path:
    """The repository's files as a clone would have them (tracked and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.mark.slow
def test_make_run_offline_in_a_fresh_clone_opens_a_healthy_app(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of litkg (the test copies its tracked files)")
    repo = _fresh_copy(tmp_path / "litkg")
    assert not (repo / "data" / "corpus.sqlite").exists()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LITKG_") and k not in ("S2_API_KEY", "SEMANTIC_SCHOLAR_API_KEY")
    }
    env.update(S2_API_URL="http://127.0.0.1:9", PYTHONPATH=str(repo), PYTHONWARNINGS="ignore")
    litkg = [sys.executable, "-c", "from app.cli import main; main()"]

    def step(*args: str) -> str:
        done = subprocess.run(
            [*litkg, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"litkg {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    started = time.monotonic()
    ingest = step("ingest", "--fallback-offline")
    assert len([ln for ln in ingest.splitlines() if ln.startswith("S2 unreachable")]) == 1
    starter = step("snapshot", "starter")
    assert starter.strip().startswith("starter snapshot imported: ")
    assert len(starter.strip().splitlines()) == 1
    build = step("build")
    papers = int(re.search(r"^Papers: (\d+)", build, re.M).group(1))  # type: ignore[union-attr]
    assert papers >= 500
    assert re.search(r"^Embeddings: 0 new", build, re.M), build  # the starter's vectors reused

    port = free_port()
    log = (tmp_path / "app.log").open("wb")
    proc = subprocess.Popen(
        [*litkg, "app", "--port", str(port)],
        cwd=repo,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, timeout=120)
        assert time.monotonic() - started < 180
        time.sleep(2)
        assert proc.poll() is None, "the app exited while it should be serving"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()

    from kg.core.settings import Settings
    from kg.views.status import data_origin

    origin = data_origin(Settings.from_env({}, data_dir=repo / "data"))
    assert origin == (
        f"starter snapshot: {papers:,} papers, text only; connect to Semantic Scholar and "
        "press Refresh for citations"
    )
