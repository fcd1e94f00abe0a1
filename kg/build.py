"""``litkg build``: corpus store -> embeddings, topics, RDF store, graph artefacts.

Re-running after a new ingest only does the new work: embeddings are cached by
content hash (unchanged papers are never re-embedded), and the RDF store is
refilled from the corpus (fast bulk load). Artefacts are written atomically
(temp file + rename), so a killed build leaves the previous build readable.

:class:`KnowledgeGraph` is what every reader (recommender, app, CLI) loads:
papers, the citation projection, both vector spaces, the topic model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import kg.topics
from kg.core.errors import BuildError, KGError
from kg.core.fileio import atomic_write_text, writer_lock
from kg.core.model import Paper
from kg.core.settings import Settings
from kg.core.text import MappedTexts
from kg.graph import snapshot as snap
from kg.graph.citations import CitationGraph
from kg.graph.knowledge import (
    EMBEDDINGS,
    LEXICAL,
    MANIFEST,
    SPECTER,
    TOPICS,
    WEIGHTS,
    KnowledgeGraph,
    atomic_savez,
    corpus_content,
    lexical_ok,
    read_weights,
)
from kg.rdf.lists import write_rdf
from kg.rdf.stores import open_graph
from kg.rdf.sync import build_rdf
from kg.recommend.fusion import DEFAULT_WEIGHTS, resolve_weights
from kg.recommend.tuning import auto_tune
from kg.store.corpus import CorpusStore, SeedRow, now_iso
from kg.store.readinglists import ReadingLists
from kg.text.ann import ANN_FILE, TextAnnIndex
from kg.text.embed import Embedder, EmbeddingCache, MiniLMEmbedder, embed_cached, paper_text
from kg.text.lexical import LexicalIndex, lexical_text
from kg.topics.model import TopicModel
from kg.topics.schemes import build_topic_model

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

#: ``manifest["text_vectors"]``: the ``text`` signal's vectors are MiniLM's (embedded by
#: the build) or S2's SPECTER v2 ones (read from the corpus store, nothing embedded).
MINILM_TEXT = "minilm"
SPECTER_TEXT = "specter"
#: The ``embedder`` a graph built on SPECTER text vectors records.
SPECTER_TEXT_NAME = "s2-specter-v2"
#: ``auto`` takes the SPECTER vectors when at least this share of the papers has one.
SPECTER_MIN_SHARE = 0.9
#: Rows of a vector matrix normalised at a time (bounds the temporaries).
_BLOCK = 65_536
#: Above ``LITKG_FIELD_SCALE`` papers the topics' k-means finds its centroids on this many
#: random papers, then assigns every paper (:func:`kg.topics.cluster.sampled_kmeans`).
TOPIC_SAMPLE = 100_000


class WeightsOutcome(StrEnum):
    """What the build did about the recommender's fusion weights."""

    #: Fitted on this graph's curated lists and stored in ``graph/weights.json``: they
    #: beat the defaults on held-out lists by more than the noise.
    FITTED = "fitted"
    #: Tuned, but the gain was within the noise (or there was too little to tune on):
    #: the defaults are used and any earlier fitted weights were dropped.
    DEFAULTS = "defaults"
    #: The graph has not changed since the weights in force were chosen: nothing done.
    KEPT = "kept"


@dataclass(frozen=True)
class WeightsChoice:
    """The build's decision on the fusion weights: the ``outcome``, the weights then in
    force (``source``: ``fitted`` or ``defaults``) and ``why``, in words for people."""

    outcome: WeightsOutcome
    source: str
    why: str

    def text(self) -> str:
        if self.outcome is WeightsOutcome.KEPT:
            return f"kept: {self.source} ({self.why})"
        if self.outcome is WeightsOutcome.FITTED:
            return f"fitted {self.why}"
        return f"defaults ({self.why})"

    def as_dict(self) -> dict[str, str]:
        return {"outcome": self.outcome.value, "source": self.source, "why": self.why}

    @classmethod
    def from_dict(cls, data: object) -> WeightsChoice | None:
        """The choice a manifest recorded (``None`` when it holds none or a damaged one)."""
        if not isinstance(data, dict):
            return None
        try:
            outcome = WeightsOutcome(str(data["outcome"]))
            return cls(outcome, str(data["source"]), str(data["why"]))
        except (KeyError, ValueError):
            return None


@dataclass
class BuildReport:
    papers: int = 0
    citations: int = 0
    embedded_new: int = 0
    embedded_cached: int = 0
    title_only: int = 0
    with_specter: int = 0
    #: What the ``text`` signal's vectors are: ``minilm`` (embedded here) or ``specter``
    #: (S2's, from the corpus store); ``text_missing`` papers had none (a zero vector).
    text_vectors: str = MINILM_TEXT
    text_missing: int = 0
    topics: dict[str, int] = field(default_factory=dict)
    triples: int | None = None
    weights: WeightsChoice | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["weights"] = None if self.weights is None else self.weights.as_dict()
        return out

    def lines(self) -> list[str]:
        if self.text_vectors == SPECTER_TEXT:
            vectors = (
                f"Text vectors: S2's SPECTER, nothing embedded here ({self.text_missing} "
                f"papers without one: zero vector); SPECTER vectors for {self.with_specter}"
            )
        else:
            vectors = (
                f"Embeddings: {self.embedded_new} new, {self.embedded_cached} from cache "
                f"({self.title_only} title-only: no abstract); SPECTER vectors kept for "
                f"{self.with_specter}"
            )
        out = [
            f"Papers: {self.papers}, citation edges: {self.citations}",
            vectors,
            "Topics: " + ", ".join(f"{n} {scheme}" for scheme, n in self.topics.items()),
        ]
        if self.triples is not None:
            out.append(f"RDF: {self.triples} triples")
        if self.weights is not None:
            out.append(f"Fusion weights: {self.weights.text()}")
        out.append("Time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()))
        return out


def text_vectors_for(settings: Settings, papers: int, with_specter: int) -> str:
    """Which vectors the ``text`` signal uses (``LITKG_TEXT_VECTORS``): ``auto`` takes S2's
    SPECTER vectors above ``field_scale`` papers when >= 90% of them have one, else MiniLM.
    A forced ``specter`` on a corpus without any SPECTER vector is a :class:`BuildError`."""
    choice = settings.text_vectors
    if choice == SPECTER_TEXT:
        if with_specter == 0:
            raise BuildError(
                "LITKG_TEXT_VECTORS=specter, but no paper in the corpus has a SPECTER "
                "vector: import a bulk snapshot (`litkg bulk`, `litkg snapshot import`) or "
                "set LITKG_TEXT_VECTORS=minilm."
            )
        return SPECTER_TEXT
    at_field_scale = papers > settings.field_scale
    if choice == "auto" and at_field_scale and with_specter >= SPECTER_MIN_SHARE * papers:
        return SPECTER_TEXT
    return MINILM_TEXT


def _specter_vectors(store: CorpusStore, ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The ids with a SPECTER vector in the store, and those vectors L2-normalised
    (float32, one row per id). Rows are written into one matrix as they are read and
    normalised a block at a time: no list of row arrays, no full-size temporary (at 1M
    papers the matrix is 3 GB)."""
    kept: list[str] = []
    spec = np.zeros((0, 768), dtype=np.float32)
    for pid in ids:
        v = store.specter(pid)
        if v is None:
            continue
        if not kept:
            spec = np.empty((len(ids), v.size), dtype=np.float32)
        spec[len(kept)] = v
        kept.append(pid)
    spec = spec[: len(kept)]
    for lo in range(0, spec.shape[0], _BLOCK):
        block = spec[lo : lo + _BLOCK]
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block /= np.where(norms > 0, norms, 1.0)
    return kept, spec


def _specter_text(ids: Sequence[str], spec_ids: Sequence[str], spec: np.ndarray) -> np.ndarray:
    """The ``text`` vectors from SPECTER ones: row i is paper ``ids[i]``'s (a zero vector
    for a paper without one)."""
    if len(spec_ids) == len(ids) and list(spec_ids) == list(ids):
        return spec
    where = {pid: i for i, pid in enumerate(spec_ids)}
    out = np.zeros((len(ids), spec.shape[1]), dtype=np.float32)
    for i, pid in enumerate(ids):
        r = where.get(pid)
        if r is not None:
            out[i] = spec[r]
    return out


def default_embedder(settings: Settings) -> Embedder:
    return MiniLMEmbedder.from_env(model_dir=settings.graph_dir / "models")


def build(
    settings: Settings | None = None,
    *,
    embedder: Embedder | None = None,
    progress: bool = True,
    rdf: bool = True,
    rebuild: bool = False,
    tune: bool = True,
    echo: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build every artefact under ``settings.graph_dir`` (and the RDF store).

    With ``tune`` (the default) the recommender's fusion weights are then fitted on the
    graph itself (:func:`kg.recommend.tuning.auto_tune`) and stored with it, when the graph
    changed since they were last fitted. Holds the data dir's writer lock
    (:func:`kg.core.fileio.writer_lock`): a second build, an ingest or an import-list on the
    same data dir exits with a message instead of interleaving."""
    settings = settings or Settings.from_env()
    with writer_lock(settings.data_dir, "build"):
        return _build(
            settings,
            embedder=embedder,
            progress=progress,
            rdf=rdf,
            rebuild=rebuild,
            tune=tune,
            echo=echo,
        )


def _build(
    settings: Settings,
    *,
    embedder: Embedder | None,
    progress: bool,
    rdf: bool,
    rebuild: bool,
    tune: bool,
    echo: Callable[[str], None] | None,
) -> BuildReport:
    """:func:`build` under the writer lock."""
    say = echo or (lambda _m: None)

    def step(what: str) -> None:
        """Name a long step that has no progress bar of its own (only with ``progress``)."""
        if progress:
            say(f"{what} ...")

    report = BuildReport()
    clock = time.perf_counter()
    graph_dir = settings.graph_dir
    graph_dir.mkdir(parents=True, exist_ok=True)
    with CorpusStore(settings.corpus_path, create=False) as store:
        papers = list(store.papers())
        if not papers:
            raise BuildError(
                f"The corpus at {settings.corpus_path} holds no papers: run `litkg ingest` first."
            )
        seeds = store.seeds()
        same_as = store.same_as()
        report.papers = len(papers)
        report.citations = store.status().citations
        ids = [p.paper_id for p in papers]
        # S2's vectors are not unit length (its SPECTER ones have norms of 70-100, varying
        # by paper): normalised, their dot products are cosines, as MiniLM's are (the
        # recommender compares them by dot product).
        spec_ids, spec = _specter_vectors(store, ids)
        report.with_specter = len(spec_ids)
        report.text_vectors = text_vectors_for(settings, len(papers), len(spec_ids))

        # -- embeddings (content-hashed cache: only new or changed texts are embedded)
        t0 = time.perf_counter()
        texts: Sequence[str] | None = None
        if report.text_vectors == SPECTER_TEXT:  # the texts are not held: nothing to embed
            title_only = tuple(paper_text(p.title, p.abstract)[1] for p in papers)
        else:
            texts, title_only = zip(*(paper_text(p.title, p.abstract) for p in papers), strict=True)
        report.title_only = int(sum(title_only))
        if report.text_vectors == SPECTER_TEXT:
            # Field scale: the text signal reads the release's SPECTER vectors; nothing is
            # embedded here (hours for 10^5 abstracts on a laptop's cores).
            vectors = _specter_text(ids, spec_ids, spec)
            report.text_missing = len(papers) - len(spec_ids)
            vectors_name = SPECTER_TEXT_NAME
        else:
            embedder = embedder or default_embedder(settings)
            with EmbeddingCache(graph_dir) as cache:
                before = len(cache)
                vectors = embed_cached(embedder, list(texts or ()), cache, progress=progress)
                report.embedded_new = len(cache) - before
            report.embedded_cached = len(papers) - report.embedded_new
            vectors_name = embedder.name
        atomic_savez(
            graph_dir / EMBEDDINGS,
            ids=np.array(ids),
            vectors=np.asarray(vectors, dtype=np.float32),
            title_only=np.array(title_only, dtype=bool),
            model=np.array(vectors_name),
        )
        if report.text_vectors == SPECTER_TEXT and spec_ids == ids:
            # The text vectors are these very rows: one copy on disk (3.2 GB at 1M papers).
            atomic_savez(graph_dir / SPECTER, ids=np.array(spec_ids), same_as=np.array(EMBEDDINGS))
        else:
            atomic_savez(graph_dir / SPECTER, ids=np.array(spec_ids), vectors=spec)
        report.seconds["embeddings"] = time.perf_counter() - t0

        # -- field scale: the approximate index the recommender's text signal reads
        text_index = None
        if len(papers) > settings.ann_min_papers:
            t0 = time.perf_counter()
            TextAnnIndex.build(vectors, progress=progress).save(graph_dir / ANN_FILE)
            text_index = {"file": ANN_FILE, "neighbours": settings.ann_neighbours}
            report.seconds["text index"] = time.perf_counter() - t0
        else:
            (graph_dir / ANN_FILE).unlink(missing_ok=True)
        if report.text_vectors == SPECTER_TEXT:
            say(
                f"text vectors: S2's SPECTER ({report.text_missing} papers without one "
                "get a zero vector)"
            )
        else:
            say(f"embedded {report.embedded_new} new papers ({report.embedded_cached} cached)")

        # -- topics (recomputed only when what they are made from changed)
        t0 = time.perf_counter()
        # Field scale: k-means on samples and keywords from a sample of the texts
        # (kg.topics.discover; the same clustering below the threshold).
        sample = TOPIC_SAMPLE if len(papers) > settings.field_scale else None
        if texts is None:  # made one at a time for the digest
            texts = MappedTexts(papers, lambda p: paper_text(p.title, p.abstract)[0])
        digest = _topic_inputs(papers, texts, seeds, same_as, vectors, sample)
        del texts  # the embedder's texts: the topics read their own, at field scale a sample
        topics = _reuse_topics(graph_dir, digest)
        if topics is None:
            step("computing topics")
            # The previous build's topics warm-start the clustering: topic ids and labels
            # stay put across small ingests (kg.topics; a big change reclusters afresh).
            previous = None if rebuild else _previous_topics(graph_dir)
            topics = build_topic_model(
                papers,
                seeds,
                ids=ids,
                embeddings=vectors,
                same_as=same_as,
                previous=previous,
                sample=sample,
            )
            topics.save(graph_dir / TOPICS)
            found = topics.params.get("discovered") or {}
            if found.get("warm_start"):
                say("discovered topics updated from the previous build (ids kept)")
            elif previous is not None and found.get("fresh_reason"):
                say(f"discovered topics recomputed: {found['fresh_reason']}")
        else:
            say("topics unchanged (same papers, texts, seeds and vectors)")
        for topic in topics.topics:
            report.topics[topic.scheme] = report.topics.get(topic.scheme, 0) + 1
        report.seconds["topics"] = time.perf_counter() - t0

        # -- RDF
        if rdf:
            t0 = time.perf_counter()
            report.triples = _build_rdf(settings, store, topics, progress, rebuild)
            report.seconds["rdf"] = time.perf_counter() - t0

        manifest = {
            "built_at": now_iso(),
            "papers": report.papers,
            "citations": report.citations,
            "embedder": vectors_name,
            "text_vectors": report.text_vectors,
            "text_index": text_index,
            "corpus": str(settings.corpus_path),
            "last_ingest": (store.last_run() or {}).get("finished_at"),
            "topics_digest": digest,
        }
        manifest.update(_previous_weights_note(graph_dir))
        atomic_write_text(graph_dir / MANIFEST, json.dumps(manifest, indent=2))
    # What the steps above held (papers, texts, vectors, topics) is let go before the
    # snapshot loads the graph from the files just written: at field scale each of them
    # is gigabytes.
    del papers, title_only, ids, spec_ids, spec, vectors, topics, seeds, same_as

    # -- the load snapshot: readers start in a fraction of the time (kg.snapshot)
    t0 = time.perf_counter()
    step("writing the load snapshot (papers, projection, lexical index) if the corpus changed")
    written, loaded = _refresh_snapshot(settings, force=rebuild, keep=tune)
    if not written:
        say("load snapshot unchanged")
    report.seconds["snapshot"] = time.perf_counter() - t0

    # -- fusion weights fitted on this graph (kg.recommend.tuning.auto_tune); the graph loaded
    # for the snapshot (its recommender index already built) serves the tuning too
    if tune:
        t0 = time.perf_counter()
        step("fitting the fusion weights on this graph if it changed")
        report.weights = tune_weights(settings, force=rebuild, echo=say, kg=loaded)
        report.seconds["weights"] = time.perf_counter() - t0
    report.seconds["total"] = time.perf_counter() - clock
    return report


def _topic_inputs(
    papers: Sequence[Paper],
    texts: Sequence[str],
    seeds: Sequence[SeedRow],
    same_as: dict[str, str],
    vectors: np.ndarray,
    sample: int | None = None,
) -> str:
    """A digest of everything the topic model is computed from (and of its code, and the
    field-scale ``sample`` when there is one)."""

    h = hashlib.sha256()
    for source in sorted(Path(kg.topics.__file__).parent.glob("*.py")):
        h.update(source.read_bytes())
    for p, text in zip(papers, texts, strict=True):
        h.update(f"{p.paper_id}\x1f{text}\x1f{p.fields_of_study}\x1e".encode())
    for row in seeds:
        h.update(repr(row).encode())
    h.update(repr(sorted(same_as.items())).encode())
    flat = np.ascontiguousarray(vectors, dtype=np.float32)
    if flat.size:  # its bytes, not a copy of them (3 GB at 1M papers)
        h.update(flat.data.cast("B"))
    if sample is not None:
        h.update(f"\x1esample {sample}".encode())
    return h.hexdigest()


def _previous_weights_note(graph_dir: Path) -> dict[str, Any]:
    """What the last build recorded about the fusion weights (kept until re-fitted)."""
    try:
        old = json.loads((graph_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return {k: old[k] for k in ("weights_for", "weights") if k in old}


def _previous_topics(graph_dir: Path) -> TopicModel | None:
    try:
        return TopicModel.load(graph_dir / TOPICS)
    except (OSError, ValueError, KeyError, KGError):
        return None


def _reuse_topics(graph_dir: Path, digest: str) -> TopicModel | None:
    """The previous build's topics when they were made from the same inputs."""
    try:
        manifest = json.loads((graph_dir / MANIFEST).read_text())
        if manifest.get("topics_digest") != digest:
            return None
        return TopicModel.load(graph_dir / TOPICS)
    except (OSError, ValueError, KeyError, KGError):
        return None


def _build_rdf(
    settings: Settings, store: CorpusStore, topics: TopicModel, progress: bool, force: bool
) -> int:
    # --rebuild also wipes a corrupt or half-written store before loading afresh.
    dataset = open_graph(settings, writable=True, rebuild=force)
    try:
        result = build_rdf(
            store,
            dataset,
            topics=topics.topics,
            memberships=topics.memberships,
            progress=progress,
            force=force,
        )
        # The user's reading lists live in their own named graph: put them back after
        # a reload so SPARQL always sees them.
        lists = ReadingLists.open(settings).all()
        if lists:
            write_rdf(lists, dataset)
    finally:
        dataset.close()
    return int(result.triples)


def write_snapshot(settings: Settings, *, force: bool = True) -> Path | None:
    """Write the load snapshot of the built graph (see :mod:`kg.graph.snapshot`); with
    ``force=False``, only when the one there was made for other data. Returns the path
    written, or ``None`` when the snapshot there was kept."""
    if not _refresh_snapshot(settings, force=force, keep=False)[0]:
        return None
    return settings.graph_dir / snap.SNAPSHOT


def _refresh_snapshot(
    settings: Settings, *, force: bool, keep: bool = True
) -> tuple[bool, KnowledgeGraph | None]:
    """:func:`write_snapshot`; returns whether it wrote one, and the graph it loaded from
    the corpus to write it when ``keep`` (else ``None``: the projection is let go before
    the lexical index is made, at field scale gigabytes)."""
    path = settings.graph_dir / snap.SNAPSHOT
    manifest = json.loads((settings.graph_dir / MANIFEST).read_text())
    with CorpusStore(settings.corpus_path, create=False) as store:
        key = snap.key(snap.fingerprint(store), manifest.get("topics_digest"))
    if not force and snap.stored_key(path, verify=True) == key:
        if not lexical_ok(settings.graph_dir / LEXICAL, key):  # damaged or stale: remake
            _save_lexical(settings.graph_dir / LEXICAL, key, KnowledgeGraph.load(settings))
        return False, None
    if keep:
        # the vectors are mapped, not read: neither the snapshot nor the lexical index
        # reads them
        kg = KnowledgeGraph.load(settings, snapshot=False, mmap=True)
        snap.save(
            path,
            key,
            {"papers": kg.papers, "seeds": kg.seeds, "same_as": kg.same_as, "graph": kg.graph},
        )
        _save_lexical(settings.graph_dir / LEXICAL, key, kg)
        return True, kg
    # Only what the snapshot holds: no vectors, and the topic model let go once the
    # projection has its memberships (at field scale each is gigabytes).
    topics = TopicModel.load(settings.graph_dir / TOPICS)
    with CorpusStore(settings.corpus_path, create=False) as store:
        content = corpus_content(store, topics)
    del topics
    snap.save(path, key, content)
    ids = list(content["graph"].graph.nodes)  # the order of CitationGraph.ids
    papers = node_papers(content["papers"], content["graph"], ids)
    del content
    lexical = LexicalIndex(MappedTexts(papers, lexical_text)).arrays()
    atomic_savez(settings.graph_dir / LEXICAL, key=np.array(key), ids=np.array(ids), **lexical)
    return True, None


def _save_lexical(path: Path, key: str, kg: KnowledgeGraph) -> None:
    """The recommender's lexical index (seconds to make: tokenising every abstract),
    kept with the graph so readers load it instead, and kept on ``kg`` too (the
    recommender index of the weights step takes it from there). Made over the citation
    graph's nodes as :class:`kg.recommend.index.RecommendIndex` makes it, without
    building the rest of that index (at field scale, gigabytes the build does not need)."""
    ids = list(kg.graph.ids)
    if kg.lexical is None or kg.lexical_ids != ids:
        kg.lexical = LexicalIndex(MappedTexts(node_papers(kg.papers, kg.graph, ids), lexical_text))
        kg.lexical_ids = ids
    atomic_savez(path, key=np.array(key), ids=np.array(kg.lexical_ids), **kg.lexical.arrays())


def node_papers(
    papers: Mapping[str, Paper], graph: CitationGraph, ids: Sequence[str]
) -> list[Paper | None]:
    """The paper record of each citation-graph node ``ids[j]`` (``None`` for a node that is
    only a citation's end), as the recommender index picks it: the node's own record,
    else its first twin's."""
    pos = {pid: j for j, pid in enumerate(ids)}
    out: list[Paper | None] = [None] * len(ids)
    for pid, paper in papers.items():
        j = pos.get(graph.canon(pid))
        if j is not None and (out[j] is None or pid == ids[j]):
            out[j] = paper
    return out


def tune_weights(
    settings: Settings,
    *,
    force: bool = False,
    echo: Callable[[str], None] | None = None,
    kg: KnowledgeGraph | None = None,
) -> WeightsChoice:
    """Fit the fusion weights on the built graph and store them with it; returns what
    was done. Weights fitted for an earlier graph are dropped when the tuning finds the
    defaults as good (the defaults are then used); a graph that has not changed since
    its weights were fitted keeps them (unless ``force``). ``kg``: the built graph when
    the caller has it loaded already."""

    manifest_path = settings.graph_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    path = settings.graph_dir / snap.SNAPSHOT
    key = snap.stored_key(path)
    tuned_for = manifest.get("weights_for")
    state = weights_status(settings)
    last = _recorded_choice(manifest)
    # A damaged weights.json, or one the last fitting stored and that is gone, is refitted.
    consistent = state.source == "fitted" or last is None or last.source != "fitted"
    if (settings.graph_dir / WEIGHTS).exists() and state.source != "fitted":
        consistent = False
    if not force and key is not None and tuned_for == key and consistent:
        return WeightsChoice(
            WeightsOutcome.KEPT, state.source, "the graph has not changed since they were chosen"
        )
    lines: list[str] = []
    reading = ReadingLists.open(settings).paper_ids_by_name()
    outcome = auto_tune(kg or KnowledgeGraph.load(settings), lists=reading, echo=lines.append)
    for line in lines:
        (echo or (lambda _m: None))(line)
    weights_path = settings.graph_dir / WEIGHTS
    if outcome is not None:
        save_weights(settings, outcome.weights)
        lo, hi = outcome.interval
        choice = WeightsChoice(
            WeightsOutcome.FITTED,
            "fitted",
            f"on the {outcome.protocol}: nDCG@10 {outcome.tuned_ndcg:.3f} vs "
            f"{outcome.default_ndcg:.3f} with the defaults on {outcome.test_queries} "
            f"held-out queries (gain {lo:+.3f} to {hi:+.3f})",
        )
    else:
        weights_path.unlink(missing_ok=True)
        choice = WeightsChoice(
            WeightsOutcome.DEFAULTS, "defaults", lines[-1] if lines else "not tuned"
        )
    manifest["weights_for"] = key
    manifest["weights"] = choice.as_dict()
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2))
    return choice


def _recorded_choice(manifest: dict[str, Any]) -> WeightsChoice | None:
    """The weights choice a manifest records; a manifest of an earlier litkg recorded it
    as words (``fitted on ...`` / ``defaults (...)``), read here once more."""
    said = manifest.get("weights")
    if isinstance(said, str):
        if said.startswith("fitted "):
            return WeightsChoice(WeightsOutcome.FITTED, "fitted", said[len("fitted ") :])
        if said.startswith("defaults (") and said.endswith(")"):
            return WeightsChoice(WeightsOutcome.DEFAULTS, "defaults", said[len("defaults (") : -1])
        return None
    return WeightsChoice.from_dict(said)


@dataclass(frozen=True)
class WeightsStatus:
    """The fusion weights ``litkg recommend`` uses now, and why: ``source`` is ``fitted``
    (``graph/weights.json``, fitted by the build on the graph's curated lists) or
    ``defaults`` (:data:`kg.recommend.fusion.DEFAULT_WEIGHTS`)."""

    source: str
    why: str
    weights: dict[str, float]

    def line(self) -> str:
        shown = ", ".join(f"{k} {v:.2f}" for k, v in self.weights.items() if v > 0)
        return f"Fusion weights: {self.source} ({self.why}): {shown}"


def weights_status(settings: Settings) -> WeightsStatus:
    """What :class:`KnowledgeGraph` will use, read from the files themselves (never
    raises): the manifest's account of the last fitting, checked against weights.json."""

    try:
        manifest = json.loads((settings.graph_dir / MANIFEST).read_text())
        last = _recorded_choice(manifest) if isinstance(manifest, dict) else None
    except (OSError, ValueError):
        last = None
    path = settings.graph_dir / WEIGHTS
    try:
        fitted = read_weights(path)
        if fitted is not None:
            resolve_weights(fitted, None)  # the checks a query makes
    except (BuildError, KGError) as exc:
        return WeightsStatus("defaults", str(exc), dict(DEFAULT_WEIGHTS))
    if fitted is not None:
        fitted_now = last is not None and last.outcome is WeightsOutcome.FITTED
        why = last.text() if fitted_now and last else f"{path.name} is there, fitted earlier"
        return WeightsStatus("fitted", why, resolve_weights(fitted, None))
    if last is not None and last.source == "fitted":
        why = f"{path.name} is missing although the last build fitted it; `litkg build` refits"
    elif last is not None:
        why = last.why
    else:
        why = "no fitting recorded yet"
    return WeightsStatus("defaults", why, dict(DEFAULT_WEIGHTS))


def save_weights(settings: Settings, weights: dict[str, float]) -> Path:
    """Store tuned fusion weights with the graph (read by :class:`KnowledgeGraph`)."""
    path = settings.graph_dir / WEIGHTS
    atomic_write_text(path, json.dumps(weights, indent=2, sort_keys=True))
    return path


__all__: Sequence[str] = [
    "MINILM_TEXT",
    "SPECTER_TEXT",
    "BuildError",
    "BuildReport",
    "KnowledgeGraph",
    "WeightsChoice",
    "WeightsOutcome",
    "WeightsStatus",
    "build",
    "read_weights",
    "save_weights",
    "text_vectors_for",
    "tune_weights",
    "weights_status",
    "write_snapshot",
]
