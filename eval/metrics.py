"""The figures of a run, computed from its outcomes alone (pure functions, no agent).

Routing: which action and which adviser queue each customer message got, against what
the case allows. A list of allowed actions (``[answer, escalate]``) counts a reply as
right when it is any of them; in the confusion matrices such a turn sits on the diagonal
when it is right, and on the row of its first allowed value (in the order ``answer,
clarify, escalate, refuse``, categories alphabetically) when it is wrong.

Escalations: recall is measured on the turns that must escalate (``escalate`` is the only
allowed action), precision on the turns the agent escalated; per category, the queue has
to be one the case allows. The false escalation rate counts escalations among the turns
whose case does not allow one.

Every rate keeps its numerator and denominator, so a report can say "172 / 240"; a rate
with nothing to measure is ``None`` (not measured), never 0 or 1.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, get_args

from pydantic import BaseModel, Field

from agent.result import Action
from eval.outcomes import CaseOutcome, CheckName, TurnOutcome
from eval.suite import LANGUAGE_TAG, LANGUAGES

NONE: Final = "none"
"""The category label of "no escalation"."""
ANY_QUEUE: Final = "any queue"
"""The row of a required escalation whose case accepts any queue, when the agent did not
escalate."""
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)


class Rate(BaseModel):
    passed: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.passed / self.total if self.total else None

    def add(self, passed: bool) -> None:
        self.total += 1
        self.passed += int(passed)


class ConfusionMatrix(BaseModel):
    """``counts[i][j]``: turns expected ``labels[i]`` that got ``labels[j]``."""

    labels: list[str]
    counts: list[list[int]]


class CategoryScore(BaseModel):
    category: str
    recall: Rate = Field(default_factory=Rate)
    """Turns that had to escalate to this queue, escalated to an allowed queue."""
    precision: Rate = Field(default_factory=Rate)
    """Turns the agent escalated to this queue, where the case allowed it."""


class GroupRow(BaseModel):
    """One value of one tag key (``language:fr``, ``topic:billing``)."""

    key: str
    value: str
    cases: Rate = Field(default_factory=Rate)
    routing: Rate = Field(default_factory=Rate)
    reply_language: Rate = Field(default_factory=Rate)
    citation: Rate = Field(default_factory=Rate)
    escalation_recall: Rate = Field(default_factory=Rate)
    false_escalation: Rate = Field(default_factory=Rate)


class Metrics(BaseModel):
    cases: Rate
    turns: int
    judged: int
    not_reached: int
    errors: int
    routing: Rate
    """Right action, and right queue when the agent escalated."""
    actions: Rate
    escalation_recall: Rate
    escalation_precision: Rate
    false_escalation: Rate
    reply_language: Rate
    citation: Rate
    must_contain: Rate
    must_not_contain: Rate
    redactions: Rate
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    action_confusion: ConfusionMatrix
    category_confusion: ConfusionMatrix
    categories: list[CategoryScore]
    groups: list[GroupRow]
    """Per value of every tag key, ``language`` first."""
    quality: dict[str, float]
    """Mean of each answer-quality score (ragas) over the turns that have it."""
    quality_counts: dict[str, int]


# --- The names a gate, a comparison and the run list use ------------------------------------


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    higher_is_better: bool = True
    unit: str = ""


METRICS: Final[tuple[MetricInfo, ...]] = (
    MetricInfo("case_pass_rate", "cases passed"),
    MetricInfo("routing_accuracy", "routing accuracy"),
    MetricInfo("escalation_recall", "escalation recall"),
    MetricInfo("escalation_precision", "escalation precision"),
    MetricInfo("false_escalation_rate", "false escalations", higher_is_better=False),
    MetricInfo("action_accuracy", "action accuracy"),
    MetricInfo("reply_language_accuracy", "reply language"),
    MetricInfo("citation_accuracy", "citations"),
    MetricInfo("must_contain_pass_rate", "must contain"),
    MetricInfo("must_not_contain_pass_rate", "must not contain"),
    MetricInfo("redaction_pass_rate", "redactions"),
    MetricInfo("latency_p50_ms", "latency p50", higher_is_better=False, unit="ms"),
    MetricInfo("latency_p95_ms", "latency p95", higher_is_better=False, unit="ms"),
)
QUALITY: Final[tuple[MetricInfo, ...]] = (
    MetricInfo("string_similarity", "string similarity"),
    MetricInfo("chrf", "chrF"),
    MetricInfo("rouge_l", "ROUGE-L"),
    MetricInfo("context_recall", "context recall"),
    MetricInfo("faithfulness", "faithfulness (judge)"),
    MetricInfo("answer_relevancy", "answer relevancy (judge)"),
    MetricInfo("context_precision", "context precision (judge)"),
)
"""Answer-quality scores (ragas, ``eval.ragas_metrics``): means over the turns scored."""
METRIC_INFO: Final = {m.name: m for m in (*METRICS, *QUALITY)}


def rates(metrics: Metrics) -> dict[str, Rate]:
    """The figures that are shares of something, by name, with their counts."""
    return {
        "case_pass_rate": metrics.cases,
        "routing_accuracy": metrics.routing,
        "escalation_recall": metrics.escalation_recall,
        "escalation_precision": metrics.escalation_precision,
        "false_escalation_rate": metrics.false_escalation,
        "action_accuracy": metrics.actions,
        "reply_language_accuracy": metrics.reply_language,
        "citation_accuracy": metrics.citation,
        "must_contain_pass_rate": metrics.must_contain,
        "must_not_contain_pass_rate": metrics.must_not_contain,
        "redaction_pass_rate": metrics.redactions,
    }


def flat(metrics: Metrics) -> dict[str, float]:
    """The measured figures by name, in ``METRICS`` order (what a run lists and gates on);
    a figure with nothing to measure is left out."""
    values: dict[str, float | None] = {
        **{name: rate.value for name, rate in rates(metrics).items()},
        "latency_p50_ms": metrics.latency_p50_ms,
        "latency_p95_ms": metrics.latency_p95_ms,
        **metrics.quality,
    }
    return {
        m.name: round(v, 4) for m in (*METRICS, *QUALITY) if (v := values.get(m.name)) is not None
    }


# --- Computing -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _escalated_to(turn: TurnOutcome) -> str:
    escalation = turn.result.escalation if turn.result else None
    return escalation.category if escalation else NONE


def _routed(turn: TurnOutcome) -> bool:
    """The turn's action and queue were allowed (only for turns with an action)."""
    return all(check.passed for check in turn.checks if check.name in ("action", "category"))


def expected_action_label(turn: TurnOutcome) -> str:
    assert turn.result is not None
    allowed = turn.expected.actions
    got = turn.result.action
    return got if got in allowed else next(a for a in ACTIONS if a in allowed)


def expected_category_label(turn: TurnOutcome) -> str:
    assert turn.result is not None
    expected = turn.expected
    got = _escalated_to(turn)
    if "escalate" not in expected.actions:
        return NONE
    if got != NONE:
        return (
            got
            if not expected.categories or got in expected.categories
            else min(expected.categories)
        )
    if expected.actions != ["escalate"]:
        return NONE  # not escalating was allowed too
    return min(expected.categories) if expected.categories else ANY_QUEUE


def _must_escalate(turn: TurnOutcome) -> bool:
    return turn.expected.actions == ["escalate"]


def _must_not_escalate(turn: TurnOutcome) -> bool:
    return bool(turn.expected.actions) and "escalate" not in turn.expected.actions


def _confusion(pairs: Iterable[tuple[str, str]], order: Sequence[str]) -> ConfusionMatrix:
    pairs = list(pairs)
    seen = {label for pair in pairs for label in pair}
    labels = [label for label in order if label in seen]
    labels += sorted(seen - set(labels))
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for expected, got in pairs:
        counts[index[expected]][index[got]] += 1
    return ConfusionMatrix(labels=labels, counts=counts)


class _Tally:
    """The rates every group of turns shares (overall and per tag value)."""

    def __init__(self) -> None:
        self.routing = Rate()
        self.actions = Rate()
        self.escalation_recall = Rate()
        self.escalation_precision = Rate()
        self.false_escalation = Rate()
        self.checks: dict[CheckName, Rate] = defaultdict(Rate)

    def rate(self, check: CheckName) -> Rate:
        return self.checks.get(check, Rate())

    def add(self, turn: TurnOutcome) -> None:
        if turn.status != "judged" or turn.result is None:
            return
        escalated = turn.result.action == "escalate"
        for check in turn.checks:
            self.checks[check.name].add(check.passed)
        if turn.expected.actions:
            self.routing.add(_routed(turn))
            self.actions.add(turn.result.action in turn.expected.actions)
            if escalated:
                self.escalation_precision.add("escalate" in turn.expected.actions)
        if _must_escalate(turn):
            self.escalation_recall.add(escalated)
        if _must_not_escalate(turn):
            self.false_escalation.add(escalated)


def _category_scores(turns: list[TurnOutcome]) -> list[CategoryScore]:
    scores: dict[str, CategoryScore] = {}

    def score(category: str) -> CategoryScore:
        return scores.setdefault(category, CategoryScore(category=category))

    for turn in turns:
        if not turn.expected.actions or turn.result is None:
            continue
        got = _escalated_to(turn)
        right_queue = _routed(turn) and got != NONE
        if _must_escalate(turn):
            for category in turn.expected.categories:
                score(category).recall.add(right_queue)
        if got != NONE:
            allowed = "escalate" in turn.expected.actions and (
                not turn.expected.categories or got in turn.expected.categories
            )
            score(got).precision.add(allowed)
    return [scores[c] for c in sorted(scores)]


def _group_order(group: tuple[str, str]) -> tuple[int, int, str, str]:
    """``language`` first, in the order of SUITES.md; other keys and values alphabetically."""
    key, value = group
    if key == LANGUAGE_TAG:
        position = LANGUAGES.index(value) if value in LANGUAGES else len(LANGUAGES)
        return (0, position, "", value)
    return (1, 0, key, value)


def _groups(cases: Sequence[CaseOutcome]) -> list[GroupRow]:
    rows: dict[tuple[str, str], tuple[GroupRow, _Tally]] = {}
    for case in cases:
        for key, value in case.tag_values():
            row, tally = rows.setdefault((key, value), (GroupRow(key=key, value=value), _Tally()))
            row.cases.add(case.passed)
            for turn in case.turns:
                tally.add(turn)
    ordered = sorted(rows, key=_group_order)
    result = []
    for group in ordered:
        row, tally = rows[group]
        row.routing = tally.routing
        row.reply_language = tally.rate("reply_language")
        row.citation = tally.rate("cite")
        row.escalation_recall = tally.escalation_recall
        row.false_escalation = tally.false_escalation
        result.append(row)
    return result


def compute(cases: Sequence[CaseOutcome]) -> Metrics:
    turns = [turn for case in cases for turn in case.turns]
    judged = [t for t in turns if t.status == "judged" and t.result is not None]
    tally = _Tally()
    for turn in turns:
        tally.add(turn)
    routed = [t for t in judged if t.expected.actions]
    category_pairs = [(expected_category_label(t), _escalated_to(t)) for t in routed]
    queues = sorted({c for pair in category_pairs for c in pair} - {ANY_QUEUE, NONE})
    latencies = [t.latency_ms for t in judged if t.latency_ms is not None]
    quality: dict[str, list[float]] = defaultdict(list)
    for turn in judged:
        for name, value in turn.scores.items():
            quality[name].append(value)
    cases_rate = Rate()
    for case in cases:
        cases_rate.add(case.passed)
    return Metrics(
        cases=cases_rate,
        turns=len(turns),
        judged=len(judged),
        not_reached=sum(t.status == "not_reached" for t in turns),
        errors=sum(t.status == "error" for t in turns),
        routing=tally.routing,
        actions=tally.actions,
        escalation_recall=tally.escalation_recall,
        escalation_precision=tally.escalation_precision,
        false_escalation=tally.false_escalation,
        reply_language=tally.rate("reply_language"),
        citation=tally.rate("cite"),
        must_contain=tally.rate("must_contain"),
        must_not_contain=tally.rate("must_not_contain"),
        redactions=tally.rate("redactions"),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        action_confusion=_confusion(
            ((expected_action_label(t), t.result.action) for t in routed if t.result), ACTIONS
        ),
        category_confusion=_confusion(category_pairs, [*queues, ANY_QUEUE, NONE]),
        categories=_category_scores(routed),
        groups=_groups(cases),
        quality={name: sum(v) / len(v) for name, v in quality.items()},
        quality_counts={name: len(v) for name, v in quality.items()},
    )
