"""Opening the corpus's SQLite file where the file system allows no writes.

A store on a read-only file system (a mounted snapshot, a shared drive) is opened with
:func:`open_read_only`: reading works, and a write raises
:class:`~kg.core.errors.DataDirReadOnly` naming the path (:class:`ReadOnlyConnection`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kg.core.fileio import read_only_error


def writable(path: Path) -> bool:
    """Whether SQLite can write ``path`` and make its journal beside it (``access(2)``
    says no on a read-only file system even to root)."""
    import os

    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def read_only_message(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text


class ReadOnlyConnection(sqlite3.Connection):
    """A connection to a store on a read-only file system: a write says so, by path."""

    path: Path

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            if read_only_message(exc):
                raise read_only_error(self.path) from exc
            raise

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.OperationalError as exc:
            if read_only_message(exc):
                raise read_only_error(self.path) from exc
            raise


def open_read_only(path: Path) -> sqlite3.Connection:
    """``path`` opened for reading only. SQLite's ``mode=ro`` needs the WAL index beside
    the file; where it cannot be made (a read-only directory), ``immutable=1`` reads the
    file as it is (a store closed cleanly has everything checkpointed into it)."""
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}"
    last: sqlite3.Error | None = None
    for options in ("mode=ro", "mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(
                f"{uri}?{options}",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                factory=ReadOnlyConnection,
            )
            db.path = path
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError as exc:
            last = exc
    assert last is not None
    raise last


__all__ = ["ReadOnlyConnection", "open_read_only", "read_only_message", "writable"]
