"""Release gates: ``metric=value`` thresholds a run's figures must meet.

A threshold is a floor for the figures where higher is better (``routing_accuracy=0.85``)
and a ceiling for those where lower is better (``false_escalation_rate=0.1``,
``latency_p95_ms=500``). A gated figure the run could not measure (no turn to measure it
on, or a judge metric without a judge) fails: a gate never passes by default.

A gate file holds one threshold per line; blank lines and ``#`` comments are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eval.metrics import METRIC_INFO


class GateError(ValueError):
    """A threshold that cannot be read; the message lists the metric names."""


@dataclass(frozen=True)
class Threshold:
    metric: str
    value: float

    @property
    def is_floor(self) -> bool:
        return METRIC_INFO[self.metric].higher_is_better

    def __str__(self) -> str:
        return f"{self.metric}{'>=' if self.is_floor else '<='}{self.value:g}"


@dataclass(frozen=True)
class GateFailure:
    threshold: Threshold
    value: float | None

    def __str__(self) -> str:
        t = self.threshold
        if self.value is None:
            return f"{t.metric}: not measured in this run (threshold {t.value:g})"
        relation = "below the minimum" if t.is_floor else "above the maximum"
        return f"{t.metric}: {self.value:.4g} is {relation} {t.value:g}"


def _known() -> str:
    return ", ".join(METRIC_INFO)


def parse_threshold(spec: str) -> Threshold:
    name, sign, raw = spec.partition("=")
    name = name.strip()
    if not sign:
        raise GateError(f"{spec!r}: write metric=value, e.g. routing_accuracy=0.85")
    if name not in METRIC_INFO:
        raise GateError(f"{name!r} is not a metric; the metrics are: {_known()}")
    try:
        value = float(raw.strip())
    except ValueError:
        raise GateError(f"{spec!r}: {raw.strip()!r} is not a number") from None
    if value != value or value < 0:
        raise GateError(f"{spec!r}: the threshold must be a number >= 0")
    return Threshold(name, value)


def parse_thresholds(specs: Iterable[str]) -> list[Threshold]:
    """Later thresholds of the same metric replace earlier ones."""
    by_metric = {t.metric: t for t in map(parse_threshold, specs)}
    return list(by_metric.values())


def read_gate_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise GateError(f"{path}: cannot read the gate file ({error})") from error
    specs = []
    for number, line in enumerate(text.splitlines(), 1):
        spec = line.split("#", 1)[0].strip()
        if spec:
            try:
                parse_threshold(spec)
            except GateError as error:
                raise GateError(f"{path}:{number}: {error}") from None
            specs.append(spec)
    return specs


def check(metrics: Mapping[str, float], thresholds: Iterable[Threshold]) -> list[GateFailure]:
    failures = []
    for threshold in thresholds:
        value = metrics.get(threshold.metric)
        if value is None:
            failures.append(GateFailure(threshold, None))
        elif (value < threshold.value) if threshold.is_floor else (value > threshold.value):
            failures.append(GateFailure(threshold, value))
    return failures
