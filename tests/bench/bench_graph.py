"""Benchmark of kg.graph: projection build, PageRank and co-citation, SciPy vs NetworkX.

Run (from the repository root):

    nice -n 10 .venv/bin/python -m tests.bench.bench_graph            # 20k and 200k graphs
    nice -n 10 .venv/bin/python -m tests.bench.bench_graph --sizes 20000:200000

The graphs are generated (no data needed): ``n`` papers in publication order, each
citation going from a uniformly drawn paper to an *earlier* one drawn in proportion to
a Pareto(1.5) "fitness", so in-degrees are heavy-tailed like real citation counts (the
most cited paper of the 200k graph gets thousands of citations); 40-hex ids like S2's;
30% of edges carry an intent, 10% are influential. Prints a Markdown table.

Compared, in the same run and on the same graph:

* PageRank: ``CitationGraph.pagerank`` (SciPy CSR power iteration) at NetworkX's own
  stopping rule (L1 change < n * 1e-6) and at the strict 1e-10 we use by default;
  ``nx.pagerank`` (NetworkX >= 3 itself converts the graph to a SciPy matrix on every
  call); and NetworkX's pure-Python power iteration (``_pagerank_python``), the honest
  "pure networkx" reference, run only up to ``--nx-python-max-edges`` edges and else
  extrapolated from the smaller graph (per edge-iteration cost, said so in the table).
* Co-citation and bibliographic coupling of ``--queries`` papers: the public methods
  (one sparse mat-vec pair per query), one batched sparse product for all queries, and
  pure NetworkX loops over predecessors/successors; results are checked equal.
* Build: wall time of ``CitationGraph(...)`` and of the CSR matrix (first ``.A``), and the
  peak of Python allocations while building both (tracemalloc, a separate run, since
  tracing slows the build down).
"""

from __future__ import annotations

import argparse
import gc
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar

import networkx as nx
import numpy as np
import scipy
import scipy.sparse as sp
from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python

from kg.core.model import Citation, Paper
from kg.graph.citations import CitationGraph

T = TypeVar("T")
INTENTS = ("background", "methodology", "result")


def generate(n: int, m: int, seed: int = 0) -> tuple[list[Paper], np.ndarray, np.ndarray]:
    """``n`` papers and about ``m`` distinct citations (arrays of citing, cited indices)."""
    rng = np.random.default_rng(seed)
    fitness = rng.pareto(1.5, size=n) + 1.0
    cum = np.cumsum(fitness)
    citing = rng.integers(1, n, size=int(m * 1.08))
    cited = np.searchsorted(cum, rng.random(citing.size) * cum[citing - 1], side="right")
    cited = np.minimum(cited, citing - 1)
    pairs = np.unique(citing.astype(np.int64) * n + cited)
    pairs = rng.permutation(pairs)[:m]
    citing, cited = np.divmod(pairs, n)
    years = 1990 + (np.arange(n) * 35 // n)
    papers = [
        Paper(
            paper_id=format(i, "040x"),
            title=f"Generated paper {i}",
            year=int(years[i]),
            venue="Venue " + str(i % 50),
            citation_count=int(fitness[i] * 3),
            fields_of_study=("Computer Science",),
        )
        for i in range(n)
    ]
    return papers, citing, cited


def citations(citing: np.ndarray, cited: np.ndarray, seed: int = 1) -> Iterator[Citation]:
    rng = np.random.default_rng(seed)
    draw = rng.random(citing.size)
    for k, (u, v) in enumerate(zip(citing.tolist(), cited.tolist(), strict=True)):
        r = draw[k]
        intents = (INTENTS[int(r * 10) % 3],) if r < 0.3 else ()
        yield Citation(
            format(u, "040x"),
            format(v, "040x"),
            intents=intents,
            is_influential=True if r > 0.9 else (None if r > 0.8 else False),
        )


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    best = float("inf")
    out: Any = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def nx_cocitation(g: nx.DiGraph, q: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for citing in g.predecessors(q):
        for other in g.successors(citing):
            if other != q:
                counts[other] = counts.get(other, 0) + 1
    return counts


def nx_coupling(g: nx.DiGraph, q: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ref in g.successors(q):
        for other in g.predecessors(ref):
            if other != q:
                counts[other] = counts.get(other, 0) + 1
    return counts


def fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def bench(
    n: int, m: int, args: argparse.Namespace, rows: list[list[str]], state: dict[str, Any]
) -> None:
    label = f"{n // 1000}k / {m / 1e6:g}M" if m >= 1_000_000 else f"{n // 1000}k / {m // 1000}k"
    (papers, citing, cited), t_gen = timed(lambda: generate(n, m, args.seed))
    print(
        f"[{label}] generated {len(papers)} papers, {citing.size} edges in {t_gen:.1f}s",
        file=sys.stderr,
    )

    def build() -> CitationGraph:
        return CitationGraph(papers, citations(citing, cited))

    if not args.no_memory:
        tracemalloc.start()
        cg = build()
        _ = cg.A, cg.view
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del cg, _
        gc.collect()
    cg, t_build = timed(build)
    _, t_matrix = timed(lambda: (cg.A, cg.view))
    edges = cg.graph.number_of_edges()
    rows.append(
        [
            label,
            "build DiGraph (papers + citations)",
            "networkx",
            fmt_s(t_build),
            f"{edges:,} edges",
        ]
    )
    rows.append(
        [label, "build CSR A and A.T (GraphView) from the DiGraph", "scipy", fmt_s(t_matrix), ""]
    )
    if not args.no_memory:
        rows.append(
            [
                label,
                "peak Python memory of the build (tracemalloc)",
                "",
                f"{peak / 2**20:,.0f} MiB",
                f"{peak / edges:.0f} B/edge",
            ]
        )
    print(f"[{label}] built in {t_build:.1f}s (+{t_matrix:.2f}s CSR)", file=sys.stderr)

    g = cg.graph
    # ---------------------------------------------------------------- PageRank
    _, t_ours_loose = timed(lambda: cg.pagerank(tol=n * 1e-6), repeat=3)
    pr, t_ours = timed(lambda: cg.pagerank(tol=1e-10), repeat=3)
    rows.append(
        [
            label,
            "PageRank, L1 tol n*1e-6 (networkx's rule)",
            "scipy (ours)",
            fmt_s(t_ours_loose),
            "",
        ]
    )
    rows.append([label, "PageRank, L1 tol 1e-10 (our default)", "scipy (ours)", fmt_s(t_ours), ""])
    _, t_nx = timed(lambda: nx.pagerank(g))
    tight = nx.pagerank(g, tol=1e-14, max_iter=1000)  # agreement at matching precision
    diff = max(abs(pr[k] - tight[k]) for k in tight)
    rows.append(
        [
            label,
            "PageRank, default tol",
            "nx.pagerank (scipy inside)",
            fmt_s(t_nx),
            f"ours vs nx.pagerank(tol=1e-14): max abs diff {diff:.1e}",
        ]
    )
    if m <= args.nx_python_max_edges:
        ref_py, t_py = timed(lambda: _pagerank_python(g))
        diff_py = max(abs(pr[k] - ref_py[k]) for k in ref_py)
        state["py_cost"] = t_py / m
        rows.append(
            [
                label,
                "PageRank, default tol",
                "networkx pure Python",
                fmt_s(t_py),
                f"vs ours (1e-10): max abs diff {diff_py:.1e} (its loose tol)",
            ]
        )
    elif "py_cost" in state:
        est = state["py_cost"] * m
        rows.append(
            [
                label,
                "PageRank, default tol",
                "networkx pure Python",
                f"~{fmt_s(est)} (est.)",
                "skipped: extrapolated linearly in edges from the smaller graph",
            ]
        )
    # ---------------------------------------------------------------- co-citation, coupling
    rng = np.random.default_rng(args.seed + 7)
    indeg = cg.view.indeg
    cited_ids = [cg.ids[i] for i in np.flatnonzero(indeg > 0)]
    queries = [cited_ids[i] for i in rng.choice(len(cited_ids), size=args.queries, replace=False)]
    outdeg = cg.view.outdeg
    citing_ids = [cg.ids[i] for i in np.flatnonzero(outdeg > 0)]
    cq = [citing_ids[i] for i in rng.choice(len(citing_ids), size=args.queries, replace=False)]
    k = len(queries)
    ours_co, t_co = timed(lambda: [cg.cocitation_counts([q]) for q in queries], repeat=3)
    nx_co, t_nx_co = timed(lambda: [nx_cocitation(g, q) for q in queries], repeat=3)
    assert all(a == b for a, b in zip(ours_co, nx_co, strict=True)), "co-citation mismatch"
    a = cg.A
    cols = [cg.index[q] for q in queries]
    x = sp.csr_matrix((np.ones(k), (cols, np.arange(k))), shape=(a.shape[0], k))
    _, t_batch = timed(lambda: (a.T @ (a @ x)).tocsc(), repeat=3)
    rows.append(
        [
            label,
            f"co-citation of {k} papers",
            "scipy (ours, per paper)",
            fmt_s(t_co),
            "counts equal networkx's",
        ]
    )
    rows.append(
        [
            label,
            f"co-citation of {k} papers",
            "scipy, one batched product",
            fmt_s(t_batch),
            "A.T @ (A @ X), X n x k",
        ]
    )
    rows.append([label, f"co-citation of {k} papers", "networkx loops", fmt_s(t_nx_co), ""])

    def nx_set() -> dict[str, int]:
        total: dict[str, int] = {}
        for q in queries:
            for other, c in nx_cocitation(g, q).items():
                total[other] = total.get(other, 0) + c
        return {k: v for k, v in total.items() if k not in qset}

    qset = set(queries)

    ours_set, t_set = timed(lambda: cg.cocitation_counts(queries), repeat=3)
    nx_set_counts, t_nx_set = timed(nx_set, repeat=3)
    assert ours_set == nx_set_counts, "co-citation (set) mismatch"
    what = f"co-citation with a set of {k} seeds (summed, ranked)"
    rows.append([label, what, "scipy (ours, one call)", fmt_s(t_set), f"{len(ours_set):,} papers"])
    rows.append([label, what, "networkx loops", fmt_s(t_nx_set), "unranked"])
    ours_cp, t_cp = timed(lambda: [cg.coupling_counts([q]) for q in cq], repeat=3)
    nx_cp, t_nx_cp = timed(lambda: [nx_coupling(g, q) for q in cq], repeat=3)
    assert all(a == b for a, b in zip(ours_cp, nx_cp, strict=True)), "coupling mismatch"
    rows.append(
        [
            label,
            f"coupling of {k} papers",
            "scipy (ours, per paper)",
            fmt_s(t_cp),
            "counts equal networkx's",
        ]
    )
    rows.append([label, f"coupling of {k} papers", "networkx loops", fmt_s(t_nx_cp), ""])
    _, t_ppr = timed(lambda: cg.personalized_pagerank(queries[:10]), repeat=3)
    rows.append(
        [label, "personalised PageRank, 10 seeds, tol 1e-10", "scipy (ours)", fmt_s(t_ppr), ""]
    )
    top = max(indeg)
    print(f"[{label}] done; max in-degree {top:.0f}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000:200000,200000:2000000", help="n:m,n:m,...")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nx-python-max-edges", type=int, default=300_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    args = parser.parse_args(argv)
    rows: list[list[str]] = []
    state: dict[str, Any] = {}
    t0 = time.perf_counter()
    for spec in args.sizes.split(","):
        n, m = (int(v) for v in spec.split(":"))
        bench(n, m, args, rows, state)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n{date.today().isoformat()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, networkx {nx.__version__}, "
        f"scipy {scipy.__version__}, numpy {np.__version__}; "
        f"process peak RSS {rss:,.0f} MiB; total {time.perf_counter() - t0:.0f}s\n"
    )
    print("| graph (papers / edges) | operation | implementation | time | note |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
