"""Overview: what is in the graph, a topic map, papers per year by topic."""

from __future__ import annotations

import streamlit as st

from app import charts, state
from kg.views.overview import overview
from kg.views.status import data_origin

state.page("Overview", "🗺️")


def main() -> None:
    ex = state.explorer()
    scheme = st.selectbox(
        "Colour by topics of",
        ex.schemes,
        index=ex.schemes.index("discovered") if "discovered" in ex.schemes else 0,
        key="scheme",
    )
    ov = overview(ex, scheme=scheme)
    if origin := data_origin(state.settings()):
        st.info(state.msg(origin), icon="🗂️")

    cols = st.columns(5)
    cols[0].metric("Papers", f"{ov.papers:,}")
    cols[1].metric("Citations", f"{ov.citations:,}")
    cols[2].metric("Seeds", f"{ov.seeds:,}")
    cols[3].metric("Topics", f"{sum(ov.topics.values()):,}")
    span = f"{ov.year_min}–{ov.year_max}" if ov.year_min is not None else "—"
    cols[4].metric("Years", span)
    st.caption(
        "Topics: "
        + ", ".join(f"{n} {s}" for s, n in ov.topics.items())
        + f" · {ov.with_abstract:,} papers with an abstract"
        + f" · built {ov.built_at or 'never'} from the ingest of {ov.last_ingest or 'unknown'}"
        + f" · text model {ov.embedder or 'unknown'}"
    )

    st.subheader("Topic map")
    shown = len(ov.map_points)
    st.caption(
        f"Each dot is a paper, placed by its text embedding (2-D PCA), coloured by topic. "
        f"Showing {shown:,} of {ov.map_total:,} papers (seeds and the most cited first). "
        "Hover for the title; scroll to zoom."
    )
    if ov.map_points:
        st.vega_lite_chart(spec=charts.topic_map(ov.map_points), width="stretch")

    st.subheader("Papers per year by topic")
    if ov.per_year:
        st.vega_lite_chart(spec=charts.per_year(ov.per_year), width="stretch")
    else:
        st.info("No paper in the graph has a publication year.")


state.run_page(main)
