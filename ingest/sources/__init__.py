"""Sources of seed papers: DokuWiki seed pages, Markdown link lists, BibTeX/Zotero
exports, id lists and the bundled parsed seed list (JSON), one module each
(``dokuwiki``, ``markdown``, ``bibtex``, ``idlist``, ``seedlist``; the seed pages share
``walk`` and ``links``). :func:`load_source` (in ``load``) picks the parser for a file:
the one place a new kind of source is added.

Every parser turns text into a :class:`~ingest.types.SourceResult`: the papers it
lists (:class:`~ingest.types.SeedRef`, in source order) and the links or entries it
recognised as not papers (:class:`~ingest.types.Skipped`, each with a reason).
Nothing here touches the network; identifiers are put in the canonical S2 form
(``ARXIV:2404.14082``, ``DOI:10.1000/x``, ``CorpusId:123``, 40-hex, ``URL:...``) by
:mod:`kg.core.ids`.

Conventions
-----------
* ``position`` is the ordinal (from 0) of the link, entry or line among *all* the
  things the source lists, papers and skipped ones alike, so sorting both
  ``refs`` and ``skipped`` by it gives back the order of the source.
* ``section_path`` on seed pages is the heading path under the page title; a
  single leading H1 is the page's title, not a section. Links in the prose
  before the first section have ``section_path == ()``. A list item made only of
  bold text (``* **Induction Heads**``) opens a sub-section.
* A paper link with no text gets ``title == ""`` (the resolver fills it in), as
  do id-list lines that give no title after the id.
"""

from __future__ import annotations

from ingest.sources.bibtex import parse_bibtex
from ingest.sources.dokuwiki import parse_dokuwiki
from ingest.sources.idlist import parse_id_list
from ingest.sources.links import LinkVerdict, classify_url, split_citation_title
from ingest.sources.load import load_source, write_bundled_seeds
from ingest.sources.local import local_paper
from ingest.sources.markdown import parse_markdown
from ingest.sources.seedlist import BUNDLED_SEED_LIST, JSON_FORMAT, from_json, to_json

# The package's public API: what the pipeline, the resolver, the app and the tests use.
__all__ = [
    "BUNDLED_SEED_LIST",
    "JSON_FORMAT",
    "LinkVerdict",
    "classify_url",
    "from_json",
    "load_source",
    "local_paper",
    "parse_bibtex",
    "parse_dokuwiki",
    "parse_id_list",
    "parse_markdown",
    "split_citation_title",
    "to_json",
    "write_bundled_seeds",
]
