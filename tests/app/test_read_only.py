"""A read-only data dir (a mounted backup, a shared folder): readers work, writers say
"read-only: <path>" (never "corrupt"), and a second writer on one data dir is refused
with a message naming the first.

The data dir is made read-only for real: ``chmod -R a-w`` for an ordinary user, a
read-only bind mount in a private mount namespace (``unshare -m``) for root, whom
permissions do not stop. The commands run as subprocesses of the ``litkg`` CLI."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = tempfile.mkdtemp()
    try:
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", _MOUNT, probe, "sh", "-c", f"! touch {probe}/x"],
            capture_output=True,
            timeout=30,
        )
        return done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


@pytest.fixture(scope="module")
def how() -> str:
    if os.geteuid() != 0:
        return "chmod"
    if _can_mount():
        return "mount"
    pytest.skip("running as root without mount namespaces: cannot make a read-only dir")


@pytest.fixture
def data_dir(built_graph: Path) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="litkg-ro-"))
    root.chmod(0o755)
    data = root / "data"
    shutil.copytree(built_graph, data)
    yield data
    for path in [data, *data.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    shutil.rmtree(root, ignore_errors=True)


def litkg(
    how: str, data: Path, *args: str, read_only: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LITKG_DATA_DIR": str(data),
        "PYTHONPATH": str(REPO),
        "S2_API_URL": "http://127.0.0.1:9",
    }
    cmd = [sys.executable, "-c", "from app.cli import main; main()", *args]
    if not read_only:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if how == "mount":
        cmd = ["unshare", "-m", "sh", "-c", _MOUNT, str(data), *cmd]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    paths = [data, *data.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _a_seed(data: Path) -> str:
    from kg.store.corpus import CorpusStore

    with CorpusStore(data / "corpus.sqlite", create=False) as store:
        return store.seed_paper_ids()[0]


def test_readers_work_on_a_read_only_data_dir(how: str, data_dir: Path) -> None:
    seed = _a_seed(data_dir)
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*"))
    status = litkg(how, data_dir, "status")
    assert status.returncode == 0, status.stderr
    assert "Papers:" in status.stdout
    rec = litkg(how, data_dir, "recommend", "--read", seed, "-k", "3", "--format", "json")
    assert rec.returncode == 0, rec.stderr
    assert json.loads(rec.stdout)
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    sparql = litkg(how, data_dir, "sparql", query, "--format", "csv")
    assert sparql.returncode == 0, sparql.stderr
    for done in (status, rec, sparql):
        assert "corrupt" not in done.stderr.lower() and "Traceback" not in done.stderr
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*")) == before


@pytest.mark.parametrize(
    "args",
    [
        ("build", "--no-rdf", "--no-progress"),
        ("ingest", "--offline", "IDS"),
        ("import-list", "x", "BIB"),
    ],
)
def test_writers_say_read_only(how: str, data_dir: Path, args: tuple[str, ...]) -> None:
    ids = data_dir.parent / "ids.txt"
    ids.write_text("10.1234/abc\n")
    bib = data_dir.parent / "refs.bib"
    bib.write_text("@article{a, title={A paper}, year={2020}}\n")
    args = tuple({"IDS": str(ids), "BIB": str(bib)}.get(a, a) for a in args)
    done = litkg(how, data_dir, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"read-only: {data_dir}" in done.stderr
    assert "corrupt" not in done.stderr.lower() and "Traceback" not in done.stderr


def test_a_second_writer_is_refused_with_a_message(data_dir: Path) -> None:
    from kg.core.errors import DataDirBusy
    from kg.core.fileio import lock_holder, writer_lock

    assert lock_holder(data_dir) is None
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from kg.core.fileio import writer_lock\n"
            "with writer_lock(Path(sys.argv[1]), 'ingest'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(data_dir),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert "litkg ingest" in (lock_holder(data_dir) or "")
        busy = pytest.raises(DataDirBusy, match="being written by `litkg ingest`, pid")
        with busy, writer_lock(data_dir, "build"):
            pass
        done = litkg("", data_dir, "build", "--no-rdf", "--no-progress", read_only=False)
        assert done.returncode == 2 and "one writer at a time" in done.stderr
    finally:
        holder.kill()  # kill -9: the kernel drops the lock with the process
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert lock_holder(data_dir) is None
    with writer_lock(data_dir, "build"), writer_lock(data_dir, "build"):  # re-entrant
        assert "`litkg build`" in (lock_holder(data_dir) or "")


def test_another_thread_is_another_writer(tmp_path: Path) -> None:
    import threading

    from kg.core.errors import DataDirBusy
    from kg.core.fileio import writer_lock

    seen: list[BaseException] = []

    def second() -> None:
        try:
            with writer_lock(tmp_path, "build"):
                pass
        except DataDirBusy as exc:
            seen.append(exc)

    with writer_lock(tmp_path, "ingest"):
        t = threading.Thread(target=second)
        t.start()
        t.join(10)
    assert len(seen) == 1 and "one writer at a time" in str(seen[0])
    second()  # free again
    assert len(seen) == 1
