"""Choosing the embedder from a setting such as ``use-multilingual`` or ``openai:MODEL``."""

from __future__ import annotations

from knowledge_base.embeddings.base import Embedder, EmbeddingError
from knowledge_base.embeddings.e5_small import E5SmallEmbedder
from knowledge_base.embeddings.ensemble import EnsembleEmbedder
from knowledge_base.embeddings.openai_compatible import OpenAICompatibleEmbedder
from knowledge_base.embeddings.use_multilingual import UseMultilingualEmbedder

LOCAL_MODELS = ("use-multilingual", "e5-small", "ensemble")


def create_embedder(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    batch_size: int = 64,
) -> Embedder:
    if spec == "use-multilingual":
        return UseMultilingualEmbedder(batch_size)
    if spec == "e5-small":
        return E5SmallEmbedder(batch_size)
    if spec == "ensemble":
        return EnsembleEmbedder([UseMultilingualEmbedder(batch_size), E5SmallEmbedder(batch_size)])
    if spec.startswith("openai:") and len(spec) > len("openai:"):
        return OpenAICompatibleEmbedder(spec.split(":", 1)[1], base_url, api_key, batch_size)
    raise EmbeddingError(
        f"unknown embeddings {spec!r}: use one of {', '.join(LOCAL_MODELS)} or openai:MODEL"
    )
