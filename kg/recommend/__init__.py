"""What to read next: recommendations from a read set, with reasons; reading paths; and
their offline evaluation.

:func:`~kg.recommend.rank.recommend` takes the papers a reader has read or liked (any id
form: S2 id, ``ARXIV:``, ``DOI:``, ``CorpusId:``, arXiv/DOI/S2 URLs, or a unique title
prefix), optionally papers they disliked, filters and ``k``, and returns
:class:`~kg.core.model.Recommendation` objects whose ``reasons`` say in plain words, with
numbers, why each paper is there.

Every paper of the graph that is not read is a candidate (preprint/published twins are
one item: the graph folds them via ``same_as``, and two items with the same title are
folded too), and every signal is computed for all candidates at once with sparse
matrix-vector products and one dense matrix product:

==============  ==========================================================================
signal          what (for candidate ``c`` and read set ``R``)
==============  ==========================================================================
``cited_by``    how many papers of ``R`` cite ``c``
``cites``       how many papers of ``R`` ``c`` cites
``cocitation``  co-citation with ``R``, summed over ``R``: Salton-normalised, each citing
                paper weighted 1 / log(2 + its reference count) (Adamic/Adar: a survey
                citing 300 papers says less about any two of them than a short list)
``cocited``     how many times ``c`` is cited together with a paper of ``R``, counted
                (``log(1 + count)``): the central papers of ``R``'s topic, which the
                normalised ``cocitation`` discounts for being cited by many
``coupling``    bibliographic coupling with ``R`` (the same two normalisations)
``ppr``         personalised PageRank restarting at ``R``, on the undirected citation graph
``text``        MiniLM cosine to ``R`` (the mean over ``R``); where
                ``c`` and a read paper both have SPECTER2 vectors, averaged with SPECTER2's
``lexical``     tf-idf cosine of title + abstract words and adjacent word pairs (plurals
                folded, stop words dropped) to ``R``, the mean over ``R``: exact terms
                ("sparse autoencoder") that a dense vector blurs
``topic``       cosine of idf-weighted topic memberships (scores) with ``R``'s profile
``influence``   ``log(1 + centrality)``: PageRank within this graph (mean 1), so a paper
                central to the reader's neighbourhood counts, not one the world cites for
                other reasons (a prior)
``recency``     ``0.5 ** (years before the newest candidate / 4)`` (a prior)
``s2``          Semantic Scholar's own recommendations for ``R`` where the caller asked
                for them (``external``: paper id -> score by S2's rank); 0 without them,
                so offline its absence changes nothing
==============  ==========================================================================

Each signal is scaled to 0..1 over the candidates (divided by its maximum; the text
similarity first has its median subtracted, so the bulk of unrelated papers sits at 0;
most papers share no term with ``R``, so lexical needs no such floor).
The fused score (:func:`~kg.recommend.fusion.fuse`) is the weighted evidence ``E`` (every
signal but the :data:`~kg.recommend.signals.PRIORS`) raised by the weighted priors ``Q``:
``E * (1 + Q)`` (weights sum to 1), so a paper with no link or closeness to ``R`` scores 0
however cited or recent, and every recommendation names its evidence among its reasons.
With the default weights, the graph statistics (``cocitation``, ``cocited``, ``coupling``,
``ppr``) keep their weight as far as the graph knows ``R``
(:func:`~kg.recommend.fusion.graph_trust` of :func:`~kg.recommend.signals.graph_support`,
the mean co-citation count of the 20 most co-cited candidates): a read set few papers of
the graph cite (new preprints, a corner the crawl barely reached) gives their weight to
``text`` and ``lexical``, whose evidence does not depend on citations; direct links
(``cites``, ``cited_by``) keep theirs. Disliked papers subtract
:data:`~kg.recommend.fusion.DISLIKE_WEIGHT` times a candidate's closeness to them (the
larger of text similarity and co-citation/coupling, scaled the same way). The weights are
fitted on the graph's own curated lists at build time
(:func:`kg.recommend.tuning.auto_tune`: seed-page sections, keywords, reading lists) and
stored with it only when they beat :data:`~kg.recommend.fusion.DEFAULT_WEIGHTS` on held-out
lists beyond the noise; the defaults come from the curated-list benchmark (see there and
``tests/bench/RESULTS.md``). Diversity: maximal marginal relevance over the fused score
with MiniLM similarity (``diversity`` = 0 turns it off); two items with the same title are
one.

Everything that does not depend on the query (alias table, embedding rows per graph node,
topic matrix, lexical index, priors, the walk matrix) is computed once per
:class:`KnowledgeGraph` and kept with it (:meth:`kg.recommend.index.RecommendIndex.of`).

The modules, in the order the data flows through them:

* :mod:`kg.recommend.index`: the per-paper index
  (:class:`~kg.recommend.index.RecommendIndex`), built once per graph and shared with the
  views; resolving ids and title prefixes;
* :mod:`kg.recommend.signals`: every signal for every node, then scaled over the
  candidates;
* :mod:`kg.recommend.fusion`: the weights, the fused score and the filters;
* :mod:`kg.recommend.explain`: the reasons;
* :mod:`kg.recommend.rank`: :func:`~kg.recommend.rank.recommend` (MMR selection) and
  :class:`~kg.recommend.rank.Recommender`, the recommender fitted once on a graph;
* :mod:`kg.recommend.path`: reading paths;
* :mod:`kg.recommend.metrics`, :mod:`kg.recommend.protocols`,
  :mod:`kg.recommend.tuning`, :mod:`kg.recommend.evaluate`: the offline evaluation
  (metrics, queries, weight fitting, every method side by side).

The graph algorithms (PageRank, the citation walk, co-citation, coupling) are
those of :mod:`kg.graph.algorithms`.
"""
