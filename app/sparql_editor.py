"""The SPARQL page's query box: a code editor, or a plain text box.

The editor is the ``streamlit-code-editor`` component (Ace, with its SPARQL mode: syntax
highlighting, bracket matching, the graph's prefixes offered as completions; Ctrl+Enter
or its Run button runs the query). Its frontend is bundled in the wheel, so it works
offline. The plain text box is used when the component is not installed, when
``LITKG_SPARQL_EDITOR=plain`` is set, or when the reader ticks "Plain text box" (the
page says to, should the editor not appear in their browser).

The query text lives in ``st.session_state[TEXT]`` whichever box shows it, so switching
boxes keeps it; :func:`set_text` replaces it (loading an example) and remounts the editor.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import streamlit as st

from kg.rdf.vocab import PREFIXES

#: Session keys: the query text, the editor's generation (a new one mounts a fresh
#: editor holding the text), the text it was mounted with, the last event handled.
TEXT = "sparql_text"
GEN = "sparql_editor_gen"
MOUNTED = "sparql_editor_code"
SEEN = "sparql_editor_seen"
#: The plain text box's widget key.
PLAIN_KEY = "query"

RUN_BUTTON: list[dict[str, Any]] = [
    {
        "name": "Run",
        "feather": "Play",
        "primary": True,
        "hasText": True,
        "showWithIcon": True,
        "commands": ["submit"],
        "style": {"bottom": "0.44rem", "right": "0.4rem"},
    }
]


def editor_available() -> bool:
    """Whether the editor component is installed."""
    return importlib.util.find_spec("code_editor") is not None


def prefix_lines() -> str:
    """The graph's prefixes as PREFIX lines (every query may use them without one)."""
    return "\n".join(f"PREFIX {name}: <{iri}>" for name, iri in PREFIXES.items())


def completions() -> list[dict[str, Any]]:
    """The graph's prefixes as the editor's completions."""
    return [
        {"caption": f"{name}:", "value": f"{name}:", "meta": iri, "score": 1000}
        for name, iri in PREFIXES.items()
    ]


def set_text(text: str) -> None:
    """Replace the query (both boxes) and mount a fresh editor holding it."""
    st.session_state[TEXT] = text
    st.session_state[PLAIN_KEY] = text
    st.session_state[MOUNTED] = text
    st.session_state[GEN] = int(st.session_state.get(GEN, 0)) + 1


def text() -> str:
    return str(st.session_state.get(TEXT, ""))


def query_box(label: str, height: int = 320) -> bool:
    """Show the query box; True when the editor asked to run the query (Ctrl+Enter or its
    Run button)."""
    available = editor_available()
    wants_plain = os.environ.get("LITKG_SPARQL_EDITOR", "").strip().lower() == "plain"
    plain = st.checkbox(
        "Plain text box",
        value=wants_plain or not available,
        key="plain_editor",
        disabled=not available,
        help="A plain text box instead of the SPARQL editor (use it if the editor does "
        "not appear in your browser).",
    )
    if plain:
        if not available:
            st.info(
                "The SPARQL editor (the streamlit-code-editor package) is not installed, so "
                "this is a plain text box; `pip install streamlit-code-editor` for syntax "
                "highlighting."
            )
        if PLAIN_KEY not in st.session_state:
            st.session_state[PLAIN_KEY] = text()
        st.text_area(label, key=PLAIN_KEY, height=height)
        st.session_state[TEXT] = st.session_state[PLAIN_KEY]
        return False
    from code_editor import code_editor

    st.caption(
        f"{label}. Ctrl+Enter or the editor's Run button runs it. If no editor appears "
        "below, tick “Plain text box”."
    )
    if MOUNTED not in st.session_state:
        st.session_state[MOUNTED] = text()
    event = code_editor(
        st.session_state[MOUNTED],
        lang="sparql",
        height=[14, 28],
        response_mode=["debounce", "blur"],
        buttons=RUN_BUTTON,
        completions=completions(),
        options={"wrap": True, "showLineNumbers": True},
        key=f"sparql_editor_{st.session_state.get(GEN, 0)}",
    )
    if (
        not isinstance(event, dict)
        or not event.get("id")
        or event["id"] == st.session_state.get(SEEN)
    ):
        return False
    st.session_state[SEEN] = event["id"]
    st.session_state[TEXT] = str(event.get("text") or "")
    st.session_state.pop(PLAIN_KEY, None)
    return event.get("type") == "submit"


__all__ = ["completions", "editor_available", "prefix_lines", "query_box", "set_text", "text"]
