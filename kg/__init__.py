"""litkg: a literature knowledge graph and "what to read next" recommender.

The Python API is one call, :func:`open`, which returns a :class:`kg.api.Litkg` for a
data dir::

    import kg

    lib = kg.open("data")
    lib.recommend(["ARXIV:2209.11895"], k=5)

Every error litkg raises on purpose is a :class:`LitkgError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.core.errors import LitkgError

if TYPE_CHECKING:
    from kg.api import Litkg

__all__ = ["LitkgError", "open"]


def open(data_dir: str | Path | None = None, **seams: Any) -> Litkg:
    """The litkg data dir ``data_dir`` (default ``$LITKG_DATA_DIR``, else ``./data``) as
    one :class:`kg.api.Litkg`. ``seams``: ``settings``, ``embedder``, ``s2`` (see
    :func:`kg.api.open_library`)."""
    # Imported here, not at the top: ``import kg`` stays light for the modules below the
    # API (every ``kg.core`` import runs this file), and kg.api imports the whole stack.
    from kg.api import open_library

    return open_library(data_dir, **seams)
