"""Comparing two runs: per-metric deltas, and the cases whose outcome changed."""

from __future__ import annotations

import pytest

from eval.compare import MetricDelta, compare, previous_run
from eval.report import delta_text
from tests.eval.outcomes_builder import case, record, result, turn


def test_deltas_and_changed_cases() -> None:
    fixed = case("fixed", turn(result("answer"), actions=["answer"]))
    broken_before = case("broken", turn(result("answer"), actions=["answer"]))
    broken_now = case("broken", turn(result("clarify"), actions=["answer"]))
    steady = case("steady", turn(result("answer"), actions=["answer"]))
    previous = record(
        [case("fixed", turn(result("refuse"), actions=["answer"])), broken_before, steady],
        {"case_pass_rate": 0.6667, "false_escalation_rate": 0.1},
        run_id="run_before",
    )
    current = record(
        [fixed, broken_now, steady, case("new", turn(result("answer")))],
        {"case_pass_rate": 0.75, "false_escalation_rate": 0.2},
        run_id="run_after",
        minutes=5,
    )
    comparison = compare(current, previous)
    deltas = {d.metric: d for d in comparison.metrics}
    assert deltas["case_pass_rate"].delta == pytest.approx(0.0833)
    assert deltas["case_pass_rate"].better is True
    assert deltas["false_escalation_rate"].better is False  # lower is better
    changes = {c.key: (c.before, c.after, c.detail) for c in comparison.changed}
    assert changes == {
        "s/fixed": ("failed", "passed", "was: turn 1: action: expected answer, got refuse"),
        "s/broken": ("passed", "failed", "turn 1: action: expected answer, got clarify"),
        "s/new": ("absent", "passed", ""),
    }
    assert comparison.notes == []


def test_a_comparison_says_when_conditions_differ() -> None:
    previous = record([], {}, run_id="run_before", suite="s")
    current = record([], {}, run_id="run_after", suite="other", mode="generative")
    current.settings["kb_fingerprint"] = "kb2"
    notes = compare(current, previous).notes
    assert "other suites: s @ v1 → other @ v1" in notes
    assert "the knowledge base changed: kb1 → kb2" in notes
    assert "setting mode: extractive → generative" in notes


def test_last_is_the_newest_finished_run_of_the_same_suites_before_this_one() -> None:
    current = record([], {}, run_id="run_now", minutes=10)
    runs = [
        record([], {}, run_id="run_old", minutes=1).summary(),
        record([], {}, run_id="run_recent", minutes=5).summary(),
        record([], {}, run_id="run_other_suite", minutes=6, suite="other").summary(),
        record([], {}, run_id="run_failed", minutes=7)
        .summary()
        .model_copy(update={"status": "error"}),
        record([], {}, run_id="run_later", minutes=20).summary(),
        current.summary(),
    ]
    assert previous_run(current, runs) == "run_recent"
    assert previous_run(current, runs[2:4]) is None


@pytest.mark.parametrize(
    ("metric", "before", "after", "shown"),
    [
        ("case_pass_rate", 0.5, 0.5233, "+2.3 pts"),
        ("latency_p95_ms", 80.0, 79.98, "±0"),
        ("latency_p95_ms", 80.0, 92.5, "+12.5 ms"),
        ("chrf", 0.4, 0.3875, "-0.013"),
    ],
)
def test_deltas_are_shown_in_the_unit_of_their_metric(
    metric: str, before: float, after: float, shown: str
) -> None:
    assert delta_text(MetricDelta(metric=metric, before=before, after=after)) == shown
