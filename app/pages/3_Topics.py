"""Topics: the curated and discovered topic trees, key papers, keywords, growth."""

from __future__ import annotations

import streamlit as st

from app import charts, state
from kg.views.topics import TopicNode, topic_detail, topic_tree

state.page("Topics", "🌳")

SCHEMES = {
    "curated": "Curated (the seed list's sections)",
    "discovered": "Discovered (clusters of the text embeddings)",
    "s2-fields": "Semantic Scholar fields of study",
}


def flatten(nodes: list[TopicNode], depth: int = 0) -> list[tuple[TopicNode, int]]:
    out = []
    for n in nodes:
        out.append((n, depth))
        out += flatten(list(n.children), depth + 1)
    return out


def main() -> None:
    ex = state.explorer()
    if not ex.schemes:
        st.info("The graph has no topics yet: run `litkg build`.")
        return
    scheme = st.radio(
        "Scheme",
        ex.schemes,
        format_func=lambda s: SCHEMES.get(s, s),
        key="scheme",
        horizontal=True,
    )
    tree = topic_tree(ex, scheme)
    flat = flatten(tree)
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Topic tree")
        st.dataframe(
            [
                {
                    "topic": ("    " * depth) + ("└ " if depth else "") + node.label,
                    "papers": node.size,
                    "keywords": ", ".join(node.keywords[:6]),
                }
                for node, depth in flat
            ],
            hide_index=True,
            height=min(640, 38 + 35 * len(flat)),
            column_config={
                "topic": st.column_config.TextColumn("Topic", width="medium"),
                "papers": "Papers",
                "keywords": "Keywords",
            },
        )
    labels = {node.topic_id: ("· " * depth) + node.label for node, depth in flat}
    with right:
        topic_id = st.selectbox("Topic", list(labels), format_func=labels.__getitem__, key="topic")
        if topic_id is None:
            return
        d = topic_detail(ex, topic_id)
        st.subheader(state.md(d.topic.label))
        facts = [f"{d.size:,} papers", d.scheme]
        if d.broader:
            facts.append(f"under {d.broader[1]}")
        st.caption(state.md(" · ".join(facts)))
        if d.keywords:
            st.markdown("**Keywords:** " + state.md(", ".join(w for w, _ in d.keywords[:12])))
        if d.narrower:
            st.markdown(
                "**Narrower:** " + state.md("; ".join(f"{lab} ({n})" for _, lab, n in d.narrower))
            )
        if d.related:
            st.markdown(
                "**Related topics:** "
                + state.md(
                    "; ".join(f"{lab} ({s}, {share:.0%})" for _, lab, s, share in d.related[:8])
                )
            )
        if d.per_year:
            st.markdown("**How it grew**")
            st.vega_lite_chart(spec=charts.growth(d.per_year), width="stretch")
        st.markdown("**Key papers**")
        st.dataframe(
            d.key_papers,
            hide_index=True,
            column_order=["title", "authors", "year", "citations", "membership"],
            column_config={
                "title": st.column_config.TextColumn("Title", width="large"),
                "authors": "Authors",
                "year": st.column_config.NumberColumn("Year", format="%d"),
                "citations": "Citations",
                "membership": st.column_config.NumberColumn("Membership", format="%.2f"),
            },
        )


state.run_page(main)
