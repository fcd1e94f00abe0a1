"""Serve the test world (built from ../shared) as a local S2 API, for demos without internet.

    python -m tests.demo_s2 --port 8787 &
    S2_API_URL=http://127.0.0.1:8787 litkg ingest

The world's papers are real records from ../shared/corpus; its citation edges are
synthetic (labelled so in the world file). Never point a real analysis at it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.conftest import SHARED
from tests.s2server import S2Server
from tests.s2world import build_world, cached_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--max-llm", type=int, default=3000)
    parser.add_argument(
        "--field",
        action="store_true",
        help="every llm-papers record, not only the interpretability ones (~22.6k papers; "
        "built once in about a minute, then cached under the temp dir)",
    )
    args = parser.parse_args()
    if not (SHARED / "corpus").exists():
        raise SystemExit(f"{SHARED / 'corpus'} is missing: the demo world is built from it")
    if args.field:
        cache = Path(tempfile.gettempdir(), "litkg-bench", "field-world.json.gz")
        world = cached_world(SHARED, cache, max_llm=100_000, relevant_only=False)
    else:
        world = build_world(SHARED, max_llm=args.max_llm)
    with S2Server(world, port=args.port) as server:
        print(
            f"local S2 API at {server.url} ({len(world.papers)} papers); Ctrl-C to stop", flush=True
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
