"""The bulk job: a release (or its Parquet copy, diffs applied) -> selection -> snapshot.

Run it through ``litkg bulk`` (a local Spark, ``--master local[*]`` by default, or any
master URL), or hand this module to ``spark-submit`` on a cluster; it takes the same
arguments as ``litkg bulk`` (see the README)::

    spark-submit --master spark://host:7077 app/cli_bulk.py \\
        s3a://bucket/s2ag/2026-11-25 --out field.tar.gz --depth 1

The output tables are assembled by Spark (joins of the selection with the release's
papers, abstracts, tldrs, SPECTER embeddings and citations), written as Parquet, read
back with pyarrow and handed to :func:`kg.formats.snapshot.write_snapshot`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.bulk import BulkError
from ingest.bulk.release import Diff, apply_diff, load_tables, locate, materialise, read_state
from ingest.bulk.select import SeedOutcome, Selection, SelectionPolicy, select
from ingest.types import SeedRef
from kg.formats.snapshot import LIST_LICENCE, SCHEMAS, ExportReport, write_snapshot
from kg.store.corpus import DETAIL_FULL, RESOLVED, now_iso

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

ENDPOINT = "datasets"
LICENCE = "S2AG datasets (ODC-BY; embeddings Apache-2.0), see each dataset's README"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class SparkOptions:
    #: None: the master ``spark-submit`` was given, else ``local[*]``.
    master: str | None = None
    shuffle_partitions: int | None = None
    driver_memory: str | None = None
    conf: tuple[tuple[str, str], ...] = ()


@dataclass
class BulkReport:
    snapshot: ExportReport
    release_id: str | None
    seeds: list[SeedOutcome] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        resolved = sum(1 for s in self.seeds if s.status == RESOLVED)
        out = [
            f"Release {self.release_id or '?'}: seeds resolved {resolved} / {len(self.seeds)}",
            f"Selected {self.counts.get('papers', 0)} papers "
            + "("
            + ", ".join(
                f"{k.replace('level_', 'level ')}: {v}"
                for k, v in sorted(self.counts.items())
                if k.startswith("level_")
            )
            + f"), {self.snapshot.counts.get('citations', 0)} citation edges among them",
        ]
        out += [
            f"  unresolved: {s.ref.title or ', '.join(s.ref.ids)}"
            for s in self.seeds
            if s.status not in (RESOLVED, "duplicate")
        ][:20]
        snap = self.snapshot
        out.append(f"Snapshot written to {snap.path} ({snap.bytes / 1e6:.1f} MB)")
        out += snap.lines()[1:2]
        out.append(
            f"  time {self.seconds:.1f}s; next: `litkg snapshot import "
            f"{self.snapshot.path}` then `litkg build`"
        )
        return out


def java_missing() -> str | None:
    """Why Spark cannot start here (no ``java``), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return None
    if shutil.which("java"):
        return None
    return (
        "Spark needs Java 17 and no `java` is on PATH (nor JAVA_HOME): install "
        "openjdk-17-jre-headless (`make setup` does it with apt-get), or set JAVA_HOME."
    )


@contextmanager
def spark_session(options: SparkOptions, name: str = "litkg-bulk") -> Iterator[SparkSession]:
    """A Spark session for the job (UI off); stopped on exit unless it already ran
    (``spark-submit`` or a test's shared session: that owner stops it)."""
    # pyspark 4 warns on import that pandas 3 is untested; the job hands pandas nothing.
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a dependency
        raise BulkError("pyspark is not installed: `pip install pyspark` (make setup)") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    why = java_missing()
    if why:
        raise BulkError(why)
    builder = (
        SparkSession.builder.appName(name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if options.master or not under_submit:
        master = options.master or "local[*]"
        builder = builder.master(master)
        if master.startswith("local"):
            # The title match runs litkg's normaliser in Python workers: this interpreter.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if options.shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(options.shuffle_partitions))
    if options.driver_memory:
        builder = builder.config("spark.driver.memory", options.driver_memory)
    for key, value in options.conf:
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def fetched_at(release_id: str | None) -> str:
    """A release's date as the snapshot's fetch time (now, when its id is not a date)."""
    if release_id and _DATE.match(release_id):
        return f"{release_id}T00:00:00+00:00"
    return now_iso()


# --------------------------------------------------------------------------- output
def _tables(
    spark: SparkSession, tables: dict[str, DataFrame], sel: Selection, when: str, work: Path
) -> dict[str, pa.Table]:
    """The snapshot's tables for the selection, assembled by Spark joins."""
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    chosen = sel.papers.join(sel.selected.select("corpusid"), on="corpusid", how="left_semi")
    if "abstracts" in tables:
        chosen = chosen.join(
            tables["abstracts"]
            .select(
                "corpusid",
                F.col("abstract").alias("_abstract"),
                F.col("openaccessinfo.url").alias("_oa_url"),
            )
            .dropDuplicates(["corpusid"]),
            on="corpusid",
            how="left",
        )
    else:
        chosen = chosen.withColumn("_abstract", F.lit(None).cast("string")).withColumn(
            "_oa_url", F.lit(None).cast("string")
        )
    if "tldrs" in tables:
        chosen = chosen.join(
            tables["tldrs"]
            .select("corpusid", F.col("text").alias("_tldr"))
            .dropDuplicates(["corpusid"]),
            on="corpusid",
            how="left",
        )
    else:
        chosen = chosen.withColumn("_tldr", F.lit(None).cast("string"))

    def blank(name: str) -> Any:
        col = F.trim(F.col(name))
        return F.when(col != "", col)

    names = ["ACL", "ArXiv", "CorpusId", "DBLP", "DOI", "MAG", "PubMed", "PubMedCentral"]
    ids = F.map_filter(
        F.map_from_arrays(
            F.array(*[F.lit(n) for n in names]),
            F.array(
                *[
                    F.col("corpusid").cast("string")
                    if n == "CorpusId"
                    else F.col(f"externalids.{n}")
                    for n in names
                ]
            ),
        ),
        lambda k, v: v.isNotNull(),
    )
    papers = chosen.select(
        "paper_id",
        "title",
        F.col("_abstract").alias("abstract"),
        F.col("_tldr").alias("tldr"),
        F.col("year").cast("int").alias("year"),
        blank("venue").alias("venue"),
        blank("journal.name").alias("journal"),
        F.col("publicationdate").alias("publication_date"),
        "url",
        ids.alias("external_ids"),
        F.coalesce(F.col("publicationtypes"), F.array().cast("array<string>")).alias(
            "publication_types"
        ),
        F.col("fos").alias("fields_of_study"),
        F.col("citationcount").cast("long").alias("citation_count"),
        F.col("referencecount").cast("long").alias("reference_count"),
        F.col("influentialcitationcount").cast("long").alias("influential_citation_count"),
        F.col("isopenaccess").alias("is_open_access"),
        F.col("_oa_url").alias("open_access_pdf"),
        F.array().cast("array<string>").alias("tags"),
        F.lit(True).alias("resolved"),
        F.lit(DETAIL_FULL).cast("tinyint").alias("detail"),
        F.lit(ENDPOINT).alias("endpoint"),
        F.lit(when).alias("fetched_at"),
    )
    authors = (
        chosen.select("paper_id", F.posexplode("authors").alias("position", "a"))
        .select(
            "paper_id",
            F.col("position").cast("int").alias("position"),
            F.col("a.name").alias("name"),
            F.col("a.authorId").alias("author_id"),
        )
        .where(F.col("name").isNotNull())
    )
    pid = sel.papers.select("corpusid", "paper_id")
    raw = (
        tables["citations"]
        .join(
            sel.edges.select("citingcorpusid", "citedcorpusid"),
            on=["citingcorpusid", "citedcorpusid"],
            how="left_semi",
        )
        .dropDuplicates(["citingcorpusid", "citedcorpusid"])
    )
    citations = (
        raw.join(pid.withColumnRenamed("corpusid", "citingcorpusid"), on="citingcorpusid")
        .withColumnRenamed("paper_id", "citing")
        .join(pid.withColumnRenamed("corpusid", "citedcorpusid"), on="citedcorpusid")
        .withColumnRenamed("paper_id", "cited")
        .select(
            "citing",
            "cited",
            F.coalesce(F.col("contexts"), F.array().cast("array<string>")).alias("contexts"),
            F.coalesce(F.col("intents"), F.array().cast("array<string>")).alias("intents"),
            F.col("isinfluential").alias("is_influential"),
            F.lit(ENDPOINT).alias("endpoint"),
            F.lit(when).alias("fetched_at"),
        )
    )
    out: dict[str, DataFrame] = {
        "papers.parquet": papers,
        "authors.parquet": authors,
        "citations.parquet": citations,
    }
    if "embeddings" in tables:
        out["specter.parquet"] = (
            tables["embeddings"]
            .join(chosen.select("corpusid", "paper_id"), on="corpusid")
            .dropDuplicates(["corpusid"])
            .select("paper_id", F.from_json("vector", "array<float>").alias("vector"))
            .where(F.col("vector").isNotNull())
        )
    arrow: dict[str, pa.Table] = {}
    for name, df in out.items():
        target = work / "out" / name.removesuffix(".parquet")
        df.write.mode("overwrite").parquet(str(target))
        arrow[name] = pq.read_table(str(target))
    return arrow


def _seed_tables(seeds: Sequence[SeedOutcome], when: str) -> dict[str, pa.Table]:
    import pyarrow as pa

    rows = [
        {
            "source": s.ref.source,
            "position": s.ref.position,
            "title": s.ref.title,
            "status": s.status,
            "paper_id": s.paper_id,
            "url": s.ref.url,
            "ids": list(s.ref.ids),
            "section_path": list(s.ref.section_path),
            "note": s.ref.note,
            "method": s.method,
            "match_score": s.match_score,
            "reason": s.reason,
            "updated_at": when,
        }
        for s in seeds
    ]
    aliases = sorted(
        {
            (ident, s.paper_id)
            for s in seeds
            if s.status == RESOLVED and s.paper_id
            for ident in s.ref.ids
            if not ident.startswith("URL:") and ident != s.paper_id
        }
    )
    return {
        "seeds.parquet": pa.Table.from_pylist(rows, schema=SCHEMAS["seeds.parquet"]),
        "aliases.parquet": pa.Table.from_pylist(
            [{"alias": a, "paper_id": p} for a, p in aliases], schema=SCHEMAS["aliases.parquet"]
        ),
    }


def _sources(
    release_id: str | None, counts: dict[str, int], seeds: Sequence[SeedOutcome], when: str
) -> list[dict[str, Any]]:
    name = f"Semantic Scholar Datasets (S2AG release {release_id or 'unknown'})"
    out: list[dict[str, Any]] = [
        {
            "kind": kind,
            "name": name,
            "endpoint": ENDPOINT,
            "licence": LICENCE,
            "rows": counts.get(kind, 0),
            "fetched_at": when,
        }
        for kind in ("citations", "papers")
    ]
    by_source: dict[str, int] = {}
    for s in seeds:
        by_source[s.ref.source] = by_source.get(s.ref.source, 0) + 1
    out += [
        {"kind": "seeds", "name": src, "licence": LIST_LICENCE, "rows": n, "fetched_at": when}
        for src, n in sorted(by_source.items())
    ]
    return out


# --------------------------------------------------------------------------- the job
def run_bulk(
    release: str | Path | None,
    out: Path,
    refs: Sequence[SeedRef],
    policy: SelectionPolicy,
    *,
    state: Path | None = None,
    diffs: Sequence[Diff] = (),
    options: SparkOptions | None = None,
    release_id: str | None = None,
    manifest_extra: dict[str, Any] | None = None,
    echo: Callable[[str], None] | None = None,
) -> BulkReport:
    """Select from ``release`` (its Parquet copy goes to ``state``, or a temp folder), or
    from the copy already at ``state`` when ``release`` is None; ``diffs`` are applied to
    the copy first, in order. Writes the snapshot at ``out``. ``echo`` is told each stage
    as it starts and how long the one before took (a 1M-paper release takes minutes)."""
    started = time.monotonic()
    last = [started]

    def stage(what: str) -> None:
        if echo is not None:
            now = time.monotonic()
            took = f" ({now - last[0]:.0f} s since the last step)" if last[0] > started else ""
            echo(f"{what} ...{took}")
            last[0] = now

    if out.exists():
        raise BulkError(f"{out} already exists; write the snapshot to a new path.")
    if release is None and state is None:
        raise BulkError("pass a release (a folder or URL), or --state of an earlier run")
    with (
        spark_session(options or SparkOptions()) as spark,
        tempfile.TemporaryDirectory(prefix="litkg-bulk-") as tmp,
    ):
        work = Path(tmp)
        where = state or work / "release"
        if release is not None:
            stage(f"copying the release to Parquet in {where}")
            record = materialise(spark, locate(release, release_id), where)
        else:
            record = read_state(where)
        for diff in diffs:
            stage(f"applying the diff {diff.from_release or '?'} -> {diff.to_release or '?'}")
            record = apply_diff(spark, where, diff)
        tables = load_tables(spark, where)
        stage(f"selecting: {len(refs)} seed source(s), depth {policy.depth}")
        sel = select(spark, tables, refs, policy, work / "select")
        rid = record.get("release_id")
        when = fetched_at(rid)
        try:
            stage(f"gathering the {sel.counts.get('papers', 0):,} selected papers' records")
            arrow = _tables(spark, tables, sel, when, work)
        finally:
            sel.release()
        arrow |= _seed_tables(sel.seeds, when)
        counts = {"papers": arrow["papers.parquet"].num_rows}
        counts["citations"] = arrow["citations.parquet"].num_rows
        extra = {
            "bulk": {
                "release_id": rid,
                "diffs": record.get("diffs", []),
                "policy": policy.as_dict(),
                "counts": sel.counts,
            }
        } | dict(manifest_extra or {})
        stage(f"writing the snapshot {out}")
        report = write_snapshot(
            out,
            arrow,
            sources=_sources(rid, counts, sel.seeds, when),
            manifest_extra=extra,
        )
    return BulkReport(report, rid, sel.seeds, sel.counts, time.monotonic() - started)
