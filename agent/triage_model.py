"""The learned layer of triage: sensitive messages of any sector, worded any way.

The policy's keywords and examples were written for telecom and consumer-credit customers;
a fraud about a card, a meter or an insurance claim is said in other words. One logistic
regression per category reads the message's multilingual sentence embedding (the vector
triage computes anyway) and how close the message is to the tenant's own FAQ questions
(its ordinary requests). They were fitted on messages of many sectors, so that they hold
for a client of a sector nobody fitted them on (``python -m eval.triage_calibration``
measures exactly that, one sector left out at a time).

Each category has its own threshold, chosen for recall on the safety categories and for
few false escalations on the others. The weights belong to the embedding model they were
fitted with (``embedder`` in ``triage_model.json``); with another one the layer is off and
keywords and examples decide alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from agent.logistic import Logistic, Matrix, packaged_json
from knowledge_base.embeddings.base import Vectors

MODEL_FILE = "triage_model.json"
ORDINARY_NEIGHBOURS = 3


def message_features(variants: Vectors, ordinary: Vectors) -> Matrix:
    """One row: the mean of the message's variant vectors (as written, and its French and
    MSA glosses), then its nearest and its three nearest ordinary requests' similarity.
    ``ordinary`` holds each ordinary request's similarity to the message, the best of the
    variants (triage computes it anyway for the examples' vote)."""
    mean = variants.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    vector = mean / norm if norm else mean
    if ordinary.size:
        k = min(ORDINARY_NEIGHBOURS, ordinary.size)
        nearest = np.partition(ordinary, ordinary.size - k)[-k:]
        closeness = [float(nearest.max()), float(nearest.mean())]
    else:
        closeness = [0.0, 0.0]
    return np.concatenate([vector, closeness]).astype(np.float64)


@dataclass(frozen=True)
class TriageModel:
    embedder: str
    categories: dict[str, Logistic]
    thresholds: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "thresholds": {k: round(v, 4) for k, v in sorted(self.thresholds.items())},
            "categories": {k: v.to_json() for k, v in sorted(self.categories.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TriageModel:
        return cls(
            embedder=str(data["embedder"]),
            categories={k: Logistic.from_json(v) for k, v in data["categories"].items()},
            thresholds={k: float(v) for k, v in data["thresholds"].items()},
        )

    def scores(self, features: Matrix) -> dict[str, float]:
        row = features[None, :]
        return {name: float(m.probabilities(row)[0]) for name, m in self.categories.items()}

    def passing(self, scores: dict[str, float]) -> dict[str, float]:
        """The categories whose score reaches their threshold, with score / threshold."""
        return {
            name: score / self.thresholds[name]
            for name, score in scores.items()
            if name in self.thresholds and score >= self.thresholds[name]
        }


@lru_cache(maxsize=1)
def default_triage_model() -> TriageModel | None:
    try:
        return TriageModel.from_json(packaged_json(MODEL_FILE))
    except FileNotFoundError:
        return None
