"""The same embedder seen by LangChain and by Chroma.

Chroma persists the name and config of a collection's embedding function and rebuilds
it when the collection is reopened; a function without ``name()`` would be stored as
"legacy", and querying such a collection by text makes Chroma download its default model.
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LangChainEmbeddingsBase

from knowledge_base.embeddings.base import Embedder
from knowledge_base.embeddings.factory import LOCAL_MODELS, create_embedder


class LangChainEmbeddings(LangChainEmbeddingsBase):
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, row)) for row in self.embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embedder.embed_queries([text])[0]]


@register_embedding_function
class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder.embed_documents(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return list(self.embedder.embed_queries(list(input)))

    @staticmethod
    def name() -> str:
        return "rafiq"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        model = str(config.get("model", ""))
        if model == "use-multilingual+e5-small":
            model = "ensemble"
        if model not in LOCAL_MODELS:
            raise ValueError(
                f"collection was built with {model!r}: open it with Rafiq's configured embedder"
            )
        return ChromaEmbeddingFunction(create_embedder(model))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"
