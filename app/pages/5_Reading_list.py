"""Reading lists: several named lists, reorder, notes, reading path, export and import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from app import state
from kg.core.errors import KGError, LitkgError
from kg.formats.registry import FORMATS, format_for_path
from kg.views.explorer import Explorer
from kg.views.lists import export_all, import_into_list, list_view, order_as_path, sync_lists_rdf
from kg.views.search import search

state.page("Reading list", "📑")

MSG = "_list_msg"


def act(action: Callable[[], Any], done: str) -> None:
    """Run one change to the lists, mirror them into RDF, and leave a message."""
    lists = state.reading_lists()
    try:
        result = action()
    except LitkgError as exc:
        st.session_state[MSG] = ("error", str(exc))
        return
    warning = sync_lists_rdf(state.settings(), lists)
    text = done.format(result=result)
    st.session_state[MSG] = ("warning", f"{text} {warning}") if warning else ("success", text)


def current() -> str:
    return str(st.session_state.get("list") or "")


def create() -> None:
    name = (st.session_state.get("new_list") or "").strip()
    lists = state.reading_lists()
    act(lambda: lists.create(name), f"Created {name!r}.")
    if lists.find(name) is not None:
        st.session_state["list"] = lists.find(name).name  # type: ignore[union-attr]
        st.session_state["new_list"] = ""


def rename() -> None:
    new = (st.session_state.get("rename_to") or "").strip()
    lists = state.reading_lists()
    act(lambda: lists.rename(current(), new), f"Renamed to {new!r}.")
    if lists.find(new) is not None:
        st.session_state["list"] = lists.find(new).name  # type: ignore[union-attr]


def delete() -> None:
    lists = state.reading_lists()
    name = current()
    act(lambda: lists.delete(name), f"Deleted {name!r}.")
    st.session_state.pop("list", None)
    st.session_state["confirm_delete"] = False


def move(delta: int) -> None:
    pid = st.session_state.get("item")
    lists = state.reading_lists()
    lst = lists.find(current())
    if not pid or lst is None or lst.position(pid) is None:
        return
    at = lst.position(pid) or 0
    act(lambda: lists.move(lst.name, pid, max(0, at + delta)), "Moved.")


def remove() -> None:
    pid = st.session_state.get("item")
    lists = state.reading_lists()
    if pid:
        act(lambda: lists.remove(current(), pid), "Removed from the list.")
        st.session_state.pop("item", None)


def save_note(pid: str) -> None:
    note = st.session_state.get(f"note_{pid}") or ""
    lists = state.reading_lists()
    act(lambda: lists.set_note(current(), pid, note), "Note saved.")


def add_paper() -> None:
    pid = st.session_state.get("add_pick")
    lists = state.reading_lists()
    if pid:
        act(lambda: lists.add(current(), pid), "Added." if pid else "")


def order_path(ex: Explorer) -> None:
    lists = state.reading_lists()

    def run() -> list[Any]:
        steps = order_as_path(ex, lists, current())
        st.session_state["_path"] = [(s.position, s.paper_id, s.reason) for s in steps]
        return steps

    act(run, "Ordered as a reading path: what a paper builds on comes before it.")


def set_aside() -> None:
    lists = state.reading_lists()
    act(lists.set_aside, "Moved the unreadable file aside to {result}; starting afresh.")


def main() -> None:
    ex = state.explorer()
    lists = state.reading_lists()
    kind, text = st.session_state.pop(MSG, (None, None))
    if kind:
        getattr(st, kind)(state.msg(text))
    try:
        names = lists.names()
    except KGError as exc:
        st.error(state.msg(exc))
        st.button("Move the unreadable file aside", key="set_aside", on_click=set_aside)
        return

    c1, c2 = st.columns([3, 2])
    with c2:
        st.text_input("New list", key="new_list", placeholder="Name of a new list")
        st.button("Create list", key="create", on_click=create)
    if not names:
        c1.info("No reading lists yet: create one here, or add papers from Explore or Read next.")
        return
    if st.session_state.get("list") not in names:
        st.session_state["list"] = names[0]
    name = c1.selectbox("List", names, key="list")
    lst = lists.get(name)
    rows = list_view(ex, lst)
    c1.caption(
        f"{len(rows)} paper{'s' if len(rows) != 1 else ''} · updated {lst.updated_at or 'never'}"
    )

    st.dataframe(
        rows,
        hide_index=True,
        key="items",
        column_order=["position", "title", "authors", "year", "venue", "note"],
        column_config={
            "position": st.column_config.NumberColumn("#", width="small"),
            "title": st.column_config.TextColumn("Title", width="large"),
            "authors": "Authors",
            "year": st.column_config.NumberColumn("Year", format="%d"),
            "venue": "Venue",
            "note": st.column_config.TextColumn("Note", width="medium"),
        },
    )
    titles = {r["paper_id"]: f"{r['position']}. {r['title']}" for r in rows}

    left, right = st.columns(2)
    with left:
        st.markdown("**Edit a paper on the list**")
        pid = st.selectbox(
            "Paper",
            list(titles),
            format_func=titles.__getitem__,
            key="item",
            index=None,
            placeholder="Choose a paper…",
        )
        b1, b2, b3 = st.columns(3)
        b1.button("Move up", key="up", on_click=move, args=(-1,), disabled=pid is None)
        b2.button("Move down", key="down", on_click=move, args=(1,), disabled=pid is None)
        b3.button("Remove", key="remove", on_click=remove, disabled=pid is None)
        if pid is not None:
            note = next((r["note"] for r in rows if r["paper_id"] == pid), "")
            st.text_area("Note", value=note, key=f"note_{pid}", height=90)
            st.button("Save note", key="save_note", on_click=save_note, args=(pid,))
    with right:
        st.markdown("**Add a paper**")
        q = st.text_input("Find", key="add_q", placeholder="Title words, an author, an id…")
        hits = search(ex, q, limit=30).rows if q.strip() else []
        labels = {h["paper_id"]: f"{h['title']} ({h['year'] or 'n.d.'})" for h in hits}
        st.selectbox(
            "Result",
            list(labels),
            format_func=labels.__getitem__,
            key="add_pick",
            index=None,
            placeholder="Search first…" if not hits else "Choose a paper…",
        )
        st.button("Add to this list", key="add", on_click=add_paper)

    st.divider()
    p1, p2 = st.columns([1, 3])
    p1.button(
        "Order as a reading path",
        key="path",
        on_click=order_path,
        args=(ex,),
        disabled=len(rows) < 2,
    )
    path = st.session_state.get("_path")
    if path:
        with p2.expander("Why this order", expanded=True):
            for position, step_pid, reason in path:
                st.markdown(f"{position}. **{state.md(ex.title(step_pid))}**: {state.md(reason)}")

    st.markdown("**Export**")
    downloads = export_all(ex, lst) if rows else []
    cols = st.columns(max(1, len(downloads)))
    for col, d in zip(cols, downloads, strict=False):
        key = next(k for k, f in FORMATS.items() if f.label == d.label)
        col.download_button(
            d.label, d.data, d.file_name, d.mime, key=f"dl_{key}", on_click="ignore"
        )
    if not downloads:
        st.caption("Add papers to export the list.")

    with st.expander("Import BibTeX, RIS or CSL-JSON into this list"):
        importable = [k for k, f in FORMATS.items() if f.importable]
        upload = st.file_uploader("File", type=["bib", "ris", "json"], key="import_file")
        guess = format_for_path(upload.name) if upload is not None else None
        fmt = st.selectbox(
            "Format",
            importable,
            index=importable.index(guess) if guess in importable else 0,
            format_func=lambda k: FORMATS[k].label,
            key="import_fmt",
        )
        if st.button("Import", key="import", disabled=upload is None) and upload is not None:
            text = upload.getvalue().decode("utf-8", errors="replace")
            with state.shown_errors("Import"):
                out = import_into_list(ex, lists, name, text, fmt)
                warning = sync_lists_rdf(state.settings(), lists)
                r = out.report
                st.success(
                    f"Added {len(r.added)}, already listed {len(r.already_listed)}, "
                    f"not in the corpus {len(r.unmatched)}."
                )
                for p in r.unmatched[:20]:
                    st.caption("Not found: " + state.md(p.title))
                for s in out.skipped[:20]:
                    st.caption("Skipped: " + state.md(s))
                if warning:
                    st.warning(state.msg(warning))
                if r.added:
                    st.button("Show the new papers", key="reload")

    with st.expander("Rename or delete this list"):
        st.text_input("New name", key="rename_to")
        st.button("Rename", key="rename", on_click=rename)
        st.checkbox("Yes, delete this list", key="confirm_delete")
        st.button(
            "Delete list",
            key="delete",
            on_click=delete,
            disabled=not st.session_state.get("confirm_delete"),
        )


state.run_page(main)
