"""Whole-field graphs from the Semantic Scholar bulk datasets (S2AG), selected on Spark.

``litkg bulk RELEASE --out SNAPSHOT [sources...]`` reads a release in its own layout
(one folder per dataset of gzipped JSONL shards: ``papers``, ``citations``,
``abstracts``, ``tldrs``, ``embeddings-specter_v2``, ``paper-ids``), resolves the seed
papers in it, takes their k-hop neighbourhood with the API crawl's caps and ranking,
closes it (every citation edge among the selected papers) and writes a litkg snapshot
(``docs/snapshot-format.md``) that ``litkg snapshot import`` then ``litkg build`` turn
into the usual graph.

* :mod:`ingest.bulk.release`: the release's datasets, their schemas, the Parquet copy of
  a release the selection reads (and release diffs applied to it);
* :mod:`ingest.bulk.select`: seed resolution, hops, co-citation widening, closure and
  filters, as Spark DataFrame joins (no Python loop over rows);
* :mod:`ingest.bulk.job`: the job (``spark-submit ingest/bulk/job.py`` on a cluster) and
  the snapshot it writes;
* :mod:`ingest.bulk.datasets`: the S2 Datasets API (releases, shard URLs, diffs) and
  the download of shards into a local cache.

PySpark is imported lazily, so the rest of litkg works without it (and without Java).
"""

from __future__ import annotations

from ingest.errors import IngestError

__all__ = ["BulkError"]


class BulkError(IngestError):
    """A bulk release cannot be read, selected from or written (the message names the fix)."""
