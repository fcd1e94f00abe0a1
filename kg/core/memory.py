"""Pausing Python's cycle collector while a large graph is decoded.

Loading a field-scale graph makes tens of millions of objects (papers, their authors
and ids, node attributes, index lists), none of them in reference cycles that matter.
Every 700 new objects the collector runs, and its oldest generation scans every object
alive: at 1M papers those passes cost more than the decoding itself. Inside
:func:`gc_paused` the collector waits; it runs as before once the outermost pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic collection inside (nested pauses nest; the collector is switched back
    on only if it was on when the outermost one began)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


__all__ = ["gc_paused"]
