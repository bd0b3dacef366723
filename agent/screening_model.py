"""The learned layer of screening: manipulation and threats worded unlike any pattern.

The patterns of ``screening_patterns.yaml`` are precise but only know the wordings they
were written for; goal hijacking, prompt leaking, role play, requests for other customers'
data, instructions hidden in pasted text and unsafe requests are said in endless other
ways. Two logistic regressions read the message's multilingual sentence embedding (the
same vector triage and retrieval already computed, so this costs a dot product): one for
manipulation and unsafe requests (refused), one for threats to self or others (escalated
as distress). Their thresholds are chosen on ordinary customers' messages, angry ones
included, so that almost none is refused.

The weights belong to the embedding model they were fitted with (``embedder`` in
``screening_model.json``, written by ``python -m eval.screening_calibration``); with
another embedding model the layer stays off and the patterns screen alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from agent.logistic import Logistic, packaged_json
from knowledge_base.embeddings import Embedder
from knowledge_base.normalize import normalize_for_search, words

MODEL_FILE = "screening_model.json"
MIN_WORDS = 4
"""Shorter messages ("oui", "1", "la deuxième") are outside what the models were fitted on
(attacks and requests of four words and more) and get arbitrary scores: patterns only."""

LearnedVerdict = Literal["ok", "manipulation", "threat"]


@dataclass(frozen=True)
class ScreeningModel:
    embedder: str
    manipulation: Logistic
    manipulation_threshold: float
    threat: Logistic
    threat_threshold: float

    def to_json(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "manipulation": self.manipulation.to_json(),
            "manipulation_threshold": round(self.manipulation_threshold, 4),
            "threat": self.threat.to_json(),
            "threat_threshold": round(self.threat_threshold, 4),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScreeningModel:
        return cls(
            embedder=str(data["embedder"]),
            manipulation=Logistic.from_json(data["manipulation"]),
            manipulation_threshold=float(data["manipulation_threshold"]),
            threat=Logistic.from_json(data["threat"]),
            threat_threshold=float(data["threat_threshold"]),
        )

    def scores(self, vector: np.ndarray[Any, np.dtype[Any]]) -> tuple[float, float]:
        row = np.asarray(vector, dtype=np.float64)[None, :]
        return (
            float(self.manipulation.probabilities(row)[0]),
            float(self.threat.probabilities(row)[0]),
        )


@lru_cache(maxsize=1)
def default_screening_model() -> ScreeningModel:
    return ScreeningModel.from_json(packaged_json(MODEL_FILE))


@dataclass(frozen=True)
class LearnedScreening:
    verdict: LearnedVerdict
    manipulation: float
    threat: float

    @property
    def reason(self) -> str:
        return f"learned screening: manipulation {self.manipulation:.2f}, threat {self.threat:.2f}"


class LearnedScreener:
    """Screens with the packaged model when it suits the tenant's embedding model."""

    def __init__(self, embedder: Embedder, model: ScreeningModel | None = None) -> None:
        self._embedder = embedder
        model = model or default_screening_model()
        self._model = model if model.embedder == embedder.name else None

    @property
    def active(self) -> bool:
        return self._model is not None

    def screen(self, text: str) -> LearnedScreening:
        if self._model is None or len(words(normalize_for_search(text))) < MIN_WORDS:
            return LearnedScreening("ok", 0.0, 0.0)
        manipulation, threat = self._model.scores(self._embedder.embed_queries([text])[0])
        # A threat is a person in danger: it goes to an adviser even if it also manipulates.
        if threat >= self._model.threat_threshold:
            return LearnedScreening("threat", manipulation, threat)
        if manipulation >= self._model.manipulation_threshold:
            return LearnedScreening("manipulation", manipulation, threat)
        return LearnedScreening("ok", manipulation, threat)
