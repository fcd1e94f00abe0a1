"""SPARQL: read-only queries over the RDF graph, prefilled with the canned queries."""

from __future__ import annotations

import streamlit as st

from app import state
from kg.core.errors import SparqlSyntaxError
from kg.rdf.canned import canned_queries
from kg.views.sparql import SparqlAnswer, run_sparql

state.page("SPARQL", "🧮")

BLANK = "(write your own)"
STARTER = """PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX fabio: <http://purl.org/spar/fabio/>

SELECT ?paper ?title ?year WHERE {
  ?paper dcterms:title ?title ;
         fabio:hasPublicationYear ?year .
}
ORDER BY DESC(?year)
LIMIT 20
"""


def load_canned() -> None:
    name = st.session_state.get("canned")
    queries = canned_queries()
    st.session_state["query"] = queries[name].text if name in queries else STARTER
    st.session_state.pop("_sparql", None)


def main() -> None:
    s = state.require_ready()
    queries = canned_queries()
    names = [BLANK, *queries]
    if "query" not in st.session_state:
        first = "papers-per-topic-year" if "papers-per-topic-year" in queries else BLANK
        st.session_state["canned"] = first
        st.session_state["query"] = queries[first].text if first in queries else STARTER
    name = st.selectbox(
        "Canned query",
        names,
        key="canned",
        on_change=load_canned,
        format_func=lambda n: n if n == BLANK else f"{queries[n].title} ({n})",
    )
    canned = queries.get(name)
    if canned is not None and canned.description:
        st.caption(canned.description)
    st.text_area("Query (read-only: updates are refused)", key="query", height=320)
    params: dict[str, str] = {}
    if canned is not None and canned.params:
        cols = st.columns(len(canned.params))
        for col, p in zip(cols, canned.params, strict=True):
            params[p.name] = col.text_input(
                f"?{p.name} ({p.kind}{', required' if p.required else ''})",
                value=p.default or "",
                key=f"param_{p.name}",
                help=p.help or None,
            )
    st.caption(
        f"Limits: {s.sparql_timeout:g} s per query, at most {s.sparql_max_rows:,} rows "
        "(LITKG_SPARQL_TIMEOUT, LITKG_SPARQL_MAX_ROWS)."
    )
    if st.button("Run query", key="run", type="primary"):
        st.session_state.pop("_sparql", None)
        try:
            answer = run_sparql(s, st.session_state["query"], params=params, canned=canned)
        except SparqlSyntaxError as exc:
            where = f" at line {exc.line}, column {exc.column}" if exc.line else ""
            st.error(f"Syntax error{where}: the parser says")
            st.code(str(exc), language=None)
            return
        st.session_state["_sparql"] = answer
    stored = st.session_state.get("_sparql")
    if not isinstance(stored, SparqlAnswer):
        return
    answer = stored
    r = answer.result
    note = " (truncated at the row limit)" if r.truncated else ""
    st.success(f"{len(answer.rows):,} rows in {r.elapsed * 1000:.0f} ms{note}.")
    st.dataframe(answer.rows, hide_index=True, column_order=answer.columns, key="sparql_rows")
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download CSV",
        answer.csv,
        "query-results.csv",
        "text/csv",
        key="dl_csv",
        on_click="ignore",
    )
    c2.download_button(
        "Download JSON",
        answer.json,
        "query-results.json",
        "application/sparql-results+json",
        key="dl_json",
        on_click="ignore",
    )


state.run_page(main)
