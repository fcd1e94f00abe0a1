"""Write a test :class:`~tests.s2server.World` out as an S2AG release (bulk datasets).

The layout and field names are those of the real datasets (``../shared/s2ag-samples``):
one folder per dataset (``papers``, ``citations``, ``abstracts``, ``tldrs``,
``embeddings-specter_v2``, ``paper-ids``) of gzipped JSONL shards; corpus ids are numbers
in ``papers`` and strings in ``citations``; an embedding's ``vector`` is a JSON list in a
string. The counts are the ones the test S2 server serves (derived from the edges), so a
bulk selection and an API crawl of the same world rank alike. Everything written is as
synthetic as the world it comes from.

:func:`write_release` writes a release; :func:`write_diff` writes the diff between two
worlds (update and delete files keyed by corpus id) in the layout ``litkg bulk --diff``
reads.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.s2server import World

_ID_NAMES = ("ACL", "DBLP", "ArXiv", "MAG", "CorpusId", "PubMed", "DOI", "PubMedCentral")


def _write_shards(folder: Path, rows: Iterable[dict[str, Any]], shards: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with ExitStack() as stack:
        outs = [
            stack.enter_context(
                gzip.open(folder / f"part-{i:03d}.jsonl.gz", "wt", encoding="utf-8")
            )
            for i in range(shards)
        ]
        for n, row in enumerate(rows, 1):
            outs[n % shards].write(json.dumps(row, ensure_ascii=False) + "\n")
    return n


def paper_row(world: World, pid: str) -> dict[str, Any]:
    """One paper as the ``papers`` dataset writes it."""
    rec = world.papers[pid]
    counts = world.counts(pid)
    ext = dict.fromkeys(_ID_NAMES)
    ext.update({k: str(v) for k, v in (rec.get("externalIds") or {}).items() if k in ext})
    ext["CorpusId"] = str(rec["corpusId"])
    fos = [{"category": c, "source": "external"} for c in rec.get("fieldsOfStudy") or []]
    fos += [dict(f) for f in rec.get("s2FieldsOfStudy") or [] if f not in fos]
    return {
        "corpusid": int(rec["corpusId"]),
        "externalids": ext,
        "url": f"https://www.semanticscholar.org/paper/{pid}",
        "title": rec.get("title"),
        "authors": [
            {"authorId": a.get("authorId"), "name": a.get("name")} for a in rec.get("authors") or []
        ],
        "venue": rec.get("venue") or "",
        "publicationvenueid": None,
        "year": rec.get("year"),
        "referencecount": counts["referenceCount"],
        "citationcount": counts["citationCount"],
        "influentialcitationcount": counts["influentialCitationCount"],
        "isopenaccess": bool(rec.get("isOpenAccess", bool(rec.get("openAccessPdf")))),
        "s2fieldsofstudy": fos,
        "publicationtypes": rec.get("publicationTypes"),
        "publicationdate": rec.get("publicationDate"),
        "journal": rec.get("journal"),
        "updated": "2026-11-01T00:00:00.000Z",
    }


def _rows(world: World, pids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {
        "papers": [],
        "abstracts": [],
        "tldrs": [],
        "embeddings-specter_v2": [],
        "paper-ids": [],
    }
    for pid in pids:
        rec = world.papers[pid]
        cid = int(rec["corpusId"])
        out["papers"].append(paper_row(world, pid))
        out["paper-ids"].append({"sha": pid, "corpusid": cid, "primary": True})
        if rec.get("abstract"):
            out["abstracts"].append(
                {
                    "corpusid": cid,
                    "openaccessinfo": {
                        "externalids": None,
                        "license": None,
                        "url": (rec.get("openAccessPdf") or {}).get("url"),
                        "status": None,
                    },
                    "abstract": rec["abstract"],
                    "updated": "2026-11-01T00:00:00.000Z",
                }
            )
        tldr = rec.get("tldr")
        if isinstance(tldr, dict) and tldr.get("text"):
            out["tldrs"].append({"corpusid": cid, "model": tldr.get("model"), "text": tldr["text"]})
        vector = (rec.get("embeddings") or {}).get("specter_v2")
        if vector is not None:
            out["embeddings-specter_v2"].append(
                {"corpusid": cid, "model": "specter_v2", "vector": json.dumps(vector)}
            )
    return out


def citation_rows(world: World) -> Iterator[dict[str, Any]]:
    """Every edge as the ``citations`` dataset writes it (an unresolved reference has a
    null ``citedcorpusid``)."""
    for edge in world.edges:
        citing = world.papers.get(edge["citingPaperId"])
        cited = world.papers.get(edge["citedPaperId"]) if edge.get("citedPaperId") else None
        if citing is None:
            continue
        contexts = edge.get("contextsWithIntent") or []
        yield {
            "citingcorpusid": str(citing["corpusId"]),
            "citedcorpusid": str(cited["corpusId"]) if cited else None,
            "isinfluential": bool(edge.get("isInfluential")),
            "contexts": [c["context"] for c in contexts if c.get("context")] or None,
            "intents": sorted({i for c in contexts for i in c.get("intents") or []}) or None,
            "updated": "2026-11-01T00:00:00.000Z",
        }


def write_release(world: World, root: Path, *, shards: int = 2) -> Path:
    """``world`` as an S2AG release under ``root`` (created); returns ``root``."""
    for name, rows in _rows(world, sorted(world.papers)).items():
        _write_shards(root / name, rows, shards)
    _write_shards(root / "citations", citation_rows(world), shards)
    return root


def write_diff(old: World, new: World, root: Path, *, from_release: str, to_release: str) -> Path:
    """The diff that turns ``old``'s release into ``new``'s: per dataset, the records
    added or changed (``updates``) and the keys of those gone (``deletes``)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "diff.json").write_text(
        json.dumps({"from_release": from_release, "to_release": to_release}), encoding="utf-8"
    )
    old_rows = _rows(old, sorted(old.papers))
    new_rows = _rows(new, sorted(new.papers))
    for name in old_rows:
        key = "sha" if name == "paper-ids" else "corpusid"
        before = {r[key]: r for r in old_rows[name]}
        after = {r[key]: r for r in new_rows[name]}
        updates = [r for k, r in after.items() if before.get(k) != r]
        deletes = [{key: k} for k in before if k not in after]
        _write_shards(root / name / "updates", updates, 1)
        _write_shards(root / name / "deletes", deletes, 1)
    pair = ("citingcorpusid", "citedcorpusid")
    old_c = {tuple(r[k] for k in pair): r for r in citation_rows(old)}
    new_c = {tuple(r[k] for k in pair): r for r in citation_rows(new)}
    _write_shards(
        root / "citations" / "updates", [r for k, r in new_c.items() if old_c.get(k) != r], 1
    )
    _write_shards(
        root / "citations" / "deletes",
        [dict(zip(pair, k, strict=True)) for k in old_c if k not in new_c],
        1,
    )
    return root
