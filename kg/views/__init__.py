"""What the app's screens show, as library calls: one module per screen, one function per
screen (or action).

The app (``app/Home.py``, ``app/pages/*``) reads its widgets, calls one function, and
renders what comes back; the same calls work from Python or a notebook.

* :mod:`kg.views.explorer`: :class:`Explorer`, the built graph loaded once with the
  per-paper data every screen shares (the recommender's index), and one paper's links.
* :mod:`kg.views.status`: :func:`readiness` (is there a corpus and a built graph? if not,
  the command to run) and :func:`status` (freshness, the last ingest, what was left
  unresolved).
* :mod:`kg.views.overview`: counts, the topic map, papers per year by topic.
* :mod:`kg.views.search`: full-text search (SQLite FTS5, :mod:`kg.store.search`) and
  semantic search (:func:`query_embedder`), with filters.
* :mod:`kg.views.paper`: one paper with its topics, links, references and citations, and
  its citation neighbourhood laid out for drawing (:func:`ego_view`).
* :mod:`kg.views.read_next`: recommendations as rows, and the seed page's first picks.
* :mod:`kg.views.topics`: the schemes' hierarchies and one topic's detail.
* :mod:`kg.views.sparql`: a read-only query with the CLI's limits.
* :mod:`kg.views.lists`: reading lists with paper details, export, import, path order.

Callers import from the screen's module (``from kg.views.search import search``): the
package re-exports nothing, since several modules share their name with their main
call (``search``, ``status``, ``overview``, ``read_next``).

Nothing here renders: titles and abstracts are third-party text and are returned as plain
strings for the caller to show as text. Links are only ever ``http(s)`` URLs.
"""
