"""The topic model: topics of every scheme, scored memberships, curated<->discovered links
and keyword weights, saved as JSON under ``settings.graph_dir`` (:class:`TopicModel`).

How each scheme is made: :mod:`kg.topics.schemes` (curated, S2 fields, links, the whole
model) and :mod:`kg.topics.discover` (discovered topics and their updates).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.core.errors import KGError
from kg.core.fileio import atomic_write_text
from kg.core.model import Topic, TopicMembership

CURATED = "curated"
DISCOVERED = "discovered"
S2_FIELDS = "s2-fields"

#: File name of the saved model under ``settings.graph_dir``.
TOPICS_FILE = "topics.json"

_FORMAT = "litkg.topics"
_VERSION = 1


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


def default_path(graph_dir: Path) -> Path:
    """Where the built model lives: ``<graph_dir>/topics.json``."""
    return Path(graph_dir) / TOPICS_FILE


__all__ = [
    "CURATED",
    "DISCOVERED",
    "S2_FIELDS",
    "TOPICS_FILE",
    "TopicError",
    "TopicModel",
    "default_path",
]
