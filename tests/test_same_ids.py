"""`litkg ingest` and `litkg import-list` give a BibTeX entry the same paper id.

Both read BibTeX through :mod:`kg.formats.bibtex` and mint ``local:`` ids with
:func:`kg.core.ids.local_paper_id`; before that they had a reader each and disagreed on
entries known only by a PubMed id, an ACL Anthology URL or an arXiv id with a version.
The ingest runs offline (no S2 server), so every entry is kept as a local paper.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from kg.core.settings import Settings
from kg.formats.registry import read_entries
from kg.store.corpus import CorpusStore

#: One entry per way a paper can be identified (titles differ, so none is a duplicate).
ENTRIES = {
    "pmid-only": "@article{pm, title = {Neurons in a Dish Learn to Play}, "
    "author = {Roe, Ann}, year = {2022}, pmid = {36228614}}",
    "acl-url-only": "@inproceedings{acl, title = {What Does {BERT} Look At?}, "
    "author = {Clark, Kevin}, year = {2019}, url = {https://aclanthology.org/W19-4828/}}",
    "doi": "@article{doi, title = {Transformer Feed-Forward Layers Are Key-Value Memories}, "
    "author = {Geva, Mor}, year = {2021}, doi = {https://doi.org/10.18653/V1/2021.EMNLP-MAIN.446}}",
    "arxiv": "@misc{ax, title = {Interpretability in the Wild}, author = {Wang, Kevin}, "
    "year = {2022}, eprint = {2211.00593v2}, archiveprefix = {arXiv}}",
    "arxiv-old-style": "@article{old, title = {Large N Field Theories}, author = {Aharony, O.}, "
    "year = {1999}, eprint = {hep-th/9905111v3}, archiveprefix = {arXiv}}",
    "title-only": "@misc{t, title = {A Mathematical Framework for Transformer Circuits}, "
    "author = {Elhage, Nelson}, year = {2021}}",
}
TITLE_OF = {
    "pmid-only": "Neurons in a Dish Learn to Play",
    "acl-url-only": "What Does BERT Look At?",
    "doi": "Transformer Feed-Forward Layers Are Key-Value Memories",
    "arxiv": "Interpretability in the Wild",
    "arxiv-old-style": "Large N Field Theories",
    "title-only": "A Mathematical Framework for Transformer Circuits",
}


@pytest.fixture
def bib(tmp_path: Path) -> Path:
    path = tmp_path / "library.bib"
    path.write_text("\n\n".join(ENTRIES.values()) + "\n", encoding="utf-8")
    return path


def test_ingest_and_import_list_give_the_same_ids(bib: Path, tmp_path: Path) -> None:
    env = {"LITKG_DATA_DIR": str(tmp_path / "data"), "S2_API_URL": "http://127.0.0.1:9"}
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--offline", "--no-progress", str(bib)], env=env)
    assert result.exit_code == 0, result.output
    with CorpusStore(Settings(data_dir=tmp_path / "data").corpus_path, create=False) as store:
        ingested = {p.title: p.paper_id for p in store.papers()}
    assert sorted(ingested) == sorted(TITLE_OF.values())

    # What `litkg import-list` reads the file as (app.cli_export.import_list calls it).
    imported = {p.title: p.paper_id for p in read_entries(bib.read_text("utf-8"), "bibtex").papers}
    for case, title in TITLE_OF.items():
        assert imported[title] == ingested[title], case
        assert ingested[title].startswith("local:"), case

    # And the list import finds every entry in the corpus.
    listed = runner.invoke(app, ["import-list", "Mine", str(bib)], env=env)
    assert listed.exit_code == 0, listed.output
    assert re.search(r"6 papers read, 6 added to 'Mine', 0 already listed, 0 not in", listed.output)


def test_the_two_imports_agree_where_their_text_decoding_differs() -> None:
    """The reading-list import keeps TeX ligatures as typed and reads years more loosely
    than the seed import; an entry's id must not depend on either."""
    from ingest.sources import parse_bibtex

    text = "\n".join(
        [
            "@misc{a, title = {Circuits ``Zoom In'' --- a Primer}, year = {2020a}}",
            "@misc{b, title = {The {\\&} Operator}, date = {2019-05-01}}",
            "@misc{c, title = {Dotted DOI}, year = {2020}, doi = {10.1000/xyz.}}",
            "@misc{d, title = {Only a URL}, url = {https://dl.acm.org/citation.cfm?id=123}}",
        ]
    )
    ingested = [ref.metadata.paper_id for ref in parse_bibtex(text, "x.bib").refs if ref.metadata]
    imported = [p.paper_id for p in read_entries(text, "bibtex").papers]
    assert len(ingested) == 4 and imported == ingested
