"""Alerts (``litkg watch``): rank new papers citing a reading list, remember what was
shown, write an Atom feed.

The fetching is :mod:`ingest.watch` (one S2 citations call per watched paper); this
module takes what it found as :class:`NewPaper` objects and needs no network:

* :func:`rank_new` scores papers that are NOT in the graph with the recommender's
  evidence for outside papers: how many papers of the list each one cites (the ``cites``
  signal) and its text similarity to the list (the ``text`` signal: the graph's embedder
  on title + abstract, the cosine to the list's mean vector), fused with the graph's
  weights for those two signals; each item says why in words ("cites 3 papers of your
  list: Vaswani et al. 2017, ...");
* :class:`WatchState` (``<data dir>/watch/state.json``, written atomically) remembers
  every paper shown and when each list was last watched, so the next run lists only
  new ones, and keeps the last runs for the app's "What's new" page;
* :func:`atom_feed` writes those items as an Atom 1.0 feed (standard library XML; text
  from S2 is escaped by the serialiser and stripped of characters XML cannot hold; only
  http(s) links).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.core.alerts import (
    NewPaper,
)
from kg.core.errors import WatchError
from kg.core.fileio import atomic_write_bytes, atomic_write_text
from kg.recommend.fusion import resolve_weights
from kg.recommend.index import short_label
from kg.text.embed import EmbeddingCache, embed_cached, paper_text

if TYPE_CHECKING:
    from kg.core.settings import Settings
    from kg.graph.knowledge import KnowledgeGraph
    from kg.text.embed import Embedder

STATE_FORMAT = "litkg-watch/1"
#: Runs kept in the state for the "What's new" page and the feed.
KEEP_RUNS = 20
ATOM_NS = "http://www.w3.org/2005/Atom"

#: Characters XML 1.0 cannot hold (an S2 title with a stray control character would
#: otherwise make the whole feed unreadable).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_HEX40 = re.compile(r"[0-9a-f]{40}")


# --------------------------------------------------------------------------- boundary types
@dataclass(frozen=True)
class WatchItem:
    """One alert: a new paper, its score (0..1) and the reasons, as shown and stored.
    ``shown_at``: when it was first shown (ISO 8601, UTC)."""

    paper_id: str
    title: str
    year: int | None
    publication_date: str | None
    venue: str | None
    authors: tuple[str, ...]
    url: str | None
    score: float
    reasons: tuple[str, ...]
    cites: tuple[str, ...]
    shown_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["authors"] = list(self.authors)
        data["reasons"] = list(self.reasons)
        data["cites"] = list(self.cites)
        return data

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WatchItem:
        year = d.get("year")
        return cls(
            paper_id=str(d["paper_id"]),
            title=str(d.get("title") or ""),
            year=int(year) if isinstance(year, int) else None,
            publication_date=_opt_str(d.get("publication_date")),
            venue=_opt_str(d.get("venue")),
            authors=tuple(str(a) for a in d.get("authors") or ()),
            url=_opt_str(d.get("url")),
            score=float(d.get("score") or 0.0),
            reasons=tuple(str(r) for r in d.get("reasons") or ()),
            cites=tuple(str(c) for c in d.get("cites") or ()),
            shown_at=str(d.get("shown_at") or ""),
        )


@dataclass(frozen=True)
class WatchRun:
    """One run of ``litkg watch``: what it watched, from when, and the new items it showed."""

    at: str
    target: str
    since: str
    watched: int
    found: int
    items: tuple[WatchItem, ...]
    s2_requests: int = 0
    cache_hits: int = 0
    truncated: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "target": self.target,
            "since": self.since,
            "watched": self.watched,
            "found": self.found,
            "s2_requests": self.s2_requests,
            "cache_hits": self.cache_hits,
            "truncated": list(self.truncated),
            "items": [item.as_dict() for item in self.items],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WatchRun:
        return cls(
            at=str(d.get("at") or ""),
            target=str(d.get("target") or ""),
            since=str(d.get("since") or ""),
            watched=int(d.get("watched") or 0),
            found=int(d.get("found") or 0),
            items=tuple(WatchItem.from_dict(i) for i in d.get("items") or ()),
            s2_requests=int(d.get("s2_requests") or 0),
            cache_hits=int(d.get("cache_hits") or 0),
            truncated=tuple(str(t) for t in d.get("truncated") or ()),
        )


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


# --------------------------------------------------------------------------- ranking
def _label(kg: KnowledgeGraph, pid: str) -> str:
    return short_label(kg.papers.get(pid), fallback=pid[:8])


def _names(labels: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(labels[:limit])
    more = len(labels) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def rank_new(
    kg: KnowledgeGraph,
    read: Sequence[str],
    new: Sequence[NewPaper],
    *,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    list_label: str = "your list",
) -> list[WatchItem]:
    """``new`` ranked best first, each with a score in 0..1 and its reasons.

    The evidence of the recommender that exists for a paper outside the graph: ``cites``
    (how many papers of ``read`` it cites, scaled by the most any new paper cites) and
    ``text`` (the cosine of its title + abstract to the mean vector of ``read``'s papers
    in the graph, by the graph's embedder; 0 without an embedder or vectors), fused with
    the graph's weights for those two signals (:func:`kg.recommend.fusion.resolve_weights`).
    ``cache_dir``: keep the new papers' vectors in the embedding cache there (the graph
    dir), so a rerun embeds only papers it has not seen.
    """
    if not new:
        return []
    weights = resolve_weights(kg.weights, None, with_s2=False)
    w_cites, w_text = weights.get("cites", 0.0), weights.get("text", 0.0)
    if w_cites + w_text <= 0:
        w_cites = w_text = 1.0
    counts = np.array([len(set(p.cites)) for p in new], dtype=np.float64)
    cites_scaled = counts / max(float(counts.max()), 1.0)
    text, nearest = _text_similarity(kg, read, new, embedder, cache_dir)
    text_scaled = np.clip(text, 0.0, None)
    if text_scaled.max() > 0:
        text_scaled = text_scaled / text_scaled.max()
    score = (w_cites * cites_scaled + w_text * text_scaled) / (w_cites + w_text)
    order = sorted(range(len(new)), key=lambda i: (-score[i], -counts[i], new[i].paper.title))
    items = []
    for i in order:
        p = new[i]
        cited = list(dict.fromkeys(p.cites))
        reasons = [
            f"cites {len(cited)} paper{'s' if len(cited) != 1 else ''} of {list_label}: "
            + _names([_label(kg, c) for c in cited])
        ]
        if text[i] > 0 and nearest[i] is not None:
            reasons.append(
                f"close in text to {list_label} (cosine {text[i]:.2f}), most to "
                f"{_label(kg, str(nearest[i]))}"
            )
        items.append(
            WatchItem(
                paper_id=p.paper.paper_id,
                title=p.paper.title,
                year=p.paper.year,
                publication_date=p.paper.publication_date,
                venue=p.paper.venue or p.paper.journal,
                authors=tuple(a.name for a in p.paper.authors),
                url=safe_link(p.paper.url) or s2_link(p.paper.paper_id),
                score=round(float(score[i]), 4),
                reasons=tuple(reasons),
                cites=tuple(cited),
            )
        )
    return items


def _text_similarity(
    kg: KnowledgeGraph,
    read: Sequence[str],
    new: Sequence[NewPaper],
    embedder: Embedder | None,
    cache_dir: Path | None = None,
) -> tuple[np.ndarray, list[str | None]]:
    """Each new paper's cosine to the mean vector of ``read`` (0 where unknown), and the
    read paper it is closest to."""
    zeros = np.zeros(len(new))
    nearest: list[str | None] = [None] * len(new)
    rows = [(pid, kg.row[pid]) for pid in dict.fromkeys(read) if pid in kg.row]
    vectors = np.asarray(kg.embeddings, dtype=np.float32)
    if embedder is None or not rows or vectors.ndim != 2 or vectors.shape[1] != embedder.dim:
        return zeros, nearest
    mine = vectors[[r for _, r in rows]]
    centre = mine.sum(axis=0)
    norm = float(np.linalg.norm(centre))
    if norm == 0:
        return zeros, nearest
    centre = centre / norm
    texts = [paper_text(p.paper.title, p.paper.abstract)[0] for p in new]
    if cache_dir is not None:
        with EmbeddingCache(cache_dir) as cache:
            emb = embed_cached(embedder, texts, cache, progress=False)
    else:
        emb = np.asarray(embedder.embed(texts), dtype=np.float32)
    cos = emb @ centre
    each = emb @ mine.T
    for i in range(len(new)):
        nearest[i] = rows[int(np.argmax(each[i]))][0]
    return cos.astype(np.float64), nearest


# --------------------------------------------------------------------------- links
def safe_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) link, else None (a feed reader would follow any)."""
    if url and re.match(r"https?://[^\s<>\"]+$", url.strip(), re.IGNORECASE):
        return url.strip()
    return None


def s2_link(paper_id: str) -> str | None:
    """The paper's Semantic Scholar page (S2 ids only)."""
    return (
        f"https://www.semanticscholar.org/paper/{paper_id}" if _HEX40.fullmatch(paper_id) else None
    )


# --------------------------------------------------------------------------- state
def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class WatchState:
    """What ``litkg watch`` remembers in ``<data dir>/watch/state.json``: every paper it
    showed (id -> when first shown), each target's last run, the last :data:`KEEP_RUNS`
    runs (newest first)."""

    path: Path
    shown: dict[str, str] = field(default_factory=dict)
    last_run: dict[str, str] = field(default_factory=dict)
    runs: list[WatchRun] = field(default_factory=list)

    @staticmethod
    def path_for(settings: Settings) -> Path:
        return settings.data_dir / "watch" / "state.json"

    @classmethod
    def load(cls, settings: Settings) -> WatchState:
        path = cls.path_for(settings)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise WatchError(
                f"The watch state {path} is unreadable ({exc}). It only remembers which "
                f"papers `litkg watch` showed: delete it and the next run lists them again."
            ) from exc
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            raise WatchError(
                f"The watch state {path} is not a {STATE_FORMAT} file: delete it and the "
                f"next `litkg watch` starts afresh."
            )
        try:
            return cls(
                path,
                shown={str(k): str(v) for k, v in (doc.get("shown") or {}).items()},
                last_run={str(k): str(v) for k, v in (doc.get("last_run") or {}).items()},
                runs=[WatchRun.from_dict(r) for r in doc.get("runs") or ()],
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise WatchError(
                f"The watch state {path} is damaged ({exc}): delete it and the next "
                f"`litkg watch` starts afresh."
            ) from exc

    def record(self, run: WatchRun) -> WatchRun:
        """Add ``run`` (its items stamped as shown now) and save the state atomically."""
        stamped = tuple(
            WatchItem(**{**asdict(i), "shown_at": i.shown_at or run.at}) for i in run.items
        )
        run = WatchRun(**{**asdict(run), "items": stamped})
        for item in stamped:
            self.shown.setdefault(item.paper_id, item.shown_at)
        self.last_run[run.target] = run.at
        self.runs = [run, *self.runs][:KEEP_RUNS]
        self.save()
        return run

    def save(self) -> None:
        doc = {
            "format": STATE_FORMAT,
            "shown": self.shown,
            "last_run": self.last_run,
            "runs": [r.as_dict() for r in self.runs],
        }
        atomic_write_text(self.path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")

    def recent_items(self, limit: int = 100) -> list[WatchItem]:
        """The items of the kept runs, newest run first (each paper once)."""
        seen: set[str] = set()
        out = []
        for run in self.runs:
            for item in run.items:
                if item.paper_id not in seen:
                    seen.add(item.paper_id)
                    out.append(item)
        return out[:limit]


def new_run_stamp() -> str:
    """Now, as a run's ``at`` (ISO 8601, UTC, seconds)."""
    return _now_iso()


# --------------------------------------------------------------------------- atom
def _xml_text(value: object) -> str:
    return _NOT_XML.sub("", "" if value is None else str(value))


def atom_feed(
    items: Iterable[WatchItem], *, title: str, feed_id: str, updated: str | None = None
) -> bytes:
    """An Atom 1.0 feed of ``items``: one entry per paper with its id (``urn:litkg:paper:
    <id>``), title, http(s) link, authors, updated (when it was first shown) and the
    reasons as the summary."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: object = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = _xml_text(text)
        return el

    entries = list(items)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "title", title)
    sub(feed, "id", feed_id)
    stamps = [i.shown_at for i in entries if i.shown_at]
    sub(feed, "updated", updated or max(stamps, default="") or _now_iso())
    sub(feed, "generator", "litkg watch")
    author = sub(feed, "author")
    sub(author, "name", "litkg")
    for item in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:litkg:paper:{item.paper_id}")
        year = f" ({item.year})" if item.year else ""
        sub(entry, "title", f"{item.title}{year}")
        link = safe_link(item.url) or s2_link(item.paper_id)
        if link:
            sub(entry, "link", href=link, rel="alternate")
        sub(entry, "updated", item.shown_at or _now_iso())
        if item.publication_date:
            sub(entry, "published", f"{item.publication_date}T00:00:00Z")
        for name in item.authors[:10]:
            sub(sub(entry, "author"), "name", name)
        summary = "; ".join(item.reasons)
        if item.venue:
            summary = f"{item.venue}. {summary}" if summary else item.venue
        sub(entry, "summary", summary, type="text")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def write_atom(path: Path, items: Iterable[WatchItem], *, title: str, feed_id: str) -> Path:
    """:func:`atom_feed` written atomically to ``path``."""
    atomic_write_bytes(Path(path), atom_feed(items, title=title, feed_id=feed_id))
    return Path(path)


__all__ = [
    "NewPaper",
    "WatchItem",
    "WatchRun",
    "WatchState",
    "atom_feed",
    "rank_new",
    "s2_link",
    "safe_link",
    "write_atom",
]
