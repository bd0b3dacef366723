from __future__ import annotations

import numpy as np

from knowledge_base.embeddings.base import Vectors
from knowledge_base.embeddings.cache import QueryCachingEmbedder


class CountingEmbedder:
    name = "counting"
    dimension = 2

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self.embed_queries(texts)

    def embed_queries(self, texts: list[str]) -> Vectors:
        self.seen.extend(texts)
        return np.asarray([[len(t), 1.0] for t in texts], dtype=np.float32).reshape(-1, 2)


def test_a_query_embedded_twice_is_computed_once_and_order_is_kept() -> None:
    inner = CountingEmbedder()
    cached = QueryCachingEmbedder(inner, size=8)
    first = cached.embed_queries(["abc", "de"])
    second = cached.embed_queries(["de", "abc", "fghi"])
    assert inner.seen == ["abc", "de", "fghi"]
    assert first[:, 0].tolist() == [3, 2] and second[:, 0].tolist() == [2, 3, 4]


def test_the_oldest_queries_are_forgotten_beyond_the_size() -> None:
    inner = CountingEmbedder()
    cached = QueryCachingEmbedder(inner, size=2)
    cached.embed_queries(["a", "b", "c"])
    cached.embed_queries(["a"])
    assert inner.seen == ["a", "b", "c", "a"]  # "a" was the oldest, evicted by "c"


def test_documents_are_never_cached() -> None:
    inner = CountingEmbedder()
    cached = QueryCachingEmbedder(inner)
    cached.embed_documents(["x"])
    cached.embed_documents(["x"])
    assert inner.seen == ["x", "x"]
    assert cached.embed_queries([]).shape == (0, 2)
