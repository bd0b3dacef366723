"""Text embeddings behind one small port, with the models that ship inside installed packages."""

from knowledge_base.embeddings.base import Embedder, EmbeddingError
from knowledge_base.embeddings.factory import create_embedder

__all__ = ["Embedder", "EmbeddingError", "create_embedder"]
