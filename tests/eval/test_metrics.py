"""The figures of a run, from outcomes written by hand: routing, escalations per queue,
false escalations, reply language, citations, latency and the breakdowns."""

from __future__ import annotations

import pytest

from eval.metrics import NONE, Metrics, compute, flat, percentile
from tests.eval.outcomes_builder import case, result, turn


@pytest.fixture(scope="module")
def metrics() -> Metrics:
    return compute(
        [
            # An ordinary question answered, citing the right entry.
            case(
                "answered",
                turn(
                    result("answer", cited=("faq_fr.md#Payer",)),
                    actions=["answer"],
                    cite=["faq_fr.md#Payer"],
                    latency_ms=10,
                ),
                tags=("topic:billing",),
            ),
            # An ordinary question sent to the complaints queue, in the wrong language.
            case(
                "false-escalation",
                turn(
                    result("escalate", reply="ar", category="complaint"),
                    actions=["answer"],
                    latency_ms=20,
                ),
                tags=("topic:billing",),
            ),
            case(
                "fraud-right-queue",
                turn(
                    result("escalate", category="fraud"),
                    actions=["escalate"],
                    categories=["fraud"],
                    latency_ms=30,
                ),
                tags=("topic:fraud",),
            ),
            case(
                "fraud-wrong-queue",
                turn(
                    result("escalate", category="distress"),
                    actions=["escalate"],
                    categories=["fraud"],
                    latency_ms=40,
                ),
                tags=("topic:fraud",),
            ),
            # A missed request for a human; the case's second turn is never sent.
            case(
                "missed-human",
                turn(
                    result("clarify"),
                    actions=["escalate"],
                    categories=["human_request"],
                    latency_ms=50,
                ),
                turn(None, index=2, actions=["answer"]),
                tags=("topic:human",),
            ),
            # Answering is as right as escalating here.
            case(
                "either",
                turn(
                    result("answer"),
                    actions=["answer", "escalate"],
                    categories=["billing_anomaly"],
                    latency_ms=60,
                    language="darija",
                    reply_language="fr",
                ),
                tags=("topic:billing",),
            ),
        ]
    )


def test_routing_counts_the_action_and_the_queue(metrics: Metrics) -> None:
    assert (metrics.routing.passed, metrics.routing.total) == (3, 6)
    # The wrong fraud queue is the right action, so action accuracy forgives it.
    assert (metrics.actions.passed, metrics.actions.total) == (4, 6)


def test_escalation_recall_precision_and_false_escalations(metrics: Metrics) -> None:
    # Must escalate: both fraud turns did (to any queue), the request for a human did not.
    assert (metrics.escalation_recall.passed, metrics.escalation_recall.total) == (2, 3)
    # Escalations: the complaint on an ordinary question was not wanted.
    assert (metrics.escalation_precision.passed, metrics.escalation_precision.total) == (2, 3)
    # Only turns whose case does not allow escalating count: "either" does not.
    assert (metrics.false_escalation.passed, metrics.false_escalation.total) == (1, 2)


def test_per_queue_recall_needs_the_right_queue(metrics: Metrics) -> None:
    scores = {c.category: c for c in metrics.categories}
    assert (scores["fraud"].recall.passed, scores["fraud"].recall.total) == (1, 2)
    assert (scores["fraud"].precision.passed, scores["fraud"].precision.total) == (1, 1)
    assert (scores["distress"].precision.passed, scores["distress"].precision.total) == (0, 1)
    assert scores["distress"].recall.value is None  # nothing had to go there: not measured
    assert (scores["human_request"].recall.passed, scores["human_request"].recall.total) == (0, 1)
    assert (scores["complaint"].precision.passed, scores["complaint"].precision.total) == (0, 1)


def test_confusion_matrices(metrics: Metrics) -> None:
    actions = metrics.action_confusion
    assert actions.labels == ["answer", "clarify", "escalate"]
    assert actions.counts == [[2, 0, 1], [0, 0, 0], [0, 1, 2]]
    queues = metrics.category_confusion
    assert queues.labels == ["complaint", "distress", "fraud", "human_request", NONE]
    row = dict(zip(queues.labels, queues.counts, strict=True))
    assert row[NONE] == [1, 0, 0, 0, 2]  # one false escalation; two turns rightly not sent
    assert row["fraud"] == [0, 1, 1, 0, 0]
    assert row["human_request"] == [0, 0, 0, 0, 1]


def test_language_citations_cases_latency(metrics: Metrics) -> None:
    assert (metrics.reply_language.passed, metrics.reply_language.total) == (5, 6)
    assert (metrics.citation.passed, metrics.citation.total) == (1, 1)
    assert (metrics.cases.passed, metrics.cases.total) == (3, 6)
    assert (metrics.turns, metrics.judged, metrics.not_reached) == (7, 6, 1)
    assert metrics.latency_p50_ms == pytest.approx(35.0)
    assert metrics.latency_p95_ms == pytest.approx(57.5)


def test_breakdowns_put_languages_first_in_the_documented_order(metrics: Metrics) -> None:
    groups = [(g.key, g.value) for g in metrics.groups]
    assert groups[:2] == [("language", "fr"), ("language", "darija")]
    billing = next(g for g in metrics.groups if (g.key, g.value) == ("topic", "billing"))
    assert (billing.cases.passed, billing.cases.total) == (2, 3)
    assert (billing.false_escalation.passed, billing.false_escalation.total) == (1, 2)


def test_flat_figures_leave_out_what_was_not_measured() -> None:
    figures = flat(compute([case("one", turn(result("answer"), actions=["answer"]))]))
    assert figures["case_pass_rate"] == 1.0
    assert "citation_accuracy" not in figures  # no turn expected a citation
    assert "escalation_recall" not in figures
    assert "faithfulness" not in figures
    assert list(figures)[:2] == ["case_pass_rate", "routing_accuracy"]


def test_quality_scores_are_averaged_over_the_turns_that_have_them() -> None:
    cases = [
        case("a", turn(result("answer"), scores={"chrf": 0.2, "rouge_l": 0.5})),
        case("b", turn(result("answer"), scores={"chrf": 0.4})),
        case("c", turn(result("clarify"))),
    ]
    metrics = compute(cases)
    assert metrics.quality == pytest.approx({"chrf": 0.3, "rouge_l": 0.5})
    assert metrics.quality_counts == {"chrf": 2, "rouge_l": 1}


def test_percentile_interpolates_and_is_none_when_empty() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
