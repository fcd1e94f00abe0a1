"""Topic schemes: curated sections, discovered clusters on planted blobs, S2 fields, save/load."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.core.model import Paper, Topic, TopicMembership
from kg.store.corpus import LOW_CONFIDENCE, RESOLVED, SeedRow
from kg.topics.cluster import coarse_k, fine_k, spherical_kmeans
from kg.topics.discover import DiscoveredTopics, discover_topics
from kg.topics.label import ctfidf, terms, top_keywords
from kg.topics.model import CURATED, DISCOVERED, S2_FIELDS, TopicError, TopicModel, default_path
from kg.topics.quality import nmi, purity
from kg.topics.schemes import (
    build_topic_model,
    curated_scheme,
    link_topics,
    s2_fields_scheme,
    slugify,
)
from tests.conftest import shared_path

# Four coarse themes, each with three sub-themes; every paper's text uses its words.
THEMES = {
    "sparse autoencoders": ["dictionary features", "feature splitting", "monosemantic units"],
    "induction heads": ["copying circuits", "attention patterns", "phase change"],
    "reward hacking": ["specification gaming", "goal misgeneralization", "proxy objectives"],
    "protein folding": ["amino acids", "structure prediction", "molecular dynamics"],
}
FILLER = ["we", "study", "the", "model", "and", "report", "results", "on", "benchmarks"]


def blobs(
    per_sub: int = 25, dim: int = 48, seed: int = 0
) -> tuple[list[str], np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Ids, embeddings (coarse centre + sub offset + noise), texts, coarse and fine truth."""
    rng = np.random.default_rng(seed)
    ids: list[str] = []
    vecs: list[np.ndarray] = []
    texts: list[str] = []
    coarse: list[int] = []
    fine: list[int] = []
    for c, (theme, subs) in enumerate(THEMES.items()):
        centre = rng.normal(size=dim) * 3
        for s, sub in enumerate(subs):
            offset = rng.normal(size=dim) * 1.2
            for i in range(per_sub):
                ids.append(f"p{c}-{s}-{i}")
                vecs.append(centre + offset + rng.normal(size=dim) * 0.3)
                words = " ".join(rng.choice(FILLER, size=6))
                texts.append(f"{theme.title()} and {sub}. We look at {theme} via {sub}; {words}.")
                coarse.append(c)
                fine.append(c * 3 + s)
    return ids, np.array(vecs, dtype=np.float32), texts, np.array(coarse), np.array(fine)


Found = tuple[DiscoveredTopics, list[str], np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def found() -> Found:
    ids, x, texts, coarse, fine = blobs()
    return discover_topics(ids, x, texts, k1=4, k2=3, seed=0), ids, coarse, fine


HEADS = "Induction Heads"


def test_curated_scheme_from_section_paths() -> None:
    seeds = [
        SeedRow("page", 0, "Overview", RESOLVED, paper_id="a", section_path=("Overviews",)),
        SeedRow("page", 1, "IOI", RESOLVED, paper_id="b", section_path=("Papers",)),
        SeedRow("page", 2, "Olsson", RESOLVED, paper_id="c", section_path=("Papers", HEADS)),
        SeedRow("page", 3, "Singh", RESOLVED, paper_id="pre", section_path=("Papers", HEADS)),
        SeedRow("page", 4, "Maybe", LOW_CONFIDENCE, paper_id="d", section_path=("Papers",)),
        SeedRow("page", 5, "Prose", RESOLVED, paper_id="e", section_path=()),
    ]  # fmt: skip
    topics, members = curated_scheme(seeds, same_as={"pre": "pub"})
    by_id = {t.topic_id: t for t in topics}
    assert set(by_id) == {"curated/overviews", "curated/papers", "curated/papers/induction-heads"}
    heads = by_id["curated/papers/induction-heads"]
    assert heads.label == "Induction Heads" and heads.scheme == CURATED
    assert heads.broader == "curated/papers" and by_id["curated/papers"].broader is None
    got = {(m.paper_id, m.topic_id, m.score) for m in members}
    assert got == {
        ("a", "curated/overviews", 1.0),
        ("b", "curated/papers", 1.0),
        ("c", "curated/papers/induction-heads", 1.0),
        ("pub", "curated/papers/induction-heads", 1.0),  # twin folded
    }


def test_slugify() -> None:
    assert slugify("Induction Heads") == "induction-heads"
    assert slugify("Überblick & Co.") == "uberblick-co"
    assert slugify("???").startswith("x")


@pytest.mark.parametrize(
    ("label", "slug"),
    [
        # ASCII labels: unchanged from the first version of slugify
        ("Induction Heads", "induction-heads"),
        ("Papers", "papers"),
        ("Computer Science", "computer-science"),
        (
            "Sparse Autoencoders (SAEs) & Dictionary Learning",
            "sparse-autoencoders-saes-dictionary-learning",
        ),
        ("  GPT-2 / IOI  ", "gpt-2-ioi"),
        ("Superposition: toy models", "superposition-toy-models"),
        # accents dropped, letters NFKD cannot split spelled out
        ("Überblick & Co.", "uberblick-co"),
        ("Théorie des «graphes»", "theorie-des-graphes"),
        ("Straße", "strasse"),
        ("Łukasz Ørsted Æther", "lukasz-orsted-aether"),
        ("ＦＵＬＬ width", "full-width"),
        # no ASCII spelling: a digest of the label, alone or after the ASCII part
        ("注意力", "x105a8b5a"),
        ("Attention 注意力", "attention-x2d491320"),
    ],
)
def test_slugify_is_readable_ascii(label: str, slug: str) -> None:
    assert slugify(label) == slug


def test_slugify_digests_tell_labels_apart_but_not_spellings() -> None:
    cjk = ["注意力", "自注意", "Трансформеры", "トランスフォーマー", "???", "!!!"]
    slugs = [slugify(label) for label in cjk]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"x[0-9a-f]{8}", s) for s in slugs)
    assert slugify("α-VAE") != slugify("β-VAE")
    # the same label however it is spaced, cased or normalised
    assert slugify("Трансформеры") == slugify(" трансформеры ")
    assert slugify(unicodedata.normalize("NFD", "Ελληνικά")) == slugify("Ελληνικά")


def test_slugify_is_stable_across_processes() -> None:
    """Python's hash() of a str differs between processes (PYTHONHASHSEED); slugs must not."""
    labels = ["注意力", "Attention 注意力", "Überblick", "???", "Induction Heads"]
    code = (
        "import json, sys; from kg.topics.schemes import slugify; "
        "print(json.dumps([slugify(t) for t in json.loads(sys.argv[1])]))"
    )
    runs = []
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, json.dumps(labels)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == runs[2] == [slugify(t) for t in labels]


def test_s2_fields_scheme() -> None:
    papers = [
        Paper("a", "A", fields_of_study=("Computer Science", "Mathematics")),
        Paper("b", "B", fields_of_study=("Computer Science",)),
        Paper("c", "C"),
    ]
    topics, members = s2_fields_scheme(papers)
    assert [(t.topic_id, t.label, t.scheme) for t in topics] == [
        ("s2-fields/computer-science", "Computer Science", S2_FIELDS),
        ("s2-fields/mathematics", "Mathematics", S2_FIELDS),
    ]
    assert len(members) == 3 and all(m.score == 1.0 for m in members)


def test_discovered_clusters_recover_planted_blobs(found: Found) -> None:
    d, ids, coarse, fine = found
    assert d.ids == ids
    assert nmi(d.coarse, coarse) > 0.9
    assert nmi(d.fine, fine) > 0.9
    assert purity(d.coarse, coarse) > 0.95
    coarse_topics = [t for t in d.topics if t.broader is None]
    fine_topics = [t for t in d.topics if t.broader is not None]
    assert len(coarse_topics) == 4 and len(fine_topics) == 12
    assert all(t.scheme == DISCOVERED for t in d.topics)
    assert {t.broader for t in fine_topics} == {t.topic_id for t in coarse_topics}


def test_keywords_are_distinctive(found: Found) -> None:
    d = found[0]
    for t in d.topics:
        if t.broader is None:
            theme = next(th for th in THEMES if th in t.keywords[:3])
            assert theme.split()[0] in t.label
            assert set(t.keywords[:4]) == {theme, *THEMES[theme]}, t.keywords
        else:
            parent = next(p for p in d.topics if p.topic_id == t.broader)
            theme = next(th for th in THEMES if th in parent.keywords[:3])
            assert any(sub in t.keywords[:3] for sub in THEMES[theme]), (t.keywords, theme)
    labels = [t.label for t in d.topics]
    assert len(set(labels)) == len(labels)


def test_memberships_are_scored_and_bounded(found: Found) -> None:
    d = found[0]
    by_paper: dict[str, list[TopicMembership]] = {}
    for m in d.memberships:
        by_paper.setdefault(m.paper_id, []).append(m)
        assert 0 < m.score <= 1
    for pid, ms in by_paper.items():
        top = [m for m in ms if m.topic_id.count("/") == 1]
        assert 1 <= len(top) <= 3 and sum(m.score for m in top) <= 1 + 1e-6, pid
        assert max(m.score for m in top) > 0.5


def test_discovery_is_deterministic() -> None:
    ids, x, texts, _, _ = blobs(per_sub=10)
    a = discover_topics(ids, x, texts, seed=3)
    b = discover_topics(ids, x, texts, seed=3)
    assert a.topics == b.topics and a.memberships == b.memberships
    assert a.params["k1"] == coarse_k(len(ids))


def test_discovery_rejects_bad_input() -> None:
    ids, x, texts, _, _ = blobs(per_sub=2)
    with pytest.raises(TopicError, match="aligned"):
        discover_topics(ids[:-1], x, texts)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(TopicError, match="NaN"):
        discover_topics(ids, bad, texts)
    zero = x.copy()
    zero[0] = 0
    assert ids[0] not in discover_topics(ids, zero, texts).ids


def test_k_follows_data_size() -> None:
    assert coarse_k(3) == 1 and coarse_k(300) == 2 and coarse_k(3000) == 8
    assert coarse_k(21_000) == 20 and coarse_k(10**6) == 20
    assert fine_k(10) == 1 and fine_k(100) == 2 and fine_k(1000) == 6 and fine_k(10**5) == 8


def test_spherical_kmeans_numbers_clusters_by_size() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(size=(5, 8)) + 9, rng.normal(size=(20, 8)) - 9])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels, centroids = spherical_kmeans(x, 2)
    assert (labels[5:] == 0).all() and (labels[:5] == 1).all()
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1)


def test_terms_and_ctfidf() -> None:
    assert terms("Sparse autoencoders, and the model's features.") == [
        "sparse",
        "autoencoders",
        "sparse autoencoders",
        "model",
        "features",
        "model features",
    ]
    texts = ["apple pie apple", "apple tart", "engine oil", "engine parts oil"]
    w, vocab = ctfidf(texts, np.array([0, 0, 1, 1]), 2, min_df=1)
    assert top_keywords(w[0], vocab, 2)[0][0] in {"apple", "apple pie"}
    assert top_keywords(w[1], vocab, 1)[0][0] in {"engine", "oil"}
    # a bigram replaces its two words; a plural repeats its singular
    vocab = ["sparse", "autoencoders", "sparse autoencoders", "sparses"]
    kw = top_keywords(np.array([3.0, 2.0, 1.0, 0.5]), vocab)
    assert [t for t, _ in kw] == ["sparse autoencoders"]


def test_nmi_and_purity_match_definitions() -> None:
    assert nmi([0, 0, 1, 1], ["a", "a", "b", "b"]) == pytest.approx(1.0)
    assert nmi([0, 1, 0, 1], ["a", "a", "b", "b"]) == pytest.approx(0.0, abs=1e-12)
    assert purity([0, 0, 0, 1], ["a", "a", "b", "b"]) == pytest.approx(0.75)
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 5, 200), rng.integers(0, 7, 200)
    assert nmi(a, b) == pytest.approx(metrics.normalized_mutual_info_score(a, b))


def test_nmi_and_purity_take_labels_of_mixed_types() -> None:
    # Tags, numbers and None in one list (sklearn alone refuses to sort them).
    assert nmi(["x", 1, None, None], [1, 2, 3, 3]) == pytest.approx(1.0)
    assert purity(["x", 1, None, None], [1, 2, 3, 4]) == pytest.approx(0.75)
    assert nmi([], []) == 1.0 and purity([], []) == 1.0
    with pytest.raises(TopicError, match="differ in length"):
        nmi([0, 1], [0])


def test_link_topics_by_overlap() -> None:
    curated = [TopicMembership(p, "curated/heads") for p in ("a", "b", "c", "z")]
    curated += [TopicMembership("d", "curated/saes")]
    discovered = [
        TopicMembership("a", "discovered/0", 0.9),
        TopicMembership("b", "discovered/0", 0.8),
        TopicMembership("c", "discovered/1", 1.0),
        TopicMembership("d", "discovered/1", 0.7),
    ]
    links = link_topics(curated, discovered)
    # z has no embedding; heads: (0.9+0.8)/3 in discovered/0; only one paper in /1
    assert links == [
        ("curated/heads", "discovered/0", pytest.approx(1.7 / 3)),
        ("curated/saes", "discovered/1", pytest.approx(0.7)),
    ]


def test_build_topic_model_and_round_trip(tmp_path: Path) -> None:
    ids, x, texts, _, _ = blobs(per_sub=8)
    papers = [
        Paper(pid, t.split(".")[0], abstract=t, fields_of_study=("Computer Science",))
        for pid, t in zip(ids, texts, strict=True)
    ]
    seeds = [
        SeedRow("page", i, "t", RESOLVED, paper_id=pid, section_path=("Papers", "SAEs"))
        for i, pid in enumerate(ids[:20])
    ]
    model = build_topic_model(papers, seeds, ids=ids, embeddings=x, seed=1, k1=4)
    schemes = {t.scheme for t in model.topics}
    assert schemes == {CURATED, DISCOVERED, S2_FIELDS}
    assert model.links and model.links[0][0] == "curated/papers/saes"
    assert model.links[0][2] > 0.9
    assert len(model.members("s2-fields/computer-science")) == len(ids)
    assert model.topics_of(ids[0])
    assert model.narrower("curated/papers")[0].topic_id == "curated/papers/saes"
    path = model.save(default_path(tmp_path / "graph"))
    assert path.name == "topics.json"
    assert TopicModel.load(path) == model


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(TopicError, match="litkg build"):
        TopicModel.load(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(TopicError, match="Cannot read"):
        TopicModel.load(tmp_path / "x.json")
    (tmp_path / "y.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(TopicError, match="not a litkg topics file"):
        TopicModel.load(tmp_path / "y.json")


ident = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
score = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
models = st.builds(
    TopicModel,
    topics=st.lists(
        st.builds(
            Topic,
            topic_id=ident,
            label=ident,
            scheme=st.sampled_from([CURATED, DISCOVERED, S2_FIELDS]),
            broader=st.none() | ident,
            keywords=st.lists(ident, max_size=3).map(tuple),
        ),
        max_size=4,
    ),
    memberships=st.lists(st.builds(TopicMembership, ident, ident, score), max_size=6),
    links=st.lists(st.tuples(ident, ident, score), max_size=3),
    keywords=st.dictionaries(ident, st.lists(st.tuples(ident, score), max_size=3), max_size=3),
    params=st.dictionaries(ident, st.integers() | ident, max_size=3),
)


@given(models)
@settings(max_examples=50, deadline=None)
def test_topic_model_json_round_trip(model: TopicModel) -> None:
    assert TopicModel.from_json(json.loads(json.dumps(model.to_json()))) == model


@pytest.mark.needs_shared
def test_real_abstracts_give_readable_keywords() -> None:
    """On 600 real LLM-paper abstracts the keywords are words a reader recognises."""
    path = shared_path("corpus", "llm-papers.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for _, line in zip(range(600), fh, strict=False)]
    texts = [f"{r['title']}. {r.get('abstract') or ''}" for r in rows]
    ids = [r["bibkey"] for r in rows]
    # a cheap stand-in for embeddings: the rows of a hashed bag of words
    vocab: dict[str, int] = {}
    x = np.zeros((len(texts), 512), dtype=np.float32)
    for i, text in enumerate(texts):
        for term in terms(text, bigrams=False):
            x[i, vocab.setdefault(term, len(vocab)) % 512] += 1
    d = discover_topics(ids, x, texts, k1=4, k2=2)
    for t in d.topics:
        assert len(t.keywords) >= 5
        assert not set(t.keywords) & {"the", "we", "propose", "paper", "results"}


# --------------------------------------------------------------------------- updates
def as_model(d: DiscoveredTopics) -> TopicModel:
    """A discovered scheme as a saved and reloaded topics file would give it back."""
    model = TopicModel(
        topics=d.topics,
        memberships=d.memberships,
        keywords=d.keywords,
        params={"discovered": d.params},
    )
    return TopicModel.from_json(json.loads(json.dumps(model.to_json())))


def primary(d: DiscoveredTopics) -> dict[str, tuple[str, str | None]]:
    """Paper -> (coarse topic id, sub-topic id or None) of its hard assignment."""
    coarse_ids = d.coarse_ids()
    return {
        pid: (coarse_ids[int(c)], d.fine_ids[int(f)] if f >= 0 else None)
        for pid, c, f in zip(d.ids, d.coarse, d.fine, strict=True)
    }


Grown = tuple[list[str], np.ndarray, list[str], list[int]]


@pytest.fixture(scope="module")
def grown() -> Grown:
    """324 papers, and the rows of 318 of them: 2 papers of each sub-theme of theme 0
    are new. Before, theme 0 is the smallest cluster; after, all themes are the same
    size, so a fresh clustering numbers theme 0 differently."""
    ids, x, texts, _, _ = blobs(per_sub=27)
    old = [i for i, pid in enumerate(ids) if not re.fullmatch(r"p0-\d-2[56]", pid)]
    return ids, x, texts, old


def papers_of(ids: list[str], texts: list[str]) -> list[Paper]:
    return [Paper(pid, t.split(".")[0], abstract=t) for pid, t in zip(ids, texts, strict=True)]


def grown_update(grown: Grown) -> tuple[list[str], TopicModel, TopicModel]:
    """The old papers' ids, their model (saved and reloaded), and its warm-started update
    with every paper (k1 = 4, k2 = 3)."""
    ids, x, texts, old = grown
    old_ids = [ids[i] for i in old]
    before = build_topic_model(
        papers_of(old_ids, [texts[i] for i in old]), ids=old_ids, embeddings=x[old], k1=4, k2=3
    )
    before = TopicModel.from_json(json.loads(json.dumps(before.to_json())))
    after = build_topic_model(
        papers_of(ids, texts), ids=ids, embeddings=x, k1=4, k2=3, previous=before
    )
    return old_ids, before, after


def test_update_keeps_topic_ids_labels_and_members(grown: Grown) -> None:
    ids, x, texts, _ = grown
    old_ids, before, after = grown_update(grown)
    params = after.params["discovered"]
    assert params["warm_start"] is True and params["fresh_reason"] is None
    assert params["changed"] == pytest.approx(6 / 318, abs=1e-6)
    # the same topics, with the same labels and keywords (each gained <= 6 of 75+ papers)
    assert after.in_scheme(DISCOVERED) == before.in_scheme(DISCOVERED)
    assert {t: after.keywords[t] for t in before.keywords} == before.keywords
    assert params["kept_labels"] == 16 and params["retired"] == []
    # every old paper keeps its topics; the new ones join their theme's topics
    for pid in old_ids:
        assert next(iter(after.topics_of(pid))) == next(iter(before.topics_of(pid)))
        assert set(after.topics_of(pid)) == set(before.topics_of(pid))
    for s in range(3):
        for i in (25, 26):
            assert set(after.topics_of(f"p0-{s}-{i}")) == set(before.topics_of(f"p0-{s}-0"))
    # what the warm start avoids: a fresh run numbers the clusters by their new sizes
    fresh = build_topic_model(papers_of(ids, texts), ids=ids, embeddings=x, k1=4, k2=3)
    assert fresh.params["discovered"]["warm_start"] is False
    assert set(fresh.topics_of("p0-0-0")) != set(before.topics_of("p0-0-0"))


def test_update_without_k_and_is_deterministic(grown: Grown) -> None:
    ids, x, texts, old = grown
    prev = as_model(discover_topics([ids[i] for i in old], x[old], [texts[i] for i in old]))
    a = discover_topics(ids, x, texts, previous=prev)
    b = discover_topics(ids, x, texts, previous=prev)
    assert a.params["warm_start"] and a.params["k1"] == coarse_k(len(ids)) == 3
    assert a.topics == b.topics and a.memberships == b.memberships
    assert a.keywords == b.keywords and a.params == b.params
    assert np.array_equal(a.coarse, b.coarse) and np.array_equal(a.fine, b.fine)
    was = primary(discover_topics([ids[i] for i in old], x[old], [texts[i] for i in old]))
    now = primary(a)
    assert sum(now[p] == was[p] for p in was) >= 0.99 * len(was)
    # an update with nothing new changes nothing, scores included
    c = discover_topics(ids, x, texts, previous=as_model(a))
    assert c.topics == a.topics and c.memberships == a.memberships and primary(c) == now


def test_update_retires_a_topic_whose_papers_left(grown: Grown) -> None:
    ids, x, texts, _ = grown
    prev = as_model(discover_topics(ids, x, texts, k1=4, k2=3))
    gone = [i for i, pid in enumerate(ids) if pid.startswith("p1-2-")]  # one sub-theme
    rest = [i for i in range(len(ids)) if i not in gone]
    d = discover_topics(
        [ids[i] for i in rest], x[rest], [texts[i] for i in rest], k1=4, k2=3, previous=prev
    )
    assert d.params["warm_start"]
    parent = primary(d)["p1-0-0"][0]
    old_subs = [t.topic_id for t in prev.in_scheme(DISCOVERED) if t.broader == parent]
    new_subs = [t.topic_id for t in d.topics if t.broader == parent]
    # the theme's sub-topics are found afresh (k2=3 of what is left) under new ids
    assert set(d.params["retired"]) == set(old_subs)
    assert not set(new_subs) & set(old_subs) and len(new_subs) == 3
    # the other themes keep theirs
    others = {t.topic_id for t in prev.in_scheme(DISCOVERED) if t.topic_id not in old_subs}
    assert others <= {t.topic_id for t in d.topics}
    # a later update does not hand a retired id out again
    again = discover_topics(ids, x, texts, k1=4, k2=3, previous=as_model(d))
    assert not set(d.params["retired"]) & {t.topic_id for t in again.topics}
    assert set(again.params["retired"]) >= set(d.params["retired"])


def test_update_falls_back_to_fresh_clustering(grown: Grown) -> None:
    ids, x, texts, old = grown
    fresh = discover_topics(ids, x, texts, k1=4, k2=3)
    # most papers changed: a new corpus, the previous topics say nothing about it
    half = list(range(0, len(ids), 2))
    prev = as_model(
        discover_topics([ids[i] for i in half], x[half], [texts[i] for i in half], k1=4, k2=3)
    )
    d = discover_topics(ids, x, texts, k1=4, k2=3, previous=prev)
    assert not d.params["warm_start"] and "added or removed" in d.params["fresh_reason"]
    assert d.topics == fresh.topics and d.memberships == fresh.memberships
    # another k asked for
    prev = as_model(
        discover_topics([ids[i] for i in old], x[old], [texts[i] for i in old], k1=4, k2=3)
    )
    d = discover_topics(ids, x, texts, k1=3, k2=3, previous=prev)
    assert not d.params["warm_start"] and d.params["fresh_reason"] == "k1 changed (4 -> 3)"
    assert d.params["k1"] == 3
    # other embeddings, a previous model without discovered topics, or none at all
    d = discover_topics(ids, x[:, :40], texts, k1=4, k2=3, previous=prev)
    assert "dimension" in d.params["fresh_reason"]
    d = discover_topics(ids, x, texts, k1=4, k2=3, previous=TopicModel())
    assert d.params["fresh_reason"] == "no previous discovered topics"
    assert d.topics == fresh.topics and d.memberships == fresh.memberships


def test_update_from_a_version_1_topics_file(grown: Grown, tmp_path: Path) -> None:
    """Files written before updates existed (no ``k1_target``, ``retired``...) still load
    and warm-start: the previous centroids come from the memberships alone."""
    ids, x, texts, old = grown
    data = as_model(
        discover_topics([ids[i] for i in old], x[old], [texts[i] for i in old], k1=4, k2=3)
    ).to_json()
    assert data["version"] == 1
    params = data["params"]["discovered"]
    data["params"]["discovered"] = {
        key: params[key]
        for key in ("n_papers", "dim", "k1", "k2", "n_subtopics", "seed", "temperature",
                    "min_score", "max_topics", "method")
    }  # fmt: skip
    data["memberships"].reverse()  # the primary topic is the best score, not the first listed
    path = tmp_path / "topics.json"
    path.write_text(json.dumps(data))
    prev = TopicModel.load(path)
    d = discover_topics(ids, x, texts, k1=4, k2=3, previous=prev)
    assert d.params["warm_start"] and d.params["kept_labels"] == 16
    assert [t.topic_id for t in d.topics] == [t["id"] for t in data["topics"]]


def test_update_keeps_auto_k_near_a_rounding_boundary() -> None:
    from kg.topics.cluster import hold_k

    # sqrt(n / 50) crosses 7.5 at n = 2812.5: a corpus that grows across it keeps k = 7
    assert coarse_k(2800) == 7 and coarse_k(2830) == 8
    assert hold_k(7, coarse_k(2830), (2830 / 50) ** 0.5) == 7
    assert hold_k(7, coarse_k(3200), (3200 / 50) ** 0.5) == 8  # 8.0: far enough past
    assert hold_k(8, coarse_k(2800), (2800 / 50) ** 0.5) == 8


def test_update_keeps_scores_that_barely_moved(grown: Grown) -> None:
    from kg.topics.schemes import SCORE_TOLERANCE, settle_scores

    _, before, after = grown_update(grown)
    old_scores = {(m.paper_id, m.topic_id): m.score for m in before.memberships}
    moved = [
        m
        for m in after.memberships
        if (m.paper_id, m.topic_id) in old_scores
        and m.score != old_scores[(m.paper_id, m.topic_id)]
    ]
    # only memberships that really moved change: the RDF topics graph can be patched
    assert all(
        abs(m.score - old_scores[(m.paper_id, m.topic_id)]) >= SCORE_TOLERANCE for m in moved
    )
    # and the rule itself, on hand-made memberships
    prev = TopicModel(topics=[], memberships=[TopicMembership("a", "t", 0.50)])
    new = [TopicMembership("a", "t", 0.51), TopicMembership("a", "u", 0.3)]
    assert settle_scores(new, prev) == [TopicMembership("a", "t", 0.50), new[1]]
    assert settle_scores([TopicMembership("a", "t", 0.9)], prev)[0].score == 0.9
