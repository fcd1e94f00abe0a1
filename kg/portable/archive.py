"""Portable corpus snapshots: the corpus as Parquet files, exported and merged back in.

A snapshot is a directory (or one ``.tar`` / ``.tar.gz`` of it) of Parquet files and a
``manifest.json`` (format version, litkg version, creation time, every source with its
licence and fetch time, row counts, the sha256 of every file). Anyone can read it with
pyarrow, pandas, DuckDB or Polars; ``docs/snapshot-format.md`` documents each column.
One person with a Semantic Scholar key ingests and exports; the others import, and
``litkg build`` then needs no S2 call and re-embeds nothing (the text embeddings travel
with the snapshot and go into the embedding cache under the keys the build looks up).

:func:`export_snapshot` writes one: the whole corpus, or one reading list (a seed
source, or a user's list of ``reading-lists.json``) with the papers citing or cited by
its papers. :func:`import_snapshot` checks a snapshot (format version, checksums,
columns) and merges it into the corpus without downgrading anything: a paper already
known in more detail, or fetched later, stays; an edge with citation contexts stays; a
resolved seed row stays. A second import of the same snapshot changes nothing. Each
import is remembered in the corpus store (``snapshot_imports``), and the RDF build
writes a PROV named graph per imported snapshot (``graph/snapshot/<id>``).

Nothing read from a snapshot can run code: Parquet and JSON only, archives are unpacked
member by member (plain files only: no links, no absolute paths, no ``..``), downloads
are capped in size.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

import numpy as np

from kg.core.fileio import writer_lock
from kg.core.model import Author, Citation, Paper
from kg.core.settings import Settings
from kg.formats.snapshot import (
    CHUNK,
    FORMAT_VERSION,
    LIST_LICENCE,
    LOCAL_LICENCE,
    MANIFEST,
    MAX_DOWNLOAD_BYTES,
    MAX_UNPACKED_BYTES,
    S2_LICENCE,
    SCHEMAS,
    SPECTER_MODEL,
    ExportReport,
    ImportReport,
    SnapshotError,
    litkg_version,
    publish,
    read_manifest,
    read_table,
    read_vectors,
    sha256_of,
    write_table,
)
from kg.graph.knowledge import MANIFEST as BUILD_MANIFEST
from kg.store.corpus import CorpusStore, PaperRow, SeedRow, now_iso
from kg.store.readinglists import ReadingLists
from kg.text.embed import CACHE_FILENAME, EmbeddingCache, cache_key, equivalent_names, paper_text

#: The snapshot table of S2's SPECTER vectors (read as arrays on import).
SPECTER_TABLE = "specter.parquet"

__all__ = [
    "export_snapshot",
    "import_snapshot",
    "opened",
    "papers_from",
]


# --------------------------------------------------------------------------- export
@dataclass
class _Selection:
    """What one export holds."""

    papers: list[PaperRow]
    citations: list[tuple[Citation, str | None, str | None]]
    seeds: list[tuple[SeedRow, str | None]]
    aliases: list[tuple[str, str]]
    same_as: list[tuple[str, str, str | None]]
    list_name: str | None = None


def _select(store: CorpusStore, settings: Settings, list_name: str | None) -> _Selection:
    seeds = store.seed_rows()
    if list_name is None:
        return _Selection(
            list(store.paper_rows()),
            list(store.citation_rows()),
            seeds,
            store.aliases(),
            store.same_as_rows(),
        )
    core = _list_papers(store, settings, list_name, seeds)
    keep = set(core) | set(store.neighbours(core))
    by_source = [s for s in seeds if s[0].source == list_name]
    chosen_seeds = by_source or [s for s in seeds if s[0].paper_id in keep]
    return _Selection(
        [r for r in store.paper_rows() if r.paper.paper_id in keep],
        [c for c in store.citation_rows() if c[0].citing in keep and c[0].cited in keep],
        chosen_seeds,
        [a for a in store.aliases() if a[1] in keep],
        [t for t in store.same_as_rows() if t[0] in keep and t[1] in keep],
        list_name,
    )


def _list_papers(
    store: CorpusStore, settings: Settings, name: str, seeds: Sequence[tuple[SeedRow, str | None]]
) -> list[str]:
    """The papers of a seed source named ``name``, or of the user's reading list ``name``."""
    ids = [s.paper_id for s, _ in seeds if s.source == name and s.paper_id]
    if ids:
        return list(dict.fromkeys(ids))

    found = ReadingLists.open(settings).find(name)
    if found is not None and found.paper_ids:
        return [p for p in found.paper_ids if store.get_paper(p) is not None]
    sources = sorted({s.source for s, _ in seeds})
    lists = ReadingLists.open(settings).names()
    raise SnapshotError(
        f"no reading list {name!r} with papers in the corpus. Seed sources: "
        f"{', '.join(sources) or 'none'}; your lists: {', '.join(lists) or 'none'}. "
        f"Pass one of them to --list, or leave --list out to export the whole corpus."
    )


def _embedding_model(settings: Settings) -> str | None:
    """The text embedder of the last build (else the one with most cached vectors)."""

    cache = settings.graph_dir / CACHE_FILENAME
    if not cache.is_file():
        return None
    try:
        name = json.loads((settings.graph_dir / BUILD_MANIFEST).read_text()).get("embedder")
    except (OSError, ValueError, AttributeError):
        name = None
    with EmbeddingCache(settings.graph_dir) as cached:
        models = cached.models()
    if name in models:
        return str(name)
    return max(models, key=lambda m: (models[m], m)) if models else None


def _cached_vectors(
    settings: Settings, model: str | None, papers: Sequence[Paper]
) -> tuple[list[str], list[np.ndarray]]:
    if model is None or not papers:
        return [], []
    texts = [paper_text(p.title, p.abstract)[0] for p in papers]
    with EmbeddingCache(settings.graph_dir) as cache:
        found = _get_any_dim(cache, model, texts)
    ids = [papers[i].paper_id for i in sorted(found)]
    return ids, [found[i] for i in sorted(found)]


def _get_any_dim(cache: EmbeddingCache, model: str, texts: Sequence[str]) -> dict[int, np.ndarray]:
    """Cached vectors of ``model`` whatever their dimension (``get_many`` wants one): a
    scan of the model's rows, matched by :func:`kg.text.embed.cache_key`."""

    keys: dict[bytes, list[int]] = {}
    for i, t in enumerate(texts):
        keys.setdefault(cache_key(model, t), []).append(i)  # two papers may share a text
    out: dict[int, np.ndarray] = {}
    rows = cache._db.execute("SELECT key, dim, vec FROM embeddings WHERE model = ?", (model,))
    for key, dim, blob in rows:
        if len(blob) == 4 * int(dim):
            for i in keys.get(bytes(key), ()):
                out[i] = np.frombuffer(blob, dtype=np.float32)
    return out


def export_snapshot(
    settings: Settings,
    path: Path | str,
    *,
    list_name: str | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
) -> ExportReport:
    """Write the corpus (or one reading list and its neighbourhood) as a snapshot at
    ``path``: a directory, or an archive when ``path`` ends in ``.tar`` or ``.tar.gz``.
    Refuses to write over anything that exists. ``manifest_extra``'s keys go into the
    manifest over the computed ones (e.g. a fixed ``created_at`` and the ``sources``
    with their real licences, as ``data/starter/make_starter.py`` writes them)."""
    path = Path(path)
    if path.exists():
        raise SnapshotError(f"{path} already exists; export to a new path (or remove it first).")
    with CorpusStore(settings.corpus_path, create=False) as store:
        sel = _select(store, settings, list_name)
    model = _embedding_model(settings)
    papers = [r.paper for r in sel.papers]
    vec_ids, vectors = _cached_vectors(settings, model, papers)

    counts: dict[str, int] = {}

    def fill(work: Path) -> dict[str, Any]:
        counts.update(_write_files(work, sel, model, vec_ids, vectors))
        return _manifest(work, sel, counts, model, vectors) | dict(manifest_extra or {})

    size = publish(path, fill)
    return ExportReport(path, counts, model, list_name, size)


def _write_files(
    out: Path,
    sel: _Selection,
    model: str | None,
    vec_ids: Sequence[str],
    vectors: Sequence[np.ndarray],
) -> dict[str, int]:
    papers = [r.paper for r in sel.papers]
    counts: dict[str, int] = {}
    counts["papers"] = write_table(
        out,
        "papers.parquet",
        {
            "paper_id": [p.paper_id for p in papers],
            "title": [p.title for p in papers],
            "abstract": [p.abstract for p in papers],
            "tldr": [p.tldr for p in papers],
            "year": [p.year for p in papers],
            "venue": [p.venue for p in papers],
            "journal": [p.journal for p in papers],
            "publication_date": [p.publication_date for p in papers],
            "url": [p.url for p in papers],
            "external_ids": [sorted(p.external_ids.items()) for p in papers],
            "publication_types": [list(p.publication_types) for p in papers],
            "fields_of_study": [list(p.fields_of_study) for p in papers],
            "citation_count": [p.citation_count for p in papers],
            "reference_count": [p.reference_count for p in papers],
            "influential_citation_count": [p.influential_citation_count for p in papers],
            "is_open_access": [p.is_open_access for p in papers],
            "open_access_pdf": [p.open_access_pdf for p in papers],
            "tags": [list(p.tags) for p in papers],
            "resolved": [p.resolved for p in papers],
            "detail": [r.detail for r in sel.papers],
            "endpoint": [r.endpoint for r in sel.papers],
            "fetched_at": [r.fetched_at for r in sel.papers],
        },
    )
    slots = [(p.paper_id, i, a) for p in papers for i, a in enumerate(p.authors)]
    counts["authors"] = write_table(
        out,
        "authors.parquet",
        {
            "paper_id": [pid for pid, _, _ in slots],
            "position": [i for _, i, _ in slots],
            "name": [a.name for _, _, a in slots],
            "author_id": [a.author_id for _, _, a in slots],
        },
    )
    cites = sel.citations
    counts["citations"] = write_table(
        out,
        "citations.parquet",
        {
            "citing": [c.citing for c, _, _ in cites],
            "cited": [c.cited for c, _, _ in cites],
            "contexts": [list(c.contexts) for c, _, _ in cites],
            "intents": [list(c.intents) for c, _, _ in cites],
            "is_influential": [c.is_influential for c, _, _ in cites],
            "endpoint": [e for _, e, _ in cites],
            "fetched_at": [t for _, _, t in cites],
        },
    )
    seeds = sel.seeds
    counts["seeds"] = write_table(
        out,
        "seeds.parquet",
        {
            "source": [s.source for s, _ in seeds],
            "position": [s.position for s, _ in seeds],
            "title": [s.title for s, _ in seeds],
            "status": [s.status for s, _ in seeds],
            "paper_id": [s.paper_id for s, _ in seeds],
            "url": [s.url for s, _ in seeds],
            "ids": [list(s.ids) for s, _ in seeds],
            "section_path": [list(s.section_path) for s, _ in seeds],
            "note": [s.note for s, _ in seeds],
            "method": [s.method for s, _ in seeds],
            "match_score": [s.match_score for s, _ in seeds],
            "reason": [s.reason for s, _ in seeds],
            "updated_at": [t for _, t in seeds],
        },
    )
    counts["aliases"] = write_table(
        out,
        "aliases.parquet",
        {"alias": [a for a, _ in sel.aliases], "paper_id": [p for _, p in sel.aliases]},
    )
    counts["same_as"] = write_table(
        out,
        "same_as.parquet",
        {
            "paper_id": [a for a, _, _ in sel.same_as],
            "canonical_id": [b for _, b, _ in sel.same_as],
            "reason": [r for _, _, r in sel.same_as],
        },
    )
    counts["embeddings"] = write_table(
        out,
        "embeddings.parquet",
        {
            "paper_id": list(vec_ids),
            "model": [model] * len(vec_ids),
            "vector": [v.tolist() for v in vectors],
        },
    )
    spec = [r for r in sel.papers if r.specter is not None]
    counts["specter"] = write_table(
        out,
        "specter.parquet",
        {
            "paper_id": [r.paper.paper_id for r in spec],
            "vector": [r.specter.tolist() for r in spec if r.specter is not None],
        },
    )
    return counts


def _sources(sel: _Selection) -> list[dict[str, Any]]:
    """Where the snapshot's rows came from, with their licence and latest fetch time."""
    groups: dict[tuple[str, str | None], list[str | None]] = {}
    for r in sel.papers:
        kind = "papers" if r.paper.resolved else "local"
        groups.setdefault((kind, r.endpoint), []).append(r.fetched_at)
    for _, endpoint, fetched_at in sel.citations:
        groups.setdefault(("citations", endpoint), []).append(fetched_at)
    for s, updated_at in sel.seeds:
        groups.setdefault(("seeds", s.source), []).append(updated_at)
    out = []
    for (kind, where), times in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        known = [t for t in times if t]
        entry: dict[str, Any] = {"kind": kind}
        if kind in ("papers", "citations"):
            entry |= {"name": "Semantic Scholar API", "endpoint": where, "licence": S2_LICENCE}
        elif kind == "local":
            entry |= {"name": "user file", "endpoint": where, "licence": LOCAL_LICENCE}
        else:
            entry |= {"name": where, "licence": LIST_LICENCE}
        entry |= {"rows": len(times), "fetched_at": max(known) if known else None}
        out.append(entry)
    return out


def _manifest(
    out: Path,
    sel: _Selection,
    counts: Mapping[str, int],
    model: str | None,
    vectors: Sequence[np.ndarray],
) -> dict[str, Any]:
    spec_dims = {len(r.specter) for r in sel.papers if r.specter is not None}
    return {
        "format": "litkg.snapshot",
        "format_version": FORMAT_VERSION,
        "litkg_version": litkg_version(),
        "created_at": now_iso(),
        "list": sel.list_name,
        # No citation edges: the snapshot gives the papers' text only.
        "text_only": counts.get("citations", 0) == 0,
        "sources": _sources(sel),
        "counts": dict(counts),
        "embeddings": {
            "model": model,
            "dim": len(vectors[0]) if vectors else None,
            "specter": {
                "model": SPECTER_MODEL,
                "dim": max(spec_dims) if spec_dims else None,
            },
        },
        "files": {name: sha256_of(out / name) for name in sorted(SCHEMAS)},
    }


# --------------------------------------------------------------------------- reading
Opener = Callable[[str], IO[bytes]]


def _default_opener(url: str) -> IO[bytes]:
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": f"litkg/{litkg_version()}"})
    return urllib.request.urlopen(request, timeout=60)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        return
    raise SnapshotError(
        f"{url}: only https:// URLs are fetched (plain http only from this machine, "
        f"127.0.0.1); download the snapshot another way and import the file."
    )


def _download(url: str, dest: Path, opener: Opener, max_bytes: int) -> Path:
    _check_url(url)
    target = dest / "download"
    got = 0
    try:
        with opener(url) as response, target.open("wb") as out:
            while chunk := response.read(CHUNK):
                got += len(chunk)
                if got > max_bytes:
                    raise SnapshotError(
                        f"{url} is larger than {max_bytes / 1e6:.0f} MB, the most litkg "
                        f"downloads; download it yourself and import the file."
                    )
                out.write(chunk)
    except OSError as exc:
        raise SnapshotError(
            f"cannot download {url} ({exc}); check the URL and the network, or download "
            f"the snapshot yourself and import the file."
        ) from exc
    return target


def _safe_member(member: tarfile.TarInfo, origin: str) -> str | None:
    """The member's name when it may be unpacked (None for a directory); else refuse."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or "\\" in member.name:
        raise SnapshotError(f"{origin}: the archive names {member.name!r} outside itself; refused")
    if member.isdir():
        return None
    if not member.isfile():
        raise SnapshotError(
            f"{origin}: the archive holds {member.name!r}, which is not a plain file (a link "
            f"or device); snapshots hold plain files only. Refused."
        )
    return str(name)


def _unpack(archive: Path, dest: Path, origin: str) -> Path:
    """Unpack a tar (plain or gzip) member by member; returns the folder with the manifest."""
    total = 0
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = _safe_member(member, origin)
                if name is None:
                    continue
                total += member.size
                if total > MAX_UNPACKED_BYTES:
                    raise SnapshotError(f"{origin}: the archive unpacks to too much; refused")
                target = dest.joinpath(*PurePosixPath(name).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                if src is None:  # pragma: no cover - isfile() members always have data
                    continue
                with src, target.open("wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SnapshotError(
            f"{origin} is not a readable snapshot archive ({exc}); export it again, or "
            f"import the snapshot's folder."
        ) from exc
    if (dest / MANIFEST).is_file():
        return dest
    inner = [p for p in dest.iterdir() if p.is_dir()]
    if len(inner) == 1 and (inner[0] / MANIFEST).is_file():
        return inner[0]
    raise SnapshotError(f"{origin}: the archive holds no {MANIFEST}; is it a litkg snapshot?")


@contextmanager
def opened(source: Path | str, opener: Opener | None, max_bytes: int) -> Iterator[tuple[Path, str]]:
    """The snapshot's folder (unpacked or downloaded into a temp dir when needed)."""
    text = str(source)
    with tempfile.TemporaryDirectory(prefix="litkg-snapshot-") as tmp:
        work = Path(tmp)
        if "://" in text:
            path = _download(text, work, opener or _default_opener, max_bytes)
            yield _unpack(path, work / "unpacked", text), text
            return
        path = Path(source)
        if path.is_dir():
            yield path, text
        elif path.is_file():
            yield _unpack(path, work / "unpacked", text), text
        else:
            raise SnapshotError(f"no snapshot at {path}; pass its folder, archive or https URL.")


def papers_from(
    rows: Iterable[dict[str, Any]], authors: Iterable[dict[str, Any]]
) -> list[tuple[Paper, int, str | None, str | None]]:
    slots: dict[str, list[tuple[int, Author]]] = {}
    for a in authors:
        slots.setdefault(a["paper_id"], []).append(
            (a["position"], Author(a["name"], a["author_id"]))
        )
    out = []
    for r in rows:
        paper = Paper(
            paper_id=r["paper_id"],
            title=r["title"],
            abstract=r["abstract"],
            year=r["year"],
            venue=r["venue"],
            authors=tuple(a for _, a in sorted(slots.get(r["paper_id"], []), key=lambda s: s[0])),
            external_ids=dict(r["external_ids"] or []),
            url=r["url"],
            publication_date=r["publication_date"],
            publication_types=tuple(r["publication_types"] or ()),
            fields_of_study=tuple(r["fields_of_study"] or ()),
            citation_count=r["citation_count"],
            reference_count=r["reference_count"],
            influential_citation_count=r["influential_citation_count"],
            is_open_access=r["is_open_access"],
            open_access_pdf=r["open_access_pdf"],
            tldr=r["tldr"],
            journal=r["journal"],
            tags=tuple(r["tags"] or ()),
            resolved=bool(r["resolved"]),
        )
        out.append((paper, int(r["detail"]), r["endpoint"], r["fetched_at"]))
    return out


# --------------------------------------------------------------------------- import
def import_snapshot(
    settings: Settings,
    source: Path | str,
    *,
    opener: Opener | None = None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> ImportReport:
    """Check a snapshot (folder, ``.tar``/``.tar.gz``, or https URL) and merge it into
    the corpus at ``settings.corpus_path`` (created when absent). Holds the data dir's
    writer lock. ``opener`` fetches a URL (default: urllib, 60 s timeout); a download
    over ``max_bytes`` is refused."""
    with (
        writer_lock(settings.data_dir, "snapshot import"),
        opened(source, opener, max_bytes) as (folder, origin),
    ):
        manifest = read_manifest(folder)
        snapshot_id = sha256_of(folder / MANIFEST)
        # SPECTER vectors as arrays, not lists of Python floats (field-scale snapshots).
        tables = {name: read_table(folder, name) for name in SCHEMAS if name != SPECTER_TABLE}
        specter = read_vectors(folder, SPECTER_TABLE)
        return _merge(settings, manifest, snapshot_id, origin, tables, specter)


def _merge(
    settings: Settings,
    manifest: dict[str, Any],
    snapshot_id: str,
    origin: str,
    tables: Mapping[str, list[dict[str, Any]]],
    specter: Mapping[str, np.ndarray],
) -> ImportReport:
    papers = papers_from(tables["papers.parquet"], tables["authors.parquet"])
    counts = {k: len(v) for k, v in tables.items()}
    counts[SPECTER_TABLE] = len(specter)
    counts = {name.removesuffix(".parquet"): n for name, n in counts.items()}
    with CorpusStore(settings.corpus_path) as store, store.transaction():
        before = store.changes()
        known_aliases = {a for a, _ in store.aliases()}
        for paper, detail, endpoint, fetched_at in papers:
            _merge_paper(store, paper, detail, endpoint, fetched_at, specter.get(paper.paper_id))
        store.merge_citations(
            (
                Citation(
                    r["citing"],
                    r["cited"],
                    tuple(r["contexts"] or ()),
                    tuple(r["intents"] or ()),
                    r["is_influential"],
                ),
                r["endpoint"],
                r["fetched_at"],
            )
            for r in tables["citations.parquet"]
        )
        store.merge_seeds(
            (
                SeedRow(
                    source=r["source"],
                    position=r["position"],
                    title=r["title"],
                    status=r["status"],
                    paper_id=r["paper_id"],
                    url=r["url"],
                    ids=tuple(r["ids"] or ()),
                    section_path=tuple(r["section_path"] or ()),
                    note=r["note"],
                    method=r["method"],
                    match_score=r["match_score"],
                    reason=r["reason"],
                ),
                r["updated_at"],
            )
            for r in tables["seeds.parquet"]
        )
        # An alias known before the import keeps its paper; one the papers just brought
        # points where the snapshot says (two papers may claim one DOI).
        aliases = [(r["alias"], r["paper_id"]) for r in tables["aliases.parquet"]]
        store.merge_aliases(a for a in aliases if a[0] in known_aliases)
        store.merge_aliases((a for a in aliases if a[0] not in known_aliases), replace=True)
        store.merge_same_as(
            (r["paper_id"], r["canonical_id"], r["reason"]) for r in tables["same_as.parquet"]
        )
        changed = store.changes() - before
        first = store.record_snapshot_import(
            snapshot_id,
            json.dumps(manifest, ensure_ascii=False, sort_keys=True),
            origin if "://" in origin else Path(origin).name,
            [p.paper_id for p, _, _, _ in papers],
        )
    added = _cache_embeddings(settings, papers, tables["embeddings.parquet"])
    return ImportReport(
        snapshot_id=snapshot_id,
        origin=origin,
        counts=counts,
        rows_changed=changed,
        embeddings_added=added,
        already_imported=not first,
        created_at=manifest.get("created_at"),
        litkg_version=manifest.get("litkg_version"),
        embedding_model=_embedding_model_of(manifest),
    )


def _embedding_model_of(manifest: Mapping[str, Any]) -> str | None:
    embeddings = manifest.get("embeddings")
    model = embeddings.get("model") if isinstance(embeddings, dict) else None
    return model if isinstance(model, str) else None


def _merge_paper(
    store: CorpusStore,
    paper: Paper,
    detail: int,
    endpoint: str | None,
    fetched_at: str | None,
    specter: np.ndarray | None,
) -> None:
    """The store's rules (a richer record is never replaced), and at equal detail the
    later fetch wins; a record that is already there as it is is not written again."""
    old = store.paper_row(paper.paper_id)
    if old is not None:
        same = (
            old.paper == paper
            and old.detail == detail
            and old.endpoint == endpoint
            and old.fetched_at == fetched_at
            and (specter is None or old.specter is not None)
        )
        if same:
            return
        if old.detail == detail and (old.fetched_at or "") > (fetched_at or ""):
            tags = tuple(dict.fromkeys(old.paper.tags + paper.tags))
            if tags != old.paper.tags:  # keep the newer record, with the snapshot's tags too
                store.upsert_paper(
                    replace(old.paper, tags=tags),
                    detail=old.detail,
                    endpoint=old.endpoint,
                    fetched_at=old.fetched_at,
                )
            return
    store.upsert_paper(
        paper, detail=detail, endpoint=endpoint, specter=specter, fetched_at=fetched_at
    )


def _cache_embeddings(
    settings: Settings,
    papers: Sequence[tuple[Paper, int, str | None, str | None]],
    rows: Sequence[dict[str, Any]],
) -> int:
    """Put the snapshot's text embeddings into the embedding cache, keyed as the build
    looks them up (the embedder's name and the paper's text); returns how many were new."""
    if not rows:
        return 0
    by_id = {p.paper_id: p for p, _, _, _ in papers}
    groups: dict[tuple[str, int], dict[str, list[float]]] = {}
    for r in rows:
        paper = by_id.get(r["paper_id"])
        if paper is None or not r["model"] or not r["vector"]:
            continue
        text = paper_text(paper.title, paper.abstract)[0]  # papers sharing a text share a key
        groups.setdefault((r["model"], len(r["vector"])), {})[text] = r["vector"]
    added = 0
    with EmbeddingCache(settings.graph_dir) as cache:
        for (model, dim), by_text in sorted(groups.items()):
            texts = list(by_text)
            # Also under the names of equivalent MiniLM backends: the importer's CPU may
            # pick another one than the exporter's did (docs/decisions.md).
            for i, name in enumerate(equivalent_names(model)):
                have = cache.get_many(name, texts, dim)
                new = [t for j, t in enumerate(texts) if j not in have]
                if new:
                    cache.put_many(name, new, np.asarray([by_text[t] for t in new], np.float32))
                    added += len(new) if i == 0 else 0
    return added


def snapshot_summary(manifest: Mapping[str, Any]) -> str:
    """One line naming a snapshot (for RDF titles and messages)."""
    what = f"reading list {manifest.get('list')}" if manifest.get("list") else "corpus"
    return f"litkg snapshot of a {what}, made {manifest.get('created_at')}"
