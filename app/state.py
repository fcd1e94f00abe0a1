"""Shared plumbing of the Streamlit pages: settings, cached loaders, safe text, errors.

Heavy objects load once per process (``st.cache_resource``), keyed by the data dir and
a stamp of the built graph, so a rebuild is picked up on the next rerun and two data dirs
(tests) never share a cache entry. Pages call :func:`explorer` (which stops the page with
a clear message and the command to run when there is nothing to show), then one library
function of a screen module of :mod:`kg.views`, and render.

Third-party text (titles, abstracts, reasons) goes through :func:`md` before it reaches
``st.markdown``: every Markdown special is backslash-escaped, and HTML is never enabled.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import streamlit as st

from kg.core.errors import KGError, LitkgError

if TYPE_CHECKING:
    from kg.core.settings import Settings
    from kg.store.readinglists import ReadingLists
    from kg.text.embed import Embedder
    from kg.views.explorer import Explorer

T = TypeVar("T")

APP_TITLE = "litkg"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&=])")
_REFRESH_LOCK = threading.Lock()


# --------------------------------------------------------------------------- text
def md(text: object) -> str:
    """``text`` safe to embed in Markdown: every special character escaped, newlines
    folded, so third-party titles and abstracts render as the text they are."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def msg(text: object) -> str:
    """A message safe for Markdown: like :func:`md`, but `code spans` (commands such as
    `litkg build` in the library's messages) stay code."""
    parts = re.split(r"(`[^`\n]+`)", str(text or ""))
    return "".join(p if p.startswith("`") and p.endswith("`") else md(p) for p in parts)


def page(title: str, icon: str = "📚") -> None:
    """Page config and title (call first on every page)."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide")
    st.title(title)


# --------------------------------------------------------------------------- settings
def settings() -> Settings:
    """Settings from the environment; a bad setting stops the page with its message."""
    from kg.core.settings import Settings

    try:
        return Settings.from_env()
    except KGError as exc:
        st.error(msg(f"Invalid setting: {exc}"))
        st.stop()
        raise  # unreachable: st.stop raises


def not_ready(message: str, command: str) -> None:
    """The message shown instead of a page when there is no graph to show."""
    st.info(msg(message))
    if command:
        st.markdown("Run this in a terminal, then reload the page:")
        st.code(command, language="bash")


@st.cache_resource(show_spinner="Loading the knowledge graph…", max_entries=2)
def _load_explorer(data_dir: str, stamp: str) -> Explorer:
    """Load the graph once per process. The graph is never changed after loading, so it
    goes to the collector's permanent generation (no full-collection pauses scanning it),
    and the indexes the first page does not need are built in the background."""
    import gc

    from kg.views.explorer import Explorer

    gc.unfreeze()  # a graph replaced by a rebuild can then be collected
    ex = Explorer.load(settings())
    _ = (ex.projection, ex._primary)  # the Overview's
    gc.freeze()
    threading.Thread(target=_warm, args=(ex,), name="litkg-warm", daemon=True).start()
    return ex


def _warm(ex: Explorer) -> None:
    import time

    time.sleep(1.0)  # let the first page finish drawing before competing for the GIL
    try:
        ex.warm()
    except Exception:  # a failed warm-up only means that the first use builds the index
        return


def _ready() -> tuple[Settings, str]:
    from kg.views.status import readiness

    s = settings()
    ready = readiness(s)
    if not ready.ok:
        not_ready(ready.message, ready.command)
        st.stop()
    return s, ready.stamp


def require_ready() -> Settings:
    """The settings, or stop the page with what to run when nothing is built yet."""
    return _ready()[0]


def explorer() -> Explorer:
    """The loaded graph, or stop the page with what to run (``litkg ingest``/``build``)."""
    s, stamp = _ready()
    try:
        return _load_explorer(str(s.data_dir), stamp)
    except KGError as exc:
        not_ready(f"The knowledge graph could not be loaded: {exc}", "litkg build")
        st.stop()
        raise  # unreachable


@st.cache_resource(show_spinner="Loading the language model…", max_entries=2)
def _load_embedder(data_dir: str, stamp: str, backend: str) -> Embedder:
    from kg.views.search import query_embedder

    kg = _load_explorer(data_dir, stamp).kg
    emb = query_embedder(settings(), kg)
    try:
        emb.embed(["warm up"])  # load the model now, once, not on the first query
    except KGError:  # e.g. the ONNX export failed: the configured backend then
        emb = query_embedder(settings(), kg, prefer_fast=False)
        emb.embed(["warm up"])
    return emb


def embedder() -> Embedder:
    """The query embedder matching the graph (loaded once per process)."""
    from kg.views.status import readiness

    s = settings()
    return _load_embedder(str(s.data_dir), readiness(s).stamp, s.embed_backend or "")


def reading_lists() -> ReadingLists:
    from kg.store.readinglists import ReadingLists

    return ReadingLists.open(settings())


def clear_caches() -> None:
    _load_explorer.clear()
    _load_embedder.clear()
    api_reachable.clear()


# --------------------------------------------------------------------------- errors
@contextmanager
def shown_errors(what: str = "") -> Iterator[None]:
    """Show library errors as one message (never a traceback) and go on with the page."""
    try:
        yield
    except LitkgError as exc:
        st.error(msg(f"{what}: {exc}" if what else exc))


def memo(name: str, key: Hashable, compute: Callable[[], T]) -> T:
    """The result of ``compute`` for ``key``, kept in the session until the key changes
    (so a click elsewhere on the page does not redo a recommendation)."""
    box = st.session_state.get(f"_memo_{name}")
    if isinstance(box, tuple) and len(box) == 2 and box[0] == key:
        return box[1]
    value = compute()
    st.session_state[f"_memo_{name}"] = (key, value)
    return value


# --------------------------------------------------------------------------- refresh
@st.cache_data(ttl=60, show_spinner=False)
def api_reachable(url: str) -> bool:
    """Whether the S2 API answers at all (any HTTP status), within 3 seconds."""
    import httpx

    if os.environ.get("LITKG_APP_OFFLINE"):
        return False
    try:
        httpx.get(url.rstrip("/") + "/", timeout=3.0)  # any answer, even a 404, will do
    except httpx.HTTPError:
        return False
    return True


def refresh(s: Settings, echo: Callable[[str], None] | None = None) -> list[str]:
    """Ingest again from the last run's sources (the bundled seed list when that run
    had none), then build: the same work as ``litkg ingest && litkg build``, and mirror
    the reading lists into the rebuilt RDF store. One refresh at a time per process;
    what was stored is kept whatever happens."""
    from pathlib import Path

    import kg
    from kg.views.lists import sync_lists_rdf
    from kg.views.search import query_embedder
    from kg.views.status import status

    if not _REFRESH_LOCK.acquire(blocking=False):
        raise KGError("A refresh is already running; wait for it to finish.")
    try:
        recorded = [Path(p) for p in status(s).sources]
        missing = [str(p) for p in recorded if not p.is_file()]
        if missing:  # never refresh from other sources than the user's own
            raise KGError(
                f"The last ingest read {', '.join(missing)}, which cannot be found from "
                f"here; run `litkg ingest {' '.join(missing)}` in a terminal instead."
            )
        lib = kg.open(settings=s, embedder=query_embedder(s))
        summary = lib.ingest(recorded, echo=echo)
        report = lib.build(echo=echo)
        warning = sync_lists_rdf(s, lib.lists)  # a big rebuild may clear the store
    finally:
        _REFRESH_LOCK.release()
    clear_caches()
    return summary.lines() + report.lines() + ([warning] if warning else [])


def run_page(body: Callable[[], Any]) -> None:
    """Run a page body, showing any library error as a message."""
    with shown_errors():
        body()
