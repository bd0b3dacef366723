"""The embedding port: texts in, L2-normalised float32 rows out."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class EmbeddingError(RuntimeError):
    """The embedding model could not be loaded or did not answer."""


class Embedder(Protocol):
    @property
    def name(self) -> str:
        """Stable identifier, part of the Chroma collection name: change it, re-index."""
        ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> Vectors: ...

    def embed_queries(self, texts: list[str]) -> Vectors: ...


def l2_normalize(vectors: npt.NDArray[np.floating]) -> Vectors:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: Vectors = (array / norms).astype(np.float32)
    return normalized


def batched(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]
