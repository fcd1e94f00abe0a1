"""The selection, as Spark joins: seeds resolved in the release, k hops, closure.

Mirrors the API crawl (:mod:`ingest.crawl`) on the bulk data:

1. **Seeds** are resolved by their ids (S2 paper id, ``CorpusId:``, ``ARXIV:``, ``DOI:``,
   ``ACL:``, ``PMID:``, ``PMCID:``, ``MAG:``; the most specific id that matches wins), then
   by normalised title (:func:`kg.core.text.title_words`, equal titles only; the most
   cited paper of that title). A paper listed twice is kept once (``duplicate``).
2. **Hops** (``depth`` 1 or 2): for each anchor (the seeds, then the papers the first hop
   added) its references and its citations are ranked as the crawl ranks them
   (influential edge, then the other paper's influential citations, then its citations;
   ties by corpus id) and the top ``max_references`` / ``max_citations`` papers not yet
   selected are kept. Papers already selected never count against a cap. Unlike the
   crawl, the anchors of one level are capped independently (in parallel), so two
   anchors may pick the same paper: a cap is then not topped up from further down.
3. **Co-citation widening** as the crawl does it: papers outside the selection that at
   least ``cocited_min`` of one seed's citing papers cite too, the most co-cited first,
   at most ``cocited_max``.
4. **Filters** (fields of study, years, venues) apply to every paper a hop or the
   widening would add (never to a seed); ``max_papers`` caps the whole selection (the
   seeds first, then by hop, then the most cited). Without seeds, the filters alone
   select (the most cited first, up to ``max_papers``), and hops go from there.
5. **Closure**: every citation edge between two selected papers is kept.

Each level's selection is written as Parquet and read back (short lineage, and the
intermediates show what each step chose).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.bulk import BulkError
from ingest.crawl import CrawlPolicy
from ingest.types import SeedRef
from kg.core.text import title_words
from kg.store.corpus import DUPLICATE, RESOLVED, UNRESOLVED

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import Column, DataFrame, SparkSession

_DEFAULT = CrawlPolicy()
#: The id prefixes of ``SeedRef.ids`` and the ``externalids`` field each one names.
ID_FIELDS = {
    "ARXIV": "ArXiv",
    "DOI": "DOI",
    "ACL": "ACL",
    "PMID": "PubMed",
    "PMCID": "PubMedCentral",
    "MAG": "MAG",
}


@dataclass(frozen=True)
class SelectionPolicy:
    """What ``litkg bulk`` selects; the caps default to the API crawl's."""

    depth: int = 1
    max_references: int = _DEFAULT.max_references
    max_citations: int = _DEFAULT.max_citations
    cocited_min: int = _DEFAULT.cocited_min
    cocited_max: int = _DEFAULT.cocited_max
    #: At most this many papers in all (None: no cap).
    max_papers: int | None = None
    fields_of_study: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    venues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            CrawlPolicy(
                depth=self.depth,
                max_references=self.max_references,
                max_citations=self.max_citations,
                cocited_min=self.cocited_min,
                cocited_max=self.cocited_max,
            )
        except ValueError as exc:
            raise BulkError(str(exc)) from exc
        if self.max_papers is not None and self.max_papers < 1:
            raise BulkError(f"--max-papers must be >= 1 (got {self.max_papers})")

    @property
    def filtered(self) -> bool:
        return bool(
            self.fields_of_study
            or self.venues
            or self.year_min is not None
            or self.year_max is not None
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "max_references": self.max_references,
            "max_citations": self.max_citations,
            "cocited_min": self.cocited_min,
            "cocited_max": self.cocited_max,
            "max_papers": self.max_papers,
            "fields_of_study": list(self.fields_of_study),
            "year_min": self.year_min,
            "year_max": self.year_max,
            "venues": list(self.venues),
        }


@dataclass(frozen=True)
class SeedOutcome:
    """What became of one listed paper in the release."""

    ref: SeedRef
    status: str
    corpus_id: int | None = None
    paper_id: str | None = None
    method: str | None = None
    match_score: float | None = None
    reason: str | None = None


@dataclass
class Selection:
    """The selected papers (``corpusid``, ``level``: 0 seeds, 1-2 hops, 3 widening) and
    the edges among them (``citingcorpusid``, ``citedcorpusid``), as DataFrames read
    back from their Parquet intermediates; ``papers`` is the release's papers view."""

    selected: DataFrame
    edges: DataFrame
    papers: DataFrame
    seeds: list[SeedOutcome] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: DataFrames kept in memory for this selection; :meth:`release` frees them (a cached
    #: plan over a path would otherwise answer a later read of that path, e.g. after a diff).
    persisted: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        for df in self.persisted:
            df.unpersist()
        self.persisted.clear()


# --------------------------------------------------------------------------- papers
def papers_view(tables: dict[str, DataFrame]) -> DataFrame:
    """The papers with their S2 paper id (from the ``url``, else the primary sha of
    ``paper-ids``) and the fields of study as the API client lists them (external
    categories first); papers with no paper id are left out."""
    from pyspark.sql import functions as F

    papers = tables["papers"]
    sha = F.regexp_extract(F.col("url"), r"([0-9a-f]{40})$", 1)
    view = papers.withColumn("paper_id", F.when(sha != "", sha))
    if "paper-ids" in tables:
        primary = (
            tables["paper-ids"]
            .where(F.col("primary"))
            .groupBy("corpusid")
            .agg(F.min("sha").alias("_sha"))
        )
        view = view.join(primary, on="corpusid", how="left").withColumn(
            "paper_id", F.coalesce(F.col("paper_id"), F.col("_sha"))
        )
        view = view.drop("_sha")
    fos = F.coalesce(F.col("s2fieldsofstudy"), F.array())
    external = F.filter(fos, lambda f: f["source"] == "external")
    view = view.withColumn(
        "fos",
        F.array_distinct(
            F.concat(
                F.transform(external, lambda f: f["category"]),
                F.transform(fos, lambda f: f["category"]),
            )
        ),
    )
    return view.where(F.col("paper_id").isNotNull()).dropDuplicates(["corpusid"])


def edges_view(tables: dict[str, DataFrame]) -> DataFrame:
    """Citation edges between two known corpus ids, once each, no self-citations."""
    from pyspark.sql import functions as F

    cites = tables["citations"]
    return (
        cites.where(
            F.col("citingcorpusid").isNotNull()
            & F.col("citedcorpusid").isNotNull()
            & (F.col("citingcorpusid") != F.col("citedcorpusid"))
        )
        .groupBy("citingcorpusid", "citedcorpusid")
        .agg(F.max(F.coalesce(F.col("isinfluential"), F.lit(False))).alias("isinfluential"))
    )


def _passes(policy: SelectionPolicy) -> Column:
    from pyspark.sql import functions as F

    cond = F.lit(True)
    if policy.fields_of_study:
        wanted = [f.lower() for f in policy.fields_of_study]
        cond = cond & F.exists(F.col("fos"), lambda f: F.lower(f).isin(wanted))
    if policy.year_min is not None:
        cond = cond & (F.col("year") >= policy.year_min)
    if policy.year_max is not None:
        cond = cond & (F.col("year") <= policy.year_max)
    if policy.venues:
        wanted_venues = [v.lower() for v in policy.venues]
        cond = cond & F.lower(F.coalesce(F.col("venue"), F.col("journal.name"))).isin(wanted_venues)
    return cond


# --------------------------------------------------------------------------- seeds
def resolve_seeds(
    spark: SparkSession, papers: DataFrame, refs: Sequence[SeedRef]
) -> list[SeedOutcome]:
    """Each ref's paper in the release (aligned with ``refs``): by id, then by title.
    The refs are few (a reading list); the release's papers are joined, never looped."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    if not refs:
        return []
    id_rows = [
        (seq, idx, ident)
        for seq, ref in enumerate(refs)
        for idx, ident in enumerate(ref.ids)
        if not ident.startswith("URL:")
    ]
    keys = papers.select(
        "corpusid",
        "paper_id",
        F.explode(
            F.array_compact(
                F.array(
                    F.col("paper_id"),
                    F.concat(F.lit("CorpusId:"), F.col("corpusid").cast("string")),
                    *[
                        F.concat(
                            F.lit(f"{prefix}:"),
                            F.lower(F.col(f"externalids.{name}"))
                            if prefix == "DOI"
                            else F.col(f"externalids.{name}"),
                        )
                        for prefix, name in ID_FIELDS.items()
                    ],
                )
            )
        ).alias("key"),
    )
    found: dict[int, tuple[int, str, str]] = {}
    if id_rows:
        wanted = spark.createDataFrame(id_rows, "seq int, idx int, key string")
        best = Window.partitionBy("seq").orderBy("idx", "corpusid")
        hits = (
            keys.join(F.broadcast(wanted), on="key")
            .withColumn("_rank", F.row_number().over(best))
            .where(F.col("_rank") == 1)
            .select("seq", "corpusid", "paper_id", "key")
        )
        for row in hits.collect():
            found[int(row["seq"])] = (int(row["corpusid"]), row["paper_id"], f"id {row['key']}")
    titled = [
        (seq, normalised)
        for seq, ref in enumerate(refs)
        if seq not in found and ref.title and (normalised := title_words(ref.title))
    ]
    if titled:
        norm = F.udf(lambda title: title_words(title), "string")
        wanted_titles = spark.createDataFrame(titled, "seq int, norm string")
        best_title = Window.partitionBy("seq").orderBy(
            F.desc_nulls_last("citationcount"), "corpusid"
        )
        hits = (
            papers.where(F.col("title").isNotNull())
            .select("corpusid", "paper_id", "citationcount", norm(F.col("title")).alias("norm"))
            .join(F.broadcast(wanted_titles), on="norm")
            .withColumn("_rank", F.row_number().over(best_title))
            .where(F.col("_rank") == 1)
        )
        for row in hits.collect():
            found[int(row["seq"])] = (int(row["corpusid"]), row["paper_id"], "title match")
    out: list[SeedOutcome] = []
    first: dict[int, int] = {}
    for seq, ref in enumerate(refs):
        if seq not in found:
            out.append(
                SeedOutcome(
                    ref,
                    UNRESOLVED,
                    reason="not in this release by its ids or its exact (normalised) title",
                )
            )
            continue
        corpus_id, paper_id, method = found[seq]
        score = 1.0 if method == "title match" else None
        if corpus_id in first:
            other = refs[first[corpus_id]]
            out.append(
                SeedOutcome(
                    ref,
                    DUPLICATE,
                    corpus_id,
                    paper_id,
                    method,
                    score,
                    reason=f"duplicate of {other.source} entry {other.position + 1}",
                )
            )
            continue
        first[corpus_id] = seq
        out.append(SeedOutcome(ref, RESOLVED, corpus_id, paper_id, method, score))
    return out


# --------------------------------------------------------------------------- selection
def _checkpoint(spark: SparkSession, df: DataFrame, path: Path) -> DataFrame:
    df.write.mode("overwrite").parquet(str(path))
    return spark.read.parquet(str(path))


def _hop(
    edges: DataFrame,
    candidates: DataFrame,
    frontier: DataFrame,
    selected: DataFrame,
    policy: SelectionPolicy,
) -> DataFrame:
    """The papers one level adds: per anchor and direction, the top-ranked neighbours
    not selected yet (``candidates``: the papers the filters let in, with their counts)."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    anchors = frontier.select(F.col("corpusid").alias("anchor"))
    refs = edges.join(anchors, edges.citingcorpusid == anchors.anchor).select(
        "anchor",
        F.col("citedcorpusid").alias("other"),
        "isinfluential",
        F.lit("references").alias("direction"),
    )
    cits = edges.join(anchors, edges.citedcorpusid == anchors.anchor).select(
        "anchor",
        F.col("citingcorpusid").alias("other"),
        "isinfluential",
        F.lit("citations").alias("direction"),
    )
    taken = selected.select(F.col("corpusid").alias("other"))
    ranked = (
        refs.unionByName(cits)
        .join(taken, on="other", how="left_anti")
        .join(candidates.withColumnRenamed("corpusid", "other"), on="other")
    )
    order = Window.partitionBy("anchor", "direction").orderBy(
        F.desc("isinfluential"),
        F.desc_nulls_last("influentialcitationcount"),
        F.desc_nulls_last("citationcount"),
        "other",
    )
    cap = F.when(F.col("direction") == "references", policy.max_references).otherwise(
        policy.max_citations
    )
    return (
        ranked.withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") <= cap)
        .select(F.col("other").alias("corpusid"))
        .distinct()
    )


def _widen(
    edges: DataFrame,
    candidates: DataFrame,
    selected: DataFrame,
    seeds: DataFrame,
    policy: SelectionPolicy,
) -> DataFrame:
    """The co-cited papers the crawl's widening adds (ranked by their best count over
    the seeds, then the sum, then paper id), at most ``cocited_max``."""
    from pyspark.sql import functions as F

    ids = selected.select("corpusid")
    among = edges.join(
        ids.withColumnRenamed("corpusid", "citingcorpusid"), on="citingcorpusid", how="left_semi"
    ).join(ids.withColumnRenamed("corpusid", "citedcorpusid"), on="citedcorpusid", how="left_semi")
    citers = among.join(
        seeds.select(F.col("corpusid").alias("citedcorpusid")), on="citedcorpusid"
    ).select(F.col("citedcorpusid").alias("seed"), F.col("citingcorpusid").alias("citer"))
    cocited = (
        edges.join(citers, edges.citingcorpusid == citers.citer)
        .select("seed", F.col("citedcorpusid").alias("corpusid"))
        .join(ids, on="corpusid", how="left_anti")
        .groupBy("seed", "corpusid")
        .count()
        .groupBy("corpusid")
        .agg(F.max("count").alias("best"), F.sum("count").alias("total"))
        .where(F.col("best") >= policy.cocited_min)
    )
    return (
        cocited.join(candidates.select("corpusid", "paper_id"), on="corpusid")
        .orderBy(F.desc("best"), F.desc("total"), "paper_id")
        .limit(policy.cocited_max)
        .select("corpusid")
    )


def select(
    spark: SparkSession,
    tables: dict[str, DataFrame],
    refs: Sequence[SeedRef],
    policy: SelectionPolicy,
    work: Path,
) -> Selection:
    """Resolve ``refs`` and select their neighbourhood in the release's ``tables``
    (intermediates under ``work``). No refs: the filters alone select."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    # Both views are read by every step: kept in memory (spilling to disk), not recomputed.
    papers = papers_view(tables).persist(StorageLevel.MEMORY_AND_DISK)
    edges = edges_view(tables).persist(StorageLevel.MEMORY_AND_DISK)
    candidates = papers.where(_passes(policy)).select(
        "corpusid", "paper_id", "influentialcitationcount", "citationcount"
    )
    outcomes = resolve_seeds(spark, papers, refs)
    if refs:
        seed_ids = sorted({o.corpus_id for o in outcomes if o.corpus_id is not None})
        if not seed_ids:
            raise BulkError(
                f"none of the {len(refs)} listed papers is in this release (by id or exact "
                f"title); check the release and the seed sources, or select by filters "
                f"alone with --no-seeds."
            )
        seeds = spark.createDataFrame([(i,) for i in seed_ids], "corpusid long")
    elif policy.filtered:
        top = candidates.orderBy(F.desc_nulls_last("citationcount"), "corpusid")
        if policy.max_papers is not None:
            top = top.limit(policy.max_papers)
        seeds = top.select("corpusid")
    else:
        raise BulkError(
            "no seeds and no filters would select the whole release; pass seed sources, "
            "or filters (--field, --year, --venue) with --no-seeds."
        )
    selected = _checkpoint(spark, seeds.withColumn("level", F.lit(0)), work / "level-0")
    seeds = selected.select("corpusid")
    frontier = seeds
    for level in range(1, policy.depth + 1):
        new = _hop(edges, candidates, frontier, selected, policy)
        selected = _checkpoint(
            spark,
            selected.unionByName(new.withColumn("level", F.lit(level))),
            work / f"level-{level}",
        )
        frontier = selected.where(F.col("level") == level).select("corpusid")
    if policy.depth > 0 and policy.cocited_max > 0 and refs:
        wide = _widen(edges, candidates, selected, seeds, policy)
        selected = _checkpoint(
            spark, selected.unionByName(wide.withColumn("level", F.lit(3))), work / "widened"
        )
    if policy.max_papers is not None:
        kept = (
            selected.join(papers.select("corpusid", "citationcount"), on="corpusid")
            .orderBy("level", F.desc_nulls_last("citationcount"), "corpusid")
            .limit(policy.max_papers)
            .select("corpusid", "level")
        )
        selected = _checkpoint(spark, kept, work / "capped")
    ids = selected.select("corpusid")
    among = edges.join(
        ids.withColumnRenamed("corpusid", "citingcorpusid"), on="citingcorpusid", how="left_semi"
    ).join(ids.withColumnRenamed("corpusid", "citedcorpusid"), on="citedcorpusid", how="left_semi")
    closed = _checkpoint(spark, among, work / "closed")
    counts = {
        f"level_{row['level']}": int(row["count"])
        for row in selected.groupBy("level").count().collect()
    }
    counts["papers"] = sum(counts.values())
    return Selection(selected, closed, papers, outcomes, counts, [papers, edges])
