"""Closing the crawled neighbourhood and widening it by co-citation, on hand-made worlds.

The world of :func:`cocitation_world`: seed S cites R1 and R2; C1..C4 cite S (so
depth 1 keeps S, R1, R2, C1..C4). Outside that neighbourhood, Z is cited by all
four citing papers, X by three, Y by two, and W only by R1 (not a citing paper).
Inside it, C1 cites R1, R1 cites R2 and C2 cites C1: edges only closing finds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.crawl import CLOSE_FIELDS, CrawlPolicy, crawl, plan_batches
from ingest.pipeline import run_ingest
from ingest.s2 import S2Client
from kg.core.errors import ConfigError
from kg.core.settings import Settings
from kg.store.corpus import CorpusStore
from kg.store.schema import SCHEMA_VERSION
from tests.s2server import S2Server, World, hex_id


def pid(name: str) -> str:
    return hex_id("close", name)


def record(name: str, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "paperId": pid(name),
        "title": f"Paper {name} on circuits",
        "abstract": f"We study {name}.",
        "year": 2020,
        "authors": [{"authorId": "1", "name": "A. Author"}],
    }
    rec.update(kw)
    return rec


NEIGHBOURHOOD = ("S", "R1", "R2", "C1", "C2", "C3", "C4")
OUTSIDE = ("X", "Y", "Z", "W")


def cocitation_world() -> World:
    world = World(papers=[record(n) for n in NEIGHBOURHOOD + OUTSIDE])
    edges = [("S", "R1"), ("S", "R2"), ("C1", "R1"), ("R1", "R2"), ("C2", "C1"), ("R1", "W")]
    edges += [(c, "S") for c in ("C1", "C2", "C3", "C4")]
    edges += [(c, "Z") for c in ("C1", "C2", "C3", "C4")]
    edges += [(c, "X") for c in ("C1", "C2", "C3")]
    edges += [(c, "Y") for c in ("C1", "C2")]
    for a, b in edges:
        world.add_edge(pid(a), pid(b))
    return world


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir, s2_api_url=url, s2_min_interval=0.0, s2_backoff=0.01, s2_max_retries=1
    )


def ingest(srv: S2Server, tmp_path: Path, seeds: list[str], **policy: Any) -> Any:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(seeds) + "\n")
    settings = settings_for(srv.url, tmp_path / "data")
    with S2Client(settings) as client:
        return run_ingest(
            [ids], settings=settings, client=client, progress=False, policy=CrawlPolicy(**policy)
        )


def stored(tmp_path: Path) -> tuple[set[str], set[tuple[str, str]]]:
    with CorpusStore(tmp_path / "data" / "corpus.sqlite", create=False) as store:
        papers = set(store.paper_ids())
        edges = {(c.citing, c.cited) for c in store.citations(contexts=False)}
    return papers, edges


def edge_set(*pairs: tuple[str, str]) -> set[tuple[str, str]]:
    return {(pid(a), pid(b)) for a, b in pairs}


@pytest.fixture
def server() -> Iterator[S2Server]:
    with S2Server(cocitation_world()) as srv:
        yield srv


def test_closing_stores_the_edges_among_the_neighbourhood_and_none_outside(
    server: S2Server, tmp_path: Path
) -> None:
    ingest(server, tmp_path, [pid("S")], cocited_max=0)
    papers, edges = stored(tmp_path)
    assert papers == {pid(n) for n in NEIGHBOURHOOD}
    crawled = edge_set(("S", "R1"), ("S", "R2"), *((c, "S") for c in ("C1", "C2", "C3", "C4")))
    assert edges == crawled | edge_set(("C1", "R1"), ("R1", "R2"), ("C2", "C1"))
    # The reference lists are kept whole, outside ids too, for co-citation.
    with CorpusStore(tmp_path / "data" / "corpus.sqlite", create=False) as store:
        lists = store.reference_lists([pid("C1"), pid("R1")])
    assert set(lists[pid("C1")]) == {pid(n) for n in ("S", "R1", "Z", "X", "Y")}
    assert set(lists[pid("R1")]) == {pid("R2"), pid("W")}


def test_without_closing_only_the_crawled_edges_are_stored(
    server: S2Server, tmp_path: Path
) -> None:
    ingest(server, tmp_path, [pid("S")], close=False, cocited_max=0)
    _, edges = stored(tmp_path)
    assert edge_set(("C1", "R1"), ("R1", "R2"), ("C2", "C1")).isdisjoint(edges)
    assert server.counts["batch"] == 2  # the seed, then the neighbours' details


def test_cocitation_adds_exactly_the_papers_cited_alongside_a_seed(
    server: S2Server, tmp_path: Path
) -> None:
    summary = ingest(server, tmp_path, [pid("S")], cocited_min=3)
    papers, edges = stored(tmp_path)
    # Z (4 of S's citing papers) and X (3) join; Y (2) and W (cited by R1 only) do not.
    assert papers == {pid(n) for n in (*NEIGHBOURHOOD, "Z", "X")}
    assert edge_set(*((c, "Z") for c in ("C1", "C2", "C3", "C4"))) <= edges
    assert edge_set(*((c, "X") for c in ("C1", "C2", "C3"))) <= edges
    assert not any(pid("Y") in e or pid("W") in e for e in edges)
    assert summary.crawl["cocited_candidates"] == 2 and summary.crawl["cocited_added"] == 2
    assert (
        "Neighbourhood closed: 8 reference lists fetched (+3 edges among the corpus); "
        "co-citation added 2 of 2 candidate papers (+7 edges)"
    ) in summary.lines()
    with CorpusStore(tmp_path / "data" / "corpus.sqlite", create=False) as store:
        z = store.get_paper(pid("Z"))
        assert z is not None and z.title == "Paper Z on circuits"  # details were fetched
        assert store.cocited_done(pid("S"))


def test_cocitation_cap_keeps_the_most_cocited(server: S2Server, tmp_path: Path) -> None:
    ingest(server, tmp_path, [pid("S")], cocited_min=2, cocited_max=1)
    papers, _ = stored(tmp_path)
    assert papers - {pid(n) for n in NEIGHBOURHOOD} == {pid("Z")}


def test_cocitation_threshold_is_a_setting(server: S2Server, tmp_path: Path) -> None:
    ingest(server, tmp_path, [pid("S")], cocited_min=2)
    papers, _ = stored(tmp_path)
    assert papers - {pid(n) for n in NEIGHBOURHOOD} == {pid("Z"), pid("X"), pid("Y")}


def test_call_counts_and_a_rerun_makes_no_call(server: S2Server, tmp_path: Path) -> None:
    ingest(server, tmp_path, [pid("S")])
    # Seed, /references + /citations of S, neighbours' details, their reference lists
    # (S's came with its /references), the co-cited papers' details and reference lists.
    assert dict(server.counts) == {"batch": 5, "references": 1, "citations": 1}
    close_calls = [c for c in server.calls_to("batch") if "references" in c.query["fields"]]
    assert [sorted(c.body["ids"]) for c in close_calls] == [
        sorted(pid(n) for n in ("R1", "R2", "C1", "C2", "C3", "C4")),
        sorted(pid(n) for n in ("Z", "X")),
    ]
    assert close_calls[0].query["fields"] == ",".join(CLOSE_FIELDS)
    before = stored(tmp_path)
    # The store, not the response cache, says what is done: no call without the cache.
    server.reset()
    settings = settings_for(server.url, tmp_path / "data")
    with (
        CorpusStore(settings.corpus_path) as store,
        S2Client(settings, use_cache=False) as client,
    ):
        report = crawl(store, client, store.seed_paper_ids(), CrawlPolicy(), progress=False)
    assert server.calls == []
    assert report.closed == 0 and report.cocited_added == 0
    assert stored(tmp_path) == before


def test_empty_nested_list_falls_back_to_references_for_that_paper_only(
    tmp_path: Path,
) -> None:
    with S2Server(cocitation_world(), empty_nested_references={pid("C2")}) as srv:
        summary = ingest(srv, tmp_path, [pid("S")], cocited_min=3)
        references = [c.path for c in srv.calls_to("references")]
    assert references == [
        f"/graph/v1/paper/{pid('S')}/references",  # the seed's neighbourhood
        f"/graph/v1/paper/{pid('C2')}/references",  # the fallback
    ]
    assert summary.crawl["close_fallbacks"] == 1
    papers, edges = stored(tmp_path)
    # C2's edge inside the neighbourhood is stored, and C2 still counts for X's co-citation.
    assert pid("X") in papers and edge_set(("C2", "C1"), ("C2", "X")) <= edges


def test_batches_are_split_by_nested_reference_counts(tmp_path: Path) -> None:
    world = cocitation_world()
    # S2's served referenceCount is what the batches are planned from.
    for name, count in (("C1", 4000), ("C2", 4000), ("C3", 4000), ("R1", 12_000)):
        world.papers[pid(name)]["override"] = {"referenceCount": count}
    world.invalidate()
    with S2Server(world) as srv:
        ingest(srv, tmp_path, [pid("S")], cocited_max=0)
        close_calls = [c for c in srv.calls_to("batch") if "references" in c.query["fields"]]
        references = [c.path for c in srv.calls_to("references")]
    batches = [set(c.body["ids"]) for c in close_calls]
    assert len(batches) == 2 and all(
        sum(1 for n in ("C1", "C2", "C3") if pid(n) in b) <= 2 for b in batches
    )
    assert set().union(*batches) == {pid(n) for n in ("R2", "C1", "C2", "C3", "C4")}
    # Over 9,999 references on its own: paged from /references, never nested.
    assert references[-1] == f"/graph/v1/paper/{pid('R1')}/references"
    _, edges = stored(tmp_path)
    assert edge_set(("C1", "R1"), ("R1", "R2"), ("C2", "C1")) <= edges


def test_an_oversized_answer_splits_the_batch(tmp_path: Path) -> None:
    world = cocitation_world()
    for name in ("C1", "C2", "C3", "C4"):  # S2 says 0 although they have references
        world.papers[pid(name)]["override"] = {"referenceCount": 0}
    world.invalidate()
    with S2Server(world, max_nested=6) as srv:
        ingest(srv, tmp_path, [pid("S")], cocited_max=0)
        statuses = [c.status for c in srv.calls_to("batch") if "references" in c.query["fields"]]
    assert 400 in statuses and statuses[-1] == 200
    _, edges = stored(tmp_path)
    assert edge_set(("C1", "R1"), ("R1", "R2"), ("C2", "C1")) <= edges


def test_a_later_run_links_lists_closed_earlier_to_new_papers(
    server: S2Server, tmp_path: Path
) -> None:
    # Seed C1 first: R1 joins and its list (naming R2) is closed; then S joins as a seed
    # and brings R2 in. R1's list, closed in the first run, must link to R2.
    ingest(server, tmp_path, [pid("C1")], cocited_max=0)
    ingest(server, tmp_path, [pid("C1"), pid("S")], cocited_max=0)
    papers, edges = stored(tmp_path)
    assert {pid(n) for n in NEIGHBOURHOOD} <= papers
    assert edge_set(("C1", "R1"), ("R1", "R2"), ("C2", "C1")) <= edges


def test_plan_batches_respects_both_limits() -> None:
    counts: dict[str, int | None] = {f"p{i}": 3000 for i in range(7)}
    counts.update({f"q{i}": None for i in range(3)})
    batches = plan_batches(list(counts), counts, max_nested=9_999, max_ids=4)
    assert sorted(p for b in batches for p in b) == sorted(counts)
    assert all(len(b) <= 4 for b in batches)
    assert all(sum(counts[p] or 0 for p in b) <= 9_999 for b in batches)
    assert len(batches) == 3  # 21,000 items need 3 calls; 10 ids need 3 calls of 4


def test_policy_validates_the_cocitation_settings() -> None:
    with pytest.raises(ConfigError, match="--cocited-min"):
        CrawlPolicy(cocited_min=0)
    with pytest.raises(ConfigError, match="--cocited-max"):
        CrawlPolicy(cocited_max=-1)


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "corpus.sqlite"
    CorpusStore(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE reference_lists")
    db.execute("DROP TABLE cocitation_done")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with CorpusStore(path) as store:
        store.put_reference_list("a", ["b"], reference_count=1, nested=1, endpoint="batch")
        assert store.closed_ids() == {"a"}
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    db.close()
    assert int(version) == SCHEMA_VERSION == 3


def test_cli_flags_turn_closing_and_widening_off_or_tune_them(
    server: S2Server, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    ids = tmp_path / "ids.txt"
    ids.write_text(pid("S") + "\n")
    runner = CliRunner()
    pace = {"S2_API_URL": server.url, "LITKG_S2_MIN_INTERVAL": "0"}
    off = {"LITKG_DATA_DIR": str(tmp_path / "data"), **pace}
    result = runner.invoke(
        app, ["ingest", str(ids), "--no-progress", "--no-close", "--cocited-max", "0"], env=off
    )
    assert result.exit_code == 0, result.output
    papers, edges = stored(tmp_path)
    assert papers == {pid(n) for n in NEIGHBOURHOOD}
    assert edge_set(("C1", "R1"), ("R1", "R2"), ("C2", "C1")).isdisjoint(edges)

    (tmp_path / "two").mkdir()
    on = {"LITKG_DATA_DIR": str(tmp_path / "two" / "data"), **pace}
    result = runner.invoke(app, ["ingest", str(ids), "--no-progress", "--cocited-min", "2"], env=on)
    assert result.exit_code == 0, result.output
    papers, edges = stored(tmp_path / "two")
    assert papers == {pid(n) for n in (*NEIGHBOURHOOD, "X", "Y", "Z")}
    assert edge_set(("C1", "R1"), ("R1", "R2"), ("C2", "C1")) <= edges


def test_an_interrupted_close_resumes_without_refetching(tmp_path: Path) -> None:
    from ingest.errors import S2Unavailable

    world = cocitation_world()
    for name in ("C1", "C2", "C3"):  # two closing batches
        world.papers[pid(name)]["override"] = {"referenceCount": 4000}
    world.invalidate()

    def closing(call: Any) -> bool:
        return "references" in call.query.get("fields", "")

    with S2Server(world) as srv:
        srv.faults.add(503, times=None, endpoint="batch", after=1, when=closing)
        with pytest.raises(S2Unavailable):
            ingest(srv, tmp_path, [pid("S")], cocited_max=0)
        first = [set(c.body["ids"]) for c in srv.calls_to("batch") if closing(c)]
        with CorpusStore(tmp_path / "data" / "corpus.sqlite", create=False) as store:
            done = store.closed_ids() - {pid("S")}
        assert done == first[0]  # the first batch was committed, the second was not
        srv.faults.clear()
        srv.reset()
        ingest(srv, tmp_path, [pid("S")], cocited_max=0)
        second = [set(c.body["ids"]) for c in srv.calls_to("batch") if closing(c)]
    assert second == [{pid(n) for n in ("R1", "R2", "C1", "C2", "C3", "C4")} - done]
    _, edges = stored(tmp_path)
    assert edge_set(("C1", "R1"), ("R1", "R2"), ("C2", "C1")) <= edges
