"""Status: data freshness, the last ingest, what is unresolved; refresh when S2 is reachable."""

from __future__ import annotations

import streamlit as st

from app import state
from kg.views.status import status

state.page("Status", "🩺")


def main() -> None:
    s = state.settings()
    view = status(s)
    ready = view.readiness
    st.caption(state.md(f"Data directory: {s.data_dir}"))
    if view.error:
        st.error(state.msg(view.error))
    if view.writing:
        st.info(
            state.md(
                f"{view.writing} is writing the data directory now: what is shown may "
                f"change when it finishes (reload the page then)."
            )
        )
    if not ready.ok:
        state.not_ready(ready.message, ready.command)
    elif view.writing:
        pass  # not "up to date": the corpus or the graph is being changed
    elif view.stale:
        st.warning("An ingest finished after the last build: the app shows the older graph.")
        st.code("litkg build", language="bash")
    else:
        st.success("The built graph is up to date with the corpus.")

    if view.origin:
        st.info(state.msg(view.origin), icon="🗂️")
    c = view.corpus
    if c is not None:
        cols = st.columns(4)
        cols[0].metric("Papers", f"{c.papers:,}")
        cols[1].metric("Citation edges", f"{c.citations:,}")
        cols[2].metric("Seeds resolved", f"{c.seeds_resolved} / {c.seeds}")
        cols[3].metric("Unresolved", f"{c.seeds_unresolved + c.seeds_low_confidence}")
        st.markdown(
            f"- {c.papers_full:,} papers with full details, {c.papers_unresolved:,} local-only, "
            f"{c.with_abstract:,} with an abstract, {c.with_specter:,} with SPECTER vectors\n"
            f"- Last fetch from Semantic Scholar: {c.last_fetch or 'never'}"
        )
    m = view.manifest
    if m:
        st.markdown(
            f"- Graph built: {m.get('built_at', '?')} ({m.get('papers', '?')} papers, "
            f"{m.get('citations', '?')} citations, text model {m.get('embedder', '?')})"
        )
    if view.weights is not None:
        w = view.weights
        st.markdown(
            f"- Recommender weights: **{w.source}** ({state.md(w.why)}): "
            + ", ".join(f"{k} {v:.2f}" for k, v in w.weights.items() if v > 0)
        )

    run = (c.last_run if c is not None else None) or {}
    summary = run.get("summary") or {}
    if run:
        st.subheader("Last ingest")
        st.markdown(
            f"- Started {run.get('started_at')}, "
            f"finished {run.get('finished_at') or 'not finished'}"
        )
        if summary:
            st.markdown(
                f"- Sources: {state.md(', '.join(str(x) for x in summary.get('sources') or []))}\n"
                f"- Listed {summary.get('listed', 0)}, resolved {summary.get('resolved', 0)}; "
                f"+{summary.get('papers_added', 0)} papers, +{summary.get('edges_added', 0)} "
                f"edges; {summary.get('api_calls', 0)} API calls "
                f"({summary.get('cache_hits', 0)} cache hits, {summary.get('retries', 0)} retries)"
            )
    if view.unresolved or view.low_confidence:
        st.subheader("Not resolved")
        st.dataframe(
            [
                {
                    "status": r.status,
                    "title": r.title,
                    "source": r.source,
                    "section": " > ".join(r.section_path),
                    "reason": r.reason or "",
                    "url": r.url or "",
                }
                for r in [*view.unresolved, *view.low_confidence]
            ],
            hide_index=True,
            key="unresolved",
        )
    if view.provenance:
        with st.expander("Where the stored records came from"):
            st.dataframe(
                [
                    {"kind": k, "endpoint or source": e or "", "rows": n, "latest": t or ""}
                    for k, e, n, t in view.provenance
                ],
                hide_index=True,
            )

    st.subheader("Refresh")
    if state.api_reachable(s.s2_api_url):
        st.caption(
            f"Semantic Scholar answers at {s.s2_api_url}. A refresh ingests the last run's "
            "sources again (only new papers and edges are fetched), then rebuilds the graph."
        )
        sure = st.checkbox("Fetch from Semantic Scholar and rebuild now", key="confirm_refresh")
        if st.button("Refresh", key="refresh", disabled=not sure, type="primary"):
            with state.shown_errors("Refresh"), st.spinner("Ingesting and building…"):
                lines = state.refresh(s)
                st.success("Refreshed.")
                st.code("\n".join(lines))
    else:
        st.info(
            f"Semantic Scholar is not reachable at {s.s2_api_url}, so the data cannot be "
            "refreshed from here. When you are online, run:"
        )
        st.code("litkg ingest && litkg build", language="bash")


state.run_page(main)
