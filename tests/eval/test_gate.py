"""Release gates: floors for what should be high, ceilings for what should be low, and a
gate on a figure the run could not measure fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.gate import GateError, check, parse_thresholds, read_gate_file


def test_floors_and_ceilings() -> None:
    thresholds = parse_thresholds(
        ["routing_accuracy=0.9", "false_escalation_rate=0.05", "latency_p95_ms=200"]
    )
    figures = {"routing_accuracy": 0.92, "false_escalation_rate": 0.08, "latency_p95_ms": 150.0}
    failures = check(figures, thresholds)
    assert [str(f) for f in failures] == ["false_escalation_rate: 0.08 is above the maximum 0.05"]
    assert check({**figures, "false_escalation_rate": 0.05}, thresholds) == []


def test_a_gated_figure_that_was_not_measured_fails() -> None:
    failures = check({"routing_accuracy": 1.0}, parse_thresholds(["faithfulness=0.8"]))
    assert [str(f) for f in failures] == ["faithfulness: not measured in this run (threshold 0.8)"]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("routing=0.9", "'routing' is not a metric; the metrics are: case_pass_rate, "),
        ("routing_accuracy", "write metric=value"),
        ("routing_accuracy=high", "'high' is not a number"),
        ("routing_accuracy=-1", "must be a number >= 0"),
    ],
)
def test_bad_thresholds_are_refused_with_the_metric_names(spec: str, words: str) -> None:
    with pytest.raises(GateError, match=None) as error:
        parse_thresholds([spec])
    assert words in str(error.value)


def test_a_gate_file_has_one_threshold_per_line(tmp_path: Path) -> None:
    gates = tmp_path / "gates.txt"
    gates.write_text("# today 0.87\nrouting_accuracy=0.85\n\ncase_pass_rate = 0.7  # floor\n")
    assert read_gate_file(gates) == ["routing_accuracy=0.85", "case_pass_rate = 0.7"]
    gates.write_text("routing_accuracy=0.85\nrecall=0.9\n")
    with pytest.raises(GateError, match=r"gates.txt:2: 'recall' is not a metric"):
        read_gate_file(gates)
