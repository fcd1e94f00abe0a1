"""Reading lists out and in: golden snippets per format, stable keys, LaTeX escaping,
name handling, and export -> import round trips (hypothesis) for BibTeX, RIS and CSL-JSON."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Any

import bibtexparser
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kg.core.errors import ExportError, KGError
from kg.core.model import Author, Paper
from kg.formats.bibtex import tex_escape, tex_to_text
from kg.formats.entries import citation_keys, entry_kind, split_name
from kg.formats.registry import (
    FORMATS,
    export,
    format_for,
    format_for_path,
    import_papers,
    read_entries,
)

IOI = "a" * 40
ZOOM = "b" * 40


def fixture_papers() -> list[Paper]:
    return [
        Paper(
            paper_id=IOI,
            title="Interpretability in the Wild: a Circuit for Indirect Object Identification "
            "in GPT-2 small",
            abstract="We explain how GPT-2 small performs IOI & measure 50% of $x_1$.",
            year=2022,
            venue="International Conference on Learning Representations",
            authors=(Author("Kevin Wang"), Author("Alexandre Variengien"), Author("Arthur Conmy")),
            external_ids={"ArXiv": "2211.00593", "DOI": "10.48550/arXiv.2211.00593"},
            url=f"https://www.semanticscholar.org/paper/{IOI}",
            publication_date="2022-11-01",
            publication_types=("JournalArticle", "Conference"),
            tags=("circuits", "IOI"),
        ),
        Paper(
            paper_id="local:0123456789abcdef",
            title="Toy Models of Superposition",
            year=2022,
            venue="arXiv.org",
            authors=(Author("Nelson Elhage"), Author("Ludwig van Beethoven")),
            external_ids={"ArXiv": "2209.10652"},
            resolved=False,
        ),
        Paper(
            paper_id=ZOOM,
            title="Zoom In: An Introduction to Circuits",
            year=2020,
            venue="Distill",
            authors=(Author("Chris Olah"),),
            external_ids={"DOI": "10.23915/distill.00024.001"},
            url="https://distill.pub/2020/circuits/zoom-in",
        ),
    ]


NOTES = {IOI: "Start here"}
REASONS = {ZOOM: ["cited by 3 of your papers", "same topic"]}

# --------------------------------------------------------------------------- goldens
GOLDEN_BIBTEX = r"""@inproceedings{wang2022interpretability,
  author = {Wang, Kevin and Variengien, Alexandre and Conmy, Arthur},
  title = {Interpretability in the Wild: a Circuit for Indirect Object Identification in {GPT-2} small},
  year = {2022},
  date = {2022-11-01},
  booktitle = {International Conference on Learning Representations},
  doi = {10.48550/arXiv.2211.00593},
  eprint = {2211.00593},
  archiveprefix = {arXiv},
  url = {https://www.semanticscholar.org/paper/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa},
  abstract = {We explain how GPT-2 small performs IOI \& measure 50\% of \$x\_1\$.},
  keywords = {circuits, IOI},
  annote = {Start here}
}

@misc{elhage2022toy,
  author = {Elhage, Nelson and van Beethoven, Ludwig},
  title = {Toy Models of Superposition},
  year = {2022},
  howpublished = {arXiv.org},
  eprint = {2209.10652},
  archiveprefix = {arXiv},
  note = {Not resolved on Semantic Scholar (local record)}
}

@article{olah2020zoom,
  author = {Olah, Chris},
  title = {Zoom In: An Introduction to Circuits},
  year = {2020},
  journal = {Distill},
  doi = {10.23915/distill.00024.001},
  url = {https://distill.pub/2020/circuits/zoom-in}
}
"""  # noqa: E501

GOLDEN_RIS = "\r\n".join(
    [
        "TY  - CPAPER",
        "AU  - Wang, Kevin",
        "AU  - Variengien, Alexandre",
        "AU  - Conmy, Arthur",
        "TI  - Interpretability in the Wild: a Circuit for Indirect Object Identification in "
        "GPT-2 small",
        "PY  - 2022",
        "DA  - 2022/11/01/",
        "T2  - International Conference on Learning Representations",
        "DO  - 10.48550/arXiv.2211.00593",
        f"UR  - https://www.semanticscholar.org/paper/{IOI}",
        "AN  - arXiv:2211.00593",
        "AB  - We explain how GPT-2 small performs IOI & measure 50% of $x_1$.",
        "KW  - circuits",
        "KW  - IOI",
        "N1  - Start here",
        "ER  - ",
        "",
        "TY  - GEN",
        "AU  - Elhage, Nelson",
        "AU  - van Beethoven, Ludwig",
        "TI  - Toy Models of Superposition",
        "PY  - 2022",
        "T2  - arXiv.org",
        "AN  - arXiv:2209.10652",
        "ER  - ",
        "",
        "TY  - JOUR",
        "AU  - Olah, Chris",
        "TI  - Zoom In: An Introduction to Circuits",
        "PY  - 2020",
        "T2  - Distill",
        "JO  - Distill",
        "DO  - 10.23915/distill.00024.001",
        "UR  - https://distill.pub/2020/circuits/zoom-in",
        "ER  - ",
        "",
    ]
)

GOLDEN_CSL: list[dict[str, Any]] = [
    {
        "id": "wang2022interpretability",
        "type": "paper-conference",
        "title": "Interpretability in the Wild: a Circuit for Indirect Object Identification "
        "in GPT-2 small",
        "author": [
            {"family": "Wang", "given": "Kevin"},
            {"family": "Variengien", "given": "Alexandre"},
            {"family": "Conmy", "given": "Arthur"},
        ],
        "issued": {"date-parts": [[2022, 11, 1]]},
        "container-title": "International Conference on Learning Representations",
        "DOI": "10.48550/arXiv.2211.00593",
        "URL": f"https://www.semanticscholar.org/paper/{IOI}",
        "abstract": "We explain how GPT-2 small performs IOI & measure 50% of $x_1$.",
        "keyword": "circuits, IOI",
        "note": "arXiv: 2211.00593",
        "annote": "Start here",
    },
    {
        "id": "elhage2022toy",
        "type": "article",
        "title": "Toy Models of Superposition",
        "author": [
            {"family": "Elhage", "given": "Nelson"},
            {"family": "van Beethoven", "given": "Ludwig"},
        ],
        "issued": {"date-parts": [[2022]]},
        "container-title": "arXiv.org",
        "number": "arXiv:2209.10652",
        "publisher": "arXiv",
        "note": "Not resolved on Semantic Scholar (local record)",
    },
    {
        "id": "olah2020zoom",
        "type": "article-journal",
        "title": "Zoom In: An Introduction to Circuits",
        "author": [{"family": "Olah", "given": "Chris"}],
        "issued": {"date-parts": [[2020]]},
        "container-title": "Distill",
        "DOI": "10.23915/distill.00024.001",
        "URL": "https://distill.pub/2020/circuits/zoom-in",
    },
]

GOLDEN_MARKDOWN = """# My list

1. [Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small](https://www.semanticscholar.org/paper/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)
   - Kevin Wang, Alexandre Variengien, Arthur Conmy · 2022 · *International Conference on Learning Representations*
   - arXiv: [2211.00593](https://arxiv.org/abs/2211.00593) · DOI: [10.48550/arXiv.2211.00593](https://doi.org/10.48550/arXiv.2211.00593)
   - Note: Start here
2. [Toy Models of Superposition](https://arxiv.org/abs/2209.10652)
   - Nelson Elhage, Ludwig van Beethoven · 2022 · *arXiv.org*
   - arXiv: [2209.10652](https://arxiv.org/abs/2209.10652)
3. [Zoom In: An Introduction to Circuits](https://distill.pub/2020/circuits/zoom-in)
   - Chris Olah · 2020 · *Distill*
   - DOI: [10.23915/distill.00024.001](https://doi.org/10.23915/distill.00024.001)
   - Why: cited by 3 of your papers; same topic
"""  # noqa: E501

GOLDEN_CSV = (
    "position,title,authors,year,venue,doi,arxiv,s2_id,url,note,reason\r\n"
    "1,Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 "
    "small,Kevin Wang; Alexandre Variengien; Arthur Conmy,2022,International Conference on "
    f"Learning Representations,10.48550/arXiv.2211.00593,2211.00593,{IOI},"
    f"https://www.semanticscholar.org/paper/{IOI},Start here,\r\n"
    "2,Toy Models of Superposition,Nelson Elhage; Ludwig van Beethoven,2022,arXiv.org,,"
    "2209.10652,,,,\r\n"
    f"3,Zoom In: An Introduction to Circuits,Chris Olah,2020,Distill,10.23915/distill.00024.001,"
    f",{ZOOM},https://distill.pub/2020/circuits/zoom-in,,cited by 3 of your papers; same topic\r\n"
)


def test_golden_bibtex() -> None:
    assert export(fixture_papers(), "bibtex", notes=NOTES) == GOLDEN_BIBTEX


def test_golden_ris() -> None:
    assert export(fixture_papers(), "ris", notes=NOTES) == GOLDEN_RIS


def test_golden_csl_json() -> None:
    assert json.loads(export(fixture_papers(), "csl-json", notes=NOTES)) == GOLDEN_CSL


def test_golden_markdown() -> None:
    out = export(fixture_papers(), "markdown", notes=NOTES, reasons=REASONS, title="My list")
    assert out == GOLDEN_MARKDOWN


def test_golden_csv() -> None:
    assert export(fixture_papers(), "csv", notes=NOTES, reasons=REASONS) == GOLDEN_CSV


def test_formats_have_extensions_and_mime_types() -> None:
    assert set(FORMATS) == {"bibtex", "ris", "csl-json", "markdown", "csv"}
    for name, spec in FORMATS.items():
        assert spec.name == name and spec.extension.startswith(".") and "/" in spec.mime
        assert format_for_path(f"x{spec.extension}") == name
    assert [k for k, f in FORMATS.items() if f.importable] == ["bibtex", "ris", "csl-json"]
    assert format_for("BIB") == "bibtex" and format_for("json") == "csl-json"
    with pytest.raises(ExportError, match="use one of bibtex"):
        format_for("docx")
    with pytest.raises(ExportError, match="cannot be imported"):
        import_papers("x", "markdown")


def test_empty_exports() -> None:
    assert export([], "bibtex") == ""
    assert json.loads(export([], "csl-json")) == []
    assert export([], "csv").startswith("position,")
    assert "(empty)" in export([], "markdown")


def test_golden_files_import_back() -> None:
    for fmt in ("bibtex", "ris", "csl-json"):
        result = read_entries(export(fixture_papers(), fmt, notes=NOTES), fmt)
        papers = result.papers
        assert [p.title for p in papers] == [p.title for p in fixture_papers()]
        assert papers[0].paper_id == IOI and papers[0].resolved  # S2 id from the S2 URL
        assert papers[1].paper_id.startswith("local:") and not papers[1].resolved
        assert papers[1].external_ids == {"ArXiv": "2209.10652"}
        assert [e.note for e in result.entries] == ["Start here", None, None]
        assert [entry_kind(p) for p in papers] == ["inproceedings", "misc", "article"]


# --------------------------------------------------------------------------- keys
def P(pid: str, title: str, author: str | None = "Kevin Wang", year: int | None = 2022) -> Paper:
    authors = (Author(author),) if author else ()
    return Paper(paper_id=pid, title=title, year=year, authors=authors)


def test_keys_are_stable_and_disambiguated_by_paper_id() -> None:
    a = P("c" * 40, "Interpretability in the wild")
    b = P("1" * 40, "Interpretability, again")
    c = P("2" * 40, "The Pile")
    keys = citation_keys([a, b, c])
    assert keys == {
        "1" * 40: "wang2022interpretabilitya",
        "c" * 40: "wang2022interpretabilityb",
        "2" * 40: "wang2022pile",
    }
    assert citation_keys([c, b, a]) == keys  # independent of list order
    assert citation_keys([a, a]) == {"c" * 40: "wang2022interpretability"}


def test_key_parts_fold_to_ascii() -> None:
    keys = citation_keys(
        [
            P("1", "Über die Natur", "János Kramár", 2023),
            P("2", "A study of things", "Ludwig van Beethoven", None),
            P("3", "中文标题", None, 2020),
            P("4", "Towards Monosemanticity", "Trenton Bricken Jr.", 2023),
        ]
    )
    assert keys == {
        "1": "kramar2023uber",
        "2": "beethovenndstudy",
        "3": "anon2020",
        "4": "bricken2023monosemanticity",
    }


def test_many_collisions_get_letter_suffixes() -> None:
    papers = [P(f"{i:02d}", "Same") for i in range(28)]
    keys = citation_keys(papers)
    assert len(set(keys.values())) == 28
    assert keys["00"] == "wang2022samea" and keys["25"] == "wang2022samez"
    assert keys["26"] == "wang2022sameaa"


# --------------------------------------------------------------------------- escaping
NASTY = r"50% of {GPT}-2's $\alpha$ & #1 a_b ~ x^2 \ back \emph{x} – “quotes” é 中"


def test_bibtex_escapes_every_special() -> None:
    paper = Paper(paper_id="x", title=NASTY, authors=(Author("Ann O'Brien"),), year=2024)
    out = export([paper], "bibtex")
    expected = (
        r"title = {50\% of {\textbraceleft{}GPT\textbraceright{}-2's} \$\textbackslash{}alpha\$ "
        r"\& \#1 a\_b \textasciitilde{} x\textasciicircum{}2 \textbackslash{} back "
        r"\textbackslash{}emph\textbraceleft{}x\textbraceright{} – “quotes” é 中},"
    )
    assert expected in out
    # every field is brace-balanced, and bibtexparser reads the file without failures
    library = bibtexparser.parse_string(out)
    assert not library.failed_blocks and len(library.entries) == 1
    assert import_papers(out, "bibtex")[0].title == NASTY


def test_protected_capitals() -> None:
    paper = Paper(paper_id="x", title="BERT and LaTeX in iPhone apps: A Study of GPT-4o")
    out = export([paper], "bibtex")
    assert "title = {{BERT} and {LaTeX} in {iPhone} apps: A Study of {GPT-4o}}" in out


def test_urls_and_dois_are_verbatim_but_safe() -> None:
    paper = Paper(
        paper_id="x",
        title="T",
        url="https://example.org/a_b%20c?q={x}#frag",
        external_ids={"DOI": "10.1000/a_b(c)"},
    )
    out = export([paper], "bibtex")
    assert r"url = {https://example.org/a_b\%20c?q=\%7Bx\%7D#frag}" in out
    assert "doi = {10.1000/a_b(c)}" in out
    back = import_papers(out, "bibtex")[0]
    assert back.url == "https://example.org/a_b%20c?q=%7Bx%7D#frag"
    assert back.doi == "10.1000/a_b(c)"


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"Kram{\'a}r", "Kramár"),
        (r"{\"U}ber \"uber", "Über über"),
        (r"{\ss}e \o{} \AA ngstr\"om", "ße ø Ångström"),
        (r"\v{S}koda \c{c}a \'{\i}", "Škoda ça í"),
        (r"\textbf{Bold} and \emph{it}", "Bold and it"),
        (r"{$\beta$}-VAE and $L_0$", "β-VAE and L0"),
        (r"A~B  \\ C", "A B C"),
        (r"\& \% \$ \# \_ \{ \}", "& % $ # _ { }"),
        (r"\textbackslash{}x \textasciitilde{} \textasciicircum{}", "\\x ~ ^"),
        ("plain text", "plain text"),
    ],
)
def test_tex_to_text(tex: str, text: str) -> None:
    assert tex_to_text(tex) == text
    assert tex_to_text(tex_escape(text)) == text


def test_markdown_and_csv_escape_their_specials() -> None:
    paper = Paper(
        paper_id="x", title="=SUM(A1) *bold* [link](x) a_b <b> | $1", url="https://e.org/a b"
    )
    md = export([paper], "markdown")
    assert r"[=SUM(A1) \*bold\* \[link\](x) a\_b \<b\> \| \$1](https://e.org/a%20b)" in md
    rows = list(csv.reader(io.StringIO(export([paper], "csv"))))
    assert rows[1][1] == "'=SUM(A1) *bold* [link](x) a_b <b> | $1"


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("name", "given", "family", "suffix", "bib"),
    [
        ("Chris Olah", "Chris", "Olah", "", "Olah, Chris"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven", "", "van Beethoven, Ludwig"),
        ("Juan de la Cruz", "Juan", "de la Cruz", "", "de la Cruz, Juan"),
        ("Martin Luther King Jr.", "Martin Luther", "King", "Jr.", "King, Jr., Martin Luther"),
        ("danah boyd", "danah", "boyd", "", "boyd, danah"),
        ("Plato", "", "Plato", "", "Plato"),
        ("Anthropic, Inc.", "", "Anthropic, Inc.", "", "{Anthropic, Inc.}"),
        ("Tom and Jerry", "", "Tom and Jerry", "", "{Tom and Jerry}"),
        ("others", "", "others", "", "{others}"),
    ],
)
def test_names(name: str, given: str, family: str, suffix: str, bib: str) -> None:
    parts = split_name(name)
    assert (parts.given, parts.family, parts.suffix) == (given, family, suffix)
    out = export([Paper(paper_id="x", title="T", authors=(Author(name),))], "bibtex")
    assert f"author = {{{bib}}}" in out
    assert [a.name for a in import_papers(out, "bibtex")[0].authors] == [name]


# --------------------------------------------------------------------------- foreign files
ZOTERO_BIB = r"""
@string{neurips = "Advances in Neural Information Processing Systems"}
@inproceedings{vaswani_attention_2017,
    title = {Attention is {All} you {Need}},
    booktitle = neurips,
    author = {Vaswani, Ashish and Shazeer, Noam and Kaiser, {\L}ukasz and others},
    year = {2017},
    month = dec,
    keywords = {transformers; attention},
    annote = {Read the appendix},
    url = {https://arxiv.org/abs/1706.03762v5},
}
@article{broken,
    title = {Missing brace
@misc{nt, author = {Nobody}}
@article{kramar, title = "Attribution {P}atching", author = "Kram{\'a}r, J{\'a}nos",
  journal = {arXiv preprint arXiv:2403.00745}, doi = {https://doi.org/10.48550/ARXIV.2403.00745}}
"""


def test_imports_a_foreign_bibtex_file() -> None:
    result = read_entries(ZOTERO_BIB, "bibtex")
    first, second = result.papers
    assert first.title == "Attention is All you Need"
    assert first.venue == "Advances in Neural Information Processing Systems"
    assert [a.name for a in first.authors] == ["Ashish Vaswani", "Noam Shazeer", "Łukasz Kaiser"]
    assert first.arxiv_id == "1706.03762" and first.year == 2017
    assert first.tags == ("transformers", "attention")
    assert result.entries[0].note == "Read the appendix"
    assert first.publication_types == ("Conference",) and first.paper_id.startswith("local:")
    assert second.title == "Attribution Patching" and second.authors[0].name == "János Kramár"
    assert second.doi == "10.48550/ARXIV.2403.00745" and second.arxiv_id == "2403.00745"
    assert any("no title" in s for s in result.skipped)


def test_imports_a_foreign_ris_file() -> None:
    text = (
        "\ufeffTY  - JOUR\nTI  - A long title\n  that continues\nAU  - Smith, John\n"
        "A1  - Doe, Jane, III\nY1  - 2019/03/04/\nJF  - Nature\nKW  - x\nKW  - y\n"
        "UR  - https://arxiv.org/abs/1903.00001\nER  -\n\nTY  - GEN\nAB  - no title\nER  - \n"
    )
    result = read_entries(text, "ris")
    (paper,) = result.papers
    assert paper.title == "A long title that continues"
    assert [a.name for a in paper.authors] == ["John Smith", "Jane Doe III"]
    assert (paper.year, paper.publication_date, paper.venue) == (2019, "2019-03-04", "Nature")
    assert paper.arxiv_id == "1903.00001" and paper.tags == ("x", "y")
    assert result.skipped == ("line 13: record has no title (TI or T1)",)


def test_imports_a_zotero_csl_item() -> None:
    item = {
        "id": "http://zotero.org/users/1/items/ABCD",
        "type": "article",
        "title": "Scaling Monosemanticity",
        "author": [
            {"family": "Beethoven", "given": "Ludwig", "non-dropping-particle": "van"},
            {"literal": "Anthropic"},
        ],
        "issued": {"date-parts": [["2024", "5", "21"]]},
        "number": "arXiv:2405.12345",
        "publisher": "arXiv",
        "keyword": "SAE, features",
    }
    (paper,) = import_papers(json.dumps(item), "csl-json")
    assert [a.name for a in paper.authors] == ["Ludwig van Beethoven", "Anthropic"]
    assert (paper.year, paper.publication_date) == (2024, "2024-05-21")
    assert paper.arxiv_id == "2405.12345" and paper.tags == ("SAE", "features")
    s2 = {"id": "f" * 40, "title": "T"}
    assert import_papers(json.dumps([s2]), "csl-json")[0].paper_id == "f" * 40


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("bibtex", "just text", "no @entries"),
        ("bibtex", "@article{x, author = {A}}", "no BibTeX entry could be read"),
        ("ris", "TI  - x\n", "no 'TY  - ' line"),
        ("csl-json", "[{", "invalid JSON"),
        ("csl-json", '"x"', "expected a list"),
        ("csl-json", '[{"id": "x"}]', "needs a title"),
    ],
)
def test_unreadable_files_say_what_to_do(fmt: str, text: str, message: str) -> None:
    with pytest.raises(ExportError, match=message) as info:
        import_papers(text, fmt)
    assert isinstance(info.value, KGError)


def test_local_ids_are_deterministic() -> None:
    text = export(fixture_papers()[1:], "bibtex")
    assert import_papers(text, "bibtex")[0].paper_id == import_papers(text, "bibtex")[0].paper_id
    ris = import_papers(export(fixture_papers()[1:2], "ris"), "ris")[0]
    assert ris.paper_id == import_papers(text, "bibtex")[0].paper_id


# --------------------------------------------------------------------------- round trips
def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


_chars = st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp"))
_nasty = st.sampled_from(
    [
        "{",
        "}",
        "{GPT}",
        "\\",
        "\\emph{x}",
        "\\&",
        "&",
        "%",
        "$x^2$",
        "#",
        "_",
        "~",
        "^",
        "@",
        '"',
        "``",
        "''",
        "--",
        "é",
        "Ω",
        "中文",
        "and",
        "others",
        "LaTeX",
        "ER  -",
        "TY  - JOUR",
        "=1",
    ]
)
_word = st.one_of(st.text(_chars, min_size=1, max_size=12), _nasty)
_text = st.lists(_word, min_size=1, max_size=8).map(" ".join).map(_norm).filter(bool)
_plain = st.text(_chars.filter(lambda c: c not in ",;"), min_size=1, max_size=15).map(_norm)
_tag = _plain.filter(bool)
_name_token = st.one_of(
    st.text(st.characters(categories=["L"]), min_size=1, max_size=10),
    st.sampled_from(
        ["van", "de", "la", "von", "der", "Jr.", "III", "O'Brien", "Ø", "{x}", "~", "Co.,", "and"]
    ),
)
_name = st.lists(_name_token, min_size=1, max_size=4).map(" ".join).map(_norm).filter(bool)
_arxiv = st.one_of(
    st.from_regex(r"(0[7-9]|1[0-9]|2[0-4])(0[1-9]|1[0-2])\.[0-9]{5}", fullmatch=True),
    st.from_regex(r"(hep-th|math|cs)/[0-9]{7}", fullmatch=True),
)
_doi = st.from_regex(r"10\.[0-9]{4,5}/[A-Za-z0-9._()/:;-]{1,20}", fullmatch=True)
_url = st.from_regex(r"https://[a-z]{1,8}\.(com|net)/[A-Za-z0-9_%~./?=&#-]{0,20}", fullmatch=True)


@st.composite
def papers(draw: st.DrawFn) -> Paper:
    year = draw(st.none() | st.integers(1000, 2100))
    date_text = None
    if year is not None and draw(st.booleans()):
        month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
        date_text = f"{year:04d}-{month:02d}-{day:02d}"
    ids: dict[str, str] = {}
    if arxiv := draw(st.none() | _arxiv):
        ids["ArXiv"] = arxiv
    if doi := draw(st.none() | _doi):
        ids["DOI"] = doi
    return Paper(
        paper_id=draw(st.from_regex(r"[0-9a-f]{40}", fullmatch=True)),
        title=draw(_text),
        abstract=draw(st.none() | _text),
        year=year,
        venue=draw(st.none() | _text | st.sampled_from(["arXiv.org", "ArXiv", "NeurIPS"])),
        authors=tuple(Author(n) for n in draw(st.lists(_name, max_size=4))),
        external_ids=ids,
        url=draw(st.none() | _url),
        publication_date=date_text,
        publication_types=draw(
            st.sampled_from([(), ("JournalArticle",), ("Conference",), ("Review",)])
        ),
        tags=tuple(draw(st.lists(_tag, max_size=3, unique=True))),
        resolved=draw(st.booleans()),
    )


def carried(p: Paper) -> tuple[object, ...]:
    return (
        p.title,
        tuple(a.name for a in p.authors),
        p.year,
        p.publication_date,
        p.venue,
        p.doi,
        p.arxiv_id,
        p.url,
        p.abstract,
        p.tags,
        entry_kind(p),
    )


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csl-json"])
@given(items=st.lists(papers(), min_size=1, max_size=4), notes=st.lists(st.none() | _text))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_export_import_round_trip(fmt: str, items: list[Paper], notes: list[str | None]) -> None:
    items = list({p.paper_id: p for p in items}.values())
    if fmt == "ris":  # RIS cannot protect a comma inside a name (documented)
        items = [p for p in items if not any("," in a.name for a in p.authors)]
        assume(items)
    note_map = {p.paper_id: n for p, n in zip(items, notes, strict=False) if n}
    result = read_entries(export(items, fmt, notes=note_map), fmt)
    assert [carried(p) for p in result.papers] == [carried(p) for p in items]
    assert [e.note for e in result.entries] == [note_map.get(p.paper_id) for p in items]
