"""Multilingual knowledge base: loaders, chunking, embeddings, Chroma store, hybrid retrieval."""
