"""The local paper a listed work becomes while Semantic Scholar cannot resolve it."""

from __future__ import annotations

from collections.abc import Mapping

from ingest.types import SeedRef
from kg.core.ids import arxiv_url, doi_url, external_ids, local_paper_id
from kg.core.model import Paper

__all__ = ["local_paper", "paper_url"]


def paper_url(external: Mapping[str, str]) -> str | None:
    """The address of a paper known by its external ids: arXiv, else doi.org, else None."""
    if "ArXiv" in external:
        return arxiv_url(external["ArXiv"])
    if "DOI" in external:
        return doi_url(external["DOI"])
    return None


def local_paper(ref: SeedRef) -> Paper | None:
    """The local paper a listed work becomes while S2 cannot resolve it (None: no title).

    A BibTeX/Zotero entry's own metadata, else what the listing says: the title
    (a link's text), the year and the URL, with its arXiv id / DOI kept as external
    ids. The ``local:`` id is derived from the ids or the title and year as for
    BibTeX entries (:func:`kg.core.ids.local_paper_id`), so a later run finds it
    again and folds it into the S2 record.
    """
    if ref.metadata is not None:
        return ref.metadata
    title = " ".join(ref.title.split())
    if not title:
        return None
    ids = [i for i in ref.ids if not i.startswith("URL:")]
    external = external_ids(ids)
    return Paper(
        paper_id=local_paper_id(ids, title, ref.year),
        title=title,
        year=ref.year,
        external_ids=external,
        url=ref.url if ref.url is not None else paper_url(external),
        resolved=False,
    )
