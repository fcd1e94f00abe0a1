"""Sources: seed pages, Markdown lists, BibTeX/Zotero exports, id lists, the bundled list."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.errors import SourceError
from ingest.sources import (
    BUNDLED_SEED_LIST,
    classify_url,
    from_json,
    load_source,
    parse_bibtex,
    parse_dokuwiki,
    parse_id_list,
    parse_markdown,
    split_citation_title,
    to_json,
    write_bundled_seeds,
)
from ingest.types import SeedRef, Skipped, SourceResult
from kg.core.ids import canonical_ids, canonical_ids_from_url, normalise_arxiv_id, normalise_doi
from kg.core.latex import latex_to_text
from kg.core.model import Author, Paper

SEED_PAGE = ("seeds", "mechanistic-interpretability.dokuwiki.txt")

OV = ("Overviews",)
PA = ("Papers",)
IH = ("Papers", "Induction Heads")
EN = ("Papers", "Explaining Neurons")
SA = ("Sparse Autoencoders",)
TC = "https://transformer-circuits.pub"

#: Every paper on the real seed page, by hand: (title, section_path, first id or URL, year).
EXPECTED_SEEDS = [
    ("Mechanistic?", (), "ARXIV:2410.09087", None),
    ("Mechanistic Interpretability for AI Safety - A Review", OV, "ARXIV:2404.14082", 2024),
    (
        "A Practical Review of Mechanistic Interpretability for Transformer-Based Language Models",
        OV,
        "ARXIV:2407.02646",
        2024,
    ),
    ("Open Problems in Mechanistic Interpretability", OV, "ARXIV:2501.16496", 2025),
    (
        "A Survey on Mechanistic Interpretability for Multi-Modal Foundation Models",
        OV,
        "ARXIV:2502.17516",
        2025,
    ),
    (
        "Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 Small",
        PA,
        "ARXIV:2211.00593",
        2022,
    ),
    (
        "Towards Automated Circuit Discovery for Mechanistic Interpretability",
        PA,
        "ARXIV:2304.14997",
        2023,
    ),
    (
        "Dissecting Recall of Factual Associations in Auto-Regressive Language Models",
        PA,
        "ARXIV:2304.14767",
        2023,
    ),
    (
        "How does GPT-2 compute greater-than?: Interpreting mathematical abilities in a "
        "pre-trained language model",
        PA,
        "ARXIV:2305.00586",
        2023,
    ),
    ("Automatic Discovery of Visual Circuits", PA, "ARXIV:2404.14349", 2024),
    (
        "The role of Mechanistic Interpretability in ’unveiling’ the emergent representations "
        "of Large Language Models",
        PA,
        "https://openreview.net/pdf?id=PRZ89QElAv",
        2025,
    ),
    (
        "Automatically Identifying Local and Global Circuits with Linear Computation Graphs",
        PA,
        "ARXIV:2405.13868",
        2024,
    ),
    (
        "Mechanistic Understanding and Mitigation of Language Confusion in English-Centric "
        "Large Language Models",
        PA,
        "ARXIV:2505.16538",
        2025,
    ),
    (
        "In-context Learning and Induction Heads",
        IH,
        f"{TC}/2022/in-context-learning-and-induction-heads/index.html",
        2022,
    ),
    (
        "What needs to go right for an induction head? A mechanistic study of in-context "
        "learning circuits and their formation",
        IH,
        "ARXIV:2404.07129",
        2024,
    ),
    (
        "Contextualize-then-Aggregate: Circuits for In-Context Learning in Gemma-2 2B",
        IH,
        "ARXIV:2504.00132",
        2025,
    ),
    (
        "Beyond Induction Heads: In-Context Meta Learning Induces Multi-Phase Circuit Emergence",
        IH,
        "ARXIV:2505.16694",
        2025,
    ),
    (
        "How Do Transformers Learn Variable Binding in Symbolic Programs?",
        IH,
        "ARXIV:2505.20896",
        2025,
    ),
    (
        "Scaling Automatic Neuron Description",
        EN,
        "https://transluce.org/neuron-descriptions",
        2024,
    ),
    (
        "Sparse Autoencoders Find Highly Interpretable Features in Language Models",
        SA,
        "ARXIV:2309.08600",
        2023,
    ),
    (
        "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning",
        SA,
        f"{TC}/2023/monosemantic-features",
        2023,
    ),
    (
        "Scaling Monosemanticity: Extracting Interpretable Features from Claude 3 Sonnet",
        SA,
        f"{TC}/2024/scaling-monosemanticity/index.html",
        2024,
    ),
]


def _first_id_or_url(ref: SeedRef) -> str | None:
    return ref.ids[0] if ref.ids else ref.url


def _check_positions(result: SourceResult) -> None:
    positions = [r.position for r in result.refs] + [s.position for s in result.skipped]
    assert sorted(positions) == list(range(len(positions)))
    assert [r.position for r in result.refs] == sorted(r.position for r in result.refs)


# --------------------------------------------------------------------------------------
# The real seed page
# --------------------------------------------------------------------------------------


@pytest.mark.needs_shared
def test_seed_page_papers_exactly(shared: Any) -> None:
    result = load_source(shared.path(*SEED_PAGE))
    got = [(r.title, r.section_path, _first_id_or_url(r), r.year) for r in result.refs]
    assert got == EXPECTED_SEEDS
    assert len(result.refs) == 22
    assert {r.source for r in result.refs} == {SEED_PAGE[1]}
    _check_positions(result)
    by_title = {r.title: r for r in result.refs}
    olsson = by_title["In-context Learning and Induction Heads"]
    assert olsson.note == "See the first figure for the description of an induction head."
    assert olsson.ids == ()  # transformer-circuits.pub is resolved by title
    choi = by_title["Scaling Automatic Neuron Description"]
    assert choi.note is not None and choi.note.startswith("They released a database")
    wang = by_title[EXPECTED_SEEDS[5][0]]
    assert wang.ids == ("ARXIV:2211.00593", "URL:https://arxiv.org/pdf/2211.00593")
    assert wang.url == "https://arxiv.org/pdf/2211.00593"


@pytest.mark.needs_shared
def test_seed_page_skipped_links(shared: Any) -> None:
    result = load_source(shared.path(*SEED_PAGE))
    reasons = Counter(s.reason for s in result.skipped)
    assert reasons["wiki cross-link"] == 13
    assert reasons["code repository, not a paper"] == 2
    assert reasons["site home page, not a paper"] == 3
    assert reasons["index page / research thread, not a paper"] == 1
    assert len(result.skipped) == 20
    by_url = {s.url: s for s in result.skipped if s.url}
    review = by_url["https://openreview.net/forum?id=PRZ89QElAv"]
    assert review.text == "reviews"
    assert "same OpenReview id, not a second paper" in review.reason
    assert by_url["https://transluce.org/our-work"].text == "Transluce's Research Thread"
    assert by_url["https://github.com/TransluceAI/observatory"].text == "database"
    assert "https://www.anthropic.com/" in by_url
    # Nothing from Resources or Related Pages became a paper.
    assert all(r.section_path[:1] not in (("Resources",), ("Related Pages",)) for r in result.refs)


@pytest.mark.needs_shared
def test_bundled_seed_list_matches_a_fresh_parse(shared: Any, tmp_path: Path) -> None:
    page = shared.path(*SEED_PAGE)
    fresh = load_source(page)
    assert from_json(BUNDLED_SEED_LIST.read_text(encoding="utf-8"), "bundled") == fresh
    out = tmp_path / "seeds.json"
    assert write_bundled_seeds(page, out) == fresh
    assert out.read_text(encoding="utf-8") == BUNDLED_SEED_LIST.read_text(encoding="utf-8")


def test_bundled_seed_list_loads_without_shared() -> None:
    result = load_source(BUNDLED_SEED_LIST)
    assert [(r.title, r.section_path, _first_id_or_url(r), r.year) for r in result.refs] == (
        EXPECTED_SEEDS
    )


# --------------------------------------------------------------------------------------
# DokuWiki variants
# --------------------------------------------------------------------------------------

MULTILINE_PAGE = """\
====== My Page ======

Intro with [[https://arxiv.org/abs/2410.09087v1|Mechanistic?]] for context.

===== Papers =====
See also [[nlp:Probing Experiments]].

  * [[https://arxiv.org/abs/2211.00593|Wang et al 2022 - IOI]]
  * **Induction Heads**
    * [[https://transformer-circuits.pub/2022/x/index.html|Olsson et al. 2022 - Heads]] See fig 1.
    * [[https://arxiv.org/pdf/2404.07129v2.pdf|Singh et al 2024 - What needs to go right]]
  * [[https://arxiv.org/abs/2304.14997|Conmy et al 2023 - ACDC]] code: [[https://github.com/a/b|repo]]
  * **Flat Sub**
  * [[https://doi.org/10.18653/v1/2020.acl-main.463|Bender & Koller 2020 - Climbing]]

Some prose ends the list.

==== Deeper ====
  * [[https://openreview.net/pdf?id=abc123|Smith 2021: Title X]] ([[https://openreview.net/forum?id=abc123|reviews]])
  * [[https://www.semanticscholar.org/paper/Foo-Bar/0123456789abcdef0123456789abcdef01234567]]
  * [[https://arxiv.org/abs/2211.00593|the IOI paper again]]

===== Resources =====
  * [[https://transformer-circuits.pub/|Thread]]
"""


def test_multiline_dokuwiki_sections_and_indentation() -> None:
    result = parse_dokuwiki(MULTILINE_PAGE, "page.txt")
    got = [(r.title, r.section_path, r.year) for r in result.refs]
    assert got == [
        ("Mechanistic?", (), None),
        ("IOI", ("Papers",), 2022),
        ("Heads", ("Papers", "Induction Heads"), 2022),
        ("What needs to go right", ("Papers", "Induction Heads"), 2024),
        ("ACDC", ("Papers",), 2023),  # indentation back to the header's level ends it
        ("Climbing", ("Papers", "Flat Sub"), 2020),  # flat sub-section: until the heading
        ("Title X", ("Papers", "Deeper"), 2021),
        ("", ("Papers", "Deeper"), None),  # a link with no text: the resolver gives the title
    ]
    refs = result.refs
    assert refs[0].ids == ("ARXIV:2410.09087", "URL:https://arxiv.org/abs/2410.09087v1")
    assert refs[0].note == "Intro with Mechanistic? for context."
    assert refs[2].note == "See fig 1."
    assert refs[3].ids[0] == "ARXIV:2404.07129"
    assert refs[4].note == "code: repo"
    assert refs[5].ids == ("DOI:10.18653/v1/2020.acl-main.463",)
    assert refs[7].ids[0] == "0123456789abcdef0123456789abcdef01234567"
    reasons = {s.text: s.reason for s in result.skipped}
    assert reasons["nlp:Probing Experiments"] == "wiki cross-link"
    assert reasons["repo"] == "code repository, not a paper"
    assert "same OpenReview id" in reasons["reviews"]
    assert reasons["the IOI paper again"].startswith("duplicate of 'IOI'")
    assert reasons["Thread"] == "site home page, not a paper"
    _check_positions(result)


def test_collapsed_page_equals_multiline_page() -> None:
    lines = [
        "====== T ======",
        "Intro [[https://arxiv.org/abs/2410.09087|A]] here.",
        "===== S1 =====",
        "  * [[https://arxiv.org/abs/2211.00593|Wang et al 2022 - B]] note b",
        "  * **Sub**",
        "  * [[https://arxiv.org/abs/2304.14997|C]]",
        "  * [[https://arxiv.org/abs/2304.14767|D]]",
        "==== S2 ====",
        "  * [[https://arxiv.org/abs/2305.00586|E]]",
    ]
    multi = parse_dokuwiki("\n".join(lines), "p")
    collapsed = parse_dokuwiki(" ".join(line.strip() for line in lines), "p")
    assert multi == collapsed
    assert [r.section_path for r in collapsed.refs] == [
        (),
        ("S1",),
        ("S1", "Sub"),
        ("S1", "Sub"),
        ("S1", "S2"),
    ]
    assert collapsed.refs[1].note == "note b"


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------

MARKDOWN = """\
# Reading list

Some intro [a paper](https://arxiv.org/abs/1706.03762).

## Circuits

- [Wang et al 2022 - IOI](https://arxiv.org/abs/2211.00593) great paper
- **Induction**
  - [Olsson et al 2022 - Induction Heads](https://transformer-circuits.pub/2022/ih/index.html)
  * <https://arxiv.org/abs/2404.07129>
- [Repo](https://github.com/a/b)
- [Other page](other.md)

### Discovery

1. [ACDC](https://arxiv.org/abs/2304.14997 "title")
2. [Same again](https://arxiv.org/pdf/2304.14997v3)

```
- [in a code block](https://arxiv.org/abs/2101.00001)
```
"""


def test_markdown_link_list() -> None:
    result = parse_markdown(MARKDOWN, "list.md")
    got = [(r.title, r.section_path, r.ids[:1], r.year) for r in result.refs]
    assert got == [
        ("a paper", (), ("ARXIV:1706.03762",), None),
        ("IOI", ("Circuits",), ("ARXIV:2211.00593",), 2022),
        ("Induction Heads", ("Circuits", "Induction"), (), 2022),
        ("", ("Circuits", "Induction"), ("ARXIV:2404.07129",), None),
        ("ACDC", ("Circuits", "Discovery"), ("ARXIV:2304.14997",), None),
    ]
    assert result.refs[1].note == "great paper"
    reasons = {s.text: s.reason for s in result.skipped}
    assert reasons["Repo"] == "code repository, not a paper"
    assert reasons["Other page"] == "relative link to another page, not a paper"
    assert reasons["Same again"].startswith("duplicate of 'ACDC'")
    _check_positions(result)


# --------------------------------------------------------------------------------------
# Identifiers and id lists
# --------------------------------------------------------------------------------------

SHA = "649def34f8be52c8b66281af98ae884c09aef38b"


@pytest.mark.parametrize(
    ("written", "ids"),
    [
        (SHA, (SHA,)),
        (SHA.upper(), (SHA,)),
        ("CorpusId:123", ("CorpusId:123",)),
        ("corpusid: 0123", ("CorpusId:123",)),
        ("ARXIV:2404.14082", ("ARXIV:2404.14082",)),
        ("arXiv:2404.14082v3", ("ARXIV:2404.14082",)),
        ("2404.14082v2", ("ARXIV:2404.14082",)),
        ("0704.0001", ("ARXIV:0704.0001",)),
        ("hep-th/9901001", ("ARXIV:hep-th/9901001",)),
        ("math.gt/0309136v1", ("ARXIV:math.GT/0309136",)),
        ("DOI:10.1145/3442188.3445922", ("DOI:10.1145/3442188.3445922",)),
        ("10.1145/3442188.3445922.", ("DOI:10.1145/3442188.3445922",)),
        ("https://doi.org/10.1073/PNAS.1900654116", ("DOI:10.1073/pnas.1900654116",)),
        ("doi:10.48550/arXiv.2307.09458", ("ARXIV:2307.09458", "DOI:10.48550/arxiv.2307.09458")),
        (
            "https://arxiv.org/pdf/2404.14082v2.pdf",
            ("ARXIV:2404.14082", "URL:https://arxiv.org/pdf/2404.14082v2.pdf"),
        ),
        (
            "http://arxiv.org/abs/hep-th/9901001v1",
            ("ARXIV:hep-th/9901001", "URL:http://arxiv.org/abs/hep-th/9901001v1"),
        ),
        (
            f"https://www.semanticscholar.org/paper/Some-Title-Smith/{SHA}",
            (SHA, f"URL:https://www.semanticscholar.org/paper/Some-Title-Smith/{SHA}"),
        ),
        (
            "https://aclanthology.org/2020.acl-main.463/",
            ("ACL:2020.acl-main.463", "URL:https://aclanthology.org/2020.acl-main.463/"),
        ),
        (
            "https://dl.acm.org/doi/10.1145/3442188.3445922",
            ("DOI:10.1145/3442188.3445922", "URL:https://dl.acm.org/doi/10.1145/3442188.3445922"),
        ),
        (
            "https://www.biorxiv.org/content/10.1101/2020.01.01.123456v2.full",
            (
                "DOI:10.1101/2020.01.01.123456",
                "URL:https://www.biorxiv.org/content/10.1101/2020.01.01.123456v2.full",
            ),
        ),
        ("https://pnas.org/doi/full/10.1073/pnas.1900654116", ("DOI:10.1073/pnas.1900654116",)),
        ("https://huggingface.co/papers/2404.14082", ("ARXIV:2404.14082",)),
        ("https://transformer-circuits.pub/2023/monosemantic-features", ()),
        ("https://openreview.net/forum?id=abc", ()),
        ("ACL:P19-1452", ("ACL:P19-1452",)),
        (
            "URL:https://arxiv.org/abs/2404.14082",
            ("ARXIV:2404.14082", "URL:https://arxiv.org/abs/2404.14082"),
        ),
        ("1234.5678", ()),  # month 78: not an arXiv id
        ("not an id", ()),
    ],
)
def test_canonical_ids(written: str, ids: tuple[str, ...]) -> None:
    assert canonical_ids(written) == ids
    for ident in ids:
        assert ident in canonical_ids(ident)


def test_canonical_ids_from_url_only_for_urls() -> None:
    assert canonical_ids_from_url("2404.14082") == ()
    assert canonical_ids_from_url("ftp://arxiv.org/abs/2404.14082") == ()
    assert canonical_ids_from_url("https://arxiv.org/abs/2404.14082")[0] == "ARXIV:2404.14082"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://github.com/TransluceAI/observatory", "code repository, not a paper"),
        ("https://transformer-circuits.pub/", "site home page, not a paper"),
        ("https://www.anthropic.com/", "site home page, not a paper"),
        ("https://transluce.org/our-work", "index page / research thread, not a paper"),
        ("https://www.youtube.com/watch?v=x", "video, not a paper"),
        ("https://transluce.org/neuron-descriptions", None),
        ("https://openreview.net/pdf?id=PRZ89QElAv", None),
        ("https://distill.pub/2020/circuits/zoom-in/", None),
    ],
)
def test_classify_url(url: str, reason: str | None) -> None:
    verdict = classify_url(url)
    assert verdict.is_paper is (reason is None)
    assert verdict.reason == reason


@pytest.mark.parametrize(
    ("text", "title", "year"),
    [
        ("Wang et al 2022 - Interpretability in the Wild", "Interpretability in the Wild", 2022),
        ("Bereska & Gavves 2024 - Mech Interp - A Review", "Mech Interp - A Review", 2024),
        ("2023 - Towards Monosemanticity: X", "Towards Monosemanticity: X", 2023),
        ("Olsson et al. (2022) - Heads", "Heads", 2022),
        ("Mechanistic?", "Mechanistic?", None),
        ("GPT-4 Technical Report 2023 - x", "GPT-4 Technical Report 2023 - x", None),
        ("A Title - With a Dash", "A Title - With a Dash", None),
    ],
)
def test_split_citation_title(text: str, title: str, year: int | None) -> None:
    assert split_citation_title(text) == (title, year)


def test_id_list() -> None:
    text = "\n".join(
        [
            "# my seeds",
            "ARXIV:2404.14082",
            "2404.14082v2   # same paper, later version",
            f"{SHA}  Attention Is All You Need",
            "CorpusId:123",
            "10.1145/3442188.3445922",
            "https://doi.org/10.1145/3442188.3445922",
            "https://transformer-circuits.pub/2023/monosemantic-features#intro",
            "https://github.com/a/b",
            "hep-th/9901001",
            "gibberish",
            "",
        ]
    )
    result = parse_id_list(text, "ids.txt")
    assert [(r.ids[:1], r.title) for r in result.refs] == [
        (("ARXIV:2404.14082",), ""),
        ((SHA,), "Attention Is All You Need"),
        (("CorpusId:123",), ""),
        (("DOI:10.1145/3442188.3445922",), ""),
        ((), ""),
        (("ARXIV:hep-th/9901001",), ""),
    ]
    assert result.refs[4].url == "https://transformer-circuits.pub/2023/monosemantic-features#intro"
    reasons = [s.reason for s in result.skipped]
    assert reasons[0] == "line 3: duplicate of line 2"
    assert reasons[1] == "line 7: duplicate of line 6"
    assert reasons[2] == "line 9: code repository, not a paper"
    assert reasons[3].startswith("line 11: 'gibberish' is not a recognised paper id")
    _check_positions(result)


def test_id_list_file_dispatch(tmp_path: Path) -> None:
    path = tmp_path / "seeds.txt"
    path.write_text("2404.14082\n10.1145/3442188.3445922\n", encoding="utf-8")
    result = load_source(path)
    assert [r.ids[0] for r in result.refs] == ["ARXIV:2404.14082", "DOI:10.1145/3442188.3445922"]
    assert result.refs[0].source == "seeds.txt"


# --------------------------------------------------------------------------------------
# BibTeX
# --------------------------------------------------------------------------------------


@pytest.mark.needs_shared
def test_bibtex_real_review_library(shared: Any) -> None:
    path = shared.path("corpus", "mi-review-library.bib.gz")
    started = time.perf_counter()
    result = load_source(path)
    assert time.perf_counter() - started < 5
    assert len(result.refs) + len(result.skipped) == 1036
    assert len(result.refs) == 1032
    assert Counter(s.reason.split(" ")[0] for s in result.skipped) == {"duplicate": 4}
    assert {s.text.split(":")[0]: s.reason for s in result.skipped} == {
        "louizos_learning_2017": "duplicate of louizos_learning_2018",
        "whittington_disentangling_2022": "duplicate of whittington_disentanglement_2023a",
        "dong_interpretable_2019": "duplicate of dong_interpretable_2017",
        "bereska_mechanistic_2024": "duplicate of bereska_mechanistic_2024a",
    }
    _check_positions(result)
    for ref in result.refs:
        meta = ref.metadata
        assert meta is not None and meta.title == ref.title and not meta.resolved
        assert meta.paper_id.startswith("local:")
        for text in (ref.title, *(a.name for a in meta.authors), meta.venue or ""):
            assert "{\\" not in text and "\\" not in text and "{" not in text, text
    assert len({r.metadata.paper_id for r in result.refs if r.metadata}) == 1032
    assert sum(1 for r in result.refs if r.metadata and r.metadata.arxiv_id) >= 599

    by_title = {r.title: r for r in result.refs}
    lieberum = by_title[
        "Does Circuit Analysis Interpretability Scale? Evidence from Multiple Choice "
        "Capabilities in Chinchilla"
    ]
    assert lieberum.ids[:2] == ("ARXIV:2307.09458", "DOI:10.48550/arxiv.2307.09458")
    assert lieberum.year == 2023
    meta = lieberum.metadata
    assert meta is not None
    assert Author("János Kramár") in meta.authors
    assert meta.external_ids == {"ArXiv": "2307.09458", "DOI": "10.48550/arxiv.2307.09458"}
    assert meta.venue == "CoRR"
    assert "circuit" in meta.tags and "to review in detail" in meta.tags

    scrubbing = by_title[
        "Causal Scrubbing: a method for rigorously testing interpretability hypotheses "
        "[Redwood Research]"
    ]
    assert scrubbing.metadata is not None
    names = [a.name for a in scrubbing.metadata.authors]
    assert names[:5] == [
        "Lawrence Chan",
        "Adrià Garriga-Alonso",
        "Nicholas Goldowsky-Dill",
        "ryan_greenblatt",
        "jenny",
    ]
    abstract = scrubbing.metadata.abstract or ""
    assert "•" in abstract and abstract.endswith("mechanistic i…")
    assert "Learning Sparse Neural Networks through L0 Regularization" in by_title


@pytest.mark.needs_shared
@pytest.mark.parametrize(
    ("name", "refs", "dups"),
    [("mi-superposition-library.bib", 200, 1), ("mi-robustness-library.bib", 182, 1)],
)
def test_bibtex_real_small_libraries(shared: Any, name: str, refs: int, dups: int) -> None:
    result = load_source(shared.path("corpus", name))
    assert len(result.refs) == refs
    assert [s.reason.startswith("duplicate of ") for s in result.skipped] == [True] * dups
    for ref in result.refs:
        assert ref.metadata is not None
        for text in (ref.title, *(a.name for a in ref.metadata.authors)):
            assert "{\\" not in text and "{" not in text, text


BIB = r"""
@article{lieberum_does_2023,
  title = {Does Circuit Analysis {Interpretability} Scale? {\dots} in {Chinchilla}},
  author = {Lieberum, Tom and Kram{\'a}r, J{\'a}nos and {ryan\_greenblatt} and
            G{\"u}nther, Mario and {\dag}, Nick Cammarata and others},
  year = {2023},
  journal = {CoRR},
  eprint = {2307.09458v2},
  archiveprefix = {arXiv},
  abstract = {We ask {$\bullet$} whether it scales \& how:
              10--20\% of {\textbackslash}emph\{heads\}.},
  keywords = {circuit, scaling,circuit}
}

@inproceedings{dup_by_doi,
  title = {Another Title Entirely},
  author = {Smith, Jane},
  booktitle = {Proc. {ACL}},
  doi = {10.48550/arXiv.2307.09458},
  url = {https://example.org/x},
  abstract = {Should fill nothing: the kept entry has an abstract.},
  keywords = {extra}
}

@misc{no_title,
  author = {Nobody, A.},
  year = 2020
}

@article{broken title = {x},
  year = {2020}
}

@article{lieberum_does_2023,
  title = {Same key again},
  year = {2024}
}

@book{byrne_book,
  title = {A Book: With {\v S}najder and Sch{\"o}lkopf, and \textit{Style}},
  author = {Byrne, Ann},
  date = {2021-05-04},
  publisher = {Pub}
}
"""


def test_bibtex_inline_entries() -> None:
    result = parse_bibtex(BIB, "lib.bib")
    titles = [r.title for r in result.refs]
    assert titles == [
        "Does Circuit Analysis Interpretability Scale? … in Chinchilla",
        "Same key again",
        "A Book: With Šnajder and Schölkopf, and Style",
    ]
    first = result.refs[0]
    meta = first.metadata
    assert meta is not None
    assert [a.name for a in meta.authors] == [
        "Tom Lieberum",
        "János Kramár",
        "ryan_greenblatt",
        "Mario Günther",
        "Nick Cammarata",
    ]
    assert meta.abstract == "We ask • whether it scales & how: 10–20% of heads."
    assert meta.tags == ("circuit", "scaling", "extra")  # merged from the duplicate
    assert first.ids == ("ARXIV:2307.09458", "DOI:10.48550/arxiv.2307.09458")
    assert first.url == "https://example.org/x"  # missing field filled in from the duplicate
    again = parse_bibtex(BIB, "other.bib").refs[0].metadata
    assert again is not None and again.paper_id == meta.paper_id  # stable local id
    book = result.refs[2].metadata
    assert book is not None and book.publication_date == "2021-05-04" and book.year == 2021
    skipped = {s.text.split(":")[0]: s.reason for s in result.skipped}
    assert skipped["dup_by_doi"] == "duplicate of lieberum_does_2023"
    assert skipped["no_title"] == "line 25: entry no_title has no title; add a title field"
    assert skipped["broken"].startswith("line 30: could not parse entry broken")
    assert "comma" in skipped["broken"]
    _check_positions(result)


def test_bibtex_duplicate_key_and_quotes() -> None:
    text = (
        '@article{a, title = {"Quoted" Title}, year = 2020}\n'
        '@article{a, title = "Other {W}ork", doi = {10.1000/X}}\n'
        '@article{c, title = {"Quoted" title}, year = 2020, url = {https://arxiv.org/abs/2404.14082}}\n'
    )
    result = parse_bibtex(text, "k.bib")
    # Same key, different work: both kept. Same normalised title: merged into the first.
    assert [(r.title, r.ids) for r in result.refs] == [
        ('"Quoted" Title', ("ARXIV:2404.14082", "URL:https://arxiv.org/abs/2404.14082")),
        ("Other Work", ("DOI:10.1000/x",)),
    ]
    assert [s.reason for s in result.skipped] == ["duplicate of a"]


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"Kram{\'a}r", "Kramár"),
        (r"Kram\'{a}r", "Kramár"),
        (r"Adri{\`a}", "Adrià"),
        (r"{\L}ukasz Stanis{\l}aw", "Łukasz Stanisław"),
        (r"Jastrz{\k e}bski", "Jastrzębski"),
        (r"G{\"u}ne{\c s} At{\i}l{\i}m", "Güneş Atılım"),
        (r"Noem{\'i} and Ram{\'\i}rez", "Noemí and Ramírez"),
        (r"Luko{\v s}i{\=u}t{\.e}", "Lukošiūtė"),
        (r"{$\bullet$} x {\dots} y \& z", "• x … y & z"),
        (r"$\alpha$-VAE ~ 5\% \$", "α-VAE 5% $"),
        (r"{{Nested {Braces}}}", "Nested Braces"),
        (r"\emph{n} -person", "n -person"),
        ("plain   text\n here", "plain text here"),
    ],
)
def test_latex_to_text(tex: str, text: str) -> None:
    assert latex_to_text(tex) == text


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------


def _error(path: Path) -> str:
    with pytest.raises(SourceError) as info:
        load_source(path)
    return str(info.value)


def test_empty_page(tmp_path: Path) -> None:
    path = tmp_path / "seeds.txt"
    path.write_text("", encoding="utf-8")
    assert "seeds.txt: the file is empty" in _error(path)


def test_page_with_no_papers(tmp_path: Path) -> None:
    path = tmp_path / "seeds.txt"
    path.write_text(
        "====== Page ======\n  * [[nlp:Alignment]]\n  * [[https://github.com/a/b|code]]\n",
        encoding="utf-8",
    )
    message = _error(path)
    assert message.startswith("seeds.txt: no paper links found")
    assert "[[https://arxiv.org/abs/...|Title]]" in message


def test_markdown_with_no_papers(tmp_path: Path) -> None:
    path = tmp_path / "list.md"
    path.write_text("# Title\n\nJust prose.\n", encoding="utf-8")
    assert "list.md: no paper links found; a Markdown list gives papers as" in _error(path)


def test_not_bibtex_given_as_bib(tmp_path: Path) -> None:
    path = tmp_path / "library.bib"
    path.write_text("title,author\nA paper,Someone\n", encoding="utf-8")
    message = _error(path)
    assert message.startswith("library.bib: not a BibTeX file: no @entries found")
    assert "@article{key" in message


def test_bibtex_that_fails_wholesale(tmp_path: Path) -> None:
    path = tmp_path / "library.bib"
    path.write_text("@article{a title = {x}}\n", encoding="utf-8")
    message = _error(path)
    assert message.startswith("library.bib: no BibTeX entry could be read (line 1:")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes(b"%PDF-1.5\n\x00\x01\x02binary")
    message = _error(path)
    assert str(path) in message and "binary file, not text" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "seeds.txt"
    path.write_bytes("Kram\xe1r 2404.14082".encode("latin-1"))
    assert "is not UTF-8 text (byte 0xe1 at offset 4); re-save it as UTF-8" in _error(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    assert _error(missing).startswith(f"{missing}: no such file; check the path")
    assert _error(tmp_path).startswith(f"{tmp_path}: is a directory")


def test_bad_gzip(tmp_path: Path) -> None:
    path = tmp_path / "library.bib.gz"
    path.write_bytes(b"\x1f\x8bnot really gzip")
    assert "not a valid gzip file" in _error(path)


def test_gzip_is_transparent(tmp_path: Path) -> None:
    path = tmp_path / "library.bib.gz"
    path.write_bytes(gzip.compress(BIB.encode("utf-8")))
    result = load_source(path)
    assert len(result.refs) == 3
    assert result.refs[0].source == "library.bib.gz"


def test_id_list_with_no_ids(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("hello\nworld\n", encoding="utf-8")
    message = _error(path)
    assert message.startswith("ids.txt: no paper ids found (line 1: 'hello' is not a recognised")


def test_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "seeds.json"
    path.write_text("{not json", encoding="utf-8")
    assert re.search(r"seeds\.json: not valid JSON \(line 1, column 2", _error(path))
    path.write_text('{"format": "something-else"}', encoding="utf-8")
    assert "not a litkg seed list" in _error(path)
    path.write_text(to_json(SourceResult(refs=())), encoding="utf-8")
    assert "holds no papers" in _error(path)
    bad = to_json(SourceResult(refs=(SeedRef(title="t", source="s"),))).replace(
        '"position": 0', '"position": "first"'
    )
    path.write_text(bad, encoding="utf-8")
    assert "refs[0].position: expected an integer" in _error(path)


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

_text = st.text(max_size=12)
_opt_text = st.none() | _text
_opt_int = st.none() | st.integers(min_value=-(10**6), max_value=10**12)
_strs = st.lists(_text, max_size=3).map(tuple)

_papers = st.builds(
    Paper,
    paper_id=_text,
    title=_text,
    abstract=_opt_text,
    year=_opt_int,
    venue=_opt_text,
    authors=st.lists(st.builds(Author, name=_text, author_id=_opt_text), max_size=3).map(tuple),
    external_ids=st.dictionaries(_text, _text, max_size=3),
    url=_opt_text,
    publication_date=_opt_text,
    publication_types=_strs,
    fields_of_study=_strs,
    citation_count=_opt_int,
    reference_count=_opt_int,
    influential_citation_count=_opt_int,
    is_open_access=st.none() | st.booleans(),
    open_access_pdf=_opt_text,
    tldr=_opt_text,
    journal=_opt_text,
    tags=_strs,
    resolved=st.booleans(),
)
_refs = st.builds(
    SeedRef,
    title=_text,
    source=_text,
    url=_opt_text,
    ids=_strs,
    section_path=_strs,
    position=st.integers(min_value=0, max_value=10**6),
    note=_opt_text,
    year=_opt_int,
    metadata=st.none() | _papers,
)
_skipped = st.builds(
    Skipped,
    source=_text,
    text=_text,
    url=_opt_text,
    reason=_text,
    position=st.integers(min_value=0, max_value=10**6),
)
_results = st.builds(
    SourceResult,
    refs=st.lists(_refs, max_size=4).map(tuple),
    skipped=st.lists(_skipped, max_size=3).map(tuple),
)


def test_json_covers_every_paper_field() -> None:
    paper = Paper(paper_id="p", title="t")
    doc = json.loads(to_json(SourceResult(refs=(SeedRef("t", "s", metadata=paper),))))
    keys = set(doc["refs"][0]["metadata"])
    assert keys == {f.name for f in dataclasses.fields(Paper)}


@settings(max_examples=60, deadline=None)
@given(_results)
def test_json_round_trip(result: SourceResult) -> None:
    assert from_json(to_json(result), "x.json") == result


_arxiv_new = st.builds(
    lambda yy, mm, n, v: f"{yy:02d}{mm:02d}.{n:05d}" + (f"v{v}" if v else ""),
    st.integers(15, 29),
    st.integers(1, 12),
    st.integers(0, 99999),
    st.integers(0, 9),
)
_arxiv_old = st.builds(
    lambda a, n: f"{a}/{n:07d}",
    st.sampled_from(["hep-th", "math.GT", "cs.LG", "quant-ph"]),
    st.integers(0, 9999999),
)
_dois = st.builds(
    lambda reg, suffix: f"10.{reg}/{suffix}",
    st.integers(1000, 99999),
    st.text(alphabet="abcdefXYZ0123456789.-_()/;:", min_size=1, max_size=15),
)
_written_ids = st.one_of(
    _arxiv_new,
    _arxiv_old,
    _arxiv_new.map(lambda s: f"arXiv:{s}"),
    _arxiv_new.map(lambda s: f"https://arxiv.org/pdf/{s}.pdf"),
    _arxiv_old.map(lambda s: f"http://arxiv.org/abs/{s}"),
    _dois,
    _dois.map(lambda s: f"DOI:{s}"),
    _dois.map(lambda s: f"https://doi.org/{s}"),
    _arxiv_new.map(lambda s: f"10.48550/arXiv.{s}"),
    st.text(alphabet="0123456789abcdef", min_size=40, max_size=40),
    st.integers(0, 10**9).map(lambda n: f"CorpusId:{n}"),
    st.text(max_size=30),
)


@settings(max_examples=200, deadline=None)
@given(_written_ids)
def test_canonical_ids_are_idempotent(written: str) -> None:
    for ident in canonical_ids(written):
        assert ident in canonical_ids(ident)
    arxiv = normalise_arxiv_id(written)
    if arxiv is not None:
        assert normalise_arxiv_id(arxiv) == arxiv
        assert normalise_arxiv_id(f"ARXIV:{arxiv}") == arxiv
    doi = normalise_doi(written)
    if doi is not None:
        assert normalise_doi(doi) == doi
        assert normalise_doi(f"DOI:{doi}") == doi


@settings(max_examples=100, deadline=None)
@given(_arxiv_new)
def test_arxiv_version_is_dropped(written: str) -> None:
    bare = written.split("v")[0]
    assert canonical_ids(written) == (f"ARXIV:{bare}",)
    assert canonical_ids_from_url(f"https://arxiv.org/abs/{written}")[0] == f"ARXIV:{bare}"
