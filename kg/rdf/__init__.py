"""The RDF graph: vocabulary, term mapping, stores, SPARQL (guarded, pooled) and the SPARQL
endpoint.

In the order the data flows: :mod:`~kg.rdf.vocab` (namespaces, IRIs),
:mod:`~kg.rdf.mapping` (papers, citations, topics, lists -> triples),
:mod:`~kg.rdf.nquads` (graphs as N-Quads in hashed buckets), :mod:`~kg.rdf.stores`
(open and query Oxigraph, rdflib's memory store, or a SPARQL server through
:mod:`~kg.rdf.remote`, the one module that speaks HTTP to one), :mod:`~kg.rdf.writers`,
:mod:`~kg.rdf.snapshots` and :mod:`~kg.rdf.sync` (the build: ``build_rdf``),
:mod:`~kg.rdf.export` (files), :mod:`~kg.rdf.lists` (saved reading lists); then the
readers: :mod:`~kg.rdf.guard` (read-only, syntax and SERVICE checks),
:mod:`~kg.rdf.binding` (bound parameters), :mod:`~kg.rdf.sparql` (``run_query``),
:mod:`~kg.rdf.results` (formats), :mod:`~kg.rdf.canned` (``queries/*.rq``),
:mod:`~kg.rdf.pool` (worker processes) and :mod:`~kg.rdf.serve` (the HTTP endpoint).
"""
