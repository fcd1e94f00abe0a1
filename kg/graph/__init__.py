"""The citation graph: the NetworkX/SciPy projection, its load snapshot, and the built
knowledge graph readers load.
"""
