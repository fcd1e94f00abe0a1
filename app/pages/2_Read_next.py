"""Read next: pick what you have read, get recommendations with reasons, keep the good ones."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import streamlit as st

from app import state
from kg.views.explorer import Explorer, SearchFilters, paper_choices
from kg.views.lists import sync_lists_rdf
from kg.views.read_next import read_next, seed_picks, trust_note
from kg.views.search import search

state.page("Read next", "🧭")


def use_list() -> None:
    name = st.session_state.get("from_list")
    if name:
        lst = state.reading_lists().find(name)
        if lst is not None:
            chosen = list(dict.fromkeys([*st.session_state.get("read", []), *lst.paper_ids]))
            st.session_state["read"] = chosen


def pick(pid: str) -> None:
    st.session_state["read"] = list(dict.fromkeys([*st.session_state.get("read", []), pid]))


def seed_start(ex: Explorer) -> None:
    """The seed page's papers as one-click picks, section by section (nothing picked yet)."""
    picks = seed_picks(ex)
    if not picks:
        return
    st.subheader("Start from the papers of your seed page")
    st.caption("Click one you have read or liked; add more above, or click another.")
    section = None
    for n, p in enumerate(picks):
        if p.section != section:
            section = p.section
            if section:
                st.markdown(f"**{state.md(section)}**")
        st.button(
            state.md(p.label), key=f"seed_{n}", on_click=pick, args=(p.paper_id,), type="tertiary"
        )


def read_widgets(ex: Explorer) -> tuple[list[str], list[str]]:
    c1, c2 = st.columns([3, 2])
    find = c1.text_input(
        "Find papers you have read", key="find", placeholder="Title words, an author, an id…"
    )
    names = state.reading_lists().names()
    with c2:
        if names:
            st.selectbox("…or start from a reading list", names, key="from_list")
            st.button("Use this list", key="use_list", on_click=use_list)
    chosen = [p for p in st.session_state.get("read", []) if isinstance(p, str)]
    hits = search(ex, find, limit=30).rows if find.strip() else []
    if not find.strip() and not chosen:
        hits = search(ex, "", filters=SearchFilters(scope="seeds"), limit=30).rows
    options = list(dict.fromkeys([*chosen, *(r["paper_id"] for r in hits)]))
    labels = paper_choices(ex, options)
    read = st.multiselect(
        "Papers you have read or liked",
        options,
        format_func=lambda p: labels.get(p, p),
        key="read",
        placeholder="Search above, then pick papers here",
    )
    recs = st.session_state.get("_last_rec_ids", [])
    disliked_now = [p for p in st.session_state.get("disliked", []) if isinstance(p, str)]
    dis_options = list(dict.fromkeys([*disliked_now, *recs]))
    dis_labels = paper_choices(ex, dis_options)
    disliked = st.multiselect(
        "Not for me (pushes similar papers down)",
        dis_options,
        format_func=lambda p: dis_labels.get(p, p),
        key="disliked",
        placeholder="Mark recommendations you do not want",
    )
    return read, disliked


def filter_widgets(ex: Explorer) -> dict[str, Any]:
    f = ex.facets
    with st.expander("Filters and number of papers", expanded=False):
        c1, c2, c3 = st.columns(3)
        years = None
        if f.year_min is not None and f.year_max is not None and f.year_min < f.year_max:
            years = c1.slider(
                "Years", f.year_min, f.year_max, (f.year_min, f.year_max), key="rn_years"
            )
        topics = {
            tid: f"{label} ({scheme})"
            for scheme in f.schemes
            for tid, label, _ in f.topics.get(scheme, ())
        }
        chosen_topics = c2.multiselect(
            "Topics (any of)", list(topics), format_func=topics.__getitem__, key="rn_topics"
        )
        venue = c3.text_input("Venue contains", key="rn_venue")
        surveys = c1.checkbox("No surveys or reviews", key="rn_surveys")
        oa = c1.checkbox("Open access only", key="rn_oa")
        k = c2.slider("How many", 1, 50, 10, key="k")
        diversity = c3.slider("Diversity", 0.0, 1.0, 0.3, 0.05, key="diversity")
    return {
        "year_from": years[0] if years and years[0] != f.year_min else None,
        "year_to": years[1] if years and years[1] != f.year_max else None,
        "topics": tuple(chosen_topics),
        "venue": venue or None,
        "exclude_surveys": surveys,
        "open_access_only": oa,
        "k": int(k),
        "diversity": float(diversity),
    }


def add(name: str, pid: str) -> None:
    lists = state.reading_lists()
    with state.shown_errors("Reading list"):
        added = lists.add(name, pid, create=True)
        warning = sync_lists_rdf(state.settings(), lists)
        st.session_state["_added_msg"] = (
            f"Added to {name}." if added else f"Already on {name}."
        ) + (f" {warning}" if warning else "")


def main() -> None:
    ex = state.explorer()
    read, disliked = read_widgets(ex)
    options = filter_widgets(ex)
    if not read:
        st.info("Pick at least one paper you have read or liked to get recommendations.")
        seed_start(ex)
        return
    key = (tuple(read), tuple(disliked), tuple(sorted(options.items())))
    result = state.memo(
        "read_next",
        key,
        lambda: read_next(ex, read, disliked=disliked, **options),
    )
    st.session_state["_last_rec_ids"] = [r["paper_id"] for r in result.rows]
    names = state.reading_lists().names() or ["Reading list"]
    c1, c2 = st.columns([3, 2])
    c1.caption(
        f"{len(result.rows)} recommendations from {result.candidates:,} candidates "
        f"({result.seconds * 1000:.0f} ms). " + (trust_note(result.graph_trust) or "")
    )
    target = c2.selectbox("Add to", names, key="target_list")
    msg = st.session_state.pop("_added_msg", None)
    if msg:
        st.success(state.msg(msg))
    for row in result.rows:
        with st.container(border=True):
            head, button = st.columns([6, 1])
            head.markdown(f"**{row['rank']}. {state.md(row['title'])}**")
            meta = [x for x in (row["authors"], str(row["year"] or ""), row["venue"]) if x]
            head.caption(state.md(" · ".join(meta)) + f" · score {row['score']:.3f}")
            if row["snippet"]:
                head.markdown(state.md(row["snippet"]))
            button.button(
                "Add to list",
                key=f"add_{row['paper_id']}",
                on_click=add,
                args=(target, row["paper_id"]),
            )
            button.markdown(f"[Open](Explore?paper={quote(row['paper_id'], safe='')})")
            for reason in row["reasons"]:
                head.markdown("- " + state.md(reason))


state.run_page(main)
