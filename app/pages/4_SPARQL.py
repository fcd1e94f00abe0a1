"""SPARQL: read-only queries over the RDF graph in a SPARQL editor (plain text box as a
fallback, :mod:`app.sparql_editor`), the canned queries as examples, results as a table
with CSV and JSON downloads."""

from __future__ import annotations

import streamlit as st

from app import sparql_editor, state
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
    sparql_editor.set_text(queries[name].text if name in queries else STARTER)
    st.session_state.pop("_sparql", None)


def main() -> None:
    s = state.require_ready()
    queries = canned_queries()
    names = [BLANK, *queries]
    if sparql_editor.TEXT not in st.session_state:
        first = "papers-per-topic-year" if "papers-per-topic-year" in queries else BLANK
        st.session_state["canned"] = first
        sparql_editor.set_text(queries[first].text if first in queries else STARTER)
    name = st.selectbox(
        "Example query",
        names,
        key="canned",
        on_change=load_canned,
        format_func=lambda n: n if n == BLANK else f"{queries[n].title} ({n})",
    )
    canned = queries.get(name)
    if canned is not None and canned.description:
        st.caption(canned.description)
    submitted = sparql_editor.query_box("Query (read-only: updates are refused)")
    with st.expander("Prefixes of the graph (usable without a PREFIX line)"):
        st.code(sparql_editor.prefix_lines(), language="sparql")
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
    if st.button("Run query", key="run", type="primary") or submitted:
        st.session_state.pop("_sparql", None)
        try:
            answer = run_sparql(s, sparql_editor.text(), params=params, canned=canned)
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
