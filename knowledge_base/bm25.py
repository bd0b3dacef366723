"""Okapi BM25 over an inverted index.

Scoring touches only the postings of the query's terms, so a query costs the same at
10,000 chunks as a dictionary look-up per term plus a few vector additions.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import numpy.typing as npt


class BM25Index:
    def __init__(self, documents: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(documents)
        lengths = np.asarray([len(d) for d in documents], dtype=np.float32)
        average = float(lengths.mean()) if self.size else 0.0
        norm = k1 * (1 - b + b * lengths / average) if average else np.ones(self.size)
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for doc_id, terms in enumerate(documents):
            for term, tf in Counter(terms).items():
                ids, tfs = postings[term]
                ids.append(doc_id)
                tfs.append(tf)
        self._postings: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {}
        self._idf: dict[str, float] = {}
        for term, (ids, tfs) in postings.items():
            id_array = np.asarray(ids, dtype=np.int64)
            tf_array = np.asarray(tfs, dtype=np.float32)
            idf = math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            self._idf[term] = idf
            weight = idf * tf_array * (k1 + 1) / (tf_array + norm[id_array])
            self._postings[term] = (id_array, weight.astype(np.float32))

    def __contains__(self, term: str) -> bool:
        return term in self._postings

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term no document holds weighs as a term in one."""
        known = self._idf.get(term)
        if known is not None:
            return known
        return math.log(1 + (self.size - 0.5) / 1.5) if self.size else 1.0

    def scores(self, query_terms: list[str]) -> npt.NDArray[np.float32]:
        scores = np.zeros(self.size, dtype=np.float32)
        for term in dict.fromkeys(query_terms):
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]
        return scores

    def top(
        self, query_terms: list[str], n: int, allowed: npt.NDArray[np.bool_] | None = None
    ) -> list[tuple[int, float]]:
        scores = self.scores(query_terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0).astype(np.float32)
        candidates = np.flatnonzero(scores > 0)
        if candidates.size > n:
            candidates = candidates[np.argpartition(-scores[candidates], n - 1)[:n]]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(i), float(scores[i])) for i in ordered]
