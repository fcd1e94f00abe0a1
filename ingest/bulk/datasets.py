"""The S2 Datasets API: release list, shard URLs, diffs; shards downloaded into a cache.

``GET /datasets/v1/release/`` lists the releases, ``/release/latest`` names the newest,
``/release/{id}/dataset/{name}`` gives a dataset's shard URLs (signed, short-lived) and
``/diffs/{from}/to/{to}/{name}`` the update and delete files that lead from one release
to another. Every call needs an API key (``S2_API_KEY``, sent as ``x-api-key``) and goes
through :class:`ingest.s2.S2Client` (pacing, retries, the injectable transport), without
its response cache: the URLs expire.

Downloads land in ``<cache>/<release id>/<dataset>/`` (a release ``litkg bulk`` reads
as it is) and ``<cache>/diffs/<from>--<to>/<dataset>/{updates,deletes}/`` (a diff
``--diff`` reads). A file already there is not fetched again, so an interrupted
download resumes. ``https://`` only (plain ``http://`` from this machine only, for tests).

On a cluster, read a release from object storage instead: copy the shards to a bucket
and pass ``s3a://bucket/<release id>`` (Spark's s3a connector, hadoop-aws on the classpath).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from ingest.bulk import BulkError
from ingest.s2 import DATASETS, S2Client
from kg.core.settings import Settings

#: The datasets a selection reads (``paper-ids`` only when the papers lack a url).
DEFAULT_DATASETS = ("papers", "citations", "abstracts", "tldrs", "embeddings-specter_v2")
_RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class DiffFiles:
    """One step of a release diff of one dataset."""

    dataset: str
    from_release: str
    to_release: str
    update_files: tuple[str, ...]
    delete_files: tuple[str, ...]


def _check_id(release_id: str) -> str:
    if not _RELEASE_ID.match(release_id):
        raise BulkError(f"{release_id!r} is not a release id (e.g. 2026-11-25 or latest)")
    return release_id


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        return
    raise BulkError(f"{url.split('?')[0]}: only https:// shard URLs are downloaded")


class DatasetsClient:
    """The Datasets API over an :class:`S2Client` (which needs an API key)."""

    def __init__(self, client: S2Client):
        if not client.settings.s2_api_key:
            raise BulkError(
                "the S2 Datasets API needs an API key: set S2_API_KEY (request one at "
                "https://www.semanticscholar.org/product/api), or download the release "
                "yourself and pass its folder."
            )
        self.client = client

    def _get(self, path: str) -> Any:
        return self.client.request("GET", DATASETS + path)

    def releases(self) -> list[str]:
        data = self._get("/release/")
        if not isinstance(data, list):
            raise BulkError(f"the Datasets API answered an unexpected release list: {data!r:.200}")
        return [str(r) for r in data]

    def latest(self) -> str:
        data = self._get("/release/latest")
        rid = data.get("release_id") if isinstance(data, dict) else None
        if not isinstance(rid, str):
            raise BulkError(f"the Datasets API named no latest release: {data!r:.200}")
        return _check_id(rid)

    def files(self, release_id: str, dataset: str) -> list[str]:
        """The shard URLs of one dataset of a release."""
        path = f"/release/{quote(_check_id(release_id))}/dataset/{quote(dataset)}"
        data = self._get(path)
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list):
            raise BulkError(f"the Datasets API listed no files for {dataset} {release_id}")
        return [str(f) for f in files]

    def diffs(self, from_release: str, to_release: str, dataset: str) -> list[DiffFiles]:
        """The steps leading from ``from_release`` to ``to_release`` for one dataset."""
        path = (
            f"/diffs/{quote(_check_id(from_release))}/to/{quote(_check_id(to_release))}/"
            f"{quote(dataset)}"
        )
        data = self._get(path)
        steps = data.get("diffs") if isinstance(data, dict) else None
        if not isinstance(steps, list):
            raise BulkError(f"the Datasets API listed no diffs for {dataset}: {data!r:.200}")
        return [
            DiffFiles(
                dataset,
                str(step.get("from_release")),
                str(step.get("to_release")),
                tuple(str(u) for u in step.get("update_files") or ()),
                tuple(str(u) for u in step.get("delete_files") or ()),
            )
            for step in steps
            if isinstance(step, dict)
        ]


def _shard_name(url: str, index: int) -> str:
    """A local name for a shard: its URL's file name, ending ``.gz`` so Spark unpacks it."""
    name = PurePosixPath(urlsplit(url).path).name or f"part-{index:05d}"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return name if name.endswith(".gz") else f"{name}.gz"


def _fetch_all(client: S2Client, urls: Sequence[str], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    fetched = 0
    for i, url in enumerate(urls):
        _check_url(url)
        dest = folder / _shard_name(url, i)
        if dest.is_file():
            continue
        client.download(url, dest)
        fetched += 1
    return fetched


def _client(settings: Settings, client: S2Client | None) -> S2Client:
    return client or S2Client(settings, use_cache=False)


def download_release(
    settings: Settings,
    release_id: str,
    cache: Path,
    datasets: Sequence[str] = DEFAULT_DATASETS,
    *,
    client: S2Client | None = None,
) -> tuple[Path, str]:
    """Download the datasets of a release (``latest``: the newest) into ``cache``;
    returns the release's folder and id."""
    s2 = _client(settings, client)
    try:
        api = DatasetsClient(s2)
        rid = api.latest() if release_id == "latest" else _check_id(release_id)
        folder = cache / rid
        for name in datasets:
            _fetch_all(s2, api.files(rid, name), folder / name)
    finally:
        if client is None:
            s2.close()
    return folder, rid


def download_diffs(
    settings: Settings,
    from_release: str,
    to_release: str,
    cache: Path,
    datasets: Sequence[str] = DEFAULT_DATASETS,
    *,
    client: S2Client | None = None,
) -> list[Path]:
    """Download the diffs from ``from_release`` to ``to_release`` (``latest``), one
    folder per step, in order, each in the layout :func:`ingest.bulk.release.locate_diff`
    reads."""
    s2 = _client(settings, client)
    try:
        api = DatasetsClient(s2)
        end = api.latest() if to_release == "latest" else _check_id(to_release)
        steps: dict[tuple[str, str], list[DiffFiles]] = {}
        for name in datasets:
            for step in api.diffs(_check_id(from_release), end, name):
                steps.setdefault((step.from_release, step.to_release), []).append(step)
        folders = []
        for (start, stop), parts in steps.items():
            folder = cache / "diffs" / f"{_check_id(start)}--{_check_id(stop)}"
            for part in parts:
                _fetch_all(s2, part.update_files, folder / part.dataset / "updates")
                _fetch_all(s2, part.delete_files, folder / part.dataset / "deletes")
            (folder / "diff.json").write_text(
                json.dumps({"from_release": start, "to_release": stop}) + "\n", encoding="utf-8"
            )
            folders.append(folder)
    finally:
        if client is None:
            s2.close()
    return folders
