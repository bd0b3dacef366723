"""Refused manipulation and unsafe requests: the tenant's security events.

A refusal is an audit event (action ``security.refused``) written in the transaction that
stores the bot's reply, so the reply and its record exist together or not at all. The
event keeps the customer's attempt as it was stored, that is already redacted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.models import AuditEventRow, ConversationRow, MessageRow, as_utc
from api.status import audit

SECURITY_ACTION: Final = "security.refused"
ATTEMPT_CHARS: Final = 500
"""How much of the customer's message an event keeps: enough to see the attempt."""


@dataclass(frozen=True)
class SecurityEvent:
    id: int
    at: datetime
    conversation_id: str
    message_id: str
    kind: str
    reason: str
    attempt: str


def record_refusal(
    session: Session, conversation: ConversationRow, reply: MessageRow, security: dict[str, Any]
) -> None:
    """The event for ``reply``, a refusal, in the caller's transaction."""
    attempt = session.scalar(
        select(MessageRow.text).where(
            MessageRow.conversation_id == conversation.id,
            MessageRow.seq == reply.seq - 1,
            MessageRow.role == "customer",
        )
    )
    audit(
        session,
        conversation.tenant,
        "bot",
        SECURITY_ACTION,
        conversation.id,
        message_id=reply.id,
        kind=str(security.get("kind", "")),
        reason=str(security.get("reason", "")),
        attempt=(attempt or "")[:ATTEMPT_CHARS],
    )


def list_security_events(
    sessions: sessionmaker[Session],
    tenant: str,
    *,
    kind: str | None = None,
    since: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[SecurityEvent]:
    """The tenant's events, newest first; ``before`` pages on from an event id."""
    query = select(AuditEventRow).where(
        AuditEventRow.tenant == tenant, AuditEventRow.action == SECURITY_ACTION
    )
    if since is not None:
        query = query.where(AuditEventRow.created_at >= since)
    if before is not None:
        query = query.where(AuditEventRow.id < before)
    # The kind lives in the JSON detail, which SQLite and PostgreSQL query differently:
    # filtered here, reading on until the page is full.
    events: list[SecurityEvent] = []
    with sessions() as session:
        for row in session.scalars(query.order_by(AuditEventRow.id.desc())):
            event = _event(row)
            if kind is None or event.kind == kind:
                events.append(event)
                if len(events) == limit:
                    break
    return events


def _event(row: AuditEventRow) -> SecurityEvent:
    detail = row.detail or {}
    return SecurityEvent(
        id=row.id,
        at=as_utc(row.created_at),
        conversation_id=row.subject,
        message_id=str(detail.get("message_id", "")),
        kind=str(detail.get("kind", "")),
        reason=str(detail.get("reason", "")),
        attempt=str(detail.get("attempt", "")),
    )
