"""Three topic schemes over the corpus, with scored memberships.

* ``curated``: the seed list's own sections. A seed row's ``section_path`` such as
  ``("Papers", "Induction Heads")`` gives one concept per prefix
  (``curated/papers``, ``curated/papers/induction-heads``, each ``broader`` its
  parent); a listed paper belongs, with score 1.0, to its deepest section.
* ``discovered``: a two-level hierarchy found in precomputed embeddings
  (:func:`kg.topics.discover.discover_topics`; updated rather than found afresh given
  the previous model).
* ``s2-fields``: Semantic Scholar's fields of study (``Paper.fields_of_study``).

Curated and discovered topics that share papers are linked
(``skos:related``-style) by :func:`link_topics`. Everything ends in a
:class:`~kg.topics.model.TopicModel` (:func:`build_topic_model`), saved as JSON under
``settings.graph_dir``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from kg.core.model import Paper, Topic, TopicMembership, canonical_map
from kg.core.text import MappedTexts
from kg.store.corpus import DUPLICATE, OFFLINE, RESOLVED, SeedRow
from kg.topics.discover import discover_topics
from kg.topics.label import paper_text
from kg.topics.model import CURATED, S2_FIELDS, TopicError, TopicModel

_SEED_STATUSES = frozenset({RESOLVED, DUPLICATE, OFFLINE})


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
def _keyword_text(paper: Paper | None) -> str:
    """The keyword text (:func:`kg.topics.label.paper_text`) of a paper, "" for none."""
    return paper_text(paper) if paper is not None else ""


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
    "Updates" in :mod:`kg.topics.discover`)."""
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
        x = np.asarray(embeddings)
        if len(rows) < x.shape[0]:  # twins folded: their rows once (else no copy)
            x = x[rows]
        found = discover_topics(
            cids,
            x,
            MappedTexts(cids, lambda pid: _keyword_text(by_id.get(pid))),
            previous=previous,
            **discover,
        )
        del x
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


__all__ = [
    "SCORE_TOLERANCE",
    "build_topic_model",
    "curated_scheme",
    "link_topics",
    "s2_fields_scheme",
    "settle_scores",
    "slugify",
]
