"""Topics: clustering the papers, labelling the clusters, the SKOS concept scheme."""
