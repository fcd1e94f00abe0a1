"""Text representations of papers: sentence embeddings and the lexical (TF-IDF) index."""
