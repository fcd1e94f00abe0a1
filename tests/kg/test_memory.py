"""Pausing the cycle collector while a large graph is decoded (kg.core.memory)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from kg.core.memory import gc_paused


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_waits_inside_and_runs_again_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the inner end does not switch it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_switches_it_back_on() -> None:
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("decoding failed")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()
