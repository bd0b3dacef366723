"""Stored evaluation runs: the record, and the port through which runs are kept.

A run records what it ran (the suites and their versions), against what (the tenant,
its knowledge-base version, the settings that shape answers) and what came out (the
metrics and every case's outcome), so that two runs can be compared later. The
relational implementation lives in ``api/`` (``api.eval_runs``); ``rafiq`` wires it in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from eval.outcomes import CaseOutcome
from eval.suite import VERSION_LENGTH, Suite

RunStatus = Literal["queued", "running", "done", "error"]
"""``done``: the run finished, whatever its figures; ``error``: it could not finish."""
FINISHED: tuple[RunStatus, ...] = ("done", "error")


class RunNotFoundError(LookupError):
    pass


class SuiteInfo(BaseModel):
    name: str
    version: str
    tenant: str | None
    cases: int


class RunSummary(BaseModel):
    """What a list of runs shows; ``metrics`` are the figures by name (eval.metrics)."""

    id: str
    tenant: str
    suite: str
    suite_version: str
    kb_version: str
    status: RunStatus
    metrics: dict[str, float] = Field(default_factory=dict)
    created_at: datetime
    finished_at: datetime | None = None


class RunRecord(RunSummary):
    suites: list[SuiteInfo]
    settings: dict[str, Any] = Field(
        default_factory=dict, description="What shaped the answers; never a secret."
    )
    outcomes: list[CaseOutcome] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None

    def summary(self) -> RunSummary:
        return RunSummary.model_validate(self.model_dump(include=set(RunSummary.model_fields)))


class RunStore(Protocol):
    def add(self, record: RunRecord) -> None: ...

    def save(self, record: RunRecord) -> None:
        """Replace the stored record of ``record.id`` (status, figures, outcomes)."""
        ...

    def get(self, run_id: str, tenant: str | None = None) -> RunRecord:
        """Raises RunNotFoundError, also for a run of another tenant than ``tenant``."""
        ...

    def list(self, tenant: str | None = None, limit: int = 50) -> list[RunSummary]:
        """Newest first."""
        ...


def new_run_id() -> str:
    return f"run_{secrets.token_hex(8)}"


def now() -> datetime:
    return datetime.now(UTC)


def suite_label(suites: Sequence[Suite]) -> str:
    return " + ".join(suite.name for suite in suites)


def suite_version(suites: Sequence[Suite]) -> str:
    """One suite's own version; for several, a hash of their names and versions."""
    if len(suites) == 1:
        return suites[0].version
    joined = "\n".join(sorted(f"{s.name}@{s.version}" for s in suites))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:VERSION_LENGTH]


def new_record(
    tenant: str, suites: Sequence[Suite], kb_version: str, settings: dict[str, Any]
) -> RunRecord:
    return RunRecord(
        id=new_run_id(),
        tenant=tenant,
        suite=suite_label(suites),
        suite_version=suite_version(suites),
        kb_version=kb_version,
        status="queued",
        created_at=now(),
        suites=[
            SuiteInfo(name=s.name, version=s.version, tenant=s.tenant, cases=len(s.cases))
            for s in suites
        ],
        settings=settings,
    )
