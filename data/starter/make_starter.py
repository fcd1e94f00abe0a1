"""Make the bundled starter snapshot (``data/starter/snapshot/``) from ``../shared``.

    python data/starter/make_starter.py [--shared ../shared] [--max-papers 1800]

Reads the arXiv metadata of the mechanistic-interpretability field in
``<shared>/corpus`` (records with an arXiv id only, keeping title, authors, year,
abstract and arXiv id: arXiv's descriptive metadata is CC0) and the seed page
``<shared>/seeds/mechanistic-interpretability.dokuwiki.txt`` (with its sections),
stores them as local papers in a temporary data dir (the same ``local:`` ids the
offline ingest gives them, so a later online ingest folds them into their Semantic
Scholar records), embeds them with MiniLM and exports the corpus with
:func:`kg.portable.archive.export_snapshot`. No citation edges: the manifest says text only.

Which papers: every seed-page paper, then every paper of the three MI Zotero
libraries with an arXiv id, then ``llm-papers.jsonl.gz`` records whose title or tags
match the interpretability pattern, most cited first, up to ``--max-papers``.
The output is deterministic: every time stamp is :data:`STAMP`, so re-running on the
same input rewrites the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ingest.sources import load_source, local_paper
from kg.core.ids import local_paper_id, normalise_arxiv_id
from kg.core.model import Author, Paper
from kg.core.settings import Settings
from kg.core.text import title_key
from kg.portable.archive import export_snapshot
from kg.store.corpus import DETAIL_LOCAL, OFFLINE, CorpusStore, SeedRow
from kg.text.embed import EmbeddingCache, MiniLMEmbedder, embed_cached, paper_text

HERE = Path(__file__).resolve().parent
OUT = HERE / "snapshot"
#: Every time stamp of the snapshot (its rows' fetch times and ``created_at``).
STAMP = "2026-12-06T00:00:00+00:00"
SEED_PAGE = Path("seeds", "mechanistic-interpretability.dokuwiki.txt")
LIBRARIES = (
    "mi-review-library.bib.gz",
    "mi-superposition-library.bib",
    "mi-robustness-library.bib",
)
LLM_PAPERS = "llm-papers.jsonl.gz"
#: What makes an llm-papers record part of the field (its title or one of its tags).
RELEVANT = re.compile(
    r"interpretab|mechanistic|probing|\bprobes?\b|circuit|sparse auto-?encoder|attention head"
    r"|induction head|superposition|monosemantic|dictionary learning|explainab|neuron",
    re.IGNORECASE,
)
ARXIV_ENDPOINT = "arXiv metadata (CC0)"
CC0 = "CC0 1.0 (arXiv's descriptive metadata, abstracts included)"
SEED_LICENCE = "given with the project (the seed page litkg is built around)"


def _arxiv_paper(
    arxiv: str, title: str, authors: list[str], year: int | None, abstract: str | None
) -> Paper:
    """A local paper of the five kept fields, with the offline ingest's ``local:`` id."""
    return Paper(
        paper_id=local_paper_id([f"ARXIV:{arxiv}"], title, year),
        title=" ".join(title.split()),
        abstract=" ".join(abstract.split()) if abstract else None,
        year=year,
        authors=tuple(Author(a) for a in authors if a),
        external_ids={"ArXiv": arxiv},
        url=f"https://arxiv.org/abs/{arxiv}",
        resolved=False,
    )


def library_papers(corpus: Path) -> Iterator[Paper]:
    """The MI Zotero libraries' entries with an arXiv id, in file order."""
    for name in LIBRARIES:
        if not (corpus / name).is_file():
            continue
        for ref in load_source(corpus / name).refs:
            meta = ref.metadata
            arxiv = meta.external_ids.get("ArXiv") if meta else None
            if meta is None or not arxiv:
                continue
            authors = [a.name for a in meta.authors]
            yield _arxiv_paper(arxiv, meta.title, authors, meta.year, meta.abstract)


def llm_papers(corpus: Path) -> list[Paper]:
    """``llm-papers.jsonl.gz``'s interpretability records with an arXiv id, most cited
    first (the count orders them; it is not kept)."""
    found: dict[str, tuple[int, Paper]] = {}
    with gzip.open(corpus / LLM_PAPERS, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            arxiv = normalise_arxiv_id(str(d.get("arxiv") or ""))
            title = d.get("title") or ""
            if not arxiv or not title or arxiv in found:
                continue
            if not RELEVANT.search(" ".join([title, *(d.get("tags") or [])])):
                continue
            names = re.sub(r"\s+et al\.?$", "", d.get("authors") or "").split(",")
            year = d.get("year") if isinstance(d.get("year"), int) else None
            paper = _arxiv_paper(arxiv, title, [n.strip() for n in names], year, d.get("abstract"))
            found[arxiv] = (int(d.get("citations") or 0), paper)
    ranked = sorted(found.values(), key=lambda cp: (-cp[0], cp[1].paper_id))
    return [p for _, p in ranked]


def _enrich(local: Paper, known: Paper | None) -> Paper:
    """A seed-page paper with the arXiv record's authors, abstract and arXiv id when there
    is one (found by arXiv id, or by title for a seed linked elsewhere)."""
    if known is None:
        return local
    return replace(
        local,
        title=known.title or local.title,
        abstract=known.abstract,
        authors=known.authors,
        year=local.year or known.year,
        external_ids={**known.external_ids, **local.external_ids},
    )


def build_corpus(shared: Path, settings: Settings, max_papers: int) -> int:
    """Store the starter's papers and seed rows under ``settings``; returns the paper count."""
    corpus = shared / "corpus"
    refs = load_source(shared / SEED_PAGE).refs
    candidates = [*library_papers(corpus), *llm_papers(corpus)]
    by_arxiv: dict[str, Paper] = {}
    by_title: dict[str, Paper] = {}
    for p in candidates:  # the first record of an arXiv id wins (libraries before llm-papers)
        by_arxiv.setdefault(p.external_ids["ArXiv"], p)
        by_title.setdefault(title_key(p.title), p)
    chosen: dict[str, Paper] = {}
    seed_rows: list[SeedRow] = []
    for ref in refs:
        local = local_paper(ref)
        if local is None:
            continue
        # a seed linked to its own site (not arXiv) is the library record of its title:
        # one paper, the seed's id, with the arXiv id added (else it came twice)
        known = by_arxiv.get(local.external_ids.get("ArXiv", "")) or by_title.get(
            title_key(local.title)
        )
        paper = _enrich(local, known)
        chosen.setdefault(paper.paper_id, paper)
        seed_rows.append(
            SeedRow(
                source=ref.source,
                position=ref.position,
                title=ref.title,
                status=OFFLINE,
                paper_id=paper.paper_id,
                url=ref.url,
                ids=ref.ids,
                section_path=ref.section_path,
                note=ref.note,
                method="listing",
                reason="starter snapshot: a local paper until an online run resolves it on S2",
            )
        )
    seed_ids = set(chosen)
    covered = {p.external_ids.get("ArXiv") for p in chosen.values()} - {None}
    covered_titles = {title_key(p.title) for p in chosen.values()}
    for p in candidates:
        if len(chosen) >= max_papers:
            break
        if p.external_ids["ArXiv"] in covered or title_key(p.title) in covered_titles:
            continue  # a seed-page paper already
        chosen.setdefault(p.paper_id, p)
    with CorpusStore(settings.corpus_path) as store, store.transaction():
        for p in chosen.values():
            where = SEED_PAGE.name if p.paper_id in seed_ids else ARXIV_ENDPOINT
            store.upsert_paper(p, detail=DETAIL_LOCAL, endpoint=where, fetched_at=STAMP)
        store.merge_seeds((row, STAMP) for row in seed_rows)
    papers = list(chosen.values())
    embedder = MiniLMEmbedder.from_env(model_dir=settings.graph_dir / "models")
    settings.graph_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddingCache(settings.graph_dir) as cache:
        embed_cached(embedder, [paper_text(p.title, p.abstract)[0] for p in papers], cache)
    return len(papers)


def sources(n_seeds: int, n_papers: int) -> list[dict[str, object]]:
    """The manifest's sources, with their real licences."""
    return [
        {
            "kind": "local",
            "name": "arXiv metadata (title, authors, year, abstract, arXiv id)",
            "files": [f"corpus/{n}" for n in (LLM_PAPERS, *LIBRARIES)],
            "licence": CC0,
            "rows": n_papers,
            "fetched_at": STAMP,
        },
        {
            "kind": "seeds",
            "name": SEED_PAGE.name,
            "licence": SEED_LICENCE,
            "rows": n_seeds,
            "fetched_at": STAMP,
        },
        {
            "kind": "embeddings",
            "name": "all-MiniLM-L6-v2 vectors computed by data/starter/make_starter.py",
            "licence": "Apache-2.0 (the model); the vectors follow the texts' CC0",
        },
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--shared", type=Path, default=HERE.parents[2] / "shared")
    ap.add_argument("--max-papers", type=int, default=1800)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if not (args.shared / SEED_PAGE).is_file():
        print(f"no seed page at {args.shared / SEED_PAGE}; pass --shared DIR", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="litkg-starter-") as tmp:
        settings = Settings.from_env({}, data_dir=Path(tmp))
        n = build_corpus(args.shared, settings, args.max_papers)
        with CorpusStore(settings.corpus_path, create=False) as store:
            n_seeds = store.status().seeds
        if args.out.exists():
            shutil.rmtree(args.out)
        report = export_snapshot(
            settings,
            args.out,
            manifest_extra={
                "created_at": STAMP,
                "starter": True,
                "citations": "none: text only (no citation data with an open licence)",
                "sources": sources(n_seeds, n),
                "notice": "see NOTICE next to this folder",
            },
        )
    for line in report.lines():
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
