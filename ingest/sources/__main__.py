"""``python -m ingest.sources [seed page]``: regenerate the bundled seed list."""

from __future__ import annotations

from pathlib import Path

from ingest.sources.load import write_bundled_seeds
from ingest.sources.seedlist import BUNDLED_SEED_LIST

if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    import sys

    page = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else (
            Path(__file__).resolve().parents[3]
            / "shared"
            / "seeds"
            / "mechanistic-interpretability.dokuwiki.txt"
        )
    )
    written = write_bundled_seeds(page)
    print(f"wrote {BUNDLED_SEED_LIST}: {len(written.refs)} papers, {len(written.skipped)} skipped")
