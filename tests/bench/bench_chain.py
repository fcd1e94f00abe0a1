"""The whole chain, as a user runs it: a bulk release -> ``litkg bulk`` -> ``litkg snapshot
import`` -> ``litkg build`` -> recommend, each stage a subprocess timed with the peak
resident memory of its process tree (sampled from ``/proc``, :func:`_tree_rss`).

1. **generate**: a **synthetic** S2AG release (``bench_bulk``'s Spark generator, a
   ``SYNTHETIC.txt`` at its root): ``LITKG_BENCH_CHAIN_PAPERS`` papers with abstracts,
   20 citations each, and the SPECTER v2 embeddings dataset (768-d, clustered), under
   ``$TMPDIR``.
2. **bulk**: ``litkg bulk RELEASE --no-seeds --field F ... --max-papers N --depth 0``: the
   filters alone select (the most cited first) ``LITKG_BENCH_CHAIN_SELECT`` papers, as many
   of the five fields of study as that takes; ``--master local[2] --driver-memory 4g``.
3. **import**: ``litkg snapshot import SNAPSHOT`` into a fresh data dir.
4. **build**: ``litkg build`` with the settings' defaults (SPECTER text vectors above the
   field scale, the approximate text index above its threshold, fitted weights), the RDF
   graphs bulk-loaded into an ``oxigraph serve`` the bench starts
   (``LITKG_SPARQL_BULK_URL``); without the ``oxigraph`` binary the RDF step is skipped
   (``--no-rdf``) and the table says so.
5. **recommend**: 50 read sets of 3 random papers, k 10, through ``kg.open().recommend``
   in one process; the first call (it loads the graph and the index) is timed apart.

    python -m tests.bench chain                          # 200k papers from a 1M release
    LITKG_BENCH_CHAIN_PAPERS=100000 LITKG_BENCH_CHAIN_SELECT=20000 python -m tests.bench chain

The stages read the settings from the environment as a user's would: a small trial run
takes the field-scale path with, e.g., ``LITKG_FIELD_SCALE=10000 LITKG_ANN_MIN_PAPERS=10000``.
The peak RSS of the build is the ``litkg build`` process tree's, not the Oxigraph server's.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import kg
from tests.bench.bench_bulk import CITES_PER_PAPER, _tree_rss
from tests.conftest import REPO

FIELDS = ("Computer Science", "Medicine", "Biology", "Physics", "Mathematics")
QUERIES = 50
READ = 3


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from app.cli import main; main()", *args]


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``cmd``; its wall time, the peak RSS of its process tree, its stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, errors = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[3:5])} failed ({proc.returncode}): {errors[-3000:]}")
    return {"seconds": seconds, "peak": peak, "out": output}


@contextlib.contextmanager
def oxigraph(root: Path) -> Iterator[str | None]:
    """An ``oxigraph serve`` on a free local port (its URL), or None without the binary."""
    beside = Path(sys.executable).parent / "oxigraph"
    binary = str(beside) if beside.exists() else shutil.which("oxigraph")
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    location = root / "oxigraph"
    location.mkdir()
    proc = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            ask = f"{base}/query?query=ASK%7B%7D"
            with contextlib.suppress(OSError), urllib.request.urlopen(ask, timeout=1):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("oxigraph serve did not answer within 30 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def recommend_child(data_dir: Path) -> dict[str, Any]:
    """In the recommend subprocess: 50 recommendations through ``kg.open()``."""
    t0 = time.perf_counter()
    lib = kg.open(data_dir)
    ids = sorted(lib.graph.papers)
    rng = np.random.default_rng(3)
    reads = [[ids[j] for j in rng.choice(len(ids), READ, replace=False)] for _ in range(QUERIES)]
    lib.recommend(reads[0], k=10)
    first = time.perf_counter() - t0
    times = []
    for read in reads:
        t = time.perf_counter()
        recs = lib.recommend(read, k=10)
        times.append(time.perf_counter() - t)
        assert len(recs.items) == 10
    ms = np.array(times) * 1000
    return {
        "first": first,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "papers": len(ids),
        "index": lib.graph.text_index_path is not None,
    }


def _pairs(line: str) -> dict[str, int]:
    """``"  papers 3, citations 4"`` -> {"papers": 3, "citations": 4}."""
    out = {}
    for part in line.split(","):
        words = part.split()
        if len(words) == 2 and words[1].isdigit():
            out[words[0]] = int(words[1])
    return out


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f}"


def chain(papers: int, select: int, root: Path) -> list[dict[str, Any]]:
    """Run the five stages; per stage its name, time, peak RSS, rows in and out, load."""
    env = dict(os.environ, PYTHONPATH=str(REPO), LITKG_DATA_DIR=str(root / "data"))
    env.pop("LITKG_SPARQL_BULK_URL", None)
    release, snap = root / "release", root / "snapshot.tar.gz"
    stages: list[dict[str, Any]] = []
    load = _load()
    code = (
        "import json, sys; from pathlib import Path; from tests.bench.bench_bulk import generate; "
        "print(json.dumps(generate(Path(sys.argv[1]), int(sys.argv[2]), embeddings=True)))"
    )
    run = timed([sys.executable, "-c", code, str(release), str(papers)], env)
    gen = json.loads(run["out"].strip().splitlines()[-1])
    stages.append(
        {
            **run,
            "stage": "generate (Spark)",
            "rows_in": "",
            "rows_out": f"{papers:,} papers, {papers * CITES_PER_PAPER:,} citations, "
            f"{papers:,} vectors ({gen['bytes'] / 1e9:.2f} GB gz)",
            "load": load,
        }
    )
    fields = FIELDS[: min(len(FIELDS), math.ceil(select * len(FIELDS) / papers))]
    args = ["bulk", str(release), "--out", str(snap), "--no-seeds", "--depth", "0"]
    args += [a for f in fields for a in ("--field", f)]
    args += ["--max-papers", str(select), "--master", "local[2]", "--driver-memory", "4g"]
    load = _load()
    run = timed(_cli(*args), env)
    picked = next((ln for ln in run["out"].splitlines() if ln.startswith("Selected")), "")
    stages.append(
        {
            **run,
            "stage": f"bulk ({len(fields)} field(s), --max-papers {select:,})",
            "rows_in": f"{papers * (2 + CITES_PER_PAPER):,} rows",
            "rows_out": picked.removeprefix("Selected ").split(" (")[0]
            + ", "
            + picked.split("), ")[-1].split(" among")[0]
            + f"; {snap.stat().st_size / 1e6:.0f} MB",
            "load": load,
        }
    )
    shutil.rmtree(release, ignore_errors=True)
    load = _load()
    run = timed(_cli("snapshot", "import", str(snap)), env)
    counts = _pairs(run["out"].splitlines()[1]) if len(run["out"].splitlines()) > 1 else {}
    stages.append(
        {
            **run,
            "stage": "snapshot import",
            "rows_in": ", ".join(f"{k} {v:,}" for k, v in counts.items() if v),
            "rows_out": "",
            "load": load,
        }
    )
    with oxigraph(root) as url:
        build_env = dict(env)
        args = ["build", "--no-progress", "--json"]
        if url is None:
            args.append("--no-rdf")
        else:
            build_env["LITKG_SPARQL_BULK_URL"] = url
        load = _load()
        run = timed(_cli(*args), build_env)
    report = json.loads(run["out"][run["out"].index("{") :])
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in report["seconds"].items() if k != "total")
    stages.append(
        {
            **run,
            "stage": "build" + ("" if url else " (no RDF: oxigraph missing)"),
            "rows_in": f"{report['papers']:,} papers, {report['citations']:,} citations",
            "rows_out": f"text vectors {report['text_vectors']} ({report['text_missing']} "
            f"without), topics {report['topics'] or {}}, {report['triples'] or 0:,} triples; "
            f"{steps}",
            "load": load,
        }
    )
    code = (
        "import json, sys; from pathlib import Path; "
        "from tests.bench.bench_chain import recommend_child; "
        "print(json.dumps(recommend_child(Path(sys.argv[1]))))"
    )
    load = _load()
    run = timed([sys.executable, "-c", code, str(root / "data")], env)
    rec = json.loads(run["out"].strip().splitlines()[-1])
    stages.append(
        {
            **run,
            "stage": "recommend (50 x k 10)",
            "rows_in": f"{rec['papers']:,} papers, index {'on' if rec['index'] else 'off'}",
            "rows_out": f"p50 {rec['p50']:.0f} ms, p95 {rec['p95']:.0f} ms, first call "
            f"{rec['first']:.1f} s (opens the graph)",
            "load": load,
        }
    )
    return stages


def main() -> list[str]:
    papers = int(os.environ.get("LITKG_BENCH_CHAIN_PAPERS", "1000000"))
    select = int(os.environ.get("LITKG_BENCH_CHAIN_SELECT", "200000"))
    lines = [
        f"## The whole chain: a synthetic release of {papers:,} papers, {select:,} selected",
        "",
        "| stage | wall (s) | peak RSS (GiB) | rows in | rows out | load (1/5 min) |",
        "|---|---:|---:|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="litkg-chain-bench-") as tmp:
        for s in chain(papers, select, Path(tmp)):
            lines.append(
                f"| {s['stage']} | {s['seconds']:.0f} | {s['peak'] / 2**30:.2f} | "
                f"{s['rows_in']} | {s['rows_out']} | {s['load']} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    return lines


if __name__ == "__main__":  # pragma: no cover
    print("\n".join(main()))
