"""Markdown link lists as seed sources: :func:`parse_markdown` (``- [Title](url) comment``
under ``#`` headings)."""

from __future__ import annotations

import re

from ingest.sources.walk import Block, Link, Syntax, mask_links, parse_page, trim_bare
from ingest.types import SourceResult

__all__ = ["parse_markdown"]

_MD_LINK = re.compile(
    r"(?<!!)\[(?P<text>(?:\\.|[^\[\]\\]|\[(?:\\.|[^\[\]\\])*\])*)\]"
    r"\(\s*(?P<url><[^>\n]*>|(?:[^\s()]|\([^\s()]*\))+)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_AUTOLINK = re.compile(r"<(?P<url>https?://[^>\s]+)>")
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?:[-*+]|\d{1,9}[.)])\s+(?P<body>.*)$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_MD_FORMAT = re.compile(r"\*\*|__|`|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")
_MD_BOLD_ONLY = re.compile(r"^\s*(\*\*|__)(?P<t>[^*_\x02]+?)\1\s*:?\s*$")


def _md_bold(text: str) -> str | None:
    m = _MD_BOLD_ONLY.match(text)
    return " ".join(m.group("t").split()) if m else None


def _md_strip(text: str) -> str:
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|])", r"\1", _MD_FORMAT.sub("", text))


_MARKDOWN = Syntax(
    name="markdown",
    bold_only=_md_bold,
    strip_format=_md_strip,
    no_papers_hint="a Markdown list gives papers as - [Title](https://arxiv.org/abs/...)",
    cross_link_reason="relative link to another page, not a paper",
)


def _md_link(m: re.Match[str]) -> Link:
    url = m.group("url").strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1].strip()
    text = " ".join(m.group("text").split()) or None
    external = bool(re.match(r"^(?:https?|ftp|mailto):", url, re.I))
    return Link(url, text, external)


def _md_blocks(text: str) -> tuple[list[Block], list[Link]]:
    links: list[Link] = []
    text = text.replace("\x02", "").replace("\x03", "")
    blocks: list[Block] = []
    para: list[str] = []
    para_line = 0
    in_fence = False

    def flush() -> None:
        nonlocal para
        if para:
            blocks.append(Block("text", " ".join(para), indent=0, line=para_line))
            para = []

    for lineno, raw in enumerate(text.splitlines(), start=1):
        if _MD_FENCE.match(raw):
            in_fence = not in_fence
            flush()
            continue
        if in_fence:
            continue
        line = _MD_IMAGE.sub(" ", raw)
        line = mask_links(line, _MD_LINK, links, _md_link)
        line = mask_links(line, _MD_AUTOLINK, links, lambda m: Link(m.group("url"), None, True))
        line = trim_bare(line, links)
        if not line.strip():
            flush()
            continue
        if m := _MD_HEADING.match(line):
            flush()
            blocks.append(Block("heading", m.group(2), level=len(m.group(1)), line=lineno))
            continue
        if (m := _MD_SETEXT.match(line)) and len(para) == 1:
            level = 1 if m.group(1).startswith("=") else 2
            blocks.append(Block("heading", para[0], level=level, line=para_line))
            para = []
            continue
        if m := _MD_ITEM.match(line):
            flush()
            indent = len(m.group("indent").expandtabs(4))
            blocks.append(Block("item", m.group("body"), indent=indent, line=lineno))
            continue
        if not para:
            para_line = lineno
        para.append(line.strip())
    flush()
    return blocks, links


def parse_markdown(text: str, source: str) -> SourceResult:
    """Papers in a Markdown link list (``- [Title](url) comment``) under ``#`` headings.

    Headings give the section path (a single leading ``#`` title is the page's
    title, not a section); ``- **Bold**`` items open sub-sections. Raises
    :class:`SourceError` when no paper links are found.
    """
    return parse_page(text, source, _MARKDOWN, _md_blocks)
