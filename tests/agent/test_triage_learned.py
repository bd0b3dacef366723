"""How triage's learned layer joins keywords and examples: a hand-made model on the
placed embedder of test_triage_voting, so each test states the scores it relies on."""

from __future__ import annotations

import numpy as np

from agent.logistic import Logistic
from agent.policy import parse_policy
from agent.triage import Triage
from agent.triage_model import TriageModel, message_features
from tests.agent.test_triage_voting import MESSAGE, ORDINARY, POLICY, PlacedEmbedder

LEARNED = ("fraud", "billing_anomaly", "payment_difficulty", "complaint", "vulnerability")
VULNERABILITY = (
    POLICY
    + """
  vulnerability:
    priority: high
    hard_rule: true
    examples: {fr: [v1, v2, v3, v4]}
"""
)
WANTS_BLOCKING = "Que faire si ma carte est volée ?"


def model(scores: dict[str, float], embedder: str = "placed", dimension: int = 0) -> TriageModel:
    """Each category scores a fixed probability, whatever the message: weights zero and
    the bias at the logit of the score. Every threshold is 0.5."""
    width = dimension + 2
    categories = {
        name: Logistic(np.zeros(width), float(np.log(p / (1 - p))), np.zeros(width), np.ones(width))
        for name, p in scores.items()
    }
    return TriageModel(embedder, categories, dict.fromkeys(scores, 0.5))


def triage(
    scores: dict[str, float],
    embedder: str = "placed",
    policy: str = VULNERABILITY,
    faq: list[str] | None = None,
) -> Triage:
    # Every example and ordinary request is far from the message: alone, nothing escalates.
    names = [e for c in parse_policy(policy, "t").categories.values() for e in c.all_examples()]
    far = {text: 0.1 for text in [*names, *ORDINARY, *(faq or [])]}
    placed = PlacedEmbedder(far, (MESSAGE,))
    chosen = model(scores, embedder, placed.dimension)
    return Triage(parse_policy(policy, "t"), placed, (faq or []) + ORDINARY, model=chosen)


def category(t: Triage, text: str = MESSAGE) -> str | None:
    decision = t.classify(text)
    return decision.category if decision else None


def test_below_every_threshold_the_message_is_ordinary() -> None:
    assert category(triage(dict.fromkeys(LEARNED, 0.3))) is None


def test_the_category_furthest_above_its_threshold_wins() -> None:
    decision = triage({"complaint": 0.9, "billing_anomaly": 0.6, "fraud": 0.1}).classify(MESSAGE)
    assert decision is not None and decision.category == "complaint"
    assert decision.evidence.startswith("learned layer: complaint 0.90")


def test_money_taken_without_consent_is_fraud_before_a_billing_error() -> None:
    assert category(triage({"billing_anomaly": 0.95, "fraud": 0.6})) == "fraud"
    assert category(triage({"billing_anomaly": 0.95, "fraud": 0.4})) == "billing_anomaly"


def test_a_customer_who_cannot_cope_is_vulnerable_before_late() -> None:
    decision = triage({"payment_difficulty": 0.95, "vulnerability": 0.55}).classify(MESSAGE)
    assert decision is not None
    assert (decision.category, decision.priority, decision.hard_rule) == (
        "vulnerability",
        "high",
        True,
    )


def test_a_softer_keyword_yields_to_a_more_protective_learned_queue() -> None:
    keyword = "je ne peux plus payer"
    t = triage({"fraud": 0.8})
    placed_message = f"{keyword} depuis hier"
    assert category(t, placed_message) == "fraud"
    assert category(triage({"complaint": 0.9}), placed_message) == "payment_difficulty"


def test_weights_fitted_for_another_embedding_model_stay_off() -> None:
    assert category(triage({"fraud": 0.99}, embedder="another-model")) is None


def test_a_tenant_faq_entry_on_a_safety_matter_stops_counting_as_ordinary() -> None:
    # The learned layer reads the entries as fraud (this model reads every text so): they
    # become fraud's examples.
    fraud = triage({"fraud": 0.9, "complaint": 0.1}, faq=[WANTS_BLOCKING])
    assert fraud.safety_entries == dict.fromkeys([WANTS_BLOCKING, *ORDINARY], "fraud")
    # Only hard-rule categories take an entry over: a complaint entry stays ordinary.
    assert triage({"complaint": 0.9}, faq=[WANTS_BLOCKING]).safety_entries == {}


def test_features_are_the_mean_variant_and_the_closeness_to_ordinary_requests() -> None:
    variants = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    # Each ordinary request's similarity to the message, its best variant's.
    ordinary = np.array([1.0, 0.8, 0.0, 0.2], dtype=np.float32)
    features = message_features(variants, ordinary)
    assert np.allclose(features[:2], [np.sqrt(0.5), np.sqrt(0.5)])
    # The nearest ordinary request, and the mean of the three nearest: (1.0 + 0.8 + 0.2) / 3.
    assert np.allclose(features[2:], [1.0, 2.0 / 3.0])
    assert np.allclose(message_features(variants, ordinary[:0])[2:], [0.0, 0.0])
