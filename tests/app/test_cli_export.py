"""``litkg export``, ``list``, ``list-add``, ``list-remove``, ``list-move``, ``list-note``,
``list-rename``, ``list-delete`` and ``import-list`` through typer's CliRunner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from kg.core.model import Author, Paper
from kg.core.settings import Settings
from kg.formats.registry import export, import_papers
from kg.store.corpus import DETAIL_FULL, CorpusStore

A, B, C = "a" * 40, "b" * 40, "c" * 40


@pytest.fixture
def corpus() -> dict[str, Paper]:
    papers = [
        Paper(
            A,
            "Interpretability in the Wild",
            year=2022,
            authors=(Author("Kevin Wang"),),
            external_ids={"DOI": "10.48550/arXiv.2211.00593", "ArXiv": "2211.00593"},
            venue="ICLR",
        ),
        Paper(B, "Toy Models of Superposition", year=2022, authors=(Author("Nelson Elhage"),)),
        Paper(C, "Zoom In: An Introduction to Circuits", year=2020, authors=(Author("C. Olah"),)),
    ]
    settings = Settings.from_env()
    with CorpusStore(settings.corpus_path) as store:
        for paper in papers:
            store.upsert_paper(paper, detail=DETAIL_FULL)
    return {p.paper_id: p for p in papers}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_list_add_show_and_export(corpus: dict[str, Paper], tmp_path: Path) -> None:
    code, out, _ = run("list-add", "MI", A, "ARXIV:2211.00593", f"{C},{B}", "--note", "core")
    assert code == 0, out
    assert "Created reading list 'MI'" in out and "Added 3 papers" in out
    code, out, _ = run("list-add", "MI", A)
    assert code == 0 and "Added 0 papers" in out and f"already listed: {A}" in out
    code, out, _ = run("list")
    assert code == 0 and "MI  (3 papers" in out
    code, out, _ = run("list", "mi")
    assert code == 0
    assert out.splitlines()[1] == f"  1. Wang 2022 - Interpretability in the Wild  [{A}]"
    assert "note: core" in out
    code, out, _ = run("list", "MI", "--json")
    assert [i["paper_id"] for i in json.loads(out)["items"]] == [A, C, B]

    code, out, _ = run("export", "MI", "--format", "bibtex")
    assert code == 0 and out.startswith("@inproceedings{wang2022interpretability,")
    assert [p.title for p in import_papers(out, "bibtex")] == [
        corpus[A].title,
        corpus[C].title,
        corpus[B].title,
    ]
    target = tmp_path / "out" / "list.md"
    code, _, err = run("export", "MI", "-o", str(target))
    assert code == 0 and "Wrote 3 papers" in err
    assert target.read_text().startswith("# MI\n\n1. [Interpretability in the Wild]")
    code, out, _ = run("export", "--ids", f"{B} DOI:10.48550/arXiv.2211.00593", "-f", "csv")
    assert code == 0 and [line.split(",")[0] for line in out.splitlines()] == ["position", "1", "2"]


def test_move_note_remove_rename_delete(corpus: dict[str, Paper]) -> None:
    assert run("list-add", "L", A, B, C)[0] == 0
    code, out, _ = run("list-move", "L", C, "1")
    assert code == 0 and "now number 1" in out
    assert run("list-note", "L", B, "compare with SAEs")[0] == 0
    code, out, err = run("list-remove", "L", A, A)
    assert code == 0 and f"Removed {A}" in out and "was not on the list" in err
    assert run("list-rename", "L", "Renamed")[0] == 0
    code, out, _ = run("list", "Renamed", "--json")
    doc = json.loads(out)
    assert [i["paper_id"] for i in doc["items"]] == [C, B]
    assert doc["items"][1]["note"] == "compare with SAEs"
    assert run("list-delete", "renamed")[0] == 0
    assert "No reading lists yet" in run("list")[1]


def test_import_list_matches_the_corpus(corpus: dict[str, Paper], tmp_path: Path) -> None:
    foreign = Paper("x", "Not in the corpus at all", external_ids={"DOI": "10.9/zz"})
    file = tmp_path / "mine.ris"
    file.write_text(export([corpus[B], foreign, corpus[A]], "ris"), newline="")
    code, out, _ = run("import-list", "From file", str(file))
    assert code == 0, out
    assert "3 papers read, 2 added to 'From file', 0 already listed, 1 not in the corpus" in out
    assert "not in the corpus: Not in the corpus at all DOI:10.9/zz" in out
    code, out, _ = run("list", "From file", "--json")
    assert [i["paper_id"] for i in json.loads(out)["items"]] == [B, A]
    bib = tmp_path / "mine.txt"
    bib.write_text(export([corpus[C]], "bibtex"))  # no telling extension: sniffed
    code, out, _ = run("import-list", "From file", str(bib))
    assert code == 0 and "1 added" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "nope"), "no reading list named 'nope'"),
        (("export",), "give a reading-list NAME or --ids"),
        (("export", "--ids", "f" * 40), "is not in the corpus"),
        (("export", "--ids", "a" * 40, "-f", "docx"), "unknown format 'docx'"),
        (("list-add", "L", "10.1/none"), "is not in the corpus"),
        (("list-move", "nope", "a", "1"), "no reading list named"),
        (("import-list", "L", "/nonexistent/file.bib"), "no such file"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    corpus: dict[str, Paper], args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(*args)
    assert code == 2 and message in err and "Traceback" not in err + out


def test_without_a_corpus_the_error_names_the_fix() -> None:
    code, _, err = run("list-add", "L", A)
    assert code == 2 and "litkg ingest" in err
    assert os.environ["LITKG_DATA_DIR"] in err
