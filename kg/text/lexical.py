"""The lexical index: TF-IDF over the distinctive words and word pairs of titles and
abstracts, the recommender's ``lexical`` signal and the explanation of shared terms.

Built once per graph by :class:`kg.recommend.index.RecommendIndex` (or loaded from the
build's ``graph/lexical.npz``), then queried by row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from itertools import count, islice

import numpy as np
import scipy.sparse as sp

from kg.core.errors import RecommendError
from kg.core.model import Paper

_F = np.float32

#: Words that say nothing about a paper's subject (function words and the boilerplate of
#: abstracts); they are dropped and break word pairs.
_STOPWORDS_TEXT = """
    a about above after again against all also although among an and any are as at be
    because been before being below between both but by can could did do does doing done
    down during each either et etc few for from further had has have having here how
    however i if in into is it its itself just may might more most much must my no nor
    not now of off on once only or other our ours out over own per same several should
    since so some such than that the their them then there these they this those through
    thus to too under until up upon us very via was we were what when where whether
    which while who whom why will with within without would yet you your al paper papers
    propose proposed proposes present presents show shows shown demonstrate demonstrates
    novel new approach approaches method methods result results use used uses using
    based work works study studies well first one two three many often including across
    achieve achieves
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
#: Word pairs and words kept per paper (the heaviest by tf-idf): bounds memory and time.
LEXICAL_DOC_TERMS = 96
#: Terms of each read paper matched against the corpus (its heaviest by tf-idf; 10-40
#: were worse on the evaluations).
LEXICAL_QUERY_TERMS = 96
#: lexical = share * max + (1 - share) * mean tf-idf cosine over R (the mean was best on
#: the tag/keyword evaluations, as for text).
LEXICAL_MAX_SHARE = 0.0
#: Terms in more than this share of the papers are dropped (with >= 100 papers).
LEXICAL_MAX_DF = 0.3
_LEX_TOKEN = re.compile(r"[a-z0-9]+|[.,;:!?()\[\]{}]")
_LEX_CHUNK = 8192  # texts tokenised at a time (bounds the memory of the build)
_LEX_PAIR = 2**20  # term code of a word pair: (a + 1) * _LEX_PAIR + b; < 2**40
_LEX_HASH = 2**26  # slots of the hashed "in two papers or more" filter


def _lex_hash(codes: np.ndarray) -> np.ndarray:
    """Slots of term codes in the :data:`_LEX_HASH` filter (multiplicative hashing)."""
    mixed = codes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (mixed >> np.uint64(64 - 26)).astype(np.int64)


def _merge_counts(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(distinct codes, summed counts) of several (distinct codes, counts) pairs."""
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    codes, where = np.unique(np.concatenate([c for c, _ in parts]), return_inverse=True)
    counts = np.bincount(where, weights=np.concatenate([k for _, k in parts]))
    return codes, counts.astype(np.int64)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _stem(word: str) -> str:
    """A light plural folding (``autoencoders`` -> ``autoencoder``, ``studies`` -> ``study``)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def lexical_text(paper: Paper | None) -> str:
    """What the lexical signal reads: title and abstract."""
    if paper is None:
        return ""
    return f"{paper.title} . {paper.abstract or ''}"


class LexicalIndex:
    """Sparse tf-idf vectors of words and adjacent word pairs (no stop word between them)
    of each node's title and abstract: ``X`` (nodes x terms, rows L2-normalised, at most
    :data:`LEXICAL_DOC_TERMS` per node) and its transpose ``XT`` (the postings)."""

    def __init__(self, texts: Sequence[str]) -> None:
        n = len(texts)
        self.surface: list[str] = []
        self._vocab: defaultdict[str, int] = defaultdict(count().__next__)
        for word in (*STOPWORDS, *".,;:!?()[]{}"):
            self._vocab[word] = -1
        self._preset = len(self._vocab)
        self._raw_to_stem = np.full(0, -1, dtype=np.int64)
        self._stem_ids: dict[str, int] = {}
        # terms in two papers or more, hashed (a few false positives, no false negatives):
        # the single-paper terms, most word pairs, are dropped before the global count
        once = np.zeros(_LEX_HASH, dtype=bool)
        twice = np.zeros(_LEX_HASH, dtype=bool)
        chunks = []
        for lo in range(0, n, _LEX_CHUNK):
            d, c, t = self._chunk_terms(texts[lo : lo + _LEX_CHUNK])
            codes, per = np.unique(c, return_counts=True)
            h = _lex_hash(codes)
            twice[h[per > 1]] = True
            single = h[per == 1]
            twice[single[once[single]]] = True
            once[single] = True
            chunks.append((d.astype(np.int32), c, t.astype(np.int32)))
        del self._vocab, self._raw_to_stem, self._stem_ids, once
        # Chunk by chunk from here (each chunk's entries let go as it is done), so that no
        # array of every (paper, term) entry is made: at 1M papers that is 200M entries.
        # Document frequencies: the distinct terms of each chunk, counted, then summed.
        seen: list[tuple[np.ndarray, np.ndarray]] = []
        for k, (d, c, t) in enumerate(chunks):
            kept = twice[_lex_hash(c)]
            chunks[k] = (d[kept], c[kept], t[kept])
            seen.append(np.unique(chunks[k][1], return_counts=True))
            if len(seen) >= 16:  # merged as they come: bounded by the distinct terms
                seen = [_merge_counts(seen)]
        del twice
        col_codes, df = _merge_counts(seen)
        del seen
        keep_col = df >= 2
        if n >= 100:
            keep_col &= df <= LEXICAL_MAX_DF * n
        idf = np.log((n + 1) / np.maximum(df, 1)).astype(_F)
        new_col = (np.cumsum(keep_col) - 1).astype(np.int32)
        self.codes = col_codes[keep_col]
        # Each chunk's entries weighed, and the heaviest LEXICAL_DOC_TERMS terms of each
        # node kept (a node's entries are all in its chunk, in the order one sort of all
        # entries would give them).
        docs, cols, weights = [], [], []
        for k in range(len(chunks)):
            d, c, t = chunks[k]
            chunks[k] = (d[:0], c[:0], t[:0])
            col_of = np.searchsorted(col_codes, c)
            keep = keep_col[col_of]
            col_of = col_of[keep]
            weight = np.log(t[keep].astype(_F))
            weight += 1.0
            weight *= idf[col_of]
            doc_of, col = d[keep] + np.int32(k * _LEX_CHUNK), new_col[col_of]
            del d, c, t, keep, col_of
            order = np.lexsort((np.negative(weight), doc_of))
            doc_of, col, weight = doc_of[order], col[order], weight[order]
            lo = k * _LEX_CHUNK
            starts = np.searchsorted(doc_of, np.arange(lo, min(n, lo + _LEX_CHUNK)))
            top = (np.arange(doc_of.size) - starts[doc_of - lo]) < LEXICAL_DOC_TERMS
            docs.append(doc_of[top])
            cols.append(col[top])
            weights.append(weight[top])
        del chunks
        doc_of = _concat(docs, np.int32)
        col = _concat(cols, np.int32)
        weight = _concat(weights, _F)
        del docs, cols, weights
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc_of, minlength=n), out=indptr[1:])
        norms = np.sqrt(np.bincount(doc_of, weights=weight * weight, minlength=n))
        weight /= norms[doc_of].astype(_F)  # every listed node has a term of weight > 0
        shape = (n, int(self.codes.size))
        self.X: sp.csr_matrix = sp.csr_matrix((weight, col, indptr), shape=shape)
        self.X.sort_indices()
        self.XT: sp.csr_matrix = self.X.T.tocsr()

    def _chunk_terms(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(document within the chunk, term code, count) of every distinct term of every
        text: a word is its stem number, a pair ``(a + 1) * _LEX_PAIR + b``."""
        from array import array

        vocab = self._vocab
        raw = array("q")
        lengths = np.zeros(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            before = len(raw)
            raw.extend(map(vocab.__getitem__, _LEX_TOKEN.findall(text.lower())))
            lengths[i] = len(raw) - before
        known = self._raw_to_stem.size
        fresh = list(islice(vocab, self._preset + known, None))  # insertion order
        more = np.full(len(fresh), -1, dtype=np.int64)
        for k, word in enumerate(fresh):
            if len(word) < 2 or word.isdigit():
                continue
            st = _stem(word)
            sid = self._stem_ids.setdefault(st, len(self._stem_ids))
            if sid == len(self.surface):
                self.surface.append(word)
            elif word == st:
                self.surface[sid] = word  # show the word itself where it occurs
            more[k] = sid
        self._raw_to_stem = np.concatenate([self._raw_to_stem, more])
        if len(self._stem_ids) >= _LEX_PAIR:
            raise RecommendError(
                f"More than {_LEX_PAIR:,} distinct words: too many for the lexical index; "
                "set the lexical weight to 0 or split the corpus."
            )
        ids = np.frombuffer(raw, dtype=np.int64)
        tok = np.where(ids >= 0, self._raw_to_stem[np.maximum(ids, 0)], -1)
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        uni = tok >= 0
        pair = uni[:-1] & uni[1:] & (doc[:-1] == doc[1:])
        code = np.concatenate([tok[uni], (tok[:-1][pair] + 1) * _LEX_PAIR + tok[1:][pair]])
        where = np.concatenate([doc[uni], doc[:-1][pair]])
        keys, tf = np.unique(where * _LEX_PAIR**2 + code, return_counts=True)
        d, c = np.divmod(keys, _LEX_PAIR**2)
        return d, c, tf

    @classmethod
    def from_arrays(
        cls, x: sp.csr_matrix, codes: np.ndarray, surface: Sequence[str]
    ) -> LexicalIndex:
        """An index saved by :meth:`arrays` (``litkg build`` keeps one with the graph)."""
        self = cls.__new__(cls)
        self.X = sp.csr_matrix(x, dtype=_F)
        self.X.sort_indices()
        self.XT = self.X.T.tocsr()
        self.codes = np.asarray(codes, dtype=np.int64)
        self.surface = [str(w) for w in surface]
        return self

    def arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`from_arrays` needs, as plain arrays (for ``np.savez``)."""
        x = self.X
        return {
            "data": x.data,
            "indices": x.indices,
            "indptr": x.indptr,
            "shape": np.array(x.shape, dtype=np.int64),
            "codes": self.codes,
            "surface": np.array(self.surface, dtype=str),
        }

    @property
    def nbytes(self) -> int:
        """Memory held by the matrices and term codes (the word list not counted)."""
        mats = (self.X, self.XT)
        return int(sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in mats)) + int(
            self.codes.nbytes
        )

    def term(self, col: int) -> str:
        """The words of term column ``col`` (``sparse autoencoder``)."""
        code = int(self.codes[col])
        if code < _LEX_PAIR:
            return self.surface[code]
        a, b = divmod(code, _LEX_PAIR)
        return f"{self.surface[a - 1]} {self.surface[b]}"

    def similarities(self, nodes: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(tf-idf cosine of every node to the ``nodes`` that have terms, each read
        through its :data:`LEXICAL_QUERY_TERMS` heaviest terms; their positions in
        ``nodes``): only the postings of those terms are visited."""
        q = self.X[nodes]
        has = np.flatnonzero(np.diff(q.indptr) > 0)
        if has.size == 0:
            return None, has
        q = q[has]
        rows, cols, vals = [], [], []
        for i in range(q.shape[0]):
            lo, hi = q.indptr[i], q.indptr[i + 1]
            w = q.data[lo:hi]
            best = np.argsort(-w, kind="stable")[:LEXICAL_QUERY_TERMS]
            rows.append(np.full(best.size, i))
            cols.append(q.indices[lo:hi][best])
            vals.append(w[best])
        terms, inv = np.unique(np.concatenate(cols), return_inverse=True)
        dense = np.zeros((terms.size, q.shape[0]), dtype=_F)
        dense[inv, np.concatenate(rows)] = np.concatenate(vals)
        sims = np.asarray(self.XT[terms].T @ dense)
        return sims, has

    def shared_terms(self, j: int, q: int, limit: int = 3) -> list[str]:
        """The terms ``j`` and ``q`` share that weigh most in both; a word gives way to a
        heavy shared word pair that contains it."""
        x = self.X
        a = dict(zip(x.indices[x.indptr[j] : x.indptr[j + 1]].tolist(),
                     x.data[x.indptr[j] : x.indptr[j + 1]].tolist(), strict=True))  # fmt: skip
        both = [
            (a[c] * w, c)
            for c, w in zip(
                x.indices[x.indptr[q] : x.indptr[q + 1]].tolist(),
                x.data[x.indptr[q] : x.indptr[q + 1]].tolist(),
                strict=True,
            )
            if c in a
        ]
        both.sort(key=lambda t: (-t[0], t[1]))
        heavy = [self.term(c) for _, c in both[: 3 * limit]]
        pairs = [t for t in heavy if " " in t]
        shown: list[str] = []
        for t in heavy:
            if " " not in t:  # a heavy pair with this word says more
                t = next((p for p in pairs if t in p.split()), t)
            if t in shown or any(t in s.split() for s in shown):
                continue
            shown = [s for s in shown if s not in t.split()]
            shown.append(t)
            if len(shown) >= limit:
                break
        return shown
