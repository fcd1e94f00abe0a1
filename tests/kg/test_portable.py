"""Portable corpus snapshots (kg.portable): round trip, merge, idempotence, checks,
archives, https import, the PROV graph, and a property test with odd text."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import itertools
import json
import sqlite3
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kg.build import build
from kg.core.model import Author, Citation, Paper
from kg.core.settings import Settings
from kg.formats.snapshot import MANIFEST, SCHEMAS, SnapshotError, read_vectors
from kg.graph import snapshot as load_snapshot
from kg.portable import archive
from kg.portable.archive import export_snapshot, import_snapshot
from kg.rdf.stores import memory_graph, select
from kg.rdf.sync import build_rdf
from kg.rdf.vocab import PROV
from kg.store.corpus import DETAIL_FULL, DETAIL_STUB, CorpusStore, SeedRow
from kg.store.readinglists import ReadingLists
from kg.text.embed import EmbeddingCache, FakeEmbedder, paper_text

#: The documented columns of each file (docs/snapshot-format.md), independent of the code.
COLUMNS = {
    "papers.parquet": [
        "paper_id", "title", "abstract", "tldr", "year", "venue", "journal",
        "publication_date", "url", "external_ids", "publication_types", "fields_of_study",
        "citation_count", "reference_count", "influential_citation_count", "is_open_access",
        "open_access_pdf", "tags", "resolved", "detail", "endpoint", "fetched_at",
    ],
    "authors.parquet": ["paper_id", "position", "name", "author_id"],
    "citations.parquet": [
        "citing", "cited", "contexts", "intents", "is_influential", "endpoint", "fetched_at",
    ],
    "seeds.parquet": [
        "source", "position", "title", "status", "paper_id", "url", "ids", "section_path",
        "note", "method", "match_score", "reason", "updated_at",
    ],
    "aliases.parquet": ["alias", "paper_id"],
    "same_as.parquet": ["paper_id", "canonical_id", "reason"],
    "embeddings.parquet": ["paper_id", "model", "vector"],
    "specter.parquet": ["paper_id", "vector"],
}  # fmt: skip


def dump(settings: Settings) -> dict[str, Any]:
    """Everything a corpus holds that a snapshot carries (bookkeeping included)."""
    with CorpusStore(settings.corpus_path, create=False) as store:
        return {
            "papers": [
                (r.paper, r.detail, r.endpoint, r.fetched_at, _vector(r.specter))
                for r in store.paper_rows()
            ],
            "citations": list(store.citation_rows()),
            "seeds": store.seed_rows(),
            "aliases": store.aliases(),
            "same_as": store.same_as_rows(),
        }  # fmt: skip


def _vector(v: Any) -> list[float] | None:
    return None if v is None else [float(x) for x in v]


def tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a corpus file (the bytes-level view of "unchanged")."""
    db = sqlite3.connect(path)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: sorted(db.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}
    finally:
        db.close()


@pytest.fixture
def exported(ingested: Settings, tmp_path: Path) -> tuple[Settings, Path]:
    """The small ingested corpus, built with the fake embedder, exported as a folder."""
    build(ingested, embedder=FakeEmbedder(16), progress=False, tune=False)
    out = tmp_path / "snap"
    report = export_snapshot(ingested, out)
    assert report.counts["papers"] > 5 and report.embedding_model == "fake-bow-16"
    return ingested, out


def fresh(tmp_path: Path, name: str) -> Settings:
    return Settings(data_dir=tmp_path / name)


def test_round_trip_into_a_fresh_data_dir(exported: tuple[Settings, Path], tmp_path: Path) -> None:
    source, snap = exported
    target = fresh(tmp_path, "other")
    report = import_snapshot(target, snap)
    assert not report.already_imported and report.rows_changed > 0
    assert dump(target) == dump(source)
    with CorpusStore(source.corpus_path) as a, CorpusStore(target.corpus_path) as b:
        assert list(a.papers()) == list(b.papers())
        assert list(a.citations()) == list(b.citations())
        assert a.seeds() == b.seeds()
        assert any(r.specter is not None for r in b.paper_rows())
    # the text embeddings went into the cache under the keys the build looks up
    assert report.embeddings_added == report.counts["papers"]
    built = build(target, embedder=FakeEmbedder(16), progress=False, tune=False)
    assert built.embedded_new == 0 and built.embedded_cached == report.counts["papers"]


def test_files_are_plain_parquet_with_the_documented_columns(
    exported: tuple[Settings, Path],
) -> None:
    _, snap = exported
    manifest = json.loads((snap / MANIFEST).read_text())
    assert manifest["format_version"] == 1
    assert {"litkg_version", "created_at", "sources", "counts", "files", "embeddings"} <= set(
        manifest
    )
    assert manifest["embeddings"]["model"] == "fake-bow-16"
    assert manifest["embeddings"]["dim"] == 16
    s2 = [s for s in manifest["sources"] if s["kind"] == "papers"]
    assert s2 and all("S2 licence" in s["licence"] and s["fetched_at"] for s in s2)
    assert sorted(p.name for p in snap.iterdir()) == sorted([MANIFEST, *COLUMNS])
    for name, columns in COLUMNS.items():
        digest = hashlib.sha256((snap / name).read_bytes()).hexdigest()
        assert manifest["files"][name] == digest
        table = pq.read_table(snap / name)
        assert table.column_names == columns, name
        frame = pd.read_parquet(snap / name)
        assert len(frame) == manifest["counts"][name.removesuffix(".parquet")]
    papers = pd.read_parquet(snap / "papers.parquet")
    vectors = pd.read_parquet(snap / "embeddings.parquet")
    assert set(vectors["paper_id"]) == set(papers["paper_id"])
    assert {len(v) for v in vectors["vector"]} == {16}


def test_a_second_import_changes_nothing(exported: tuple[Settings, Path], tmp_path: Path) -> None:
    _, snap = exported
    target = fresh(tmp_path, "other")
    import_snapshot(target, snap)
    with CorpusStore(target.corpus_path) as store:
        before_fp = load_snapshot.fingerprint(store)
    before = tables(target.corpus_path)
    with EmbeddingCache(target.graph_dir) as cache:
        cached = len(cache)
    again = import_snapshot(target, snap)
    assert again.already_imported
    assert again.rows_changed == 0 and again.embeddings_added == 0
    assert "nothing new" in "\n".join(again.lines())
    assert tables(target.corpus_path) == before
    with CorpusStore(target.corpus_path) as store:
        assert load_snapshot.fingerprint(store) == before_fp
    with EmbeddingCache(target.graph_dir) as cache:
        assert len(cache) == cached


def test_a_newer_format_is_refused(exported: tuple[Settings, Path], tmp_path: Path) -> None:
    _, snap = exported
    manifest = json.loads((snap / MANIFEST).read_text())
    manifest["format_version"] = 2
    (snap / MANIFEST).write_text(json.dumps(manifest))
    target = fresh(tmp_path, "other")
    with pytest.raises(SnapshotError) as err:
        import_snapshot(target, snap)
    assert str(err.value) == "snapshot format 2 is newer than this litkg reads (1): upgrade litkg"
    assert not target.corpus_path.exists()


def test_a_tampered_file_is_refused_and_named(
    exported: tuple[Settings, Path], tmp_path: Path
) -> None:
    _, snap = exported
    with (snap / "citations.parquet").open("ab") as fh:
        fh.write(b"\0")
    target = fresh(tmp_path, "other")
    with pytest.raises(SnapshotError, match=r"citations\.parquet does not match its sha256"):
        import_snapshot(target, snap)
    assert not target.corpus_path.exists()


def test_export_refuses_an_existing_path(exported: tuple[Settings, Path]) -> None:
    source, snap = exported
    with pytest.raises(SnapshotError, match="already exists"):
        export_snapshot(source, snap)


def test_list_export_holds_the_list_and_its_neighbourhood_only(
    ingested: Settings, tmp_path: Path
) -> None:
    with CorpusStore(ingested.corpus_path) as store:
        every = set(store.paper_ids())
        seed = store.seed_paper_ids()[0]
        expected = {seed, *store.neighbours([seed])}
    assert expected < every  # a real subset, or the test would prove nothing
    ReadingLists.open(ingested).add("mine", seed, create=True)
    report = export_snapshot(ingested, tmp_path / "mine", list_name="mine")
    papers = set(pq.read_table(tmp_path / "mine" / "papers.parquet")["paper_id"].to_pylist())
    assert papers == expected and report.counts["papers"] == len(expected)
    edges = pq.read_table(tmp_path / "mine" / "citations.parquet").to_pylist()
    assert edges and all(e["citing"] in expected and e["cited"] in expected for e in edges)
    seeds = pq.read_table(tmp_path / "mine" / "seeds.parquet").to_pylist()
    assert {s["paper_id"] for s in seeds} <= expected
    manifest = json.loads((tmp_path / "mine" / MANIFEST).read_text())
    assert manifest["list"] == "mine"

    with pytest.raises(SnapshotError, match=r"no reading list 'nope'.*ids\.txt.*mine"):
        export_snapshot(ingested, tmp_path / "nope", list_name="nope")


def test_a_seed_source_is_a_list_too(ingested: Settings, tmp_path: Path) -> None:
    export_snapshot(ingested, tmp_path / "src", list_name="ids.txt")
    seeds = pq.read_table(tmp_path / "src" / "seeds.parquet").to_pylist()
    assert seeds and {s["source"] for s in seeds} == {"ids.txt"}


def test_merge_keeps_richer_and_newer_records(
    exported: tuple[Settings, Path], tmp_path: Path
) -> None:
    source, _ = exported
    with CorpusStore(source.corpus_path) as store:
        store.upsert_paper(Paper("e" * 40, "Only a stub"), detail=DETAIL_STUB, endpoint="citations")
    snap = tmp_path / "with-stub"
    export_snapshot(source, snap)
    with CorpusStore(source.corpus_path) as store:
        stub = next(r for r in store.paper_rows() if r.detail == DETAIL_STUB)
        full = next(r for r in store.paper_rows() if r.detail == DETAIL_FULL)
        edge = next(c for c, _, _ in store.citation_rows() if c.contexts)
    target = fresh(tmp_path, "other")
    mine = Paper("f" * 40, "A paper only I have", year=2024)
    with CorpusStore(target.corpus_path) as store:
        # known here in full detail while the snapshot has a stub: stays
        store.upsert_paper(
            Paper(stub.paper.paper_id, "My full record"), detail=DETAIL_FULL, endpoint="batch"
        )
        # known at the same detail, fetched later: stays
        store.upsert_paper(
            Paper(full.paper.paper_id, "Fetched later", tags=("mine",)),
            detail=DETAIL_FULL,
            endpoint="batch",
            fetched_at="2999-01-01T00:00:00+00:00",
        )
        store.upsert_paper(mine, detail=DETAIL_FULL)
        # an edge with its own contexts stays; the snapshot's replaces one without
        store.add_citations([Citation(edge.citing, edge.cited, ("my sentence",))], endpoint="x")
        store.put_seed(SeedRow("ids.txt", 0, "my seed", "unresolved"))
    import_snapshot(target, snap)
    with CorpusStore(target.corpus_path) as store:
        assert store.get_paper(stub.paper.paper_id).title == "My full record"  # type: ignore[union-attr]
        later = store.get_paper(full.paper.paper_id)
        assert later is not None and later.title == "Fetched later"
        assert set(full.paper.tags) <= set(later.tags) and "mine" in later.tags
        assert store.get_paper(mine.paper_id) == mine
        got = {(c.citing, c.cited): c for c in store.citations()}
        assert got[(edge.citing, edge.cited)].contexts == ("my sentence",)
        # the snapshot's resolved seed replaced the unresolved one
        row = next(s for s in store.seeds("ids.txt") if s.position == 0)
        assert row.status == "resolved"
        assert store.paper_count() == len(dump(source)["papers"]) + 1


# --------------------------------------------------------------------------- archives
def test_archive_round_trip(exported: tuple[Settings, Path], tmp_path: Path) -> None:
    source, _ = exported
    for name in ("snap.tar", "snap.tar.gz"):
        report = export_snapshot(source, tmp_path / name)
        assert report.path.is_file()
        target = fresh(tmp_path, f"from-{name}")
        import_snapshot(target, tmp_path / name)
        assert dump(target) == dump(source)


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


@pytest.mark.parametrize(
    ("name", "kind", "why"),
    [
        ("../evil.txt", tarfile.REGTYPE, "outside itself"),
        ("/etc/evil.txt", tarfile.REGTYPE, "outside itself"),
        ("manifest.json", tarfile.SYMTYPE, "not a plain file"),
        ("papers.parquet", tarfile.LNKTYPE, "not a plain file"),
    ],
)
def test_unsafe_archives_are_refused(tmp_path: Path, name: str, kind: bytes, why: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    data = None
    if kind == tarfile.REGTYPE:
        data = b"x"
        info.size = 1
    else:
        info.linkname = "/etc/passwd"
    archive = _tar(tmp_path / "bad.tar", [(info, data)])
    with pytest.raises(SnapshotError, match=why):
        import_snapshot(fresh(tmp_path, "d"), archive)
    assert not (tmp_path / "evil.txt").exists()


# --------------------------------------------------------------------------- https import
@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain http.server on 127.0.0.1 serving ``tmp_path / 'www'``."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_import_from_a_url(
    exported: tuple[Settings, Path], served: tuple[str, Path], tmp_path: Path
) -> None:
    source, _ = exported
    url, root = served
    export_snapshot(source, root / "snap.tar.gz")
    target = fresh(tmp_path, "other")
    report = import_snapshot(target, f"{url}/snap.tar.gz")
    assert report.origin == f"{url}/snap.tar.gz"
    assert dump(target) == dump(source)

    with pytest.raises(SnapshotError, match="larger than"):
        import_snapshot(fresh(tmp_path, "capped"), f"{url}/snap.tar.gz", max_bytes=100)
    with pytest.raises(SnapshotError, match="cannot download"):
        import_snapshot(fresh(tmp_path, "missing"), f"{url}/nothing.tar.gz")


def test_only_https_urls_leave_this_machine(tmp_path: Path) -> None:
    opened: list[str] = []

    def opener(url: str) -> Any:
        opened.append(url)
        raise AssertionError("must not be called")

    with pytest.raises(SnapshotError, match="only https://"):
        import_snapshot(fresh(tmp_path, "d"), "http://example.org/s.tar", opener=opener)
    assert opened == []


def test_the_opener_is_injectable(exported: tuple[Settings, Path], tmp_path: Path) -> None:
    source, _ = exported
    export_snapshot(source, tmp_path / "s.tar")
    data = (tmp_path / "s.tar").read_bytes()
    opened: list[str] = []

    def opener(url: str) -> Any:
        opened.append(url)
        return io.BytesIO(data)

    import_snapshot(fresh(tmp_path, "d"), "https://lab.example/s.tar", opener=opener)
    assert opened == ["https://lab.example/s.tar"]
    assert dump(fresh(tmp_path, "d")) == dump(source)


# --------------------------------------------------------------------------- provenance
def test_each_import_gets_a_prov_named_graph(
    exported: tuple[Settings, Path], tmp_path: Path
) -> None:
    _, snap = exported
    target = fresh(tmp_path, "other")
    report = import_snapshot(target, snap)
    ds = memory_graph("oxigraph")
    with CorpusStore(target.corpus_path) as store:
        build_rdf(store, ds, progress=False)
        papers = store.paper_count()
    graph = f"https://litkg.org/graph/snapshot/{report.snapshot_id[:16]}"
    rows = select(
        ds,
        f"SELECT ?snap ?when ?licence (COUNT(DISTINCT ?p) AS ?n) WHERE {{ GRAPH <{graph}> {{ "
        f"?act <{PROV.used}> ?snap . ?snap <{PROV.generatedAtTime}> ?when ; "
        f"<{PROV.hadMember}> ?p ; <{PROV.wasDerivedFrom}> ?src . "
        f"?src <https://litkg.org/ns#licence> ?licence }} }} GROUP BY ?snap ?when ?licence",
    )
    assert rows, "no PROV graph for the imported snapshot"
    assert any("S2 licence" in str(r[2]) for r in rows)
    assert {int(str(r[3])) for r in rows} == {papers}
    meta = select(
        ds,
        f"SELECT ?d WHERE {{ GRAPH <https://litkg.org/graph/meta> {{ <{graph}> "
        f"<{PROV.wasDerivedFrom}> ?d }} }}",
    )
    assert meta


# --------------------------------------------------------------------------- property
_text = st.one_of(st.none(), st.text(max_size=30))
_papers = st.lists(
    st.builds(
        Paper,
        paper_id=st.from_regex(r"[0-9a-f]{40}", fullmatch=True),
        title=st.text(max_size=40),
        abstract=st.one_of(st.none(), st.just(""), st.text(max_size=60)),
        year=st.one_of(st.none(), st.integers(1900, 2100)),
        venue=_text,
        authors=st.lists(
            st.builds(Author, name=st.text(max_size=20), author_id=_text), max_size=3
        ).map(tuple),
        external_ids=st.dictionaries(
            st.sampled_from(["DOI", "ArXiv", "DBLP"]), st.text(max_size=15), max_size=2
        ),
        tldr=_text,
        tags=st.lists(st.text(max_size=10), max_size=2, unique=True).map(tuple),
        is_open_access=st.one_of(st.none(), st.booleans()),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda p: p.paper_id,
)  # fmt: skip


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(papers=_papers)
def test_odd_text_round_trips(papers: list[Paper]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = fresh(root, "a")
        with CorpusStore(source.corpus_path) as store:
            for p in papers:
                store.upsert_paper(p, detail=DETAIL_FULL, specter=[0.5, -1.0, 2.0])
            ids = [p.paper_id for p in papers]
            store.add_citations(
                [
                    Citation(a, b, ("ctx ü \n 🙂",), ("methodology",), None)
                    for a, b in itertools.pairwise(ids)
                ],
                endpoint="references",
            )
        with EmbeddingCache(source.graph_dir) as cache:
            texts = [paper_text(p.title, p.abstract)[0] for p in papers]
            cache.put_many("fake-bow-16", texts, FakeEmbedder(16).embed(texts))
        export_snapshot(source, root / "snap")
        target = fresh(root, "b")
        import_snapshot(target, root / "snap")
        assert dump(target) == dump(source)
        with CorpusStore(target.corpus_path) as store:
            assert [store.get_paper(p.paper_id) for p in papers] == papers
        with EmbeddingCache(target.graph_dir) as cache:
            assert len(cache.get_many("fake-bow-16", texts, 16)) == len(texts)


def test_papers_sharing_a_text_share_one_cached_vector(tmp_path: Path) -> None:
    source = fresh(tmp_path, "a")
    twins = [Paper("1" * 40, "Same title"), Paper("2" * 40, "Same title")]
    with CorpusStore(source.corpus_path) as store:
        for p in twins:
            store.upsert_paper(p, detail=DETAIL_FULL)
    build(source, embedder=FakeEmbedder(16), progress=False, tune=False, rdf=False)
    report = export_snapshot(source, tmp_path / "snap")
    assert report.counts["embeddings"] == 2  # one row per paper
    target = fresh(tmp_path, "b")
    assert import_snapshot(target, tmp_path / "snap").embeddings_added == 1  # one key
    built = build(target, embedder=FakeEmbedder(16), progress=False, tune=False, rdf=False)
    assert built.embedded_new == 0


def test_specter_vectors_are_read_as_arrays(
    exported: tuple[Settings, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A field-scale snapshot holds 768 floats per paper: never one Python float each.
    source, snap = exported
    plain = archive.read_table

    def no_lists(folder: Path, name: str) -> list[dict[str, Any]]:
        assert name != "specter.parquet", "SPECTER vectors read as lists of floats"
        return plain(folder, name)

    monkeypatch.setattr(archive, "read_table", no_lists)
    target = fresh(tmp_path, "other")
    report = import_snapshot(target, snap)
    with CorpusStore(source.corpus_path) as a, CorpusStore(target.corpus_path) as b:
        want = {r.paper.paper_id: r.specter for r in a.paper_rows() if r.specter is not None}
        got = {r.paper.paper_id: r.specter for r in b.paper_rows() if r.specter is not None}
    assert report.counts["specter"] == len(want) > 0
    assert got.keys() == want.keys()
    assert all(got[k].dtype == np.float32 and np.array_equal(got[k], want[k]) for k in want)


def test_read_vectors_leaves_out_empty_and_null_vectors(tmp_path: Path) -> None:
    table = pa.table(
        {
            "paper_id": ["a", "b", "c", "d"],
            "vector": [[1.0, 2.0, 3.0], None, [], [0.5, -0.5]],
        },
        schema=SCHEMAS["specter.parquet"],
    )
    pq.write_table(table, tmp_path / "specter.parquet")
    got = read_vectors(tmp_path, "specter.parquet")
    assert sorted(got) == ["a", "d"]
    assert got["a"].dtype == np.float32 and got["a"].tolist() == [1.0, 2.0, 3.0]
    assert got["d"].tolist() == [0.5, -0.5]
    assert got["a"].base is not None and got["a"].base is got["d"].base  # one shared array
    (tmp_path / "bad").mkdir()
    pq.write_table(pa.table({"paper_id": ["a"]}), tmp_path / "bad" / "specter.parquet")
    with pytest.raises(SnapshotError, match="lacks the columns vector"):
        read_vectors(tmp_path / "bad", "specter.parquet")
