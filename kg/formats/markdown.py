"""Markdown reading lists (export only): :func:`write_markdown`, and :func:`web_url`, the
guard that keeps a non-web link from becoming clickable.

and the optional note and reasons as sub-items. Markdown specials in text are
backslash-escaped; only http(s) addresses become links (a ``javascript:`` URL
from an S2 record or a BibTeX file does not).
* **CSV** (RFC 4180, CRLF): ``position, title, authors, year, venue, doi,
arxiv, s2_id, url, note, reason``; authors joined with ``"; "``. Cells that
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from kg.core.ids import arxiv_url, doi_url, s2_url
from kg.core.model import Paper, is_s2_paper_id
from kg.formats.entries import (
    clean,
    reason_text,
    venue_of,
)

__all__ = ["web_url", "write_markdown"]


_MD_SPECIALS = re.compile(r"([\\`*_\[\]<>|~$])")


def _md(text: str) -> str:
    return _MD_SPECIALS.sub(r"\\\1", clean(text))


_MD_URL_ESCAPES = re.compile(r"[\x00-\x20()<>\\\x7f]")


def _md_url(url: str) -> str:
    """A link target Markdown cannot end early: spaces, controls, ``()<>\\`` are
    percent-encoded."""
    return _MD_URL_ESCAPES.sub(lambda m: f"%{ord(m.group()):02X}", url)


def web_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) address, else ``None``: a ``javascript:`` or
    ``data:`` link from an S2 record or a BibTeX file must not become a clickable link."""
    text = (url or "").strip()
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in ("http", "https") and rest.startswith("//") and len(rest) > 2:
        return text
    return None


def _link(paper: Paper) -> str | None:
    if web_url(paper.url):
        return web_url(paper.url)
    if paper.arxiv_id:
        return arxiv_url(paper.arxiv_id)
    if paper.doi:
        return doi_url(paper.doi)
    if is_s2_paper_id(paper.paper_id):
        return s2_url(paper.paper_id)
    return None


def _authors_short(paper: Paper, limit: int = 3) -> str:
    names = [clean(a.name) for a in paper.authors if clean(a.name)]
    if len(names) > limit:
        return ", ".join(names[:limit]) + " et al."
    return ", ".join(names)


def write_markdown(
    papers: Sequence[Paper],
    notes: Mapping[str, str],
    reasons: Mapping[str, str | Sequence[str]],
    title: str | None,
) -> str:
    """``papers`` as a numbered Markdown reading list headed ``title``."""
    lines = [f"# {_md(title or 'Reading list')}", ""]
    if not papers:
        lines.append("*(empty)*")
    for n, paper in enumerate(papers, 1):
        link = _link(paper)
        head = f"[{_md(paper.title)}]({_md_url(link)})" if link else _md(paper.title)
        lines.append(f"{n}. {head}")
        byline = [
            x
            for x in (
                _md(_authors_short(paper)),
                str(paper.year) if paper.year is not None else "",
                f"*{_md(venue_of(paper))}*" if venue_of(paper) else "",
            )
            if x
        ]
        if byline:
            lines.append("   - " + " · ".join(byline))
        ids = []
        if paper.arxiv_id:
            ids.append(f"arXiv: [{_md(paper.arxiv_id)}]({_md_url(arxiv_url(paper.arxiv_id))})")
        if paper.doi:
            ids.append(f"DOI: [{_md(paper.doi)}]({_md_url(doi_url(paper.doi))})")
        if ids:
            lines.append("   - " + " · ".join(ids))
        if note := clean(notes.get(paper.paper_id)):
            lines.append(f"   - Note: {_md(note)}")
        if why := reason_text(reasons.get(paper.paper_id)):
            lines.append(f"   - Why: {_md(why)}")
    return "\n".join(lines) + "\n"
