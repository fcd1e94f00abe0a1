"""Atomic file writes, and the one writer lock per data dir.

Atomic writes: a temporary file beside the target, flushed to disk, renamed over it.
A process killed at any moment leaves either the old file or the new one, never half
of it.

The writer lock (:func:`writer_lock`): ``ingest``, ``build`` and ``import-list`` each
hold ``<data dir>/.writer.lock`` (an advisory ``flock``) while they write, so two of
them on one data dir never interleave; the second exits at once with a message naming
the first. The kernel drops the lock when its holder dies, ``kill -9`` included, so a
stale lock never blocks anyone. Readers take no lock (SQLite and the atomic renames
keep what they read consistent).
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from kg.core.errors import DataDirBusy, DataDirReadOnly

#: errno values that mean "this file system (or this file) does not let us write".
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

LOCK_NAME = ".writer.lock"


def read_only_error(path: Path | str, exc: OSError | None = None) -> DataDirReadOnly:
    """The message for a write refused by the file system at ``path``."""
    why = f" ({exc.strerror})" if exc is not None and exc.strerror else ""
    return DataDirReadOnly(
        f"read-only: {path}{why}. litkg needs to write there for this command; make it "
        f"writable, or point LITKG_DATA_DIR at a writable copy. Reading commands "
        f"(status, recommend, sparql, app) work on a read-only data dir."
    )


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through: a temp file beside it, synced and renamed
    over ``path`` when the block ends without an error (else removed), so a reader sees
    the old file or the new one, never half of one. A read-only data dir raises
    :class:`DataDirReadOnly`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        if exc.errno in READ_ONLY_ERRNOS:
            raise read_only_error(path.parent, exc) from exc
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as fh:
        fh.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- writer lock
_held: dict[str, int] = {}  # (lock path, thread) -> depth: re-entrant within one thread
_held_guard = threading.Lock()


def _holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw.decode("utf-8"))
        return f"`litkg {info['what']}`, pid {info['pid']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another litkg process"


@contextmanager
def writer_lock(data_dir: Path, what: str) -> Iterator[None]:
    """Hold the data dir's writer lock for ``what`` (``ingest``, ``build``,
    ``import-list``). Raises :class:`DataDirBusy` when another process holds it and
    :class:`DataDirReadOnly` when the data dir cannot be written. Re-entrant within a
    thread (the CLI and the library function it calls may both take it); another
    thread of the same process is another writer."""
    data_dir = Path(data_dir)
    path = data_dir / LOCK_NAME
    key = f"{path.resolve()}:{threading.get_ident()}"  # another thread is another writer
    with _held_guard:
        if _held.get(key):
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock, as before
        yield
        return
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in READ_ONLY_ERRNOS:
            raise read_only_error(data_dir, exc) from exc
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirBusy(
                f"{data_dir} is being written by {_holder(fd)}: one writer at a time "
                f"(ingest, build, import-list). Wait until it finishes, then run "
                f"`litkg {what}` again."
            ) from None
        info = {
            "what": what,
            "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "argv": sys.argv[:4],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_holder(data_dir: Path) -> str | None:
    """Who holds the data dir's writer lock (``None`` when nobody does), for ``status``."""
    try:
        import fcntl
    except ImportError:
        return None
    path = Path(data_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


__all__ = [
    "LOCK_NAME",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_writer",
    "lock_holder",
    "read_only_error",
    "writer_lock",
]
