"""litkg's one settings object: defaults, overridden by environment variables.

=========================  ==================================  ==========================
setting                    environment variable                default
=========================  ==================================  ==========================
data_dir                   ``LITKG_DATA_DIR``                  ``./data``
s2_api_url                 ``S2_API_URL``                      ``https://api.semanticscholar.org``
s2_api_key                 ``S2_API_KEY`` (or                  unset
                           ``SEMANTIC_SCHOLAR_API_KEY``)
s2_timeout                 ``LITKG_S2_TIMEOUT`` (seconds)      ``30``
s2_max_retries             ``LITKG_S2_MAX_RETRIES``            ``6``
s2_min_interval            ``LITKG_S2_MIN_INTERVAL`` (seconds  ``1.0`` (S2's introductory
                           between requests)                   keyed limit is 1 req/s)
s2_backoff                 ``LITKG_S2_BACKOFF`` (first wait)   ``2.0``
s2_backoff_max             ``LITKG_S2_BACKOFF_MAX``            ``60``
match_threshold            ``LITKG_MATCH_THRESHOLD``           ``0.85`` (title similarity
                                                               below which a title match
                                                               is reported, not accepted)
sparql_query_url           ``LITKG_SPARQL_QUERY_URL``          unset: the embedded Oxigraph
                                                               store under the data dir
sparql_update_url          ``LITKG_SPARQL_UPDATE_URL``         unset (defaults to the query
                                                               URL when that is set)
sparql_bulk_url            ``LITKG_SPARQL_BULK_URL`` (the      unset: graphs are written
                           server's bulk-load endpoint, e.g.   by SPARQL UPDATE batches
                           Oxigraph's ``/store``: the build
                           POSTs N-Quads there)
sparql_timeout             ``LITKG_SPARQL_TIMEOUT`` (seconds)  ``10``
sparql_max_rows            ``LITKG_SPARQL_MAX_ROWS``           ``10000``
sparql_allow_service       ``LITKG_SPARQL_ALLOW_SERVICE``      ``0``: a query with SERVICE
                           (``1`` allows federated queries:    is refused (it would make
                           trusted use only)                   this machine fetch URLs)
embed_backend              ``LITKG_EMBED_BACKEND``             see ``kg.text.embed``
text_vectors               ``LITKG_TEXT_VECTORS`` (``auto``,   ``auto``: S2's SPECTER
                           ``minilm`` or ``specter``: the      vectors when the corpus
                           vectors of the ``text`` signal)     has more than
                                                               ``field_scale`` papers and
                                                               >= 90% of them have one
field_scale                ``LITKG_FIELD_SCALE`` (papers)      ``50000``
ann_min_papers             ``LITKG_ANN_MIN_PAPERS`` (papers    ``100000``
                           above which the build writes an
                           approximate text index)
ann_neighbours             ``LITKG_ANN_NEIGHBOURS`` (the       ``2000``
                           neighbours of each read paper the
                           index returns)
=========================  ==================================  ==========================

The API key is a secret: it is read from the environment only and never
written to disk or logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kg.core.errors import ConfigError

DEFAULT_S2_API_URL = "https://api.semanticscholar.org"
#: Values of ``LITKG_TEXT_VECTORS``.
TEXT_VECTORS = ("auto", "minilm", "specter")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to e.g. {default}") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must be >= 0")
    return value


def env_int(
    env: Mapping[str, str], name: str, default: int | None, *, minimum: int = 0
) -> int | None:
    """The integer environment variable ``name`` (``default`` when unset or blank); a
    :class:`ConfigError` naming the variable and a valid value otherwise. Every litkg
    integer setting is read through here (the embedder's tuning knobs included)."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    example = default if default is not None else max(minimum, 8)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer; set it to e.g. {example}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be >= {minimum}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env_int(env, name, default)
    return default if value is None else value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={raw!r}: set it to 1 (on) or 0 (off)")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when unset); a :class:`ConfigError` naming them else."""
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return choices[0]
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r}: set it to one of {', '.join(choices)}")
    return raw


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    s2_api_url: str = DEFAULT_S2_API_URL
    s2_api_key: str | None = field(default=None, repr=False)
    s2_timeout: float = 30.0
    s2_max_retries: int = 6
    s2_min_interval: float = 1.0
    s2_backoff: float = 2.0
    s2_backoff_max: float = 60.0
    match_threshold: float = 0.85
    sparql_query_url: str | None = None
    sparql_update_url: str | None = None
    sparql_bulk_url: str | None = None
    sparql_timeout: float = 10.0
    sparql_max_rows: int = 10_000
    sparql_allow_service: bool = False
    embed_backend: str | None = None
    text_vectors: str = "auto"
    field_scale: int = 50_000
    ann_min_papers: int = 100_000
    ann_neighbours: int = 2_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        url = (env.get("S2_API_URL") or DEFAULT_S2_API_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"S2_API_URL={url!r} must start with http:// or https://")
        settings = cls(
            data_dir=Path(env.get("LITKG_DATA_DIR") or "data"),
            s2_api_url=url,
            s2_api_key=env.get("S2_API_KEY") or env.get("SEMANTIC_SCHOLAR_API_KEY") or None,
            s2_timeout=_float(env, "LITKG_S2_TIMEOUT", 30.0),
            s2_max_retries=_int(env, "LITKG_S2_MAX_RETRIES", 6),
            s2_min_interval=_float(env, "LITKG_S2_MIN_INTERVAL", 1.0),
            s2_backoff=_float(env, "LITKG_S2_BACKOFF", 2.0),
            s2_backoff_max=_float(env, "LITKG_S2_BACKOFF_MAX", 60.0),
            match_threshold=_float(env, "LITKG_MATCH_THRESHOLD", 0.85),
            sparql_query_url=env.get("LITKG_SPARQL_QUERY_URL") or None,
            sparql_update_url=env.get("LITKG_SPARQL_UPDATE_URL")
            or env.get("LITKG_SPARQL_QUERY_URL")
            or None,
            sparql_bulk_url=env.get("LITKG_SPARQL_BULK_URL") or None,
            sparql_timeout=_float(env, "LITKG_SPARQL_TIMEOUT", 10.0),
            sparql_max_rows=_int(env, "LITKG_SPARQL_MAX_ROWS", 10_000),
            sparql_allow_service=_flag(env, "LITKG_SPARQL_ALLOW_SERVICE"),
            embed_backend=env.get("LITKG_EMBED_BACKEND") or None,
            text_vectors=_choice(env, "LITKG_TEXT_VECTORS", TEXT_VECTORS),
            field_scale=_int(env, "LITKG_FIELD_SCALE", 50_000),
            ann_min_papers=_int(env, "LITKG_ANN_MIN_PAPERS", 100_000),
            ann_neighbours=max(1, _int(env, "LITKG_ANN_NEIGHBOURS", 2_000)),
        )
        return replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]

    @property
    def corpus_path(self) -> Path:
        """The corpus store (SQLite)."""
        return self.data_dir / "corpus.sqlite"

    @property
    def cache_path(self) -> Path:
        """The S2 response cache (SQLite)."""
        return self.data_dir / "cache" / "s2-responses.sqlite"

    @property
    def rdf_path(self) -> Path:
        """The embedded Oxigraph store (a directory)."""
        return self.data_dir / "rdf"

    @property
    def graph_dir(self) -> Path:
        """Built artefacts: embeddings, topics, NetworkX projection."""
        return self.data_dir / "graph"
