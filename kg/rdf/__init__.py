"""The RDF graph: vocabulary, term mapping, stores, SPARQL (guarded, pooled) and the SPARQL
endpoint.
"""
