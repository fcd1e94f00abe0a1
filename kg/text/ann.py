"""The approximate nearest-neighbour index over the graph's text vectors (field scale).

Above ``LITKG_ANN_MIN_PAPERS`` papers the build writes ``graph/text-ann.usearch``: an
HNSW graph (usearch) over the rows of ``embeddings.npz``, inner product on the unit
vectors (a cosine), stored in half precision. The recommender's ``text`` signal then
asks it for the ``LITKG_ANN_NEIGHBOURS`` nearest rows of each read paper and of their mean
vector, and computes exact cosines on those rows, on an even sample, and on every other
candidate that could still reach the top (:mod:`kg.recommend.signals`), instead of one
dense product over every paper (docs/decisions.md says why usearch, with the figures).

The file is usearch's own binary layout (arrays, no pickle: nothing in it can run code).
It is loaded on first use; a damaged or mismatched file is rebuilt from the vectors and
named in a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm
from usearch.index import Index

from kg.core.errors import KGError

log = logging.getLogger(__name__)

#: The index file under the graph dir.
ANN_FILE = "text-ann.usearch"
#: HNSW parameters: links per node, and the beam widths when adding and searching (a
#: search widens its beam to the number of neighbours asked for when that is larger).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 256
#: Rows added at a time when building (the progress bar moves per block).
_BLOCK = 50_000


class AnnIndexError(KGError):
    """The approximate index could not be built or read."""


def _index(ndim: int) -> Index:
    return Index(
        ndim=ndim,
        metric="ip",
        dtype="f16",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def _threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


class TextAnnIndex:
    """Nearest rows of a vector matrix (unit rows), approximately: :meth:`build` makes one,
    :meth:`load` reads one (rebuilding it when damaged), :meth:`neighbours` asks it."""

    def __init__(self, index: object, rows: int, ndim: int) -> None:
        self._index = index
        self.rows = rows
        self.ndim = ndim

    @classmethod
    def build(cls, vectors: np.ndarray, *, progress: bool = False) -> TextAnnIndex:
        """An index over the rows of ``vectors`` (keys: row numbers); ``progress``: a bar
        (at 1M papers this is ~10 minutes), the rows added a block at a time."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise AnnIndexError("The approximate index needs a non-empty 2-D vector matrix.")
        rows = vectors.shape[0]
        index = _index(vectors.shape[1])
        with tqdm(
            total=rows, desc="text index", unit="paper", disable=not progress, leave=False
        ) as bar:
            for lo in range(0, rows, _BLOCK):
                hi = min(rows, lo + _BLOCK)
                keys = np.arange(lo, hi, dtype=np.uint64)
                index.add(keys, vectors[lo:hi], threads=_threads())
                bar.update(hi - lo)
        return cls(index, rows, vectors.shape[1])

    def save(self, path: Path) -> None:
        """Write the index atomically (temp file + rename)."""
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            self._index.save(str(tmp))  # type: ignore[attr-defined]
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, vectors: np.ndarray) -> TextAnnIndex:
        """The index at ``path`` when it is a sound one of ``vectors``' shape; else one
        rebuilt from ``vectors`` (saved back when the directory is writable), with a
        warning that names the file."""
        problem = ""
        try:
            index = Index.restore(str(path))
            if index is None:
                problem = "missing"
            elif len(index) != vectors.shape[0] or index.ndim != vectors.shape[1]:
                problem = (
                    f"made for {len(index)} vectors of {index.ndim} dimensions, the graph "
                    f"has {vectors.shape[0]} of {vectors.shape[1]}"
                )
            else:
                index.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]
                return cls(index, vectors.shape[0], vectors.shape[1])
        except (ValueError, RuntimeError, OSError) as exc:
            problem = f"damaged ({exc})"
        log.warning("The approximate text index %s is %s: rebuilt from the vectors.", path, problem)
        # more than one block (minutes at field scale): the rebuild shows its progress
        rebuilt = cls.build(vectors, progress=vectors.shape[0] > _BLOCK)
        try:
            rebuilt.save(path)
        except OSError as exc:
            log.warning("Could not save the rebuilt index to %s: %s", path, exc)
        return rebuilt

    def neighbours(self, queries: np.ndarray, k: int) -> np.ndarray:
        """The rows among the ``k`` nearest of any of ``queries`` (sorted, unique)."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(int(k), self.rows))
        found = self._index.search(queries, k, threads=_threads())  # type: ignore[attr-defined]
        keys = np.atleast_2d(np.asarray(found.keys))
        # One query gives one list of matches, several a batch; fewer than k found leave
        # padding past each row's count.
        counts = np.atleast_1d(np.asarray(getattr(found, "counts", len(found))))
        valid = np.arange(keys.shape[1])[None, :] < counts[:, None]
        return np.unique(keys[valid].astype(np.int64))


__all__ = ["ANN_FILE", "AnnIndexError", "TextAnnIndex"]
