"""The walker shared by the seed-page syntaxes (DokuWiki, Markdown): a page read as blocks
(headings, list items, prose) with its links masked, turned into SeedRefs with section paths,
sub-sections and notes, and Skipped entries for the links that are not papers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.errors import SourceError
from ingest.sources.links import LinkVerdict, classify_url, split_citation_title
from ingest.types import SeedRef, Skipped, SourceResult

__all__ = [
    "Block",
    "Link",
    "Syntax",
    "mask_links",
    "no_papers",
    "parse_page",
    "trim_bare",
    "walk_blocks",
]

_PH = re.compile(r"\x02(\d+)\x03")  # placeholder standing for a link in masked text


@dataclass(frozen=True)
class Link:
    """A link on a page: its target, its text (None: a bare URL), and whether it leaves
    the site (a wiki cross-link or relative link does not)."""

    target: str
    text: str | None
    external: bool


@dataclass(frozen=True)
class Block:
    """A heading, list item or paragraph of a page, its links masked as placeholders."""

    kind: str  # "heading" | "item" | "text"
    text: str  # with links replaced by placeholders
    level: int = 0  # heading level (1 = page title)
    indent: int | None = None  # list indentation; None where the page was collapsed
    line: int = 0


@dataclass
class _Sub:
    title: str
    indent: int
    nested: bool | None = None  # children indented deeper (True) or at the same level (False)


@dataclass(frozen=True)
class Syntax:
    """What the walker needs to know of a page syntax: its bold-only sub-section lines,
    how to strip its formatting, and the words of its messages."""

    name: str
    bold_only: Callable[[str], str | None]
    strip_format: Callable[[str], str]
    no_papers_hint: str
    cross_link_reason: str


@dataclass
class _Walk:
    source: str
    syntax: Syntax
    links: list[Link]
    refs: list[SeedRef] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seen: dict[str, tuple[SeedRef, str]] = field(default_factory=dict)
    position: int = 0

    def render(self, masked: str) -> str:
        """Masked text with each link replaced by its visible text."""
        return _PH.sub(lambda m: _link_label(self.links[int(m.group(1))]), masked)


def _link_label(link: Link) -> str:
    if link.text:
        return link.text
    if link.external:
        return link.target
    return link.target.rsplit(":", 1)[-1].split("#", 1)[0] or link.target


def _clean_note(text: str, syntax: Syntax) -> str | None:
    note = " ".join(syntax.strip_format(text).split()).strip(" ,;:-–—")
    return note or None


def _sentence_around(masked: str, n: int) -> str:
    marker = f"\x02{n}\x03"
    for sentence in re.split(r"(?<=[.!?])\s+", masked):
        if marker in sentence:
            return sentence
    return masked


def _render_range(walk: _Walk, tokens: list[str], start: int, stop: int) -> str:
    """Text of a block from just after link ``start - 1`` to just before link ``stop``.

    ``tokens`` is ``_PH.split(block.text)``: ``[text0, n0, text1, n1, ..., textK]``;
    links in between are shown as their visible text.
    """
    out: list[str] = []
    for j in range(start, stop):
        out.append(tokens[2 * j])
        out.append(_link_label(walk.links[int(tokens[2 * j + 1])]))
    out.append(tokens[2 * stop])
    return "".join(out)


def _emit(walk: _Walk, block: Block, section: tuple[str, ...]) -> None:
    """Turn the links of one block into SeedRefs and Skipped entries."""
    tokens = _PH.split(block.text)
    numbers = [int(t) for t in tokens[1::2]]
    papers: list[tuple[int, LinkVerdict, str, int]] = []  # (index in block, verdict, label, pos)
    for index, n in enumerate(numbers):
        link = walk.links[n]
        label = " ".join(walk.syntax.strip_format(_link_label(link)).split())
        pos = walk.position
        walk.position += 1
        if not link.external:
            text = label if link.text else link.target
            walk.skipped.append(
                Skipped(walk.source, text, None, walk.syntax.cross_link_reason, pos)
            )
            continue
        verdict = classify_url(link.target)
        if not verdict.is_paper:
            reason = verdict.reason or "not a paper"
            walk.skipped.append(Skipped(walk.source, label, link.target, reason, pos))
            continue
        key = verdict.key or link.target
        if key in walk.seen:
            first, first_url = walk.seen[key]
            what = repr(first.title) if first.title else first_url
            if key.startswith("openreview:") and "/forum" in link.target:
                reason = (
                    f"OpenReview forum (reviews) of {what}; same OpenReview id, not a second paper"
                )
            else:
                reason = f"duplicate of {what} (position {first.position})"
            walk.skipped.append(Skipped(walk.source, label, link.target, reason, pos))
            continue
        title, year = split_citation_title(label) if link.text else ("", None)
        ref = SeedRef(
            title=title,
            source=walk.source,
            url=link.target,
            ids=verdict.ids,
            section_path=section,
            position=pos,
            year=year,
        )
        walk.seen[key] = (ref, link.target)
        papers.append((index, verdict, label, pos))
        walk.refs.append(ref)
    # Notes: for list items, the text around each paper link up to the next paper link
    # (the text before the first one included); for prose, the sentence it sits in.
    base = len(walk.refs) - len(papers)
    for i, (index, _verdict, _label, _pos) in enumerate(papers):
        if block.kind == "text":
            note_src = walk.render(_sentence_around(block.text, numbers[index]))
        else:
            stop = papers[i + 1][0] if i + 1 < len(papers) else len(numbers)
            note_src = _render_range(walk, tokens, index + 1, stop)
            if i == 0:
                note_src = _render_range(walk, tokens, 0, index) + " " + note_src
        ref = walk.refs[base + i]
        note = _clean_note(note_src, walk.syntax)
        if note != ref.note:
            walk.refs[base + i] = SeedRef(
                title=ref.title,
                source=ref.source,
                url=ref.url,
                ids=ref.ids,
                section_path=ref.section_path,
                position=ref.position,
                note=note,
                year=ref.year,
            )


def walk_blocks(
    blocks: list[Block], links: list[Link], source: str, syntax: Syntax
) -> SourceResult:
    """Section paths, sub-sections and link classification, common to all page syntaxes."""
    walk = _Walk(source=source, syntax=syntax, links=links)
    headings = [b for b in blocks if b.kind == "heading"]
    h1_is_title = (
        bool(headings)
        and headings[0].level == 1
        and (sum(1 for h in headings if h.level == 1) == 1)
    )
    stack: list[tuple[int, str]] = []
    subs: list[_Sub] = []

    def section() -> tuple[str, ...]:
        path = [t for lvl, t in stack if not (h1_is_title and lvl == 1)]
        return (*path, *(s.title for s in subs))

    for block in blocks:
        if block.kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            title = " ".join(syntax.strip_format(walk.render(block.text)).split())
            stack.append((block.level, title))
            subs.clear()
            continue
        bold = syntax.bold_only(block.text)
        indent = -1 if block.kind == "text" else (block.indent or 0)
        if bold is not None:
            # A bold-only line opens a sub-section; it replaces sub-sections at its level.
            while subs and subs[-1].indent >= indent:
                subs.pop()
            subs.append(_Sub(bold, indent))
            continue
        if block.kind == "item":
            while subs:
                top = subs[-1]
                if top.nested is None:
                    top.nested = block.indent is not None and indent > top.indent
                if indent < top.indent or (top.nested and indent <= top.indent):
                    subs.pop()
                    continue
                break
        elif block.indent is not None:
            # Prose in a multi-line page ends the list, and the list's sub-sections.
            while subs and subs[-1].indent >= 0:
                subs.pop()
        _emit(walk, block, section())
    return SourceResult(refs=tuple(walk.refs), skipped=tuple(walk.skipped))


def parse_page(
    text: str,
    source: str,
    syntax: Syntax,
    blocks_of: Callable[[str], tuple[list[Block], list[Link]]],
) -> SourceResult:
    """A page read as blocks by ``blocks_of`` (the syntax's reader) and walked; raises
    :class:`SourceError` when it holds no paper links."""
    blocks, links = blocks_of(text)
    result = walk_blocks(blocks, links, source, syntax)
    if not result.refs:
        raise no_papers(source, text, syntax)
    return result


def no_papers(source: str, text: str, syntax: Syntax) -> SourceError:
    """The error for a page with no paper links (or no text at all)."""
    if not text.strip():
        return SourceError(f"{source}: the file is empty; {syntax.no_papers_hint}")
    return SourceError(f"{source}: no paper links found; {syntax.no_papers_hint}")


_BARE_URL = re.compile(r"(?<![\w/\[|=])https?://[^\s\[\]|<>\"'{}]+")


def mask_links(
    text: str, pattern: re.Pattern[str], links: list[Link], make: Callable[[re.Match[str]], Link]
) -> str:
    """``text`` with each match of ``pattern`` replaced by a placeholder for the link
    ``make`` builds from it (appended to ``links``)."""

    def sub(m: re.Match[str]) -> str:
        links.append(make(m))
        return f"\x02{len(links) - 1}\x03"

    return pattern.sub(sub, text)


def trim_bare(text: str, links: list[Link]) -> str:
    """Mask bare URLs, leaving trailing punctuation outside the link."""

    def sub(m: re.Match[str]) -> str:
        url = m.group(0)
        tail = ""
        while url and url[-1] in ".,;:!?)":
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            tail = url[-1] + tail
            url = url[:-1]
        links.append(Link(url, None, True))
        return f"\x02{len(links) - 1}\x03{tail}"

    return _BARE_URL.sub(sub, text)
