"""How triage picks a queue from the examples: nearest-examples vote, ties, and distress.

The embedder here places every text by hand: the message sits on one axis and each example
at the similarity a scenario needs, so each test states the geometry it relies on.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent.policy import parse_policy
from agent.triage import Triage
from knowledge_base.embeddings.base import Vectors

MESSAGE = "le message du client"

POLICY = """
version: 1
categories:
  distress:
    priority: urgent
    hard_rule: true
    examples: {fr: [d1, d2, d3, d4]}
  fraud:
    priority: urgent
    hard_rule: true
    examples: {fr: [f1, f2, f3, f4]}
  billing_anomaly:
    priority: normal
    examples: {fr: [b1, b2, b3, b4]}
  payment_difficulty:
    priority: high
    keywords: {fr: ["je ne peux plus payer"]}
    examples: {fr: [p1, p2, p3, p4]}
  complaint:
    priority: normal
    examples: {fr: [c1, c2, c3, c4]}
"""


class PlacedEmbedder:
    """Every message on axis 0; each example at a chosen similarity, on an axis of its own.

    Texts it was not told about (such as glosses) embed to zero and so never count.
    """

    name = "placed"

    def __init__(self, similarities: dict[str, float], messages: tuple[str, ...]) -> None:
        self._similarities = similarities
        self._messages = set(messages)
        self._axes = {text: axis for axis, text in enumerate(similarities, start=1)}
        self.dimension = len(similarities) + 1

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self._embed(texts)

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._embed(texts)

    def _embed(self, texts: list[str]) -> Vectors:
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            if text in self._messages:
                row[0] = 1.0
            elif text in self._similarities:
                similarity = self._similarities[text]
                row[0] = similarity
                row[self._axes[text]] = math.sqrt(1.0 - similarity**2)
        return rows


ORDINARY = ["o1", "o2", "o3", "o4"]


def triage(
    similarities: dict[str, float], policy: str = POLICY, messages: tuple[str, ...] = (MESSAGE,)
) -> Triage:
    # Every text not placed (examples and the four ordinary requests o1-o4) is far from the
    # message, so the message is clearly sensitive whenever a category's examples are close.
    far = {text: 0.1 for text in [*_example_names(policy), *ORDINARY]}
    return Triage(
        parse_policy(policy, "test"), PlacedEmbedder(far | similarities, messages), ORDINARY
    )


def _example_names(policy: str) -> list[str]:
    return [e for c in parse_policy(policy, "test").categories.values() for e in c.all_examples()]


def test_several_close_examples_outvote_one_slightly_closer_example() -> None:
    # One complaint example shares a word with the message; four billing examples share
    # its meaning. The nearest example alone would pick the complaint queue.
    decision = triage(
        {"c1": 0.80, "c2": 0.30, "b1": 0.78, "b2": 0.77, "b3": 0.76, "b4": 0.75}
    ).classify(MESSAGE)
    assert decision is not None and decision.category == "billing_anomaly"
    assert decision.evidence.startswith("close to examples of billing_anomaly (0.76 on average")


TENANT_CATEGORY = """
  roaming_issue:
    priority: normal
    examples: {fr: [r1, r2]}
"""


def test_a_tenant_category_with_two_examples_is_not_outnumbered() -> None:
    # Summed, four default examples at 0.67-0.70 would outweigh two at 0.71-0.72.
    decision = triage(
        {"r1": 0.72, "r2": 0.71, "b1": 0.70, "b2": 0.69, "b3": 0.68, "b4": 0.67},
        POLICY + TENANT_CATEGORY,
    ).classify(MESSAGE)
    assert decision is not None and decision.category == "roaming_issue"


def test_a_tied_vote_goes_to_the_queue_that_must_see_the_message_first() -> None:
    close = {f"{prefix}{i}": 0.7 for prefix in ("b", "f") for i in range(1, 5)}
    decision = triage(close).classify(MESSAGE)
    assert decision is not None and (decision.category, decision.hard_rule) == ("fraud", True)


@pytest.mark.parametrize(
    "ordinary",
    [
        {"o1": 0.72, "o2": 0.71, "o3": 0.70, "o4": 0.69},  # as close as the examples
        {"o1": 0.70, "o2": 0.69, "o3": 0.68, "o4": 0.66},  # just under the margin
    ],
)
def test_a_message_as_close_to_ordinary_requests_as_to_a_category_is_not_escalated(
    ordinary: dict[str, float],
) -> None:
    billing = {"b1": 0.74, "b2": 0.73, "b3": 0.72, "b4": 0.71}
    assert triage(billing | ordinary).classify(MESSAGE) is None


def test_one_ordinary_request_that_shares_words_does_not_outvote_a_category() -> None:
    billing = {"b1": 0.74, "b2": 0.73, "b3": 0.72, "b4": 0.71}
    decision = triage(billing | {"o1": 0.80}).classify(MESSAGE)
    assert decision is not None and decision.category == "billing_anomaly"


def test_a_message_far_from_every_example_is_not_escalated() -> None:
    assert triage({"b1": 0.34, "b2": 0.33, "b3": 0.32, "b4": 0.31}).classify(MESSAGE) is None


@pytest.mark.parametrize(("example", "category"), [("d1", "distress"), ("b1", None)])
def test_one_close_example_is_enough_only_where_a_miss_can_cost_a_life(
    example: str, category: str | None
) -> None:
    # One close example, the rest of its category far: the vote alone would not escalate.
    ordinary = {"o1": 0.55, "o2": 0.50, "o3": 0.45, "o4": 0.40}
    decision = triage({example: 0.70} | ordinary).classify(MESSAGE)
    assert (decision.category if decision else None) == category


DISTRESSED = "je ne peux plus payer et je ne vois plus de raison de continuer"


def test_distress_is_not_hidden_by_a_payment_keyword() -> None:
    decision = triage(
        {"d1": 0.70, "d2": 0.68, "d3": 0.66, "p1": 0.55}, messages=(DISTRESSED,)
    ).classify(DISTRESSED)
    assert decision is not None
    assert (decision.category, decision.priority, decision.hard_rule) == (
        "distress",
        "urgent",
        True,
    )


@pytest.mark.parametrize(
    "similarities",
    [
        {"b1": 0.70, "b2": 0.68, "b3": 0.66},  # closer to another soft queue
        {"d1": 0.62, "d2": 0.6, "o1": 0.62, "o2": 0.6},  # no clearer than ordinary requests
    ],
)
def test_a_keyword_keeps_its_queue_when_the_examples_do_not_point_to_distress(
    similarities: dict[str, float],
) -> None:
    decision = triage(similarities, messages=(DISTRESSED,)).classify(DISTRESSED)
    assert decision is not None and decision.category == "payment_difficulty"
    assert decision.evidence == "keyword «je ne peux plus payer»"
