"""S2 JSON records -> litkg's dataclasses. Tolerant of every null S2 sends."""

from __future__ import annotations

from typing import Any

from kg.core.model import Author, Citation, Paper

_ID_KEYS = ("ArXiv", "DOI", "CorpusId", "DBLP", "MAG", "ACL", "PubMed", "PubMedCentral")


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _strings(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    out: list[str] = []
    for v in values:
        s = _str(v)
        if s and s not in out:
            out.append(s)
    return tuple(out)


def external_ids(record: dict[str, Any]) -> dict[str, str]:
    raw = record.get("externalIds") or {}
    ids: dict[str, str] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            if value is None or value == "":
                continue
            ids[key if key != "CorpusID" else "CorpusId"] = str(value)
    if "CorpusId" not in ids and record.get("corpusId") is not None:
        ids["CorpusId"] = str(record["corpusId"])
    if "DOI" in ids:
        ids["DOI"] = ids["DOI"].lower()
    return {k: ids[k] for k in sorted(ids, key=lambda k: (*_ID_KEYS, k).index(k))}


def paper_from_s2(record: dict[str, Any]) -> Paper:
    """One S2 paper object (any subset of fields) -> :class:`Paper`."""
    paper_id = _str(record.get("paperId"))
    if not paper_id:
        raise ValueError(f"S2 record without paperId: {str(record)[:120]}")
    authors = tuple(
        Author(name=name, author_id=_str(a.get("authorId")))
        for a in record.get("authors") or []
        if isinstance(a, dict) and (name := _str(a.get("name")))
    )
    fos: list[str] = list(_strings(record.get("fieldsOfStudy")))
    for item in record.get("s2FieldsOfStudy") or []:
        cat = _str(item.get("category")) if isinstance(item, dict) else None
        if cat and cat not in fos:
            fos.append(cat)
    venue = _str(record.get("venue"))
    pub_venue = record.get("publicationVenue")
    if not venue and isinstance(pub_venue, dict):
        venue = _str(pub_venue.get("name"))
    journal = record.get("journal")
    journal_name = _str(journal.get("name")) if isinstance(journal, dict) else None
    oa = record.get("openAccessPdf")
    tldr = record.get("tldr")
    is_oa = record.get("isOpenAccess")
    return Paper(
        paper_id=paper_id,
        title=_str(record.get("title")) or "(untitled)",
        abstract=_str(record.get("abstract")),
        year=_int(record.get("year")),
        venue=venue,
        authors=authors,
        external_ids=external_ids(record),
        url=_str(record.get("url")),
        publication_date=_str(record.get("publicationDate")),
        publication_types=_strings(record.get("publicationTypes")),
        fields_of_study=tuple(fos),
        citation_count=_int(record.get("citationCount")),
        reference_count=_int(record.get("referenceCount")),
        influential_citation_count=_int(record.get("influentialCitationCount")),
        is_open_access=is_oa if isinstance(is_oa, bool) else None,
        open_access_pdf=_str(oa.get("url")) if isinstance(oa, dict) else None,
        tldr=_str(tldr.get("text")) if isinstance(tldr, dict) else None,
        journal=journal_name,
        resolved=True,
    )


#: The SPECTER model whose vectors are stored (``embedding.specter_v2`` in the field lists).
SPECTER_MODEL = "specter_v2"


def specter_from_s2(record: dict[str, Any]) -> list[float] | None:
    """The SPECTER2 vector of an S2 record when it carries one.

    A vector of another model (S2 answers a bare ``embedding`` field with ``specter_v1``)
    is dropped: the store keeps one vector space, and a cosine between a SPECTER and a
    SPECTER2 vector means nothing. A vector without a model name is taken as asked for.
    """
    emb = record.get("embedding")
    if not isinstance(emb, dict):
        return None
    if emb.get("model") not in (None, SPECTER_MODEL):
        return None
    vector = emb.get("vector")
    if not isinstance(vector, list) or not vector:
        return None
    try:
        return [float(x) for x in vector]
    except (TypeError, ValueError):
        return None


def citation_from_entry(
    entry: dict[str, Any], anchor_id: str, direction: str
) -> tuple[Citation, dict[str, Any]] | None:
    """An entry of ``/references`` or ``/citations`` -> (edge, neighbour record).

    ``direction`` is ``"references"`` (anchor cites neighbour) or ``"citations"``
    (neighbour cites anchor). Entries whose neighbour S2 does not know (no
    ``paperId``) are dropped: they cannot be linked.
    """
    key = "citedPaper" if direction == "references" else "citingPaper"
    other = entry.get(key)
    if not isinstance(other, dict) or not _str(other.get("paperId")):
        return None
    other_id = str(other["paperId"])
    contexts = _strings(entry.get("contexts"))
    intents = _strings(entry.get("intents"))
    influential = entry.get("isInfluential")
    if direction == "references":
        citing, cited = anchor_id, other_id
    else:
        citing, cited = other_id, anchor_id
    return (
        Citation(
            citing=citing,
            cited=cited,
            contexts=contexts,
            intents=intents,
            is_influential=influential if isinstance(influential, bool) else None,
        ),
        other,
    )
