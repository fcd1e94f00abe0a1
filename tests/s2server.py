"""A local Semantic Scholar Graph API for tests (stdlib only, binds 127.0.0.1).

It speaks the contract of ``../shared/docs/s2-api.md`` (shapes checked against the
recorded responses in ``../shared/s2-fixtures``) over a :class:`World`: papers by id
plus citation edges, loaded from a JSON(.gz) file or built in memory
(``tests/s2world.py`` builds one from the real records in ``../shared``)::

    with S2Server(world) as server:
        server.url                      # "http://127.0.0.1:PORT" (like https://api.semanticscholar.org)
        server.faults.add(status=429, retry_after=2, times=3, path_prefix="/graph/v1/paper/batch")
        server.faults.pacing(1.0)       # 429 when requests come closer than 1 s apart
        ...
        server.calls                    # [Call(method, path, query, headers, body, ...)]
        server.counts["batch"]          # requests per endpoint

Endpoints (prefix ``/graph/v1``): ``GET /paper/{id}``, ``POST /paper/batch``,
``GET /paper/{id}/references``, ``/citations``, ``/authors``, ``GET /paper/search``,
``/paper/search/match``, ``/paper/search/bulk``; and (prefix ``/recommendations/v1``)
``GET /papers/forpaper/{id}``, ``POST /papers``.

World file format (JSON, gzip when the name ends in ``.gz``)::

    {"format": "litkg-s2-world/1", "meta": {...},
     "papers": [{"paperId": "<40 hex>", "corpusId": 1, "externalIds": {"ArXiv": ..., "DOI": ...},
                 "title": ..., "abstract": ..., "venue": ..., "publicationVenue": {...} | null,
                 "year": 2023, "publicationDate": ..., "authors": [{"authorId", "name"}],
                 "fieldsOfStudy": [...], "s2FieldsOfStudy": [...], "publicationTypes": [...],
                 "journal": {...}, "openAccessPdf": {...}, "tldr": {"model", "text"} | null,
                 "embeddings": {"specter_v2": [768 floats]},          # optional
                 "override": {"referenceCount": 0},                    # optional served values
                 "synthetic": true, "synthetic_id": true, ...}],        # extra keys: never served
     "edges": [{"citingPaperId": ..., "citedPaperId": ... | null,
                "cited": {"title": ...},                  # only when citedPaperId is null
                "contextsWithIntent": [{"context": ..., "intents": [...]}],
                "isInfluential": false, "synthetic": true}]}

``referenceCount``, ``citationCount`` and ``influentialCitationCount`` are derived from
the edges (a record's ``override`` wins); ``url`` and ``citationStyles`` are derived.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import math
import re
import socket
import sys
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

GRAPH = "/graph/v1"
RECOMMENDATIONS = "/recommendations/v1"
WORLD_FORMAT = "litkg-s2-world/1"

#: Paper fields in the order S2 answers them (``Paper.json``).
PAPER_FIELDS: tuple[str, ...] = (
    "paperId",
    "externalIds",
    "corpusId",
    "publicationVenue",
    "url",
    "title",
    "abstract",
    "venue",
    "year",
    "referenceCount",
    "citationCount",
    "influentialCitationCount",
    "isOpenAccess",
    "openAccessPdf",
    "fieldsOfStudy",
    "s2FieldsOfStudy",
    "tldr",
    "publicationTypes",
    "publicationDate",
    "journal",
    "citationStyles",
    "embedding",
    "authors",
    "citations",
    "references",
)
AUTHOR_FIELDS: tuple[str, ...] = (
    "authorId",
    "externalIds",
    "url",
    "name",
    "affiliations",
    "homepage",
    "paperCount",
    "citationCount",
    "hIndex",
)
#: Fields of a citation/reference edge (``Citation.json``).
EDGE_FIELDS: tuple[str, ...] = ("contexts", "isInfluential", "intents", "contextsWithIntent")
EMBEDDING_MODELS: tuple[str, ...] = ("specter_v1", "specter_v2")
#: Fields that may not be nested under ``citations.`` / ``references.``.
_NOT_NESTABLE = frozenset({"citations", "references", "embedding", "tldr"})
DEFAULT_FIELDS: tuple[str, ...] = ("paperId", "title")

BODY_429 = {
    "message": "Too Many Requests. Please wait and try again or apply for a key for higher "
    "rate limits. https://www.semanticscholar.org/product/api#api-key-form",
    "code": "429",
}
#: S2-like bodies for error statuses (API Gateway / CloudFront style).
ERROR_BODIES: dict[int, Any] = {
    400: {"error": "Bad Request"},
    403: {"message": "Forbidden"},
    404: {"error": "Not Found"},
    429: BODY_429,
    500: {"message": "Internal Server Error"},
    502: {"message": "Bad Gateway"},
    503: {"message": "Service Unavailable"},
    504: {"message": "Endpoint request timed out"},
}
_AMZN_ERROR_TYPES = {403: "ForbiddenException", 429: "TooManyRequestsException"}
MALFORMED_BODY = b'{"paperId": "0123456789abcdef", "title": "Truncated answ'

_HEX40 = re.compile(r"[0-9a-f]{40}")
_ARXIV_VERSION = re.compile(r"v\d+$")
_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS_TEXT = (
    "a an and are as at be by for from has have how in into is it its of on or that the "
    "their this to via was we what when which with without do does"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))


# ----------------------------------------------------------------------------- text helpers
def fold(text: str) -> str:
    """Lower-case ASCII folding of ``text`` (accents and curly quotes dropped)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def tokens(text: str | None) -> list[str]:
    """Word tokens of ``text`` after :func:`fold` (stop words kept)."""
    return _TOKEN.findall(fold(text or ""))


def content_tokens(text: str | None) -> list[str]:
    """:func:`tokens` without stop words and one-letter tokens."""
    return [t for t in tokens(text) if t not in STOPWORDS and len(t) > 1]


def normalize_title(title: str | None) -> str:
    """Title key: folded, punctuation-free, single-spaced."""
    return " ".join(tokens(title))


def normalize_arxiv(value: str) -> str:
    """``arXiv:2304.14997v2`` -> ``2304.14997``."""
    value = value.strip().lower()
    value = value.removeprefix("arxiv:")
    return _ARXIV_VERSION.sub("", value)


def hex_id(*parts: str) -> str:
    """A deterministic 40-hex paperId from ``parts``."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def title_similarity(query: str, title: str) -> float:
    """Normalised title similarity in [0, 1] used by ``/paper/search/match``.

    The best of a character ratio and a token score that favours titles containing
    every query word (S2 matches a query that is a prefix of the title, as recorded in
    ``test_search_paper_match_title.yaml``).
    """
    q, t = normalize_title(query), normalize_title(title)
    if not q or not t:
        return 0.0
    if q == t:
        return 1.0
    qs, ts = set(q.split()), set(t.split())
    shared = len(qs & ts)
    token_score = 0.7 * shared / len(qs) + 0.3 * shared / len(ts)
    return max(SequenceMatcher(None, q, t).ratio(), token_score)


def _year_range(spec: str | None) -> tuple[int, int] | None:
    """``2019``, ``2016-2020``, ``2010-``, ``-2015`` (and ``:``-separated dates) -> bounds."""
    if not spec:
        return None
    sep = ":" if ":" in spec else "-"
    if sep == "-" and re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", spec):
        return int(spec[:4]), int(spec[:4])
    lo_s, _, hi_s = spec.partition(sep) if sep in spec else (spec, "", spec)
    try:
        lo = int(lo_s[:4]) if lo_s.strip() else -10_000
        hi = int(hi_s[:4]) if hi_s.strip() else 10_000
    except ValueError:
        return None
    return lo, hi


_DATE_TERM = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _date_range(spec: str) -> tuple[str, str] | None:
    """S2's ``publicationDateOrYear``: ``<start>:<end>``, each term optional and a date
    prefix (``2019``, ``2019-03``, ``2019-03-05``); one term without ``:`` is the whole
    period it names (``2020-06``: all of June 2020). Bounds as comparable ISO strings, or
    None when the value is malformed."""
    lo_s, sep, hi_s = spec.strip().partition(":")
    if not sep:
        hi_s = lo_s
    lo_s, hi_s = lo_s.strip(), hi_s.strip()
    if not (lo_s or hi_s) or any(t and not _DATE_TERM.fullmatch(t) for t in (lo_s, hi_s)):
        return None
    lo = (lo_s + "-01-01"[len(lo_s) - 4 :]) if lo_s else "0000-01-01"
    hi = (hi_s + "-12-31"[len(hi_s) - 4 :]) if hi_s else "9999-12-31"
    return lo, hi


def _date_key(record: dict[str, Any]) -> str:
    """A paper's date for ``publicationDateOrYear``: its ``publicationDate``, else January
    1st of its year (as S2 documents); papers with neither sort before every bound."""
    date = record.get("publicationDate")
    if date:
        return str(date)
    year = record.get("year")
    return f"{int(year):04d}-01-01" if year else ""


# ----------------------------------------------------------------------------- the world
@dataclass
class _Index:
    by_hex: dict[str, str]
    by_corpus: dict[int, str]
    by_ext: dict[tuple[str, str], str]
    refs: dict[str, list[dict[str, Any]]]
    cits: dict[str, list[dict[str, Any]]]
    counts: dict[str, tuple[int, int, int]]
    authors: dict[str, tuple[int, int, int]]
    title_postings: dict[str, list[str]]
    title_norm: dict[str, str]
    text: dict[str, Counter[str]] = field(default_factory=dict)
    text_postings: dict[str, set[str]] = field(default_factory=dict)


_EXT_KEYS = {
    "doi": "DOI",
    "arxiv": "ArXiv",
    "mag": "MAG",
    "acl": "ACL",
    "pmid": "PubMed",
    "pmcid": "PubMedCentral",
    "dblp": "DBLP",
}


def _ext_value(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "arxiv":
        return normalize_arxiv(value)
    if kind == "pmcid":
        return value.lower().removeprefix("pmc")
    return value.lower()


class World:
    """Papers by id plus citation edges; the data an :class:`S2Server` serves.

    ``papers`` maps paperId -> record (S2-shaped fields plus private extras, see the
    module docstring); ``edges`` is a list of edge dicts. Mutate through
    :meth:`add_paper` / :meth:`add_edge` (or call :meth:`invalidate` after editing).
    """

    def __init__(
        self,
        papers: Iterable[dict[str, Any]] = (),
        edges: Iterable[dict[str, Any]] = (),
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.papers: dict[str, dict[str, Any]] = {}
        self.edges: list[dict[str, Any]] = []
        self.meta: dict[str, Any] = dict(meta or {})
        self._lock = threading.RLock()
        self._index: _Index | None = None
        for paper in papers:
            self.add_paper(paper)
        for edge in edges:
            self.edges.append(dict(edge))

    # -- building
    def add_paper(self, record: dict[str, Any]) -> str:
        """Add (or replace) a paper; returns its paperId."""
        pid = str(record["paperId"]).lower()
        if not _HEX40.fullmatch(pid):
            raise ValueError(f"paperId must be 40 lower-case hex digits, got {pid!r}")
        rec = dict(record)
        rec["paperId"] = pid
        if rec.get("corpusId") is None:
            rec["corpusId"] = int(pid[:8], 16) % 2_000_000_000 + 100_000_000
        rec["externalIds"] = {
            k: v for k, v in dict(rec.get("externalIds") or {}).items() if v is not None
        }
        with self._lock:
            self.papers[pid] = rec
            self._index = None
        return pid

    def add_edge(
        self,
        citing: str,
        cited: str | None,
        *,
        contexts_with_intent: Sequence[dict[str, Any]] = (),
        is_influential: bool = False,
        synthetic: bool = True,
        cited_record: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add a citation edge ``citing -> cited``; ``cited=None`` is an unresolved reference
        (S2 answers it as ``{"paperId": null, "title": ...}``) described by ``cited_record``."""
        edge: dict[str, Any] = {
            "citingPaperId": citing,
            "citedPaperId": cited,
            "contextsWithIntent": [dict(c) for c in contexts_with_intent],
            "isInfluential": bool(is_influential),
            "synthetic": synthetic,
        }
        if cited is None:
            edge["cited"] = dict(cited_record or {"title": None})
        with self._lock:
            self.edges.append(edge)
            self._index = None
        return edge

    def invalidate(self) -> None:
        """Forget the derived indexes (after editing ``papers``/``edges`` directly)."""
        with self._lock:
            self._index = None

    def __len__(self) -> int:
        return len(self.papers)

    def __contains__(self, paper_id: object) -> bool:
        return isinstance(paper_id, str) and self.resolve(paper_id) is not None

    # -- persistence
    def to_json(self) -> dict[str, Any]:
        return {
            "format": WORLD_FORMAT,
            "meta": self.meta,
            "papers": list(self.papers.values()),
            "edges": self.edges,
        }

    def save(self, path: str | Path) -> Path:
        """Write the world as JSON (gzip-compressed when ``path`` ends in ``.gz``)."""
        path = Path(path)
        data = json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
        if path.suffix == ".gz":
            data = gzip.compress(data, compresslevel=6, mtime=0)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        if data.get("format") != WORLD_FORMAT:
            raise ValueError(f"not a {WORLD_FORMAT} file (format={data.get('format')!r})")
        return cls(data["papers"], data["edges"], data.get("meta"))

    @classmethod
    def load(cls, path: str | Path) -> World:
        """Read a world written by :meth:`save` (``.gz`` or plain JSON)."""
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return cls.from_json(json.loads(raw))

    # -- indexes
    def _idx(self) -> _Index:
        index = self._index
        if index is not None:
            return index
        with self._lock:
            if self._index is None:
                self._index = self._build_index()
            return self._index

    def _build_index(self) -> _Index:
        by_hex: dict[str, str] = {}
        by_corpus: dict[int, str] = {}
        by_ext: dict[tuple[str, str], str] = {}
        title_postings: dict[str, list[str]] = defaultdict(list)
        title_norm: dict[str, str] = {}
        for pid, rec in self.papers.items():
            by_hex[pid] = pid
            if rec.get("corpusId") is not None:
                by_corpus[int(rec["corpusId"])] = pid
            for kind, key in _EXT_KEYS.items():
                value = rec["externalIds"].get(key)
                if value:
                    by_ext.setdefault((kind, _ext_value(kind, str(value))), pid)
            norm = normalize_title(rec.get("title"))
            title_norm[pid] = norm
            for tok in set(norm.split()):
                title_postings[tok].append(pid)
        refs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        cits: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for edge in self.edges:
            citing, cited = edge["citingPaperId"], edge.get("citedPaperId")
            if citing not in self.papers:
                continue
            if cited is not None and cited not in self.papers:
                continue
            refs[citing].append(edge)
            if cited is not None:
                cits[cited].append(edge)

        def newest_first(edge: dict[str, Any]) -> tuple[int, str]:
            year = self.papers[edge["citingPaperId"]].get("year") or 0
            return (-int(year), edge["citingPaperId"])

        for lst in cits.values():
            lst.sort(key=newest_first)
        counts: dict[str, tuple[int, int, int]] = {}
        for pid in self.papers:
            c = cits.get(pid, [])
            counts[pid] = (len(refs.get(pid, [])), len(c), sum(e["isInfluential"] for e in c))
        per_author: dict[str, list[int]] = defaultdict(list)
        for pid, rec in self.papers.items():
            for author in rec.get("authors") or []:
                if author.get("authorId"):
                    per_author[author["authorId"]].append(counts[pid][1])
        authors: dict[str, tuple[int, int, int]] = {}
        for aid, cs in per_author.items():
            ranked = sorted(cs, reverse=True)
            h = sum(1 for i, c in enumerate(ranked, 1) if c >= i)
            authors[aid] = (len(cs), sum(cs), h)
        return _Index(
            by_hex, by_corpus, by_ext, refs, cits, counts, authors, title_postings, title_norm
        )

    def _text_index(self) -> _Index:
        index = self._idx()
        if not index.text:
            with self._lock:
                if not index.text:
                    text: dict[str, Counter[str]] = {}
                    postings: dict[str, set[str]] = defaultdict(set)
                    for pid, rec in self.papers.items():
                        bag = Counter(content_tokens(rec.get("title")) * 3)
                        bag.update(content_tokens(rec.get("abstract")))
                        text[pid] = bag
                        for tok in bag:
                            postings[tok].add(pid)
                    index.text_postings = dict(postings)
                    index.text = text
        return index

    # -- queries
    def resolve(self, paper_id: str) -> str | None:
        """The paperId an S2 id of any form names, or None (see s2-api.md)."""
        index = self._idx()
        raw = paper_id.strip()
        low = raw.lower()
        if _HEX40.fullmatch(low):
            return index.by_hex.get(low)
        prefix, sep, rest = raw.partition(":")
        kind = prefix.strip().lower()
        if sep and kind == "corpusid":
            try:
                return index.by_corpus.get(int(rest.strip()))
            except ValueError:
                return None
        if sep and kind in _EXT_KEYS:
            return index.by_ext.get((kind, _ext_value(kind, rest)))
        if sep and kind == "url":
            return self._resolve_url(rest.strip())
        if low.startswith("10.") and "/" in low:  # a bare DOI (as in the recorded batch)
            return index.by_ext.get(("doi", low))
        return None

    def _resolve_url(self, url: str) -> str | None:
        parts = urlsplit(url if "://" in url else "https://" + url)
        host, path = parts.netloc.lower(), unquote(parts.path)
        index = self._idx()
        segments = [s for s in path.split("/") if s]
        if host.endswith("arxiv.org") and len(segments) >= 2 and segments[0] in ("abs", "pdf"):
            ident = "/".join(segments[1:]).removesuffix(".pdf")
            return index.by_ext.get(("arxiv", normalize_arxiv(ident)))
        if host.endswith("semanticscholar.org") and segments and segments[0] == "paper":
            last = segments[-1].lower()
            return index.by_hex.get(last) if _HEX40.fullmatch(last) else None
        if host.endswith(("aclweb.org", "aclanthology.org")) and segments:
            ident = segments[-1].removesuffix(".pdf")
            return index.by_ext.get(("acl", ident.lower()))
        if host.endswith(("acm.org", "biorxiv.org")):
            match = re.search(r"(10\.\d{4,9}/[^?#\s]+)", path)
            if match:
                doi = match.group(1).rstrip("/")
                doi = re.sub(r"(\.full(\.pdf)?|v\d+)$", "", doi)
                return index.by_ext.get(("doi", doi.lower()))
        return None

    def paper(self, paper_id: str) -> dict[str, Any] | None:
        pid = self.resolve(paper_id)
        return None if pid is None else self.papers[pid]

    def references(self, paper_id: str) -> list[dict[str, Any]]:
        """Edges out of ``paper_id`` (its references, S2 order)."""
        return list(self._idx().refs.get(paper_id, []))

    def citations(self, paper_id: str) -> list[dict[str, Any]]:
        """Edges into ``paper_id`` (its citations, newest citing paper first)."""
        return list(self._idx().cits.get(paper_id, []))

    def counts(self, paper_id: str) -> dict[str, int]:
        """``referenceCount``, ``citationCount``, ``influentialCitationCount`` as served."""
        ref, cit, infl = self._idx().counts.get(paper_id, (0, 0, 0))
        served = {"referenceCount": ref, "citationCount": cit, "influentialCitationCount": infl}
        served.update(self.papers[paper_id].get("override") or {})
        return served

    def match_title(self, query: str) -> tuple[str, float] | None:
        """Best (paperId, similarity) for a title query, or None when nothing shares a word."""
        index = self._idx()
        qtoks = set(normalize_title(query).split())
        if not qtoks:
            return None
        n = max(len(self.papers), 1)
        informative = [t for t in qtoks if len(index.title_postings.get(t, ())) < 0.2 * n]
        candidates: set[str] = set()
        for tok in informative or qtoks:
            candidates.update(index.title_postings.get(tok, ()))
        best: tuple[float, int, str] | None = None
        for pid in candidates:
            sim = title_similarity(query, self.papers[pid].get("title") or "")
            key = (sim, self.counts(pid)["citationCount"], pid)
            if best is None or key > best:
                best = key
        return None if best is None else (best[2], best[0])

    def title_idf(self, token: str) -> float:
        df = len(self._idx().title_postings.get(token, ()))
        return math.log((len(self.papers) + 1) / (df + 0.5))

    def idf(self, token: str) -> float:
        index = self._text_index()
        df = len(index.text_postings.get(token, ()))
        return math.log((len(self.papers) + 1) / (df + 0.5))

    def search(self, query: str) -> list[tuple[str, float]]:
        """Token relevance over title (x3) and abstract: every query word must occur."""
        index = self._text_index()
        qtoks = list(dict.fromkeys(content_tokens(query)))
        if not qtoks:
            return []
        sets = [index.text_postings.get(t, set()) for t in qtoks]
        hits = set.intersection(*sets) if all(sets) else set()
        scored = []
        for pid in hits:
            bag = index.text[pid]
            score = sum(self.idf(t) * (1 + math.log(bag[t])) for t in qtoks)
            scored.append((pid, score))
        scored.sort(key=lambda x: (-x[1], -self.counts(x[0])["citationCount"], x[0]))
        return scored

    def similar(self, positives: Sequence[str], negatives: Sequence[str] = ()) -> list[str]:
        """Recommendation ranking: tf-idf cosine to the positives, minus the negatives."""
        index = self._text_index()

        def vec(pid: str) -> dict[str, float]:
            bag = index.text[pid]
            v = {t: (1 + math.log(c)) * self.idf(t) for t, c in bag.items()}
            norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
            return {t: x / norm for t, x in v.items()}

        profile: dict[str, float] = defaultdict(float)
        for pid in positives:
            for t, x in vec(pid).items():
                profile[t] += x
        for pid in negatives:
            for t, x in vec(pid).items():
                profile[t] -= x
        candidates: set[str] = set()
        for t, x in profile.items():
            if x > 0:
                candidates.update(index.text_postings.get(t, ()))
        candidates -= set(positives) | set(negatives)
        scored = []
        for pid in candidates:
            v = vec(pid)
            scored.append((sum(profile.get(t, 0.0) * x for t, x in v.items()), pid))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return [pid for score, pid in scored if score > 0]


# ----------------------------------------------------------------------------- fields
class FieldError(ValueError):
    """Unrecognized or unsupported field names."""

    def __init__(self, bad: Sequence[str]) -> None:
        super().__init__(f"Unrecognized or unsupported fields: [{', '.join(bad)}]")
        self.bad = list(bad)


@dataclass
class FieldSpec:
    """A parsed ``fields=`` parameter: top-level names and ``a.b`` sub-selections."""

    top: list[str]
    sub: dict[str, list[str]]
    edge: list[str]
    explicit: bool

    @classmethod
    def parse(
        cls, raw: str | None, *, edges: bool = False, default: Sequence[str] = DEFAULT_FIELDS
    ) -> FieldSpec:
        names = [n.strip() for n in (raw or "").split(",") if n.strip()]
        if not names:
            return cls(list(default), {}, [], False)
        top: list[str] = []
        sub: dict[str, list[str]] = {}
        edge: list[str] = []
        bad: list[str] = []
        for name in dict.fromkeys(names):
            head, dot, rest = name.partition(".")
            if edges and not dot and name in EDGE_FIELDS:
                edge.append(name)
                continue
            if head not in PAPER_FIELDS:
                bad.append(name)
                continue
            if dot:
                ok = (
                    (head == "authors" and rest in AUTHOR_FIELDS)
                    or (head == "embedding" and rest in EMBEDDING_MODELS)
                    or (
                        head in ("citations", "references")
                        and not edges
                        and rest.partition(".")[0] in PAPER_FIELDS
                        and rest.partition(".")[0] not in _NOT_NESTABLE
                    )
                )
                if not ok:
                    bad.append(name)
                    continue
                sub.setdefault(head, []).append(rest)
            elif edges and head in ("citations", "references"):
                bad.append(name)
                continue
            if head not in top:
                top.append(head)
        for head in ("citations", "references"):
            if head in sub:
                try:
                    cls.parse(",".join(sub[head]))
                except FieldError as exc:
                    bad.extend(f"{head}.{name}" for name in exc.bad)
        if bad:
            raise FieldError(bad)
        order = {name: i for i, name in enumerate(PAPER_FIELDS)}
        top.sort(key=order.__getitem__)
        return cls(top, sub, edge, True)

    @property
    def paper_top(self) -> list[str]:
        """Paper fields to render; ``paperId`` always, ``title`` too when only edge fields."""
        top = list(self.top)
        if not top:
            top = list(DEFAULT_FIELDS)
        if "paperId" not in top:
            top.insert(0, "paperId")
        return top


def _bibtex(rec: dict[str, Any]) -> str:
    authors = [a.get("name") or "" for a in rec.get("authors") or []]
    first = (authors[0].split() or ["Anon"])[-1] if authors else "Anon"
    words = [w for w in re.findall(r"[A-Za-z0-9]+", rec.get("title") or "") if len(w) > 3]
    key = f"{fold(first).capitalize()}{rec.get('year') or ''}" + "".join(
        w[:1].upper() for w in words[:2]
    )
    journal = (rec.get("journal") or {}).get("name") or rec.get("venue") or ""
    kind = "Article" if journal else "Misc"
    lines = [f"@{kind}{{{key},"]
    if authors:
        lines.append(f" author = {{{' and '.join(authors)}}},")
    if journal:
        lines.append(f" journal = {{{journal}}},")
    lines.append(f" title = {{{rec.get('title') or ''}}},")
    if rec.get("year"):
        lines.append(f" year = {{{rec['year']}}}")
    return "\n".join(lines) + "\n}\n"


class Renderer:
    """Projects world records onto S2 JSON shapes for a :class:`FieldSpec`."""

    def __init__(self, world: World, nested_limit: int = 1000) -> None:
        self.world = world
        self.nested_limit = nested_limit

    def author(self, author: dict[str, Any], subs: Sequence[str] | None) -> dict[str, Any]:
        wanted = list(subs) if subs else ["authorId", "name"]
        aid = author.get("authorId")
        stats = self.world._idx().authors.get(aid or "", (0, 0, 0))
        values = {
            "authorId": aid,
            "externalIds": author.get("externalIds") or {},
            "url": f"https://www.semanticscholar.org/author/{aid}" if aid else None,
            "name": author.get("name"),
            "affiliations": author.get("affiliations") or [],
            "homepage": author.get("homepage"),
            "paperCount": stats[0],
            "citationCount": stats[1],
            "hIndex": stats[2],
        }
        out = {"authorId": aid}
        for name in AUTHOR_FIELDS:
            if name in wanted:
                out[name] = values[name]
        return out

    def paper(
        self,
        pid: str,
        spec: FieldSpec,
        *,
        nested_empty: bool = False,
        references_empty: bool = False,
    ) -> dict[str, Any]:
        rec = self.world.papers[pid]
        out: dict[str, Any] = {}
        counts: dict[str, int] | None = None
        for name in spec.paper_top:
            if name in ("referenceCount", "citationCount", "influentialCitationCount"):
                counts = counts or self.world.counts(pid)
                out[name] = counts[name]
            elif name == "externalIds":
                ext = dict(rec.get("externalIds") or {})
                ext["CorpusId"] = rec.get("corpusId")
                out[name] = ext
            elif name == "url":
                out[name] = f"https://www.semanticscholar.org/paper/{pid}"
            elif name == "venue":
                out[name] = rec.get("venue") or ""
            elif name == "isOpenAccess":
                out[name] = bool(rec.get("isOpenAccess", bool(rec.get("openAccessPdf"))))
            elif name == "s2FieldsOfStudy":
                out[name] = rec.get("s2FieldsOfStudy") or []
            elif name == "citationStyles":
                out[name] = rec.get("citationStyles") or {"bibtex": _bibtex(rec)}
            elif name == "embedding":
                model = (spec.sub.get("embedding") or ["specter_v1"])[0]
                vector = (rec.get("embeddings") or {}).get(model)
                out[name] = None if vector is None else {"model": model, "vector": vector}
            elif name == "authors":
                subs = spec.sub.get("authors")
                out[name] = [self.author(a, subs) for a in rec.get("authors") or []]
            elif name in ("citations", "references"):
                edges = (
                    self.world.citations(pid) if name == "citations" else self.world.references(pid)
                )
                if (nested_empty and name == "citations") or (
                    references_empty and name == "references"
                ):
                    edges = []
                nested = FieldSpec.parse(",".join(spec.sub.get(name, [])))
                items = []
                for edge in edges[: self.nested_limit]:
                    other = edge["citingPaperId"] if name == "citations" else edge["citedPaperId"]
                    if other is None:
                        items.append(self.unresolved(edge, nested))
                    else:
                        items.append(self.paper(other, nested))
                out[name] = items
            else:
                out[name] = rec.get(name)
        return out

    def unresolved(self, edge: dict[str, Any], spec: FieldSpec) -> dict[str, Any]:
        cited = edge.get("cited") or {}
        out: dict[str, Any] = {}
        for name in spec.paper_top:
            if name == "paperId":
                out[name] = None
            elif name in ("externalIds", "publicationVenue", "openAccessPdf", "journal"):
                out[name] = cited.get(name, {} if name == "externalIds" else None)
            elif name == "authors":
                out[name] = [self.author(a, spec.sub.get("authors")) for a in cited.get(name, [])]
            else:
                out[name] = cited.get(name)
        return out

    def edge(self, edge: dict[str, Any], spec: FieldSpec, direction: str) -> dict[str, Any]:
        cwi = edge.get("contextsWithIntent") or []
        contexts = edge.get("contexts")
        if contexts is None:
            contexts = [c["context"] for c in cwi]
        intents = edge.get("intents")
        if intents is None:
            intents = list(dict.fromkeys(i for c in cwi for i in c.get("intents") or []))
        values = {
            "contexts": contexts,
            "isInfluential": edge.get("isInfluential", False),
            "intents": intents,
            "contextsWithIntent": cwi,
        }
        out = {name: values[name] for name in EDGE_FIELDS if name in spec.edge}
        if direction == "citations":
            out["citingPaper"] = self.paper(edge["citingPaperId"], spec)
        elif edge.get("citedPaperId") is None:
            out["citedPaper"] = self.unresolved(edge, spec)
        else:
            out["citedPaper"] = self.paper(edge["citedPaperId"], spec)
        return out


# ----------------------------------------------------------------------------- faults
@dataclass
class Fault:
    """One injected misbehaviour; see :meth:`Faults.add`."""

    kind: str = "status"
    status: int = 500
    times: int | None = 1
    path_prefix: str = ""
    method: str | None = None
    endpoint: str | None = None
    retry_after: float | str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    null_indices: tuple[int, ...] = (0,)
    after: int = 0
    when: Callable[[Call], bool] | None = None
    fired: int = 0
    seen: int = 0

    def matches(self, call: Call) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method and call.method != self.method.upper():
            return False
        if self.endpoint and call.endpoint != self.endpoint:
            return False
        if not call.path.startswith(self.path_prefix):
            return False
        return self.when is None or self.when(call)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class Faults:
    """Programmable, thread-safe fault rules of an :class:`S2Server`.

    Rules are tried in the order they were added; the first that matches a request
    (and is not exhausted) fires. ``times=None`` means forever; ``after=N`` lets the
    first N matching requests through.
    """

    KINDS = ("status", "slow", "malformed", "null_in_batch", "drop")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[Fault] = []
        self.min_interval: float | None = None
        self.pacing_retry_after: float | str | None = None
        self.pacing_rejections = 0
        self._last_accepted: float | None = None

    def add(
        self,
        status: int | None = None,
        *,
        kind: str | None = None,
        times: int | None = 1,
        path_prefix: str = "",
        method: str | None = None,
        endpoint: str | None = None,
        retry_after: float | str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        null_indices: Sequence[int] = (0,),
        after: int = 0,
        when: Callable[[Call], bool] | None = None,
    ) -> Fault:
        """Add a rule.

        * ``status=429, retry_after=2`` -> that status with an S2-like body (``body`` to
          replace it; a dict is sent as JSON, str/bytes as is) and ``Retry-After`` if given;
        * ``delay=N`` alone -> sleep N seconds, then answer normally (``kind="slow"``);
          with a status -> sleep, then the error;
        * ``kind="malformed"`` -> 200 with a truncated JSON body;
        * ``kind="null_in_batch"`` -> a normal batch answer with ``null`` at ``null_indices``;
        * ``kind="drop"`` -> close the connection without answering.

        ``path_prefix`` matches the raw request path (e.g. ``"/graph/v1/paper/batch"``),
        ``endpoint`` a name from :data:`ENDPOINTS`, ``method`` the HTTP method,
        ``when(call)`` anything else.
        """
        if kind is None:
            kind = "status" if status is not None else "slow"
        if kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {self.KINDS}")
        if kind == "slow" and status is not None:
            kind = "status"
        fault = Fault(
            kind=kind,
            status=status if status is not None else (200 if kind != "status" else 500),
            times=times,
            path_prefix=path_prefix,
            method=method,
            endpoint=endpoint,
            retry_after=retry_after,
            body=body,
            headers=dict(headers or {}),
            delay=delay,
            null_indices=tuple(null_indices),
            after=after,
            when=when,
        )
        with self._lock:
            self.rules.append(fault)
        return fault

    def rate_limit(
        self, times: int | None = 1, retry_after: float | str | None = None, **kw: Any
    ) -> Fault:
        """429 Too Many Requests (with ``Retry-After`` when given)."""
        return self.add(429, times=times, retry_after=retry_after, **kw)

    def error(self, status: int = 500, times: int | None = 1, **kw: Any) -> Fault:
        """A 5xx (or any status) with an S2-like body."""
        return self.add(status, times=times, **kw)

    def slow(self, seconds: float, times: int | None = 1, **kw: Any) -> Fault:
        """Sleep ``seconds`` before answering normally (client timeout tests)."""
        return self.add(kind="slow", delay=seconds, times=times, **kw)

    def malformed(self, times: int | None = 1, **kw: Any) -> Fault:
        """200 with an unparseable JSON body."""
        return self.add(kind="malformed", times=times, **kw)

    def null_in_batch(
        self, indices: Sequence[int] = (0,), times: int | None = 1, **kw: Any
    ) -> Fault:
        """Replace entries of the next batch answer(s) by ``null``."""
        kw.setdefault("endpoint", "batch")
        return self.add(kind="null_in_batch", null_indices=indices, times=times, **kw)

    def drop(self, times: int | None = 1, **kw: Any) -> Fault:
        """Close the connection without an answer."""
        return self.add(kind="drop", times=times, **kw)

    def pacing(self, min_interval: float | None, retry_after: float | str | None = None) -> None:
        """Answer 429 to a request arriving less than ``min_interval`` seconds after the
        last request that was let through (``None`` turns pacing off)."""
        with self._lock:
            self.min_interval = min_interval
            self.pacing_retry_after = retry_after
            self._last_accepted = None

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.min_interval = None
            self._last_accepted = None

    def pending(self) -> list[Fault]:
        """Rules that can still fire."""
        with self._lock:
            return [f for f in self.rules if not f.exhausted]

    # -- used by the server
    def _check_pacing(self) -> bool:
        """True when the request is within the pace (and counts it)."""
        with self._lock:
            if self.min_interval is None:
                return True
            now = time.monotonic()
            if self._last_accepted is not None and now - self._last_accepted < self.min_interval:
                self.pacing_rejections += 1
                return False
            self._last_accepted = now
            return True

    def _pick(self, call: Call) -> Fault | None:
        with self._lock:
            for fault in self.rules:
                if fault.matches(call):
                    fault.seen += 1
                    if fault.seen <= fault.after:
                        continue
                    fault.fired += 1
                    return fault
            return None


# ----------------------------------------------------------------------------- the server
ENDPOINTS = (
    "paper",
    "batch",
    "references",
    "citations",
    "authors",
    "match",
    "search",
    "bulk",
    "recommendations",
    "unknown",
)


@dataclass
class Call:
    """One request as the server saw it. Unpacks as ``method, path, query, headers, body``.

    ``headers`` has lower-case names; ``body`` is the parsed JSON body, the raw bytes when
    it is not JSON, or None when empty; ``status`` is what the server answered (None when
    the connection was dropped).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    endpoint: str = "unknown"
    status: int | None = None
    at: float = 0.0

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.path, self.query, self.headers, self.body))

    @property
    def api_key(self) -> str | None:
        return self.headers.get("x-api-key")


class _Answer(Exception):
    """Raised inside a handler to answer immediately."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, message: str) -> _Answer:
    return _Answer(status, {"error": message})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    s2: S2Server

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on disconnects
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "litkg-S2Server/1"
    timeout = 30
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        self.server.s2._connections.add(self.connection)

    def finish(self) -> None:
        self.server.s2._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self.server.s2._handle(self)

    def do_POST(self) -> None:
        self.server.s2._handle(self)

    def do_PUT(self) -> None:
        self.server.s2._handle(self)

    def do_DELETE(self) -> None:
        self.server.s2._handle(self)


class S2Server:
    """A Semantic Scholar-compatible HTTP server over a :class:`World`, in a thread.

    Args:
        world: the :class:`World` (or a path to a world file) to serve.
        port: 0 picks a free port.
        citation_cap: citations visible per paper on ``/citations`` (S2: about 10,000).
        nested_limit: most entries of nested ``citations``/``references`` in paper objects.
        require_api_key: when set, requests without this ``x-api-key`` get 403 Forbidden.
        min_interval: pacing (see :meth:`Faults.pacing`), e.g. 1.0 for 1 request/second.
        match_threshold: least title similarity (0..1) for ``/paper/search/match``.
        batch_max: most ids per ``/paper/batch`` request.
        max_response_bytes: a batch answer larger than this is refused with 400.
        empty_nested_citations: nested ``citations`` in batch answers come back empty (an
            S2 quirk in s2-api.md).
        empty_nested_references: paper ids whose nested ``references`` come back empty in
            batch answers, although their ``referenceCount`` is not 0 (the same quirk).
        max_nested: most nested ``citations``/``references`` entries in one batch answer
            (S2: 9,999); more is refused with 400 "Response would exceed ...".
    """

    def __init__(
        self,
        world: World | str | Path,
        *,
        port: int = 0,
        citation_cap: int = 10_000,
        nested_limit: int = 1000,
        require_api_key: str | None = None,
        min_interval: float | None = None,
        match_threshold: float = 0.75,
        batch_max: int = 500,
        max_response_bytes: int = 10_000_000,
        empty_nested_citations: bool = False,
        empty_nested_references: Iterable[str] = (),
        max_nested: int = 9_999,
    ) -> None:
        self.world = world if isinstance(world, World) else World.load(world)
        self.port = port
        self.citation_cap = citation_cap
        self.require_api_key = require_api_key
        self.match_threshold = match_threshold
        self.batch_max = batch_max
        self.max_response_bytes = max_response_bytes
        self.empty_nested_citations = empty_nested_citations
        self.empty_nested_references = frozenset(empty_nested_references)
        self.max_nested = max_nested
        self.render = Renderer(self.world, nested_limit)
        self.faults = Faults()
        if min_interval is not None:
            self.faults.pacing(min_interval)
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> S2Server:
        if self._httpd is not None:
            return self
        self._stop.clear()
        httpd = _HTTPServer(("127.0.0.1", self.port), _Handler)
        httpd.s2 = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd = self._httpd
        if httpd is None:
            return
        self._stop.set()
        httpd.shutdown()
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> S2Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The API base, like ``https://api.semanticscholar.org`` (no ``/graph/v1``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def graph_url(self) -> str:
        return self.url + GRAPH

    # -- accounting
    def reset(self) -> None:
        """Forget recorded calls and counters (faults stay)."""
        with self._lock:
            self.calls.clear()
            self.counts.clear()

    def calls_to(self, endpoint: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.endpoint == endpoint]

    def api_keys(self) -> list[str | None]:
        """The ``x-api-key`` header of every call, in order (None where absent)."""
        with self._lock:
            return [c.api_key for c in self.calls]

    def statuses(self, endpoint: str | None = None) -> list[int | None]:
        with self._lock:
            return [c.status for c in self.calls if endpoint in (None, c.endpoint)]

    # -- request handling
    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        raw_path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in h.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw_body = h.rfile.read(length) if length else b""
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body
        call = Call(h.command, raw_path, query, headers, body, self._endpoint(h.command, raw_path))
        call.at = time.monotonic()
        with self._lock:
            self.calls.append(call)
            self.counts[call.endpoint] += 1

        fault: Fault | None = None
        try:
            if self.require_api_key is not None and headers.get("x-api-key") != (
                self.require_api_key
            ):
                raise _Answer(403, ERROR_BODIES[403])
            if not self.faults._check_pacing():
                extra = {}
                if self.faults.pacing_retry_after is not None:
                    extra["Retry-After"] = str(self.faults.pacing_retry_after)
                raise _Answer(429, BODY_429, extra)
            fault = self.faults._pick(call)
            if fault is not None and fault.delay:
                self._stop.wait(fault.delay)
            if fault is not None and fault.kind == "drop":
                call.status = None
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault is not None and fault.kind == "status":
                extra = dict(fault.headers)
                if fault.retry_after is not None:
                    extra["Retry-After"] = str(fault.retry_after)
                default = ERROR_BODIES.get(fault.status, {"message": f"HTTP {fault.status}"})
                raise _Answer(
                    fault.status, fault.body if fault.body is not None else default, extra
                )
            if fault is not None and fault.kind == "malformed":
                raise _Answer(200, fault.body if fault.body is not None else MALFORMED_BODY)
            status, payload = self._route(call, raw_body)
            if fault is not None and fault.kind == "null_in_batch" and isinstance(payload, list):
                for i in fault.null_indices:
                    if -len(payload) <= i < len(payload):
                        payload[i] = None
            answer = _Answer(status, payload)
        except _Answer as exc:
            answer = exc
        except Exception as exc:  # a bug in the server: answer 500 and say what
            answer = _Answer(500, {"message": "Internal Server Error", "litkg": repr(exc)})
        self._send(h, call, answer)

    def _send(self, h: _Handler, call: Call, answer: _Answer) -> None:
        body = answer.body
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = (json.dumps(body) + "\n").encode()
        call.status = answer.status
        try:
            h.send_response(answer.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.send_header("Access-Control-Allow-Origin", "*")
            if answer.status in _AMZN_ERROR_TYPES:
                h.send_header("x-amzn-ErrorType", _AMZN_ERROR_TYPES[answer.status])
            for name, value in answer.headers.items():
                h.send_header(name, value)
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    @staticmethod
    def _endpoint(method: str, path: str) -> str:
        if path.startswith(RECOMMENDATIONS + "/"):
            return "recommendations"
        if not path.startswith(GRAPH + "/paper/"):
            return "unknown"
        rest = path[len(GRAPH + "/paper/") :]
        if method == "POST":
            return "batch" if rest == "batch" else "unknown"
        if rest == "search":
            return "search"
        if rest in ("search/match", "search/bulk"):
            return rest.split("/")[1]
        for suffix in ("references", "citations", "authors"):
            if rest.endswith("/" + suffix):
                return suffix
        return "paper" if rest else "unknown"

    def _route(self, call: Call, raw_body: bytes) -> tuple[int, Any]:
        path, q = call.path, call.query
        if call.endpoint == "batch":
            return 200, self._batch(q, raw_body)
        if call.endpoint == "recommendations":
            return 200, self._recommendations(call, raw_body)
        if call.method != "GET" or call.endpoint == "unknown":
            raise _error(404, f"No such endpoint: {call.method} {path}")
        rest = path[len(GRAPH + "/paper/") :]
        if call.endpoint == "match":
            return 200, self._match(q)
        if call.endpoint == "search":
            return 200, self._search(q)
        if call.endpoint == "bulk":
            return 200, self._bulk(q)
        if call.endpoint in ("references", "citations", "authors"):
            ident = unquote(rest[: -len(call.endpoint) - 1])
            pid = self._resolve_or_404(ident)
            if call.endpoint == "authors":
                return 200, self._authors(pid, q)
            return 200, self._edges(pid, q, call.endpoint)
        ident = unquote(rest)
        pid = self._resolve_or_404(ident)
        spec = self._fields(q.get("fields"))
        return 200, self.render.paper(pid, spec)

    # -- endpoint implementations
    def _resolve_or_404(self, ident: str) -> str:
        pid = self.world.resolve(ident)
        if pid is None:
            raise _error(404, f"Paper with id {ident} not found")
        return pid

    @staticmethod
    def _fields(raw: str | None, *, edges: bool = False) -> FieldSpec:
        try:
            return FieldSpec.parse(raw, edges=edges)
        except FieldError as exc:
            raise _error(400, str(exc)) from None

    @staticmethod
    def _int(q: dict[str, str], name: str, default: int) -> int:
        raw = q.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _error(400, f"Unacceptable query params: [{name}={raw}]") from None
        if value < 0:
            raise _error(400, f"Unacceptable query params: [{name}={raw}]")
        return value

    def _batch(self, q: dict[str, str], raw_body: bytes) -> list[dict[str, Any] | None]:
        spec = self._fields(q.get("fields"))
        try:
            body = json.loads(raw_body or b"null")
        except ValueError:
            raise _error(400, "Unacceptable JSON body: could not parse") from None
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _error(400, 'Unacceptable JSON body: expected {"ids": [<string>, ...]}')
        if len(ids) > self.batch_max:
            raise _error(400, f"Too many ids: {len(ids)}; at most {self.batch_max} per request")
        out: list[dict[str, Any] | None] = []
        for ident in ids:
            pid = self.world.resolve(ident)
            out.append(
                None
                if pid is None
                else self.render.paper(
                    pid,
                    spec,
                    nested_empty=self.empty_nested_citations,
                    references_empty=pid in self.empty_nested_references,
                )
            )
        nested = sum(
            len(rec.get(name) or ())
            for rec in out
            if rec is not None
            for name in ("citations", "references")
        )
        if nested > self.max_nested:
            raise _error(
                400,
                f"Response would exceed maximum of {self.max_nested} nested citations or "
                f"references ({nested}); request fewer ids",
            )
        if len(json.dumps(out)) > self.max_response_bytes:
            raise _error(
                400,
                f"Response would exceed maximum size of {self.max_response_bytes} bytes; "
                "request fewer ids or fields",
            )
        return out

    def _edges(self, pid: str, q: dict[str, str], direction: str) -> dict[str, Any]:
        spec = self._fields(q.get("fields"), edges=True)
        offset = self._int(q, "offset", 0)
        limit = self._int(q, "limit", 100)
        if limit > 1000:
            raise _error(400, "Limit must be <= 1000")
        if direction == "citations":
            edges = self.world.citations(pid)[: self.citation_cap]
            spec_dates = q.get("publicationDateOrYear")
            if spec_dates:
                dates = _date_range(spec_dates)
                if dates is None:
                    raise _error(
                        400, f"Unacceptable query params: [publicationDateOrYear={spec_dates}]"
                    )
                edges = [
                    e
                    for e in edges
                    if dates[0] <= _date_key(self.world.papers[e["citingPaperId"]]) <= dates[1]
                ]
        else:
            edges = self.world.references(pid)
        page = edges[offset : offset + limit]
        out: dict[str, Any] = {"offset": offset}
        if offset + limit < len(edges):
            out["next"] = offset + limit
        out["data"] = [self.render.edge(e, spec, direction) for e in page]
        return out

    def _authors(self, pid: str, q: dict[str, str]) -> dict[str, Any]:
        raw = [n.strip() for n in (q.get("fields") or "").split(",") if n.strip()]
        bad = [n for n in raw if n not in AUTHOR_FIELDS]
        if bad:
            raise _error(400, str(FieldError(bad)))
        offset = self._int(q, "offset", 0)
        limit = self._int(q, "limit", 100)
        if limit > 1000:
            raise _error(400, "Limit must be <= 1000")
        authors = self.world.papers[pid].get("authors") or []
        out: dict[str, Any] = {"offset": offset}
        if offset + limit < len(authors):
            out["next"] = offset + limit
        out["data"] = [self.render.author(a, raw or None) for a in authors[offset : offset + limit]]
        return out

    def _match(self, q: dict[str, str]) -> dict[str, Any]:
        query = q.get("query", "")
        if not query.strip():
            raise _error(400, "Missing required parameter: 'query'")
        spec = self._fields(q.get("fields"))
        best = self.world.match_title(query)
        if best is None or best[1] < self.match_threshold:
            raise _error(404, "Title match not found")
        pid, sim = best
        idf = sum(self.world.title_idf(t) for t in set(content_tokens(query)))
        paper = self.render.paper(pid, spec)
        paper["matchScore"] = round(10.0 * sim * max(idf, 1.0), 5)
        return {"data": [paper]}

    def _filtered(self, q: dict[str, str], pids: Iterable[str]) -> list[str]:
        years = _year_range(q.get("year"))
        fos = {f.strip().lower() for f in (q.get("fieldsOfStudy") or "").split(",") if f.strip()}
        min_cit = self._int(q, "minCitationCount", 0)
        venues = {v.strip().lower() for v in (q.get("venue") or "").split(",") if v.strip()}
        out = []
        for pid in pids:
            rec = self.world.papers[pid]
            if years and not (years[0] <= (rec.get("year") or 0) <= years[1]):
                continue
            if fos:
                have = {f.lower() for f in rec.get("fieldsOfStudy") or []}
                have |= {f["category"].lower() for f in rec.get("s2FieldsOfStudy") or []}
                if not fos & have:
                    continue
            if venues and (rec.get("venue") or "").lower() not in venues:
                continue
            if min_cit and self.world.counts(pid)["citationCount"] < min_cit:
                continue
            out.append(pid)
        return out

    def _search(self, q: dict[str, str]) -> dict[str, Any]:
        query = q.get("query", "")
        if not query.strip():
            raise _error(400, "Missing required parameter: 'query'")
        spec = self._fields(q.get("fields"))
        offset = self._int(q, "offset", 0)
        limit = self._int(q, "limit", 100)
        if limit > 100:
            raise _error(400, "Limit must be <= 100")
        if offset + limit > 1000:
            raise _error(400, "Requested data for this limit and/or offset is not available")
        hits = self._filtered(q, (pid for pid, _ in self.world.search(query)))
        out: dict[str, Any] = {"total": len(hits), "offset": offset}
        if offset + limit < min(len(hits), 1000):
            out["next"] = offset + limit
        out["data"] = [self.render.paper(pid, spec) for pid in hits[offset : offset + limit]]
        return out

    def _bulk(self, q: dict[str, str]) -> dict[str, Any]:
        spec = self._fields(q.get("fields"))
        query = q.get("query", "")
        pids = (
            [pid for pid, _ in self.world.search(query)]
            if content_tokens(query)
            else list(self.world.papers)
        )
        pids = self._filtered(q, pids)
        sort = q.get("sort") or "paperId:asc"
        key, _, order = sort.partition(":")
        if key not in ("paperId", "publicationDate", "citationCount"):
            raise _error(400, f"Unacceptable query params: [sort={sort}]")

        def sort_key(pid: str) -> Any:
            if key == "citationCount":
                return (self.world.counts(pid)["citationCount"], pid)
            if key == "publicationDate":
                rec = self.world.papers[pid]
                return (rec.get("publicationDate") or str(rec.get("year") or ""), pid)
            return pid

        pids.sort(key=sort_key, reverse=order == "desc")
        token = q.get("token")
        try:
            offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        except ValueError:
            raise _error(400, f"Unacceptable query params: [token={token}]") from None
        page = pids[offset : offset + 1000]
        out: dict[str, Any] = {"total": len(pids)}
        if offset + 1000 < len(pids):
            out["token"] = base64.urlsafe_b64encode(str(offset + 1000).encode()).decode()
        out["data"] = [self.render.paper(pid, spec) for pid in page]
        return out

    def _recommendations(self, call: Call, raw_body: bytes) -> dict[str, Any]:
        q = call.query
        spec = self._fields(q.get("fields"))
        limit = self._int(q, "limit", 100)
        if limit > 500:
            raise _error(400, "Limit must be <= 500")
        rest = call.path[len(RECOMMENDATIONS) :]
        if call.method == "GET" and rest.startswith("/papers/forpaper/"):
            positives = [self._resolve_or_404(unquote(rest[len("/papers/forpaper/") :]))]
            negatives: list[str] = []
        elif call.method == "POST" and rest.rstrip("/") == "/papers":
            try:
                body = json.loads(raw_body or b"{}")
            except ValueError:
                raise _error(400, "Unacceptable JSON body: could not parse") from None
            if not isinstance(body, dict):
                raise _error(400, "Unacceptable JSON body")
            resolved = {
                key: [p for p in map(self.world.resolve, body.get(key) or []) if p]
                for key in ("positivePaperIds", "negativePaperIds")
            }
            positives, negatives = resolved["positivePaperIds"], resolved["negativePaperIds"]
        else:
            raise _error(404, f"No such endpoint: {call.method} {call.path}")
        ranked = self.world.similar(positives, negatives)
        if q.get("from", "recent") == "recent" and self.world.papers:
            newest = max((r.get("year") or 0) for r in self.world.papers.values())
            recent = [p for p in ranked if (self.world.papers[p].get("year") or 0) >= newest - 1]
            ranked = recent or ranked
        return {"recommendedPapers": [self.render.paper(p, spec) for p in ranked[:limit]]}


__all__ = [
    "AUTHOR_FIELDS",
    "EDGE_FIELDS",
    "ENDPOINTS",
    "GRAPH",
    "PAPER_FIELDS",
    "Call",
    "Fault",
    "Faults",
    "FieldError",
    "FieldSpec",
    "S2Server",
    "World",
    "content_tokens",
    "hex_id",
    "normalize_arxiv",
    "normalize_title",
    "title_similarity",
    "tokens",
]
