"""kg.recommend.evaluate: metrics with known values, the time-ordered hold-out (no leakage), group
queries, tuning, the fused recommender on a planted fixture; the CLI adapters."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kg.core.errors import EvaluationError
from kg.core.model import Author, Citation, Paper
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.evaluate import (
    FUSED,
    FUSED_MMR,
    evaluate_groups,
    evaluate_holdout,
    evaluate_prepared,
    evaluate_queries,
)
from kg.recommend.metrics import (
    bootstrap_interval,
    list_metrics,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
)
from kg.recommend.metrics import (
    ranking_metrics as _metrics,
)
from kg.recommend.protocols import (
    Query,
    curated_lists,
    group_queries,
    holdout_queries,
    in_memory_graph,
    list_queries,
    prepare_queries,
    seed_sections,
)
from kg.recommend.signals import SIGNALS
from kg.recommend.tuning import auto_queries, auto_tune, fit_weights, tune_weights
from kg.store.corpus import SeedRow
from tests.kg.recommend_fixtures import make_kg


# --------------------------------------------------------------------------- metrics
def test_metrics_on_a_toy_ranking() -> None:
    ranked = ["a", "b", "c", "d", "e"]
    relevant = {"b", "e", "z"}
    assert recall_at_k(ranked, relevant, 3) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, relevant, 5) == pytest.approx(2 / 3)
    assert precision_at_k(ranked, relevant, 5) == pytest.approx(2 / 5)
    # DCG@3 = 1/log2(3); ideal with 3 relevant = 1 + 1/log2(3) + 1/2
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3) + 0.5)
    )
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx(0.29608, abs=1e-5)
    # DCG@5 = 1/log2(3) + 1/log2(6)
    assert ndcg_at_k(ranked, relevant, 5) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3) + 0.5)
    )
    assert reciprocal_rank(ranked, relevant) == 0.5
    assert reciprocal_rank(ranked, {"q"}) == 0.0
    assert ndcg_at_k(["b", "e", "z"], relevant, 10) == pytest.approx(1.0)
    assert recall_at_k(ranked, set(), 3) == 0.0 and ndcg_at_k(ranked, set(), 3) == 0.0


def test_vectorised_metrics_agree_with_the_plain_ones() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        ranked = [str(i) for i in rng.permutation(50)]
        relevant = {str(i) for i in rng.choice(50, size=int(rng.integers(1, 12)), replace=False)}
        hits = np.array([pid in relevant for pid in ranked])
        got = _metrics(hits, len(relevant), 20, 10)
        want = [
            precision_at_k(ranked, relevant, 20),
            recall_at_k(ranked, relevant, 20),
            ndcg_at_k(ranked, relevant, 10),
            reciprocal_rank(ranked, relevant),
        ]
        assert got == pytest.approx(want)


# --------------------------------------------------------------------------- a toy citation world
def citation_world(n: int = 320, seed: int = 0) -> KnowledgeGraph:
    """Papers in publication order in 4 topical clusters (text follows the cluster); each
    cites 8-14 earlier papers, mostly of its own cluster, preferring cited ones."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 4, size=n)
    centres = rng.standard_normal((4, 24))
    vecs = centres[cluster] + 0.9 * rng.standard_normal((n, 24))
    papers = [
        Paper(
            paper_id=f"p{i:04d}",
            title=f"Paper {i} on subject {cluster[i]}",
            year=1990 + i // 10,
            authors=(Author(f"Author{i} Surname{i}"),),
        )
        for i in range(n)
    ]
    indeg = np.ones(n)
    cites = []
    for i in range(20, n):
        same = np.flatnonzero(cluster[:i] == cluster[i])
        pool = same if same.size >= 8 and rng.random() < 0.85 else np.arange(i)
        p = indeg[pool] / indeg[pool].sum()
        k = min(pool.size, int(rng.integers(8, 15)))
        for j in rng.choice(pool, size=k, replace=False, p=p):
            cites.append(Citation(papers[i].paper_id, papers[int(j)].paper_id))
            indeg[j] += 1
    return in_memory_graph(papers, cites, embeddings=vecs, k1=4, n_init=1)


@pytest.fixture(scope="module")
def world() -> KnowledgeGraph:
    return citation_world()


def test_holdout_queries_hide_the_newer_half_of_the_references(world: KnowledgeGraph) -> None:
    qs = holdout_queries(world, n=30, seed=1, split="time")
    assert len(qs) == 30 and len({q.target for q in qs}) == 30
    g = world.graph.graph
    for q in qs:
        refs = set(g.successors(q.target))
        assert set(q.read) | q.relevant == refs and not set(q.read) & q.relevant
        assert len(q.read) == len(refs) // 2
        newest_read = max(world.papers[p].year or 0 for p in q.read)
        oldest_hidden = min(world.papers[p].year or 0 for p in q.relevant)
        assert newest_read <= oldest_hidden
    again = holdout_queries(world, n=30, seed=1, split="time")
    assert again == qs, "seeded"
    later = holdout_queries(world, n=30, seed=1, skip=30, split="time")
    assert not {q.target for q in qs} & {q.target for q in later}


def test_the_random_split_hides_a_random_half_whatever_the_years(world: KnowledgeGraph) -> None:
    qs = holdout_queries(world, n=30, seed=1)  # the default: random
    assert [q.target for q in qs] == [q.target for q in holdout_queries(world, n=30, seed=1)]
    g = world.graph.graph
    newer_read = 0
    for q in qs:
        refs = set(g.successors(q.target))
        assert set(q.read) | q.relevant == refs and len(q.read) == len(refs) // 2
        newest_read = max(world.papers[p].year or 0 for p in q.read)
        newer_read += newest_read > min(world.papers[p].year or 0 for p in q.relevant)
    assert newer_read > 20, "not ordered by year"
    with pytest.raises(EvaluationError, match="split must be one of random, time"):
        holdout_queries(world, split="alphabetical")


def test_the_time_cut_removes_the_target_newer_papers_and_their_edges(
    world: KnowledgeGraph,
) -> None:
    q = holdout_queries(world, n=1, seed=2)[0]
    prep = prepare_queries(world, [q], time_cut=True)[0]
    ids = [world.graph.ids[j] for j in prep.rows]
    assert q.target not in ids
    assert all((world.papers[p].year or 0) <= (q.year or 0) for p in ids)
    assert not set(q.read) & set(ids)
    # a paper newer than the target that cites read and hidden papers together would make
    # co-citation perfect; with the time cut it adds nothing
    leak = Paper("leak", "A later survey", year=2100)
    cites = [Citation("leak", p) for p in (*q.read, *q.relevant)]
    leaky = in_memory_graph(
        [*world.papers.values(), leak],
        [*(Citation(u, v) for u, v in world.graph.graph.edges), *cites],
        embeddings=np.vstack([world.embeddings, world.embeddings[:1]]),
        topics=world.topics,
    )
    w = {"cocitation": 1.0}
    cut = evaluate_queries(leaky, [q], time_cut=True, weights=w).method("cocitation")
    base = evaluate_queries(world, [q], time_cut=True, weights=w).method("cocitation")
    open_ = evaluate_queries(leaky, [q], time_cut=False, weights=w).method("cocitation")
    assert cut.ndcg == pytest.approx(base.ndcg)
    assert open_.ndcg > cut.ndcg


def test_holdout_reports_every_method_and_tunes_on_separate_queries(
    world: KnowledgeGraph,
) -> None:
    report = evaluate_holdout(world, queries=40, tune=True, tune_queries=40)
    names = {m.method for m in report.methods}
    assert names == {*SIGNALS, FUSED, FUSED_MMR, "popularity", "random"} - {"s2"}  # live only
    assert report.queries == 40 and report.tuning_queries == 40
    assert report.tuned is not None and sum(report.tuned.values()) == pytest.approx(1, abs=1e-2)
    best = report.best_single()
    assert best.method in SIGNALS
    assert report.method("random").ndcg < best.ndcg
    assert report.margin() == pytest.approx(report.method(FUSED).ndcg - best.ndcg)
    text = "\n".join(report.lines())
    assert "| method | P@20 | recall@20 | nDCG@10 | MRR |" in text
    assert "the best single signal" in text and "Weights tuned on 40 separate queries" in text
    data = report.as_dict()
    assert data["best_single"] == best.method and json.dumps(data)


def test_tune_weights_returns_normalised_signal_weights(world: KnowledgeGraph) -> None:
    w = tune_weights(world, queries=30, skip=100)
    assert set(w) == set(SIGNALS) and sum(w.values()) == pytest.approx(1, abs=1e-2)
    assert all(v >= 0 for v in w.values())


def test_holdout_needs_papers_with_enough_references() -> None:
    with pytest.raises(EvaluationError, match=r"8 or more references.*Ingest deeper"):
        holdout_queries(make_kg())


# --------------------------------------------------------------------------- fused vs single
def planted() -> tuple[KnowledgeGraph, list[Query]]:
    """Each query has two hidden papers: one only co-citation finds (co-cited with the read
    paper, unrelated text), one only text finds (similar text, no links). Distractors are
    weakly co-cited or fairly similar."""
    rng = np.random.default_rng(5)
    papers, vecs, cites, queries = [], [], [], []
    dim = 16

    def add(pid: str, v: np.ndarray) -> None:
        papers.append(Paper(pid, f"Title of {pid}", year=2020))
        vecs.append(v / np.linalg.norm(v))

    for q in range(6):
        centre = rng.standard_normal(dim)
        add(f"q{q}", centre)
        add(f"a{q}", rng.standard_normal(dim))  # found by co-citation only
        add(f"b{q}", centre + 0.2 * rng.standard_normal(dim))  # found by text only
        for c in range(3):
            add(f"c{q}_{c}", rng.standard_normal(dim))
            cites += [Citation(f"c{q}_{c}", f"q{q}"), Citation(f"c{q}_{c}", f"a{q}")]
        for d in range(6):  # distractors: co-cited once, or close-ish in text
            add(f"d{q}_{d}", centre + 1.2 * rng.standard_normal(dim))
            add(f"e{q}_{d}", rng.standard_normal(dim))
            cites += [Citation(f"c{q}_{d % 3}", f"e{q}_{d}")]
        queries.append(Query(read=(f"q{q}",), relevant=frozenset({f"a{q}", f"b{q}"})))
    kg = in_memory_graph(papers, cites, embeddings=np.array(vecs), k1=3, n_init=1)
    return kg, queries


def test_fused_beats_the_best_single_signal_on_a_planted_fixture() -> None:
    kg, queries = planted()
    report = evaluate_queries(kg, queries, weights={"cocitation": 0.5, "text": 0.5})
    best = report.best_single()
    assert best.method in ("cocitation", "text")
    assert report.method(FUSED).ndcg > best.ndcg + 0.2  # 0.94 vs 0.61
    assert report.method(FUSED).recall == pytest.approx(1.0)
    assert report.margin() > 0.2
    # and tuning finds such weights by itself
    preps = prepare_queries(kg, queries, time_cut=False)
    weights, value = fit_weights(preps)
    assert value == pytest.approx(1.0)
    assert weights["cocitation"] > 0 and weights["text"] > 0


def test_fit_weights_can_be_restricted_to_some_signals() -> None:
    kg, queries = planted()
    preps = prepare_queries(kg, queries, time_cut=False)
    weights, value = fit_weights(preps, signals=("text",))
    assert weights["text"] == 1.0 and sum(weights.values()) == 1.0
    assert value < 0.9  # text alone finds only one of the two hidden papers
    with pytest.raises(EvaluationError, match="No signal to tune"):
        fit_weights(preps, signals=("nope",))


def test_pruned_queries_keep_the_ideal_and_the_top(world: KnowledgeGraph) -> None:
    from kg.recommend.tuning import _mean_ndcg

    preps = prepare_queries(world, holdout_queries(world, n=20, seed=3), time_cut=True)
    small = [p.pruned(15) for p in preps]
    assert all(s.rows.size < p.rows.size for s, p in zip(small, preps, strict=True))
    assert [s.n_relevant for s in small] == [int(p.relevant.sum()) for p in preps]
    for name in ("cocitation", "text", "influence"):
        w = np.array([1.0 if s == name else 0.0 for s in SIGNALS])
        assert _mean_ndcg(small, w, 10) == pytest.approx(_mean_ndcg(preps, w, 10))
    with pytest.raises(EvaluationError, match="Pruned queries are for tuning only"):
        evaluate_prepared(world, small)


def test_evaluate_prepared_compares_weight_sets_on_the_same_queries() -> None:
    kg, queries = planted()
    preps = prepare_queries(kg, queries, time_cut=False)
    a = evaluate_prepared(kg, preps, weights={"cocitation": 0.5, "text": 0.5})
    b = evaluate_prepared(kg, preps, weights={s: float(s == "text") for s in SIGNALS})
    assert a.method("text") == b.method("text")
    assert a.method(FUSED).ndcg > b.method(FUSED).ndcg
    assert b.method(FUSED).ndcg == pytest.approx(b.method("text").ndcg, abs=0.05)
    with pytest.raises(EvaluationError, match="No query has a relevant paper"):
        evaluate_prepared(kg, [])


# --------------------------------------------------------------------------- groups
def test_group_queries_draw_read_papers_within_each_group() -> None:
    groups = {"big": [f"p{i}" for i in range(8)], "tiny": ["x", "y", "z", "w"]}
    qs = group_queries(groups, n_read=3, repeats=4, seed=0)
    assert len(qs) == 4 and all(q.group == "big" for q in qs)
    for q in qs:
        assert len(q.read) == 3 and q.relevant == set(groups["big"]) - set(q.read)


def test_group_evaluation_finds_text_groups(world: KnowledgeGraph) -> None:
    groups: dict[str, list[str]] = {}
    for pid, p in world.papers.items():
        groups.setdefault(p.title.rsplit(" ", 1)[-1], []).append(pid)
    report = evaluate_groups(world, groups, n_read=3, repeats=3)
    assert report.kind == "groups" and len(report.groups) == 4
    assert report.method("text").precision > 2 * report.method("random").precision
    name, size, scores = report.groups[0]
    assert size == len(groups[name]) and {s.method for s in scores} >= {"text", FUSED}
    with pytest.raises(EvaluationError, match="No group has 5 or more papers"):
        evaluate_groups(world, {"g": ["p0001", "p0002"]})


# --------------------------------------------------------------------------- CLI
@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    import app.cli_recommend as mod

    graph = make_kg()
    monkeypatch.setattr(mod, "load_graph", lambda: graph)
    return CliRunner()


def test_cli_recommend_table_and_json(cli: CliRunner) -> None:
    from app.cli import app

    res = cli.invoke(app, ["recommend", "--read", "ARXIV:2209.10652", "--read", "r2", "-k", "3"])
    assert res.exit_code == 0, res.output
    assert "3 of 19 candidates for 2 read paper(s)" in res.output
    items = [ln for ln in res.output.splitlines() if ln[:3].strip().rstrip(".").isdigit()]
    assert len(items) == 3 and res.output.count("\n      - ") >= 3  # every item has reasons
    res = cli.invoke(
        app, ["recommend", "-r", "r1", "-r", "r2", "-k", "2", "--format", "json", "--no-surveys"]
    )
    data = json.loads(res.output)
    assert data["read"] == ["r1", "r2"] and len(data["recommendations"]) == 2
    first = data["recommendations"][0]
    assert first["reasons"] and set(first["signals"]) == set(SIGNALS)


def test_cli_recommend_path_filters_and_errors(cli: CliRunner) -> None:
    from app.cli import app

    res = cli.invoke(app, ["recommend", "-r", "r1", "-r", "r2", "-k", "4", "--path"])
    assert res.exit_code == 0 and "(as a reading path)" in res.output and "path: " in res.output
    res = cli.invoke(app, ["recommend", "-r", "r1", "--year-from", "2030"])
    assert res.exit_code == 2 and "years from 2030 excludes every one" in res.output
    res = cli.invoke(app, ["recommend", "-r", "Toy Models of Superpositoin"])
    assert res.exit_code == 2 and "did you mean" in res.output
    res = cli.invoke(app, ["recommend", "-r", "r1", "--not", "t1", "--open-access", "-k", "1"])
    assert res.exit_code == 0 and "Open paper at NeurIPS" in res.output


def test_cli_recommend_asks_s2_only_when_told_and_survives_its_absence(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.cli_recommend as mod
    from app.cli import app
    from ingest.s2recs import S2Recommendations

    asked: list[tuple[list[str], list[str]]] = []

    def fake(liked: list[str], disliked: list[str]) -> S2Recommendations:
        asked.append((liked, disliked))
        return S2Recommendations(scores={"s1": 1.0})

    monkeypatch.setattr(mod, "_s2_recommendations", fake)
    res = cli.invoke(app, ["recommend", "-r", "ARXIV:2209.10652", "-k", "3"])
    assert res.exit_code == 0 and not asked
    res = cli.invoke(app, ["recommend", "-r", "ARXIV:2209.10652", "--not", "t1", "--s2"])
    assert res.exit_code == 0, res.output
    assert asked == [(["r1"], ["t1"])]  # graph ids, not the forms typed
    assert "Semantic Scholar recommends it for your papers (#1)" in res.output
    monkeypatch.setattr(
        mod, "_s2_recommendations", lambda *_a: S2Recommendations(reason="offline: no answer")
    )
    res = cli.invoke(app, ["recommend", "-r", "r1", "-k", "3", "--s2"])
    assert res.exit_code == 0 and "left out: offline: no answer" in res.output
    assert "3 of" in res.output


def test_cli_path(cli: CliRunner) -> None:
    from app.cli import app

    res = cli.invoke(app, ["path", "y", "x", "r1"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith(" 1. Softmax Linear Units (2021)")
    assert "foundational: cited by 1 paper in this list" in lines[1]
    data = json.loads(cli.invoke(app, ["path", "y", "x", "--format", "json"]).output)
    assert [d["paper_id"] for d in data] == ["x", "y"]


def test_cli_eval_tunes_and_saves_weights(
    monkeypatch: pytest.MonkeyPatch, world: KnowledgeGraph, tmp_path: Path
) -> None:
    import app.cli_recommend as mod
    from app.cli import app

    monkeypatch.setattr(mod, "load_graph", lambda: world)
    runner = CliRunner()
    res = runner.invoke(app, ["eval", "--protocol", "holdout", "--queries", "20"])
    assert res.exit_code == 0, res.output
    assert "| method | P@20 | recall@20 | nDCG@10 | MRR |" in res.output
    assert "Citation hold-out, random split" in res.output
    args = ["eval", "--protocol", "holdout", "--tune", "--queries", "20", "--format", "json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    saved = Path(data["saved_weights"])
    assert saved.exists() and json.loads(saved.read_text()) == data["tuned"]
    monkeypatch.setattr(mod, "load_graph", make_kg)
    res = runner.invoke(app, ["eval", "--protocol", "holdout"])
    assert res.exit_code == 2 and "Ingest deeper" in res.output
    res = runner.invoke(app, ["eval"])  # the curated lists: the fixture has none
    assert res.exit_code == 2 and "No curated list has 3 or more papers" in res.output


def test_cli_eval_on_the_curated_lists_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.cli_recommend as mod
    from app.cli import app

    graph = sectioned(n_sections=6)
    monkeypatch.setattr(mod, "load_graph", lambda: graph)
    res = CliRunner().invoke(app, ["eval", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["kind"] == "lists" and data["queries"] == 30 and len(data["groups"]) == 6
    assert data["notes"][0].startswith("Curated lists: 6 lists (page.txt: Papers > Section 0")
    res = CliRunner().invoke(app, ["eval", "--protocol", "nope"])
    assert res.exit_code == 2 and "--protocol must be lists or holdout" in res.output


# --------------------------------------------------------------------------- build-time tuning
#: Defaults that cannot find a text cluster: priors only (no evidence weighs anything, and
#: graph trust moves only the graph signals' weight), so any weight on text or lexical
#: beats them.
BLIND = {s: (1.0 if s == "recency" else 0.0) for s in SIGNALS}


def test_auto_tune_fits_on_curated_lists_and_is_deterministic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kg.recommend.tuning as ev

    monkeypatch.setattr(ev, "DEFAULT_WEIGHTS", BLIND)
    lines: list[str] = []
    kg = sectioned(n_sections=12)
    first = auto_tune(kg, echo=lines.append)
    again = auto_tune(kg, echo=lines.append)
    assert len(lines) == 2 and lines[0].split(" (")[:-1] == lines[1].split(" (")[:-1]
    assert lines[0].startswith("Fusion weights tuned on the curated lists (12 lists of >= 4")
    assert "30 tuning + 30 held-out queries" in lines[0]
    assert first is not None and again is not None, lines[0]
    assert first.weights == again.weights and set(first.weights) == set(SIGNALS)
    assert sum(first.weights.values()) == pytest.approx(1, abs=1e-2)
    lo, hi = first.interval
    assert 0 < lo <= first.tuned_ndcg - first.default_ndcg <= hi, "adopted beyond the noise"
    assert first.weights["text"] > 0 and first.tuned_ndcg > 0.9  # the clusters are found
    assert "stored the tuned weights" in first.line() and "90% interval" in first.line()


def test_auto_tune_keeps_the_defaults_when_the_gain_is_within_the_noise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kg.recommend.tuning as ev

    kg = sectioned(n_sections=12)
    monkeypatch.setattr(ev, "DEFAULT_WEIGHTS", BLIND)
    tuned = auto_tune(kg)
    assert tuned is not None
    monkeypatch.setattr(ev, "DEFAULT_WEIGHTS", dict(tuned.weights))  # defaults = the optimum
    lines: list[str] = []
    assert auto_tune(kg, echo=lines.append) is None
    assert "kept the default weights" in lines[0]
    # a fit that only nudges the defaults: a gain, if any, within the interval's noise
    nudged = {k: v * (1.2 if k == "text" else 1.0) for k, v in tuned.weights.items()}
    monkeypatch.setattr(ev, "fit_weights", lambda *_a, **_k: (nudged, 0.0))
    lines.clear()
    assert auto_tune(kg, echo=lines.append) is None
    assert "kept the default weights" in lines[0]


def test_auto_tune_returns_none_with_a_reason() -> None:
    lines: list[str] = []
    assert auto_tune(make_kg(), echo=lines.append) is None
    assert lines[0].startswith("Fusion weights not tuned: Too little to tune on: 0 lists have")
    assert "reading lists" in lines[0] and "the default weights stay" in lines[0]
    lines.clear()
    assert auto_tune(sectioned(n_sections=3), echo=lines.append) is None
    assert "3 lists have >= 4 papers in the graph (4 needed" in lines[0]


def test_curated_lists_sections_whole_lists_tags_and_reading_lists() -> None:
    kg = sectioned(n_sections=2)
    extra = [Paper(f"k{i}", f"Keyworded {i}", year=2020, tags=("Circuits",)) for i in range(5)]
    papers = [*kg.papers.values(), *extra]
    vecs = np.vstack([kg.embeddings, np.ones((5, kg.embeddings.shape[1]))])
    flat = [dataclasses.replace(r, section_path=()) for r in kg.seeds if r.paper_id]
    other = [SeedRow("ids.txt", i, f"u{i}", "resolved", paper_id=f"u{i}") for i in range(4)]
    g = in_memory_graph(papers, embeddings=vecs, k1=3, n_init=1, seeds=[*kg.seeds, *other])
    lists = curated_lists(g, {"mine": ["u1", "u2", "u3", "u4", "nope"], "tiny": ["u1"]})
    assert sorted(lists) == [
        "ids.txt (whole list)",
        "page.txt: Papers > Section 0",
        "page.txt: Papers > Section 1",
        "reading list: mine",
        "tag: circuits",
    ]
    assert lists["reading list: mine"] == ["u1", "u2", "u3", "u4"]
    assert lists["tag: circuits"] == [f"k{i}" for i in range(5)]
    unsectioned = dataclasses.replace(g, seeds=flat)
    assert "page.txt (whole list)" in curated_lists(unsectioned)


def test_list_queries_count_a_paper_missing_from_the_pool_as_a_miss() -> None:
    lists = {"a": ["p1", "p2", "p3", "p4", "gone"], "b": ["p1", "p2"], "c": ["x1", "y1", "z1"]}
    qs = list_queries(lists, {"p1", "p2", "p3", "p4", "x1"}, n_read=2, repeats=3, seed=1)
    assert {q.group for q in qs} == {"a"}  # b is too small, c has one paper in the pool
    assert len(qs) == 3 and len({q.read for q in qs}) == 3
    for q in qs:
        assert set(q.read) <= {"p1", "p2", "p3", "p4"} and "gone" in q.relevant
        assert len(q.relevant) == 3
    m = list_metrics(["p3", "zz", "p4"], {"p3", "p4", "gone"})
    assert m[0] == 2 and m[1] == pytest.approx(2 / 3) and m[3] == 1.0
    assert m[2] == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3) + 0.5))


def test_bootstrap_interval_resamples_whole_lists() -> None:
    diffs = [0.2, 0.2, 0.2, -0.1, -0.1, -0.1]
    mean, lo, hi = bootstrap_interval(diffs, ["a", "a", "a", "b", "b", "b"], seed=3)
    assert mean == pytest.approx(0.05) and lo == pytest.approx(-0.1) and hi == pytest.approx(0.2)
    mean, lo, hi = bootstrap_interval([0.1] * 8, seed=3)
    assert mean == lo == hi == pytest.approx(0.1)
    assert bootstrap_interval([]) == (0.0, 0.0, 0.0)


def test_auto_tune_plans_fewer_queries_on_big_graphs() -> None:
    assert auto_queries(21_223, 30.0) == 120
    assert auto_queries(200_000, 30.0) == 29  # ~0.55 s a query there
    assert auto_queries(2_000_000, 30.0) == 20 == auto_queries(200_000, 0.0)


def test_auto_tune_stops_at_its_budget() -> None:
    lines: list[str] = []
    assert auto_tune(sectioned(n_sections=12), budget_s=0.0, echo=lines.append) is None
    assert "took more than the 0s budget; the default weights stay" in lines[0]


def sectioned(n_sections: int = 6, size: int = 6) -> KnowledgeGraph:
    """No citations; a seed page whose sections are text clusters, plus unlisted papers."""
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((n_sections, 16))
    papers: list[Paper] = []
    vecs: list[np.ndarray] = []
    seeds: list[SeedRow] = []
    for s in range(n_sections):
        for i in range(size):
            pid = f"s{s}_{i}"
            papers.append(Paper(pid, f"Listed paper {pid}", year=2020 + i % 4))
            vecs.append(centres[s] + 0.6 * rng.standard_normal(16))
            seeds.append(
                SeedRow(
                    "page.txt",
                    len(seeds),
                    pid,
                    "resolved",
                    paper_id=pid,
                    section_path=("Papers", f"Section {s}"),
                )
            )
    for i in range(150):
        papers.append(Paper(f"u{i}", f"Unlisted paper {i}", year=2015 + i % 10))
        vecs.append(rng.standard_normal(16) * 1.3)
    seeds.append(SeedRow("page.txt", len(seeds), "Unresolved", "unresolved",
                         section_path=("Papers", "Section 0")))  # fmt: skip
    kg = in_memory_graph(papers, embeddings=np.array(vecs), k1=3, n_init=1)
    return dataclasses.replace(kg, seeds=seeds)


def test_seed_sections_are_groups_of_resolved_listed_papers() -> None:
    groups = seed_sections(sectioned())
    assert len(groups) == 6 and groups["page.txt: Papers > Section 0"][:2] == ["s0_0", "s0_1"]
    assert all(len(m) == 6 for m in groups.values())
    assert seed_sections(sectioned(), min_size=7) == {}


def test_cli_eval_auto_tunes_like_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.cli_recommend as mod
    import kg.recommend.tuning as ev
    from app.cli import app

    monkeypatch.setattr(ev, "DEFAULT_WEIGHTS", BLIND)
    graph = sectioned(n_sections=12)
    monkeypatch.setattr(mod, "load_graph", lambda: graph)
    runner = CliRunner()
    res = runner.invoke(app, ["eval", "--auto"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("Fusion weights tuned on the curated lists")
    assert "Saved the tuned weights to" in res.output
    monkeypatch.setattr(mod, "load_graph", make_kg)
    res = runner.invoke(app, ["eval", "--auto", "--format", "json"])
    data = json.loads(res.output)
    assert data["weights"] is None and data["saved_weights"] is None
    assert data["message"].startswith("Fusion weights not tuned: Too little to tune on")


def test_curated_topics_made_from_the_lists_are_hidden_from_the_list_protocol() -> None:
    from kg.core.model import Topic, TopicMembership
    from kg.recommend.evaluate import evaluate_lists
    from kg.recommend.protocols import judged_graph

    kg = sectioned(n_sections=6)
    leak = [Topic(f"curated/s{s}", f"Section {s}", "curated") for s in range(6)]
    members = [TopicMembership(r.paper_id, f"curated/s{r.paper_id[1]}", 1.0)
               for r in kg.seeds if r.paper_id]  # fmt: skip
    model = dataclasses.replace(
        kg.topics, topics=[*kg.topics.topics, *leak], memberships=[*kg.topics.memberships, *members]
    )
    leaky = dataclasses.replace(kg, topics=model)
    judged = judged_graph(leaky)
    assert {t.scheme for t in judged.topics.topics} == {t.scheme for t in kg.topics.topics}
    assert len(judged.topics.memberships) == len(kg.topics.memberships)
    assert judged_graph(kg) is kg  # nothing curated: the same graph
    topic = evaluate_lists(leaky).method("topic").ndcg
    assert topic == pytest.approx(evaluate_lists(kg).method("topic").ndcg) and topic < 0.9


def test_seed_rows_kept_offline_are_lists_too() -> None:
    kg = sectioned(n_sections=2)
    offline = [dataclasses.replace(r, status="offline") for r in kg.seeds if r.paper_id]
    lists = seed_sections(dataclasses.replace(kg, seeds=offline))
    assert sorted(lists) == ["page.txt: Papers > Section 0", "page.txt: Papers > Section 1"]
    unresolved = [dataclasses.replace(r, status="unresolved") for r in kg.seeds if r.paper_id]
    assert seed_sections(dataclasses.replace(kg, seeds=unresolved)) == {}
