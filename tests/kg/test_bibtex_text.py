"""kg.core.latex: LaTeX decoding, BibTeX names and brace-aware splitting (shared by the
seed import in ingest.sources.bibtex and the reading-list import in kg.formats.bibtex)."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kg.core.latex import (
    bib_name,
    closing_brace,
    field_value,
    latex_to_text,
    plain_field,
    quiet_bibtexparser,
    split_authors,
    split_top,
)


# --------------------------------------------------------------------------- accents
@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"M{\"u}ller", "Müller"),
        (r"M\"{u}ller", "Müller"),
        (r"M\"uller", "Müller"),
        (r"\'{e}t\'e", "été"),
        (r"{\'E}cole", "École"),
        (r"Sch{\"o}lkopf and {\v S}najder", "Schölkopf and Šnajder"),
        (r"\c{c}a \c c", "ça ç"),
        (r"Jastrz{\k e}bski", "Jastrzębski"),
        (r"{\'\i} \'{\i} \^{\j}", "í í ĵ"),
        (r"Erd{\H o}s", "Erdős"),
        (r"{\ss} {\o} {\AA} {\L}ukasz {\ae}", "ß ø Å Łukasz æ"),
        (r"Sigur{\dh}ur", "Sigurður"),
    ],
)
def test_accents_and_special_letters(tex: str, text: str) -> None:
    assert latex_to_text(tex) == text


def test_result_is_nfc() -> None:
    assert latex_to_text(r"\"u") == "\u00fc"
    assert latex_to_text("u\u0308ber") == "\u00fcber"  # decomposed input, no LaTeX in it


# --------------------------------------------------------------------------- braces, escapes
@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"{BERT} and {GPT}-2 in {iPhone} apps", "BERT and GPT-2 in iPhone apps"),
        (r"{{Nested {Braces}}}", "Nested Braces"),
        (r"\& \% \$ \# \_", "& % $ # _"),
        (r"\{x\}", "{x}"),
        (r"50\% of a\_b", "50% of a_b"),
        (r"\textbackslash{}x \textasciitilde{} \textasciicircum{}", "\\x ~ ^"),
        (r"A~B \\ C", "A B C"),
        (r"unbalanced } brace {", "unbalanced brace"),
        ("trailing \\", "trailing \\"),
    ],
)
def test_braces_and_escapes(tex: str, text: str) -> None:
    assert latex_to_text(tex) == text


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"\emph{n} -person and \textbf{bold}", "n -person and bold"),
        (r"{\em emphasised} text", "emphasised text"),
        (r"{$\beta$}-VAE and $L_0$ and $x^2$", "β-VAE and L0 and x2"),
        (r"$\alpha \leq \Omega$", "α≤Ω"),
        (r"{$\bullet$} x {\dots} y", "• x … y"),
        (r"as shown\cite{smith2020} here\footnote{a note}", "as shown here"),
        (r"\href{https://x.org}{the site}", "the site"),
        (r"\unknownmacro{} stays", "unknownmacro stays"),
        (r"\ss e", "ße"),
    ],
)
def test_commands_and_math(tex: str, text: str) -> None:
    assert latex_to_text(tex) == text


def test_ligatures_are_optional() -> None:
    tex = "pages 1--2 --- ``quoted''"
    assert latex_to_text(tex) == "pages 1–2 — “quoted”"
    assert latex_to_text(tex, ligatures=False) == tex


def test_unescape_twice_decodes_zotero_escaped_latex() -> None:
    zotero = r"{\textbackslash}textit\{x\} and \$L\_0\$"
    assert latex_to_text(zotero) == r"\textit{x} and $L_0$"
    assert latex_to_text(zotero, unescape_twice=True) == "x and L0"


@given(st.text(max_size=40))
def test_never_raises_and_is_collapsed(text: str) -> None:
    for out in (latex_to_text(text), latex_to_text(text, ligatures=False, unescape_twice=True)):
        assert out == " ".join(out.split())


def test_plain_field_unescapes_without_decoding() -> None:
    assert plain_field(r"https://x.org/a\_b\%20c?{q} ") == "https://x.org/a_b%20c?q"
    assert plain_field("https://example.org/a\n  /b") == "https://example.org/a/b"
    assert plain_field(r"10.1000/a\_b") == "10.1000/a_b"
    assert plain_field("  {arXiv} ") == "arXiv"
    assert plain_field(r"\'e") == r"\'e"  # no LaTeX decoding


def test_field_value_strips_delimiters_only_when_enclosed() -> None:
    assert field_value(" {Title} ", enclosed=True) == "Title"
    assert field_value('"Title"', enclosed=True) == "Title"
    assert field_value("{Title}", enclosed=False) == "{Title}"
    assert field_value("{x", enclosed=True) == "{x"


# --------------------------------------------------------------------------- splitting
def test_split_top_ignores_separators_in_braces_and_escaped_braces() -> None:
    comma = re.compile(",")
    assert split_top("a, {b, c}, d", comma) == ["a", " {b, c}", " d"]
    # an escaped brace opens no group, so the comma after it still splits
    assert split_top(r"a\{, b", comma) == [r"a\{", " b"]
    assert split_top(r"{a\}, b}, c", comma) == [r"{a\}, b}", " c"]
    assert split_top("", comma) == [""]


def test_closing_brace() -> None:
    assert closing_brace("{ab}") == 3
    assert closing_brace("{a{b}c}d") == 6
    assert closing_brace(r"{a\}b}") == 5
    assert closing_brace("{open") == -1


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("Olah, Chris and Elhage, Nelson", ["Olah, Chris", "Elhage, Nelson"]),
        ("{Tom and Jerry} and Ann Lee", ["{Tom and Jerry}", "Ann Lee"]),
        ("A. Smith AND B. Jones\n and  C. Wu", ["A. Smith", "B. Jones", "C. Wu"]),
        ("Brand, Anderson", ["Brand, Anderson"]),  # "and" inside a word
        ("", []),
    ],
)
def test_split_authors(field: str, names: list[str]) -> None:
    assert split_authors(field) == names


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Olah, Chris", "Chris Olah"),
        ("Chris Olah", "Chris Olah"),
        ("van Beethoven, Ludwig", "Ludwig van Beethoven"),
        ("Ludwig van Beethoven", "Ludwig van Beethoven"),
        ("de la Cruz, Juan", "Juan de la Cruz"),
        ("King, Jr., Martin Luther", "Martin Luther King Jr."),
        (r"Kram{\'a}r, J{\'a}nos", "János Kramár"),
        (r"{\L}ukasz Kaiser", "Łukasz Kaiser"),
        ("{Anthropic, Inc.}", "Anthropic, Inc."),
        ("{Tom and Jerry}", "Tom and Jerry"),
        ("{Google {DeepMind}}", "Google DeepMind"),
        ("{others}", "others"),
        ("Plato", "Plato"),
        ("  Olah ,  Chris  ", "Chris Olah"),
        ("others", None),
        ("OTHERS", None),
        ("", None),
        ("{}", None),
    ],
)
def test_bib_name(raw: str, name: str | None) -> None:
    assert bib_name(raw) == name
    assert bib_name(raw, ligatures=False, letters_only=False) == name


def test_bib_name_marks_and_letterless_parts() -> None:
    # footnote marks beside a name are never part of it
    assert bib_name(r"{\dag}, Nick Cammarata") == "Nick Cammarata"
    assert bib_name(r"{\dag}, Nick Cammarata", letters_only=False) == "Nick Cammarata"
    assert bib_name(r"{\dag}") is None
    # other text without letters: dropped by default, kept for an exact inverse
    assert bib_name(r"Smith, \textasciitilde{}") == "Smith"
    assert bib_name(r"Smith, \textasciitilde{}", letters_only=False) == "~ Smith"
    assert bib_name("{42}") is None
    assert bib_name("{42}", letters_only=False) == "42"


def test_bib_name_ligatures() -> None:
    assert bib_name("Jean--Paul Sartre") == "Jean–Paul Sartre"
    assert bib_name("Jean--Paul Sartre", ligatures=False) == "Jean--Paul Sartre"


# --------------------------------------------------------------------------- parser logs
def test_quiet_bibtexparser_silences_every_bibtexparser_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import bibtexparser

    child = logging.getLogger("bibtexparser.splitter")
    with caplog.at_level(logging.WARNING):
        with quiet_bibtexparser():
            child.warning("silenced")
            bibtexparser.parse_string("@article{broken, title = {x\n@misc{ok, title={y}}")
        child.warning("heard")
    assert [r.getMessage() for r in caplog.records] == ["heard"]
    assert not child.filters
