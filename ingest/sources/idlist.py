"""Id lists as seed sources: :func:`parse_id_list`, one paper per line by an identifier or
URL, optionally followed by a title."""

from __future__ import annotations

import re

from ingest.errors import SourceError
from ingest.sources.links import classify_url
from ingest.types import SeedRef, Skipped, SourceResult
from kg.core.ids import canonical_ids

__all__ = ["parse_id_list"]

_ID_LIST_HINT = (
    "an id list has one paper per line: a 40-hex S2 id, CorpusId:123, ARXIV:2404.14082 "
    "(or 2404.14082), DOI:10.x/y (or 10.x/y), or a paper URL, optionally followed by a title; "
    "# starts a comment"
)


def parse_id_list(text: str, source: str) -> SourceResult:
    """Papers given one per line by an identifier or URL, optionally followed by a title.

    ``#`` starts a comment (at the start of a line, or after whitespace). Lines that
    are not identifiers, links to non-papers and repeated ids become :class:`Skipped`
    (the reason names the line). Raises :class:`SourceError` when no line holds a paper.
    """
    refs: list[SeedRef] = []
    skipped: list[Skipped] = []
    seen: dict[str, int] = {}
    first_bad: str | None = None
    position = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        token, _, rest = line.partition(" ")
        if "\t" in token:
            token, _, more = token.partition("\t")
            rest = f"{more} {rest}"
        title = " ".join(rest.split())
        pos = position
        position += 1
        is_url = token.lower().startswith(("http://", "https://"))
        url = token if is_url else None
        if is_url:
            verdict = classify_url(token)
            if not verdict.is_paper:
                reason = f"line {lineno}: {verdict.reason or 'not a paper'}"
                skipped.append(Skipped(source, line, token, reason, pos))
                continue
            ids = verdict.ids
            key = verdict.key or token
        else:
            ids = canonical_ids(token)
            key = next((i for i in ids if not i.startswith("URL:")), ids[0] if ids else "")
        if not ids and not is_url:
            reason = f"line {lineno}: {token!r} is not a recognised paper id; {_ID_LIST_HINT}"
            first_bad = first_bad or reason
            skipped.append(Skipped(source, line, None, reason, pos))
            continue
        if key in seen:
            reason = f"line {lineno}: duplicate of line {seen[key]}"
            skipped.append(Skipped(source, line, url, reason, pos))
            continue
        seen[key] = lineno
        refs.append(SeedRef(title=title, source=source, url=url, ids=ids, position=pos))
    if not refs:
        if not text.strip():
            raise SourceError(f"{source}: the file is empty; {_ID_LIST_HINT}")
        if first_bad:
            raise SourceError(f"{source}: no paper ids found ({first_bad})")
        raise SourceError(f"{source}: no paper ids found; {_ID_LIST_HINT}")
    return SourceResult(refs=tuple(refs), skipped=tuple(skipped))
