"""A small memory of recent query embeddings.

One customer message is embedded by triage and again by retrieval (same text, same
glosses); remembering the last few hundred query vectors saves the second pass.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from knowledge_base.embeddings.base import Embedder, Vectors


class QueryCachingEmbedder:
    def __init__(self, inner: Embedder, size: int = 512) -> None:
        self._inner = inner
        self._size = size
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self._inner.embed_documents(texts)

    def embed_queries(self, texts: list[str]) -> Vectors:
        if not texts:
            return self._inner.embed_queries([])
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
            for text in known:
                self._cache.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = dict(zip(missing, self._inner.embed_queries(missing), strict=True))
            known.update(fresh)
            with self._lock:
                self._cache.update(fresh)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts]).astype(np.float32)
