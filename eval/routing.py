"""Routing evaluation: does each message get the right action, queue and reply language?

A routing set is JSONL: ``{"id", "message", "language", "expected_action",
"expected_category", "note"?}``. Each message is sent as the first turn of a fresh
conversation. The figures are the ones the product promises: escalation recall on
sensitive messages, false escalations on ordinary ones, reply language, and citations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from agent.language import reply_language
from agent.result import Action, DetectedLanguage, ReplyLanguage, TurnResult


class RoutingCase(BaseModel):
    id: str
    message: str
    language: DetectedLanguage
    expected_action: Action
    expected_category: str | None = None
    note: str | None = None


class RoutingSetError(ValueError):
    pass


def load_cases(path: Path) -> list[RoutingCase]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                cases.append(RoutingCase.model_validate_json(line))
            except ValidationError as exc:
                raise RoutingSetError(f"{path}:{number}: {exc.errors()[0]['msg']}") from exc
    return cases


@dataclass(frozen=True)
class RoutingOutcome:
    case: RoutingCase
    result: TurnResult
    expected_reply: ReplyLanguage

    @property
    def escalated(self) -> bool:
        return self.result.action == "escalate"

    @property
    def category(self) -> str | None:
        return self.result.escalation.category if self.result.escalation else None


Turn = Callable[[str], TurnResult]


def run(turn: Turn, cases: list[RoutingCase], arabizi_reply: ReplyLanguage) -> list[RoutingOutcome]:
    return [
        RoutingOutcome(case, turn(case.message), reply_language(case.language, arabizi_reply))
        for case in cases
    ]


@dataclass(frozen=True)
class RoutingRow:
    group: str
    n: int
    escalation_recall: float | None
    """Sensitive messages escalated (to any queue)."""
    category_accuracy: float | None
    """Sensitive messages escalated to the expected queue."""
    false_escalation: float | None
    """Ordinary messages escalated."""
    refusal_recall: float | None
    reply_language: float
    answers_cited: float | None


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def row(group: str, outcomes: list[RoutingOutcome]) -> RoutingRow:
    sensitive = [o for o in outcomes if o.case.expected_action == "escalate"]
    ordinary = [o for o in outcomes if o.case.expected_action == "answer"]
    refuse = [o for o in outcomes if o.case.expected_action == "refuse"]
    answers = [o for o in outcomes if o.result.action == "answer"]
    return RoutingRow(
        group=group,
        n=len(outcomes),
        escalation_recall=_ratio(sum(o.escalated for o in sensitive), len(sensitive)),
        category_accuracy=_ratio(
            sum(o.category == o.case.expected_category for o in sensitive), len(sensitive)
        ),
        false_escalation=_ratio(sum(o.escalated for o in ordinary), len(ordinary)),
        refusal_recall=_ratio(sum(o.result.action == "refuse" for o in refuse), len(refuse)),
        reply_language=sum(o.result.language.reply == o.expected_reply for o in outcomes)
        / len(outcomes),
        answers_cited=_ratio(sum(bool(o.result.citations) for o in answers), len(answers)),
    )


def tables(outcomes: list[RoutingOutcome]) -> dict[str, list[RoutingRow]]:
    """Rows per language and per expected category, each ending with the overall row."""
    by_language: dict[str, list[RoutingOutcome]] = defaultdict(list)
    by_category: dict[str, list[RoutingOutcome]] = defaultdict(list)
    for o in outcomes:
        by_language[o.case.language].append(o)
        by_category[o.case.expected_category or f"({o.case.expected_action})"].append(o)
    overall = row("overall", outcomes)
    return {
        "language": [row(g, by_language[g]) for g in sorted(by_language)] + [overall],
        "category": [row(g, by_category[g]) for g in sorted(by_category)] + [overall],
    }


def format_rows(rows: list[RoutingRow], title: str) -> str:
    def pct(value: float | None) -> str:
        return "    -" if value is None else f"{value:5.3f}"

    lines = [
        title,
        f"{'group':<22} {'n':>4} {'esc.rec':>7} {'queue':>7} {'false':>7} {'refuse':>7} "
        f"{'lang':>7} {'cited':>7}",
    ]
    for r in rows:
        lines.append(
            f"{r.group:<22} {r.n:>4} {pct(r.escalation_recall):>7} {pct(r.category_accuracy):>7} "
            f"{pct(r.false_escalation):>7} {pct(r.refusal_recall):>7} {pct(r.reply_language):>7} "
            f"{pct(r.answers_cited):>7}"
        )
    return "\n".join(lines)
