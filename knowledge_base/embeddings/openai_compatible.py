"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint."""

from __future__ import annotations

import re

import numpy as np
import openai

from knowledge_base.embeddings.base import EmbeddingError, Vectors, batched, l2_normalize


class OpenAICompatibleEmbedder:
    def __init__(
        self,
        model: str,
        base_url: str | None,
        api_key: str | None,
        batch_size: int = 64,
        timeout_s: float = 30.0,
    ) -> None:
        self._model = model
        self._batch_size = batch_size
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=2
        )
        self._dimension: int | None = None

    @property
    def name(self) -> str:
        return "openai-" + re.sub(r"[^a-zA-Z0-9.-]+", "-", self._model)

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed_queries(["dimension probe"]).shape[1])
        return self._dimension

    def _embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        rows: list[list[float]] = []
        for batch in batched(texts, self._batch_size):
            try:
                response = self._client.embeddings.create(model=self._model, input=batch)
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"embedding endpoint failed: {exc}") from exc
            ordered = sorted(response.data, key=lambda item: item.index)
            if len(ordered) != len(batch):
                raise EmbeddingError(
                    f"embedding endpoint returned {len(ordered)} vectors for {len(batch)} texts"
                )
            rows.extend(item.embedding for item in ordered)
        vectors = l2_normalize(np.asarray(rows, dtype=np.float32))
        self._dimension = int(vectors.shape[1])
        return vectors

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self._embed(texts)

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._embed(texts)
