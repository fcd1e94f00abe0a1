"""What's new: the papers `litkg watch` found citing your reading lists (the stored
results of the last runs); a watch runs from here when Semantic Scholar answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app import state
from kg.recommend.watch import WatchItem, WatchRun, WatchState, safe_link

if TYPE_CHECKING:
    from kg.core.settings import Settings

state.page("What's new", "🔔")

HOW = "litkg watch --list NAME --since 2025"


def show_item(n: int, item: WatchItem) -> None:
    when = item.publication_date or (str(item.year) if item.year else "n.d.")
    title = state.md(item.title)
    link = safe_link(item.url)
    if link:  # a parenthesis would end the Markdown link early
        link = link.replace("(", "%28").replace(")", "%29")
    st.markdown(f"**{n}. [{title}]({link})** ({when})" if link else f"**{n}. {title}** ({when})")
    who = ", ".join(item.authors[:4]) + (" et al." if len(item.authors) > 4 else "")
    st.caption(
        state.md(" · ".join(p for p in (who, item.venue or "", f"score {item.score:.3f}") if p))
    )
    for reason in item.reasons:
        st.markdown(f"- {state.md(reason)}")


def show_run(run: WatchRun) -> None:
    st.markdown(
        state.md(
            f"{len(run.items)} new paper{'s' if len(run.items) != 1 else ''} citing "
            f"{run.target} since {run.since} (checked {run.at.replace('T', ' ')[:16]} UTC, "
            f"{run.watched} watched papers)"
        )
    )
    for n, item in enumerate(run.items, 1):
        show_item(n, item)


def run_watch_here(s: Settings) -> None:
    """A form that runs a watch (needs the graph and S2)."""
    import kg
    from kg.views.search import query_embedder

    ex = state.explorer()
    names = ["(the seeds)", *state.reading_lists().names()]
    with st.form("watch_form"):
        c1, c2, c3 = st.columns(3)
        target = c1.selectbox("Watch", names, key="watch_list")
        since = c2.text_input("Since (year or date; empty: since the last run)", key="watch_since")
        min_cites = c3.number_input("Cites at least", 1, 20, 2, key="watch_min")
        go = st.form_submit_button("Check for new papers", type="primary")
    if go:
        with state.shown_errors("Watch"), st.spinner("Asking Semantic Scholar…"):
            lib = kg.open(settings=s, graph=ex.kg, embedder=query_embedder(s, ex.kg))
            report = lib.watch(
                list_name=None if target == names[0] else target,
                since=since.strip() or None,
                min_cites=int(min_cites),
            )
            st.success(state.md(report.lines()[0]))


def main() -> None:
    s = state.settings()
    watch_state = WatchState.load(s)
    if state.api_reachable(s.s2_api_url):
        st.caption(
            f"Semantic Scholar answers at {s.s2_api_url}: check for new papers citing a list."
        )
        run_watch_here(s)
        watch_state = WatchState.load(s)
    else:
        st.info(
            f"Offline: Semantic Scholar is not reachable at {s.s2_api_url}, so this page shows "
            "the stored results. To check for new papers citing a reading list, run in a "
            "terminal (add `--atom feed.xml` for a feed reader):"
        )
        st.code(HOW, language="bash")
    runs = [r for r in watch_state.runs if r.items]
    if not runs:
        st.info(
            "No alerts yet: `litkg watch` has not found new papers citing your lists. "
            "Each run lists only papers no earlier run showed."
        )
        return
    st.subheader("Latest alerts")
    show_run(runs[0])
    if len(runs) > 1:
        with st.expander(f"Earlier runs ({len(runs) - 1})"):
            for run in runs[1:]:
                show_run(run)


state.run_page(main)
