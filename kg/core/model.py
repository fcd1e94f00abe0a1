"""Plain frozen dataclasses shared by every layer of litkg.

They are the boundary objects: the corpus store reads and writes them, the RDF
layer turns them into triples and back, the recommender returns them. Nothing
here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Prefix of paper ids for works we know only from a user's own file (not yet on S2).
LOCAL_PREFIX = "local:"

_S2_SHA = re.compile(r"^[0-9a-f]{40}$")


def is_s2_paper_id(value: str) -> bool:
    """True for a Semantic Scholar paper id (40 lowercase hex characters)."""
    return bool(_S2_SHA.match(value))


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    author_id: str | None = None

    def __reduce__(self) -> tuple[type[Author], tuple[str, str | None]]:
        # Pickled as a constructor call (the slots dataclass default, a generic
        # __setstate__, costs ~6 us an author). Nothing litkg reads from disk is a
        # pickle; this only serves pickling between processes.
        return (Author, (self.name, self.author_id))


@dataclass(frozen=True)
class Paper:
    """One scholarly work.

    ``paper_id`` is the S2 paper id (40 hex) for resolved works, or
    ``local:<hash>`` for works known only from a user's file (``resolved`` is
    then False). ``external_ids`` uses S2's keys: ``ArXiv``, ``DOI``,
    ``CorpusId``, ``DBLP``, ``MAG``, ``ACL``, ``PubMed``.
    """

    paper_id: str
    title: str
    abstract: str | None = None
    year: int | None = None
    venue: str | None = None
    authors: tuple[Author, ...] = ()
    external_ids: Mapping[str, str] = field(default_factory=dict, hash=False)
    url: str | None = None
    publication_date: str | None = None
    publication_types: tuple[str, ...] = ()
    fields_of_study: tuple[str, ...] = ()
    citation_count: int | None = None
    reference_count: int | None = None
    influential_citation_count: int | None = None
    is_open_access: bool | None = None
    open_access_pdf: str | None = None
    tldr: str | None = None
    journal: str | None = None
    tags: tuple[str, ...] = ()
    resolved: bool = True

    @property
    def arxiv_id(self) -> str | None:
        return self.external_ids.get("ArXiv")

    @property
    def doi(self) -> str | None:
        return self.external_ids.get("DOI")

    @property
    def corpus_id(self) -> str | None:
        return self.external_ids.get("CorpusId")

    @property
    def first_author(self) -> str | None:
        return self.authors[0].name if self.authors else None

    def short_label(self) -> str:
        """``Surname et al. Year - Title`` for tables and reasons."""
        who = ""
        if self.authors:
            surname = self.authors[0].name.split()[-1] if self.authors[0].name.split() else ""
            who = surname + (" et al." if len(self.authors) > 1 else "")
        year = str(self.year) if self.year else "n.d."
        return f"{who} {year} - {self.title}".strip()


@dataclass(frozen=True)
class Citation:
    """``citing`` cites ``cited``; S2's citation context, intents and influence flag."""

    citing: str
    cited: str
    contexts: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    is_influential: bool | None = None


@dataclass(frozen=True)
class Topic:
    topic_id: str
    label: str
    scheme: str
    broader: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recommendation:
    paper_id: str
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicMembership:
    """``paper_id`` belongs to ``topic_id`` with a score in 0..1 (1 for curated listings)."""

    paper_id: str
    topic_id: str
    score: float = 1.0


def canonical_map(same_as: Mapping[str, str]) -> dict[str, str]:
    """Resolve chains (``a -> b -> c`` gives ``a -> c``); a cycle folds to its least id."""
    out: dict[str, str] = {}
    for start in same_as:
        seen = [start]
        cur = start
        while cur in same_as and same_as[cur] != cur:
            cur = same_as[cur]
            if cur in seen:  # a cycle: pick a stable representative
                cur = min(seen)
                break
            seen.append(cur)
        for node in seen:
            if node != cur:
                out[node] = cur
    return out
