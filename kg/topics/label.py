"""Labelling topics: the terms of a paper's text, class-based TF-IDF over a clustering,
and the few best, non-repeating keywords of each class as its label."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from kg.core.model import Paper

#: English function words (a compact list in the spirit of sklearn's) and the
#: boilerplate of abstracts, which says nothing about a topic.
STOP_WORDS = frozenset(
    " ".join(
        (
            "a about above across after again against all almost alone along already also",
            "although always am among an and another any anyhow anyone anything anyway anywhere",
            "are around as at be became because become becomes been before being below beside",
            "besides between beyond both but by can cannot could did do does doing done down due",
            "during each eg either else elsewhere enough etc even ever every everything except",
            "few first for former formerly from further had has have having he her here hers",
            "herself him himself his how however i ie if in indeed into is it its itself just",
            "last latter least less made many may me meanwhile might more moreover most mostly",
            "much must my myself namely neither never nevertheless next no nobody none nor not",
            "nothing now nowhere of off often on once one only onto or other others otherwise our",
            "ours ourselves out over own per perhaps rather same second several she should since",
            "so some something sometime sometimes somewhere still such than that the their theirs",
            "them themselves then thence there thereby therefore therein these they third this",
            "those though three through throughout thus to together too toward towards two under",
            "until up upon us very via was we well were what whatever when whence whenever where",
            "whereas whereby wherein whether which while who whoever whole whom whose why will",
            "with within without would yet you your yours yourself yourselves",
            # the boilerplate of abstracts
            "abstract paper papers propose proposed proposes present presents presented",
            "introduce introduces introduced show shows shown showing demonstrate demonstrates",
            "demonstrated study studies work works approach approaches method methods result",
            "results finding findings novel new existing various different based using use used",
            "uses extensive experiments experimental experiment significantly significant",
            "effectively effective well-known furthermore specifically particular particularly",
            "key recent recently able provide provides provided achieve achieves achieved",
            "including include includes address addresses widely wide large-scale",
            "state-of-the-art sota code available github https http www com org",
        )
    ).split()
)

_TOKEN = re.compile(r"[a-z][a-z0-9]*(?:[-'][a-z0-9]+)*")
_CLAUSE = re.compile(r"[.;:!?()\[\]{}\"]|,\s")


def terms(text: str, *, bigrams: bool = True) -> list[str]:
    """Lowercase words (stop words and 1-letter words dropped) and, with ``bigrams``,
    pairs of adjacent content words within a clause (``sparse autoencoders``)."""
    out: list[str] = []
    for clause in _CLAUSE.split(text.lower()):
        prev: str | None = None
        for tok in _TOKEN.findall(clause):
            tok = tok.removesuffix("'s")
            if len(tok) < 2 or tok in STOP_WORDS:
                prev = None
                continue
            out.append(tok)
            if bigrams and prev is not None:
                out.append(prev + " " + tok)
            prev = tok
    return out


def ctfidf(
    texts: Sequence[str],
    labels: np.ndarray,
    n_classes: int,
    *,
    min_df: int | None = None,
    max_df: float = 0.6,
    bigrams: bool = True,
    lift: bool = True,
    docs: Sequence[Sequence[str]] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Class-based TF-IDF: ``(n_classes, n_terms)`` weights and the term list.

    ``W[c, t] = tf(t, c) / words(c) * log(1 + mean words per class / tf(t, all))``
    (BERTopic's c-TF-IDF). With ``lift`` (the default) each weight is multiplied by
    ``log(1 + max(0, lift - 1))``, ``lift = P(t | c) / P(t)``: a term no more frequent
    in the class than in the corpus gets 0, so words every topic uses ("model",
    "tasks", "performance") stop crowding the labels of large topics. Terms in fewer
    than ``min_df`` documents (default: 2, or 0.1% of them) or in more than ``max_df``
    of them are dropped. ``docs``: the texts already split by :func:`terms`."""
    if docs is None:
        docs = [terms(t, bigrams=bigrams) for t in texts]
    n = len(docs)
    if min_df is None:
        min_df = max(2, math.ceil(0.001 * n))
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(d))
    cap = max(min_df, int(max_df * n)) if n >= 10 else n
    vocab = sorted(t for t, f in df.items() if min_df <= f <= cap)
    index = {t: i for i, t in enumerate(vocab)}
    rows: list[int] = []
    cols: list[int] = []
    for lab, d in zip(labels.tolist(), docs, strict=True):
        for t in d:
            j = index.get(t)
            if j is not None:
                rows.append(lab)
                cols.append(j)
    counts = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(n_classes, len(vocab))
    ).toarray()
    words = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, words, out=np.zeros_like(counts), where=words > 0)
    total = counts.sum(axis=0)
    mean_words = words.mean() if n_classes else 0.0
    idf = np.log1p(np.divide(mean_words, total, out=np.zeros_like(total), where=total > 0))
    weights = tf * idf
    if lift and n_classes > 1 and total.sum() > 0:
        p_term = total / total.sum()
        ratio = np.divide(tf, p_term, out=np.zeros_like(tf), where=p_term > 0)
        weights *= np.log1p(np.maximum(0.0, ratio - 1.0))
    return weights, vocab


def top_keywords(weights: np.ndarray, vocab: Sequence[str], n: int = 10) -> list[tuple[str, float]]:
    """The ``n`` best terms of one class without near-repeats: a bigram takes the place
    of its words chosen before it, a word inside a chosen bigram and a plural of a
    chosen term are skipped."""
    chosen: list[tuple[str, float]] = []

    def stem(t: str) -> str:
        return " ".join(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in t.split())

    for j in np.argsort(-weights, kind="stable").tolist():
        if weights[j] <= 0 or len(chosen) >= n:
            break
        term = vocab[j]
        stems = {stem(t) for t, _ in chosen}
        if stem(term) in stems:
            continue
        parts = term.split()
        if len(parts) == 1 and any(
            stem(term) == stem(w) for t, _ in chosen if " " in t for w in t.split()
        ):
            continue
        if len(parts) == 2 and any(t in parts for t, _ in chosen):
            # the bigram takes the place of its words (``sparse``, ``sparse autoencoders``)
            at = next(i for i, (t, _) in enumerate(chosen) if t in parts)
            chosen.insert(at, (term, float(weights[j])))
            chosen = [(t, w) for t, w in chosen if t not in parts]
            continue
        chosen.append((term, float(weights[j])))
    return chosen


def label_from(keywords: Sequence[tuple[str, float]], n: int = 3) -> str:
    return ", ".join(t for t, _ in keywords[:n]) or "(no keywords)"


def paper_text(p: Paper) -> str:
    """What the keywords are drawn from: title and abstract (or TLDR)."""
    return ". ".join(s for s in (p.title, p.abstract or p.tldr or "") if s)


__all__ = [
    "STOP_WORDS",
    "ctfidf",
    "label_from",
    "paper_text",
    "terms",
    "top_keywords",
]
