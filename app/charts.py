"""Vega-Lite specs of the app's charts, written as plain dicts for ``st.vega_lite_chart``.

Plain specs, not Altair: building and validating an Altair chart costs tens of
milliseconds on every rerun, and the citation graph is redrawn on every click of the
Explore page. Data go in as DataFrames under ``datasets`` (Streamlit sends them as
Arrow). Vega renders titles as SVG text and its tooltips escape HTML, so third-party
titles stay text.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

Spec = dict[str, Any]

EGO_COLUMNS = ["source", "target", "x", "y", "x2", "y2"]


def _frame(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if columns else pd.DataFrame(rows)


def _tip(field: str, title: str, kind: str = "nominal") -> dict[str, str]:
    return {"field": field, "type": kind, "title": title}


def topic_map(points: list[dict[str, Any]]) -> Spec:
    """Papers at their 2-D projection, coloured by topic, sized by citations; zoomable."""
    return {
        "height": 520,
        "datasets": {"points": _frame(points)},
        "data": {"name": "points"},
        "mark": {"type": "circle", "opacity": 0.75},
        "params": [{"name": "zoom", "select": "interval", "bind": "scales"}],
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "axis": None},
            "y": {"field": "y", "type": "quantitative", "axis": None},
            "color": {"field": "topic", "type": "nominal", "title": "Topic"},
            "size": {
                "field": "citations",
                "type": "quantitative",
                "scale": {"type": "sqrt", "range": [12, 260]},
                "legend": None,
            },
            "tooltip": [
                _tip("title", "Title"),
                _tip("year", "Year", "ordinal"),
                _tip("topic", "Topic"),
                _tip("citations", "Citations", "quantitative"),
            ],
        },
    }


def per_year(rows: list[dict[str, Any]]) -> Spec:
    """Stacked bars: papers per year by topic."""
    return {
        "height": 320,
        "datasets": {"rows": _frame(rows)},
        "data": {"name": "rows"},
        "mark": "bar",
        "encoding": {
            "x": {"field": "year", "type": "ordinal", "title": "Year"},
            "y": {"field": "papers", "type": "quantitative", "title": "Papers", "stack": "zero"},
            "color": {"field": "topic", "type": "nominal", "title": "Topic"},
            "tooltip": [
                _tip("year", "Year", "ordinal"),
                _tip("topic", "Topic"),
                _tip("papers", "Papers", "quantitative"),
            ],
        },
    }


def ego_graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Spec:
    """A node-link drawing of a citation neighbourhood; clicking a paper selects it
    (selection ``node``, field ``paper_id``)."""
    axis: dict[str, Any] = {"axis": None, "scale": {"domain": [-1.1, 1.1]}}
    x = {"field": "x", "type": "quantitative", **axis}
    y = {"field": "y", "type": "quantitative", **axis}
    return {
        "height": 520,
        "datasets": {"nodes": _frame(nodes), "edges": _frame(edges, EGO_COLUMNS)},
        "layer": [
            {
                "data": {"name": "edges"},
                "mark": {"type": "rule", "color": "#888", "opacity": 0.3},
                "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"}},
            },
            {
                "data": {"name": "nodes"},
                "mark": {"type": "circle", "stroke": "#222", "opacity": 0.9, "cursor": "pointer"},
                "params": [
                    {
                        "name": "node",
                        "select": {"type": "point", "fields": ["paper_id"], "on": "click"},
                    }
                ],
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "topic",
                        "type": "nominal",
                        "title": "Topic",
                        "legend": {"orient": "bottom", "columns": 3, "labelLimit": 260},
                    },
                    "size": {"condition": {"test": "datum.centre", "value": 700}, "value": 220},
                    "strokeWidth": {"condition": {"test": "datum.seed", "value": 2.5}, "value": 0},
                    "tooltip": [
                        _tip("title", "Title"),
                        _tip("year", "Year", "ordinal"),
                        _tip("topic", "Topic"),
                        _tip("hops", "Hops", "ordinal"),
                        _tip("citations", "Citations", "quantitative"),
                    ],
                },
            },
        ],
    }


def growth(rows: list[dict[str, Any]]) -> Spec:
    """Papers per year (bars) and so far (line, right axis)."""
    x = {"field": "year", "type": "ordinal", "title": "Year"}
    return {
        "height": 260,
        "datasets": {"rows": _frame(rows)},
        "data": {"name": "rows"},
        "layer": [
            {
                "mark": {"type": "bar", "opacity": 0.7},
                "encoding": {
                    "x": x,
                    "y": {"field": "papers", "type": "quantitative", "title": "Papers that year"},
                    "tooltip": [
                        _tip("year", "Year", "ordinal"),
                        _tip("papers", "That year", "quantitative"),
                        _tip("total", "So far", "quantitative"),
                    ],
                },
            },
            {
                "mark": {"type": "line", "color": "#d62728", "point": True},
                "encoding": {
                    "x": x,
                    "y": {"field": "total", "type": "quantitative", "title": "Papers so far"},
                },
            },
        ],
        "resolve": {"scale": {"y": "independent"}},
    }
