"""Resolver rules that need no server: title similarity, offline mode, deduplication."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingest.resolve import Resolution, _dedupe, resolve, title_similarity, twin_of
from ingest.sources import local_paper
from ingest.types import SeedRef
from kg.core.model import Paper
from kg.core.text import title_words
from kg.store.corpus import DUPLICATE, OFFLINE, RESOLVED, UNRESOLVED


def test_title_similarity_tolerates_case_and_punctuation() -> None:
    a = "How does GPT-2 compute greater-than?: Interpreting mathematical abilities"
    b = "How does GPT-2 compute greater-than? Interpreting Mathematical Abilities"
    assert title_similarity(a, b) == 1.0
    assert title_similarity("Scaling Monosemanticity", "Attention is all you need") < 0.5
    assert title_words("Kramár’s “Atlas”") == "kramars atlas"


@given(st.text(min_size=1, max_size=60))
def test_similarity_is_symmetric_and_bounded(title: str) -> None:
    other = title[::-1]
    s = title_similarity(title, other)
    assert 0.0 <= s <= 1.0
    assert s == title_similarity(other, title)


def test_offline_keeps_metadata_and_listings_and_reports_the_rest() -> None:
    meta = Paper(paper_id="local:1", title="Causal Scrubbing", resolved=False)
    refs = [
        SeedRef(title="Causal Scrubbing", source="lib.bib", metadata=meta),
        SeedRef(title="", source="ids.txt", ids=("ARXIV:2211.00593",), position=1),
        SeedRef(
            title="Interpretability in the Wild",
            source="page.txt",
            ids=("ARXIV:2211.00593", "URL:https://arxiv.org/pdf/2211.00593"),
            url="https://arxiv.org/pdf/2211.00593",
            year=2022,
            position=2,
        ),
    ]
    out = resolve(refs, None, offline=True)
    assert [r.status for r in out] == [OFFLINE, UNRESOLVED, OFFLINE]
    assert out[0].paper_id == "local:1"
    assert out[1].reason and "offline" in out[1].reason and out[1].paper_id is None
    listed = local_paper(refs[2])
    assert listed is not None and out[2].paper_id == listed.paper_id
    assert listed.paper_id.startswith("local:") and not listed.resolved
    assert (listed.title, listed.year) == ("Interpretability in the Wild", 2022)
    assert listed.external_ids == {"ArXiv": "2211.00593"}
    assert out[2].method == "listing" and out[2].reason and "local paper" in out[2].reason
    assert local_paper(refs[0]) is meta and local_paper(refs[1]) is None


def _res(pid: str, title: str, pos: int, year: int = 2023) -> Resolution:
    ref = SeedRef(title=title, source="page", position=pos)
    return Resolution(ref, RESOLVED, paper_id=pid, record={"title": title, "year": year})


def test_same_work_listed_twice_is_folded() -> None:
    out = _dedupe([_res("a" * 40, "Paper One Title Here", 0), _res("a" * 40, "Paper one", 1)])
    assert out[0].status == RESOLVED
    assert out[1].status == DUPLICATE and "same work as page #0" in (out[1].reason or "")


def test_preprint_published_twins_are_folded() -> None:
    out = _dedupe(
        [
            _res("a" * 40, "Towards Automated Circuit Discovery", 0, 2023),
            _res("b" * 40, "Towards automated circuit discovery.", 1, 2024),
            _res("c" * 40, "Towards automated circuit discovery", 2, 2015),
        ]
    )
    assert [r.status for r in out] == [RESOLVED, DUPLICATE, RESOLVED]
    assert twin_of(out[1]) == "a" * 40
