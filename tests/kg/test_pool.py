"""The query worker pool on its own: a dead worker is always noticed, whatever else holds
its pipe."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

from kg.rdf.pool import QueryPool, QueryPreempted

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the pool forks its workers")


def _echo(request: Any) -> Any:
    if request == "sleep":
        time.sleep(60)
    return request


def test_a_worker_forked_during_another_fork_does_not_keep_its_pipe() -> None:
    """Workers forked from several threads at once: each one's death is seen by the parent
    at once (a sibling that inherited its pipe would hide it)."""
    pool = QueryPool(_echo, size=8)
    workers: list[Any] = []
    lock = threading.Lock()

    def spawn() -> None:
        worker = pool._spawn()
        with lock:
            workers.append(worker)

    threads = [threading.Thread(target=spawn) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert len(workers) == 8
        for worker in workers:
            os.kill(worker.process.pid, signal.SIGKILL)
            started = time.monotonic()
            assert worker.conn.poll(5), "the parent did not see its worker die"
            assert time.monotonic() - started < 2
            with pytest.raises((EOFError, OSError)):
                worker.conn.recv()
    finally:
        for worker in workers:
            QueryPool._kill(worker)


def test_a_killed_worker_is_noticed_even_when_its_pipe_is_held_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If some other process holds a copy of the worker's end of the pipe, the pipe never
    reports the death; the worker's exit status does, and the query ends at once instead of
    at its time limit."""
    pool = QueryPool(_echo, size=1, share_s=0.2)
    kept: list[Any] = []
    real_pipe = pool._ctx.Pipe

    def leaky_pipe(*args: Any, **kwargs: Any) -> Any:
        parent, child = real_pipe(*args, **kwargs)
        kept.append(os.dup(child.fileno()))  # a copy the worker's death cannot close
        return parent, child

    monkeypatch.setattr(pool._ctx, "Pipe", leaky_pipe)
    pool.start()
    outcome: dict[str, Any] = {}

    def slow() -> None:
        started = time.monotonic()
        try:
            pool.run("sleep", timeout_s=30)
        except QueryPreempted as exc:
            outcome["error"] = exc
        outcome["took"] = time.monotonic() - started

    try:
        thread = threading.Thread(target=slow)
        thread.start()
        while pool.running() < 1:
            time.sleep(0.01)
        started = time.monotonic()
        assert pool.run("fast", timeout_s=30) == "fast"  # preempts the slow one
        assert time.monotonic() - started < 5
        thread.join(10)
        assert isinstance(outcome.get("error"), QueryPreempted)
        assert outcome["took"] < 5
    finally:
        pool.close()
        for fd in kept:
            os.close(fd)
