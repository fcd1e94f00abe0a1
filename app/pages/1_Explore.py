"""Explore: search and filter the papers, open one, walk its citation graph."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from app import charts, state
from kg.views.explorer import Explorer, SearchFilters, authors_text, paper_choices
from kg.views.lists import sync_lists_rdf
from kg.views.paper import Linked, ego_view, paper_view
from kg.views.search import SEMANTIC_UNAVAILABLE, SORTS, search, semantic_available

state.page("Explore", "🔎")

FIELDS = {
    "all": "Everything",
    "title": "Title",
    "author": "Author",
    "text": "Full text",
    "semantic": "Semantic (meaning)",
}
SCOPES = {"all": "All papers", "seeds": "Seeds only", "neighbours": "Neighbours only"}
CURRENT = "explore_paper"


def open_paper(pid: str | None) -> None:
    if pid:
        st.session_state[CURRENT] = pid


def on_table_select() -> None:
    event = st.session_state.get(st.session_state.get("_results_key", ""))
    rows = st.session_state.get("_result_ids", [])
    picked = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if picked and picked[0] < len(rows):
        open_paper(rows[picked[0]])


def on_pick(key: str) -> None:
    open_paper(st.session_state.get(key))


def on_linked_select(key: str, ids_key: str) -> None:
    event = st.session_state.get(key)
    ids = st.session_state.get(ids_key, [])
    picked = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if picked and picked[0] < len(ids):
        open_paper(ids[picked[0]])


def on_graph_select(key: str) -> None:
    event = st.session_state.get(key)
    selection: Any = getattr(event, "selection", None) or {}
    points = selection.get("node") if hasattr(selection, "get") else None
    for point in points or []:
        pid = point.get("paper_id") if hasattr(point, "get") else None
        if pid:
            open_paper(str(pid))
            return


def filters_widgets(ex: Explorer) -> SearchFilters:
    f = ex.facets
    with st.expander("Filters", expanded=False):
        c1, c2, c3 = st.columns(3)
        years = None
        if f.year_min is not None and f.year_max is not None and f.year_min < f.year_max:
            years = c1.slider(
                "Years", f.year_min, f.year_max, (f.year_min, f.year_max), key="years"
            )
        scheme = c2.selectbox("Topic scheme", f.schemes, key="topic_scheme") if f.schemes else None
        topics = {tid: f"{label} ({n})" for tid, label, n in f.topics.get(scheme or "", ())}
        topic = c2.selectbox(
            "Topic",
            list(topics),
            index=None,
            format_func=topics.__getitem__,
            key="topic",
            placeholder="Any topic",
        )
        venue = c3.text_input("Venue contains", key="venue")
        scope = c1.radio(
            "Seed or neighbour", list(SCOPES), format_func=SCOPES.__getitem__, key="scope"
        )
        min_cit = c3.number_input(
            "At least this many citations", min_value=0, value=0, step=10, key="min_cit"
        )
    return SearchFilters(  # the full year range keeps papers of unknown year
        year_from=years[0] if years and years[0] != f.year_min else None,
        year_to=years[1] if years and years[1] != f.year_max else None,
        topic=topic,
        venue=venue or None,
        scope=scope,
        min_citations=int(min_cit),
    )


def results_section(ex: Explorer) -> None:
    c1, c2, c3 = st.columns([4, 2, 1])
    query = c1.text_input(
        "Search", key="q", placeholder="Words in the title, authors or abstract; or an id"
    )
    field = c2.selectbox("Search in", list(FIELDS), format_func=FIELDS.__getitem__, key="field")
    sort = c3.selectbox("Sort by", SORTS, key="sort")
    filters = filters_widgets(ex)
    if field == "semantic" and not semantic_available(ex.kg.manifest):
        st.info(SEMANTIC_UNAVAILABLE)
        field = "text"
    emb = state.embedder() if field == "semantic" and query.strip() else None
    res = search(ex, query, field=field, filters=filters, sort=sort, limit=200, embedder=emb)
    ids = [r["paper_id"] for r in res.rows]
    st.session_state["_result_ids"] = ids
    st.caption(
        (
            f"{res.total:,} papers ranked by similarity to the query"
            if field == "semantic" and query.strip()
            else f"{res.total:,} paper{'s' if res.total != 1 else ''} match"
        )
        + (f"; showing the first {len(ids)}" if res.total > len(ids) else "")
        + f" ({res.seconds * 1000:.0f} ms). Select a row to open the paper."
    )
    columns = ["title", "authors", "year", "venue", "citations", "topic", "seed"]
    if query.strip():
        columns.append("score")
    # a new key for new results, so that a row selected in the old ones does not carry over
    key = "results-" + hashlib.sha1(repr((query, field, filters, sort)).encode()).hexdigest()[:12]
    st.session_state["_results_key"] = key
    st.dataframe(
        res.rows,
        key=key,
        on_select=on_table_select,
        selection_mode="single-row",
        hide_index=True,
        column_order=columns,
        column_config={
            "title": st.column_config.TextColumn("Title", width="large"),
            "authors": "Authors",
            "year": st.column_config.NumberColumn("Year", format="%d"),
            "venue": "Venue",
            "citations": st.column_config.NumberColumn("Citations"),
            "topic": "Topic",
            "seed": st.column_config.CheckboxColumn("Seed"),
            "score": st.column_config.NumberColumn("Match", format="%.3f"),
        },
        height=min(400, 38 + 35 * max(1, len(ids))),
    )
    labels = paper_choices(ex, ids)
    st.selectbox(
        "Open a paper",
        ids,
        index=None,
        format_func=lambda pid: labels.get(pid, pid),
        key="pick",
        on_change=on_pick,
        args=("pick",),
        placeholder="Choose one of the results…",
    )


def linked_table(ex: Explorer, rows: list[Linked], key: str) -> None:
    if not rows:
        st.caption("None in the corpus.")
        return
    ids_key = f"_{key}_ids"
    st.session_state[ids_key] = [r.paper_id for r in rows]
    data = [
        {
            "title": r.title,
            "year": r.year,
            "intents": ", ".join(r.intents),
            "influential": bool(r.influential),
            "contexts": " … ".join(r.contexts),
            "in corpus": r.in_corpus,
        }
        for r in rows
    ]
    st.dataframe(
        data,
        key=key,
        on_select=lambda: on_linked_select(key, ids_key),
        selection_mode="single-row",
        hide_index=True,
        column_config={
            "title": st.column_config.TextColumn("Title", width="large"),
            "year": st.column_config.NumberColumn("Year", format="%d"),
            "intents": "Intents",
            "influential": st.column_config.CheckboxColumn("Influential"),
            "contexts": st.column_config.TextColumn("Citation contexts", width="large"),
            "in corpus": st.column_config.CheckboxColumn("In corpus"),
        },
    )


def graph_section(ex: Explorer, pid: str) -> None:
    depth = st.radio(
        "Neighbourhood",
        [1, 2],
        horizontal=True,
        key="depth",
        format_func=lambda d: f"{d} hop{'s' if d > 1 else ''}",
    )
    view = ego_view(ex, pid, depth=depth)
    st.caption(
        f"{view.shown} of {view.neighbours} papers within {depth} citation hop(s) "
        "(the most cited are kept). Colour: topic; ring: seed; the large dot is this paper. "
        "Click a paper to move to it, or pick one below."
    )
    key = f"ego_{pid}_{depth}"
    st.vega_lite_chart(
        spec=charts.ego_graph(view.nodes, view.edges),
        width="stretch",
        key=key,
        on_select=lambda: on_graph_select(key),
        selection_mode="node",
    )
    others = [n["paper_id"] for n in view.nodes if n["paper_id"] != pid]
    titles = {n["paper_id"]: n["title"] for n in view.nodes}
    st.selectbox(
        "Move to",
        others,
        index=None,
        format_func=lambda p: titles.get(p, p),
        key="move",
        on_change=on_pick,
        args=("move",),
        placeholder="Choose a paper in this neighbourhood…",
    )


def paper_section(ex: Explorer, pid: str) -> None:
    view = paper_view(ex, pid)
    p = view.paper
    st.divider()
    st.markdown(f"### {state.md(p.title)}")
    meta = [x for x in (authors_text(p, 8), str(p.year or ""), p.venue or p.journal) if x]
    st.markdown(state.md(" · ".join(meta)))
    badges = []
    if view.is_seed:
        badges.append("Seed" + (f" — {'; '.join(view.sections)}" if view.sections else ""))
    if p.citation_count is not None:
        badges.append(f"{p.citation_count:,} citations on Semantic Scholar")
    if badges:
        st.caption(state.md(" · ".join(badges)))
    if view.links:
        with st.container(horizontal=True):
            for label, url in view.links:
                st.link_button(label, url)
    if p.tldr:
        st.markdown("**TL;DR** " + state.md(p.tldr))
    st.markdown("**Abstract**")
    st.text(p.abstract or "No abstract available.")
    ids = {"S2": p.paper_id, **{k: str(v) for k, v in p.external_ids.items()}}
    st.caption("Ids: " + state.md(" · ".join(f"{k} {v}" for k, v in ids.items())))
    if view.topics:
        st.caption(
            "Topics: "
            + state.md(
                "; ".join(
                    f"{label} ({scheme}, {score:.2f})" for _, label, scheme, score in view.topics
                )
            )
        )
    add_to_list(p.paper_id)
    st.subheader("Citation graph")
    graph_section(ex, view.paper.paper_id)
    t_refs, t_cits = st.tabs(
        [f"References ({len(view.references)})", f"Cited by ({len(view.citations)})"]
    )
    with t_refs:
        linked_table(ex, view.references, "refs")
    with t_cits:
        linked_table(ex, view.citations, "cits")


def add_to_list(pid: str) -> None:
    lists = state.reading_lists()
    with state.shown_errors("Reading lists"):
        names = lists.names() or ["Reading list"]
        c1, c2 = st.columns([3, 1])
        name = c1.selectbox("Reading list", names, key="explore_list", label_visibility="collapsed")
        if c2.button("Add to reading list", key="explore_add"):
            added = lists.add(name, pid, create=True)
            warning = sync_lists_rdf(state.settings(), lists)
            st.toast(state.msg(f"Added to {name}" if added else f"Already on {name}"))
            if warning:
                st.caption(state.msg(warning))


def main() -> None:
    ex = state.explorer()
    wanted = st.query_params.get("paper")
    if wanted and st.session_state.get("_query_paper") != wanted:
        st.session_state["_query_paper"] = wanted
        open_paper(wanted)
    results_section(ex)
    pid = st.session_state.get(CURRENT)
    if pid:
        with state.shown_errors("Paper"):
            paper_section(ex, pid)
    else:
        st.info("Select a paper in the table (or pick one above) to see its details.")


state.run_page(main)
