"""Bulk selection benchmark: ``litkg bulk`` on a synthetic S2AG release, on ``local[2]``.

A generator (Spark itself: ``spark.range`` and column expressions, written as gzipped
JSONL shards in the S2AG layout) makes a **synthetic** release of N papers with abstracts
and ~20 N citations (cited papers drawn from a skewed distribution, so some are hubs),
and on request the SPECTER v2 ``embeddings-specter_v2`` dataset (768-d vectors, clustered),
under ``$TMPDIR`` (never in the repository); a ``SYNTHETIC.txt`` at its root says so,
and every title starts with "Synthetic paper". The selection then runs in a subprocess
(``litkg bulk``, 50 seed corpus ids, depth 1, the crawl's default caps) and the peak
memory of its process tree (the Python driver and the JVM) is sampled from ``/proc``.

    python -m tests.bench bulk                   # 100k papers
    LITKG_BENCH_BULK_SIZES=100000,1000000 python -m tests.bench bulk
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import REPO

CITES_PER_PAPER = 20
SEEDS = 50
BASE_ID = 1_000_000
#: The synthetic SPECTER vectors: dimensions, and clusters (a paper's cluster is its id
#: modulo this; its vector is the cluster's centre plus its own noise).
SPECTER_DIM = 768
SPECTER_CLUSTERS = 400


def generate(
    root: Path, papers: int, *, master: str = "local[2]", embeddings: bool = False
) -> dict[str, float]:
    """Write a synthetic S2AG release of ``papers`` papers under ``root``; with
    ``embeddings``, the SPECTER v2 embeddings dataset too (a vector for every paper)."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(master)
        .appName("litkg-bulk-generator")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "3g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / "SYNTHETIC.txt").write_text(
            "A synthetic S2AG-format release made by tests/bench/bench_bulk.py: every record "
            "and edge is invented, for timing only.\n",
            encoding="utf-8",
        )
        parts = max(2, papers // 50_000)
        ids = spark.range(papers, numPartitions=parts)
        cid = F.col("id") + BASE_ID
        fields = F.array(
            *[
                F.lit(f)
                for f in ("Computer Science", "Medicine", "Biology", "Physics", "Mathematics")
            ]
        )
        papers_df = ids.select(
            cid.alias("corpusid"),
            F.struct(
                F.lit(None).cast("string").alias("ACL"),
                F.lit(None).cast("string").alias("DBLP"),
                F.lit(None).cast("string").alias("ArXiv"),
                F.lit(None).cast("string").alias("MAG"),
                cid.cast("string").alias("CorpusId"),
                F.lit(None).cast("string").alias("PubMed"),
                F.concat(F.lit("10.5555/synthetic."), F.col("id")).alias("DOI"),
                F.lit(None).cast("string").alias("PubMedCentral"),
            ).alias("externalids"),
            F.concat(
                F.lit("https://www.semanticscholar.org/paper/"), F.sha1(cid.cast("string"))
            ).alias("url"),
            F.concat(F.lit("Synthetic paper "), F.col("id")).alias("title"),
            F.array(
                F.struct(
                    (F.col("id") % 500_000).cast("string").alias("authorId"),
                    F.concat(F.lit("Author "), F.col("id") % 500_000).alias("name"),
                )
            ).alias("authors"),
            F.concat(F.lit("Venue "), F.col("id") % 200).alias("venue"),
            (F.lit(1990) + F.col("id") % 35).cast("int").alias("year"),
            F.lit(CITES_PER_PAPER).alias("referencecount"),
            (F.col("id") % 1000).cast("int").alias("citationcount"),
            (F.col("id") % 37).cast("int").alias("influentialcitationcount"),
            (F.col("id") % 3 == 0).alias("isopenaccess"),
            F.array(
                F.struct(
                    F.element_at(fields, (F.col("id") % 5 + 1).cast("int")).alias("category"),
                    F.lit("s2-fos-model").alias("source"),
                )
            ).alias("s2fieldsofstudy"),
            F.array(F.lit("JournalArticle")).alias("publicationtypes"),
            F.lit(None).cast("string").alias("publicationdate"),
            F.struct(
                F.lit("Synthetic Journal").alias("name"),
                F.lit(None).cast("string").alias("pages"),
                F.lit("1").alias("volume"),
            ).alias("journal"),
            F.lit("2026-11-01T00:00:00Z").alias("updated"),
        )
        papers_df.write.mode("overwrite").option("compression", "gzip").json(str(root / "papers"))
        words = F.array(
            *[F.lit(w) for w in ["graph", "model", "data", "neural", "learning", "signal"]]
        )
        abstracts = ids.select(
            cid.alias("corpusid"),
            F.concat_ws(
                " ",
                F.lit("Synthetic abstract"),
                F.col("id").cast("string"),
                F.transform(
                    F.sequence(F.lit(1), F.lit(60)),
                    lambda i: F.element_at(words, ((F.col("id") * 7 + i * 13) % 6 + 1).cast("int")),
                ),
            ).alias("abstract"),
        )
        abstracts.write.mode("overwrite").option("compression", "gzip").json(
            str(root / "abstracts")
        )
        edges = spark.range(papers * CITES_PER_PAPER, numPartitions=parts * 4).select(
            (F.floor(F.col("id") / CITES_PER_PAPER) + BASE_ID)
            .cast("string")
            .alias("citingcorpusid"),
            # Skewed: rand()^3 piles the cited papers on low ids (a few hubs, a long tail).
            (F.floor(F.pow(F.rand(seed=7), 3) * papers) + BASE_ID)
            .cast("string")
            .alias("citedcorpusid"),
            (F.rand(seed=11) < 0.1).alias("isinfluential"),
            F.lit(None).cast("array<string>").alias("contexts"),
            F.lit(None).cast("array<string>").alias("intents"),
            F.lit("2026-11-01T00:00:00Z").alias("updated"),
        )
        edges.write.mode("overwrite").option("compression", "gzip").json(str(root / "citations"))
        if embeddings:
            _specter(ids, cid).write.mode("overwrite").option("compression", "gzip").json(
                str(root / "embeddings-specter_v2")
            )
    finally:
        spark.stop()
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return {"seconds": time.perf_counter() - started, "bytes": size}


def _specter(ids: Any, cid: Any) -> Any:
    """The embeddings dataset's rows (``corpusid``, ``model``, ``vector`` as the JSON text
    of a float list, as S2 writes it): per dimension, the cluster centre's component plus
    the paper's own noise, both from hashes (deterministic), norms near 70 as S2's."""
    from pyspark.sql import functions as F

    cluster = F.col("id") % SPECTER_CLUSTERS
    scale = float(2**31)
    vector = F.transform(
        F.sequence(F.lit(0), F.lit(SPECTER_DIM - 1)),
        lambda i: F.round(
            F.hash(cluster, i) / scale * 4.0 + F.hash(F.col("id"), i, F.lit(1)) / scale * 2.0, 3
        ).cast("float"),
    )
    return ids.select(
        cid.alias("corpusid"),
        F.lit("specter_v2").alias("model"),
        F.to_json(vector).alias("vector"),
    )


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int((Path("/proc") / str(p) / "statm").read_text().split()[1]) * page
        todo += children.get(p, [])
    return total


def select(release: Path, out: Path, seeds: Path, *, extra: list[str]) -> dict[str, float]:
    """Run ``litkg bulk`` in a subprocess; its time and the peak RSS of its process tree."""
    env = dict(os.environ, PYTHONPATH=str(REPO), LITKG_DATA_DIR=str(out.parent / "data"))
    cmd = [sys.executable, "-c", "from app.cli import main; main()", "bulk", str(release)]
    cmd += [str(seeds), "--out", str(out)]
    cmd += ["--master", "local[2]", "--driver-memory", "4g", *extra]
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
        raise RuntimeError(f"litkg bulk failed ({proc.returncode}): {errors[-2000:]}")
    return {"seconds": seconds, "peak_bytes": peak, "output": output}  # type: ignore[dict-item]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f}"


def main() -> list[str]:
    sizes = [int(s) for s in os.environ.get("LITKG_BENCH_BULK_SIZES", "100000").split(",")]
    lines = [
        "## Bulk selection (`litkg bulk`, Spark local[2]) on a synthetic S2AG release",
        "",
        "| papers | citations | generate (s) | release size (MB) | select (s) | peak RSS (GiB) "
        "| rows/s per core | selected papers | edges | load (1/5 min) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="litkg-bulk-bench-") as tmp:
            root = Path(tmp)
            gen = generate(root / "release", n)
            seeds = root / "seeds.txt"
            step = max(n // SEEDS, 1)
            seeds.write_text(
                "".join(f"CorpusId:{BASE_ID + i * step}\n" for i in range(SEEDS)), encoding="utf-8"
            )
            load = _load()
            run = select(root / "release", root / "snap.tar.gz", seeds, extra=[])
            out = str(run.pop("output"))
            picked = next((ln for ln in out.splitlines() if ln.startswith("Selected")), "")
            words = picked.split()
            rows = n * (1 + CITES_PER_PAPER)
            lines.append(
                f"| {n:,} | {n * CITES_PER_PAPER:,} | {gen['seconds']:.0f} | "
                f"{gen['bytes'] / 1e6:.0f} | {run['seconds']:.0f} | "
                f"{run['peak_bytes'] / 2**30:.2f} | {rows / run['seconds'] / 2:,.0f} | "
                f"{words[1] if len(words) > 1 else '?'} | "
                f"{picked.split('), ')[-1].split()[0] if '), ' in picked else '?'} | {load} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
            shutil.rmtree(root / "release", ignore_errors=True)
    return lines


if __name__ == "__main__":  # pragma: no cover
    print("\n".join(main()))
