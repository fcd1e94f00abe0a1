"""Bringing the RDF store up to date with the corpus: :func:`build_rdf`.

Builds regenerate every graph from the corpus store (:mod:`kg.rdf.mapping`) as
N-Quads in buckets (:mod:`kg.rdf.nquads`), one graph at a time, and compare each
graph's content hash with the one the meta graph recorded. A graph whose hash is
unchanged is left alone. A changed graph is *patched* when possible: the previous
build left a snapshot of it (:mod:`kg.rdf.snapshots`), so only the buckets whose
digest changed are compared, and exactly the statements that went are deleted and
those that came are added (a statement several papers share, such as an
author's name, lives in one bucket, so it goes only when no paper states it any
more). A graph is reloaded whole instead when its snapshot is missing, unreadable or
not the content the meta graph records, or when the change exceeds
:data:`PATCH_MAX_FRACTION` of the graph. Each graph is decided on its own: a reloaded
graph is dropped (in chunks) and loaded again while the others are patched or left
alone, and the embedded store is cleared (instantly) and everything loaded only when
most of it must be reloaded anyway (the cost model of :data:`DROP_COST`). The writes
go through :mod:`kg.rdf.writers`. A build marks itself in progress first and complete
last, and makes its new snapshots current only after that; the next build after an
interrupted one reloads everything.
"""

from __future__ import annotations

import logging
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rdflib import Dataset, URIRef
from tqdm import tqdm

from kg.core.model import Topic, TopicMembership
from kg.rdf.mapping import (
    BUILD_IRI,
    DATETIME,
    G_LOCAL_PAPERS,
    G_META,
    G_S2_CITATIONS,
    G_S2_PAPERS,
    RDF_TYPE,
    S2_API_IRI,
    P,
    Raw,
    Triple,
    citation_raw,
    from_rdflib,
    integer_literal,
    iso_or_none,
    membership_raw,
    paper_raw,
    reading_list_raw,
    scheme_raw,
    snapshot_graph,
    snapshot_iri,
    snapshot_raw,
    source_graph,
    topic_raw,
    topics_graph,
)
from kg.rdf.nquads import GraphData, Spool, encode_graph
from kg.rdf.remote import RemoteStore
from kg.rdf.snapshots import Snapshot, Snapshots, snapshots_for
from kg.rdf.stores import OxStore, build_state, select, snapshot_dir
from kg.rdf.vocab import LITKG, PROV, list_iri, paper_iri
from kg.rdf.writers import Writer, writer_for
from kg.store.corpus import CorpusStore, SeedRow, SnapshotImport

log = logging.getLogger(__name__)


#: A changed graph is patched when its snapshot is usable and the statements added
#: plus removed are at most this fraction of the graph; otherwise it is reloaded whole.
PATCH_MAX_FRACTION = 0.3


@dataclass
class _Patch:
    added: bytes
    removed: bytes
    n_added: int
    n_removed: int


def _diff(data: GraphData, snapshot: Snapshot | None, old_digest: str | None) -> _Patch | None:
    """The statements to add and remove to turn the snapshot's graph into ``data``, or
    None when the snapshot cannot be trusted or the change is too big to patch."""
    if (
        snapshot is None
        or old_digest is None
        or snapshot.digest != old_digest
        or len(snapshot.digests) != len(data.digests)
    ):
        return None
    changed = [i for i, d in enumerate(data.digests) if d != snapshot.digests[i]]
    limit = PATCH_MAX_FRACTION * max(data.count, 1)
    added: list[bytes] = []
    removed: list[bytes] = []
    for i in changed:
        try:
            old = snapshot.lines(i)
        except (OSError, zlib.error) as exc:
            log.warning("the graph snapshot of %s is corrupt (%s): reloading", data.iri, str(exc))
            return None
        new = set(data.block(i).split(b"\n"))
        new.discard(b"")
        removed += old - new
        added += new - old
        if len(added) + len(removed) > limit:
            return None
    return _Patch(
        b"".join(line + b"\n" for line in added),
        b"".join(line + b"\n" for line in removed),
        len(added),
        len(removed),
    )


# --------------------------------------------------------------------------- build
#: What a build did to one named graph.
UNCHANGED, PATCHED, RELOADED = "unchanged", "patched", "reloaded"


@dataclass(frozen=True)
class GraphStats:
    iri: str
    title: str
    triples: int
    changed: bool
    action: str = UNCHANGED  # UNCHANGED, PATCHED (``added``/``removed``) or RELOADED
    added: int = 0
    removed: int = 0

    def describe(self) -> str:
        if self.action == PATCHED:
            return f"patched +{self.added:,}/-{self.removed:,}"
        return self.action


@dataclass(frozen=True)
class BuildReport:
    graphs: tuple[GraphStats, ...]
    seconds: float
    full_reload: bool
    dropped: tuple[str, ...] = ()
    skipped_memberships: int = 0

    @property
    def triples(self) -> int:
        return sum(g.triples for g in self.graphs)

    @property
    def changed(self) -> tuple[GraphStats, ...]:
        return tuple(g for g in self.graphs if g.changed)

    def _count(self, action: str) -> int:
        return sum(1 for g in self.graphs if g.action == action)

    def lines(self) -> list[str]:
        out = [
            f"RDF: {self.triples:,} triples in {len(self.graphs)} named graphs; "
            f"{self._count(RELOADED)} reloaded{' (full reload)' if self.full_reload else ''}, "
            f"{self._count(PATCHED)} patched, {self._count(UNCHANGED)} unchanged, "
            f"in {self.seconds:.1f} s"
        ]
        out += [f"  {g.triples:>10,}  {g.iri}  ({g.describe()})" for g in self.graphs]
        if self.dropped:
            out.append(f"  dropped: {', '.join(self.dropped)}")
        if self.skipped_memberships:
            out.append(f"  {self.skipped_memberships} memberships named unknown topics (skipped)")
        return out


@dataclass
class _Spec:
    iri: URIRef
    title: str
    make: Callable[[], Iterable[Raw]]
    derived_from: tuple[URIRef, ...] = ()
    endpoints: tuple[str, ...] = ()
    generated_at: str | None = None
    sort: bool = False
    dedupe: bool = True
    digest: str = ""
    count: int = 0
    action: str = UNCHANGED
    patch: _Patch | None = None


#: The reload policy's cost model, in units of loading one triple. A graph that must be
#: reloaded is dropped (its old triples deleted, chunk by chunk) and loaded again; the
#: alternative, for the embedded store, is to clear everything (instant) and load every
#: graph, encoding again those that were left alone or patched. Measured at 21k papers:
#: deleting a triple costs about twice as much as bulk loading one (17-27 us vs 10-13 us
#: per quad), encoding one about a third. So a build clears everything only when most of
#: the store must be reloaded anyway (about 40 % of it, counting both costs).
DROP_COST = 2.0
ENCODE_COST = 0.3


def _latest(values: Iterable[str | None]) -> str | None:
    present = [v for v in (iso_or_none(x) for x in values) if v]
    return max(present) if present else None


def _s2_endpoint(endpoint: str | None) -> str:
    return endpoint or "unknown"


def _reading_list_maker(source: str, rows: list[SeedRow]) -> Callable[[], Iterable[Raw]]:
    return lambda: reading_list_raw(source, rows)


def _plan(
    store: CorpusStore,
    topics: Sequence[Topic],
    memberships: Sequence[TopicMembership],
) -> tuple[list[_Spec], int]:
    prov = store.provenance()
    by_kind: dict[str, list[tuple[str | None, int, str | None]]] = defaultdict(list)
    for kind, endpoint, count, latest in prov:
        by_kind[kind].append((endpoint, count, latest))

    # Makers are generators: the corpus is read as the statements are encoded.
    def papers(resolved: bool) -> Callable[[], Iterator[Raw]]:
        def make() -> Iterator[Raw]:
            for paper in store.papers():
                if paper.resolved == resolved:
                    yield from paper_raw(paper)
            if resolved:
                for twin, canonical in sorted(store.same_as().items()):
                    yield (str(paper_iri(twin)), P.same_as, str(paper_iri(canonical)))

        return make

    def citations() -> Iterator[Raw]:
        for c in store.citations():
            yield from citation_raw(c)

    seeds: dict[str, list[SeedRow]] = defaultdict(list)
    for row in store.seeds():
        seeds[row.source].append(row)
    seed_times = {ep: latest for ep, _, latest in by_kind.get("seeds", ()) if ep}

    specs = [
        _Spec(
            G_S2_PAPERS,
            "Papers resolved on Semantic Scholar",
            papers(True),
            (S2_API_IRI,),
            tuple(_s2_endpoint(e) for e, _, _ in by_kind.get("papers", ())),
            _latest(t for _, _, t in by_kind.get("papers", ())),
        ),
        _Spec(
            G_S2_CITATIONS,
            "Citation edges from Semantic Scholar",
            citations,
            (S2_API_IRI,),
            tuple(_s2_endpoint(e) for e, _, _ in by_kind.get("citations", ())),
            _latest(t for _, _, t in by_kind.get("citations", ())),
            dedupe=False,  # one row per (citing, cited) in the store: no duplicates
        ),
    ]
    local = by_kind.get("local", ())
    if local:
        specs.append(
            _Spec(
                G_LOCAL_PAPERS,
                "Works known only from a user's file",
                papers(False),
                tuple(list_iri(e) for e, _, _ in local if e),
                tuple(e for e, _, _ in local if e),
                _latest(t for _, _, t in local),
            )
        )
    for source, rows in sorted(seeds.items()):
        specs.append(
            _Spec(
                source_graph(source),
                f"Reading list {source}",
                _reading_list_maker(source, rows),
                (list_iri(source),),
                (source,),
                seed_times.get(source),
            )
        )

    for imp in store.snapshot_imports():
        specs.append(
            _Spec(
                snapshot_graph(imp.snapshot_id),
                f"Portable snapshot {imp.snapshot_id[:12]}",
                _snapshot_maker(imp),
                (URIRef(snapshot_iri(imp.snapshot_id)),),
                (),
                imp.imported_at,
            )
        )

    by_id = {t.topic_id: t for t in topics}
    by_scheme: dict[str, list[Topic]] = defaultdict(list)
    for t in topics:
        by_scheme[t.scheme].append(t)
    members: dict[str, list[tuple[TopicMembership, Topic]]] = defaultdict(list)
    skipped = 0
    for m in memberships:
        topic = by_id.get(m.topic_id)
        if topic is None:
            skipped += 1
            continue
        members[topic.scheme].append((m, topic))
    curated_sources = tuple(list_iri(s) for s in sorted(seeds))
    for scheme, scheme_topics in sorted(by_scheme.items()):

        def make_topics(s: str = scheme, ts: list[Topic] = scheme_topics) -> Iterator[Raw]:
            yield from scheme_raw(s)
            for t in ts:
                yield from topic_raw(t, by_id)
            for m, t in members.get(s, ()):
                yield from membership_raw(m, t)

        derived = curated_sources if scheme == "curated" else (G_S2_PAPERS,)
        specs.append(
            _Spec(topics_graph(scheme), f"Topic scheme {scheme}", make_topics, derived, sort=True)
        )
    return specs, skipped


def _read_meta(dataset: Dataset) -> dict[str, tuple[str, int, str | None]]:
    query = (
        f"SELECT ?g ?hash ?n ?time WHERE {{ GRAPH <{G_META}> {{ ?g <{LITKG.contentHash}> ?hash ; "
        f"<{LITKG.tripleCount}> ?n . OPTIONAL {{ ?g <{PROV.generatedAtTime}> ?time }} }} }}"
    )
    out: dict[str, tuple[str, int, str | None]] = {}
    for g, h, n, t in select(dataset, query):
        out[str(g)] = (str(h), int(str(n)), None if t is None else str(t))
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _meta_raw(specs: Sequence[_Spec], times: Mapping[str, str | None], state: str) -> list[Raw]:
    build = str(BUILD_IRI)
    out: list[Raw] = [
        (build, RDF_TYPE, str(LITKG.Build)),
        (build, RDF_TYPE, str(PROV.Activity)),
        (build, str(LITKG.buildState), (state, None)),
    ]
    if state != "complete":
        return out
    out.append((build, str(PROV.endedAtTime), (_now(), DATETIME)))
    for spec in specs:
        g = str(spec.iri)
        out += [
            (g, RDF_TYPE, str(LITKG.SourceGraph)),
            (g, RDF_TYPE, str(PROV.Entity)),
            (g, P.title, (spec.title, None)),
            (g, str(LITKG.contentHash), (spec.digest, None)),
            (g, str(LITKG.tripleCount), integer_literal(spec.count)),
            (build, str(PROV.generated), g),
        ]
        when = times.get(g)
        if when:
            out.append((g, str(PROV.generatedAtTime), (when, DATETIME)))
        for source in spec.derived_from:
            out.append((g, str(PROV.wasDerivedFrom), str(source)))
        for endpoint in dict.fromkeys(spec.endpoints):
            out.append((g, str(LITKG.endpoint), (endpoint, None)))
    return out


def build_rdf(
    store: CorpusStore,
    graph_store: Dataset,
    topics: Sequence[Topic] = (),
    memberships: Sequence[TopicMembership] = (),
    progress: bool = True,
    *,
    force: bool = False,
) -> BuildReport:
    """Fill ``graph_store`` from the corpus: bring every named graph up to date.

    A graph whose content hash is unchanged is left alone; a changed one is patched
    (only the statements that went are removed and those that came added) when its
    snapshot from the last build is usable and the change is small
    (:data:`PATCH_MAX_FRACTION`), else reloaded whole. Each graph is decided on its
    own: the embedded store is cleared and loaded whole only when that costs less than
    dropping and reloading the graphs that need it (:data:`DROP_COST`). Idempotent: a
    second run with the same corpus writes nothing. ``force`` reloads every graph.
    Graphs of sources no longer in the corpus are dropped.

    One graph at a time is encoded (streamed from the corpus, in bounded memory); a
    graph waiting to be reloaded waits in a file beside the store.
    """
    started = time.perf_counter()
    writer = writer_for(graph_store)
    snapshots = snapshots_for(graph_store)
    old = _read_meta(graph_store)
    state = build_state(graph_store)
    full = force or state not in (None, "complete")
    # Nothing (complete) to keep: each graph is loaded as soon as it is encoded.
    stream = full or state is None
    specs, skipped = _plan(store, topics, memberships)
    wanted = {str(s.iri) for s in specs}
    stale = sorted(g for g in old if g not in wanted and g != str(G_META))
    spool = Spool(_spool_parent(graph_store))
    reload: list[GraphData] = []
    cleared = False
    try:
        if stream:
            cleared = full and writer.clear_all()
            _write_meta(writer, specs, {}, "in-progress")
        bar = tqdm(specs, desc="RDF graphs", unit="graph", disable=not progress, leave=False)
        for spec in bar:
            bar.set_postfix_str(spec.iri.rsplit("/graph/", 1)[-1])
            data = _encode_spec(spec, spool)
            iri = str(spec.iri)
            snapshot = snapshots.get(iri)
            if stream:
                if not cleared:
                    writer.drop(spec.iri)
                writer.add([data])
                spec.action = RELOADED
            elif _old_digest(old, spec) != spec.digest:
                spec.patch = _diff(data, snapshot, _old_digest(old, spec))
                spec.action = RELOADED if spec.patch is None else PATCHED
            if snapshot is None or snapshot.digest != spec.digest:
                snapshots.stage(data, snapshot)
            if spec.action == RELOADED and not stream:
                reload.append(data)  # loaded once every graph is decided
            else:
                data.close()
        bar.close()
        if stream and not cleared:
            for g in stale:
                writer.drop(URIRef(g))
        patched = [s for s in specs if s.patch is not None]
        if not stream and (reload or patched or stale):
            if progress:
                print(
                    f"Loading {len(reload)} named graphs, patching {len(patched)} ...",
                    file=sys.stderr,
                )
            if _clear_all_pays(old, specs, stale) and writer.clear_all():
                cleared = True
                _write_meta(writer, specs, {}, "in-progress")
                writer.add(reload)
                for data in reload:
                    data.close()
                for spec in specs:
                    if spec.action != RELOADED:
                        _reload_again(spec, spool, writer, snapshots)
            else:
                _write_meta(writer, specs, {}, "in-progress")
                for data in reload:
                    writer.drop(data.iri)
                writer.add(reload)
                for data in reload:
                    data.close()
                for spec in patched:
                    assert spec.patch is not None
                    writer.patch(spec.iri, spec.patch.added, spec.patch.removed)
                    spec.patch.added = spec.patch.removed = b""
                for g in stale:
                    writer.drop(URIRef(g))
        if stream or reload or patched or stale:
            times = {
                str(s.iri): s.generated_at
                or (old.get(str(s.iri), ("", 0, None))[2] if s.action == UNCHANGED else None)
                or _now()
                for s in specs
            }
            _write_meta(writer, specs, times, "complete")
            writer.finish()
    except BaseException:
        snapshots.abort()
        raise
    finally:
        for data in reload:
            data.close()
        spool.close()
    # only now: a snapshot ahead of the store is never trusted
    snapshots.commit()
    for g in stale:
        snapshots.discard(g)
    return BuildReport(
        graphs=tuple(_stats(s) for s in specs),
        seconds=time.perf_counter() - started,
        full_reload=cleared or (full and bool(specs)),
        dropped=tuple(stale),
        skipped_memberships=skipped,
    )


def _encode_spec(spec: _Spec, spool: Spool | None) -> GraphData:
    data = encode_graph(spec.iri, spec.make(), dedupe=spec.dedupe, sort=spec.sort, spool=spool)
    spec.count, spec.digest = data.count, data.digest
    return data


def _reload_again(spec: _Spec, spool: Spool, writer: Writer, snapshots: Snapshots) -> None:
    """Encode and load a graph that was left alone or patched (after a clear-all)."""
    digest = spec.digest
    data = _encode_spec(spec, spool)
    try:
        if spec.digest != digest:  # the corpus changed under the build
            snapshots.stage(data, snapshots.get(str(spec.iri)))
        writer.add([data])
    finally:
        data.close()
    spec.action, spec.patch = RELOADED, None


def _clear_all_pays(
    old: Mapping[str, tuple[str, int, str | None]], specs: Sequence[_Spec], stale: Sequence[str]
) -> bool:
    """Whether clearing the store and loading every graph costs less than dropping and
    reloading the graphs that need it (see :data:`DROP_COST`)."""
    dropped = sum(old.get(str(s.iri), ("", 0))[1] for s in specs if s.action == RELOADED)
    dropped += sum(old[g][1] for g in stale)
    loaded = sum(s.count for s in specs if s.action == RELOADED)
    others = sum(s.count for s in specs if s.action != RELOADED)
    per_graph = DROP_COST * dropped + loaded
    return per_graph > loaded + others * (1 + ENCODE_COST)


def _spool_parent(dataset: Dataset) -> Path | None:
    """Where a build's spill files go: beside the store when it is on disk."""
    store = dataset.store
    if isinstance(store, OxStore) and store.location != "memory":
        return snapshot_dir(Path(store.location))
    if isinstance(store, RemoteStore) and store.snapshot_dir is not None:
        return store.snapshot_dir
    return None


def _old_digest(old: Mapping[str, tuple[str, int, str | None]], spec: _Spec) -> str | None:
    found = old.get(str(spec.iri))
    return None if found is None else found[0]


def _stats(spec: _Spec) -> GraphStats:
    iri = str(spec.iri)
    patch = spec.patch
    if spec.action == PATCHED and patch is not None:
        return GraphStats(
            iri, spec.title, spec.count, True, PATCHED, patch.n_added, patch.n_removed
        )
    if spec.action == RELOADED:
        return GraphStats(iri, spec.title, spec.count, True, RELOADED)
    return GraphStats(iri, spec.title, spec.count, False, UNCHANGED)


def _write_meta(
    writer: Writer, specs: Sequence[_Spec], times: Mapping[str, str | None], state: str
) -> None:
    data = encode_graph(G_META, _meta_raw(specs, times, state), buckets=1)
    writer.drop(G_META)
    writer.add([data])


def load_triples(graph_store: Dataset, graph: str, triples: Iterable[Triple]) -> int:
    """Replace one named graph with ``triples`` (any store); returns the triple count."""
    writer = writer_for(graph_store)
    data = encode_graph(URIRef(graph), from_rdflib(triples), buckets=1)
    writer.drop(URIRef(graph))
    writer.add([data])
    writer.finish()
    snapshots_for(graph_store).discard(graph)  # the next build must not patch from it
    return data.count


def _snapshot_maker(imp: SnapshotImport) -> Callable[[], Iterable[Raw]]:
    return lambda: snapshot_raw(imp)


__all__ = [
    "DROP_COST",
    "ENCODE_COST",
    "PATCHED",
    "PATCH_MAX_FRACTION",
    "RELOADED",
    "UNCHANGED",
    "BuildReport",
    "GraphStats",
    "build_rdf",
    "load_triples",
]
