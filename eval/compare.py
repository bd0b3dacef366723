"""Comparing a run with an earlier one: per-metric deltas and the cases that changed.

Deltas only mean something between runs of the same cases: a comparison says when the
suites, the knowledge base or the settings differ, and still shows what it can (cases
are matched by suite name and case id).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from eval.metrics import METRIC_INFO
from eval.outcomes import CaseOutcome
from eval.store import RunRecord, RunSummary

CaseState = Literal["passed", "failed", "absent"]
SETTINGS_COMPARED = ("mode", "llm_model", "embeddings", "chunk_tokens", "judge_model")


class MetricDelta(BaseModel):
    metric: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def better(self) -> bool | None:
        """None when unchanged or not comparable."""
        delta = self.delta
        if not delta:
            return None
        return (delta > 0) == METRIC_INFO[self.metric].higher_is_better


class CaseChange(BaseModel):
    key: str
    before: CaseState
    after: CaseState
    detail: str
    """What fails now, or what failed before."""


class Comparison(BaseModel):
    previous_id: str
    previous_created_at: datetime
    notes: list[str]
    """Why the figures may not be comparable (other suites, knowledge base, settings)."""
    metrics: list[MetricDelta]
    changed: list[CaseChange]


LAST = "last"
"""What ``--compare`` takes for the previous finished run of the same suites."""


def previous_run(record: RunSummary, runs: Iterable[RunSummary]) -> str | None:
    """The id of the newest finished run of the same suites on the same tenant before
    ``record``, among ``runs``."""
    return next(
        (
            run.id
            for run in sorted(runs, key=lambda r: r.created_at, reverse=True)
            if run.id != record.id
            and run.status == "done"
            and (run.tenant, run.suite) == (record.tenant, record.suite)
            and run.created_at <= record.created_at
        ),
        None,
    )


def failure_summary(case: CaseOutcome) -> str:
    """The first thing that went wrong in a case, in one line."""
    for turn in case.turns:
        if turn.status != "judged":
            return f"turn {turn.index}: {turn.note or turn.status}"
        failed = [c for c in turn.checks if not c.passed]
        if failed:
            return f"turn {turn.index}: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
    return ""


def _state(case: CaseOutcome | None) -> CaseState:
    if case is None:
        return "absent"
    return "passed" if case.passed else "failed"


def _notes(current: RunRecord, previous: RunRecord) -> list[str]:
    notes = []
    if current.tenant != previous.tenant:
        notes.append(f"other tenant: {previous.tenant} → {current.tenant}")
    if (current.suite, current.suite_version) != (previous.suite, previous.suite_version):
        notes.append(
            f"other suites: {previous.suite} @ {previous.suite_version} → "
            f"{current.suite} @ {current.suite_version}"
        )
    before_kb = previous.settings.get("kb_fingerprint", previous.kb_version)
    after_kb = current.settings.get("kb_fingerprint", current.kb_version)
    if before_kb != after_kb:
        notes.append(f"the knowledge base changed: {before_kb} → {after_kb}")
    for key in SETTINGS_COMPARED:
        before, after = previous.settings.get(key), current.settings.get(key)
        if before != after:
            notes.append(f"setting {key}: {before} → {after}")
    return notes


def compare(current: RunRecord, previous: RunRecord) -> Comparison:
    names = [m for m in METRIC_INFO if m in current.metrics or m in previous.metrics]
    deltas = [
        MetricDelta(metric=m, before=previous.metrics.get(m), after=current.metrics.get(m))
        for m in names
    ]
    before = {case.key: case for case in previous.outcomes}
    after = {case.key: case for case in current.outcomes}
    changed = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        if _state(old) != _state(new):
            detail = failure_summary(new) if new and not new.passed else ""
            if not detail and old is not None and not old.passed:
                detail = "was: " + failure_summary(old)
            changed.append(
                CaseChange(key=key, before=_state(old), after=_state(new), detail=detail)
            )
    return Comparison(
        previous_id=previous.id,
        previous_created_at=previous.created_at,
        notes=_notes(current, previous),
        metrics=deltas,
        changed=changed,
    )
