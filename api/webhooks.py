"""Outgoing webhooks: signed, retried, delivered at least once from a transactional outbox.

A change and the webhook rows reporting it commit together (``enqueue``); a background
``WebhookDeliverer`` sends due rows, so a crash or restart never loses or invents an event.
Receivers dedupe on ``Rafiq-Delivery`` and check ``Rafiq-Signature`` with ``verify``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.models import OutboxRow, WebhookRow, as_utc

log = logging.getLogger("rafiq.webhooks")

WebhookEvent = Literal[
    "handoff.created", "handoff.claimed", "handoff.resolved", "conversation.closed"
]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = (
    "handoff.created",
    "handoff.claimed",
    "handoff.resolved",
    "conversation.closed",
)

SECRET_PREFIX = "whsec_"
BATCH_SIZE = 20


def webhook_secret(secret_key: str, webhook_id: str) -> str:
    """The signing secret of one webhook, derived so the database never holds it."""
    # The label keeps these MACs apart from anything else the server key may sign.
    digest = hmac.new(
        secret_key.encode(), f"rafiq-webhook:{webhook_id}".encode(), hashlib.sha256
    ).hexdigest()
    return SECRET_PREFIX + digest


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Rafiq-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is recent (``now``: unix seconds).

    The timestamp is inside the MAC, so the tolerance stops a captured request from being
    replayed later. Several ``v1`` values are accepted, as when a secret is being rotated.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, body)
    # Compare every candidate so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(expected.encode(), c.encode()) for c in candidates]
    return any(matches)


def enqueue(session: Session, tenant: str, event_type: str, data: dict[str, Any]) -> int:
    """Queue ``event_type`` for every subscribed active webhook of ``tenant``.

    Runs in the caller's transaction: the deliveries commit, or roll back, with the change
    they report. Returns how many deliveries were queued.
    """
    if event_type not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event_type!r}: one of {WEBHOOK_EVENTS}")
    hooks = session.scalars(
        select(WebhookRow).where(WebhookRow.tenant == tenant, WebhookRow.active.is_(True))
    ).all()
    subscribed = [h for h in hooks if not h.events or event_type in h.events]
    session.add_all(
        OutboxRow(
            webhook_id=hook.id,
            tenant=tenant,
            event_type=event_type,
            payload=data,
            attempts=0,
            next_attempt_at=datetime.now(UTC),
        )
        for hook in subscribed
    )
    return len(subscribed)


def event_id(outbox_id: int) -> str:
    return f"evt_{outbox_id}"


@dataclass(frozen=True)
class _Due:
    id: int
    next_attempt_at: datetime
    attempts: int
    webhook_id: str
    url: str
    tenant: str
    event_type: str
    payload: dict[str, Any]
    created_at: datetime


class WebhookDeliverer:
    """Sends due outbox rows; any number of deliverers may share one database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secret_key: str,
        *,
        max_attempts: int = 8,
        base_delay_s: float = 2.0,
        max_delay_s: float = 3600.0,
        timeout_s: float = 5.0,
        poll_s: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._sessions = sessions
        self._secret_key = secret_key
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        # httpx bounds connect, write and read separately, so one send may take about three
        # timeouts; the margin keeps a slow but live send from being taken over.
        self.lease_s = 3 * timeout_s + 30.0
        self._transport = transport
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def deliver_due(self, now: datetime | None = None) -> int:
        """Send every row due at ``now`` once, oldest first; returns how many were attempted.

        Without ``now`` the clock is read at each step, so leases stay accurate through a
        long backlog.
        """
        attempted = 0
        after = 0
        client: httpx.Client | None = None
        try:
            while not self._stop.is_set():
                batch = self._due(self._now(now), after)
                if not batch:
                    break
                # Opened only when there is something to send: most polls find nothing.
                if client is None:
                    client = httpx.Client(
                        transport=self._transport, timeout=self.timeout_s, follow_redirects=False
                    )
                for due in batch:
                    after = due.id
                    if self._stop.is_set():
                        break
                    lease_until = self._lease(due, self._now(now))
                    if lease_until is None:
                        continue
                    attempted += 1
                    error = self._send(client, due)
                    self._record(due, lease_until, error, self._now(now))
        finally:
            if client is not None:
                client.close()
        return attempted

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rafiq-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling; a send in flight finishes (or times out) first.

        A stopped deliverer sends nothing, even when called directly, until ``start``.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception as exc:
                # Exception messages (SQL parameters) may quote payloads: log where, not what.
                log.error(
                    "webhook delivery round failed with %s; retrying in %.1fs\n%s",
                    type(exc).__name__,
                    self.poll_s,
                    "".join(traceback.format_tb(exc.__traceback__)),
                )
            self._stop.wait(self.poll_s)

    @staticmethod
    def _now(now: datetime | None) -> datetime:
        # SQLite compares the stored text, which is UTC without an offset.
        return datetime.now(UTC) if now is None else as_utc(now).astimezone(UTC)

    def _due(self, now: datetime, after: int) -> list[_Due]:
        with self._sessions() as session:
            rows = session.execute(
                select(OutboxRow, WebhookRow.url)
                .join(WebhookRow, WebhookRow.id == OutboxRow.webhook_id)
                .where(
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.failed_at.is_(None),
                    OutboxRow.next_attempt_at <= now,
                    OutboxRow.id > after,
                    WebhookRow.active.is_(True),
                )
                .order_by(OutboxRow.id)
                .limit(BATCH_SIZE)
            ).all()
        return [
            _Due(
                id=row.id,
                next_attempt_at=row.next_attempt_at,
                attempts=row.attempts,
                webhook_id=row.webhook_id,
                url=url,
                tenant=row.tenant,
                event_type=row.event_type,
                payload=row.payload,
                created_at=as_utc(row.created_at),
            )
            for row, url in rows
        ]

    def _lease(self, due: _Due, now: datetime) -> datetime | None:
        """Claim the row until the returned time, or None if another deliverer has it.

        The UPDATE only matches the ``next_attempt_at`` this deliverer read, so of several
        deliverers that saw the row due, exactly one changes it.
        """
        lease_until = now + timedelta(seconds=self.lease_s)
        with self._sessions.begin() as session:
            result = session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == due.id,
                    OutboxRow.next_attempt_at == due.next_attempt_at,
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.failed_at.is_(None),
                )
                .values(next_attempt_at=lease_until)
            )
        won = isinstance(result, CursorResult) and result.rowcount == 1
        return lease_until if won else None

    def _send(self, client: httpx.Client, due: _Due) -> str | None:
        """POST the event; returns None on a 2xx, otherwise a short reason for the operator."""
        delivery = event_id(due.id)
        body = json.dumps(
            {
                "id": delivery,
                "type": due.event_type,
                "created_at": due.created_at.isoformat(),
                "tenant": due.tenant,
                "data": due.payload,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        # Signed with the wall clock whatever ``now`` says: the receiver checks it against its own.
        signature = sign(webhook_secret(self._secret_key, due.webhook_id), int(time.time()), body)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Rafiq-Webhooks/1",
            "Rafiq-Event": due.event_type,
            "Rafiq-Delivery": delivery,
            "Rafiq-Signature": signature,
        }
        try:
            # Streamed and never read: a receiver's response body is of no use and may be huge.
            with client.stream("POST", due.url, content=body, headers=headers) as response:
                status = response.status_code
        except Exception as exc:
            # Only the class: messages may quote the URL, whose query may hold a credential.
            return type(exc).__name__
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _record(self, due: _Due, lease_until: datetime, error: str | None, now: datetime) -> None:
        attempts = due.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": error}
        if error is None:
            values["delivered_at"] = now
        elif attempts >= self.max_attempts:
            values["failed_at"] = now
        else:
            values["next_attempt_at"] = now + timedelta(seconds=self.retry_delay_s(attempts))
        with self._sessions.begin() as session:
            result = session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == due.id, OutboxRow.next_attempt_at == lease_until)
                .values(**values)
            )
        if not (isinstance(result, CursorResult) and result.rowcount == 1):
            log.warning("webhook delivery %s outlived its lease; left as it is", event_id(due.id))
        elif error is not None:
            log.warning(
                "webhook delivery %s to %s failed (attempt %d/%d): %s",
                event_id(due.id),
                due.webhook_id,
                attempts,
                self.max_attempts,
                error,
            )

    def retry_delay_s(self, attempts: int) -> float:
        """Exponential backoff after ``attempts`` failures, capped, with jitter.

        The jitter keeps a receiver that comes back from being hit by every delivery at
        once; drawn from [0.75, 1] so, below the cap, each delay still exceeds the one before.
        """
        # The exponent is capped only so that a huge max_attempts cannot overflow the float.
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempts - 1, 64))
        return delay * random.uniform(0.75, 1.0)
