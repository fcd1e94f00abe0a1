"""Tests of the local Semantic Scholar server (tests/s2server.py) and its worlds."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import shared_path
from tests.s2server import GRAPH, PAPER_FIELDS, S2Server, World, title_similarity
from tests.s2world import (
    add_synthetic_citations,
    build_world,
    parse_bibtex,
    small_world,
    watch_world,
)

P = GRAPH + "/paper"


def path_for(paper_id: str, suffix: str = "") -> str:
    return f"{P}/{quote(paper_id, safe=':/')}{suffix}"


@pytest.fixture(scope="module")
def small() -> World:
    return small_world()


@pytest.fixture
def server(small: World) -> Iterator[S2Server]:
    with S2Server(small) as srv:
        yield srv


@pytest.fixture
def client(server: S2Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as c:
        yield c


def recorded(name: str) -> Any:
    return json.loads(shared_path("s2-fixtures", name).read_text(encoding="utf-8"))


def cassette(name: str) -> list[dict[str, Any]]:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(shared_path("s2-fixtures", name).read_text(encoding="utf-8"))[
        "interactions"
    ]


# ----------------------------------------------------------------------------- papers
def test_without_fields_only_paper_id_and_title(client: httpx.Client, small: World) -> None:
    pid = small.resolve("ARXIV:1706.03762")
    assert pid
    r = client.get(path_for(pid))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"paperId": pid, "title": "Attention Is All You Need"}


def test_paper_keys_match_recorded_paper(client: httpx.Client, small: World) -> None:
    rec = recorded("Paper.json")
    author_keys = list(rec["authors"][0])
    nested_keys = list(rec["citations"][0])
    fields = [k for k in rec if k not in ("authors", "citations", "references")]
    fields += [f"authors.{k}" for k in author_keys]
    fields += [f"citations.{k}" for k in nested_keys] + [f"references.{k}" for k in nested_keys]
    pid = small.resolve("ARXIV:1706.03762")
    assert pid
    r = client.get(path_for(pid), params={"fields": ",".join(fields)})
    assert r.status_code == 200, r.text
    got = r.json()
    assert list(got) == list(PAPER_FIELDS)  # S2's order
    assert set(got) == set(rec)
    assert set(got["authors"][0]) == set(author_keys)
    assert set(got["references"][0]) == set(nested_keys)
    assert set(got["embedding"]) == set(rec["embedding"]) == {"model", "vector"}
    assert got["embedding"]["model"] == "specter_v1" and len(got["embedding"]["vector"]) == 768
    assert set(got["tldr"]) == set(rec["tldr"])
    assert got["externalIds"]["ArXiv"] == "1706.03762" and "CorpusId" in got["externalIds"]
    assert got["url"] == f"https://www.semanticscholar.org/paper/{pid}"
    assert got["citationStyles"]["bibtex"].startswith("@")
    assert got["referenceCount"] == len(got["references"]) == 2
    assert got["citationCount"] == len(got["citations"])
    # value types as recorded
    for key in ("corpusId", "year", "citationCount", "referenceCount"):
        assert type(got[key]) is type(rec[key])


def test_nested_and_embedding_selection(client: httpx.Client, small: World) -> None:
    pid = small.resolve("ARXIV:1706.03762")
    assert pid
    fields = "title,authors.name,embedding.specter_v2,citations.title,citations.year"
    got = client.get(path_for(pid), params={"fields": fields}).json()
    assert set(got) == {"paperId", "title", "authors", "embedding", "citations"}
    assert all(set(a) == {"authorId", "name"} for a in got["authors"])
    assert got["embedding"]["model"] == "specter_v2" and len(got["embedding"]["vector"]) == 768
    assert all(set(c) == {"paperId", "title", "year"} for c in got["citations"])
    # no specter_v1 vector stored -> null, as S2 answers for papers without one
    other = small.resolve("ARXIV:2209.11895")
    assert other
    got = client.get(path_for(other), params={"fields": "embedding"}).json()
    assert got["embedding"] is None


ID_FORMS = [
    ("ARXIV:1810.04805", "bert"),
    ("arXiv:1810.04805v2", "bert"),
    ("DOI:10.18653/v1/N19-1423", "bert"),
    ("doi:10.18653/V1/n19-1423", "bert"),
    ("10.18653/v1/N19-1423", "bert"),  # bare DOI, as in the recorded batch
    ("ACL:N19-1423", "bert"),
    ("URL:https://aclanthology.org/N19-1423/", "bert"),
    ("URL:https://arxiv.org/abs/1810.04805", "bert"),
    ("URL:https://arxiv.org/pdf/1810.04805v1.pdf", "bert"),
    ("CorpusId:14636783", "turing"),
    ("CorpusID:14636783", "turing"),
    ("MAG:2145482038", "turing"),
    ("DOI:10.1093/mind/lix.236.433", "turing"),
    ("2d5673caa9e6af3a7b82a43f19ee920992db07ad", "turing"),
    (
        "URL:https://www.semanticscholar.org/paper/Computing-Machinery-and-Intelligence-Turing/"
        "2d5673caa9e6af3a7b82a43f19ee920992db07ad",
        "turing",
    ),
    ("URL:https://dl.acm.org/doi/10.1145/170035.170072", "agrawal"),
    ("PMID:33000001", "biorxiv"),
    ("PMCID:PMC7000001", "biorxiv"),
    ("URL:https://www.biorxiv.org/content/10.1101/2021.01.01.000001v1", "biorxiv"),
]
EXPECTED = {
    "bert": "ARXIV:1810.04805",
    "turing": "DOI:10.1093/MIND/LIX.236.433",
    "agrawal": "DOI:10.1145/170035.170072",
    "biorxiv": "DOI:10.1101/2021.01.01.000001",
}


@pytest.mark.parametrize(("ident", "which"), ID_FORMS)
def test_every_id_form(client: httpx.Client, small: World, ident: str, which: str) -> None:
    r = client.get(path_for(ident), params={"fields": "externalIds"})
    assert r.status_code == 200, r.text
    assert r.json()["paperId"] == small.resolve(EXPECTED[which])


@pytest.mark.parametrize(
    "ident",
    [
        "0",
        "ARXIV:9999.99999",
        "URL:https://openreview.net/forum?id=PRZ89QElAv",
        "URL:https://transformer-circuits.pub/2022/in-context-learning-and-induction-heads/",
        "ffffffffffffffffffffffffffffffffffffffff",
    ],
)
def test_unknown_id_404(client: httpx.Client, ident: str) -> None:
    r = client.get(path_for(ident))
    assert r.status_code == 404
    assert r.json() == {"error": f"Paper with id {ident} not found"}


def test_404_matches_recorded_cassette(client: httpx.Client) -> None:
    first = cassette("test_not_found.yaml")[0]
    uri = first["request"]["uri"].replace("https://api.semanticscholar.org", "")
    r = client.get(uri)
    assert r.status_code == first["response"]["status"]["code"] == 404
    assert r.json() == json.loads(first["response"]["body"]["string"])


def test_unknown_fields_400(client: httpx.Client, small: World) -> None:
    pid = next(iter(small.papers))
    r = client.get(path_for(pid), params={"fields": "title,bogus,authors.shoeSize"})
    assert r.status_code == 400
    assert r.json() == {"error": "Unrecognized or unsupported fields: [bogus, authors.shoeSize]"}
    r = client.get(path_for(pid, "/citations"), params={"fields": "title,citations"})
    assert r.status_code == 400 and "citations" in r.json()["error"]


# ----------------------------------------------------------------------------- batch
def test_batch_aligned_with_nulls(client: httpx.Client, small: World) -> None:
    ids = ["CorpusId:14636783", "ARXIV:0000.00000", "DOI:10.18653/v1/N19-1423", "nope"]
    r = client.post(f"{P}/batch", params={"fields": "title,year"}, json={"ids": ids})
    assert r.status_code == 200
    got = r.json()
    assert len(got) == 4 and got[1] is None and got[3] is None
    assert got[0]["title"] == "Computing Machinery and Intelligence"
    assert set(got[2]) == {"paperId", "title", "year"}


def test_batch_keys_match_recorded_cassette(client: httpx.Client, small: World) -> None:
    interaction = cassette("test_get_papers_return_not_found.yaml")[0]
    fields = re.search(r"fields=([^&]+)", interaction["request"]["uri"])
    assert fields
    recorded_body = json.loads(interaction["response"]["body"]["string"])
    recorded_keys = {k for item in recorded_body if item for k in item}
    r = client.post(
        f"{P}/batch",
        params={"fields": fields.group(1).replace("%2C", ",")},
        json={"ids": ["CorpusId:211530585", "CorpusId:14636783"]},
    )
    got = r.json()
    assert got[0] is None
    assert set(got[1]) == recorded_keys


def test_batch_limits_and_bad_bodies(client: httpx.Client) -> None:
    r = client.post(f"{P}/batch", json={"ids": ["x"] * 501})
    assert r.status_code == 400 and "error" in r.json()
    for body in (b"{not json", b'{"ids": "x"}', b"[1, 2]"):
        r = client.post(f"{P}/batch", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400 and "error" in r.json()
    r = client.post(f"{P}/batch", params={"fields": "bogus"}, json={"ids": []})
    assert r.status_code == 400


def test_batch_response_size_limit(small: World) -> None:
    with (
        S2Server(small, max_response_bytes=200) as srv,
        httpx.Client(base_url=srv.url) as c,
    ):
        r = c.post(f"{P}/batch", params={"fields": "abstract"}, json={"ids": list(small.papers)})
        assert r.status_code == 400
        assert r.json()["error"].startswith("Response would exceed maximum size")


# ----------------------------------------------------------------------------- edges
def test_references_paging_and_shapes(client: httpx.Client, small: World) -> None:
    acdc = small.resolve("ARXIV:2304.14997")
    assert acdc
    fields = "contexts,intents,contextsWithIntent,isInfluential,title,year"
    first = client.get(path_for(acdc, "/references"), params={"fields": fields, "limit": 3}).json()
    assert first["offset"] == 0 and first["next"] == 3 and len(first["data"]) == 3
    entry = first["data"][0]
    assert set(entry) == {
        "contexts",
        "intents",
        "contextsWithIntent",
        "isInfluential",
        "citedPaper",
    }
    assert set(entry["citedPaper"]) == {"paperId", "title", "year"}
    assert all(isinstance(c, str) for c in entry["contexts"])
    second = client.get(
        path_for(acdc, "/references"), params={"fields": fields, "offset": 3, "limit": 3}
    ).json()
    assert second["offset"] == 3 and "next" not in second and len(second["data"]) == 1
    # default fields: just the cited paper's id and title (as recorded with fields=title)
    plain = client.get(path_for(acdc, "/references")).json()
    assert set(plain["data"][0]) == {"citedPaper"}
    assert set(plain["data"][0]["citedPaper"]) == {"paperId", "title"}


def test_unresolved_reference_has_null_paper_id(client: httpx.Client, small: World) -> None:
    best = small.match_title("Towards Monosemanticity: Decomposing Language Models")
    assert best
    mono = best[0]
    data = client.get(path_for(mono, "/references"), params={"fields": "title"}).json()["data"]
    unresolved = [d for d in data if d["citedPaper"]["paperId"] is None]
    assert len(unresolved) == 1 and unresolved[0]["citedPaper"]["title"]


def test_edge_keys_match_recorded(client: httpx.Client, small: World) -> None:
    for name, direction, key in (
        ("Citation.json", "/citations", "citingPaper"),
        ("Reference.json", "/references", "citedPaper"),
    ):
        rec = recorded(name)
        fields = [k for k in rec if k != key] + list(rec[key])
        pid = small.resolve("ARXIV:1706.03762") if key == "citingPaper" else None
        pid = pid or small.resolve("ARXIV:2209.11895")
        assert pid
        r = client.get(path_for(pid, direction), params={"fields": ",".join(fields)})
        assert r.status_code == 200, r.text
        entry = r.json()["data"][0]
        assert set(entry) == set(rec)
        assert set(entry[key]) == set(rec[key])
        assert set(entry["contextsWithIntent"][0]) == set(rec["contextsWithIntent"][0])


def test_citations_cap_and_limit(small: World) -> None:
    world = World(list(small.papers.values()), small.edges)
    hub = world.resolve("ARXIV:2209.11895")
    assert hub
    add_synthetic_citations(world, hub, 2500, random.Random(1))
    with (
        S2Server(world, citation_cap=1000) as srv,
        httpx.Client(base_url=srv.url, timeout=10) as c,
    ):
        assert c.get(path_for(hub), params={"fields": "citationCount"}).json()[
            "citationCount"
        ] == 2500 + len(small.citations(hub))
        seen, offset, pages = [], 0, 0
        while True:
            page = c.get(
                path_for(hub, "/citations"), params={"offset": offset, "limit": 400}
            ).json()
            pages += 1
            seen += [d["citingPaper"]["paperId"] for d in page["data"]]
            if "next" not in page:
                break
            offset = page["next"]
        assert len(seen) == len(set(seen)) == 1000 and pages == 3
        r = c.get(path_for(hub, "/citations"), params={"limit": 1001})
        assert r.status_code == 400 and "error" in r.json()
        years = c.get(
            path_for(hub, "/citations"),
            params={"publicationDateOrYear": "2025:", "fields": "year", "limit": 1000},
        ).json()["data"]
        assert years and all(d["citingPaper"]["year"] >= 2025 for d in years)


def test_citations_publication_date_or_year() -> None:
    """``publicationDateOrYear`` as S2 documents it: ``start:end`` with optional terms,
    date prefixes for whole years and months, January 1st for papers without a date."""
    world = watch_world()
    attention = small_world_id(world, "Attention Is All You Need")
    with S2Server(world) as srv, httpx.Client(base_url=srv.url, timeout=10) as c:

        def citing(spec: str) -> set[tuple[int, str | None]]:
            r = c.get(
                path_for(attention, "/citations"),
                params={"publicationDateOrYear": spec, "fields": "year,publicationDate"},
            )
            assert r.status_code == 200, r.text
            return {
                (d["citingPaper"]["year"], d["citingPaper"]["publicationDate"])
                for d in r.json()["data"]
            }

        assert citing("2025") == {(2025, "2025-03-01"), (2025, "2025-07-01")}
        assert citing("2025-07") == {(2025, "2025-07-01")}
        assert citing("2025-03-01:2025-06-30") == {(2025, "2025-03-01")}
        assert citing("2026:") == {(2026, "2026-02-14")}
        assert citing(":2019-12") == {(2019, None)}  # BERT, dated by its year
        # no publicationDate: January 1st of its year
        bert = small_world_id(world, "BERT: Pre-training")
        r = c.get(
            path_for(bert, "/citations"),
            params={"publicationDateOrYear": "2026-01-01", "fields": "title"},
        )
        assert [d["citingPaper"]["title"] for d in r.json()["data"]] == [
            "Thinking Machines and Pretrained Transformers"
        ]
        for bad in ("2025-3", "last year", ":"):
            r = c.get(path_for(attention, "/citations"), params={"publicationDateOrYear": bad})
            assert r.status_code == 400 and "publicationDateOrYear" in r.json()["error"]


def small_world_id(world: World, title_prefix: str) -> str:
    (pid,) = [p for p, r in world.papers.items() if r["title"].startswith(title_prefix)]
    return pid


# ----------------------------------------------------------------------------- search
def test_title_match(client: httpx.Client, small: World) -> None:
    r = client.get(
        f"{P}/search/match",
        params={"query": "in-context learning and induction heads", "fields": "title,year"},
    )
    assert r.status_code == 200
    (hit,) = r.json()["data"]
    assert set(hit) == {"paperId", "title", "year", "matchScore"}
    assert hit["paperId"] == small.resolve("ARXIV:2209.11895")
    assert isinstance(hit["matchScore"], float)
    # a prefix of the title matches, as in the recorded cassette
    r = client.get(f"{P}/search/match", params={"query": "mining association rules between"})
    assert r.json()["data"][0]["paperId"] == "6fe8c5bf8dddaadf10c765133d38dfef5714347f"
    r = client.get(f"{P}/search/match", params={"query": "quantum gravity of black holes"})
    assert r.status_code == 404 and r.json() == {"error": "Title match not found"}


def test_title_similarity_normalises() -> None:
    a = "The role of Mechanistic Interpretability in ’unveiling’ the emergent representations"
    assert title_similarity(a, a.replace("’", "'").upper()) == 1.0
    assert title_similarity("Scaling Monosemanticity", "Towards Monosemanticity: X Y Z") < 0.75


def test_search_paging(client: httpx.Client) -> None:
    r = client.get(f"{P}/search", params={"query": "circuit", "limit": 1, "fields": "title"})
    body = r.json()
    assert body["total"] >= 2 and body["offset"] == 0 and body["next"] == 1
    assert "circuit" in body["data"][0]["title"].lower()
    last = client.get(
        f"{P}/search", params={"query": "circuit", "offset": body["total"] - 1, "limit": 1}
    ).json()
    assert "next" not in last and len(last["data"]) == 1
    assert client.get(f"{P}/search", params={"query": "x", "limit": 101}).status_code == 400
    none = client.get(f"{P}/search", params={"query": "zzzqqq"}).json()
    assert none == {"total": 0, "offset": 0, "data": []}


def test_bulk_search_and_recommendations(client: httpx.Client, small: World) -> None:
    body = client.get(f"{P}/search/bulk", params={"query": "", "fields": "year"}).json()
    assert body["total"] == len(small.papers) and "token" not in body
    pid = small.resolve("ARXIV:2209.11895")
    assert pid
    r = client.get(
        f"/recommendations/v1/papers/forpaper/{pid}", params={"from": "all-cs", "limit": 3}
    )
    recs = r.json()["recommendedPapers"]
    assert 0 < len(recs) <= 3 and pid not in {p["paperId"] for p in recs}
    r = client.post("/recommendations/v1/papers", json={"positivePaperIds": [pid]})
    assert r.status_code == 200 and r.json()["recommendedPapers"]


# ----------------------------------------------------------------------------- faults
def test_429_with_retry_after_then_ok(server: S2Server, client: httpx.Client) -> None:
    fault = server.faults.add(status=429, retry_after=2, times=3, path_prefix=f"{P}/batch")
    for _ in range(3):
        r = client.post(f"{P}/batch", json={"ids": []})
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert r.json()["code"] == "429" and "Too Many Requests" in r.json()["message"]
    assert client.post(f"{P}/batch", json={"ids": []}).status_code == 200
    assert fault.fired == 3 and not server.faults.pending()
    assert server.statuses("batch") == [429, 429, 429, 200]


def test_429_without_retry_after_and_5xx(server: S2Server, client: httpx.Client) -> None:
    server.faults.rate_limit()
    r = client.get(f"{P}/search", params={"query": "circuit"})
    assert r.status_code == 429 and "retry-after" not in r.headers
    for status, message in (
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
    ):
        server.faults.error(status, endpoint="search")
        r = client.get(f"{P}/search", params={"query": "circuit"})
        assert r.status_code == status and r.json() == {"message": message}
    server.faults.add(status=500, body={"error": "custom"}, after=1)
    assert client.get(f"{P}/search", params={"query": "x"}).status_code == 200
    assert client.get(f"{P}/search", params={"query": "x"}).json() == {"error": "custom"}
    assert client.get(f"{P}/search", params={"query": "x"}).status_code == 200


def test_slow_response_times_out_client(server: S2Server) -> None:
    server.faults.slow(1.0)
    with httpx.Client(base_url=server.url, timeout=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get(f"{P}/search", params={"query": "x"})
        assert c.get(f"{P}/search", params={"query": "x"}).status_code == 200


def test_malformed_null_in_batch_and_drop(
    server: S2Server, client: httpx.Client, small: World
) -> None:
    server.faults.malformed(path_prefix=P)
    r = client.get(f"{P}/search", params={"query": "x"})
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()
    server.faults.null_in_batch(indices=[1])
    ids = list(small.papers)[:3]
    got = client.post(f"{P}/batch", json={"ids": ids}).json()
    assert got[0] and got[1] is None and got[2]
    assert all(client.post(f"{P}/batch", json={"ids": ids}).json())
    server.faults.drop()
    with pytest.raises(httpx.TransportError):
        client.get(f"{P}/search", params={"query": "x"})
    assert client.get(f"{P}/search", params={"query": "x"}).status_code == 200


def test_pacing(server: S2Server, client: httpx.Client) -> None:
    server.faults.pacing(0.3)
    assert client.get(f"{P}/search", params={"query": "x"}).status_code == 200
    r = client.get(f"{P}/search", params={"query": "x"})
    assert r.status_code == 429 and "retry-after" not in r.headers
    time.sleep(0.35)
    assert client.get(f"{P}/search", params={"query": "x"}).status_code == 200
    assert server.faults.pacing_rejections == 1
    server.faults.pacing(None)
    assert client.get(f"{P}/search", params={"query": "x"}).status_code == 200


def test_call_accounting_and_api_key(small: World) -> None:
    with (
        S2Server(small, require_api_key="k") as srv,
        httpx.Client(base_url=srv.url, headers={"x-api-key": "k"}) as c,
    ):
        pid = next(iter(small.papers))
        c.get(path_for(pid))
        c.post(f"{P}/batch", json={"ids": [pid]})
        c.get(path_for(pid, "/references"))
        c.get(path_for(pid, "/citations"))
        c.get(f"{P}/search/match", params={"query": "attention is all you need"})
        c.get(f"{P}/search", params={"query": "attention"})
        assert srv.api_keys() == ["k"] * 6
        assert dict(srv.counts) == {
            "paper": 1,
            "batch": 1,
            "references": 1,
            "citations": 1,
            "match": 1,
            "search": 1,
        }
        method, path, query, headers, body = srv.calls[1]
        assert (method, path, query, body) == ("POST", f"{P}/batch", {}, {"ids": [pid]})
        assert headers["x-api-key"] == "k"
        r = httpx.get(srv.url + path_for(pid))
        assert r.status_code == 403 and r.json() == {"message": "Forbidden"}
        assert srv.calls[-1].api_key is None and srv.calls[-1].status == 403
        srv.reset()
        assert srv.calls == [] and not srv.counts


# ----------------------------------------------------------------------------- worlds
def test_world_round_trip(tmp_path: Path, small: World) -> None:
    path = small.save(tmp_path / "w.json.gz")
    again = World.load(path)
    assert again.papers == small.papers and again.edges == small.edges
    assert all(e["synthetic"] for e in again.edges)
    pid = again.resolve("ARXIV:2209.11895")
    assert pid and again.counts(pid) == small.counts(pid)
    sae = again.resolve("ARXIV:2309.08600")
    assert sae and again.counts(sae)["referenceCount"] == 0 and again.references(sae)


def test_small_world_twins(client: httpx.Client, small: World) -> None:
    a, b = small.meta["twins"][0]
    got = client.post(f"{P}/batch", params={"fields": "title,externalIds"}, json={"ids": [a, b]})
    first, second = got.json()
    assert first["title"] == second["title"] and first["paperId"] != second["paperId"]
    assert "ArXiv" in first["externalIds"] and "DOI" in second["externalIds"]


def test_parse_bibtex() -> None:
    text = (
        "@article{k1, title = {A {\\'E}tude of \\& Things}, author = {M{\\\"u}ller, Jan and "
        'Doe, J.}, year = 2024, eprint = "2401.00001"}\n@comment{x}\n@misc{k2, title={B}}'
    )
    entries = parse_bibtex(text)
    assert [e["ID"] for e in entries] == ["k1", "k2"]
    assert entries[0]["year"] == "2024" and entries[0]["eprint"] == "2401.00001"


@pytest.fixture(scope="module")
def real_world() -> World:
    return build_world(shared_path())


@pytest.mark.needs_shared
def test_real_world_contains_every_seed(real_world: World) -> None:
    page = shared_path("seeds", "mechanistic-interpretability.dokuwiki.txt").read_text()
    arxiv_ids = set(re.findall(r"arxiv\.org/(?:pdf|abs)/(\d{4}\.\d{4,5})", page))
    assert len(arxiv_ids) >= 17
    for arxiv in arxiv_ids:
        assert real_world.resolve(f"ARXIV:{arxiv}"), arxiv
    titles = [
        "In-context Learning and Induction Heads",
        "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning",
        "Scaling Monosemanticity: Extracting Interpretable Features from Claude 3 Sonnet",
        "Scaling Automatic Neuron Description",
        "The role of Mechanistic Interpretability in ’unveiling’ the emergent representations "
        "of Large Language Models",
    ]
    with S2Server(real_world) as srv, httpx.Client(base_url=srv.url) as c:
        for title in titles:
            r = c.get(f"{P}/search/match", params={"query": title, "fields": "title"})
            assert r.status_code == 200, title
            assert title_similarity(title, r.json()["data"][0]["title"]) > 0.95
        hub = real_world.meta["hub"]
        r = c.get(path_for(hub), params={"fields": "citationCount,title"})
        assert r.json()["citationCount"] > 1500
    assert len(real_world.meta["seeds"]) == len(arxiv_ids) + len(titles) == 22


@pytest.mark.needs_shared
def test_real_world_content(real_world: World) -> None:
    import csv

    with shared_path("corpus", "s2-ai-safety-papers.csv").open(newline="") as fh:
        csv_ids = {row["paper_id"] for row in csv.DictReader(fh)}
    assert csv_ids <= set(real_world.papers)
    assert all(e["synthetic"] for e in real_world.edges)
    assert all(r.get("synthetic_id") for p, r in real_world.papers.items() if p not in csv_ids)
    a, b = real_world.meta["twins"][0]
    assert real_world.papers[a]["title"] == real_world.papers[b]["title"]
    assert "DOI" in real_world.papers[b]["externalIds"]
    assert "ArXiv" in real_world.papers[a]["externalIds"]
    embedded = [r for r in real_world.papers.values() if r.get("embeddings")]
    assert 0 < len(embedded) <= 30
    assert all(len(r["embeddings"]["specter_v2"]) == 768 for r in embedded)
    for pid in list(real_world.papers)[:200]:  # edges point back in time
        for e in real_world.references(pid):
            if e["citedPaperId"]:
                cited_year = real_world.papers[e["citedPaperId"]].get("year") or 0
                assert cited_year <= (real_world.papers[pid].get("year") or 0)
    counts = real_world.meta["counts"]
    assert counts["papers"] > 2000 and counts["edges"] > 20_000
