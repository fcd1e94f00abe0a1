"""Benchmark of the RDF layer: build time and every canned query, Oxigraph vs rdflib.

Run (from the repository root):

    nice -n 10 .venv/bin/python -m tests.bench.bench_sparql
    nice -n 10 .venv/bin/python -m tests.bench.bench_sparql --papers 2000 --skip-rdflib

The corpus: 21,223 papers and about 200k citations in a fresh CorpusStore in a
temporary directory. Paper metadata is real when ``../shared/corpus/llm-papers.jsonl.gz``
is present (titles, authors, years, venues, arXiv ids, tags, abstracts of the
LLM-bible list; S2-like ids are the SHA-1 of the arXiv id), else generated.
Citations are always synthetic, from a deterministic RNG (seed 0): each paper
cites earlier papers drawn in proportion to a Pareto(1.5) fitness, so in-degrees
are heavy-tailed like real ones; 30% of edges carry an intent, 10% are
influential, 20% a context snippet. One seed list of 150 papers in 6 sections,
20 discovered topics (1-2 memberships per paper) and the S2 fields.

Measured in the same run:

* ``build_rdf`` into an on-disk Oxigraph store (first build, a no-op rebuild, and
  an incremental one after adding 50 papers and 300 citations, which patches the two
  changed graphs from their snapshots), and into rdflib's in-memory store;
* every canned query (median of ``--repeat`` runs through ``kg.rdf.sparql.run_query``,
  parameters bound, results fully read) on both stores. rdflib runs each query
  once, with a ``--rdflib-timeout`` limit.

Prints a Markdown table (paste it into tests/bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from random import Random
from typing import Any

import numpy as np

from kg.core.errors import QueryTimeout
from kg.core.model import Author, Citation, Paper, Topic, TopicMembership
from kg.core.settings import Settings
from kg.rdf.canned import canned_queries
from kg.rdf.sparql import run_query
from kg.rdf.stores import memory_graph, open_graph
from kg.rdf.sync import build_rdf
from kg.store.corpus import DETAIL_FULL, RESOLVED, CorpusStore, SeedRow

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LITKG_SHARED_DIR", REPO.parent / "shared"))
LLM_PAPERS = SHARED / "corpus" / "llm-papers.jsonl.gz"
INTENTS = ("background", "methodology", "result")
FIELDS = ("Computer Science", "Linguistics", "Mathematics")
SECTIONS = ("Circuits", "Superposition", "Probing", "Attention", "Training dynamics", "Surveys")
SOURCE = "bench-seeds.txt"


def _sid(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()


def load_papers(n: int, rng: Random) -> tuple[list[Paper], str]:
    """``n`` papers sorted by year (real metadata when available)."""
    papers: list[Paper] = []
    origin = "generated"
    if LLM_PAPERS.exists():
        origin = f"real metadata from {LLM_PAPERS.name}"
        with gzip.open(LLM_PAPERS, "rt", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                key = rec.get("arxiv") or rec.get("bibkey") or str(len(papers))
                names = [a.strip() for a in str(rec.get("authors") or "").split(",") if a.strip()]
                papers.append(
                    Paper(
                        paper_id=_sid(key),
                        title=str(rec.get("title") or key),
                        abstract=rec.get("abstract"),
                        year=int(rec["year"]) if rec.get("year") else None,
                        venue=rec.get("venue"),
                        authors=tuple(Author(a) for a in names[:8]),
                        external_ids={"ArXiv": rec["arxiv"]} if rec.get("arxiv") else {},
                        url=rec.get("url"),
                        fields_of_study=(rng.choice(FIELDS),),
                        publication_types=("JournalArticle",) if rng.random() < 0.3 else (),
                        citation_count=rec.get("citations"),
                        tags=tuple(rec.get("tags") or ()),
                    )
                )
                if len(papers) >= n:
                    break
    while len(papers) < n:
        i = len(papers)
        papers.append(
            Paper(
                paper_id=_sid(f"synthetic-{i}"),
                title=f"Synthetic paper {i} on {rng.choice(SECTIONS).lower()}",
                abstract="A generated abstract. " * rng.randint(5, 30),
                year=rng.randint(2015, 2025),
                authors=tuple(Author(f"Author {rng.randint(0, 5000)}") for _ in range(3)),
                fields_of_study=(rng.choice(FIELDS),),
            )
        )
    papers.sort(key=lambda p: (p.year or 0, p.paper_id))
    return papers, origin


def make_citations(papers: list[Paper], m: int, seed: int = 0) -> list[Citation]:
    """About ``m`` edges from each paper to earlier ones, heavy-tailed in-degree."""
    rng = np.random.default_rng(seed)
    n = len(papers)
    fitness = rng.pareto(1.5, size=n) + 1.0
    cum = np.cumsum(fitness)
    citing = rng.integers(1, n, size=m)
    draws = rng.random(m) * cum[citing - 1]
    cited = np.searchsorted(cum, draws)
    pairs = sorted({(int(a), int(b)) for a, b in zip(citing, cited, strict=True) if a != b})
    extra = Random(seed)
    out = []
    for a, b in pairs:
        r = extra.random()
        intents = (extra.choice(INTENTS),) if r < 0.3 else ()
        contexts = (f"as shown by {papers[b].title[:40]}",) if extra.random() < 0.2 else ()
        influential = True if extra.random() < 0.1 else (False if r < 0.5 else None)
        out.append(Citation(papers[a].paper_id, papers[b].paper_id, contexts, intents, influential))
    return out


def make_corpus(path: Path, n: int, m: int) -> dict[str, Any]:
    rng = Random(0)
    papers, origin = load_papers(n, rng)
    citations = make_citations(papers, m)
    indeg: dict[str, int] = {}
    for c in citations:
        indeg[c.cited] = indeg.get(c.cited, 0) + 1
    by_cites = sorted(indeg, key=lambda k: -indeg[k])
    # seeds: 150 well-cited papers from the older half, in sections
    older = {p.paper_id for p in papers[: n // 2]}
    seeds = [pid for pid in by_cites if pid in older][:150]
    t0 = time.perf_counter()
    with CorpusStore(path) as store, store.transaction():
        for p in papers:
            store.upsert_paper(p, detail=DETAIL_FULL, endpoint="batch")
        store.add_citations(citations, endpoint="references")
        for i, pid in enumerate(seeds):
            store.put_seed(
                SeedRow(
                    SOURCE, i, f"seed {i}", RESOLVED, pid, section_path=("Papers", SECTIONS[i % 6])
                )
            )
    topics = [Topic(f"discovered/{k}", f"topic {k}", "discovered") for k in range(20)]
    topics += [Topic(f"curated/papers/{s.lower()}", s, "curated") for s in SECTIONS]
    topics += [Topic(f"s2-fields/{f.lower()}", f, "s2-fields") for f in FIELDS]
    members = []
    for p in papers:
        members.append(TopicMembership(p.paper_id, f"discovered/{rng.randrange(20)}", 0.8))
        if rng.random() < 0.4:
            members.append(TopicMembership(p.paper_id, f"discovered/{rng.randrange(20)}", 0.3))
        members.append(TopicMembership(p.paper_id, f"s2-fields/{p.fields_of_study[0].lower()}"))
    for i, pid in enumerate(seeds):
        members.append(TopicMembership(pid, f"curated/papers/{SECTIONS[i % 6].lower()}"))
    seed_by_cites = sorted(seeds, key=lambda k: -indeg[k])
    return {
        "papers": papers,
        "citations": len(citations),
        "origin": origin,
        "seconds": time.perf_counter() - t0,
        "topics": topics,
        "members": members,
        "hub": by_cites[0],  # the most cited paper: worst case for paper-centred queries
        "seed": seed_by_cites[len(seed_by_cites) // 2],  # a seed of median citation count
        "seed_cites": indeg[seed_by_cites[len(seed_by_cites) // 2]],
        "hub_cites": indeg[by_cites[0]],
        "new": papers[-1].paper_id,
        "years": (papers[0].year, papers[-1].year),
    }


def params_for(name: str, info: dict[str, Any], worst: bool = False) -> dict[str, str]:
    """Typical parameters (a seed of median citation count), or the worst case (the most
    cited paper) with ``worst``."""
    latest = info["years"][1] or 2025
    paper = info["hub"] if worst else info["seed"]
    return {
        "papers-citing": {"paper": paper},
        "co-cited": {"paper": paper},
        "papers-per-topic-year": {},
        "missing-classics": {"list": SOURCE, "min": "3"},
        "new-papers-citing-seeds": {"since": str(latest), "min": "2"},
        "citation-path": {"from": info["new"], "to": paper},
        "reading-list": {"list": SOURCE},
        "graphs": {},
    }.get(name, {})


CASES = [(name, False) for name in canned_queries()] + [
    ("papers-citing", True),
    ("co-cited", True),
    ("citation-path", True),
]


def time_queries(ds: Any, info: dict[str, Any], repeat: int, timeout: float) -> dict[Any, Any]:
    """Per case: (median wall s, rows, median CPU s of this process) or (None, None, timeout).

    CPU time is reported because the machine may be shared: Oxigraph evaluates a
    query in the calling thread, so its CPU time does not grow with contention.
    """
    out: dict[Any, Any] = {}
    for name, worst in CASES:
        cq = canned_queries()[name]
        bindings = cq.bind(params_for(name, info, worst))
        walls: list[float] = []
        cpus: list[float] = []
        rows = 0
        try:
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                result = run_query(ds, cq.text, bindings=bindings, timeout_s=timeout, max_rows=0)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                rows = len(result)
            out[name, worst] = (statistics.median(walls), rows, statistics.median(cpus))
        except QueryTimeout:
            out[name, worst] = (None, None, timeout)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=21_223)
    ap.add_argument("--citations", type=int, default=200_000, help="edges drawn (before dedup)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rdflib-timeout", type=float, default=120.0)
    ap.add_argument("--skip-rdflib", action="store_true")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="litkg-bench-") as tmp:
        root = Path(tmp)
        info = make_corpus(root / "corpus.sqlite", args.papers, args.citations)
        print(
            f"corpus: {len(info['papers']):,} papers ({info['origin']}), "
            f"{info['citations']:,} citations, written in {info['seconds']:.1f} s",
            file=sys.stderr,
        )
        settings = Settings(data_dir=root)
        rows: list[tuple[str, str]] = []
        with CorpusStore(root / "corpus.sqlite") as store:
            ds = open_graph(settings, writable=True)
            t0 = time.perf_counter()
            report = build_rdf(store, ds, info["topics"], info["members"], progress=False)
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            build_rdf(store, ds, info["topics"], info["members"], progress=False)
            noop = time.perf_counter() - t0
            ds.close()
            rows.append(("build_rdf, first (Oxigraph on disk)", f"{first:.1f} s"))
            rows.append(("build_rdf, nothing changed", f"{noop:.1f} s"))
            # incremental: a new ingest adds papers and edges
            rng = Random(1)
            with store.transaction():
                for i in range(50):
                    p = Paper(_sid(f"new-{i}"), f"Freshly ingested paper {i}", year=2025)
                    store.upsert_paper(p, detail=DETAIL_FULL, endpoint="batch")
                    picks = rng.sample(info["papers"], 6)
                    store.add_citations(
                        [Citation(p.paper_id, q.paper_id) for q in picks], endpoint="references"
                    )
            ds = open_graph(settings, writable=True)
            t0 = time.perf_counter()
            inc = build_rdf(store, ds, info["topics"], info["members"], progress=False)
            incremental = time.perf_counter() - t0
            ds.close()
            done = "; ".join(
                f"{g.iri.rsplit('/graph/', 1)[-1]} {g.describe()}" for g in inc.changed
            )
            rows.append(
                (
                    "build_rdf, after a small ingest",
                    f"{incremental:.1f} s ({done}{', full reload' if inc.full_reload else ''})",
                )
            )
            disk = sum(f.stat().st_size for f in (root / "rdf").rglob("*") if f.is_file())
            rows.append(("triples / on-disk size", f"{inc.triples:,} / {disk / 2**20:.0f} MiB"))

            mem: Any = None
            if not args.skip_rdflib:
                mem = memory_graph("rdflib")
                t0 = time.perf_counter()
                build_rdf(store, mem, info["topics"], info["members"], progress=False)
                rows.append(("build_rdf (rdflib in memory)", f"{time.perf_counter() - t0:.1f} s"))

        ds = open_graph(settings)  # read-only, as `litkg sparql` opens it
        ox_times = time_queries(ds, info, args.repeat, 10.0)
        ds.close()
        rd_times = time_queries(mem, info, 1, args.rdflib_timeout) if mem is not None else {}

    print(f"\n## litkg SPARQL benchmark ({date.today().isoformat()})\n")
    print(
        f"{len(info['papers']):,} papers ({info['origin']}), {info['citations']:,} synthetic "
        f"citations; {report.triples:,} triples in {len(report.graphs)} named graphs. "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}.\n"
    )
    print("| step | time |\n|---|---|")
    for step, value in rows:
        print(f"| {step} | {value} |")

    def cell(t: Any, index: int = 0) -> str:
        if t is None:
            return "-"
        if t[0] is None:
            return f"> {t[2]:.0f} s (stopped)"
        return f"{t[index] * 1000:.1f} ms"

    print(
        f"\nParameters: a seed of median citation count ({info['seed_cites']} citing papers); "
        f"*worst case*: the most cited paper ({info['hub_cites']} citing papers).\n"
    )
    print(
        f"| canned query | rows | Oxigraph wall (median of {args.repeat}) | Oxigraph CPU "
        f"| rdflib in memory (1 run) |\n|---|---:|---:|---:|---:|"
    )
    for key in CASES:
        name, worst = key
        ox_t = ox_times[key]
        label = f"{name} *(worst case)*" if worst else name
        print(
            f"| {label} | {ox_t[1]} | {cell(ox_t)} | {cell(ox_t, 2)} | {cell(rd_times.get(key))} |"
        )
    slow = [
        f"{n}{' (worst)' if w else ''}"
        for (n, w), t in ox_times.items()
        if t[0] is None or t[0] > 0.1
    ]
    print(f"\nOxigraph queries over 100 ms (wall): {', '.join(slow) or 'none'}")
    return 0


Runner = Callable[..., Any]

if __name__ == "__main__":
    raise SystemExit(main())
