"""Three topic schemes over the corpus, with scored memberships.

* ``curated``: the seed list's own sections. A seed row's ``section_path`` such as
  ``("Papers", "Induction Heads")`` gives one concept per prefix
  (``curated/papers``, ``curated/papers/induction-heads``, each ``broader`` its
  parent); a listed paper belongs, with score 1.0, to its deepest section.
* ``discovered``: a two-level hierarchy found in precomputed embeddings (an
  ``(n, d)`` array aligned with ``n`` paper ids; nothing here runs a model).
  Spherical k-means (k-means++ seeding, deterministic for a given ``seed``) on the
  L2-normalised vectors makes ``k1`` coarse topics, and each coarse topic with
  enough papers is split again into ``k2`` sub-topics; ``k1`` and ``k2`` follow
  the data size unless given (:func:`coarse_k`, :func:`fine_k`). Each topic is
  labelled by its most distinctive words and bigrams (stop words removed): BERTopic's
  class-based TF-IDF over titles and abstracts (a term's share of the topic's words
  times ``log(1 + mean words per topic / the term's count over all topics)``), times
  ``log(1 + max(0, lift - 1))`` of the term's lift in the topic, so that words every
  topic uses do not crowd the labels (see :func:`ctfidf`). Coarse topics are
  contrasted with each other, sub-topics with their siblings. A paper's score in a
  topic is a softmax over its cosine to the topic centroids (temperature
  ``temperature``); it keeps its own cluster and up to ``max_topics`` others
  scoring at least ``min_score``. Sub-topic scores are the softmax among the
  siblings under the paper's coarse topic.
* ``s2-fields``: Semantic Scholar's fields of study (``Paper.fields_of_study``).

Updates: given the previous model (``previous=``), the discovered topics are updated
rather than found afresh, so that their ids keep their meaning across small corpus
changes. Each previous topic's centroid is recomputed as the mean of the current vectors
of its papers still present (a paper's primary topic: its highest-scoring membership on
that level), and one k-means run starts from these centroids: no k-means++ restarts and
no renumbering by size, so a continuing topic keeps its id; a topic left without papers
is retired (its id is listed in ``params["retired"]`` and later updates do not hand it
out again). Sub-topics are updated the same way under each coarse topic. A topic whose papers
overlap its previous ones by a Jaccard index of at least ``KEEP_LABEL`` keeps its label
and keywords (and the texts are not even split when no topic needs new ones). The
clustering starts afresh when there is no previous discovered scheme, when more than
``MAX_CHANGE`` of the previous papers were added or removed, when the embeddings
changed dimension, or when the number of topics asked for changes: an explicit ``k1``,
or the automatic one once the size moved more than 0.75 past the previous k (a rounding
boundary plus a margin, so that k does not flip back and forth at the boundary). When
one coarse topic's number of sub-topics changes (by the same rule), or not all of its
sub-topics have papers left, only its sub-topics are found afresh, under new ids. An
update of an unchanged corpus changes nothing. Updates are deterministic and need
nothing beyond the saved JSON (format unchanged: centroids are not stored).

Curated and discovered topics that share papers are linked
(``skos:related``-style) by :func:`link_topics`. Everything ends in a
:class:`TopicModel`, saved as JSON under ``settings.graph_dir``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from kg.core.errors import KGError
from kg.core.fileio import atomic_write_text
from kg.core.model import Paper, Topic, TopicMembership, canonical_map
from kg.store.corpus import DUPLICATE, OFFLINE, RESOLVED, SeedRow

CURATED = "curated"
DISCOVERED = "discovered"
S2_FIELDS = "s2-fields"

#: File name of the saved model under ``settings.graph_dir``.
TOPICS_FILE = "topics.json"

_FORMAT = "litkg.topics"
_VERSION = 1
_SEED_STATUSES = frozenset({RESOLVED, DUPLICATE, OFFLINE})

#: An update clusters afresh when more than this share of the previous model's papers
#: were added or removed (see :func:`discover_topics`).
MAX_CHANGE = 0.2
#: A continuing topic keeps its label and keywords while its papers overlap the
#: previous ones by at least this Jaccard index.
KEEP_LABEL = 0.8


class TopicError(KGError):
    """Topics cannot be built or read (bad embeddings, a corrupt or foreign topics file)."""


# --------------------------------------------------------------------------- the model
@dataclass
class TopicModel:
    """Topics of all schemes, memberships, curated<->discovered links, keyword weights.

    ``links`` are ``(curated_id, discovered_id, score)``: the share of the curated
    topic's papers (those with an embedding) that fall in the discovered topic.
    ``keywords`` maps a discovered topic id to ``(term, c-TF-IDF weight)``, best first.
    ``params`` records how the model was made (k, seed, sizes).
    """

    topics: list[Topic] = field(default_factory=list)
    memberships: list[TopicMembership] = field(default_factory=list)
    links: list[tuple[str, str, float]] = field(default_factory=list)
    keywords: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.topic_id == topic_id), None)

    def in_scheme(self, scheme: str) -> list[Topic]:
        return [t for t in self.topics if t.scheme == scheme]

    def narrower(self, topic_id: str) -> list[Topic]:
        return [t for t in self.topics if t.broader == topic_id]

    def members(self, topic_id: str) -> dict[str, float]:
        """Paper id -> score, highest first."""
        found = {m.paper_id: m.score for m in self.memberships if m.topic_id == topic_id}
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    def topics_of(self, paper_id: str) -> dict[str, float]:
        """Topic id -> score for one paper, highest first."""
        found = {m.topic_id: m.score for m in self.memberships if m.paper_id == paper_id}
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    def merged(self, other: TopicModel) -> TopicModel:
        """This model plus ``other`` (other's topics with the same id win)."""
        ids = {t.topic_id for t in other.topics}
        return TopicModel(
            topics=[t for t in self.topics if t.topic_id not in ids] + list(other.topics),
            memberships=[*self.memberships, *other.memberships],
            links=[*self.links, *other.links],
            keywords={**self.keywords, **other.keywords},
            params={**self.params, **other.params},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "params": self.params,
            "topics": [
                {
                    "id": t.topic_id,
                    "label": t.label,
                    "scheme": t.scheme,
                    "broader": t.broader,
                    "keywords": list(t.keywords),
                }
                for t in self.topics
            ],
            "memberships": [[m.paper_id, m.topic_id, m.score] for m in self.memberships],
            "links": [list(link) for link in self.links],
            "keywords": {k: [[t, w] for t, w in v] for k, v in self.keywords.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TopicModel:
        if data.get("format") != _FORMAT:
            raise TopicError("not a litkg topics file; rebuild it with `litkg build`")
        if int(data.get("version", 0)) > _VERSION:
            raise TopicError(
                f"topics file version {data.get('version')} is newer than this litkg reads "
                f"({_VERSION}); upgrade litkg or rebuild with `litkg build`"
            )
        try:
            return cls(
                topics=[
                    Topic(
                        topic_id=str(t["id"]),
                        label=str(t["label"]),
                        scheme=str(t["scheme"]),
                        broader=t.get("broader"),
                        keywords=tuple(t.get("keywords") or ()),
                    )
                    for t in data["topics"]
                ],
                memberships=[TopicMembership(p, t, float(s)) for p, t, s in data["memberships"]],
                links=[(str(a), str(b), float(s)) for a, b, s in data.get("links", [])],
                keywords={
                    k: [(str(t), float(w)) for t, w in v]
                    for k, v in data.get("keywords", {}).items()
                },
                params=dict(data.get("params") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TopicError(
                f"topics file is malformed ({exc}); rebuild with `litkg build`"
            ) from exc

    def save(self, path: Path) -> Path:
        """Write JSON atomically (a temporary file renamed over ``path``)."""
        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False, allow_nan=False))
        return path

    @classmethod
    def load(cls, path: Path) -> TopicModel:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TopicError(f"No topics at {path}; run `litkg build` first.") from None
        except (OSError, ValueError) as exc:
            raise TopicError(f"Cannot read topics from {path} ({exc}); rebuild them.") from exc
        return cls.from_json(data)


# --------------------------------------------------------------------------- helpers
#: Letters that NFKD does not take apart, spelled out in ASCII.
_SPELLED = str.maketrans(
    {
        "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH",
        "ı": "i", "ȷ": "j", "ŋ": "ng", "Ŋ": "NG", "ħ": "h", "Ħ": "H",
    }
)  # fmt: skip


def slugify(text: str) -> str:
    """ASCII, lowercase, hyphen-separated (``"Induction Heads"`` -> ``induction-heads``).

    The same label gives the same slug in every process and on every machine (slugs
    are parts of topic IRIs). Accented letters lose their accents (NFKD, combining
    marks dropped: ``Überblick`` -> ``uberblick``) and a few letters are spelled out
    (``ß`` -> ``ss``, ``ø`` -> ``o``). Letters and digits that have no ASCII spelling
    (``注意力``, ``α``) are replaced by a digest of the label: ``x`` and the first 8 hex
    digits of the SHA-256 of its NFC, case-folded, whitespace-collapsed text, on its
    own (``注意力`` -> ``x105a8b5a``) or after the ASCII that is left
    (``Attention 注意力`` -> ``attention-x2d491320``), so that such labels do not share
    a slug.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED)).translate(_SPELLED)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_text = kept.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if slug and not any(ch.isalnum() and not ch.isascii() for ch in kept):
        return slug
    label = unicodedata.normalize("NFC", " ".join(text.split())).casefold()
    digest = "x" + hashlib.sha256(label.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else digest


def _canon(same_as: Mapping[str, str] | None) -> Mapping[str, str]:
    if not same_as:
        return {}
    return canonical_map(same_as)


def _dedupe(memberships: Iterable[TopicMembership]) -> list[TopicMembership]:
    """One membership per (paper, topic), the highest score, in first-seen order."""
    best: dict[tuple[str, str], TopicMembership] = {}
    for m in memberships:
        key = (m.paper_id, m.topic_id)
        if key not in best or m.score > best[key].score:
            best[key] = m
    return list(best.values())


# --------------------------------------------------------------------------- curated
def curated_scheme(
    seeds: Iterable[SeedRow], *, same_as: Mapping[str, str] | None = None
) -> tuple[list[Topic], list[TopicMembership]]:
    """Concepts from the seed list's section paths; listed papers in their deepest section.

    Seeds outside any section (``section_path == ()``), unresolved ones and
    low-confidence matches belong to no curated topic.
    """
    canon = _canon(same_as)
    topics: dict[str, Topic] = {}
    members: list[TopicMembership] = []
    for row in seeds:
        parent: str | None = None
        for depth in range(1, len(row.section_path) + 1):
            path = row.section_path[:depth]
            tid = CURATED + "/" + "/".join(slugify(s) for s in path)
            if tid not in topics:
                topics[tid] = Topic(tid, path[-1].strip(), CURATED, broader=parent)
            parent = tid
        if parent is not None and row.paper_id and row.status in _SEED_STATUSES:
            pid = canon.get(row.paper_id, row.paper_id)
            members.append(TopicMembership(pid, parent, 1.0))
    return list(topics.values()), _dedupe(members)


# --------------------------------------------------------------------------- S2 fields
def s2_fields_scheme(
    papers: Iterable[Paper], *, same_as: Mapping[str, str] | None = None
) -> tuple[list[Topic], list[TopicMembership]]:
    """Semantic Scholar's fields of study as a flat scheme (score 1.0 per listed field)."""
    canon = _canon(same_as)
    topics: dict[str, Topic] = {}
    members: list[TopicMembership] = []
    for p in papers:
        pid = canon.get(p.paper_id, p.paper_id)
        for name in p.fields_of_study:
            tid = f"{S2_FIELDS}/{slugify(name)}"
            topics.setdefault(tid, Topic(tid, name, S2_FIELDS))
            members.append(TopicMembership(pid, tid, 1.0))
    return sorted(topics.values(), key=lambda t: t.topic_id), _dedupe(members)


# --------------------------------------------------------------------------- clustering
def coarse_k(n: int) -> int:
    """Coarse topics for ``n`` papers: ``round(sqrt(n / 50))`` within 2..20 (1 below 8)."""
    if n < 8:
        return 1
    return int(min(20, max(2, round(math.sqrt(n / 50)))))


def fine_k(n: int) -> int:
    """Sub-topics of a coarse topic of ``n`` papers: ``round(sqrt(n / 25))`` within 1..8
    (1 means the topic is not split)."""
    if n < 20:
        return 1
    return int(min(8, max(1, round(math.sqrt(n / 25)))))


def normalise_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.where(norms > 0, norms, 1.0))


def spherical_kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """k-means on the unit sphere (cosine similarity), k-means++ seeding, best of
    ``n_init`` runs. ``x`` must have unit rows. Returns ``(labels, centroids)`` with
    clusters numbered by size (largest first), centroids unit-length. Deterministic."""
    n = x.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, x.shape[1]))
    k = max(1, min(k, n))
    x = np.asarray(x, dtype=np.float32)  # the similarity products dominate: float32 halves them
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(n_init):
        centroids = _kmeanspp(x, k, rng)
        labels = np.full(n, -1)
        for _ in range(max_iter):
            sims = x @ centroids.T
            new_labels = sims.argmax(axis=1)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
            centroids = _centroids(x, labels, k)
            empty = np.flatnonzero(np.linalg.norm(centroids, axis=1) == 0)
            if empty.size:  # re-seed an empty cluster at the worst-served points
                worst = np.argsort(sims[np.arange(n), labels], kind="stable")[: empty.size]
                centroids[empty] = x[worst]
        objective = float((x @ centroids.T)[np.arange(n), labels].sum())
        if best is None or objective > best[0] + 1e-9:
            best = (objective, labels, centroids)
    assert best is not None
    _, labels, centroids = best
    sizes = np.bincount(labels, minlength=k)
    first = np.array([np.flatnonzero(labels == c)[0] if sizes[c] else n for c in range(k)])
    order = np.lexsort((first, -sizes))
    order = order[sizes[order] > 0]
    remap = np.full(k, -1)
    remap[order] = np.arange(order.size)
    return remap[labels], centroids[order]


def _kmeanspp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    n = x.shape[0]
    chosen = [int(rng.integers(n))]
    dist = np.maximum(0.0, 1.0 - x @ x[chosen[0]])  # half the squared Euclidean distance
    for _ in range(1, k):
        total = dist.sum()
        nxt = int(rng.choice(n, p=dist / total)) if total > 0 else int(rng.integers(n))
        chosen.append(nxt)
        dist = np.minimum(dist, np.maximum(0.0, 1.0 - x @ x[nxt]))
    return np.array(x[chosen], dtype=x.dtype)


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    n = x.shape[0]
    m = sp.csr_matrix((np.ones(n, dtype=x.dtype), (labels, np.arange(n))), shape=(k, n))
    return normalise_rows(np.asarray(m @ x)).astype(x.dtype)


def _softmax(sims: np.ndarray, temperature: float) -> np.ndarray:
    z = sims / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


# --------------------------------------------------------------------------- keywords
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


# --------------------------------------------------------------------------- discovery
@dataclass
class DiscoveredTopics:
    """The discovered scheme and the hard assignment behind it (aligned with ``ids``)."""

    topics: list[Topic]
    memberships: list[TopicMembership]
    keywords: dict[str, list[tuple[str, float]]]
    ids: list[str]
    coarse: np.ndarray
    fine: np.ndarray  # index into ``fine_ids``; -1 where the coarse topic was not split
    fine_ids: list[str]
    params: dict[str, Any]

    def coarse_ids(self) -> list[str]:
        return [t.topic_id for t in self.topics if t.broader is None]


def paper_text(p: Paper) -> str:
    """What the keywords are drawn from: title and abstract (or TLDR)."""
    return ". ".join(s for s in (p.title, p.abstract or p.tldr or "") if s)


def discover_topics(
    ids: Sequence[str],
    embeddings: np.ndarray,
    texts: Sequence[str],
    *,
    k1: int | None = None,
    k2: int | None = None,
    seed: int = 0,
    temperature: float = 0.05,
    min_score: float = 0.2,
    max_topics: int = 3,
    n_keywords: int = 10,
    n_init: int = 4,
    previous: TopicModel | None = None,
    max_change: float = MAX_CHANGE,
    keep_label: float = KEEP_LABEL,
) -> DiscoveredTopics:
    """Two-level topics from precomputed embeddings (rows aligned with ``ids``) and
    the papers' texts (for keywords). See the module docstring for the method.

    With ``previous`` (the last model, whose discovered topics are updated rather than
    replaced) the clustering is warm-started, see "Updates" in the module docstring (it
    matches papers by id: ``ids`` should be unique, as :func:`build_topic_model` makes them);
    ``max_change`` and ``keep_label`` are its two thresholds. ``params["warm_start"]``
    says which way the topics were made, ``params["fresh_reason"]`` why not warm."""
    x = np.asarray(embeddings)
    if x.ndim != 2 or x.shape[0] != len(ids) or len(texts) != len(ids):
        raise TopicError(
            f"embeddings must be an (n, d) array aligned with the ids and texts: got shape "
            f"{x.shape} for {len(ids)} ids and {len(texts)} texts"
        )
    if not np.isfinite(x).all():
        raise TopicError("embeddings contain NaN or infinity; recompute them (`litkg build`)")
    if not temperature > 0:
        raise TopicError(f"temperature must be > 0, got {temperature}")
    keep = np.flatnonzero(np.linalg.norm(x, axis=1) > 0)  # zero vectors: nothing to place
    ids = [ids[i] for i in keep.tolist()]
    texts = [texts[i] for i in keep.tolist()]
    x = normalise_rows(x[keep])
    n = len(ids)
    dim = int(x.shape[1])
    prior = _Prior.of(previous) if previous is not None else None
    plan = _plan(prior, ids, dim, k1, max_change)
    retired: list[str] = []

    # coarse level: the previous topics moved to the current papers, or a fresh clustering
    warm = None
    if prior is not None and plan.fresh_reason is None:
        warm = _warm_kmeans(x, ids, prior.coarse_of, prior.coarse_ids)
        if warm is None:
            plan.fresh_reason = "no previous topic has papers left"
    if warm is not None:
        coarse, centroids, coarse_ids, gone = warm
        retired += gone
    else:
        plan.k1 = k1 if k1 is not None else coarse_k(n)
        coarse, centroids = spherical_kmeans(x, plan.k1, seed=seed, n_init=n_init)
        coarse_ids = [f"{DISCOVERED}/{c}" for c in range(centroids.shape[0])]
    k = len(coarse_ids)
    warm_prior = prior if warm is not None else None
    memberships: list[TopicMembership] = []
    if n:  # coarse memberships: softmax over all coarse centroids
        scores = _softmax(x @ centroids.T, temperature)
        memberships += _memberships(ids, scores, coarse, coarse_ids, min_score, max_topics)

    # fine level, under each coarse topic
    fine = np.full(n, -1)
    fine_ids: list[str] = []
    fine_parent: list[int] = []
    for c, cid in enumerate(coarse_ids):
        rows = np.flatnonzero(coarse == c)
        before = warm_prior.subs.get(cid, []) if warm_prior is not None else []
        if k2 is not None:
            kk = k2
        elif warm_prior is not None:
            kk = _hold(max(1, len(before)), fine_k(rows.size), _fine_raw(rows.size))
        else:
            kk = fine_k(rows.size)
        if kk < 2 or rows.size < 2 * kk:
            retired += before
            continue
        row_ids = [ids[i] for i in rows.tolist()]
        sub_warm = None
        if warm_prior is not None and len(before) == kk:
            sub_warm = _warm_kmeans(x[rows], row_ids, warm_prior.fine_of, before, need=kk)
        if sub_warm is not None and len(sub_warm[2]) >= 2:
            sub, sub_centroids, local_ids, gone = sub_warm
            retired += gone
        else:
            sub, sub_centroids = spherical_kmeans(x[rows], kk, seed=seed + 1 + c, n_init=n_init)
            if sub_centroids.shape[0] < 2:
                retired += before
                continue
            used = [*before, *retired, *(warm_prior.retired if warm_prior is not None else [])]
            first = _next_index(cid, used)
            local_ids = [f"{cid}/{first + j}" for j in range(sub_centroids.shape[0])]
            retired += before
        fine[rows] = sub + len(fine_ids)
        fine_ids += local_ids
        fine_parent += [c] * len(local_ids)
        sub_scores = _softmax(x[rows] @ sub_centroids.T, temperature)
        memberships += _memberships(row_ids, sub_scores, sub, local_ids, min_score, max_topics)

    # labels: a continuing topic whose papers barely changed keeps its label and keywords
    kept: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    if warm_prior is not None:
        kept = _kept_labels(warm_prior, ids, coarse, coarse_ids, fine, fine_ids, keep_label)

    # keywords: c-TF-IDF among the coarse topics, and among each topic's sub-topics (what
    # sets a sub-topic apart from its siblings; the parent's words would repeat otherwise).
    # Texts are split once, and only where some topic needs new keywords.
    keywords: dict[str, list[tuple[str, float]]] = {t: kw for t, (_, kw) in kept.items()}
    docs: list[list[str] | None] = [None] * n

    def split(rows: Sequence[int]) -> list[list[str]]:
        out: list[list[str]] = []
        for i in rows:
            d = docs[i]
            if d is None:
                d = docs[i] = terms(texts[i])
            out.append(d)
        return out

    if n and any(cid not in kept for cid in coarse_ids):
        w, vocab = ctfidf(texts, coarse, k, docs=split(range(n)))
        for c, cid in enumerate(coarse_ids):
            if cid not in kept:
                keywords[cid] = top_keywords(w[c], vocab, n_keywords)
    parents = np.array(fine_parent, dtype=np.int64)
    for c in sorted(set(fine_parent)):
        subs = np.flatnonzero(parents == c)
        if all(fine_ids[f] in kept for f in subs.tolist()):
            continue
        rows = np.flatnonzero(coarse == c)
        local = fine[rows] - subs[0]
        wf, vocab_f = ctfidf(
            [texts[i] for i in rows.tolist()], local, subs.size, docs=split(rows.tolist())
        )
        for j, f in enumerate(subs.tolist()):
            if fine_ids[f] not in kept:
                keywords[fine_ids[f]] = top_keywords(wf[j], vocab_f, n_keywords)

    def topic(tid: str, broader: str | None) -> Topic:
        kws = keywords.get(tid, [])
        label = kept[tid][0] if tid in kept else label_from(kws)
        return Topic(tid, label, DISCOVERED, broader, tuple(t for t, _ in kws))

    topics: list[Topic] = []
    for c, cid in enumerate(coarse_ids):
        topics.append(topic(cid, None))
        topics += [topic(fid, cid) for j, fid in enumerate(fine_ids) if fine_parent[j] == c]
    keywords = {t.topic_id: keywords[t.topic_id] for t in topics if t.topic_id in keywords}
    params: dict[str, Any] = {
        "n_papers": n,
        "dim": dim,
        "k1": k,
        "k1_target": plan.k1,
        "k2": k2,
        "n_subtopics": len(fine_ids),
        "seed": seed,
        "temperature": temperature,
        "min_score": min_score,
        "max_topics": max_topics,
        "method": (
            "spherical k-means warm-started from the previous topics"
            if warm is not None
            else "spherical k-means (k-means++)"
        )
        + ", 2 levels; c-TF-IDF keywords",
        "warm_start": warm is not None,
        "fresh_reason": plan.fresh_reason,
        "changed": None if plan.changed is None else round(plan.changed, 6),
        "kept_labels": len(kept),
        "retired": sorted({*retired, *(warm_prior.retired if warm_prior is not None else [])}),
    }
    return DiscoveredTopics(topics, memberships, keywords, ids, coarse, fine, fine_ids, params)


def _memberships(
    ids: Sequence[str],
    scores: np.ndarray,
    assigned: np.ndarray,
    topic_ids: Sequence[str],
    min_score: float,
    max_topics: int,
) -> list[TopicMembership]:
    out: list[TopicMembership] = []
    top = np.argsort(-scores, axis=1, kind="stable")[:, : max(1, max_topics)]
    for i, pid in enumerate(ids):
        own = int(assigned[i])
        out.append(TopicMembership(pid, topic_ids[own], round(float(scores[i, own]), 6)))
        for j in top[i]:
            s = float(scores[i, j])
            if j != own and s >= min_score:
                out.append(TopicMembership(pid, topic_ids[j], round(s, 6)))
    return out


# --------------------------------------------------------------------------- updates
@dataclass
class _Prior:
    """What a warm start takes from the previous model: its discovered topics in their
    order, each paper's primary (highest-scoring) coarse topic and sub-topic, labels."""

    coarse_ids: list[str]
    subs: dict[str, list[str]]  # coarse topic -> its sub-topics, in order
    topics: dict[str, Topic]
    keywords: dict[str, list[tuple[str, float]]]
    coarse_of: dict[str, str]  # paper -> primary coarse topic
    fine_of: dict[str, str]  # paper -> primary sub-topic (under its primary coarse topic)
    params: dict[str, Any]
    retired: list[str]

    @classmethod
    def of(cls, model: TopicModel) -> _Prior | None:
        found = model.in_scheme(DISCOVERED)
        coarse_ids = [t.topic_id for t in found if t.broader is None]
        if not coarse_ids:
            return None
        subs: dict[str, list[str]] = {c: [] for c in coarse_ids}
        parent: dict[str, str] = {}
        for t in found:
            if t.broader in subs:
                subs[t.broader].append(t.topic_id)
                parent[t.topic_id] = t.broader
        best_c: dict[str, tuple[float, str]] = {}
        best_f: dict[str, tuple[float, str]] = {}
        for m in model.memberships:
            best = best_c if m.topic_id in subs else best_f if m.topic_id in parent else None
            if best is not None:
                had = best.get(m.paper_id)
                if had is None or m.score > had[0]:  # ties: the first listed (its own)
                    best[m.paper_id] = (m.score, m.topic_id)
        coarse_of = {p: t for p, (_, t) in best_c.items()}
        fine_of = {p: t for p, (_, t) in best_f.items() if coarse_of.get(p) == parent[t]}
        params = model.params.get(DISCOVERED)
        params = dict(params) if isinstance(params, Mapping) else {}
        retired = params.get("retired")
        return cls(
            coarse_ids,
            subs,
            {t.topic_id: t for t in found},
            {t: list(kw) for t, kw in model.keywords.items()},
            coarse_of,
            fine_of,
            params,
            [str(r) for r in retired] if isinstance(retired, list) else [],
        )


@dataclass
class _Plan:
    k1: int  # the coarse topics asked for
    fresh_reason: str | None  # None: warm start
    changed: float | None  # share of the previous papers added or removed


def _plan(
    prior: _Prior | None, ids: Sequence[str], dim: int, k1: int | None, max_change: float
) -> _Plan:
    """Warm start or fresh clustering, and the number of coarse topics."""
    n = len(ids)
    if prior is None:
        return _Plan(k1 if k1 is not None else coarse_k(n), "no previous discovered topics", None)
    before, now = set(prior.coarse_of), set(ids)
    changed = (len(now - before) + len(before - now)) / max(1, len(before))
    prev_k = prior.params.get("k1_target", prior.params.get("k1", len(prior.coarse_ids)))
    prev_k = int(prev_k) if isinstance(prev_k, int | float) else len(prior.coarse_ids)
    target = k1 if k1 is not None else _hold(prev_k, coarse_k(n), _coarse_raw(n))
    reason = None
    if prior.params.get("dim") not in (None, dim):
        reason = f"the embeddings changed dimension ({prior.params.get('dim')} -> {dim})"
    elif changed > max_change:
        reason = f"{changed:.0%} of the papers were added or removed (> {max_change:.0%})"
    elif target != prev_k:
        reason = f"k1 changed ({prev_k} -> {target})"
    return _Plan(target, reason, changed)


#: How far past the rounding boundary the size may drift before an update changes an
#: automatic k (so that k does not flip back and forth for a corpus near a boundary).
_K_SLACK = 0.25


def _hold(prev: int, now: int, raw: float) -> int:
    """``prev`` while ``raw`` (the unrounded automatic k) is within ``0.5 + _K_SLACK`` of it."""
    return prev if now == prev or abs(raw - prev) < 0.5 + _K_SLACK else now


def _coarse_raw(n: int) -> float:
    return 1.0 if n < 8 else min(20.0, max(2.0, math.sqrt(n / 50)))


def _fine_raw(n: int) -> float:
    return 1.0 if n < 20 else min(8.0, max(1.0, math.sqrt(n / 25)))


def _warm_kmeans(
    x: np.ndarray,
    ids: Sequence[str],
    primary: Mapping[str, str],
    topic_ids: Sequence[str],
    *,
    need: int = 1,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]] | None:
    """Spherical k-means started from the previous topics: each topic's centroid is the
    mean of the current vectors of its papers (``primary``: paper -> topic) still here.
    One run, no reseeding: a topic left without papers is retired. Returns ``(labels,
    centroids, topic ids kept, ids retired)`` with labels indexing the kept ids in their
    previous order, or ``None`` when fewer than ``need`` topics have papers left."""
    x = np.asarray(x, dtype=np.float32)
    k = len(topic_ids)
    index = {t: j for j, t in enumerate(topic_ids)}
    start = np.array([index.get(primary.get(p, ""), -1) for p in ids], dtype=np.int64)
    has = start >= 0
    centroids = _centroids(x[has], start[has], k)
    alive = np.linalg.norm(centroids, axis=1) > 0
    if int(alive.sum()) < max(1, need):
        return None
    labels = np.full(x.shape[0], -1)
    for _ in range(max_iter):
        sims = x @ centroids.T
        sims[:, ~alive] = -np.inf
        new_labels = sims.argmax(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        alive &= np.bincount(labels, minlength=k) > 0
        centroids = _centroids(x, labels, k)
    kept = np.flatnonzero(alive)
    remap = np.full(k, -1)
    remap[kept] = np.arange(kept.size)
    gone = [topic_ids[j] for j in np.flatnonzero(~alive).tolist()]
    return remap[labels], centroids[kept], [topic_ids[j] for j in kept.tolist()], gone


def _next_index(parent: str, used: Iterable[str]) -> int:
    """The first sub-topic number under ``parent`` above every one in ``used``."""
    taken = [
        int(tail)
        for t in used
        if t.startswith(parent + "/") and (tail := t[len(parent) + 1 :]).isdigit()
    ]
    return max(taken, default=-1) + 1


def _kept_labels(
    prior: _Prior,
    ids: Sequence[str],
    coarse: np.ndarray,
    coarse_ids: Sequence[str],
    fine: np.ndarray,
    fine_ids: Sequence[str],
    keep_label: float,
) -> dict[str, tuple[str, list[tuple[str, float]]]]:
    """Topic id -> previous ``(label, keywords)`` for the continuing topics whose papers
    (primary assignments) overlap their previous ones by a Jaccard index >= ``keep_label``."""
    before: dict[str, set[str]] = defaultdict(set)
    for p, t in prior.coarse_of.items():
        before[t].add(p)
    for p, t in prior.fine_of.items():
        before[t].add(p)
    after: dict[str, set[str]] = defaultdict(set)
    for i, pid in enumerate(ids):
        after[coarse_ids[int(coarse[i])]].add(pid)
        if fine[i] >= 0:
            after[fine_ids[int(fine[i])]].add(pid)
    kept: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    for tid, now in after.items():
        old = prior.topics.get(tid)
        if old is None or not before[tid]:
            continue
        if len(now & before[tid]) / len(now | before[tid]) >= keep_label:
            kws = prior.keywords.get(tid) or [(t, 0.0) for t in old.keywords]
            kept[tid] = (old.label, kws)
    return kept


# --------------------------------------------------------------------------- links
def link_topics(
    curated: Iterable[TopicMembership],
    discovered: Iterable[TopicMembership],
    *,
    min_shared: int = 2,
    min_score: float = 0.2,
) -> list[tuple[str, str, float]]:
    """``(curated_id, discovered_id, score)`` for overlapping topics.

    ``score`` is the discovered topic's share of the curated topic: the sum of the
    discovered membership scores of the curated topic's papers over the number of
    them that have discovered memberships at all (0..1; the soft version of "70% of
    this section's papers fall in that cluster"). Pairs need ``min_shared`` shared
    papers (fewer only for a section that small) and ``score >= min_score``.
    Sorted by curated id, then score descending.
    """
    disc: dict[str, dict[str, float]] = defaultdict(dict)
    for m in discovered:
        disc[m.paper_id][m.topic_id] = max(m.score, disc[m.paper_id].get(m.topic_id, 0.0))
    sections: dict[str, set[str]] = defaultdict(set)
    for m in curated:
        sections[m.topic_id].add(m.paper_id)
    links: list[tuple[str, str, float]] = []
    for cid in sorted(sections):
        placed = [p for p in sorted(sections[cid]) if p in disc]
        if not placed:
            continue
        mass: dict[str, float] = defaultdict(float)
        shared: Counter[str] = Counter()
        for p in placed:
            for tid, s in disc[p].items():
                mass[tid] += s
                shared[tid] += 1
        need = min(min_shared, len(placed))
        found = [
            (cid, tid, round(mass[tid] / len(placed), 6))
            for tid in mass
            if shared[tid] >= need and mass[tid] / len(placed) >= min_score
        ]
        links += sorted(found, key=lambda t: (-t[2], t[1]))
    return links


# --------------------------------------------------------------------------- all schemes
def build_topic_model(
    papers: Sequence[Paper],
    seeds: Iterable[SeedRow] = (),
    *,
    ids: Sequence[str] | None = None,
    embeddings: np.ndarray | None = None,
    same_as: Mapping[str, str] | None = None,
    previous: TopicModel | None = None,
    **discover: Any,
) -> TopicModel:
    """Curated, discovered (when ``embeddings`` aligned with ``ids`` are given) and
    S2-fields topics, with curated<->discovered links. ``discover`` goes to
    :func:`discover_topics` (``k1``, ``k2``, ``seed``, ``temperature``...).
    Twins are folded to their canonical ids via ``same_as``.

    ``previous``: the model of the last build (e.g. ``TopicModel.load`` of its
    ``topics.json``), or ``None``. Its discovered topics are then updated in place of
    being found afresh: ids, and labels of topics that barely changed, carry over (see
    "Updates" in the module docstring)."""
    canon = _canon(same_as)
    cur_topics, cur_members = curated_scheme(seeds, same_as=same_as)
    s2_topics, s2_members = s2_fields_scheme(papers, same_as=same_as)
    model = TopicModel(
        topics=[*cur_topics, *s2_topics],
        memberships=[*cur_members, *s2_members],
        params={"n_papers": len(papers)},
    )
    if embeddings is not None:
        if ids is None:
            raise TopicError("embeddings given without the paper ids their rows belong to")
        by_id = {canon.get(p.paper_id, p.paper_id): p for p in papers}
        rows: list[int] = []
        seen: set[str] = set()
        for i, pid in enumerate(ids):
            c = canon.get(pid, pid)
            if c not in seen:
                seen.add(c)
                rows.append(i)
        cids = [canon.get(ids[i], ids[i]) for i in rows]
        texts = [paper_text(by_id[c]) if c in by_id else "" for c in cids]
        found = discover_topics(
            cids, np.asarray(embeddings)[rows], texts, previous=previous, **discover
        )
        model.topics += found.topics
        if previous is not None and found.params.get("warm_start"):
            found.memberships = settle_scores(found.memberships, previous)
        model.memberships += found.memberships
        model.keywords = found.keywords
        model.links = link_topics(cur_members, found.memberships)
        model.params["discovered"] = found.params
    return model


#: On a warm-started update a membership whose score moved less than this keeps its
#: previous score: the clustering's small drift then changes nothing, and a small ingest
#: changes only the memberships it really moved (the RDF topics graph is patched, not
#: reloaded).
SCORE_TOLERANCE = 0.02


def settle_scores(
    memberships: Sequence[TopicMembership],
    previous: TopicModel,
    tolerance: float = SCORE_TOLERANCE,
) -> list[TopicMembership]:
    """``memberships`` with the previous score kept wherever it moved less than
    ``tolerance`` (same paper, same topic)."""
    old = {(m.paper_id, m.topic_id): m.score for m in previous.memberships}
    out: list[TopicMembership] = []
    for m in memberships:
        before = old.get((m.paper_id, m.topic_id))
        if before is not None and before != m.score and abs(before - m.score) < tolerance:
            m = TopicMembership(m.paper_id, m.topic_id, before)
        out.append(m)
    return out


def default_path(graph_dir: Path) -> Path:
    """Where the built model lives: ``<graph_dir>/topics.json``."""
    return Path(graph_dir) / TOPICS_FILE


# --------------------------------------------------------------------------- evaluation
#: Cluster or class labels, one per paper.
Labels = Sequence[Any] | np.ndarray


def _contingency(a: Labels, b: Labels) -> np.ndarray:
    if len(a) != len(b):
        raise TopicError(f"label lists differ in length ({len(a)} vs {len(b)})")
    _, ai = np.unique(np.asarray(a, dtype=object).astype(str), return_inverse=True)
    _, bi = np.unique(np.asarray(b, dtype=object).astype(str), return_inverse=True)
    m = sp.coo_matrix((np.ones(len(a)), (ai, bi))).toarray()
    return np.asarray(m)


def nmi(a: Labels, b: Labels) -> float:
    """Normalised mutual information (arithmetic-mean normalisation, as sklearn's default)."""
    if len(a) == 0:
        return 1.0
    c = _contingency(a, b)
    n = c.sum()
    pa, pb = c.sum(axis=1) / n, c.sum(axis=0) / n
    pab = c / n
    nz = pab > 0
    mi = float((pab[nz] * np.log(pab[nz] / np.outer(pa, pb)[nz])).sum())
    ha = float(-(pa[pa > 0] * np.log(pa[pa > 0])).sum())
    hb = float(-(pb[pb > 0] * np.log(pb[pb > 0])).sum())
    if ha == 0 and hb == 0:
        return 1.0
    denom = (ha + hb) / 2
    return max(0.0, mi / denom) if denom > 0 else 0.0


def purity(clusters: Labels, truth: Labels) -> float:
    """Share of papers whose cluster's majority class is their own class."""
    if len(clusters) == 0:
        return 1.0
    c = _contingency(clusters, truth)
    return float(c.max(axis=1).sum() / c.sum())
