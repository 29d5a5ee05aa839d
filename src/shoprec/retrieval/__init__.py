"""Retrieval of a model's top items from its embeddings: the embedding protocol and the ANN index."""
