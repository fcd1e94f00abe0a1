"""An S2AG release as the selection reads it: datasets, schemas, a Parquet copy, diffs.

A release is a folder (local, mounted, or an object-store URL Spark can read, e.g.
``s3a://bucket/2026-11-25`` on a cluster with the hadoop-aws jars) with one folder per
dataset, each holding gzipped JSONL shards, as S2 ships them and as
``../shared/s2ag-samples`` shows. Only the datasets the selection needs are read:
``papers`` and ``citations`` (required), ``abstracts``, ``tldrs``, the SPECTER
``embeddings`` (``embeddings-specter_v2`` in current releases) and ``paper-ids``
(optional). Every dataset is read with a fixed schema (no inference pass over the data).

:func:`materialise` writes each dataset once as Parquet (``<state>/<dataset>``), the
intermediate the selection and every later run read; :func:`apply_diff` applies a
release diff (update and delete files keyed by corpus id, as the Datasets API's
``/diffs`` lists them) to such a copy, so the copy equals the newer release.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.bulk import BulkError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import DataFrame, SparkSession

_IDS = (
    "struct<ACL:string,DBLP:string,ArXiv:string,MAG:string,CorpusId:string,PubMed:string,"
    "DOI:string,PubMedCentral:string>"
)
#: Each dataset's fields as the S2AG files spell them (Spark DDL), read without inference.
SCHEMAS: dict[str, str] = {
    "papers": (
        f"corpusid long, externalids {_IDS}, url string, title string, "
        "authors array<struct<authorId:string,name:string>>, venue string, "
        "publicationvenueid string, year int, referencecount int, citationcount int, "
        "influentialcitationcount int, isopenaccess boolean, "
        "s2fieldsofstudy array<struct<category:string,source:string>>, "
        "publicationtypes array<string>, publicationdate string, "
        "journal struct<name:string,pages:string,volume:string>, updated string"
    ),
    "citations": (
        "citingcorpusid string, citedcorpusid string, isinfluential boolean, "
        "contexts array<string>, intents array<string>, updated string"
    ),
    "abstracts": (
        f"corpusid long, openaccessinfo struct<externalids:{_IDS},license:string,url:string,"
        "status:string>, abstract string, updated string"
    ),
    "tldrs": "corpusid long, model string, text string",
    "embeddings": "corpusid long, model string, vector string",
    "paper-ids": "sha string, corpusid long, primary boolean",
}
REQUIRED = ("papers", "citations")
#: Folder names a dataset goes by in a release (the first one found is read).
FOLDERS: dict[str, tuple[str, ...]] = {
    "papers": ("papers",),
    "citations": ("citations",),
    "abstracts": ("abstracts",),
    "tldrs": ("tldrs",),
    "embeddings": ("embeddings-specter_v2", "embeddings"),
    "paper-ids": ("paper-ids",),
}
#: The key a diff's update and delete records are matched on, per dataset.
KEYS: dict[str, tuple[str, ...]] = {
    "papers": ("corpusid",),
    "citations": ("citingcorpusid", "citedcorpusid"),
    "abstracts": ("corpusid",),
    "tldrs": ("corpusid",),
    "embeddings": ("corpusid",),
    "paper-ids": ("sha",),
}
STATE_FILE = "release.json"


@dataclass(frozen=True)
class Release:
    """Where each dataset of one release is (a folder path or URL per dataset name)."""

    root: str
    datasets: Mapping[str, str]
    release_id: str | None = None


def _is_url(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


def locate(root: str | Path, release_id: str | None = None) -> Release:
    """The datasets of the release at ``root``. A local folder is checked (the required
    datasets must be there); for an object-store URL (``s3a://``, ``gs://``, ``hdfs://``)
    the standard folder names are assumed and Spark reports what is missing."""
    text = str(root).rstrip("/")
    if _is_url(text):
        found = {name: f"{text}/{folders[0]}" for name, folders in FOLDERS.items()}
        return Release(text, found, release_id)
    base = Path(text.removeprefix("file://"))
    if not base.is_dir():
        raise BulkError(
            f"no S2AG release at {base}: pass the folder that holds papers/ and citations/ "
            f"(one folder per dataset of .jsonl.gz shards), or fetch one with "
            f"`litkg bulk datasets:RELEASE_ID` and an S2_API_KEY."
        )
    found = {}
    for name, folders in FOLDERS.items():
        for folder in folders:
            if (base / folder).is_dir() and any((base / folder).iterdir()):
                found[name] = str(base / folder)
                break
    missing = [n for n in REQUIRED if n not in found]
    if missing:
        raise BulkError(
            f"the release at {base} lacks the dataset(s) {', '.join(missing)}: each must be a "
            f"folder of gzipped JSONL shards ({', '.join(FOLDERS[m][0] for m in missing)}/)."
        )
    return Release(str(base), found, release_id or base.name)


def read_dataset(spark: SparkSession, name: str, path: str) -> DataFrame:
    """One dataset's shards as a DataFrame of its fixed schema (corpus ids as longs)."""
    return _typed(name, spark.read.schema(SCHEMAS[name]).option("mode", "PERMISSIVE").json(path))


def _typed(name: str, df: DataFrame) -> DataFrame:
    """Corpus ids as longs (the citations dataset writes them as strings)."""
    from pyspark.sql import functions as F

    if name == "citations":
        df = df.withColumn("citingcorpusid", F.col("citingcorpusid").cast("long")).withColumn(
            "citedcorpusid", F.col("citedcorpusid").cast("long")
        )
    return df


def materialise(spark: SparkSession, release: Release, state: Path) -> dict[str, Any]:
    """Write each dataset of ``release`` as Parquet under ``state`` (replacing what was
    there) and a ``release.json`` naming the release; returns that record."""
    from pyspark.errors import AnalysisException

    state.mkdir(parents=True, exist_ok=True)
    read: list[str] = []
    for name in SCHEMAS:
        target = state / name
        shutil.rmtree(target, ignore_errors=True)
        if name not in release.datasets:
            continue
        try:
            read_dataset(spark, name, release.datasets[name]).write.parquet(str(target))
        except AnalysisException as exc:
            # An object-store release is not listed beforehand: an optional dataset may
            # simply be absent there.
            if name in REQUIRED:
                raise BulkError(
                    f"cannot read the {name} dataset at {release.datasets[name]} ({exc}); "
                    f"check the release URL and the object-store credentials."
                ) from exc
            continue
        read.append(name)
    record = {
        "release_id": release.release_id,
        "root": release.root,
        "datasets": sorted(read),
        "diffs": [],
    }
    _write_state(state, record)
    return record


def _write_state(state: Path, record: Mapping[str, Any]) -> None:
    tmp = state / f".{STATE_FILE}.partial"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(state / STATE_FILE)


def read_state(state: Path) -> dict[str, Any]:
    try:
        record = json.loads((state / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BulkError(
            f"{state} holds no readable {STATE_FILE} ({exc}): it is not a bulk state folder; "
            f"run `litkg bulk RELEASE --state {state} ...` first."
        ) from exc
    if not isinstance(record, dict):
        raise BulkError(f"{state / STATE_FILE} is not a bulk state record; run the bulk again")
    return record


def load_tables(spark: SparkSession, state: Path) -> dict[str, DataFrame]:
    """The Parquet copy's datasets (only those present)."""
    record = read_state(state)
    return {
        name: spark.read.parquet(str(state / name))
        for name in record.get("datasets", [])
        if (state / name).is_dir()
    }


@dataclass(frozen=True)
class Diff:
    """One release diff of some datasets: per dataset, the update and the delete folders
    (or file lists) of gzipped JSONL records."""

    from_release: str | None
    to_release: str | None
    updates: Mapping[str, Sequence[str]]
    deletes: Mapping[str, Sequence[str]]


def locate_diff(root: str | Path) -> Diff:
    """A diff in the layout ``litkg bulk`` downloads it to (and tests write):
    ``<root>/<dataset>/updates/*.jsonl.gz`` and ``<root>/<dataset>/deletes/*.jsonl.gz``,
    with an optional ``diff.json`` naming ``from_release`` and ``to_release``."""
    base = Path(root)
    if not base.is_dir():
        raise BulkError(
            f"no release diff at {base}: pass a folder with <dataset>/updates/ and "
            f"<dataset>/deletes/ of .jsonl.gz files (as `litkg bulk --diff-from` downloads)."
        )
    meta: dict[str, Any] = {}
    if (base / "diff.json").is_file():
        try:
            meta = json.loads((base / "diff.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            raise BulkError(f"{base / 'diff.json'} is not JSON ({exc})") from exc
    updates: dict[str, list[str]] = {}
    deletes: dict[str, list[str]] = {}
    for name, folders in FOLDERS.items():
        for folder in folders:
            for kind, into in (("updates", updates), ("deletes", deletes)):
                sub = base / folder / kind
                if sub.is_dir() and any(sub.iterdir()):
                    into.setdefault(name, []).append(str(sub))
    if not updates and not deletes:
        raise BulkError(f"the diff at {base} holds no <dataset>/updates or deletes files")
    return Diff(meta.get("from_release"), meta.get("to_release"), updates, deletes)


def apply_diff(spark: SparkSession, state: Path, diff: Diff) -> dict[str, Any]:
    """Apply ``diff`` to the Parquet copy at ``state``: per dataset, every row whose key
    is in the delete or the update files goes, then the updated rows come in. The copy
    then equals the newer release (so a selection on it equals a fresh one)."""
    record = read_state(state)
    have = set(record.get("datasets", []))
    names = sorted(set(diff.updates) | set(diff.deletes))
    for name in names:
        key = list(KEYS[name])
        if name not in have and name not in diff.updates:
            continue
        base = (
            spark.read.parquet(str(state / name))
            if name in have
            else _typed(name, spark.createDataFrame([], SCHEMAS[name]))
        )
        updated = None
        if name in diff.updates:
            paths = list(diff.updates[name])
            updated = read_dataset(spark, name, paths[0])
            for path in paths[1:]:
                updated = updated.unionByName(read_dataset(spark, name, path))
        gone = [
            read_dataset(spark, name, path).select(*key).dropna(subset=key)
            for path in diff.deletes.get(name, ())
        ]
        if updated is not None:
            gone.append(updated.select(*key))
        kept = base
        for drop in gone:
            kept = kept.join(drop.dropDuplicates(key), on=key, how="left_anti")
        new = kept if updated is None else kept.unionByName(updated.dropDuplicates(key))
        tmp = state / f".{name}.next"
        new.write.mode("overwrite").parquet(str(tmp))
        shutil.rmtree(state / name, ignore_errors=True)
        tmp.replace(state / name)
        spark.catalog.refreshByPath(str(state / name))  # no stale file listing of the old copy
        have.add(name)
    record["datasets"] = sorted(have)
    record["release_id"] = diff.to_release or record.get("release_id")
    record.setdefault("diffs", []).append(
        {"from_release": diff.from_release, "to_release": diff.to_release, "datasets": names}
    )
    _write_state(state, record)
    return record
