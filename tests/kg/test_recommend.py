"""kg.recommend on a hand-made graph: each signal and its reason, twins, dislikes, MMR,
filters, id resolution, bad input, reading paths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kg.core.errors import KGError, RecommendError, UnknownPaperError
from kg.core.model import Citation, Paper, Recommendation
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.fusion import DEFAULT_WEIGHTS, Filters, fuse, resolve_weights
from kg.recommend.index import RecommendIndex, short_label
from kg.recommend.path import reading_path
from kg.recommend.protocols import in_memory_graph
from kg.recommend.rank import recommend, recommend_detailed
from kg.recommend.signals import PRIORS, SIGNALS
from kg.text.lexical import LexicalIndex
from tests.kg.recommend_fixtures import HEX, P, authors, make_kg

READ = ["r1", "r2"]


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return make_kg()


def only(signal: str) -> dict[str, float]:
    return {s: (1.0 if s == signal else 0.0) for s in SIGNALS}


def reasons_of(kg: KnowledgeGraph, signal: str, pid: str, read: list[str] = READ) -> list[str]:
    recs = recommend(kg, read, weights=only(signal), k=30, diversity=0)
    found = {r.paper_id: r for r in recs}
    assert pid in found, f"{pid} not recommended for {signal}: {[r.paper_id for r in recs]}"
    return list(found[pid].reasons)


# --------------------------------------------------------------------------- signals, reasons
@pytest.mark.parametrize(
    ("signal", "top", "reason"),
    [
        ("cited_by", "x", "cited by 2 of your papers: Elhage et al. 2022, Bricken et al. 2023"),
        ("cites", "y", "cites 2 of your papers: Elhage et al. 2022, Bricken et al. 2023"),
        ("cocitation", "z", "co-cited with Elhage et al. 2022 in 3 papers"),
        ("text", "t1", "close to Elhage et al. 2022 in content (0.97)"),
        (
            "lexical",
            "t1",
            "shares the terms 'toy models', 'superposition', 'neurons' with Elhage et al. 2022",
        ),
        ("topic", "s1", "in topic Sparse Autoencoders"),
        ("influence", "h1", "central in this graph (cited by 5 papers here; 5,000 in all)"),
        ("recency", "n1", "recent (2025)"),
        ("ppr", "x", "cited by 2 of your papers: Elhage et al. 2022, Bricken et al. 2023"),
    ],
)
def test_each_signal_ranks_its_planted_paper_first_with_its_reason(
    kg: KnowledgeGraph, signal: str, top: str, reason: str
) -> None:
    recs = recommend(kg, READ, weights=only(signal), k=3, diversity=0)
    assert recs[0].paper_id == top
    assert recs[0].reasons[0] == reason
    assert recs[0].score == pytest.approx(1.0)


def test_lexical_index_words_pairs_plurals_and_stop_words() -> None:
    ix = LexicalIndex(
        [
            "Sparse autoencoders find features in language models.",
            "A sparse autoencoder for the language model of birds",
            "Dictionary learning of features",
            "Unrelated text about rivers",
        ]
    )
    terms = {ix.term(c) for c in range(ix.X.shape[1])}
    # in two texts or more: plurals folded, pairs only between adjacent content words
    assert terms == {"sparse", "autoencoder", "sparse autoencoder", "language", "model",
                     "language model", "features"}  # fmt: skip
    assert not {"the", "of", "for", "model bird", "features language"} & terms
    norms = np.sqrt(np.asarray(ix.X.multiply(ix.X).sum(axis=1)).ravel())
    assert norms[:3] == pytest.approx(1.0) and norms[3] == 0.0
    sims, has = ix.similarities(np.array([0, 3]))
    assert has.tolist() == [0] and sims is not None and sims.shape == (4, 1)
    assert sims[1, 0] > sims[2, 0] > 0 and sims[3, 0] == 0
    assert ix.shared_terms(1, 0) == ["sparse autoencoder", "language model"]
    assert ix.shared_terms(2, 0) == ["features"]
    assert LexicalIndex([]).X.shape == (0, 0) and ix.nbytes > 0


def test_lexical_signal_has_no_reason_without_shared_terms(kg: KnowledgeGraph) -> None:
    res = recommend_detailed(kg, ["c1"], weights=only("lexical"), k=30, diversity=0)
    by = {r.paper_id: r for r in res.recommendations}
    assert res.signals["c2"]["lexical"] == pytest.approx(1.0)  # "unrelated words"
    assert by["c2"].reasons[0] == "shares the terms 'citing', 'unrelated words' with One 2023"
    assert res.signals["h1"]["lexical"] == 0.0
    assert not any("shares the term" in r for r in by["h1"].reasons)


def test_coupling_reason_counts_shared_references(kg: KnowledgeGraph) -> None:
    assert "shares 3 references with Bricken et al. 2023" in reasons_of(kg, "coupling", "w")


def test_two_step_reason_names_the_intermediate(kg: KnowledgeGraph) -> None:
    reasons = reasons_of(kg, "ppr", "g")
    assert reasons == ["two citation steps from Elhage et al. 2022 (via Hendrycks 2021)"]


def test_reasons_are_ordered_by_contribution_and_skip_unweighted_signals(
    kg: KnowledgeGraph,
) -> None:
    w = {**only("text"), "recency": 0.5}
    rec = {r.paper_id: r for r in recommend(kg, READ, weights=w, k=30, diversity=0)}
    assert rec["y"].reasons[0].startswith("cites 2 of your papers")  # direct links lead
    assert "recent (2024)" in rec["y"].reasons
    assert not any("central" in r for r in rec["h1"].reasons), "influence weighs 0"


def test_signals_and_weights_in_the_detailed_result(kg: KnowledgeGraph) -> None:
    res = recommend_detailed(kg, READ, k=5)
    assert set(res.signals) == {r.paper_id for r in res.recommendations}
    for values in res.signals.values():
        assert set(values) == set(SIGNALS)
        assert all(0.0 <= v <= 1.0 for v in values.values())
    assert sum(res.weights.values()) == pytest.approx(1.0)
    assert len(kg.papers) == 22 and len(kg.graph) == 21  # tp folded into tq
    assert res.read == ("r1", "r2") and res.candidates == 19
    scores = [r.score for r in res.recommendations]
    assert all(0 <= s <= 1 for s in scores)


def test_default_weights_are_used_unless_the_graph_has_tuned_ones() -> None:
    assert resolve_weights(None, None) == pytest.approx(
        {k: v / sum(DEFAULT_WEIGHTS.values()) for k, v in DEFAULT_WEIGHTS.items()}
    )
    tuned = make_kg(weights=only("influence"))
    assert recommend(tuned, READ, k=1)[0].paper_id == "h1"
    older = {s: 1.0 for s in SIGNALS if s != "lexical"}  # tuned before lexical existed
    assert resolve_weights(older, None)["lexical"] == 0.0
    others = len(SIGNALS) - 2  # every signal but lexical and s2 (0 without S2's picks)
    assert resolve_weights(older, {"lexical": 9.0})["lexical"] == pytest.approx(9 / (9 + others))
    with pytest.raises(RecommendError, match="Unknown signal weight"):
        resolve_weights(None, {"popularity": 1.0})
    with pytest.raises(RecommendError, match=">= 0"):
        resolve_weights(None, {"text": -1.0})


# --------------------------------------------------------------------------- candidates
def test_read_papers_and_twins_of_read_papers_are_never_recommended(kg: KnowledgeGraph) -> None:
    ids = [r.paper_id for r in recommend(kg, ["tp", "r1"], k=50, diversity=0)]
    assert "tp" not in ids and "tq" not in ids and "r1" not in ids
    ids = [r.paper_id for r in recommend(kg, ["r2"], k=50, diversity=0)]
    assert ids.count("tq") == 1 and "tp" not in ids, "twins are one item, under the canonical id"


def test_same_title_items_are_folded_even_without_same_as() -> None:
    copy = P("dup", "Softmax Linear Units", 2021, "An activation function for interpretability.")
    kg = make_kg(extra=[copy], edges=[("r1", "dup")])
    ids = [r.paper_id for r in recommend(kg, READ, k=50, diversity=0)]
    assert len({"x", "dup"} & set(ids)) == 1
    ids = [r.paper_id for r in recommend(kg, ["x"], k=50, diversity=0)]
    assert "dup" not in ids, "an unfolded twin of a read paper is not new"


def test_disliked_papers_push_similar_candidates_down(kg: KnowledgeGraph) -> None:
    def rank(recs: list[Recommendation], pid: str) -> int:
        return [r.paper_id for r in recs].index(pid)

    w = only("text")
    before = recommend(kg, ["r2"], weights=w, k=30, diversity=0)
    after = recommend(kg, ["r2"], disliked=["r1"], weights=w, k=30, diversity=0)
    assert rank(after, "t1") > rank(before, "t1")  # t1 reads like r1, which is disliked
    assert "r1" not in [r.paper_id for r in after]
    t1 = next(r for r in after if r.paper_id == "t1")
    assert any("which you marked not relevant" in r for r in t1.reasons)


def test_mmr_spreads_near_duplicates() -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal(32)
    other = rng.standard_normal(32)
    dups = [P(f"d{i}", f"Near duplicate number {i}", 2023, f"dup {i}") for i in range(5)]
    alts = [P(f"e{i}", f"Different angle number {i}", 2023, f"alt {i}") for i in range(2)]
    vectors = {"r1": base}
    for i in range(5):
        vectors[f"d{i}"] = base + 0.05 * rng.standard_normal(32)
    for i in range(2):
        vectors[f"e{i}"] = 0.8 * base + 0.9 * other + 0.1 * rng.standard_normal(32)
    kg = make_kg(extra=[*dups, *alts], vectors=vectors)
    plain = [r.paper_id for r in recommend(kg, ["r1"], weights=only("text"), k=4, diversity=0)]
    assert all(pid.startswith("d") for pid in plain)
    mixed = [r.paper_id for r in recommend(kg, ["r1"], weights=only("text"), k=4, diversity=0.5)]
    assert mixed[0].startswith("d") and {"e0", "e1"} & set(mixed), mixed
    assert len(set(mixed)) == 4


# --------------------------------------------------------------------------- filters
@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (Filters(year_from=2024), lambda p: (p.year or 0) >= 2024),
        (Filters(year_to=2016), lambda p: (p.year or 9999) <= 2016),
        (Filters(year_from=2016, year_to=2016), lambda p: p.year == 2016),
        (Filters(topics=("Sparse Autoencoders",)), lambda p: p.paper_id == "s1"),
        (Filters(topics=("curated/sae/scaling",)), lambda p: p.paper_id == "s1"),
        (Filters(venue="neurips"), lambda p: p.paper_id == "oa"),
        (Filters(exclude_surveys=True), lambda p: p.paper_id != "sv"),
        (Filters(open_access_only=True), lambda p: p.paper_id == "oa"),
    ],
)
def test_each_filter(kg: KnowledgeGraph, filters: Filters, allowed: object) -> None:
    recs = recommend(kg, READ, filters=filters, k=50, diversity=0)
    assert recs
    for r in recs:
        assert allowed(kg.papers[r.paper_id]), (filters, r.paper_id)  # type: ignore[operator]
    everyone = {r.paper_id for r in recommend(kg, READ, k=50, diversity=0)}
    kept = {pid for pid in everyone if allowed(kg.papers[pid])}  # type: ignore[operator]
    assert {r.paper_id for r in recs} == kept


def test_survey_keyword_in_title_counts_as_a_survey() -> None:
    kg = make_kg(extra=[P("rv", "Sparse autoencoders: a review", 2024, "x")])
    ids = {r.paper_id for r in recommend(kg, READ, filters=Filters(exclude_surveys=True), k=50)}
    assert "rv" not in ids and "sv" not in ids


def test_filters_that_exclude_everything_name_the_filter(kg: KnowledgeGraph) -> None:
    with pytest.raises(RecommendError, match=r"years from 2030 excludes every one"):
        recommend(kg, READ, filters=Filters(year_from=2030))
    with pytest.raises(RecommendError, match="together they leave none") as err:
        recommend(kg, READ, filters=Filters(venue="neurips", exclude_surveys=True, year_to=2016))
    assert "venue containing 'neurips' leaves 1" in str(err.value)
    with pytest.raises(RecommendError, match=r"Unknown topic 'Sparse Autoencoder'.*Did you mean"):
        recommend(kg, READ, filters=Filters(topics=("Sparse Autoencoder",)))
    with pytest.raises(RecommendError, match="swap them"):
        recommend(kg, READ, filters=Filters(year_from=2024, year_to=2020))


# --------------------------------------------------------------------------- ids and bad input
@pytest.mark.parametrize(
    "ref",
    [
        "r1",
        "ARXIV:2209.10652",
        "arXiv:2209.10652v3",
        "https://arxiv.org/abs/2209.10652v2",
        "http://arxiv.org/pdf/2209.10652.pdf",
        "2209.10652",
        "DOI:10.48550/ARXIV.2209.10652",
        "https://doi.org/10.48550/arXiv.2209.10652",
        "CorpusId:252439050",
        "toy models of super",
        "Toy Models of Superposition",
    ],
)
def test_every_id_form_resolves(kg: KnowledgeGraph, ref: str) -> None:
    assert RecommendIndex.of(kg).resolve([ref]) == [RecommendIndex.of(kg).pos["r1"]]


def test_s2_ids_twins_and_urls_resolve(kg: KnowledgeGraph) -> None:
    index = RecommendIndex.of(kg)
    url = f"https://www.semanticscholar.org/paper/Attribution-patching/{HEX.upper()}"
    assert index.resolve([HEX.upper(), url]) == [index.pos[HEX]]
    assert index.resolve(["tp", "ARXIV:2209.11895", "tq"]) == [index.pos["tq"]]


def test_unknown_ids_are_named_with_suggestions(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownPaperError) as err:
        recommend(kg, ["Toy Models of Superpositoin", "ARXIV:2209.10653", "r2"])
    msg = str(err.value)
    assert (
        "'Toy Models of Superpositoin' (did you mean \"Toy Models of Superposition\" [r1]?)" in msg
    )
    assert "'ARXIV:2209.10653'" in msg and "arxiv:2209.10652" in msg
    assert "litkg ingest" in msg
    assert set(err.value.unknown) == {"Toy Models of Superpositoin", "ARXIV:2209.10653"}
    assert isinstance(err.value, KGError)


def test_ambiguous_title_prefix_asks_for_more(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownPaperError, match="'Citing paper' matches 3 titles"):
        recommend(kg, ["Citing paper"])


def test_unknown_disliked_paper_is_named_as_such(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownPaperError, match="Unknown disliked paper: 'nope'"):
        recommend(kg, READ, disliked=["nope"])


def test_empty_read_set_asks_for_a_paper(kg: KnowledgeGraph) -> None:
    for read in ([], ["", "  "]):
        with pytest.raises(RecommendError, match="at least one paper"):
            recommend(kg, read)
    with pytest.raises(RecommendError, match="k must be at least 1"):
        recommend(kg, READ, k=0)


def test_nothing_left_when_everything_is_read(kg: KnowledgeGraph) -> None:
    every = [p for p in kg.papers if p != "tp"]
    with pytest.raises(RecommendError, match="nothing is left to recommend"):
        recommend(kg, every)


def test_specter_vectors_join_the_text_signal(kg: KnowledgeGraph) -> None:
    spec = np.zeros((3, 8), dtype=np.float32)
    spec[0, 0] = spec[1, 0] = 1.0  # r1 and z alike in SPECTER space
    spec[2, 1] = 1.0
    with_spec = dataclasses.replace(kg, specter_ids=["r1", "z", "t1"], specter=spec)
    res = recommend_detailed(with_spec, ["r1"], weights=only("text"), k=30, diversity=0)
    plain = recommend_detailed(kg, ["r1"], weights=only("text"), k=30, diversity=0)
    assert res.signals["z"]["text"] > plain.signals["z"]["text"]
    assert res.signals["t1"]["text"] < plain.signals["t1"]["text"]


def test_short_label() -> None:
    assert short_label(P("a", "T", 2020, authors=authors("Ada Lovelace"))) == "Lovelace 2020"
    assert short_label(P("a", "T", 2020, authors=authors("A B", "C D"))) == "B et al. 2020"
    long = Paper("b", "A title that goes on and on and on for quite a while")
    assert short_label(long) == '"A title that goes on and on and on..." n.d.'


# --------------------------------------------------------------------------- reading path
def test_reading_path_puts_foundations_first(kg: KnowledgeGraph) -> None:
    steps = reading_path(kg, ["y", "g", "x", "r2", "r1", "h1"])
    order = [s.paper_id for s in steps]
    assert order == ["h1", "x", "r1", "r2", "y", "g"]  # the oldest ready paper first
    assert [s.position for s in steps] == [1, 2, 3, 4, 5, 6]
    reasons = {s.paper_id: s.reason for s in steps}
    assert reasons["x"] == "foundational: cited by 3 papers in this list"
    assert reasons["r1"] == (
        "read after Hendrycks 2021: it builds on it; cited by 1 later paper in this list"
    )
    assert reasons["y"] == (
        "read after Bricken et al. 2023 and Elhage et al. 2022: it builds on them"
    )
    assert reasons["h1"] == "no citation links to the others in this list; placed by year (2020)"


def test_reading_path_breaks_a_cycle_by_year() -> None:
    kg = make_kg(
        extra=[
            P("old", "Older of a pair", 2019, authors=authors("Olive Older")),
            P("new", "Newer of a pair", 2021, authors=authors("Ned Newer")),
        ],
        edges=[("old", "new"), ("new", "old")],
    )
    steps = reading_path(kg, ["new", "old"])
    assert [s.paper_id for s in steps] == ["old", "new"]
    assert steps[0].reason.startswith(
        "placed before Newer 2021 although it cites it: they cite each other, so the older "
        "comes first (2019)"
    )
    assert steps[1].reason == "read after Older 2019: it builds on it"


def test_reading_path_bad_input(kg: KnowledgeGraph) -> None:
    with pytest.raises(RecommendError, match="at least one paper"):
        reading_path(kg, [])
    with pytest.raises(UnknownPaperError):
        reading_path(kg, ["r1", "missing-paper"])
    assert [s.paper_id for s in reading_path(kg, ["tp", "tq"])] == ["tq"]


def test_index_is_cached_per_graph(kg: KnowledgeGraph) -> None:
    assert RecommendIndex.of(kg) is RecommendIndex.of(kg)
    assert RecommendIndex.of(make_kg()) is not RecommendIndex.of(kg)


# --------------------------------------------------------------------------- issue: expert lists
def field(n: int = 400, seed: int = 3) -> KnowledgeGraph:
    """A bigger graph for ranking properties: 400 papers in 8 text clusters, citations
    mostly inside a cluster, years 2015-2025, a few very famous off-topic papers."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, 24))
    ps: list[Paper] = []
    vecs: dict[str, np.ndarray] = {}
    for i in range(n):
        c = i % 8
        famous = i >= n - 5
        ps.append(P(f"p{i}", f"Paper {i} of cluster {c}", 2015 + i % 11,
                    citation_count=100_000 if famous else int(rng.integers(0, 300))))  # fmt: skip
        vecs[f"p{i}"] = centres[c] + 0.8 * rng.standard_normal(24)
    edges = []
    for i in range(n):
        for _ in range(6):
            j = int(rng.integers(0, n))
            if j != i and (j % 8 == i % 8 or rng.random() < 0.1):
                edges.append((f"p{i}", f"p{j}"))
    emb = np.array([vecs[p.paper_id] / np.linalg.norm(vecs[p.paper_id]) for p in ps])
    cites = [Citation(u, v) for u, v in dict.fromkeys(edges)]
    return in_memory_graph(ps, cites, embeddings=emb, k1=4, n_init=1)


@pytest.mark.parametrize("diversity", [0.0, 0.3, 0.7])
def test_the_first_20_of_k_50_are_the_k_20_list(diversity: float) -> None:
    kg = field()
    for read in (["p0", "p8"], ["p3", "p11", "p19"], ["p5"]):
        long = recommend(kg, read, k=50, diversity=diversity)
        short = recommend(kg, read, k=20, diversity=diversity)
        assert [r.paper_id for r in long[:20]] == [r.paper_id for r in short]
        assert [r.score for r in long[:20]] == [r.score for r in short]


def test_priors_alone_never_put_a_paper_in_the_top_20() -> None:
    kg = field()
    famous = {f"p{i}" for i in range(395, 400)}
    weights = {"text": 0.2, "cocitation": 0.2, "influence": 0.3, "recency": 0.3}
    res = recommend_detailed(kg, ["p0", "p8"], k=20, weights=weights)
    for rec in res.recommendations:
        sig = res.signals[rec.paper_id]
        evidence = sum(v for k, v in sig.items() if k not in PRIORS)
        assert evidence > 0, f"{rec.paper_id} has only priors"
        assert any(not r.startswith(("central in this graph", "recent (")) for r in rec.reasons), (
            rec.reasons
        )
    # a famous paper with no evidence scores 0, however cited
    scaled = {s: np.zeros(3) for s in SIGNALS} | {"influence": np.array([1.0, 0.0, 0.0])}
    scaled["text"] = np.array([0.0, 0.5, 0.1])
    assert fuse(scaled, weights).tolist()[0] == 0.0
    assert fuse(scaled, {"influence": 1.0}).tolist() == [1.0, 0.0, 0.0]  # asked for alone
    assert set(famous) - {r.paper_id for r in res.recommendations}


def test_adamic_adar_cocitation_discounts_long_reference_lists() -> None:
    """z is co-cited with r1 by three short reference lists; v by three citing papers
    that each cite 40 others: plain counts tie, Adamic/Adar puts z first."""
    fillers = [P(f"q{i}", f"Filler {i}", 2020) for i in range(40)]
    long_citers = [P(f"l{i}", f"Long citer {i}", 2024) for i in range(3)]
    v = P("v", "Another co-cited paper", 2022)
    edges = [(f"l{i}", "r1") for i in range(3)] + [(f"l{i}", "v") for i in range(3)]
    edges += [(f"l{i}", f"q{k}") for i in range(3) for k in range(40)]
    kg = make_kg(extra=[*fillers, *long_citers, v], edges=edges)
    res = recommend_detailed(kg, ["r1"], k=50, weights={"cocitation": 1.0}, diversity=0)
    order = [r.paper_id for r in res.recommendations]
    assert order[0] == "z" and "v" in order
    assert res.signals["z"]["cocitation"] == 1.0 > res.signals["v"]["cocitation"] > 0


def test_influence_is_centrality_in_the_graph_not_the_world_count(kg: KnowledgeGraph) -> None:
    index = RecommendIndex.of(kg)
    central = index.view.centrality()
    assert central.mean() == pytest.approx(1.0)
    h1, x = index.pos["h1"], index.pos["x"]
    assert central[h1] > central[x] > central[index.pos["g"]]  # 5 citers > 3 citers > none
    famous = make_kg(extra=[P("fam", "Famous elsewhere", 2019, citation_count=10**6)])
    res = recommend_detailed(famous, READ, k=30, weights={"influence": 1.0}, diversity=0)
    assert res.signals["fam"]["influence"] < res.signals["h1"]["influence"] == 1.0


def test_reading_path_puts_an_older_foundation_before_recent_work_without_links() -> None:
    """The graph misses the citations between the foundation and the recent papers (the
    neighbourhood was not closed): the foundation still comes first, not after recent
    papers that are cited once in the list."""
    kg = make_kg(
        extra=[
            P("found", "In-context learning and induction heads", 2022),
            P("new1", "Recent one", 2024),
            P("new2", "Recent two", 2025),
            P("new3", "Recent three", 2025),
        ],
        edges=[("new3", "new1"), ("new3", "new2")],
    )
    steps = reading_path(kg, ["new1", "new2", "new3", "found"])
    assert [s.paper_id for s in steps] == ["found", "new1", "new2", "new3"]


def test_s2_recommendations_are_an_optional_signal_with_a_reason(kg: KnowledgeGraph) -> None:
    plain = recommend_detailed(kg, READ, k=5, diversity=0)
    assert plain.weights["s2"] == 0.0 and all(v["s2"] == 0 for v in plain.signals.values())
    external = {"s1": 1.0, "n1": 1 / 1.1, "not-in-graph": 1.0, "r1": 1.0}
    res = recommend_detailed(kg, READ, k=20, diversity=0, external=external)
    w = res.weights
    before = resolve_weights(None, None, with_s2=True)  # before graph trust moved weight
    assert w["s2"] == pytest.approx(max(before["text"], before["lexical"])) and w["s2"] > 0
    rec = {r.paper_id: r for r in res.recommendations}
    assert "Semantic Scholar recommends it for your papers (#1)" in rec["s1"].reasons
    assert res.signals["s1"]["s2"] == 1.0
    assert "r1" not in rec, "a read paper stays out whatever S2 says"
    # asked for alone, S2's order is kept; offline (no scores) nothing changes
    alone = recommend(kg, READ, k=2, diversity=0, external=external, weights={"s2": 1.0})
    assert [r.paper_id for r in alone] == ["s1", "n1"]
    assert "(#2)" in alone[1].reasons[0]
    assert [r.paper_id for r in recommend(kg, READ, k=5, diversity=0, external={})] == [
        r.paper_id for r in plain.recommendations
    ]
    assert resolve_weights(None, None, with_s2=True)["s2"] > 0 == resolve_weights(None, None)["s2"]
