"""Queries in worker processes that are killed at their time limit.

A query used to run in a thread of the process that asked for it: past its time limit
the caller got an answer, but Oxigraph's native evaluation could not be stopped and
kept its memory, and the parse ran before the clock started, under a lock every
other query waited on. Here each query (parse, evaluation and formatting) runs in a
worker process:

* **the limit is the limit**: at ``timeout_s`` the worker is killed (``SIGKILL``),
  whatever it is doing, and a fresh one takes its place; its memory goes with it;
* **bounded memory**: each worker may grow by at most ``memory_mb`` beyond what it
  inherited (``RLIMIT_AS``); past that the query fails with a message;
* **no shared lock**: each worker parses on its own, so a huge query blocks nobody;
* **slow queries cannot starve fast ones**: at most ``size`` workers run at once; a
  query that finds them all busy waits, and once a running query has had its fair
  share (``share_s``) it is stopped early to make room (its client is told the server
  was busy), so a newcomer waits at most about ``share_s`` whatever the others do.

Workers are forked from the process that owns the dataset, so they read the very
store it opened (in memory or on disk) without copying it; the parent never runs a
query itself. Everything sent between them is made by litkg on both ends (requests,
answers, our exceptions), never read from a file. POSIX only (``fork``); where fork
is unavailable the pool runs each job in the caller, as before.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kg.core.errors import KGError, QueryTimeout, SparqlError

#: How much more memory (MiB) a worker may take than it started with.
DEFAULT_MEMORY_MB = 2048


class QueryPreempted(QueryTimeout):
    """A query stopped before its limit so that waiting queries could run."""


class Busy(SparqlError):
    """Too many queries are waiting for a worker."""


def _set_memory_limit(extra_mb: int) -> None:
    if extra_mb <= 0:
        return
    try:
        import resource

        with Path("/proc/self/status").open(encoding="ascii") as fh:
            size_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
        limit = size_kb * 1024 + extra_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError, StopIteration):
        pass  # no /proc or no rlimits: the time limit still bounds the query


def _worker_main(
    conn: Connection, handler: Callable[[Any], Any], memory_mb: int, ready: Any
) -> None:
    """A worker's loop: a request in, ``("ok", value)`` or ``("error", exc)`` out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    parent = os.getppid()
    _set_memory_limit(memory_mb)
    ready.set()
    while True:
        try:
            while not conn.poll(1.0):
                if os.getppid() != parent:  # the parent died (even by SIGKILL): so do we
                    return
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", handler(request))
        except KGError as exc:
            answer = ("error", exc)
        except MemoryError:
            answer = (
                "error",
                SparqlError(
                    f"The query needed more than {memory_mb} MiB and was stopped; narrow it "
                    f"(fewer variables, a LIMIT, more specific patterns)."
                ),
            )
        except RecursionError:
            answer = ("error", SparqlError("The query is nested too deeply to evaluate."))
        except Exception as exc:
            answer = ("error", SparqlError(f"The query failed: {type(exc).__name__}: {exc}"))
        try:
            conn.send(answer)
        except (OSError, ValueError):
            return


@dataclass
class _Worker:
    process: Any
    conn: Connection
    started: float = 0.0  # when its current query started (0: idle)
    preempted: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class QueryPool:
    """At most ``size`` worker processes running ``handler(request)``; see the module doc."""

    def __init__(
        self,
        handler: Callable[[Any], Any],
        *,
        size: int = 4,
        memory_mb: int = DEFAULT_MEMORY_MB,
        share_s: float = 1.0,
        max_waiting: int | None = None,
    ) -> None:
        self.handler = handler
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self.share_s = share_s
        self.max_waiting = 4 * self.size if max_waiting is None else max_waiting
        self._idle: list[_Worker] = []
        self._busy: list[_Worker] = []
        self._waiting = 0
        self._queue: collections.deque[object] = collections.deque()
        self._cond = threading.Condition()
        # One fork at a time: a worker forked while another's pipe is still open on both
        # ends would inherit that pipe's worker end, and the parent would then never see
        # the other worker die (its read would wait for the whole time limit).
        self._spawning = threading.Lock()
        self._closed = False
        try:
            self._ctx: Any = multiprocessing.get_context("fork")
        except ValueError:
            self._ctx = None

    # -- workers
    def _spawn(self) -> _Worker:
        with self._spawning:
            parent, child = self._ctx.Pipe()
            ready = self._ctx.Event()
            process = self._ctx.Process(
                target=_worker_main,
                args=(child, self.handler, self.memory_mb, ready),
                name="litkg-sparql-worker",
                daemon=True,
            )
            process.start()
            child.close()
        ready.wait(10)
        return _Worker(process, parent)

    @staticmethod
    def _kill(worker: _Worker) -> None:
        with contextlib.suppress(OSError, ValueError):
            if worker.process.pid is not None:
                os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.join(5)
        with contextlib.suppress(OSError):
            worker.conn.close()

    def _acquire(self, deadline: float | None) -> _Worker:
        with self._cond:
            if self._closed:
                raise SparqlError("The query service is shutting down.")
            if self._queue or (not self._idle and len(self._busy) >= self.size):
                if len(self._queue) >= self.max_waiting:
                    raise Busy(
                        f"Busy: {len(self._busy)} queries running and {len(self._queue)} "
                        f"waiting. Try again shortly."
                    )
                ticket = object()  # waiters are served in arrival order
                self._queue.append(ticket)
                self._waiting = len(self._queue)
                try:
                    while self._queue[0] is not ticket or (
                        not self._idle and len(self._busy) >= self.size
                    ):
                        self._preempt_one()
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            raise QueryTimeout(
                                "stopped: no worker became free within the time limit (the "
                                "server is busy); try again shortly"
                            )
                        self._cond.wait(0.05 if remaining is None else min(remaining, 0.05))
                finally:
                    self._queue.remove(ticket)
                    self._waiting = len(self._queue)
                    self._cond.notify_all()
            worker = self._idle.pop() if self._idle else None
            if worker is None:
                worker = _Worker(None, None)  # type: ignore[arg-type]  # filled below
            worker.started = time.monotonic()
            worker.preempted = False
            self._busy.append(worker)
        if worker.process is None:
            try:
                fresh = self._spawn()
            except BaseException:
                with self._cond:
                    self._busy.remove(worker)
                    self._cond.notify_all()
                raise
            worker.process, worker.conn = fresh.process, fresh.conn
        return worker

    def _preempt_one(self) -> None:
        """Stop the longest-running query once it has had its share (lock held)."""
        now = time.monotonic()
        running = [w for w in self._busy if w.process is not None and not w.preempted]
        stopping = len(self._busy) - len(running)
        if not running or stopping >= self._waiting:  # one stopped query per waiting one
            return
        oldest = min(running, key=lambda w: w.started)
        if now - oldest.started >= self.share_s:
            oldest.preempted = True
            with contextlib.suppress(OSError, ValueError):
                if oldest.process.pid is not None:
                    os.kill(oldest.process.pid, signal.SIGKILL)

    def _release(self, worker: _Worker, *, alive: bool) -> None:
        if not alive:
            self._kill(worker)
        with self._cond:
            self._busy.remove(worker)
            worker.started = 0.0
            if alive and not self._closed:
                self._idle.append(worker)
            self._cond.notify_all()

    def start(self) -> None:
        """Fork the workers now (best while the caller has no other threads yet)."""
        if self._ctx is None:
            return
        with self._cond:
            missing = self.size - len(self._idle) - len(self._busy)
        fresh = [self._spawn() for _ in range(max(missing, 0))]
        with self._cond:
            self._idle.extend(fresh)
            self._cond.notify_all()

    # -- the one call
    def run(self, request: Any, timeout_s: float) -> Any:
        """``handler(request)`` in a worker, stopped at ``timeout_s`` (0: no limit).
        Raises what the handler raised (a :class:`KGError`), :class:`QueryTimeout`,
        :class:`QueryPreempted` or :class:`Busy`."""
        if self._ctx is None:
            return self.handler(request)
        deadline = time.monotonic() + timeout_s if timeout_s and timeout_s > 0 else None
        worker = self._acquire(deadline)
        alive = False
        try:
            try:
                worker.conn.send(request)
                if not self._answered(worker, deadline):
                    raise QueryTimeout(
                        f"stopped after {timeout_s:g} s; narrow the query or raise "
                        f"LITKG_SPARQL_TIMEOUT"
                    )
                status, value = worker.conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                if worker.preempted:
                    raise QueryPreempted(
                        f"stopped after {time.monotonic() - worker.started:.1f} s to let "
                        f"waiting queries run (the server is busy); try again shortly, or "
                        f"narrow the query"
                    ) from None
                raise SparqlError(
                    "The query's worker process died (out of memory?); narrow the query."
                ) from None
            alive = not worker.preempted
        finally:
            self._release(worker, alive=alive)
        if status == "ok":
            return value
        raise value

    @staticmethod
    def _answered(worker: _Worker, deadline: float | None) -> bool:
        """Wait for the worker's answer (True) or its death (True: the read then fails)
        until ``deadline`` (False). The pipe reports a dead worker at once; its exit
        status is checked as well, every quarter second, so that a copy of the pipe held
        by some other process can never hide the death."""
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            step = 0.25 if remaining is None else min(remaining, 0.25)
            if worker.conn.poll(step):
                return True
            if worker.process.exitcode is not None:
                raise EOFError("the worker died")

    def running(self) -> int:
        with self._cond:
            return len(self._busy)

    def waiting(self) -> int:
        """Queries waiting for a worker now."""
        with self._cond:
            return len(self._queue)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = self._idle + self._busy
            self._idle = []
        for worker in workers:
            if worker.process is not None:
                self._kill(worker)


__all__ = ["DEFAULT_MEMORY_MB", "Busy", "QueryPool", "QueryPreempted"]
