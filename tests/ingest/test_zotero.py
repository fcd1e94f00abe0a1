"""Zotero both ways against the local fake (``tests/zotero_fake.py``): libraries and
collections read as seeds (web and local API, paged), re-runs that update rather than
duplicate, reading lists pushed into a collection (idempotent, 412 and 429 handled)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ingest.crawl import CrawlPolicy
from ingest.pipeline import run_ingest
from ingest.s2 import S2Client
from ingest.sources import parse_bibtex
from ingest.zotero import (
    Library,
    PushPaper,
    ZoteroClient,
    ZoteroError,
    item_json,
    load_zotero_source,
    parse_spec,
    push_papers,
    read_library,
    remember_collection,
    remembered_collection,
)
from kg.core.model import Author, Paper
from kg.core.settings import Settings
from kg.store.corpus import CorpusStore
from tests.s2server import S2Server
from tests.s2world import small_world
from tests.zotero_fake import FakeZotero

LIB = "users/123"
KEY = "secret-key"

PREPRINT = {
    "itemType": "preprint",
    "title": "Toy Models of <i>Superposition</i>",
    "creators": [{"creatorType": "author", "firstName": "Nelson", "lastName": "Elhage"}],
    "date": "2022-09-21",
    "url": "http://arxiv.org/abs/2209.10652",
    "DOI": "10.48550/arXiv.2209.10652",
    "archiveID": "arXiv:2209.10652",
    "repository": "arXiv",
    "extra": "arXiv:2209.10652 [cs]",
    "tags": [{"tag": "superposition"}],
}
ARTICLE = {
    "itemType": "journalArticle",
    "title": "Computing Machinery and Intelligence",
    "creators": [{"creatorType": "author", "firstName": "A. M.", "lastName": "Turing"}],
    "date": "1950-10-01",
    "publicationTitle": "Mind",
    "DOI": "10.1093/mind/LIX.236.433",
}
TOY_IDS = (
    "ARXIV:2209.10652",
    "DOI:10.48550/arxiv.2209.10652",
    "URL:http://arxiv.org/abs/2209.10652",
)
#: How Zotero's own BibTeX export writes the two items above.
EXPORT = """
@misc{elhage_toy_2022,
  title = {Toy {Models} of {Superposition}},
  url = {http://arxiv.org/abs/2209.10652},
  doi = {10.48550/arXiv.2209.10652},
  publisher = {arXiv},
  author = {Elhage, Nelson},
  year = {2022},
  note = {arXiv:2209.10652 [cs]},
}
@article{turing_computing_1950,
  title = {Computing {Machinery} and {Intelligence}},
  volume = {LIX},
  doi = {10.1093/mind/LIX.236.433},
  journal = {Mind},
  author = {Turing, A. M.},
  year = {1950},
}
"""


@pytest.fixture
def zotero(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeZotero]:
    with FakeZotero(api_key=KEY) as fake:
        monkeypatch.setenv("ZOTERO_API_KEY", KEY)
        monkeypatch.setenv("LITKG_ZOTERO_API_URL", fake.url)
        monkeypatch.setenv("LITKG_ZOTERO_LOCAL_URL", fake.local_url)
        yield fake


def client(fake: FakeZotero, waits: list[float] | None = None, **kw: Any) -> ZoteroClient:
    sleep = waits.append if waits is not None else (lambda _s: None)
    return ZoteroClient(fake.url, KEY, sleep=sleep, **kw)


# --------------------------------------------------------------------------- specs


def test_specs_name_libraries_collections_and_the_local_api() -> None:
    assert parse_spec("zotero:users/123") == Library("users", "123")
    assert parse_spec("zotero:groups/9/collections/ABCD2345") == Library("groups", "9", "ABCD2345")
    assert parse_spec("zotero:users/1/collections/To read").collection == "To read"
    env = {"ZOTERO_LIBRARY_ID": "77", "ZOTERO_LIBRARY_TYPE": "group"}
    assert parse_spec("zotero:", env) == Library("groups", "77")
    assert parse_spec("zotero-local:") == Library("users", "0", local=True)
    local = parse_spec("zotero-local:collections/ABCD2345")
    assert local.spec == "zotero-local:collections/ABCD2345" and local.path == "/users/0"
    with pytest.raises(ZoteroError, match="ZOTERO_LIBRARY_ID is not set"):
        parse_spec("zotero:", {})
    with pytest.raises(ZoteroError, match="zotero:users/<id>"):
        parse_spec("zotero:people/abc")


# --------------------------------------------------------------------------- reading


def test_a_library_is_read_across_pages_oldest_first(zotero: FakeZotero) -> None:
    for i in range(230):
        zotero.add_item(LIB, {"itemType": "preprint", "title": f"Paper {i}",
                              "archiveID": f"arXiv:2301.{i:05d}"})  # fmt: skip
    zotero.add_item(LIB, {"itemType": "note", "note": "<p>a standalone note</p>"})
    zotero.add_item(LIB, {"itemType": "journalArticle", "title": ""})
    result = load_zotero_source(f"zotero:{LIB}")
    assert [r.title for r in result.refs] == [f"Paper {i}" for i in range(230)]
    assert [r.position for r in result.refs] == list(range(230))
    assert result.refs[5].ids == ("ARXIV:2301.00005",)
    assert {r.source for r in result.refs} == {"zotero:users/123"}
    assert result.refs[0].key == f"ZOTERO:{LIB}/{next(iter(zotero.library(LIB).items))}"
    assert [s.reason.replace(s.text, "KEY") for s in result.skipped] == [
        "Zotero note, not a paper (item KEY)",
        "item KEY has no title; give it one in Zotero",
    ]
    gets = [(path, q) for m, path, q, _ in zotero.calls if m == "GET"]
    assert len(gets) == 3  # 100 + 100 + 32, following the Link header
    assert all(q["sort"] == ["dateAdded"] and q["direction"] == ["asc"] for _, q in gets)
    assert [q.get("start", ["0"])[0] for _, q in gets] == ["0", "100", "200"]
    assert all(h.get("Zotero-API-Key") == KEY for *_, h in zotero.calls)


def test_items_give_the_ids_and_local_ids_of_their_bibtex_export(zotero: FakeZotero) -> None:
    zotero.add_item(LIB, PREPRINT)
    zotero.add_item(LIB, ARTICLE)
    live = load_zotero_source(f"zotero:{LIB}").refs
    exported = parse_bibtex(EXPORT, "export.bib").refs
    assert [r.ids for r in live] == [r.ids for r in exported]
    assert [r.metadata.paper_id for r in live if r.metadata] == [
        r.metadata.paper_id for r in exported if r.metadata
    ]
    toy, turing = live
    assert toy.ids == TOY_IDS and toy.title == "Toy Models of Superposition"
    assert turing.ids == ("DOI:10.1093/mind/lix.236.433",)
    assert toy.metadata is not None and toy.metadata.tags == ("superposition",)
    assert toy.metadata.authors == (Author("Nelson Elhage"),)
    assert toy.metadata.publication_date == "2022-09-21" and toy.year == 2022
    assert turing.metadata is not None and turing.metadata.journal == "Mind"


def test_a_collection_is_read_by_key_or_by_name(zotero: FakeZotero) -> None:
    coll = zotero.add_collection(LIB, "To read")
    zotero.add_item(LIB, {**ARTICLE, "collections": [coll]})
    zotero.add_item(LIB, PREPRINT)  # not in the collection
    by_key = load_zotero_source(f"zotero:{LIB}/collections/{coll}")
    by_name = load_zotero_source(f"zotero:{LIB}/collections/to read")
    assert [r.title for r in by_key.refs] == ["Computing Machinery and Intelligence"]
    assert by_name.refs == by_key.refs  # stored under the key, however it was named
    assert by_key.refs[0].source == f"zotero:{LIB}/collections/{coll}"
    with pytest.raises(ZoteroError, match=r"no collection called 'Unread'; use one of To read"):
        load_zotero_source(f"zotero:{LIB}/collections/Unread")


def test_the_local_api_is_read_without_a_key(
    zotero: FakeZotero, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZOTERO_API_KEY")
    zotero.add_item("users/0", PREPRINT)
    result = load_zotero_source("zotero-local:")
    assert [r.ids for r in result.refs] == [TOY_IDS]
    assert result.refs[0].source == "zotero-local:"
    ((_, path, _, headers),) = zotero.calls
    assert path == "/api/users/0/items/top" and "Zotero-API-Key" not in headers


def test_the_local_api_down_says_to_start_zotero(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ZoteroError, match="start Zotero 7 and tick 'Allow other applications"):
        read_library(
            Library("users", "0", local=True),
            ZoteroClient("http://127.0.0.1:9/api", local=True, sleep=lambda _s: None),
        )


def test_429_and_503_wait_as_told_then_retry(zotero: FakeZotero) -> None:
    zotero.add_item(LIB, PREPRINT)
    zotero.faults += [(429, {"Retry-After": "7"}), (503, {"Retry-After": "3"})]
    waits: list[float] = []
    with client(zotero, waits) as c:
        items, version = c.items(Library("users", "123"))
    assert [i["data"]["title"] for i in items] == [PREPRINT["title"]]
    assert waits == [7.0, 3.0] and version == zotero.library(LIB).version


def test_a_backoff_header_spaces_the_next_request(zotero: FakeZotero) -> None:
    zotero.add_item(LIB, PREPRINT)
    zotero.faults.append((503, {"Backoff": "30", "Retry-After": "1"}))
    waits: list[float] = []
    with client(zotero, waits, clock=lambda: 0.0) as c:
        c.items(Library("users", "123"))
    assert waits == [1.0, 30.0]  # Retry-After, then the Backoff before the retry


def test_429_forever_gives_up_with_a_message(zotero: FakeZotero) -> None:
    zotero.add_item(LIB, PREPRINT)
    zotero.faults += [(429, {"Retry-After": "1"})] * 3
    with client(zotero, max_retries=2) as c, pytest.raises(ZoteroError, match="tried 3 times"):
        c.items(Library("users", "123"))


def test_a_bad_key_and_an_unknown_library_name_the_fix(
    zotero: FakeZotero, monkeypatch: pytest.MonkeyPatch
) -> None:
    zotero.add_item(LIB, PREPRINT)
    monkeypatch.setenv("ZOTERO_API_KEY", "wrong")
    with pytest.raises(ZoteroError, match=r"403.*check ZOTERO_API_KEY.*zotero.org/settings/keys"):
        load_zotero_source(f"zotero:{LIB}")
    monkeypatch.delenv("ZOTERO_API_KEY")
    with pytest.raises(ZoteroError, match=r"403.*set ZOTERO_API_KEY"):
        load_zotero_source(f"zotero:{LIB}")
    monkeypatch.setenv("ZOTERO_API_KEY", KEY)
    with pytest.raises(ZoteroError, match=r"404.*check the library id: your userID"):
        load_zotero_source("zotero:users/999")
    with pytest.raises(ZoteroError, match=r"404.*check the collection key"):
        load_zotero_source(f"zotero:{LIB}/collections/ABCD2345")


# --------------------------------------------------------------------------- ingest


def test_rerun_updates_the_same_papers_instead_of_adding_new_ones(
    zotero: FakeZotero, tmp_path: Path
) -> None:
    """Offline: an item that gains a DOI keeps its paper (folded by its Zotero key), a new
    item is appended, a deleted item's seed row goes."""
    settings = Settings(data_dir=tmp_path / "data")
    bare = zotero.add_item(LIB, {"itemType": "journalArticle", "title": "Zoom In", "date": "2020"})
    gone = zotero.add_item(LIB, ARTICLE)
    zotero.add_item(LIB, PREPRINT)
    first = run_ingest([f"zotero:{LIB}"], settings=settings, offline=True, progress=False)  # type: ignore[list-item]
    assert first.offline == 3
    with CorpusStore(settings.corpus_path) as store:
        old_id = store.lookup(f"ZOTERO:{LIB}/{bare}")
        assert old_id is not None and old_id.startswith("local:")
    zotero.edit_item(LIB, bare, DOI="10.23915/distill.00024.001")
    zotero.delete_item(LIB, gone)
    zotero.add_item(
        LIB, {"itemType": "preprint", "title": "New one", "archiveID": "arXiv:2301.00001"}
    )
    second = run_ingest([f"zotero:{LIB}"], settings=settings, offline=True, progress=False)  # type: ignore[list-item]
    assert second.offline == 3
    with CorpusStore(settings.corpus_path) as store:
        titles = sorted(p.title for p in store.papers())
        seeds = store.seeds(f"zotero:{LIB}")
        new_id = store.lookup(f"ZOTERO:{LIB}/{bare}")
        assert new_id is not None and new_id != old_id
        assert store.get_paper(old_id) is None and store.lookup(old_id) == new_id
        assert store.lookup("DOI:10.23915/distill.00024.001") == new_id
    # Turing's paper stays stored (its data is not lost), but no longer as a seed.
    assert titles == [
        "Computing Machinery and Intelligence",
        "New one",
        "Toy Models of Superposition",
        "Zoom In",
    ]
    assert [s.title for s in seeds] == ["Zoom In", "Toy Models of Superposition", "New one"]
    assert [s.position for s in seeds] == [0, 1, 2]


def test_online_ingest_resolves_zotero_items_on_s2(zotero: FakeZotero, tmp_path: Path) -> None:
    world = small_world()
    record = next(p for p in world.papers.values() if (p.get("externalIds") or {}).get("ArXiv"))
    key = zotero.add_item(
        LIB,
        {
            "itemType": "preprint",
            "title": record["title"],
            "archiveID": "arXiv:" + record["externalIds"]["ArXiv"],
        },
    )
    settings = Settings(data_dir=tmp_path / "data", s2_min_interval=0.0)
    offline = run_ingest([f"zotero:{LIB}"], settings=settings, offline=True, progress=False)  # type: ignore[list-item]
    assert offline.offline == 1
    with S2Server(world) as s2:
        settings = Settings(data_dir=tmp_path / "data", s2_api_url=s2.url, s2_min_interval=0.0)
        with S2Client(settings) as c:
            online = run_ingest(
                [f"zotero:{LIB}"],  # type: ignore[list-item]
                settings=settings,
                client=c,
                progress=False,
                policy=CrawlPolicy(depth=0),
            )
    assert online.resolved == 1
    with CorpusStore(settings.corpus_path) as store:
        assert [p.paper_id for p in store.papers()] == [record["paperId"]]
        assert store.lookup(f"ZOTERO:{LIB}/{key}") == record["paperId"]
        (seed,) = store.seeds()
        assert seed.paper_id == record["paperId"] and seed.status == "resolved"


# --------------------------------------------------------------------------- push

WANG = Paper(
    "a" * 40,
    "Interpretability in the Wild",
    year=2022,
    authors=(Author("Kevin Wang"), Author("Alexandre Variengien")),
    external_ids={"DOI": "10.48550/arXiv.2211.00593", "ArXiv": "2211.00593"},
)
TURING = Paper(
    "b" * 40,
    "Computing Machinery and Intelligence",
    year=1950,
    journal="Mind",
    authors=(Author("Alan Turing"),),
    external_ids={"DOI": "10.1093/mind/LIX.236.433"},
)
BLOG = Paper("c" * 40, "Zoom In", year=2020, url="https://distill.pub/2020/circuits/zoom-in/")
PUSH = [
    PushPaper(WANG, "Cited by 3 of your seeds <b>& co-cited</b> with <script>x</script>"),
    PushPaper(TURING, None),
    PushPaper(BLOG, "Shares 4 references\nwith your list"),
]


def test_push_creates_the_collection_items_and_notes(zotero: FakeZotero) -> None:
    zotero.library(LIB)
    with client(zotero) as c:
        report = push_papers(c, Library("users", "123"), "litkg: MI", PUSH, list_name="MI")
    assert report.created_collection and report.notes == 2
    assert report.added == [p.paper.paper_id for p in PUSH] and report.present == []
    (coll,) = zotero.library(LIB).collections.values()
    assert coll["data"]["name"] == "litkg: MI" and coll["key"] == report.collection_key
    items = {i["title"]: i for i in zotero.in_collection(LIB, report.collection_key)}
    assert items.keys() == {WANG.title, TURING.title, BLOG.title}
    wang = items[WANG.title]
    assert wang["itemType"] == "preprint" and wang["archiveID"] == "arXiv:2211.00593"
    assert "DOI" not in wang and wang["extra"] == "arXiv: 2211.00593"
    assert wang["creators"][0] == {
        "creatorType": "author",
        "firstName": "Kevin",
        "lastName": "Wang",
    }
    assert items[TURING.title]["DOI"] == "10.1093/mind/lix.236.433"
    assert items[TURING.title]["publicationTitle"] == "Mind"
    assert items[BLOG.title]["itemType"] == "document"
    assert items[BLOG.title]["url"] == BLOG.url
    (note,) = zotero.children(LIB, wang["key"])
    assert note["itemType"] == "note"
    assert "&lt;script&gt;x&lt;/script&gt;" in note["note"] and "<script>" not in note["note"]
    assert "&lt;b&gt;&amp; co-cited&lt;/b&gt;" in note["note"]
    assert zotero.children(LIB, items[TURING.title]["key"]) == []
    (blog_note,) = zotero.children(LIB, items[BLOG.title]["key"])
    assert "<p>Shares 4 references</p><p>with your list</p>" in blog_note["note"]
    assert "reading list “MI”" in blog_note["note"]
    writes = [h for m, _, _, h in zotero.calls if m == "POST"]
    assert all("If-Unmodified-Since-Version" in h for h in writes)


def test_a_second_push_adds_nothing(zotero: FakeZotero) -> None:
    zotero.library(LIB)
    lib = Library("users", "123")
    with client(zotero) as c:
        first = push_papers(c, lib, "MI", PUSH, list_name="MI")
        version = zotero.library(LIB).version
        posts = sum(m == "POST" for m, *_ in zotero.calls)
        second = push_papers(c, lib, "MI", PUSH, list_name="MI")
    assert second.added == [] and second.present == first.added and second.notes == 0
    assert not second.created_collection and second.collection_key == first.collection_key
    assert sum(m == "POST" for m, *_ in zotero.calls) == posts
    assert zotero.library(LIB).version == version
    assert len(zotero.library(LIB).collections) == 1


def test_an_item_already_there_by_doi_arxiv_or_url_is_not_added_again(
    zotero: FakeZotero,
) -> None:
    coll = zotero.add_collection(LIB, "MI")
    zotero.add_item(LIB, {**PREPRINT, "title": "Wang et al.", "archiveID": "arXiv:2211.00593",
                          "url": "", "DOI": "", "collections": [coll]})  # fmt: skip
    zotero.add_item(LIB, {"itemType": "webpage", "title": "Zoom", "collections": [coll],
                          "url": "https://distill.pub/2020/circuits/zoom-in"})  # fmt: skip
    with client(zotero) as c:
        report = push_papers(c, Library("users", "123"), "MI", PUSH, list_name="MI")
    assert report.collection_key == coll and report.added == [TURING.paper_id]
    assert report.present == [WANG.paper_id, BLOG.paper_id]


def test_a_stale_version_is_reread_and_retried_without_duplicates(zotero: FakeZotero) -> None:
    """Someone writes to the library just before the collection is created, and again just
    before the items are: each write is answered 412, re-read and tried again."""
    zotero.library(LIB)
    zotero.stale_writes = 1
    with client(zotero) as c:
        real_create = c.create
        item_writes = []

        def create(library: Library, what: str, objects: Any, version: int) -> Any:
            if what == "items" and objects[0]["itemType"] != "note" and not item_writes:
                item_writes.append(1)
                zotero.stale_writes = 1  # the first item write, after the collection's
            return real_create(library, what, objects, version)

        c.create = create  # type: ignore[method-assign]
        report = push_papers(c, Library("users", "123"), "MI", PUSH, list_name="MI")
    assert report.retries_412 == 2
    batches = [[o.get("name") or o.get("itemType") for o in b] for b in zotero.posted_batches]
    assert batches == [
        ["MI"],  # 412
        ["MI"],
        ["preprint", "journalArticle", "document"],  # 412
        ["preprint", "journalArticle", "document"],  # the collection found, not made again
        ["note", "note"],
    ]
    assert len(zotero.library(LIB).collections) == 1
    assert sorted(i["title"] for i in zotero.in_collection(LIB, report.collection_key)) == sorted(
        p.paper.title for p in PUSH
    )
    assert report.notes == 2


def test_a_stale_version_while_writing_notes_does_not_re_add_items(zotero: FakeZotero) -> None:
    zotero.library(LIB)
    with client(zotero) as c:
        lib = Library("users", "123")
        real_create = c.create
        calls = {"n": 0}

        def create(library: Library, what: str, objects: Any, version: int) -> Any:
            calls["n"] += 1
            if calls["n"] == 3:  # the notes: someone wrote meanwhile
                zotero.stale_writes = 1
            return real_create(library, what, objects, version)

        c.create = create  # type: ignore[method-assign]
        report = push_papers(c, lib, "MI", PUSH, list_name="MI")
    assert report.retries_412 == 1 and report.notes == 2
    assert len(zotero.in_collection(LIB, report.collection_key)) == 3


def test_more_than_50_papers_go_in_batches_of_50(zotero: FakeZotero) -> None:
    zotero.library(LIB)
    papers = [
        PushPaper(Paper(f"{i:040x}", f"Paper {i}", external_ids={"ArXiv": f"2301.{i:05d}"}), None)
        for i in range(120)
    ]
    with client(zotero) as c:
        report = push_papers(c, Library("users", "123"), "Big", papers, list_name="Big")
    assert len(report.added) == 120
    assert [len(b) for b in zotero.posted_batches] == [1, 50, 50, 20]


def test_push_to_the_local_api_is_refused_with_the_way_out() -> None:
    with pytest.raises(ZoteroError, match=r"local API is read-only.*ZOTERO_API_KEY"):
        push_papers(
            ZoteroClient("http://127.0.0.1:9/api", local=True),
            Library("users", "0", local=True),
            "MI",
            PUSH,
            list_name="MI",
        )


def test_item_json_is_valid_for_each_kind() -> None:
    assert item_json(WANG, "ABCD2345")["itemType"] == "preprint"
    assert item_json(TURING, "ABCD2345")["itemType"] == "journalArticle"
    iclr = item_json(replace(WANG, venue="ICLR"), "ABCD2345")
    assert iclr["itemType"] == "conferencePaper" and iclr["proceedingsTitle"] == "ICLR"
    assert iclr["extra"] == "arXiv: 2211.00593" and "archiveID" not in iclr
    s2_preprint = replace(
        WANG, venue="arXiv.org", journal="ArXiv", url="https://www.semanticscholar.org/paper/x"
    )
    assert item_json(s2_preprint, "ABCD2345")["itemType"] == "preprint"
    assert item_json(s2_preprint, "ABCD2345")["url"] == "https://arxiv.org/abs/2211.00593"
    neurips = replace(WANG, venue="NeurIPS", journal="NeurIPS", publication_types=("Conference",))
    assert item_json(neurips, "ABCD2345")["itemType"] == "conferencePaper"
    doc = item_json(Paper("d" * 40, "X", external_ids={"DOI": "10.1000/X"}), "ABCD2345")
    assert doc["itemType"] == "document" and "DOI" not in doc and doc["extra"] == "DOI: 10.1000/x"


def test_the_collection_key_is_remembered(tmp_path: Path) -> None:
    path = tmp_path / "zotero-pushes.json"
    lib = Library("users", "123")
    assert remembered_collection(path, lib, "MI") is None
    remember_collection(path, lib, "MI", "ABCD2345")
    assert remembered_collection(path, lib, "MI") == "ABCD2345"
    assert remembered_collection(path, Library("groups", "123"), "MI") is None
    path.write_text("{not json")
    with pytest.raises(ZoteroError, match="delete it"):
        remembered_collection(path, lib, "MI")


def test_since_reads_only_what_changed_after_a_version(zotero: FakeZotero) -> None:
    first = zotero.add_item(LIB, PREPRINT)
    zotero.add_item(LIB, ARTICLE)
    lib = Library("users", "123")
    with client(zotero) as c:
        _, version = c.items(lib)
        assert version == zotero.library(LIB).version == c.version(lib)
        zotero.edit_item(LIB, first, title="Toy Models of Superposition (v2)")
        changed, newer = c.items(lib, since=version)
    assert [i["key"] for i in changed] == [first] and newer == version + 1
