"""A hand-made knowledge graph for the recommender tests: every signal has a paper planted
for it, with known counts (see the comments)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from kg.core.model import Author, Citation, Paper, Topic, TopicMembership
from kg.graph.knowledge import KnowledgeGraph
from kg.recommend.protocols import in_memory_graph
from kg.text.embed import FakeEmbedder, paper_text
from kg.topics.model import TopicModel

HEX = "0123456789abcdef0123456789abcdef01234567"


def authors(*names: str) -> tuple[Author, ...]:
    return tuple(Author(n) for n in names)


def P(pid: str, title: str, year: int, abstract: str = "", **kw: object) -> Paper:
    return Paper(paper_id=pid, title=title, year=year, abstract=abstract or None, **kw)  # type: ignore[arg-type]


SUPERPOSITION = (
    "Neural networks represent more features than they have neurons by superposition; "
    "toy models show polysemantic neurons and phase changes in feature geometry."
)


def papers() -> list[Paper]:
    return [
        # the read set used by most tests
        P("r1", "Toy Models of Superposition", 2022, SUPERPOSITION,
          authors=authors("Nelson Elhage", "Tristan Hume"), citation_count=900,
          external_ids={"ArXiv": "2209.10652", "DOI": "10.48550/arxiv.2209.10652",
                        "CorpusId": "252439050"}),
        P("r2", "Towards Monosemanticity: Decomposing Language Models With Dictionary Learning",
          2023, "Dictionary learning with a sparse autoencoder finds monosemantic features.",
          authors=authors("Trenton Bricken", "Adly Templeton"), citation_count=400,
          external_ids={"ArXiv": "2310.00001"}),
        # cited by r1 and r2 ("cited by 2 of your papers")
        P("x", "Softmax Linear Units", 2021, "An activation function for interpretability.",
          authors=authors("Dan Hendrycks"), citation_count=50),
        # cites r1 and r2
        P("y", "Sparse Feature Circuits", 2024, "Circuits of sparse features in language models.",
          authors=authors("Samuel Marks", "Can Rager"), citation_count=30),
        # co-cited with r1 by c1, c2, c3
        P("z", "Polysemanticity and Capacity in Neural Networks", 2022,
          "Capacity allocation explains polysemantic units.",
          authors=authors("Adam Scherlis"), citation_count=40),
        P("c1", "Citing paper one", 2023, "Unrelated words alpha.", authors=authors("A One")),
        P("c2", "Citing paper two", 2023, "Unrelated words beta.", authors=authors("B Two")),
        P("c3", "Citing paper three", 2023, "Unrelated words gamma.", authors=authors("C Three")),
        # shares references f1, f2, f3 with r2
        P("w", "Another dictionary of features", 2023, "Lists and tables of rivers.",
          authors=authors("Wanda Coupled")),
        P("f1", "Foundation A", 2015, "Old work one.", authors=authors("Fa Ref")),
        P("f2", "Foundation B", 2016, "Old work two.", authors=authors("Fb Ref")),
        P("f3", "Foundation C", 2017, "Old work three.", authors=authors("Fc Ref")),
        # two citation steps from r1, via x (g cites x)
        P("g", "Gated units revisited", 2024, "Sailing boats and harbours.",
          authors=authors("Gina Walker")),
        # near-duplicate text of r1 (no links)
        P("t1", "Superposition in toy neural networks", 2023, SUPERPOSITION,
          authors=authors("Tom Text")),
        # in the topic "Sparse Autoencoders" with r2 (no links)
        P("s1", "Scaling sparse autoencoders", 2024, "Mountains, valleys and weather.",
          authors=authors("Sally Topic")),
        # very highly cited, and the most central paper of this graph (5 citers here)
        P("h1", "A very popular paper", 2020, "Cooking recipes.", authors=authors("Hugh Pop"),
          citation_count=5000, influential_citation_count=300),
        P("n1", "A brand new paper", 2025, "Gardening tips.", authors=authors("Nina New")),
        # preprint/published twins: tp folds into tq
        P("tp", "Induction heads in context", 2022, "Induction heads do in-context learning.",
          authors=authors("Catherine Olsson"), external_ids={"ArXiv": "2209.11895"}),
        P("tq", "Induction heads in context", 2022, "Induction heads do in-context learning.",
          authors=authors("Catherine Olsson"), venue="Transformer Circuits Thread"),
        # a survey, an open-access NeurIPS paper, a 40-hex id
        P("sv", "A Survey of Mechanistic Interpretability", 2024, "We review the field.",
          authors=authors("Leonard Bereska"), publication_types=("Review",)),
        P("oa", "Open paper at NeurIPS", 2023, "Open access features.", venue="NeurIPS",
          is_open_access=True, authors=authors("Olga Open")),
        P(HEX, "Attribution patching at scale", 2024, "Patching attributions quickly.",
          authors=authors("Neel Nanda")),
    ]  # fmt: skip


EDGES = [
    ("r1", "x"), ("r2", "x"),                      # x cited by r1, r2
    ("y", "r1"), ("y", "r2"),                      # y cites r1, r2
    ("c1", "r1"), ("c1", "z"), ("c2", "r1"), ("c2", "z"), ("c3", "r1"), ("c3", "z"),
    ("r2", "f1"), ("r2", "f2"), ("r2", "f3"), ("w", "f1"), ("w", "f2"), ("w", "f3"),
    ("g", "x"),                                    # g: two steps from r1 and r2, via x
    ("tq", "f1"),
    ("t1", "h1"), ("s1", "h1"), ("n1", "h1"), ("sv", "h1"), ("oa", "h1"),  # h1: central
]  # fmt: skip

TOPICS = [
    Topic("curated/papers", "Papers", "curated"),
    Topic("curated/sae", "Sparse Autoencoders", "curated", broader="curated/papers"),
    Topic("curated/sae/scaling", "Scaling SAEs", "curated", broader="curated/sae"),
    Topic("curated/other", "Other things", "curated", broader="curated/papers"),
]
MEMBERS = [
    TopicMembership("r2", "curated/sae", 1.0),
    TopicMembership("r2", "curated/papers", 1.0),
    TopicMembership("s1", "curated/papers", 1.0),
    TopicMembership("s1", "curated/sae/scaling", 1.0),
    TopicMembership("s1", "curated/sae", 0.9),
    TopicMembership("h1", "curated/other", 1.0),
]


def make_kg(
    *,
    extra: Sequence[Paper] = (),
    edges: Sequence[tuple[str, str]] = (),
    vectors: Mapping[str, np.ndarray] | None = None,
    weights: Mapping[str, float] | None = None,
) -> KnowledgeGraph:
    """The fixture graph (plus ``extra`` papers and ``edges``; ``vectors`` override the
    fake embeddings of some papers)."""
    ps = [*papers(), *extra]
    emb = FakeEmbedder(dim=32).embed([paper_text(p.title, p.abstract)[0] for p in ps])
    for i, p in enumerate(ps):
        if vectors and p.paper_id in vectors:
            v = np.asarray(vectors[p.paper_id], dtype=np.float32)
            emb[i] = v / np.linalg.norm(v)
    cites = [Citation(u, v) for u, v in [*EDGES, *edges]]
    model = TopicModel(topics=list(TOPICS), memberships=list(MEMBERS))
    return in_memory_graph(
        ps, cites, embeddings=emb, same_as={"tp": "tq"}, topics=model, weights=weights
    )
