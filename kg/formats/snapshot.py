"""The portable snapshot format: a folder (or ``.tar``/``.tar.gz``) of Parquet tables
with a manifest (format version, sources and licences, counts, every file's sha256);
see docs/snapshot-format.md.

This module is the format alone: the table schemas, writing a snapshot from Arrow tables
(:func:`write_snapshot`, which ``litkg bulk`` uses too) and reading a manifest back with
its checks (:func:`read_manifest`). Exporting a data dir and merging a snapshot into one
are :mod:`kg.portable.archive`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kg.core.errors import KGError
from kg.store.corpus import now_iso

#: The snapshot format this litkg writes and the newest it reads.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: What an https download may weigh at most (a 200k-paper corpus is a few hundred MB).
MAX_DOWNLOAD_BYTES = 4 << 30
#: What an archive may unpack to at most.
MAX_UNPACKED_BYTES = 16 << 30
MAX_MANIFEST_BYTES = 16 << 20
CHUNK = 1 << 20

S2_LICENCE = "Semantic Scholar API, S2 licence (see api terms)"
LOCAL_LICENCE = "the user's own file (its terms)"
LIST_LICENCE = "the reading list's own terms (not recorded)"
SPECTER_MODEL = "specter_v2"

STR = pa.string()
STRS = pa.list_(pa.string())
VEC = pa.list_(pa.float32())

#: Each file of a snapshot and its columns, in order (``docs/snapshot-format.md``).
SCHEMAS: dict[str, pa.Schema] = {
    "papers.parquet": pa.schema(
        [
            ("paper_id", STR),
            ("title", STR),
            ("abstract", STR),
            ("tldr", STR),
            ("year", pa.int32()),
            ("venue", STR),
            ("journal", STR),
            ("publication_date", STR),
            ("url", STR),
            ("external_ids", pa.map_(pa.string(), pa.string())),
            ("publication_types", STRS),
            ("fields_of_study", STRS),
            ("citation_count", pa.int64()),
            ("reference_count", pa.int64()),
            ("influential_citation_count", pa.int64()),
            ("is_open_access", pa.bool_()),
            ("open_access_pdf", STR),
            ("tags", STRS),
            ("resolved", pa.bool_()),
            ("detail", pa.int8()),
            ("endpoint", STR),
            ("fetched_at", STR),
        ]
    ),
    "authors.parquet": pa.schema(
        [("paper_id", STR), ("position", pa.int32()), ("name", STR), ("author_id", STR)]
    ),
    "citations.parquet": pa.schema(
        [
            ("citing", STR),
            ("cited", STR),
            ("contexts", STRS),
            ("intents", STRS),
            ("is_influential", pa.bool_()),
            ("endpoint", STR),
            ("fetched_at", STR),
        ]
    ),
    "seeds.parquet": pa.schema(
        [
            ("source", STR),
            ("position", pa.int32()),
            ("title", STR),
            ("status", STR),
            ("paper_id", STR),
            ("url", STR),
            ("ids", STRS),
            ("section_path", STRS),
            ("note", STR),
            ("method", STR),
            ("match_score", pa.float64()),
            ("reason", STR),
            ("updated_at", STR),
        ]
    ),
    "aliases.parquet": pa.schema([("alias", STR), ("paper_id", STR)]),
    "same_as.parquet": pa.schema([("paper_id", STR), ("canonical_id", STR), ("reason", STR)]),
    "embeddings.parquet": pa.schema([("paper_id", STR), ("model", STR), ("vector", VEC)]),
    "specter.parquet": pa.schema([("paper_id", STR), ("vector", VEC)]),
}


class SnapshotError(KGError):
    """A snapshot cannot be written or read (the message names the file and the fix)."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    counts: Mapping[str, int]
    embedding_model: str | None
    list_name: str | None = None
    bytes: int = 0

    def lines(self) -> list[str]:
        what = (
            f"reading list {self.list_name!r} and its neighbourhood"
            if self.list_name
            else ("the whole corpus")
        )
        out = [f"Snapshot of {what} written to {self.path} ({self.bytes / 1e6:.1f} MB)"]
        out.append("  " + ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        out.append(f"  text embeddings: {self.embedding_model or 'none (run `litkg build`)'}")
        return out


@dataclass(frozen=True)
class ImportReport:
    snapshot_id: str
    origin: str
    counts: Mapping[str, int]
    #: Rows of the corpus store this import inserted or changed (0: it was all there).
    rows_changed: int
    embeddings_added: int
    already_imported: bool
    created_at: str | None = None
    litkg_version: str | None = None
    #: The embedder the snapshot's text embeddings came from (its cache-key name).
    embedding_model: str | None = None

    def lines(self) -> list[str]:
        out = [
            f"Snapshot {self.snapshot_id[:12]} (made {self.created_at or '?'} by litkg "
            f"{self.litkg_version or '?'}) from {self.origin}"
        ]
        out.append("  " + ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        if self.rows_changed == 0 and self.embeddings_added == 0:
            out.append("  nothing new: the corpus already held all of it")
        else:
            out.append(
                f"  merged: {self.rows_changed} corpus rows added or enriched, "
                f"{self.embeddings_added} text embeddings cached"
            )
        if self.embedding_model:
            out.append(
                f"  next: `litkg build` (no S2 calls; it reuses the snapshot's embeddings when "
                f"its embedder is {self.embedding_model})"
            )
        else:
            out.append("  next: `litkg build` (no S2 calls; the snapshot has no text embeddings)")
        return out


# --------------------------------------------------------------------------- helpers
def litkg_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("litkg")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def write_table(path: Path, name: str, columns: Mapping[str, list[Any]]) -> int:
    schema = SCHEMAS[name]
    table = pa.Table.from_pydict({f.name: columns[f.name] for f in schema}, schema=schema)
    pq.write_table(table, path / name, compression="zstd")
    return table.num_rows


#: The key each file's rows are sorted by.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "papers.parquet": ("paper_id",),
    "authors.parquet": ("paper_id", "position"),
    "citations.parquet": ("citing", "cited"),
    "seeds.parquet": ("source", "position"),
    "aliases.parquet": ("alias",),
    "same_as.parquet": ("paper_id",),
    "embeddings.parquet": ("paper_id",),
    "specter.parquet": ("paper_id",),
}


def publish(path: Path, fill: Callable[[Path], Mapping[str, Any]]) -> int:
    """Write a snapshot at ``path`` (a new folder, or a ``.tar``/``.tar.gz``) atomically:
    ``fill(work)`` writes the Parquet files into a temp folder and returns the manifest;
    returns the bytes written."""
    archive = archive_kind(path)
    if path.exists():
        raise SnapshotError(f"{path} already exists; export to a new path (or remove it first).")
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".litkg-snapshot-", dir=parent))
    try:
        manifest = fill(work)
        (work / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if archive:
            tmp = parent / f".{path.name}.partial"
            write_archive(work, tmp, gz=archive == "tar.gz")
            tmp.replace(path)
            return path.stat().st_size
        size = sum(f.stat().st_size for f in work.iterdir())
        work.replace(path)
        return size
    except OSError as exc:
        raise SnapshotError(f"cannot write the snapshot at {path} ({exc}); check the path") from exc
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def write_snapshot(
    path: Path | str,
    tables: Mapping[str, pa.Table],
    *,
    sources: Sequence[Mapping[str, Any]],
    list_name: str | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
) -> ExportReport:
    """Write a snapshot from Arrow tables made elsewhere (e.g. ``litkg bulk``'s Spark
    selection): ``tables`` maps file names (``papers.parquet`` ...) to tables with at
    least that file's columns; each is cast to its schema and sorted by its key, a file
    not given is written empty. ``sources`` go into the manifest as they are (see
    ``docs/snapshot-format.md``), ``manifest_extra``'s keys over the computed ones."""
    path = Path(path)
    unknown = sorted(set(tables) - set(SCHEMAS))
    if unknown:
        raise SnapshotError(f"not snapshot files: {', '.join(unknown)}; use {', '.join(SCHEMAS)}")
    counts: dict[str, int] = {}
    dims: dict[str, int | None] = {}

    def fill(work: Path) -> dict[str, Any]:
        for name, schema in SCHEMAS.items():
            given = tables.get(name)
            try:
                table = (
                    schema.empty_table()
                    if given is None
                    else given.select(schema.names).cast(schema)
                )
            except (KeyError, pa.ArrowException, ValueError) as exc:
                raise SnapshotError(f"{name}: the table does not fit the format ({exc})") from exc
            table = table.sort_by([(k, "ascending") for k in SORT_KEYS[name]])
            pq.write_table(table, work / name, compression="zstd")
            counts[name.removesuffix(".parquet")] = table.num_rows
            if name in ("embeddings.parquet", "specter.parquet") and table.num_rows:
                dims[name] = len(table.column("vector")[0].as_py() or ())
        model = None
        if counts["embeddings"]:
            model = str(tables["embeddings.parquet"].column("model")[0].as_py())
        return {
            "format": "litkg.snapshot",
            "format_version": FORMAT_VERSION,
            "litkg_version": litkg_version(),
            "created_at": now_iso(),
            "list": list_name,
            "text_only": counts["citations"] == 0,
            "sources": [dict(s) for s in sources],
            "counts": dict(counts),
            "embeddings": {
                "model": model,
                "dim": dims.get("embeddings.parquet"),
                "specter": {"model": SPECTER_MODEL, "dim": dims.get("specter.parquet")},
            },
            "files": {name: sha256_of(work / name) for name in sorted(SCHEMAS)},
        } | dict(manifest_extra or {})

    size = publish(path, fill)
    return ExportReport(path, counts, None, list_name, size)


def archive_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    if name.endswith(".tar"):
        return "tar"
    return None


def write_archive(src: Path, dest: Path, *, gz: bool) -> None:
    """The snapshot's files at the archive's root, in a fixed order."""
    with tarfile.open(dest, "w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as tar:
        for name in [MANIFEST, *sorted(SCHEMAS)]:
            info = tar.gettarinfo(str(src / name), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with (src / name).open("rb") as fh:
                tar.addfile(info, fh)


def read_manifest(folder: Path) -> dict[str, Any]:
    """A snapshot's manifest, checked: format, version, and every file's sha256."""
    path = folder / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise SnapshotError(f"{path} is too large to be a snapshot manifest; refused")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(
            f"cannot read {path} ({exc}); is this a litkg snapshot? Export it again."
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != "litkg.snapshot":
        raise SnapshotError(f"{path} is not a litkg snapshot manifest (no format 'litkg.snapshot')")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SnapshotError(f"{path}: format_version {version!r} is not a version number")
    if version > FORMAT_VERSION:
        raise SnapshotError(
            f"snapshot format {version} is newer than this litkg reads ({FORMAT_VERSION}): "
            f"upgrade litkg"
        )
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise SnapshotError(f"{path} lists no files; export the snapshot again")
    for name in SCHEMAS:
        if name not in files:
            raise SnapshotError(f"{path} does not list {name}; export the snapshot again")
        if not (folder / name).is_file():
            raise SnapshotError(f"{name} is missing from the snapshot at {folder}")
        if sha256_of(folder / name) != files[name]:
            raise SnapshotError(
                f"{name} does not match its sha256 in the manifest: the snapshot is damaged "
                f"or was changed. Download or copy it again."
            )
    return manifest


def _table(folder: Path, name: str) -> pa.Table:
    """Table ``name`` of the snapshot in ``folder``, its columns those of :data:`SCHEMAS`
    (a :class:`SnapshotError` names what is wrong)."""
    try:
        table = pq.read_table(folder / name)
    except (OSError, pa.ArrowException) as exc:
        raise SnapshotError(f"{name} is not readable Parquet ({exc}); export it again") from exc
    want = SCHEMAS[name]
    missing = [f.name for f in want if f.name not in table.column_names]
    if missing:
        raise SnapshotError(f"{name} lacks the columns {', '.join(missing)}; export it again")
    try:
        return table.select(want.names).cast(want)
    except (pa.ArrowException, ValueError) as exc:
        raise SnapshotError(f"{name} has columns of the wrong type ({exc})") from exc


def read_table(folder: Path, name: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _table(folder, name).to_pylist()
    return result


def read_vectors(folder: Path, name: str) -> dict[str, np.ndarray]:
    """A vector table (``paper_id``, ``vector``) as paper id -> float32 vector, without a
    Python float per component (200k SPECTER vectors are 0.6 GB so, some 5 GB as lists):
    the vectors are slices of one array. Empty and null vectors are left out."""
    table = _table(folder, name)
    ids = table.column("paper_id").to_pylist()
    column = table.column("vector").combine_chunks()
    values = column.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    offsets = column.offsets.to_numpy()
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    return {
        pid: values[offsets[i] : offsets[i + 1]]
        for i, pid in enumerate(ids)
        if pid is not None and valid[i] and offsets[i + 1] > offsets[i]
    }


__all__ = [
    "CHUNK",
    "FORMAT_VERSION",
    "LIST_LICENCE",
    "LOCAL_LICENCE",
    "MANIFEST",
    "MAX_DOWNLOAD_BYTES",
    "MAX_MANIFEST_BYTES",
    "MAX_UNPACKED_BYTES",
    "S2_LICENCE",
    "SCHEMAS",
    "SORT_KEYS",
    "SPECTER_MODEL",
    "ExportReport",
    "ImportReport",
    "SnapshotError",
    "archive_kind",
    "litkg_version",
    "publish",
    "read_manifest",
    "read_table",
    "read_vectors",
    "sha256_of",
    "write_archive",
    "write_snapshot",
    "write_table",
]
