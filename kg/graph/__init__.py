"""The citation graph: the NetworkX/SciPy projection, the graph algorithms on its citation
matrix (PageRank, the citation walk, co-citation, coupling), its load snapshot, and the
built knowledge graph readers load.
"""
