"""`make bench`: run the benchmarks side by side and print their Markdown.

    python -m tests.bench            # all
    python -m tests.bench ingest     # one (ingest, embed, graph, sparql, topics, ...)

Figures are recorded by hand in tests/bench/RESULTS.md with the date and machine.
"""

from __future__ import annotations

import importlib
import platform
import sys
import time
from datetime import UTC, datetime

BENCHES = (
    "ingest",
    "embed",
    "graph",
    "build",
    "sparql",
    "topics",
    "recommend",
    "lists",
    "app",
    "bulk",
    "field",
    "chain",
)


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHES)
    unknown = [b for b in chosen if b not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {BENCHES}", file=sys.stderr)
        return 2
    print(f"# litkg benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{__import__('os').cpu_count()} cores\n"
    )
    for name in chosen:
        try:
            module = importlib.import_module(f"tests.bench.bench_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tests.bench.bench_{name}":
                print(f"## {name}: no benchmark yet\n")
                continue
            raise
        started = time.perf_counter()
        lines = module.main()
        print("\n".join(lines))
        print(f"\n_{name} took {time.perf_counter() - started:.0f}s_\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
