"""The identifier and title core (kg.core.ids, kg.core.text) that ingest and kg share."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.core.fileio import atomic_writer
from kg.core.ids import (
    alias_key,
    arxiv_in_text,
    canonical_ids,
    doi_as_typed,
    doi_key,
    external_ids,
    first_id,
    local_paper_id,
    s2_id_from_url,
    stored_aliases,
)
from kg.core.text import MappedTexts, title_key, title_words


def test_local_ids_are_the_ones_existing_corpora_hold() -> None:
    # Values the ingest stored before the core existed: they must never change.
    assert local_paper_id(["ARXIV:2211.00593"], "ignored", None) == "local:be86fd177605d686"
    assert local_paper_id(["PMID:36228614"], "ignored", 2022) == "local:eb70506fbc408798"
    title = "A Mathematical Framework for Transformer Circuits"
    assert local_paper_id([], title, 2021) == "local:7faf4bf940426f88"


def test_local_id_takes_the_most_specific_id_whatever_the_order() -> None:
    ids = ["URL:https://arxiv.org/abs/2211.00593", "DOI:10.1/x", "ARXIV:2211.00593"]
    assert local_paper_id(ids, "t", None) == local_paper_id(["ARXIV:2211.00593"], "u", 1999)
    assert local_paper_id([], "Attention, is all!", 2017) == local_paper_id(
        [], "attention IS all", 2017
    )
    assert local_paper_id([], "t", 2017) != local_paper_id([], "t", 2018)


def test_doi_forms() -> None:
    assert doi_key("https://doi.org/10.18653/V1/2021.EMNLP-MAIN.446") == (
        "10.18653/v1/2021.emnlp-main.446"
    )
    assert doi_key("doi:10.1000/xyz.") == "10.1000/xyz"  # copied from prose
    assert doi_key("not a doi") == "not a doi"
    assert doi_as_typed("https://doi.org/10.48550/ARXIV.2403.00745") == "10.48550/ARXIV.2403.00745"


def test_arxiv_in_text_and_urls() -> None:
    assert arxiv_in_text("arXiv preprint arXiv:2403.00745v2") == "2403.00745"
    assert arxiv_in_text("see https://arxiv.org/pdf/hep-th/9905111v3.pdf") == "hep-th/9905111"
    assert arxiv_in_text("2403.00745 without a prefix") is None
    assert first_id(canonical_ids("https://aclanthology.org/W19-4828/"), "ACL") == "W19-4828"
    assert s2_id_from_url("https://www.semanticscholar.org/paper/T/" + "A" * 40) == "a" * 40


def test_external_ids_and_aliases() -> None:
    ids = ["ARXIV:2211.00593", "DOI:10.1/x", "PMID:1", "URL:https://x.org"]
    assert external_ids(ids) == {"ArXiv": "2211.00593", "DOI": "10.1/x", "PubMed": "1"}
    assert stored_aliases({"DOI": "10.1/X", "ArXiv": "2211.00593", "PubMed": "1"}) == [
        "DOI:10.1/x",
        "ARXIV:2211.00593",
    ]
    assert alias_key("doi:10.1/X") == "DOI:10.1/x" and alias_key("arxiv:1") == "ARXIV:1"


def test_the_two_title_forms() -> None:
    assert title_key("Kramár’s “Atlas”: a Study") == "kramarsatlasastudy"
    assert title_words("Kramár’s “Atlas”: a Study") == "kramars atlas a study"
    # The key keeps letters outside ASCII; the words keep word boundaries.
    assert title_key("注意力") == "注意力" and title_words("注意力") == ""


def test_mapped_texts_make_each_text_when_read_and_slice_like_a_list() -> None:
    made: list[int] = []

    def text(i: int) -> str:
        made.append(i)
        return f"t{i}"

    texts = MappedTexts(range(10), text)
    assert len(texts) == 10 and made == []  # nothing made up front
    assert texts[3] == "t3" and texts[-1] == "t9"
    assert texts[2:5] == ["t2", "t3", "t4"] and texts[8:] == ["t8", "t9"]
    assert list(texts) == [f"t{i}" for i in range(10)]


def test_atomic_writer_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f.bin"
    with atomic_writer(path) as fh:
        fh.write(b"one")
    assert path.read_bytes() == b"one"
    with pytest.raises(RuntimeError), atomic_writer(path) as fh:
        fh.write(b"half")
        raise RuntimeError("stop")
    assert path.read_bytes() == b"one"  # the old file, and no temp file left beside it
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.bin"]
