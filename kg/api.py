"""litkg's Python API: one object for one data dir, from :func:`kg.open`.

::

    import kg

    lib = kg.open("data")                 # or kg.open(): $LITKG_DATA_DIR, else ./data
    lib.ingest(["seeds.txt"])             # sources -> Semantic Scholar -> corpus store
    lib.build()                           # embeddings, topics, RDF, graph artefacts
    for item in lib.recommend(["ARXIV:2209.11895"], k=5):
        print(item.paper.title, item.score, item.reasons)

:class:`Litkg` is the top of the house: it is the one module of ``kg`` that may call
``ingest`` (data flows sources -> ingest -> store -> build -> readers; the API spans
them all, as the CLI, the app pages and the MCP server do). Everything it returns is
a frozen dataclass or a litkg model object (:class:`~kg.core.model.Paper`); every
error it raises is a :class:`~kg.core.errors.LitkgError` whose message names the fix.

The built graph is loaded once, on first use, and dropped after :meth:`Litkg.ingest`
and :meth:`Litkg.build` so the next reader sees the new build. The seams are
injectable: ``settings``, the ``embedder`` the build and semantic search use, and the
Semantic Scholar client ``ingest`` uses (``s2``: anything with the
:class:`ingest.s2.S2Client` interface, e.g. one on a local transport in tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.crawl import CrawlPolicy
from ingest.pipeline import run_ingest
from ingest.s2 import S2Client
from ingest.watch import fetch_citing
from kg.build import build, save_weights, weights_status
from kg.core.alerts import DEFAULT_MIN_CITES, default_since, parse_since
from kg.core.errors import ConfigError, ReadingListError, UnknownPaperError, WatchError
from kg.core.fileio import lock_holder, writer_lock
from kg.core.ids import canonical_ids
from kg.core.model import Paper, is_s2_paper_id
from kg.core.settings import Settings
from kg.formats.registry import export, format_for
from kg.formats.snapshot import ExportReport, ImportReport
from kg.graph.knowledge import MANIFEST, KnowledgeGraph
from kg.portable.archive import export_snapshot, import_snapshot
from kg.portable.starter import STARTER_SNAPSHOT, StarterOutcome, import_starter
from kg.rdf.canned import CannedQuery, find_canned
from kg.rdf.guard import check_service
from kg.recommend.evaluate import EvaluationReport, evaluate_holdout, evaluate_lists
from kg.recommend.index import RecommendIndex
from kg.recommend.protocols import SPLITS
from kg.recommend.rank import DEFAULT_DIVERSITY, Recommender
from kg.recommend.tuning import TuneOutcome, auto_tune
from kg.recommend.watch import WatchItem, WatchRun, WatchState, new_run_stamp, rank_new
from kg.store.corpus import CorpusStore
from kg.store.readinglists import ReadingLists
from kg.views.explorer import Explorer
from kg.views.search import query_embedder, search
from kg.views.sparql import run_sparql

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary
    from kg.build import BuildReport, WeightsStatus
    from kg.recommend.fusion import Filters
    from kg.recommend.path import PathStep
    from kg.store.corpus import CorpusStatus
    from kg.text.embed import Embedder
    from kg.views.sparql import SparqlAnswer

__all__ = [
    "SEEDS",
    "Exported",
    "Litkg",
    "Recommendations",
    "Recommended",
    "SearchHit",
    "Status",
    "WatchReport",
    "open_library",
    "run_watch",
    "watched_papers",
]


@dataclass(frozen=True)
class Recommended:
    """One paper to read next: the paper, its fused score, the reasons an expert would
    give (citation evidence first), and the scaled value (0..1) of every signal."""

    paper: Paper
    score: float
    reasons: tuple[str, ...]
    signals: Mapping[str, float]

    @property
    def paper_id(self) -> str:
        return self.paper.paper_id


@dataclass(frozen=True)
class Recommendations(Sequence[Recommended]):
    """:meth:`Litkg.recommend`'s answer: the items in rank order (it is a sequence of
    them), the read set as resolved, how many candidates passed the filters, the
    weights used, the wall time, and how far the graph statistics were trusted for this
    read set (``graph_trust``, 0..1: below 1, few papers of the graph cite the read papers
    together with others, and the default weights leaned on content instead)."""

    items: tuple[Recommended, ...]
    read: tuple[str, ...]
    disliked: tuple[str, ...]
    candidates: int
    weights: Mapping[str, float]
    seconds: float
    graph_trust: float = 1.0

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: Any) -> Any:
        return self.items[i]


@dataclass(frozen=True)
class SearchHit:
    paper: Paper
    #: The match score (title hits and the whole phrase count most); 0 for an empty query.
    score: float


@dataclass(frozen=True)
class Exported:
    """:meth:`Litkg.export`'s answer: the text in ``format``, the papers it holds, and
    the list members the corpus no longer holds (left out)."""

    text: str
    format: str
    papers: tuple[Paper, ...]
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status:
    """What is in the data dir: the corpus counts, seeds per source, whether a graph is
    built, the fusion weights in force (and why), and the command writing now if any."""

    data_dir: Path
    corpus: CorpusStatus
    seed_sources: Mapping[str, int]
    built: bool
    weights: WeightsStatus
    writing: str | None


class Litkg:
    """One litkg data dir: ingest, build, recommend, search, paper, sparql, export and
    reading lists. Make it with :func:`kg.open`."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        s2: S2Client | None = None,
        graph: KnowledgeGraph | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._s2 = s2
        self._graph: KnowledgeGraph | None = graph
        self._recommender: Recommender | None = None
        self._explorer: Explorer | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<litkg data dir {str(self.settings.data_dir)!r}>"

    # ------------------------------------------------------------------ writing
    def ingest(
        self,
        sources: Iterable[str | Path] = (),
        *,
        depth: int = 1,
        max_references: int = 100,
        max_citations: int = 100,
        budget: int = 20_000,
        close: bool = True,
        cocited_min: int = 3,
        cocited_max: int = 300,
        offline: bool = False,
        fallback_offline: bool = False,
        refresh_older_than: float | None = None,
        progress: bool = False,
        echo: Callable[[str], None] | None = None,
    ) -> IngestSummary:
        """Resolve the papers of ``sources`` (seed pages, BibTeX/Zotero exports, id
        lists; none: the bundled seed page) on Semantic Scholar and fetch their citation
        neighbourhood into the corpus store, as ``litkg ingest`` does. Resumable: what
        was fetched before comes from the response cache (``refresh_older_than``:
        seconds after which a cached answer is fetched again)."""

        policy = CrawlPolicy(
            depth=depth,
            max_references=max_references,
            max_citations=max_citations,
            paper_budget=budget,
            close=close,
            cocited_min=cocited_min,
            cocited_max=cocited_max,
        )
        client = self._s2
        own = client is None and not offline
        # The lock is taken before the S2 cache is opened (run_ingest takes it again).
        with writer_lock(self.settings.data_dir, "ingest"):
            if own:
                client = S2Client(self.settings, refresh_older_than=refresh_older_than)
            try:
                summary = run_ingest(
                    [Path(s) for s in sources] or None,
                    settings=self.settings,
                    client=client,
                    policy=policy,
                    offline=offline,
                    fallback_offline=fallback_offline,
                    progress=progress,
                    echo=echo,
                )
            finally:
                if own and client is not None:
                    client.close()
        self._forget()
        return summary

    def build(
        self,
        *,
        rdf: bool = True,
        tune: bool = True,
        rebuild: bool = False,
        progress: bool = False,
        echo: Callable[[str], None] | None = None,
    ) -> BuildReport:
        """Build the graph from the corpus (embeddings, topics, RDF, graph artefacts, the
        fitted weights), as ``litkg build`` does; only new work is done."""

        report = build(
            self.settings,
            embedder=self._embedder,
            progress=progress,
            rdf=rdf,
            rebuild=rebuild,
            tune=tune,
            echo=echo,
        )
        self._forget()
        return report

    # ------------------------------------------------------------------ reading
    @property
    def graph(self) -> KnowledgeGraph:
        """The built graph (loaded on first use; a :class:`~kg.core.errors.BuildError`
        says to run ``build`` when there is none)."""

        with self._lock:
            if self._graph is None:
                self._graph = KnowledgeGraph.load(self.settings)
            return self._graph

    @property
    def recommender(self) -> Recommender:
        """The recommender fitted once on the graph (index and weights), shared by
        :meth:`recommend`, :meth:`reading_path` and the views."""
        graph = self.graph
        with self._lock:
            if self._recommender is None or self._recommender.kg is not graph:
                self._recommender = Recommender.fit(graph)
            return self._recommender

    def resolve(self, refs: Iterable[str], *, what: str = "paper") -> list[str]:
        """The graph's ids of ``refs`` (any form :meth:`paper` takes; twins and repeats
        once, in order); every unknown or ambiguous one is named in one
        :class:`~kg.core.errors.UnknownPaperError`, with suggestions."""
        index = RecommendIndex.of(self.graph)
        return [index.ids[j] for j in index.resolve(refs, what=what)]

    def paper(self, ref: str) -> Paper:
        """The paper ``ref`` names: an S2 id, ``ARXIV:<id>``, ``DOI:<doi>``, a URL of
        either, or an unambiguous title prefix."""

        index = RecommendIndex.of(self.graph)
        (j,) = index.resolve([ref])
        paper = index.paper[j]
        if paper is None:  # a node the citations name but whose record is not stored
            raise UnknownPaperError(f"{ref!r} is cited in the graph but has no record yet.")
        return paper

    def recommend(
        self,
        read: Iterable[str],
        *,
        k: int = 10,
        disliked: Iterable[str] = (),
        filters: Filters | None = None,
        weights: Mapping[str, float] | None = None,
        diversity: float | None = None,
        external: Mapping[str, float] | None = None,
    ) -> Recommendations:
        """What to read after ``read`` (ids or references as :meth:`paper` takes them),
        with reasons and per-signal scores, as ``litkg recommend`` ranks them."""

        rec = self.recommender if weights is None else Recommender(self.graph, weights)
        result = rec.recommend(
            list(read),
            disliked=list(disliked),
            filters=filters,
            k=k,
            diversity=DEFAULT_DIVERSITY if diversity is None else diversity,
            external=external,
        )
        items = tuple(
            Recommended(
                paper=self.paper_or_stub(r.paper_id),
                score=r.score,
                reasons=tuple(r.reasons),
                signals=dict(result.signals.get(r.paper_id, {})),
            )
            for r in result.recommendations
        )
        return Recommendations(
            items,
            tuple(result.read),
            tuple(result.disliked),
            result.candidates,
            dict(result.weights),
            result.seconds,
            result.graph_trust,
        )

    def reading_path(self, papers: Iterable[str]) -> list[PathStep]:
        """``papers`` in reading order: what a paper builds on comes first."""

        return self.recommender.reading_path(self.resolve(papers))

    def search(self, query: str, *, limit: int = 20, field: str = "all") -> list[SearchHit]:
        """Papers matching ``query`` (every word must occur; ``field``: ``all``,
        ``title``, ``author``, ``text``, or ``semantic`` for embedding similarity)."""

        ex = self.explorer
        embedder = None
        if field == "semantic":
            embedder = self._embedder or query_embedder(self.settings, self.graph)
        found = search(ex, query, field=field, limit=limit, embedder=embedder)
        return [
            SearchHit(self.paper(str(row["paper_id"])), float(row.get("score", 0.0)))
            for row in found.rows
        ]

    def sparql(
        self,
        query: str,
        params: Mapping[str, str] | None = None,
        *,
        canned: CannedQuery | None = None,
        timeout: float | None = None,
        max_rows: int | None = None,
    ) -> SparqlAnswer:
        """A read-only SPARQL query with the configured time and row limits
        (``LITKG_SPARQL_TIMEOUT``, ``LITKG_SPARQL_MAX_ROWS``; ``timeout`` and ``max_rows``
        override them, 0 meaning none); ``params`` are bound as single RDF terms, never
        spliced into the text (typed by ``canned``'s declarations when the query is a
        canned one). A canned query (``litkg sparql --list``) may be named instead of
        written. SERVICE is refused before the store is opened, unless allowed."""
        if canned is None and "\n" not in query and " " not in query:
            canned = find_canned(query)
            if canned is not None:
                query = canned.text
        settings = self.settings
        if timeout is not None:
            settings = replace(settings, sparql_timeout=timeout)
        if max_rows is not None:
            settings = replace(settings, sparql_max_rows=max_rows)
        check_service(query, settings.sparql_allow_service)
        return run_sparql(settings, query, params=params, canned=canned)

    def evaluate(
        self,
        *,
        protocol: str = "lists",
        split: str = "random",
        queries: int = 200,
        min_refs: int = 8,
        tune: bool = False,
    ) -> EvaluationReport:
        """Every signal, the fused recommender and baselines side by side: on the graph's
        curated lists (``lists``: seed-page sections, keywords, the user's reading lists)
        or a citation hold-out (``holdout``, a diagnostic; ``tune`` fits weights on it
        first). Weights fitted here are stored with the graph."""
        if protocol not in ("lists", "holdout"):
            raise ConfigError(f"protocol must be lists or holdout, not {protocol!r}")
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
        if protocol == "lists":
            report = evaluate_lists(self.graph, self._reading())
        else:
            report = evaluate_holdout(
                self.graph, queries=queries, min_refs=min_refs, tune=tune, split=split
            )
        if report.tuned is not None:
            save_weights(self.settings, dict(report.tuned))
            self._recommender = None
        return report

    def tune(self, echo: Callable[[str], None] | None = None) -> TuneOutcome | None:
        """Fit the fusion weights as ``litkg build`` does (curated lists, adopted only
        beyond the noise) and store them when they are adopted; ``None``: the defaults
        stay (``echo`` hears why)."""
        outcome = auto_tune(self.graph, lists=self._reading(), echo=echo)
        if outcome is not None:
            save_weights(self.settings, outcome.weights)
            self._recommender = None
        return outcome

    def _reading(self) -> dict[str, list[str]]:
        return self.lists.paper_ids_by_name()

    def stored_id(self, ref: str) -> str:
        """The corpus id of ``ref`` (a paper id, ``local:`` id, or any identifier
        :func:`kg.core.ids.canonical_ids` reads: DOI, arXiv, CorpusId, their URLs and
        bare forms), from the corpus store: no build needed."""
        return self.stored_ids([ref])[0]

    def stored_ids(self, refs: Iterable[str]) -> list[str]:
        """:meth:`stored_id` of each of ``refs``, in order, with one open store."""
        with CorpusStore(self.settings.corpus_path, create=False) as store:
            return [_stored_id(store, ref) for ref in refs]

    def export(
        self,
        papers: Iterable[str | Paper] | str,
        fmt: str = "bibtex",
        *,
        reasons: Mapping[str, str | Sequence[str]] | None = None,
    ) -> Exported:
        """Papers (ids or references as :meth:`stored_id` takes them, or :class:`Paper`
        objects) or the name of a reading list, as BibTeX, RIS, CSL-JSON, Markdown or CSV
        text, read from the corpus store (no build needed). A list's notes go with it;
        list members the corpus no longer holds are left out and named in ``missing``."""
        key = format_for(fmt)
        notes: dict[str, str] = {}
        title: str | None = None
        if isinstance(papers, str):
            lst = self.lists.get(papers)
            title, notes = lst.name, dict(lst.notes)
            wanted: list[str | Paper] = list(lst.paper_ids)
        else:
            wanted = list(papers)
        chosen: list[Paper] = []
        missing: list[str] = []
        with CorpusStore(self.settings.corpus_path, create=False) as store:
            if not isinstance(papers, str):
                wanted = [p if isinstance(p, Paper) else _stored_id(store, p) for p in wanted]
            for item in wanted:
                paper = item if isinstance(item, Paper) else store.get_paper(item)
                if paper is None:
                    missing.append(str(item))
                else:
                    chosen.append(paper)
        text = export(chosen, key, notes=notes, reasons=reasons, title=title)
        return Exported(text, key, tuple(chosen), tuple(missing))

    def export_snapshot(self, path: str | Path, *, list_name: str | None = None) -> ExportReport:
        """Write the corpus (or one reading list and its neighbourhood) as a portable
        snapshot: a folder, or a ``.tar``/``.tar.gz`` file (docs/snapshot-format.md)."""
        return export_snapshot(self.settings, Path(path), list_name=list_name)

    def import_snapshot(self, source: str | Path) -> ImportReport:
        """Check a snapshot (format, checksums) and merge it into the corpus; a second
        import of the same snapshot changes nothing. ``source``: a folder, an archive or
        an https:// URL."""
        with writer_lock(self.settings.data_dir, "snapshot import"):
            report = import_snapshot(self.settings, str(source))
        self._forget()
        return report

    def import_starter(self, source: str | Path | None = None) -> StarterOutcome:
        """The bundled starter snapshot, into a corpus holding nothing the user built
        (never over one); ``.message`` says what was done."""
        report = import_starter(self.settings, Path(source) if source else STARTER_SNAPSHOT)
        self._forget()
        return report

    @property
    def lists(self) -> ReadingLists:
        """The user's reading lists (``reading-lists.json`` in the data dir)."""

        return ReadingLists.open(self.settings)

    def status(self) -> Status:
        """Counts of the corpus and the weights the recommender uses now, and why (a
        :class:`~kg.store.corpus.CorpusError` says to ingest when there is no corpus)."""
        with CorpusStore(self.settings.corpus_path, create=False) as store:
            corpus = store.status()
            sources: dict[str, int] = {}
            for seed in store.seeds():
                sources[seed.source] = sources.get(seed.source, 0) + 1
        return Status(
            self.settings.data_dir,
            corpus,
            sources,
            (self.settings.graph_dir / MANIFEST).exists(),
            weights_status(self.settings),
            lock_holder(self.settings.data_dir),
        )

    def watch(
        self,
        *,
        list_name: str | None = None,
        since: str | None = None,
        min_cites: int = DEFAULT_MIN_CITES,
        k: int = 50,
        include_shown: bool = False,
    ) -> WatchReport:
        """``litkg watch``: papers published since the last run (or ``since``) citing at
        least ``min_cites`` papers of the reading list ``list_name`` (or of the seeds),
        ranked with reasons; what was shown before is left out, what is shown now is
        remembered (see :func:`run_watch`)."""
        # The lock is taken before the S2 cache is opened, as in :meth:`ingest`.
        with writer_lock(self.settings.data_dir, "watch"):
            client = self._s2 or S2Client(self.settings)
            try:
                return run_watch(
                    self.settings,
                    self.graph,
                    client,
                    list_name=list_name,
                    since=since,
                    min_cites=min_cites,
                    k=k,
                    include_shown=include_shown,
                    embedder=self._embedder,
                )
            finally:
                if self._s2 is None:
                    client.close()

    # ------------------------------------------------------------------ helpers
    def _forget(self) -> None:
        with self._lock:
            if self._explorer is not None:
                self._explorer.close()
            self._graph = None
            self._recommender = None
            self._explorer = None

    @property
    def explorer(self) -> Explorer:
        """The views' shared object over the graph (what the app's screens read)."""
        kg = self.graph
        with self._lock:
            if self._explorer is None:
                self._explorer = Explorer(kg, self.settings)
            return self._explorer

    def paper_or_stub(self, paper_id: str) -> Paper:
        """The graph's record of ``paper_id`` (a graph id, twins folded), or a stand-in
        titled with the id when the graph has none."""
        index = self.recommender.index
        j = index.pos.get(index.canon(paper_id))
        paper = index.paper[j] if j is not None else None
        return paper if paper is not None else Paper(paper_id=paper_id, title=paper_id)


def _stored_id(store: CorpusStore, ref: str) -> str:
    ref = ref.strip()
    if store.get_paper(ref) is not None:
        return ref
    for alias in canonical_ids(ref):
        if hit := store.lookup(alias):
            return str(hit)
    raise ReadingListError(
        f"{ref} is not in the corpus; pass a paper id (40 hex), DOI:..., ARXIV:... or "
        "CorpusId:..., and run `litkg ingest` first if the paper is new"
    )


def open_library(
    data_dir: str | Path | None = None,
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    s2: S2Client | None = None,
    graph: KnowledgeGraph | None = None,
) -> Litkg:
    """:func:`kg.open`: the data dir ``data_dir`` (default ``$LITKG_DATA_DIR``, else
    ``./data``), with settings from the environment unless ``settings`` is given;
    ``graph``: an already loaded (or in-memory) graph to read instead of the build's."""
    if settings is None:
        settings = Settings.from_env()
    if data_dir is not None:
        settings = replace(settings, data_dir=Path(data_dir))
    return Litkg(settings, embedder=embedder, s2=s2, graph=graph)


# --------------------------------------------------------------------------- alerts
#: The target name of a watch over the seeds (any listed source).
SEEDS = "seeds"


@dataclass(frozen=True)
class WatchReport:
    """One ``litkg watch``: the run as stored (its items are the new ones, ranked),
    how many papers qualified but were shown before, and the S2 papers it did not find."""

    run: WatchRun
    already_shown: int
    not_found: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        data = self.run.as_dict()
        data["already_shown"] = self.already_shown
        data["not_found"] = list(self.not_found)
        data["notes"] = list(self.notes)
        return data

    def lines(self) -> list[str]:
        run = self.run
        new = run.found - self.already_shown
        listed = f"{len(run.items)} of {new}" if new > len(run.items) else f"{len(run.items)}"
        out = [
            f"{listed} new paper{'s' if new != 1 else ''} citing "
            f"{run.target} ({run.watched} watched papers) since {run.since}"
            + (f"; {self.already_shown} shown before" if self.already_shown else "")
            + f". S2: {run.s2_requests} call{'s' if run.s2_requests != 1 else ''}, "
            f"{run.cache_hits} cached."
        ]
        for n, item in enumerate(run.items, 1):
            year = item.publication_date or (str(item.year) if item.year else "n.d.")
            out.append(f"{n:>3}. {item.score:.3f}  {item.title} ({year})")
            out.extend(f"       - {reason}" for reason in item.reasons)
            if item.url:
                out.append(f"       {item.url}")
        out.extend(self.notes)
        return out


def watched_papers(
    settings: Settings, kg: KnowledgeGraph, list_name: str | None
) -> tuple[str, tuple[str, ...]]:
    """The target's name and its S2 paper ids: a reading list, a seed source (its file
    name), or every seed when ``list_name`` is None."""
    if list_name is None:
        ids = [s.paper_id for s in kg.seeds if s.paper_id]
        target = SEEDS
    else:
        found = ReadingLists.open(settings).find(list_name)
        if found is not None:
            ids, target = list(found.paper_ids), found.name
        else:
            ids = [s.paper_id for s in kg.seeds if s.paper_id and s.source == list_name]
            target = list_name
            if not ids:
                sources = sorted({s.source for s in kg.seeds})
                names = ReadingLists.open(settings).names()
                raise WatchError(
                    f"No reading list or seed source called {list_name!r}. Lists: "
                    f"{', '.join(names) or 'none'}; seed sources: {', '.join(sources) or 'none'}."
                )
    ids = [kg.graph.canon(p) if p in kg.graph.index else p for p in ids]
    s2_ids = tuple(dict.fromkeys(p for p in ids if is_s2_paper_id(p)))
    if not s2_ids:
        raise WatchError(
            f"{target} has no paper resolved on Semantic Scholar to watch: add papers "
            f"(`litkg list add`) or ingest the seeds online (`litkg ingest`)."
        )
    return target, s2_ids


def run_watch(
    settings: Settings,
    kg: KnowledgeGraph,
    client: S2Client,
    *,
    list_name: str | None = None,
    since: str | None = None,
    min_cites: int = DEFAULT_MIN_CITES,
    k: int = 50,
    include_shown: bool = False,
    embedder: Embedder | None = None,
) -> WatchReport:
    """Watch a reading list (or the seeds): fetch, rank, drop what was shown before
    (unless ``include_shown``), keep the best ``k``, remember them (atomically)."""
    if k < 1:
        raise WatchError(f"-k must be at least 1, got {k}.")
    state = WatchState.load(settings)
    target, ids = watched_papers(settings, kg, list_name)
    start = parse_since(since) if since else default_since(state.last_run.get(target))
    fetched = fetch_citing(client, ids, start, min_cites=min_cites)
    fresh = [p for p in fetched.papers if include_shown or p.paper.paper_id not in state.shown]
    label = "your list" if target != SEEDS else "your seeds"
    ranked: list[WatchItem] = rank_new(
        kg, ids, fresh, embedder=embedder, cache_dir=settings.graph_dir, list_label=label
    )
    notes = []
    if fetched.truncated:
        notes.append(
            f"note: {len(fetched.truncated)} watched paper(s) have more citing papers since "
            f"{start} than one page holds; give a later --since to see the newest ones."
        )
    if fetched.not_found:
        notes.append(f"note: S2 does not know {len(fetched.not_found)} watched paper(s).")
    run = WatchRun(
        at=new_run_stamp(),
        target=target,
        since=start,
        watched=len(ids),
        found=len(fetched.papers),
        items=tuple(ranked[:k]),
        s2_requests=fetched.http_requests,
        cache_hits=fetched.cache_hits,
        truncated=fetched.truncated,
    )
    run = state.record(run)
    return WatchReport(
        run=run,
        already_shown=len(fetched.papers) - len(fresh),
        not_found=fetched.not_found,
        notes=tuple(notes),
    )
