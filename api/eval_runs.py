"""Evaluation runs on the relational database: ``eval.store.RunStore`` for the CLI and the
QA routes alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.models import EvalRunRow, as_utc
from eval.store import RunNotFoundError, RunRecord, RunSummary

_SUMMARY_COLUMNS = (
    EvalRunRow.id,
    EvalRunRow.tenant,
    EvalRunRow.suite,
    EvalRunRow.suite_version,
    EvalRunRow.kb_version,
    EvalRunRow.status,
    EvalRunRow.metrics,
    EvalRunRow.created_at,
    EvalRunRow.finished_at,
)


def _times(values: dict[str, Any]) -> dict[str, Any]:
    finished = values.get("finished_at")
    return {
        **values,
        "created_at": as_utc(values["created_at"]),
        "finished_at": as_utc(finished) if finished else None,
    }


class SqlRunStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @staticmethod
    def _fill(row: EvalRunRow, record: RunRecord) -> None:
        data = record.model_dump(mode="json")
        for name in (
            "tenant",
            "suite",
            "suite_version",
            "suites",
            "kb_version",
            "settings",
            "status",
            "metrics",
            "outcomes",
            "warnings",
            "error",
        ):
            setattr(row, name, data[name])
        row.created_at = record.created_at
        row.finished_at = record.finished_at

    def add(self, record: RunRecord) -> None:
        row = EvalRunRow(id=record.id)
        self._fill(row, record)
        with self._sessions.begin() as session:
            session.add(row)

    def save(self, record: RunRecord) -> None:
        with self._sessions.begin() as session:
            row = session.get(EvalRunRow, record.id)
            if row is None:
                raise RunNotFoundError(record.id)
            self._fill(row, record)

    def get(self, run_id: str, tenant: str | None = None) -> RunRecord:
        with self._sessions() as session:
            row = session.get(EvalRunRow, run_id)
            if row is None or (tenant is not None and row.tenant != tenant):
                raise RunNotFoundError(f"no evaluation run {run_id!r}")
            values = {
                column.key: getattr(row, column.key) for column in EvalRunRow.__table__.columns
            }
        return RunRecord.model_validate(_times(values))

    def list(self, tenant: str | None = None, limit: int = 50) -> list[RunSummary]:
        query = select(*_SUMMARY_COLUMNS).order_by(EvalRunRow.created_at.desc()).limit(limit)
        if tenant is not None:
            query = query.where(EvalRunRow.tenant == tenant)
        with self._sessions() as session:
            rows = session.execute(query).mappings().all()
        return [RunSummary.model_validate(_times(dict(row))) for row in rows]
