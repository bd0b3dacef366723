"""The event log behind the SSE streams.

Every message and status change is written to the ``events`` table in the same
transaction as the change itself, so a stream can resume from ``Last-Event-ID`` after a
disconnect or a server restart and no event exists only in memory (DESIGN.md section 8).
A bell wakes this process's streams at once; other replicas' events arrive within the
poll interval.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.models import EventRow

EventType = Literal["message", "status", "handoff", "note"]
CUSTOMER_EVENT_TYPES: tuple[EventType, ...] = ("message", "status")
"""What a customer's stream shows; handoff bookkeeping and notes stay with the staff."""
BATCH = 200
CHANNEL = "rafiq_events"
log = logging.getLogger("rafiq.events")


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    conversation_id: str | None
    payload: dict[str, Any]
    created_at: datetime


def record_event(
    session: Session,
    tenant: str,
    type: EventType,
    payload: dict[str, Any],
    conversation_id: str | None = None,
) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Delivered at commit, to every replica listening (PostgresWakeups).
        session.execute(
            text("SELECT pg_notify(:channel, :tenant)"), {"channel": CHANNEL, "tenant": tenant}
        )
    session.add(
        EventRow(
            tenant=tenant,
            conversation_id=conversation_id,
            type=type,
            payload=payload,
            created_at=datetime.now(UTC),
        )
    )


class EventBell:
    """Wakes the streams waiting in this process; safe to ring from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def ring(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> None:
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)


class EventLog:
    def __init__(self, sessions: sessionmaker[Session], bell: EventBell) -> None:
        self._sessions = sessions
        self.bell = bell

    def latest_id(self, tenant: str) -> int:
        with self._sessions() as session:
            last = session.scalar(
                select(EventRow.id)
                .where(EventRow.tenant == tenant)
                .order_by(EventRow.id.desc())
                .limit(1)
            )
        return last or 0

    def after(
        self,
        tenant: str,
        after_id: int,
        *,
        conversation_id: str | None = None,
        types: Iterable[str] | None = None,
    ) -> list[Event]:
        query = select(EventRow).where(EventRow.tenant == tenant, EventRow.id > after_id)
        if conversation_id is not None:
            query = query.where(EventRow.conversation_id == conversation_id)
        if types is not None:
            query = query.where(EventRow.type.in_(list(types)))
        with self._sessions() as session:
            rows = session.scalars(query.order_by(EventRow.id).limit(BATCH)).all()
        return [Event(r.id, r.type, r.conversation_id, dict(r.payload), r.created_at) for r in rows]

    async def follow(
        self,
        fetch: Callable[[int], list[Event]],
        after_id: int,
        *,
        heartbeat_s: float,
        poll_s: float,
    ) -> AsyncIterator[Event | None]:
        """Events after ``after_id`` as they come; ``None`` when a heartbeat is due."""
        last = after_id
        last_sent = time.monotonic()
        while True:
            events = await asyncio.to_thread(fetch, last)
            for event in events:
                last = event.id
                yield event
            now = time.monotonic()
            if events:
                last_sent = now
                continue
            if now - last_sent >= heartbeat_s:
                last_sent = now
                yield None
            await self.bell.wait(min(poll_s, max(0.0, heartbeat_s - (now - last_sent))))


class PostgresWakeups:
    """Rings this replica's bell when any replica commits an event (LISTEN/NOTIFY), so
    streams do not wait for their next poll. Without it they still poll."""

    def __init__(self, engine: Engine, bell: EventBell) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._bell = bell
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rafiq-pg-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            self._bell.ring()
            except psycopg.Error as exc:
                log.warning("event listener reconnecting: %s", type(exc).__name__)
                self._stop.wait(1.0)
