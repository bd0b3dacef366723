"""Two embedders as one: concatenated unit vectors, each scaled by 1/sqrt(2).

The cosine of two such vectors is the mean of the members' cosines, so Chroma's cosine
search ranks by the averaged similarity without any change.
"""

from __future__ import annotations

import math

import numpy as np

from knowledge_base.embeddings.base import Embedder, Vectors


class EnsembleEmbedder:
    def __init__(self, members: list[Embedder]) -> None:
        self._members = members
        self._scale = 1.0 / math.sqrt(len(members))

    @property
    def name(self) -> str:
        return "+".join(m.name for m in self._members)

    @property
    def dimension(self) -> int:
        return sum(m.dimension for m in self._members)

    def embed_documents(self, texts: list[str]) -> Vectors:
        return np.hstack([m.embed_documents(texts) for m in self._members]) * self._scale

    def embed_queries(self, texts: list[str]) -> Vectors:
        return np.hstack([m.embed_queries(texts) for m in self._members]) * self._scale
