"""The canned queries shipped in ``kg/rdf/queries/*.rq``, with their declared parameters.

A ``.rq`` file starts with ``# title:``, ``# description:``, ``# param:`` and
``# example:`` lines (:func:`parse_canned`); :meth:`CannedQuery.bind` reads
command-line ``name=value`` strings as RDF terms of the declared kinds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rdflib.term import Identifier

from kg.core.errors import KGError, QueryParamError
from kg.rdf.binding import PARAM_KINDS, param_term


@dataclass(frozen=True)
class QueryParam:
    name: str
    kind: str
    required: bool
    help: str = ""
    default: str | None = None


@dataclass(frozen=True)
class CannedQuery:
    name: str
    title: str
    text: str
    params: tuple[QueryParam, ...] = ()
    description: str = ""
    example: str = ""

    def bind(self, raw: Mapping[str, str]) -> dict[str, Identifier]:
        """Command-line ``name=value`` strings as RDF terms, checked against the params."""
        known = {p.name: p for p in self.params}
        out: dict[str, Identifier] = {}
        for name, value in raw.items():
            param = known.get(name.lstrip("?$"))
            if param is None:
                expected = ", ".join(p.name for p in self.params) or "none"
                raise QueryParamError(
                    f"{self.name} has no parameter {name!r} (its parameters: {expected})"
                )
            out[param.name] = param_term(param.kind, value, param.name)
        for param in self.params:
            if param.required and param.name not in out:
                raise QueryParamError(
                    f"{self.name} needs --param {param.name}=<{param.kind}>"
                    + (f" ({param.help})" if param.help else "")
                )
        return out


_PARAM_LINE = re.compile(
    r"^(?P<name>\w+)\s*\((?P<kind>\w+)(?:\s*,\s*(?P<req>required|optional))?"
    r"(?:\s*,\s*default\s+(?P<default>[^)]*))?\)\s*(?:[-:]\s*)?(?P<help>.*)$"
)


def parse_canned(name: str, text: str) -> CannedQuery:
    """A ``.rq`` file: ``# title:``, ``# description:``, ``# param:`` and ``# example:`` lines."""
    title, example = name, ""
    description: list[str] = []
    params: list[QueryParam] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        body = stripped.lstrip("#").strip()
        key, sep, value = body.partition(":")
        key = key.strip().lower()
        if not sep:
            continue
        value = value.strip()
        if key == "title":
            title = value
        elif key == "description":
            description.append(value)
        elif key == "example":
            example = value
        elif key == "param":
            m = _PARAM_LINE.match(value)
            if m is None or m.group("kind") not in PARAM_KINDS:
                raise KGError(f"{name}.rq: bad param line {value!r}")
            params.append(
                QueryParam(
                    name=m.group("name"),
                    kind=m.group("kind"),
                    required=m.group("req") == "required",
                    help=m.group("help").strip(),
                    default=(m.group("default") or "").strip() or None,
                )
            )
    return CannedQuery(name, title, text, tuple(params), " ".join(description), example)


@lru_cache(maxsize=1)
def canned_queries() -> dict[str, CannedQuery]:
    """The queries shipped in ``kg/rdf/queries/*.rq``, by name (file name without ``.rq``)."""
    out: dict[str, CannedQuery] = {}
    folder = resources.files("kg.rdf") / "queries"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            name = entry.name[: -len(".rq")]
            out[name] = parse_canned(name, entry.read_text(encoding="utf-8"))
    return out


def find_canned(name: str) -> CannedQuery | None:
    """A canned query by name, with or without ``.rq``."""
    key = name.strip()
    key = key[: -len(".rq")] if key.endswith(".rq") else key
    return canned_queries().get(key)


__all__ = ["CannedQuery", "QueryParam", "canned_queries", "find_canned", "parse_canned"]
