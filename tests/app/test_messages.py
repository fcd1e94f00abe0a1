"""Honest messages: no traceback for a full disk, deep nesting or an interrupted build;
summaries that name what they count; status that says when a writer is at work."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.cli_app import exposure_warning
from ingest.pipeline import IngestSummary
from ingest.sources import load_source
from kg.core.errors import SparqlSyntaxError
from kg.formats.registry import read_entries
from kg.rdf.guard import check_query

REPO = Path(__file__).resolve().parents[2]
DEEP = 1200


def _deep_bib(tmp_path: Path) -> Path:
    path = tmp_path / "deep.bib"
    title = "{" * DEEP + "Deep" + "}" * DEEP
    path.write_text(
        f"@article{{a, title={{{title}}}, year={{2020}}}}\n@misc{{b, title={{Fine}}}}\n"
    )
    return path


def test_deeply_nested_bibtex_is_read_without_a_traceback(tmp_path: Path) -> None:
    path = _deep_bib(tmp_path)
    refs = load_source(path).refs
    assert [r.title for r in refs] == ["Deep", "Fine"]
    assert [p.title for p in read_entries(path.read_text(), "bibtex").papers] == ["Deep", "Fine"]
    done = CliRunner().invoke(app, ["sources", str(path)])
    assert done.exit_code == 0 and "Deep" in done.output
    commands = "\\'" * 3000 + "e " + "\\textit{" * 2000 + "x" + "}" * 2000
    path.write_text(f"@article{{c, title={{{commands}}}}}\n")
    assert load_source(path).refs[0].title.endswith("x")


@pytest.mark.parametrize("n", [200, 2000])
def test_deeply_nested_sparql_is_a_syntax_error_with_a_line(n: int) -> None:
    query = "SELECT ?x WHERE {\n ?x ?p ?o FILTER(" + "(" * n + "?o" + ")" * n + ") }"
    with pytest.raises(SparqlSyntaxError, match="line 2") as err:
        check_query(query)
    assert err.value.line == 2
    braces = "SELECT ?x WHERE " + "{ " * n + "?x ?p ?o" + " }" * n
    with pytest.raises(SparqlSyntaxError, match="nested"):
        check_query(braces)


def test_ordinary_nesting_still_parses() -> None:
    query = 'SELECT ?x WHERE { { OPTIONAL { ?x ?p ?o FILTER(((STR(?o) != "a"))) } } }'
    assert check_query(query).form == "select"


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, "No space left on device", "/data/graph/embeddings.npz"),
        sqlite3.OperationalError("database or disk is full"),
    ],
)
def test_a_full_disk_is_a_message(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    import kg.api

    def full(*_a: object, **_k: object) -> None:
        raise exc

    monkeypatch.setattr(kg.api, "build", full)
    done = CliRunner().invoke(app, ["build", "--no-progress"])
    assert done.exit_code == 2
    assert "disk full" in done.output and "Traceback" not in done.output
    if isinstance(exc, OSError):
        assert "/data/graph/embeddings.npz" in done.output


def test_a_damaged_page_read_later_is_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    # Large stores skip the page check at open (kg.store.corpus.QUICK_CHECK_MAX_BYTES): a
    # damaged page then surfaces when it is read, and says what to do.
    import kg.api

    def damaged(*_a: object, **_k: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(kg.api, "build", damaged)
    done = CliRunner().invoke(app, ["build", "--no-progress"])
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "damaged" in done.output and "litkg ingest" in done.output


def test_an_interrupted_build_does_not_claim_a_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.api

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(kg.api, "build", interrupted)
    done = CliRunner().invoke(app, ["build", "--no-progress"])
    assert done.exit_code == 130
    assert "fetched" not in done.output and "previous build stays readable" in done.output


def test_summary_names_unresolved_ids_and_counts_parse_errors_apart() -> None:
    summary = IngestSummary(sources=["ids.txt", "refs.bib"])
    summary.unresolved = [
        {"title": "", "ids": ["DOI:10.1/x"], "source": "ids.txt", "position": 0, "reason": "r"}
    ]
    summary.skipped = [
        {
            "text": "k",
            "url": None,
            "source": "refs.bib",
            "reason": "line 3: could not parse entry k: unbalanced braces",
        },
        {"text": "x", "url": "https://github.com/a", "source": "p.md", "reason": "code repository"},
        {"text": "y", "url": None, "source": "ids.txt", "reason": "line 2: duplicate of line 1"},
    ]
    text = "\n".join(summary.lines())
    assert "  - DOI:10.1/x: r" in text and "  - : " not in text
    assert "Skipped 1 links that are not papers: 1 code repository" in text
    assert "Could not read 1 entries" in text and "refs.bib, line 3: could not parse" in text
    assert "Folded 1 duplicate listings" in text


def test_app_on_a_public_address_warns() -> None:
    assert exposure_warning("127.0.0.1") is None and exposure_warning("localhost") is None
    warning = exposure_warning("0.0.0.0")
    assert warning is not None and "anyone who can reach" in warning


def test_status_says_when_a_writer_is_at_work(tmp_path: Path, built_graph: Path) -> None:
    import shutil

    from kg.core.settings import Settings
    from kg.views.status import status

    data = tmp_path / "data"
    shutil.copytree(built_graph, data)
    settings = Settings(data_dir=data)
    assert status(settings).writing is None
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from kg.core.fileio import writer_lock\n"
            "with writer_lock(Path(sys.argv[1]), 'ingest'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(data),
        ],
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert "litkg ingest" in (status(settings).writing or "")
        done = CliRunner().invoke(app, ["status"], env={"LITKG_DATA_DIR": str(data)})
        assert done.exit_code == 0 and "Writing now: `litkg ingest`" in done.output
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_status_page_is_not_up_to_date_while_a_writer_runs(data_dir: Path) -> None:
    from streamlit.testing.v1 import AppTest

    page = REPO / "app" / "pages" / "6_Status.py"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from kg.core.fileio import writer_lock\n"
            "with writer_lock(Path(sys.argv[1]), 'build'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(data_dir),
        ],
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        at = AppTest.from_file(str(page), default_timeout=30).run()
        assert not at.exception
        shown = " ".join(str(e.value) for kind in (at.info, at.success) for e in kind)
        assert "litkg build" in shown.replace("\\", "") and "up to date" not in shown
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    at = AppTest.from_file(str(page), default_timeout=30).run()
    assert any("up to date" in str(e.value) for e in at.success)


def test_the_app_stops_a_query_at_its_limit_parse_included(data_dir: Path) -> None:
    from dataclasses import replace

    from kg.core.errors import QueryTimeout
    from kg.core.settings import Settings
    from kg.views.sparql import run_sparql

    settings = replace(Settings.from_env(), sparql_timeout=1.0)
    filters = " ".join(f'FILTER(?t != "x{i}")' for i in range(25_000))
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="stopped after 1 s"):
        run_sparql(settings, f"SELECT ?t WHERE {{ ?p dcterms:title ?t {filters} }}")
    assert time.monotonic() - started < 4
    with pytest.raises(SparqlSyntaxError) as err:  # line and column survive the worker
        run_sparql(settings, "SELECT ?x\nWHERE { ?x ?y }")
    assert err.value.line == 2 and err.value.column is not None
    answer = run_sparql(settings, "SELECT ?t WHERE { ?p dcterms:title ?t } LIMIT 2")
    assert len(answer.rows) == 2
