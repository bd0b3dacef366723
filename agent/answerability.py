"""Does one of the retrieved passages answer the message, and which one?

Retrieval always returns something, so "the first passage" is only a guess: the weather in
Rabat lands on the validity of recharge credit, and "how do I pay my bill" on the entry
about contesting one. A small logistic model reads, for every candidate, what the rankings
know about it (similarity of the message to the entry's own question and to its text,
share of the message's words the entry contains, where the dense and lexical rankings put
it, how far it stands from the other candidates) and gives the probability that it answers
the message. The best candidate is the answer when that probability clears the model's
threshold; otherwise nothing in the documents answers, and the agent says so.

Every feature is a similarity, a share or a rank, never a raw count, so the same weights
hold for a tenant of fifteen entries or five thousand. The weights and the threshold are
data (``answerability_model.json``), fitted on the sample tenants by ``python -m
eval.calibration`` and measured there on sets and on a tenant they were never fitted on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from agent.extractive import reply_language_of
from agent.logistic import Logistic, Matrix, packaged_json
from knowledge_base.analyzer import terms
from knowledge_base.retrieval import RetrievedChunk

MODEL_FILE = "answerability_model.json"
CANDIDATES = 6
"""Passages retrieved per message: the right entry is among the first six nine times in ten."""
LANGUAGE_FLAGS = ("ar", "darija", "arabizi", "en")
"""The customer's language as indicator features (French is the reference)."""
FEATURES = (
    "dense",
    "question",
    "coverage",
    "own_coverage",
    "title_coverage",
    "fused_rank",
    "dense_rank",
    "lexical_rank",
    "reply_language",
    "faq",
    "question_lead",
    "dense_lead",
    "coverage_lead",
    "query_terms",
    *(f"language_{code}" for code in LANGUAGE_FLAGS),
)


def _reciprocal(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / (1.0 + rank)


def _lead(values: list[float], i: int) -> float:
    """How far candidate ``i`` stands above the best of the others."""
    others = values[:i] + values[i + 1 :]
    return values[i] - max(others) if others else values[i]


def candidate_features(
    chunks: list[RetrievedChunk], query: str, reply_language: str, language: str
) -> Matrix:
    """One row of FEATURES per candidate, in the order retrieval ranked them."""
    query_terms = len(set(terms(query)))
    dense = [c.dense_similarity for c in chunks]
    question = [c.question_similarity for c in chunks]
    coverage = [c.coverage for c in chunks]
    flags = [1.0 if language == code else 0.0 for code in LANGUAGE_FLAGS]
    rows = [
        [
            c.dense_similarity,
            c.question_similarity,
            c.coverage,
            c.own_coverage,
            c.title_coverage,
            _reciprocal(i),
            _reciprocal(c.dense_rank),
            _reciprocal(c.lexical_rank),
            1.0 if reply_language_of(c) == reply_language else 0.0,
            1.0 if c.metadata.get("is_faq") else 0.0,
            _lead(question, i),
            _lead(dense, i),
            _lead(coverage, i),
            math.log1p(query_terms),
            *flags,
        ]
        for i, c in enumerate(chunks)
    ]
    return np.asarray(rows, dtype=np.float64).reshape(len(chunks), len(FEATURES))


def rank(choice: Logistic, candidates: Matrix) -> tuple[list[int], Matrix]:
    """Candidates in the choice model's order, and the message's summary features."""
    probabilities = choice.probabilities(candidates)
    order = [int(i) for i in np.argsort(-probabilities, kind="stable")]
    return order, message_features(candidates, order[0], probabilities)


def message_features(candidates: Matrix, chosen: int, probabilities: Matrix) -> Matrix:
    """What the whole candidate list says about the message: the best value of each
    signal, the chosen candidate's own values, and how sure the choice was."""
    ordered = np.sort(probabilities)[::-1]
    lead = ordered[0] - ordered[1] if len(ordered) > 1 else ordered[0]
    return np.concatenate(
        [candidates.max(axis=0), candidates[chosen], [probabilities[chosen], lead]]
    )


@dataclass(frozen=True)
class AnswerabilityModel:
    choice: Logistic
    """Per candidate: is this the entry that answers the message?"""
    answerable: Logistic
    """Per message: do the documents answer it at all?"""
    answer_threshold: dict[str, float]
    """Per customer language: from this probability on, the chosen entry is the answer."""
    suggest_threshold: float
    """Between this and the answer threshold, the closest entries are offered instead."""

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "choice": self.choice.to_json(),
            "answerable": self.answerable.to_json(),
            "answer_threshold": {k: round(v, 4) for k, v in self.answer_threshold.items()},
            "suggest_threshold": round(self.suggest_threshold, 4),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerabilityModel:
        if list(data.get("features", [])) != list(FEATURES):
            raise ValueError("answerability model: its features are not this code's")
        return cls(
            choice=Logistic.from_json(data["choice"]),
            answerable=Logistic.from_json(data["answerable"]),
            answer_threshold={k: float(v) for k, v in data["answer_threshold"].items()},
            suggest_threshold=float(data["suggest_threshold"]),
        )


@lru_cache(maxsize=1)
def default_model() -> AnswerabilityModel:
    return AnswerabilityModel.from_json(packaged_json(MODEL_FILE))


@dataclass(frozen=True)
class Assessment:
    """The entry most likely to answer the message, and how likely the documents answer
    it at all."""

    ranked: list[RetrievedChunk]
    """Candidates, most likely answer first."""
    probability: float
    """That the documents answer the message (the answerable model)."""
    verdict: Literal["answer", "suggest", "none"]

    @property
    def best(self) -> RetrievedChunk | None:
        return self.ranked[0] if self.ranked else None


def assess(
    chunks: list[RetrievedChunk],
    query: str,
    *,
    reply_language: str,
    language: str,
    model: AnswerabilityModel | None = None,
) -> Assessment:
    if not chunks:
        return Assessment([], 0.0, "none")
    model = model or default_model()
    order, summary = rank(model.choice, candidate_features(chunks, query, reply_language, language))
    probability = float(model.answerable.probabilities(summary[None, :])[0])
    # A language the model has no threshold for gets the strictest one.
    answer_from = model.answer_threshold.get(
        language, max(model.answer_threshold.values(), default=1.0)
    )
    verdict: Literal["answer", "suggest", "none"] = (
        "answer"
        if probability >= answer_from
        else "suggest"
        if probability >= model.suggest_threshold
        else "none"
    )
    return Assessment([chunks[i] for i in order], probability, verdict)
