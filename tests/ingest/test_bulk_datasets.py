"""The Datasets API client against a local fake of the API (no network, no Spark)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ingest.bulk import BulkError
from ingest.bulk.datasets import DatasetsClient, download_diffs, download_release
from ingest.bulk.release import locate, locate_diff
from ingest.s2 import S2Client
from kg.core.settings import Settings
from tests.s2ag_layout import write_diff, write_release
from tests.s2server import World
from tests.s2world import small_world

KEY = "test-key"
OLD, NEW = "2026-11-01", "2026-12-01"


class FakeDatasets:
    """Serves releases written in S2AG layout the way the Datasets API lists them: the
    API needs ``x-api-key``; shard URLs are "signed" (a query string) and served
    without the key."""

    def __init__(self, root: Path):
        self.root = root
        self.calls: list[tuple[str, str | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.calls.append((self.path, self.headers.get("x-api-key")))
                fake.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeDatasets:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _files(self, folder: Path) -> list[str]:
        rel = folder.relative_to(self.root)
        return [
            f"{self.url}/files/{rel}/{p.name}?X-Amz-Signature=abc" for p in sorted(folder.iterdir())
        ]

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?")[0]
        if path.startswith("/files/"):
            data = (self.root / path.removeprefix("/files/")).read_bytes()
            return self._send(h, 200, data, "application/gzip")
        if h.headers.get("x-api-key") != KEY:
            return self._json(h, 403, {"message": "Forbidden"})
        parts = path.removeprefix("/datasets/v1/").strip("/").split("/")
        if parts == ["release"]:
            return self._json(h, 200, [OLD, NEW])
        if parts == ["release", "latest"]:
            return self._json(h, 200, {"release_id": NEW, "datasets": []})
        if len(parts) == 4 and parts[0] == "release" and parts[2] == "dataset":
            folder = self.root / parts[1] / parts[3]
            if not folder.is_dir():
                return self._json(h, 404, {"error": "no such dataset"})
            return self._json(h, 200, {"name": parts[3], "files": self._files(folder)})
        if len(parts) == 5 and parts[0] == "diffs" and parts[2] == "to":
            folder = self.root / "diff" / parts[4]
            step = {
                "from_release": parts[1],
                "to_release": parts[3],
                "update_files": self._files(folder / "updates"),
                "delete_files": self._files(folder / "deletes"),
            }
            return self._json(h, 200, {"dataset": parts[4], "diffs": [step]})
        return self._json(h, 404, {"error": "not found"})

    def _json(self, h: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        self._send(h, status, json.dumps(body).encode(), "application/json")

    def _send(self, h: BaseHTTPRequestHandler, status: int, data: bytes, kind: str) -> None:
        h.send_response(status)
        h.send_header("content-type", kind)
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeDatasets]:
    world = small_world()
    newer = World([dict(p) for p in world.papers.values()], world.edges[:-3])
    write_release(world, tmp_path / "served" / OLD)
    write_release(newer, tmp_path / "served" / NEW)
    write_diff(world, newer, tmp_path / "served" / "diff", from_release=OLD, to_release=NEW)
    with FakeDatasets(tmp_path / "served") as server:
        yield server


def settings(url: str, tmp: Path, key: str | None = KEY) -> Settings:
    return Settings(data_dir=tmp / "data", s2_api_url=url, s2_api_key=key, s2_min_interval=0.0)


def test_releases_and_dataset_files_are_listed_with_the_key(
    fake: FakeDatasets, tmp_path: Path
) -> None:
    with S2Client(settings(fake.url, tmp_path), use_cache=False) as client:
        api = DatasetsClient(client)
        assert api.releases() == [OLD, NEW]
        assert api.latest() == NEW
        files = api.files(NEW, "papers")
    assert files and all("X-Amz-Signature" in f for f in files)
    assert all(key == KEY for _, key in fake.calls)


def test_a_release_downloads_into_the_cache_and_resumes(fake: FakeDatasets, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folder, rid = download_release(settings(fake.url, tmp_path), "latest", cache)
    assert rid == NEW and folder == cache / NEW
    served = fake.root / NEW / "papers"
    for shard in served.iterdir():
        assert (folder / "papers" / shard.name).read_bytes() == shard.read_bytes()
    release = locate(folder)
    assert {"papers", "citations", "abstracts", "embeddings"} <= set(release.datasets)
    # The signed shard URLs never get the key.
    assert all(key is None for path, key in fake.calls if path.startswith("/files/"))
    fetched = sum(1 for path, _ in fake.calls if path.startswith("/files/"))
    download_release(settings(fake.url, tmp_path), NEW, cache)  # everything is there
    assert sum(1 for path, _ in fake.calls if path.startswith("/files/")) == fetched


def test_diffs_download_in_the_layout_bulk_reads(fake: FakeDatasets, tmp_path: Path) -> None:
    folders = download_diffs(settings(fake.url, tmp_path), OLD, "latest", tmp_path / "cache")
    assert [f.name for f in folders] == [f"{OLD}--{NEW}"]
    diff = locate_diff(folders[0])
    assert (diff.from_release, diff.to_release) == (OLD, NEW)
    assert "citations" in diff.updates and "citations" in diff.deletes


def test_no_key_and_refusals_are_named(fake: FakeDatasets, tmp_path: Path) -> None:
    with pytest.raises(BulkError, match="S2_API_KEY"):
        download_release(settings(fake.url, tmp_path, key=None), "latest", tmp_path / "c")
    with pytest.raises(BulkError, match="not a release id"):
        download_release(settings(fake.url, tmp_path), "../etc", tmp_path / "c")
    from ingest.errors import S2AuthError

    with pytest.raises(S2AuthError, match="S2_API_KEY"):
        download_release(settings(fake.url, tmp_path, key="wrong"), "latest", tmp_path / "c")
