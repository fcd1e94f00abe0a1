"""``litkg ingest zotero:...``, ``litkg sources zotero:...`` and ``litkg zotero push``
through typer's CliRunner, against the local fake Zotero."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from app.cli import app
from kg.core.settings import Settings
from kg.store.corpus import CorpusStore
from kg.store.readinglists import ReadingLists
from tests.zotero_fake import FakeZotero

LIB = "users/123"
KEY = "secret-key"


@pytest.fixture
def zotero(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeZotero]:
    with FakeZotero(api_key=KEY) as fake:
        monkeypatch.setenv("ZOTERO_API_KEY", KEY)
        monkeypatch.setenv("LITKG_ZOTERO_API_URL", fake.url)
        monkeypatch.setenv("LITKG_ZOTERO_LOCAL_URL", fake.local_url)
        fake.add_item(
            LIB,
            {
                "itemType": "preprint",
                "title": "In-context Learning and Induction Heads",
                "archiveID": "arXiv:2209.11895",
                "date": "2022-09-24",
            },
        )
        fake.add_item(
            LIB,
            {
                "itemType": "journalArticle",
                "title": "Computing Machinery and Intelligence",
                "DOI": "10.1093/mind/LIX.236.433",
                "publicationTitle": "Mind",
                "date": "1950",
            },
        )
        fake.add_item(LIB, {"itemType": "note", "note": "<p>to do</p>"})
        yield fake


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_sources_lists_a_zotero_library(zotero: FakeZotero) -> None:
    code, out, err = run("sources", f"zotero:{LIB}")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(
        "  0  [-]  In-context Learning and Induction Heads  ARXIV:2209.11895"
    )
    assert lines[1].startswith("  1  [-]  Computing Machinery and Intelligence  DOI:10.1093/mind/")
    assert "(Zotero note, not a paper (item " in lines[2]


def test_ingest_twice_and_push_twice(zotero: FakeZotero) -> None:
    code, out, err = run("ingest", f"zotero:{LIB}", "--offline")
    assert code == 0, err
    assert "Seeds resolved: 0 / 2 listed (2 kept offline as local papers)" in out
    code, out, err = run("ingest", f"zotero:{LIB}", "--offline")
    assert code == 0, err
    assert "(+0 papers, +0 edges this run)" in out
    settings = Settings.from_env()
    with CorpusStore(settings.corpus_path) as store:
        ids = [s.paper_id for s in store.seeds()]
        assert len(ids) == 2 and store.status().papers == 2
    lists = ReadingLists.open(settings)
    lists.add("MI", ids[0], note="Seed of yours: <the> one that started it", create=True)
    lists.add("MI", ids[1])

    code, out, err = run("zotero", "push", "MI", "--collection", "litkg MI", "--library", LIB)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Collection 'litkg MI' (") and lines[0].endswith("): created")
    assert lines[1] == "Added 2 items, 1 with a note; 0 already in the collection"
    (coll,) = zotero.library(LIB).collections
    assert len(zotero.in_collection(LIB, coll)) == 2
    (note,) = [i for i in zotero.library(LIB).items.values() if i["data"].get("parentItem")]
    assert "Seed of yours: &lt;the&gt; one that started it" in note["data"]["note"]

    posts = len(zotero.posted_batches)
    code, out, err = run("zotero", "push", "MI", "--collection", "litkg MI", "--library", LIB)
    assert code == 0, err
    assert out.splitlines() == [
        f"Collection 'litkg MI' ({coll}): found",
        "Added 0 items, 0 with a note; 2 already in the collection",
    ]
    assert len(zotero.posted_batches) == posts


def test_a_renamed_collection_keeps_receiving_the_list(zotero: FakeZotero) -> None:
    assert run("ingest", f"zotero:{LIB}", "--offline")[0] == 0
    with CorpusStore(Settings.from_env().corpus_path) as store:
        first = store.seeds()[0].paper_id
    assert first is not None
    ReadingLists.open(Settings.from_env()).add("MI", first, create=True)
    assert run("zotero", "push", "MI", "--library", LIB)[0] == 0
    (coll,) = zotero.library(LIB).collections.values()
    coll["data"]["name"] = "Renamed in Zotero"
    code, out, err = run("zotero", "push", "MI", "--library", LIB)
    assert code == 0, err
    assert out.splitlines()[0] == f"Collection 'MI' ({coll['key']}): found"
    assert len(zotero.library(LIB).collections) == 1


def test_errors_name_the_fix(zotero: FakeZotero, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("ingest", "zotero:users/999", "--offline")
    assert code == 2 and "404" in err and "check the library id" in err
    monkeypatch.setenv("ZOTERO_API_KEY", "wrong")
    code, _, err = run("ingest", f"zotero:{LIB}", "--offline")
    assert code == 2 and "403" in err and "check ZOTERO_API_KEY" in err
    code, _, err = run("ingest", "zotero:", "--offline")
    assert code == 2 and "ZOTERO_LIBRARY_ID is not set" in err
    code, _, err = run("zotero", "push", "Nope", "--library", LIB)
    assert code == 2 and "Nope" in err
