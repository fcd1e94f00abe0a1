"""Source files: :func:`load_source` reads one (gzip undone, encoding checked) and hands it
to the parser its extension or content names; :func:`write_bundled_seeds` regenerates the
shipped seed list."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

from ingest.errors import SourceError
from ingest.sources.bibtex import parse_bibtex
from ingest.sources.dokuwiki import parse_dokuwiki
from ingest.sources.idlist import parse_id_list
from ingest.sources.markdown import parse_markdown
from ingest.sources.seedlist import BUNDLED_SEED_LIST, from_json, to_json
from ingest.types import SourceResult

__all__ = ["load_source", "write_bundled_seeds"]

_KINDS = "a DokuWiki seed page (.txt), Markdown (.md), BibTeX (.bib, .bib.gz), a seed list (.json) or an id list (.txt)"  # noqa: E501
_DW_SNIFF = re.compile(r"\[\[[^\]]+\]\]|(?:^|\s)={2,6}[^=\n]+={2,6}(?:\s|$)")
_BIB_SNIFF = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]\s*[^,\s]+\s*,", re.M)
_MD_SNIFF = re.compile(r"\]\(\s*<?https?://|^\s{0,3}#{1,6}\s", re.M)


def _read_text(path: Path) -> tuple[str, str]:
    """(text, name with any .gz dropped) of a source file, or a SourceError saying why not."""
    if not path.exists():
        raise SourceError(f"{path}: no such file; check the path (a source is {_KINDS})")
    if path.is_dir():
        raise SourceError(f"{path}: is a directory; pass a file in it (a source is {_KINDS})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        message = f"{path}: cannot be read ({exc.strerror}); check its permissions"
        raise SourceError(message) from exc
    name = path.name
    if name.lower().endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(
                f"{path}: not a valid gzip file ({exc}); decompress it or pass the plain file"
            ) from exc
        name = name[:-3] if name.lower().endswith(".gz") else name
    if b"\x00" in data[:8192]:
        raise SourceError(
            f"{path}: is a binary file, not text; a source must be a UTF-8 text file ({_KINDS})"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "re-save it as UTF-8"
        ) from exc
    return text, name


def _kind(name: str, text: str) -> str:
    lower = name.lower()
    if lower.endswith((".bib", ".bibtex")):
        return "bibtex"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    if lower.endswith(".json"):
        return "json"
    if _DW_SNIFF.search(text):
        return "dokuwiki"
    if _BIB_SNIFF.search(text):
        return "bibtex"
    if _MD_SNIFF.search(text):
        return "markdown"
    return "ids"


def load_source(path: Path) -> SourceResult:
    """Read a source file, choosing the parser by extension and content.

    ``.bib``/``.bibtex`` (optionally ``.gz``) -> BibTeX; ``.md`` -> Markdown; ``.json``
    -> the bundled seed-list format; other text -> a DokuWiki page when it has
    DokuWiki links or headings, BibTeX or Markdown when it looks like them, else an
    id list. Gzip is undone transparently. ``SeedRef.source`` is the file name.
    Raises :class:`SourceError` for a missing, unreadable or binary file, a file of
    the wrong format, or a source with no papers.
    """
    path = Path(path)
    text, inner = _read_text(path)
    source = path.name
    kind = _kind(inner, text)
    if kind == "bibtex":
        return parse_bibtex(text, source)
    if kind == "markdown":
        return parse_markdown(text, source)
    if kind == "dokuwiki":
        return parse_dokuwiki(text, source)
    if kind == "json":
        result = from_json(text, source)
        if not result.refs:
            raise SourceError(f"{source}: the seed list holds no papers; regenerate it")
        return result
    return parse_id_list(text, source)


def write_bundled_seeds(seed_page: Path, out: Path = BUNDLED_SEED_LIST) -> SourceResult:
    """Parse ``seed_page`` and write it to ``out`` in the bundled seed-list format.

    Regenerate the shipped list with ``python -m ingest.sources`` (reads
    ``../shared/seeds/mechanistic-interpretability.dokuwiki.txt``).
    """
    result = load_source(seed_page)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json(result), encoding="utf-8")
    return result
