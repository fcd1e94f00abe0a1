"""``litkg bulk``: the Spark selection over a world written out as an S2AG release.

One small Spark session (``local[1]``, two shuffle partitions, no UI) serves every test
of the module: starting the JVM is the slow part. The equivalence test runs the API
crawl (uncapped, against the local S2 server) and the bulk selection on the same world
and wants the same papers and exactly the edges among them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ingest.bulk import BulkError
from ingest.bulk.job import SparkOptions, run_bulk
from ingest.bulk.release import locate_diff
from ingest.bulk.select import SelectionPolicy
from ingest.sources import load_source
from ingest.types import SeedRef
from kg.core.settings import Settings
from kg.formats.snapshot import read_manifest
from kg.portable.archive import import_snapshot
from tests.conftest import SHARED
from tests.s2ag_layout import write_diff, write_release
from tests.s2server import S2Server, World, hex_id
from tests.s2world import build_world, small_world

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow

# Tiny data: compiling whole-stage code and re-planning each stage cost more than they save.
OPTIONS = SparkOptions(
    "local[2]",
    shuffle_partitions=2,
    conf=(("spark.sql.codegen.wholeStage", "false"), ("spark.sql.adaptive.enabled", "false")),
)
UNCAPPED = 1_000_000


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from ingest.bulk.job import java_missing, spark_session

    if java_missing():
        pytest.skip(java_missing() or "")
    with spark_session(OPTIONS, "litkg-bulk-tests") as session:
        yield session


@pytest.fixture(scope="module")
def world() -> World:
    return small_world()


@pytest.fixture(scope="module")
def release(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_release(world, tmp_path_factory.mktemp("s2ag") / "2026-11-01")


@pytest.fixture(scope="module")
def state(spark: Any, release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release's Parquet copy, made once: most tests select from it (``release``
    None), as a later run with ``--state`` does."""
    from ingest.bulk.release import locate, materialise

    folder = tmp_path_factory.mktemp("state")
    materialise(spark, locate(release), folder)
    return folder


def pid(key: str) -> str:
    return hex_id("small", key)


def refs_of(tmp: Path, *lines: str) -> list[SeedRef]:
    path = tmp / "seeds.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(load_source(path).refs)


def table(snap: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(snap / f"{name}.parquet").to_pylist()


def ids_and_edges(snap: Path) -> tuple[set[str], set[tuple[str, str]]]:
    papers = {r["paper_id"] for r in table(snap, "papers")}
    edges = {(r["citing"], r["cited"]) for r in table(snap, "citations")}
    return papers, edges


def world_edges(world: World) -> set[tuple[str, str]]:
    return {
        (e["citingPaperId"], e["citedPaperId"])
        for e in world.edges
        if e.get("citedPaperId") and e["citingPaperId"] != e["citedPaperId"]
    }


def neighbours(world: World, ids: set[str]) -> set[str]:
    return {b for a, b in world_edges(world) if a in ids} | {
        a for a, b in world_edges(world) if b in ids
    }


def test_depth_one_selects_the_neighbourhood_and_only_edges_among_it(
    spark: Any, world: World, release: Path, tmp_path: Path
) -> None:
    refs = refs_of(tmp_path, "ARXIV:2209.11895", "ARXIV:2211.00593")  # induction, ioi
    policy = SelectionPolicy(depth=1, cocited_max=0)
    said: list[str] = []
    report = run_bulk(release, tmp_path / "snap", refs, policy, options=OPTIONS, echo=said.append)
    assert [m.split(" ", 1)[0] for m in said] == ["copying", "selecting:", "gathering", "writing"]
    assert "depth 1" in said[1] and all(" s since the last step)" in m for m in said[1:])
    assert "since" not in said[0]
    seeds = {pid("induction"), pid("ioi")}
    want = seeds | neighbours(world, seeds)
    papers, edges = ids_and_edges(tmp_path / "snap")
    assert papers == want
    assert edges == {(a, b) for a, b in world_edges(world) if a in want and b in want}
    assert report.counts["level_0"] == 2 and report.counts["papers"] == len(want)
    rows = table(tmp_path / "snap", "seeds")
    assert [r["status"] for r in rows] == ["resolved", "resolved"]
    assert [r["method"] for r in rows] == ["id ARXIV:2209.11895", "id ARXIV:2211.00593"]


def test_the_snapshot_holds_the_release_fields_and_imports(
    spark: Any, world: World, state: Path, tmp_path: Path
) -> None:
    refs = refs_of(tmp_path, "ARXIV:1706.03762")  # attention: has tldr and SPECTER vectors
    run_bulk(None, tmp_path / "snap", refs, SelectionPolicy(depth=0), state=state, options=OPTIONS)
    manifest = read_manifest(tmp_path / "snap")  # checksums and format check out
    assert manifest["bulk"]["release_id"] == "2026-11-01"
    assert manifest["embeddings"]["specter"]["dim"] == 768
    [paper] = table(tmp_path / "snap", "papers")
    rec = world.papers[pid("attention")]
    assert paper["paper_id"] == pid("attention")
    assert paper["tldr"] == rec["tldr"]["text"]
    assert paper["abstract"] == rec["abstract"]
    assert dict(paper["external_ids"])["ArXiv"] == "1706.03762"
    assert paper["fields_of_study"] == ["Computer Science"]
    assert paper["detail"] == 2 and paper["fetched_at"] == "2026-11-01T00:00:00+00:00"
    assert [a["name"] for a in table(tmp_path / "snap", "authors")] == [
        a["name"] for a in rec["authors"]
    ]
    [vec] = table(tmp_path / "snap", "specter")
    assert vec["vector"] == pytest.approx(rec["embeddings"]["specter_v2"], rel=1e-6)
    settings = Settings(data_dir=tmp_path / "data")
    imported = import_snapshot(settings, tmp_path / "snap")
    assert imported.counts["papers"] == 1 and imported.rows_changed > 0


def test_caps_keep_the_top_ranked_neighbours(
    spark: Any, world: World, state: Path, tmp_path: Path
) -> None:
    # "framework" is cited by six papers; the influential edges rank first, as in the crawl.
    refs = refs_of(tmp_path, f"{pid('framework')}")
    policy = SelectionPolicy(depth=1, max_citations=2, max_references=0, cocited_max=0)
    run_bulk(None, tmp_path / "snap", refs, policy, state=state, options=OPTIONS)
    papers, _ = ids_and_edges(tmp_path / "snap")
    citers = [e for e in world.edges if e.get("citedPaperId") == pid("framework")]
    assert len(citers) > 2

    def rank(edge: dict[str, Any]) -> tuple[int, int, int, int]:
        counts = world.counts(edge["citingPaperId"])
        corpus_id = world.papers[edge["citingPaperId"]]["corpusId"]
        return (
            -int(edge["isInfluential"]),
            -counts["influentialCitationCount"],
            -counts["citationCount"],
            corpus_id,
        )

    top = {e["citingPaperId"] for e in sorted(citers, key=rank)[:2]}
    assert papers == {pid("framework")} | top


def test_depth_two_and_filters(spark: Any, world: World, state: Path, tmp_path: Path) -> None:
    refs = refs_of(tmp_path, "ARXIV:2209.10652")  # toy: cites framework, cited by sae, mono
    one = {pid("toy")} | neighbours(world, {pid("toy")})
    two = one | neighbours(world, one - {pid("toy")})
    policy = SelectionPolicy(depth=2, cocited_max=0)
    run_bulk(None, tmp_path / "d2", refs, policy, state=state, options=OPTIONS)
    assert ids_and_edges(tmp_path / "d2")[0] == two
    policy = SelectionPolicy(depth=2, cocited_max=0, year_min=2021)
    run_bulk(None, tmp_path / "recent", refs, policy, state=state, options=OPTIONS)
    papers = {r["paper_id"]: r["year"] for r in table(tmp_path / "recent", "papers")}
    assert papers and min(papers.values()) >= 2021
    assert set(papers) < two


def test_filters_alone_select_without_seeds(spark: Any, state: Path, tmp_path: Path) -> None:
    policy = SelectionPolicy(depth=0, year_min=2023, max_papers=3)
    run_bulk(None, tmp_path / "snap", [], policy, state=state, options=OPTIONS)
    papers = table(tmp_path / "snap", "papers")
    assert len(papers) == 3 and {p["year"] for p in papers} == {2023}
    with pytest.raises(BulkError, match="whole release"):
        run_bulk(None, tmp_path / "all", [], SelectionPolicy(depth=0), state=state, options=OPTIONS)


def test_unknown_seeds_and_bad_release_are_named(spark: Any, release: Path, tmp_path: Path) -> None:
    refs = refs_of(tmp_path, "ARXIV:2401.00001")
    with pytest.raises(BulkError, match="none of the 1 listed papers"):
        run_bulk(release, tmp_path / "snap", refs, SelectionPolicy(), options=OPTIONS)
    with pytest.raises(BulkError, match="lacks the dataset"):
        (tmp_path / "empty" / "papers").mkdir(parents=True)
        run_bulk(tmp_path / "empty", tmp_path / "snap", refs, SelectionPolicy(), options=OPTIONS)


# --------------------------------------------------------------------------- equivalence
@pytest.mark.needs_shared
def test_bulk_at_depth_one_equals_the_uncapped_api_crawl(spark: Any, tmp_path: Path) -> None:
    """The tests' S2 world (real records of ../shared, synthetic edges) as an S2AG
    release: the bundled seed page at depth 1, uncapped, selects the papers an uncapped
    API crawl of the same world stores (co-citation widening included), and exactly the
    edges among them."""
    from ingest.crawl import CrawlPolicy
    from ingest.pipeline import default_sources, load_sources, run_ingest
    from ingest.s2 import S2Client
    from kg.store.corpus import CorpusStore

    if not (SHARED / "corpus").exists():
        pytest.skip(f"real data not available: {SHARED / 'corpus'} is missing")
    world = build_world(SHARED)
    crawl_policy = CrawlPolicy(
        depth=1, max_references=UNCAPPED, max_citations=UNCAPPED, paper_budget=UNCAPPED
    )
    with S2Server(world) as server:
        settings = Settings(
            data_dir=tmp_path / "api",
            s2_api_url=server.url,
            s2_min_interval=0.0,
            s2_backoff=0.05,
            s2_backoff_max=0.2,
            s2_timeout=10.0,
        )
        with S2Client(settings) as client:
            run_ingest(settings=settings, client=client, policy=crawl_policy, progress=False)
    with CorpusStore(settings.corpus_path, create=False) as store:
        api_papers = {p.paper_id for p in store.papers() if not p.paper_id.startswith("local:")}
        api_edges = {(c.citing, c.cited) for c in store.citations()}

    refs, _, _ = load_sources(default_sources())
    policy = SelectionPolicy(depth=1, max_references=UNCAPPED, max_citations=UNCAPPED)
    write_release(world, tmp_path / "release")
    report = run_bulk(tmp_path / "release", tmp_path / "snap", refs, policy, options=OPTIONS)
    papers, edges = ids_and_edges(tmp_path / "snap")
    assert len(api_papers) > 1000 and report.counts.get("level_3", 0) > 0  # widening ran
    assert papers == api_papers
    assert edges == api_edges
    assert edges == {(a, b) for a, b in world_edges(world) if a in papers and b in papers}


# --------------------------------------------------------------------------- diffs
def _newer(world: World) -> World:
    """The small world a release later: one paper gone, one added (citing two seeds'
    neighbours), an abstract changed, an edge gone."""
    new = World([dict(p) for p in world.papers.values()], [dict(e) for e in world.edges])
    gone = pid("rome")
    del new.papers[gone]
    new.edges = [e for e in new.edges if gone not in (e["citingPaperId"], e["citedPaperId"])]
    new.edges = [
        e
        for e in new.edges
        if (e["citingPaperId"], e["citedPaperId"]) != (pid("ioi"), pid("attention"))
    ]
    new.papers[pid("toy")]["abstract"] = "A new abstract in the newer release."
    added = hex_id("small", "patching")
    new.add_paper(
        {
            "paperId": added,
            "title": "Attribution Patching Outperforms Automated Circuit Discovery",
            "year": 2024,
            "abstract": "We patch.",
            "externalIds": {"ArXiv": "2310.10348"},
            "authors": [{"authorId": "1", "name": "Aaquib Syed"}],
        }
    )
    new.add_edge(added, pid("ioi"), is_influential=True)
    new.add_edge(added, pid("induction"))
    new.invalidate()
    return new


def _comparable(snap: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("papers", "authors", "citations", "seeds", "aliases", "specter"):
        rows = table(snap, name)
        for r in rows:
            r.pop("fetched_at", None)
            r.pop("updated_at", None)
        out[name] = rows
    return out


def test_a_diff_applied_to_an_earlier_selection_equals_a_fresh_one(
    spark: Any, world: World, state: Path, tmp_path: Path
) -> None:
    shared_state, newer = state, _newer(world)
    new_release = write_release(newer, tmp_path / "2026-12-01")
    diff = write_diff(
        world, newer, tmp_path / "diff", from_release="2026-11-01", to_release="2026-12-01"
    )
    refs = refs_of(tmp_path, "ARXIV:2209.11895", "ARXIV:2211.00593", "ARXIV:2202.05262")
    policy = SelectionPolicy(depth=1)
    state = tmp_path / "state"
    shutil.copytree(shared_state, state)
    run_bulk(None, tmp_path / "old", refs, policy, state=state, options=OPTIONS)
    assert pid("rome") in ids_and_edges(tmp_path / "old")[0]
    report = run_bulk(
        None,
        tmp_path / "updated",
        refs,
        policy,
        state=state,
        diffs=[locate_diff(diff)],
        options=OPTIONS,
    )
    run_bulk(new_release, tmp_path / "fresh", refs, policy, options=OPTIONS)
    updated, fresh = _comparable(tmp_path / "updated"), _comparable(tmp_path / "fresh")
    for name in fresh:
        assert updated[name] == fresh[name], name
    papers, edges = ids_and_edges(tmp_path / "updated")
    assert pid("rome") not in papers and hex_id("small", "patching") in papers
    assert (pid("ioi"), pid("attention")) not in edges
    assert report.release_id == "2026-12-01"
    manifest = json.loads((tmp_path / "updated" / "manifest.json").read_text())
    assert manifest["bulk"]["diffs"][0]["to_release"] == "2026-12-01"
    # The older snapshot's selection differs: the diff did change something.
    assert _comparable(tmp_path / "old") != fresh


# --------------------------------------------------------------------------- the CLI
def test_cli_bulk_writes_a_snapshot(spark: Any, release: Path, tmp_path: Path) -> None:
    from app.cli import app

    seeds = tmp_path / "ids.txt"
    seeds.write_text("ARXIV:2209.10652\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "bulk",
            str(release),
            str(seeds),
            "--out",
            str(tmp_path / "snap"),
            "--depth",
            "1",
            "--year",
            "2021-",
            "--master",
            "local[1]",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "seeds resolved 1 / 1" in result.output
    assert "citation edges among them" in result.output
    assert "selecting: 1 seed source(s), depth 1 ..." in result.output  # stages, on stderr
    years = [r["year"] for r in table(tmp_path / "snap", "papers")]
    assert years and min(years) >= 2021
    bad = CliRunner().invoke(app, ["bulk", str(tmp_path / "nowhere"), str(seeds)])
    assert bad.exit_code == 2 and "no S2AG release" in bad.output


def test_an_optional_dataset_missing_from_an_unlisted_release_is_skipped(
    spark: Any, release: Path, tmp_path: Path
) -> None:
    """An object-store release is not listed beforehand: a missing optional dataset is
    left out, a missing required one is named."""
    from ingest.bulk.release import Release, materialise

    found = {
        "papers": str(release / "papers"),
        "citations": str(release / "citations"),
        "tldrs": str(tmp_path / "no-tldrs"),
    }
    record = materialise(spark, Release(str(release), found, "x"), tmp_path / "state")
    assert record["datasets"] == ["citations", "papers"]
    found["citations"] = str(tmp_path / "no-citations")
    with pytest.raises(BulkError, match="cannot read the citations dataset"):
        materialise(spark, Release(str(release), found, "x"), tmp_path / "state2")


def test_cli_downloads_a_release_then_updates_it_through_the_datasets_api(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``datasets:RELEASE_ID`` downloads the release (S2_API_KEY), ``--update-to`` the
    diffs from the state's release, against the local fake of the Datasets API."""
    from app.cli import app
    from tests.ingest.test_bulk_datasets import KEY, NEW, OLD, FakeDatasets

    world = small_world()
    newer = World([dict(p) for p in world.papers.values()], world.edges[:-3])
    write_release(world, tmp_path / "served" / OLD)
    write_release(newer, tmp_path / "served" / NEW)
    write_diff(world, newer, tmp_path / "served" / "diff", from_release=OLD, to_release=NEW)
    seeds = tmp_path / "ids.txt"
    seeds.write_text("ARXIV:2209.11895\n", encoding="utf-8")
    with FakeDatasets(tmp_path / "served") as fake:
        monkeypatch.setenv("S2_API_URL", fake.url)
        monkeypatch.setenv("S2_API_KEY", KEY)
        monkeypatch.setenv("LITKG_S2_MIN_INTERVAL", "0")
        state = tmp_path / "state"
        first = CliRunner().invoke(
            app,
            [
                "bulk", f"datasets:{OLD}", str(seeds), "--out", str(tmp_path / "old"),
                "--state", str(state), "--master", "local[1]",
            ],
        )  # fmt: skip
        assert first.exit_code == 0, first.output
        assert f"Release {OLD}" in first.output
        second = CliRunner().invoke(
            app,
            [
                "bulk", "--state", str(state), "--update-to", "latest", "--out",
                str(tmp_path / "new"), "--master", "local[1]", str(seeds),
            ],
        )  # fmt: skip
    assert second.exit_code == 0, second.output
    manifest = json.loads((tmp_path / "new" / "manifest.json").read_text())
    assert manifest["bulk"]["release_id"] == NEW
    assert manifest["bulk"]["diffs"][0]["from_release"] == OLD
    dropped = {(e["citingPaperId"], e["citedPaperId"]) for e in world.edges[-3:]}
    assert not dropped & ids_and_edges(tmp_path / "new")[1]
