"""DokuWiki seed pages: :func:`parse_dokuwiki` (multi-line pages and pages whose newlines
were collapsed into one line)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ingest.sources.walk import Block, Link, Syntax, mask_links, parse_page, trim_bare
from ingest.types import SourceResult

__all__ = ["parse_dokuwiki"]

_DW_LINK = re.compile(r"\[\[(?P<target>[^\]|]*?)(?:\|(?P<text>.*?))?\]\]", re.S)
_DW_HEADING_LINE = re.compile(r"^\s*(={2,6})\s*(.*?)\s*={2,6}\s*$")
_DW_HEADING_ANY = re.compile(
    r"(?:(?<=\s)|^)(={2,6})(?!=)\s*([^=\n]*?[^=\s])\s*(?<!=)={2,6}(?=\s|$)"
)
_DW_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>\*|-)\s+(?P<body>.*)$")
_DW_MARKER = re.compile(r"(?:(?<=\s)|^)\*(?=\s)")
_DW_FORMAT = re.compile(r"\*\*|__|''|(?<!:)//")
_DW_BOLD_ONLY = re.compile(r"^\s*\*\*(?P<t>[^*\x02]+?)\*\*\s*:?\s*$")
_DW_NOWIKI = re.compile(r"<nowiki>.*?</nowiki>|%%.*?%%|<code.*?</code>|<file.*?</file>", re.S)


def _dw_bold(text: str) -> str | None:
    m = _DW_BOLD_ONLY.match(text)
    return " ".join(m.group("t").split()) if m else None


def _dw_strip(text: str) -> str:
    return _DW_FORMAT.sub("", text)


_DOKUWIKI = Syntax(
    name="dokuwiki",
    bold_only=_dw_bold,
    strip_format=_dw_strip,
    no_papers_hint="a seed page lists papers as [[https://arxiv.org/abs/...|Title]]",
    cross_link_reason="wiki cross-link",
)


def _dw_link(m: re.Match[str]) -> Link:
    target = m.group("target").strip()
    text = m.group("text")
    text = " ".join(text.split()) if text and text.strip() else None
    external = bool(re.match(r"^(?:https?|ftp|mailto):|^www\.", target, re.I))
    if target.lower().startswith("www."):
        target = "https://" + target
    return Link(target, text, external)


def _dw_blocks(text: str) -> tuple[list[Block], list[Link]]:
    links: list[Link] = []
    text = text.replace("\x02", "").replace("\x03", "")
    text = _DW_NOWIKI.sub(" ", text)
    masked = mask_links(text, _DW_LINK, links, _dw_link)
    masked = trim_bare(masked, links)
    blocks: list[Block] = []
    para: list[str] = []
    para_line = 0

    def flush() -> None:
        nonlocal para
        if para:
            blocks.append(Block("text", " ".join(para), indent=0, line=para_line))
            para = []

    for lineno, line in enumerate(masked.splitlines(), start=1):
        if not line.strip():
            flush()
            continue
        if _is_collapsed(line):
            flush()
            blocks.extend(_split_collapsed(line, lineno))
            continue
        if m := _DW_HEADING_LINE.match(line):
            flush()
            blocks.append(Block("heading", m.group(2), level=7 - len(m.group(1)), line=lineno))
            continue
        m = _DW_ITEM.match(line)
        if m and (m.group("marker") == "*" or len(m.group("indent").expandtabs(2)) >= 2):
            flush()
            indent = len(m.group("indent").expandtabs(2))
            blocks.append(Block("item", m.group("body"), indent=indent, line=lineno))
            continue
        if not para:
            para_line = lineno
        para.append(line.strip())
    flush()
    return blocks, links


def _is_collapsed(line: str) -> bool:
    """A physical line holding what were several lines (headings or items run together)."""
    for m in _DW_HEADING_ANY.finditer(line):
        if line[: m.start()].strip() or line[m.end() :].strip():
            return True
    stripped = line.lstrip()
    return stripped.startswith("* ") and len(_DW_MARKER.findall(stripped)) >= 2


def _split_collapsed(line: str, lineno: int) -> Iterator[Block]:
    """Re-create headings, items and prose from a collapsed line (no indentation left)."""
    pos = 0
    pieces: list[tuple[str, str, int]] = []  # (kind, text, level)
    for m in _DW_HEADING_ANY.finditer(line):
        pieces.extend(_split_items(line[pos : m.start()]))
        pieces.append(("heading", m.group(2), 7 - len(m.group(1))))
        pos = m.end()
    pieces.extend(_split_items(line[pos:]))
    for kind, text, level in pieces:
        yield Block(kind, text, level=level, indent=None, line=lineno)


def _split_items(chunk: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    starts = [m.start() for m in _DW_MARKER.finditer(chunk)]
    head = chunk[: starts[0]] if starts else chunk
    if head.strip():
        out.append(("text", head.strip(), 0))
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(chunk)
        body = chunk[start + 1 : end].strip()
        if body:
            out.append(("item", body, 0))
    return out


def parse_dokuwiki(text: str, source: str) -> SourceResult:
    """Papers linked from a DokuWiki page, in page order, with their section paths.

    Works on normal multi-line pages (headings ``====== H1 ======`` .. ``== H5 ==``,
    list items ``  * `` nested by indentation) and on pages whose newlines were
    collapsed into one line. Raises :class:`SourceError` when the page holds no
    paper links.
    """
    return parse_page(text, source, _DOKUWIKI, _dw_blocks)
