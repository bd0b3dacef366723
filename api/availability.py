"""Is anybody there to take a handoff now, and how long will the customer wait?

A tenant's settings may hold ``business_hours``::

    {"timezone": "Africa/Casablanca",
     "hours": {"mon": ["09:00-18:00"], "sat": ["09:00-13:00"]},
     "label": {"fr": "du lundi au vendredi de 9 h à 18 h", "ar": "...", "en": "..."}}

Without it the advisers' desk is open around the clock. Advisers count as present
while they have used the console within the presence window; the expected wait comes
from the handoffs claimed recently, scaled by the customer's place in the queue.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.result import PRIORITIES, ReplyLanguage
from api.models import HandoffRow, StaffUserRow, as_utc
from prompts.catalog import message

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RECENT_CLAIMS = timedelta(hours=24)
DEFAULT_WAIT = timedelta(minutes=5)
"""Assumed per queued customer until the tenant has claim history."""


class BusinessHoursError(ValueError):
    pass


@dataclass(frozen=True)
class BusinessHours:
    zone: ZoneInfo
    windows: dict[int, list[tuple[time, time]]]
    labels: dict[str, str]

    @classmethod
    def parse(cls, value: Any) -> BusinessHours | None:
        if not value:
            return None
        if not isinstance(value, dict):
            raise BusinessHoursError("business_hours must be a mapping")
        try:
            zone = ZoneInfo(str(value.get("timezone", "Africa/Casablanca")))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BusinessHoursError(f"unknown time zone {value.get('timezone')!r}") from exc
        windows: dict[int, list[tuple[time, time]]] = {}
        for day, spans in dict(value.get("hours") or {}).items():
            if day not in DAYS:
                raise BusinessHoursError(f"unknown day {day!r}: one of {', '.join(DAYS)}")
            windows[DAYS.index(day)] = [_span(str(s)) for s in spans]
        labels = {str(k): str(v) for k, v in dict(value.get("label") or {}).items()}
        return cls(zone, windows, labels)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        return any(
            start <= local.time() < end for start, end in self.windows.get(local.weekday(), [])
        )

    def label(self, language: ReplyLanguage) -> str:
        if language in self.labels:
            return self.labels[language]
        return "; ".join(
            f"{DAYS[d]} {' '.join(f'{s:%H:%M}-{e:%H:%M}' for s, e in spans)}"
            for d, spans in sorted(self.windows.items())
        )


def _span(text: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError as exc:
        raise BusinessHoursError(f"bad opening hours {text!r}: write them as 09:00-18:00") from exc
    if end <= start:
        raise BusinessHoursError(f"bad opening hours {text!r}: the end comes before the start")
    return start, end


@dataclass(frozen=True)
class Availability:
    open: bool
    advisers_present: int
    queue_position: int
    expected_wait_s: float | None
    """Known only while the desk is open and somebody is there."""

    def notice(self, language: ReplyLanguage, hours: BusinessHours | None) -> str:
        """What the customer is told right after the handoff is queued."""
        if not self.open and hours is not None:
            return "\n".join(
                (
                    message("out_of_hours", language, hours=hours.label(language)),
                    message("leave_message_offer", language),
                )
            )
        if self.advisers_present == 0:
            return "\n".join(
                (message("handoff_unavailable", language), message("leave_message_offer", language))
            )
        minutes = max(1, round((self.expected_wait_s or 0) / 60))
        return message("handoff_wait", language, minutes=minutes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "advisers_available": self.open and self.advisers_present > 0,
            "queue_position": self.queue_position,
            "expected_wait_s": self.expected_wait_s,
        }


def availability(
    session: Session,
    tenant: str,
    hours: BusinessHours | None,
    handoff: HandoffRow,
    presence_window_s: float,
    now: datetime | None = None,
) -> Availability:
    now = now or datetime.now(UTC)
    is_open = hours is None or hours.is_open(now)
    present = session.scalar(
        select(func.count())
        .select_from(StaffUserRow)
        .where(
            StaffUserRow.tenant == tenant,
            StaffUserRow.role.in_(("adviser", "admin")),
            StaffUserRow.revoked_at.is_(None),
            StaffUserRow.last_seen_at >= now - timedelta(seconds=presence_window_s),
        )
    )
    position = _queue_position(session, handoff)
    wait: float | None = None
    if is_open and present:
        per_customer = _typical_wait(session, tenant, now)
        wait = per_customer * position / present
    return Availability(is_open, present or 0, position, wait)


def queue_order(priority: str, created_at: datetime) -> tuple[int, datetime]:
    """The order advisers take handoffs in: higher priority first, then longest waiting."""
    rank = PRIORITIES.index(priority) if priority in PRIORITIES else PRIORITIES.index("normal")
    return -rank, as_utc(created_at)


def _queue_position(session: Session, handoff: HandoffRow) -> int:
    """1 for the next customer served."""
    waiting = session.execute(
        select(HandoffRow.id, HandoffRow.priority, HandoffRow.created_at).where(
            HandoffRow.tenant == handoff.tenant, HandoffRow.status == "waiting"
        )
    ).all()
    order = sorted(waiting, key=lambda r: queue_order(r.priority, r.created_at))
    ids = [r.id for r in order]
    return ids.index(handoff.id) + 1 if handoff.id in ids else 1


def _typical_wait(session: Session, tenant: str, now: datetime) -> float:
    rows = session.execute(
        select(HandoffRow.created_at, HandoffRow.claimed_at).where(
            HandoffRow.tenant == tenant,
            HandoffRow.claimed_at.is_not(None),
            HandoffRow.claimed_at >= now - RECENT_CLAIMS,
        )
    ).all()
    waits = [(as_utc(r.claimed_at) - as_utc(r.created_at)).total_seconds() for r in rows]
    return statistics.median(waits) if waits else DEFAULT_WAIT.total_seconds()
