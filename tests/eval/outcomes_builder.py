"""Outcomes written by hand, for the tests of metrics, gates, comparisons and reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent.result import (
    Action,
    Citation,
    DetectedLanguage,
    Escalation,
    LanguageInfo,
    ReplyLanguage,
    TurnResult,
)
from eval.checks import judge
from eval.outcomes import CaseOutcome, Expected, Passage, TurnOutcome
from eval.store import RunRecord, SuiteInfo

STARTED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def result(
    action: Action,
    text: str = "Réponse.",
    *,
    reply: ReplyLanguage = "fr",
    detected: DetectedLanguage = "fr",
    category: str | None = None,
    cited: tuple[str, ...] = (),
) -> TurnResult:
    return TurnResult(
        conversation_id="c_test",
        message_id="m_test",
        action=action,
        text=text,
        language=LanguageInfo(detected=detected, reply=reply),
        citations=[
            Citation(
                source=source.partition("#")[0],
                title=source.partition("#")[2] or None,
                chunk_id=f"chunk-{i}",
                score=0.5,
            )
            for i, source in enumerate(cited)
        ],
        escalation=Escalation(category=category, reason="r", priority="normal", handoff_id="h_1")
        if category
        else None,
        conversation_status="waiting_human" if category else "bot",
        mode="extractive",
    )


def turn(
    got: TurnResult | None,
    *,
    index: int = 1,
    text: str = "Bonjour",
    language: DetectedLanguage = "fr",
    latency_ms: float = 10.0,
    scores: dict[str, float] | None = None,
    passages: list[Passage] | None = None,
    **expect: Any,
) -> TurnOutcome:
    """A judged turn (``got``), or a turn not reached (``got`` None)."""
    expected = Expected(reply_language=expect.pop("reply_language", "fr"), **expect)
    if got is None:
        return TurnOutcome(
            index=index,
            text=text,
            language=language,
            expected=expected,
            status="not_reached",
            note="turn 1 handed the conversation to an adviser",
        )
    return TurnOutcome(
        index=index,
        text=text,
        language=language,
        expected=expected,
        status="judged",
        result=got,
        latency_ms=latency_ms,
        checks=judge(expected, got),
        scores=scores or {},
        passages=passages or [],
    )


def case(
    case_id: str, *turns: TurnOutcome, tags: tuple[str, ...] = (), suite: str = "s"
) -> CaseOutcome:
    language = turns[0].language
    return CaseOutcome(
        suite=suite,
        id=case_id,
        language=language,
        tags=[f"language:{language}", *tags],
        turns=list(turns),
    )


def record(
    cases: list[CaseOutcome],
    metrics: dict[str, float],
    *,
    run_id: str = "run_a",
    minutes: int = 0,
    suite: str = "s",
    **settings: Any,
) -> RunRecord:
    created = STARTED + timedelta(minutes=minutes)
    return RunRecord(
        id=run_id,
        tenant="atlastel",
        suite=suite,
        suite_version="v1",
        kb_version="kb1",
        status="done",
        metrics=metrics,
        created_at=created,
        finished_at=created + timedelta(seconds=12),
        suites=[SuiteInfo(name=suite, version="v1", tenant="atlastel", cases=len(cases))],
        settings={"mode": "extractive", "kb_fingerprint": "kb1", **settings},
        outcomes=cases,
    )
