"""Title normalisation: the keys two spellings of the same title share.

Two jobs, two forms:

* :func:`title_key` is the *identity* of a title: case-folded, accents and all
  punctuation and spaces dropped (``"Attention Is All You Need!"`` ->
  ``"attentionisallyouneed"``). Duplicate titles in a BibTeX file, a reading list's
  papers matched to the corpus and the ``local:`` id of a paper known only by its title
  (:func:`kg.core.ids.local_paper_id`) all use it, so they agree with each other.
* :func:`title_words` is the title as lowercase ASCII words separated by single spaces
  (``"Kramár: a Study"`` -> ``"kramar a study"``), for comparing titles word by word
  (the resolver's similarity score, preprint/published twins, title prefixes).

They differ on purpose: the key keeps letters outside ASCII (a Chinese or Greek title
keeps its identity) while the words keep word boundaries (which similarity needs).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, overload

__all__ = ["MappedTexts", "title_key", "title_words"]

_T = TypeVar("_T")


class MappedTexts(Sequence[str], Generic[_T]):
    """``text(item)`` of each of ``items``, made when read (a chunk at a time at field
    scale, where a list of every paper's text would hold gigabytes)."""

    def __init__(self, items: Sequence[_T], text: Callable[[_T], str]) -> None:
        self.items = items
        self.text = text

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self.text(item) for item in self.items[i]]
        return self.text(self.items[i])


_NON_WORD = re.compile(r"[^0-9a-z]+")


def title_key(title: str) -> str:
    """Case-folded letters and digits of a title, accents dropped: its identity for matching."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    return "".join(ch for ch in folded if ch.isalnum())


def title_words(title: str) -> str:
    """Lowercase ASCII words: for comparing titles across sources."""
    text = unicodedata.normalize("NFKD", title)
    text = text.encode("ascii", "ignore").decode().lower()
    return _NON_WORD.sub(" ", text).strip()
