"""``litkg snapshot export`` and ``litkg snapshot import`` through typer's CliRunner, and
the pinning promise: two fresh data dirs built from one snapshot recommend alike."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import app
from kg.core.fileio import writer_lock
from kg.store.corpus import CorpusStore

#: Fields of `litkg recommend --format json` that measure time, not content (none today).
TIMING = ("seconds", "ms", "elapsed")


def run(*args: str, data_dir: Path) -> tuple[int, str, str]:
    env = {"LITKG_DATA_DIR": str(data_dir), "LITKG_EMBED_BACKEND": "fake"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def strip_timing(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [strip_timing(v) for v in value]
    return value


@pytest.fixture
def source(built_graph: Path, tmp_path: Path) -> Path:
    """A private copy of the small built graph (fake embedder)."""
    target = tmp_path / "source"
    shutil.copytree(built_graph, target)
    return target


def test_export_import_build_recommend_is_pinned(source: Path, tmp_path: Path) -> None:
    code, out, err = run("snapshot", "export", str(tmp_path / "lab.tar.gz"), data_dir=source)
    assert code == 0, err
    assert "Snapshot of the whole corpus written to" in out and "fake-bow-16" in out

    with CorpusStore(source / "corpus.sqlite") as store:
        read = store.seed_paper_ids()[0]
    outputs = []
    for name in ("alice", "bob"):
        data = tmp_path / name
        code, out, err = run("snapshot", "import", str(tmp_path / "lab.tar.gz"), data_dir=data)
        assert code == 0, err
        assert "merged:" in out
        code, out, err = run("build", data_dir=data)
        assert code == 0, err + out
        assert "Embeddings: 0 new, 10 from cache" in out  # the snapshot's were used
        code, out, err = run("recommend", "--read", read, "--format", "json", data_dir=data)
        assert code == 0, err
        outputs.append(strip_timing(json.loads(out)))
    assert outputs[0]["recommendations"], "nothing recommended: the test would prove nothing"
    assert outputs[0] == outputs[1]

    # and the import is idempotent through the CLI too
    lab = str(tmp_path / "lab.tar.gz")
    code, out, _ = run("snapshot", "import", lab, data_dir=tmp_path / "bob")
    assert code == 0 and "nothing new" in out


def test_list_export_through_the_cli(source: Path, tmp_path: Path) -> None:
    code, out, err = run(
        "snapshot", "export", str(tmp_path / "part"), "--list", "seeds.md", data_dir=source
    )
    assert code == 0, err
    assert "reading list 'seeds.md' and its neighbourhood" in out
    manifest = json.loads((tmp_path / "part" / "manifest.json").read_text())
    assert manifest["list"] == "seeds.md" and manifest["counts"]["papers"] > 0
    # only that source's seed rows (the corpus has the id list's too)
    assert [s["name"] for s in manifest["sources"] if s["kind"] == "seeds"] == ["seeds.md"]


def test_errors_are_one_line_with_the_fix(source: Path, tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    assert run("snapshot", "export", str(snap), data_dir=source)[0] == 0
    code, _, err = run("snapshot", "export", str(snap), data_dir=source)
    assert code == 2 and "already exists" in err

    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["format_version"] = 7
    (snap / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run("snapshot", "import", str(snap), data_dir=tmp_path / "d")
    assert code == 2
    assert "snapshot format 7 is newer than this litkg reads (1): upgrade litkg" in err
    assert "Traceback" not in err


def test_import_takes_the_writer_lock(source: Path, tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    assert run("snapshot", "export", str(snap), data_dir=source)[0] == 0
    target = tmp_path / "busy"
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with writer_lock(target, "build"):
            held.set()
            done.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        code, _, err = run("snapshot", "import", str(snap), data_dir=target)
    finally:
        done.set()
        thread.join()
    assert code == 2 and "is being written by `litkg build`" in err
    assert not (target / "corpus.sqlite").exists()


def test_snapshot_starter_says_in_one_line_what_it_did(source: Path, tmp_path: Path) -> None:
    """Over a corpus with S2 papers it imports nothing; into an empty one, the starter."""
    with CorpusStore(source / "corpus.sqlite", create=False) as store:
        before = store.status()
    code, out, _ = run("snapshot", "starter", data_dir=source)
    assert code == 0 and len(out.strip().splitlines()) == 1
    assert out.startswith(
        f"starter snapshot not imported: the corpus holds {before.papers_full:,} Semantic "
        "Scholar papers"
    )
    with CorpusStore(source / "corpus.sqlite", create=False) as store:
        assert store.status() == before and store.snapshot_imports() == []
    code, out, _ = run("snapshot", "starter", data_dir=tmp_path / "empty")
    assert code == 0 and out.startswith("starter snapshot imported: ") and "text only" in out
