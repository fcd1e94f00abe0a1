"""Links in a seed page: which point at papers (:func:`classify_url`), and the title and
year in a link's text (:func:`split_citation_title`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from kg.core.ids import canonical_ids_from_url, on_site, url_parts

__all__ = ["LinkVerdict", "classify_url", "split_citation_title"]

_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "sourceforge.net")
_VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")
_SOCIAL_HOSTS = (
    "twitter.com",
    "x.com",
    "mastodon.social",
    "bsky.app",
    "linkedin.com",
    "facebook.com",
    "reddit.com",
)
_INDEX_PAGES = re.compile(
    r"^/(?:our[-_]?)?(?:work|research|blog|blogs|papers|publications|posts|articles|about|"
    r"team|people|projects|news|threads?|index|home|contact|careers|jobs)(?:\.html?|\.php)?/?$",
    re.I,
)
_HOME_PAGE = re.compile(r"^/?(?:index\.(?:html?|php))?$", re.I)


@dataclass(frozen=True)
class LinkVerdict:
    """What :func:`classify_url` makes of a link: a paper (with ids) or why not."""

    is_paper: bool
    reason: str | None = None
    ids: tuple[str, ...] = ()
    key: str | None = None  # identity of the work, to spot the same paper linked twice


def _url_key(host: str, path: str, query: str) -> str:
    clean = re.sub(r"/(?:index\.html?)?$", "", path)
    return f"url:{host}{clean}" + (f"?{query}" if query else "")


def classify_url(url: str) -> LinkVerdict:
    """Decide whether an external link points at a paper.

    Code repositories, videos, social posts, encyclopedia pages, site home pages and
    index/research-thread pages are not papers. arXiv, OpenReview, DOI, ACL
    Anthology, S2, publisher and article pages (e.g. transformer-circuits.pub/2022/...)
    are.
    """
    parsed = url_parts(url)
    if parsed is None:
        if re.match(r"^(?:mailto|ftp|file|javascript):", url.strip(), re.I):
            return LinkVerdict(False, "not a web link to a paper")
        return LinkVerdict(False, "not an http(s) URL")
    host, path, query = parsed
    if any(on_site(host, h) for h in _CODE_HOSTS):
        return LinkVerdict(False, "code repository, not a paper")
    if host == "huggingface.co":
        ids = canonical_ids_from_url(url)
        if ids:
            return LinkVerdict(True, ids=ids, key=ids[0])
        return LinkVerdict(False, "model or dataset page, not a paper")
    if host == "colab.research.google.com":
        return LinkVerdict(False, "notebook, not a paper")
    if any(on_site(host, h) for h in _VIDEO_HOSTS):
        return LinkVerdict(False, "video, not a paper")
    if any(on_site(host, h) for h in _SOCIAL_HOSTS):
        return LinkVerdict(False, "social media post, not a paper")
    if on_site(host, "wikipedia.org"):
        return LinkVerdict(False, "encyclopedia article, not a paper")
    if host == "openreview.net":
        ident = (parse_qs(query).get("id") or [""])[0]
        if re.match(r"^/(?:forum|pdf|attachment)/?$", path) and ident:
            return LinkVerdict(True, key=f"openreview:{ident}")
        return LinkVerdict(False, "index page / research thread, not a paper")
    if _HOME_PAGE.match(path) and not query:
        return LinkVerdict(False, "site home page, not a paper")
    if _INDEX_PAGES.match(path):
        return LinkVerdict(False, "index page / research thread, not a paper")
    ids = canonical_ids_from_url(url)
    key = next((i for i in ids if not i.startswith("URL:")), None) or _url_key(host, path, query)
    return LinkVerdict(True, ids=ids, key=key)


# --------------------------------------------------------------------------------------
# Link text: "Wang et al 2022 - Title"
# --------------------------------------------------------------------------------------

_NAME = r"[^\W\d_][\w'’.\-]*"
_SEP = r"(?:\s*,\s*|\s*&\s*|\s+and\s+|\s+)"
_CITE_PREFIX = re.compile(
    rf"^\s*(?:(?P<who>{_NAME}(?:{_SEP}{_NAME}){{0,4}}?(?:,?\s+et\.?\s+al\.?)?)\s*,?\s+)?"
    r"\(?(?P<year>(?:19|20)\d{2})[a-z]?\)?\s*(?:\s[-–—]|[-–—:.])\s+(?P<title>\S.*)$"
)


def split_citation_title(text: str) -> tuple[str, int | None]:
    """Split ``"Wang et al 2022 - Title"`` / ``"2023 - Title"`` into ``(title, year)``.

    Text without such an ``Author(s) [et al] YEAR -`` prefix is the whole title.
    """
    clean = " ".join(text.split())
    m = _CITE_PREFIX.match(clean)
    if not m:
        return clean, None
    who = m.group("who") or ""
    if len(who.split()) > 2 and not re.search(r"\bet\.?\s+al\b|&|\band\b|,", who):
        return clean, None  # "GPT-4 Technical Report 2023 - ..." is not an author list
    return m.group("title").strip(), int(m.group("year"))
