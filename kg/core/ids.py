"""Paper identifiers: parsing and normalising arXiv ids, DOIs, PubMed and ACL Anthology ids,
S2 paper and corpus ids, and the ``local:`` id of a paper Semantic Scholar does not know.

One place for what ingest (seed sources, the resolver) and kg (the reading-list import,
the corpus' aliases, list matching) both need, so that the same written identifier
always means the same paper. Identifiers are put in the canonical S2 form
(``ARXIV:2404.14082``, ``DOI:10.1000/x``, ``CorpusId:123``, 40-hex, ``PMID:123``,
``ACL:P19-1001``, ``URL:...``); :func:`canonical_ids` turns what a user wrote into
that form and :func:`local_paper_id` derives a stable ``local:`` id from it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from kg.core.model import LOCAL_PREFIX
from kg.core.text import title_key

__all__ = [
    "ARXIV_IN_TEXT",
    "EXTERNAL_ID_NAMES",
    "S2_URL_SITES",
    "alias_key",
    "arxiv_in_text",
    "arxiv_url",
    "canonical_ids",
    "canonical_ids_from_url",
    "doi_as_typed",
    "doi_ids",
    "doi_key",
    "doi_url",
    "external_ids",
    "first_id",
    "id_rank",
    "local_paper_id",
    "normalise_arxiv_id",
    "normalise_doi",
    "on_site",
    "order_ids",
    "s2_id_from_url",
    "s2_url",
    "stored_aliases",
    "url_parts",
]

_ARXIV_NEW = r"[0-9]{4}\.[0-9]{4,5}"
_ARXIV_OLD = r"[a-zA-Z][a-zA-Z\-]*(?:\.[a-zA-Z]{2})?/[0-9]{7}"
_ARXIV_ID = re.compile(rf"^(?:arxiv\s*:\s*)?({_ARXIV_NEW}|{_ARXIV_OLD})(?:v[0-9]+)?$", re.I)
#: An arXiv id named in free text (``arXiv:2404.14082v2``, ``arXiv/hep-th/9901001``).
ARXIV_IN_TEXT = re.compile(rf"\barxiv\s*[:/]?\s*({_ARXIV_NEW}|{_ARXIV_OLD})(?:v[0-9]+)?\b", re.I)
_DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")
_DOI_PREFIX = re.compile(r"^(?:doi\s*:\s*|https?://(?:dx\.)?doi\.org/|(?:dx\.)?doi\.org/)", re.I)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.I)
_S2_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_S2_SHA_IN_PATH = re.compile(r"(?:^|/|-)([0-9a-fA-F]{40})$")
_CORPUS_ID = re.compile(r"^corpus_?id\s*:\s*([0-9]+)$", re.I)
_PREFIXED = re.compile(r"^(ACL|PMID|PMCID|MAG|URL)\s*:\s*(\S.*)$", re.I | re.S)
_DOI_IN_PATH = re.compile(
    r"/(?:doi/(?:abs/|full/|pdf/|epdf/|fullHtml/|book/)?|articles?/|content/(?:pdf/)?)"
    r"(10\.[0-9]{4,9}/[^?#\s]+)"
)
_BIORXIV = re.compile(
    r"/content/(10\.1101/[0-9.]+?)(?:v[0-9]+)?(?:\.full(?:\.pdf)?|\.abstract)?/?$"
)
_ACL_ID = re.compile(r"^([A-Z][0-9]{2}-[0-9]{4}|[0-9]{4}\.[a-z][a-z0-9\-]*\.[0-9]+)$", re.I)

#: Hosts whose URLs S2 resolves with ``URL:<url>`` (the host or any subdomain of it).
S2_URL_SITES = (
    "semanticscholar.org",
    "arxiv.org",
    "aclweb.org",
    "aclanthology.org",
    "acm.org",
    "biorxiv.org",
)

_ID_RANK = {
    "sha": 0,
    "CorpusId": 1,
    "ARXIV": 2,
    "DOI": 3,
    "ACL": 4,
    "PMID": 5,
    "PMCID": 6,
    "MAG": 7,
    "URL": 9,
}


def id_rank(value: str) -> int:
    """Where an id of this kind goes in :func:`order_ids` (lower: more specific)."""
    if _S2_SHA.match(value):
        return _ID_RANK["sha"]
    return _ID_RANK.get(value.split(":", 1)[0], 8)


def order_ids(ids: Sequence[str]) -> tuple[str, ...]:
    """Deduplicate, most specific first (S2 id, CorpusId, arXiv, DOI, ACL, ..., URL)."""
    unique = list(dict.fromkeys(i for i in ids if i))
    return tuple(sorted(unique, key=id_rank))


def normalise_arxiv_id(value: str) -> str | None:
    """The bare arXiv id (``2404.14082``, ``hep-th/9901001``), version dropped; None if not one.

    Accepts ``arXiv:``/``ARXIV:`` prefixes and version suffixes (``2404.14082v2``).
    New-style ids are checked for a plausible ``YYMM``.
    """
    m = _ARXIV_ID.match(value.strip())
    if not m:
        return None
    ident = m.group(1)
    if "/" in ident:
        archive, number = ident.split("/", 1)
        head, _, sub = archive.partition(".")
        return f"{head.lower()}{'.' + sub.upper() if sub else ''}/{number}"
    yymm = ident.split(".", 1)[0]
    if not 1 <= int(yymm[2:]) <= 12 or int(yymm[:2]) < 7:
        return None
    if int(yymm) >= 1501 and len(ident.split(".", 1)[1]) != 5:
        return None
    return ident


def normalise_doi(value: str) -> str | None:
    """The bare DOI, lowercased (``10.48550/arxiv.2307.09458``); None if not a DOI.

    Strips ``doi:``/``DOI:`` and ``https://doi.org/`` (or ``dx.doi.org``) prefixes,
    the percent-escapes of such a URL and trailing punctuation.
    """
    text = value.strip()
    was_url = False
    while True:
        stripped = _DOI_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        was_url = was_url or "doi.org" in text[: len(text) - len(stripped)].lower()
        text = stripped.strip()
    if was_url:
        text = unquote(text).strip()
    text = text.rstrip(".,;")
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip(".,;")
    if not _DOI.match(text):
        return None
    return text.lower()


def doi_ids(doi: str) -> list[str]:
    """``DOI:<doi>``, and ``ARXIV:<id>`` too for an arXiv DOI (``10.48550/arxiv.<id>``)."""
    ids = [f"DOI:{doi}"]
    m = _ARXIV_DOI.match(doi)
    if m and (arxiv := normalise_arxiv_id(m.group(1))):
        ids.append(f"ARXIV:{arxiv}")
    return ids


def url_parts(url: str) -> tuple[str, str, str] | None:
    """(host without ``www.``, path, query) of an http(s) URL, or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    host = host.removeprefix("www.")
    return host, unquote(parts.path), parts.query


def on_site(host: str, site: str) -> bool:
    """``host`` is ``site`` or a subdomain of it."""
    return host == site or host.endswith("." + site)


def canonical_ids_from_url(url: str) -> tuple[str, ...]:
    """The S2 identifiers a URL gives, most specific first (``()`` if none).

    ``https://arxiv.org/pdf/2404.14082v2.pdf`` gives ``("ARXIV:2404.14082",
    "URL:https://arxiv.org/pdf/2404.14082v2.pdf")``; ``https://doi.org/10.X/Y`` gives
    ``("DOI:10.x/y",)``; a semanticscholar.org paper URL gives its 40-hex id; a URL
    on a site S2 recognises (:data:`S2_URL_SITES`) also gives ``URL:<url>``.
    """
    url = url.strip()
    parsed = url_parts(url)
    if parsed is None:
        return ()
    host, path, query = parsed
    ids: list[str] = []
    if on_site(host, "arxiv.org"):
        m = re.match(r"^/(?:abs|pdf|html|format|ps)/(.+?)(?:\.pdf)?/?$", path)
        if m and (arxiv := normalise_arxiv_id(m.group(1))):
            ids.append(f"ARXIV:{arxiv}")
    elif host in ("doi.org", "dx.doi.org"):
        if doi := normalise_doi(path.lstrip("/")):
            ids.extend(doi_ids(doi))
    elif on_site(host, "semanticscholar.org"):
        clean = path.rstrip("/")
        if m := _S2_SHA_IN_PATH.search(clean):
            ids.append(m.group(1).lower())
        elif m := re.search(r"CorpusI[Dd]:([0-9]+)$", clean):
            ids.append(f"CorpusId:{m.group(1)}")
        elif (m := re.search(r"/arxiv/(.+)$", clean)) and (arxiv := normalise_arxiv_id(m.group(1))):
            ids.append(f"ARXIV:{arxiv}")
    elif on_site(host, "aclanthology.org") or on_site(host, "aclweb.org"):
        last = path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".pdf")
        if _ACL_ID.match(last):
            ids.append(f"ACL:{last}")
    elif host == "huggingface.co":
        m = re.match(r"^/papers/([^/]+)/?$", path)
        if m and (arxiv := normalise_arxiv_id(m.group(1))):
            ids.append(f"ARXIV:{arxiv}")
    elif host == "pubmed.ncbi.nlm.nih.gov":
        m = re.match(r"^/([0-9]+)/?$", path)
        if m:
            ids.append(f"PMID:{m.group(1)}")
    if on_site(host, "biorxiv.org"):
        m = _BIORXIV.search(path)
        if m and (doi := normalise_doi(m.group(1))):
            ids.extend(doi_ids(doi))
    if not any(i.startswith("DOI:") for i in ids) and host not in ("doi.org", "dx.doi.org"):
        m = _DOI_IN_PATH.search(path)
        if m:
            raw = re.sub(r"(?:\.pdf|/full|/abstract|/pdf|/epdf|/meta)+/?$", "", m.group(1))
            if doi := normalise_doi(raw):
                ids.extend(doi_ids(doi))
        elif "doi=" in query.lower():
            for value in parse_qs(query).get("doi", []):
                if doi := normalise_doi(value):
                    ids.extend(doi_ids(doi))
    if any(on_site(host, site) for site in S2_URL_SITES):
        ids.append(f"URL:{url}")
    return order_ids(ids)


def canonical_ids(value: str) -> tuple[str, ...]:
    """The canonical S2 identifiers one written identifier stands for (``()`` if none).

    Accepts a 40-hex S2 id, ``CorpusId:123``, ``ARXIV:2404.14082`` / ``arXiv:...`` /
    a bare arXiv id (``2404.14082v2``, ``hep-th/9901001``), ``DOI:10.x/y`` / a bare
    DOI / a doi.org URL, ``ACL:``/``PMID:``/``PMCID:``/``MAG:``/``URL:`` ids and any
    http(s) URL (see :func:`canonical_ids_from_url`). Idempotent: every id it
    returns maps back to a tuple containing that id.
    """
    text = value.strip()
    if not text:
        return ()
    if _S2_SHA.match(text):
        return (text.lower(),)
    if m := _CORPUS_ID.match(text):
        return (f"CorpusId:{int(m.group(1))}",)
    if arxiv := normalise_arxiv_id(text):
        return (f"ARXIV:{arxiv}",)
    if text.lower().startswith(("http://", "https://")):
        return canonical_ids_from_url(text)
    if doi := normalise_doi(text):
        return order_ids(doi_ids(doi))
    if m := _PREFIXED.match(text):
        kind, rest = m.group(1).upper(), m.group(2).strip()
        if kind == "URL":
            from_url = canonical_ids_from_url(rest)
            return order_ids([*from_url, f"URL:{rest}"])
        if kind == "PMCID":
            return (f"PMCID:{rest}",)
        return (f"{kind}:{rest}",)
    return ()


# --------------------------------------------------------------------------------------
# Derived forms
# --------------------------------------------------------------------------------------

#: S2's ``externalIds`` key for each canonical id kind a local paper keeps.
EXTERNAL_ID_NAMES: Mapping[str, str] = {
    "ARXIV": "ArXiv",
    "DOI": "DOI",
    "ACL": "ACL",
    "PMID": "PubMed",
    "CorpusId": "CorpusId",
    "MAG": "MAG",
}

_S2_URL = re.compile(r"semanticscholar\.org/paper/(?:[^/?#]*/)?([0-9a-fA-F]{40})(?:[/?#]|$)")


def external_ids(ids: Sequence[str]) -> dict[str, str]:
    """S2-style ``externalIds`` (``{"ArXiv": ..., "DOI": ...}``) of canonical ids, the
    first of each kind kept."""
    out: dict[str, str] = {}
    for ident in ids:
        kind, _, value = ident.partition(":")
        if kind in EXTERNAL_ID_NAMES and EXTERNAL_ID_NAMES[kind] not in out:
            out[EXTERNAL_ID_NAMES[kind]] = value
    return out


def first_id(ids: Sequence[str], kind: str) -> str | None:
    """The value of the first ``<kind>:`` id (``first_id(ids, "ARXIV")``), or None."""
    prefix = kind + ":"
    return next((i[len(prefix) :] for i in ids if i.startswith(prefix)), None)


def local_paper_id(ids: Sequence[str], title: str, year: int | None) -> str:
    """The ``local:`` id of a paper S2 does not (yet) know, the same wherever it is read.

    Derived from the most specific of its canonical ids (:func:`order_ids` order: an
    S2 id, CorpusId, arXiv, DOI, ACL, PubMed, ..., ``URL:`` last), else from its title
    (:func:`~kg.core.text.title_key`) and year. This is the rule the ingest has always
    stored local papers by (the reading-list import used to key PubMed-only, ACL-only
    and URL-only entries by title instead), so the ids of existing corpora stay as
    they are. A listed link's ``URL:`` ids are left out by its caller
    (:func:`ingest.sources.local.local_paper`).
    """
    ordered = order_ids(ids)
    basis = ordered[0] if ordered else f"{title_key(title)}|{year or ''}"
    return LOCAL_PREFIX + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def doi_as_typed(value: str) -> str:
    """A DOI as written, without its ``doi:`` / ``https://doi.org/`` prefix (case kept: a
    reading list gives the DOI back as the user wrote it)."""
    return _DOI_PREFIX.sub("", value.strip(), count=1).strip()


def doi_key(value: str) -> str:
    """The key a DOI is matched by: :func:`normalise_doi`, else (not a well-formed DOI)
    the text lowercased without a ``doi:`` / ``https://doi.org/`` prefix.

    Reading lists matched DOIs by that fallback alone; :func:`normalise_doi` is the
    right key since it also drops what a DOI copied from prose or a URL carries (a
    trailing full stop, percent-escapes), and it gives the same key as before for every
    well-formed DOI without them.
    """
    return normalise_doi(value) or doi_as_typed(value).lower()


def arxiv_in_text(text: str) -> str | None:
    """The arXiv id a free-text field names (``arXiv:2404.14082v2``, ``arXiv preprint
    arXiv/...``) or an arXiv URL in it points at, normalised; None if neither."""
    if (m := ARXIV_IN_TEXT.search(text)) and (arxiv := normalise_arxiv_id(m.group(1))):
        return arxiv
    for word in text.split():
        if word.lower().startswith(("http://", "https://")):
            ids = canonical_ids_from_url(word)
            if arxiv := first_id(ids, "ARXIV"):
                return arxiv
    return None


def s2_id_from_url(url: str | None) -> str | None:
    """The 40-hex S2 paper id of a semanticscholar.org paper page URL, or None."""
    m = _S2_URL.search(url or "")
    return m.group(1).lower() if m else None


def arxiv_url(arxiv: str) -> str:
    """The arXiv abstract page of an id."""
    return f"https://arxiv.org/abs/{arxiv}"


def doi_url(doi: str) -> str:
    """The doi.org address of a DOI."""
    return f"https://doi.org/{doi}"


def s2_url(paper_id: str) -> str:
    """The Semantic Scholar page of an S2 paper id."""
    return f"https://www.semanticscholar.org/paper/{paper_id}"


#: The external ids the corpus indexes a paper by, with their alias prefix.
_ALIAS_KINDS = {"ArXiv": "ARXIV", "DOI": "DOI", "CorpusId": "CorpusId"}


def stored_aliases(external: Mapping[str, str]) -> list[str]:
    """The aliases a paper is found by besides its id: ``ARXIV:``, ``DOI:`` (lowercase) and
    ``CorpusId:`` of its S2-style external ids."""
    out = []
    for key, value in external.items():
        if prefix := _ALIAS_KINDS.get(key):
            out.append(f"{prefix}:{value.lower() if prefix == 'DOI' else value}")
    return out


def alias_key(alias: str) -> str:
    """An alias as typed (``doi:10.X/Y``, ``arxiv:2404.14082``) in the form
    :func:`stored_aliases` stores it: the kind's case fixed, a DOI lowercased."""
    if alias.upper().startswith("DOI:"):
        return "DOI:" + alias[4:].lower()
    if alias.upper().startswith("ARXIV:"):
        return "ARXIV:" + alias[6:]
    return alias
