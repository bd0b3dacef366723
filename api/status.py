"""The conversation status machine of DESIGN.md section 4, enforced here and nowhere else.

``bot → waiting_human → human → (bot | closed)``, and ``waiting_human → bot`` when the
customer cancels or an adviser releases the conversation back to the bot. Every
transition writes an audit event (actor, time) and a ``status`` event for the streams,
in the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from agent.result import ConversationStatus
from api.events import record_event
from api.models import AuditEventRow, ConversationRow

TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("bot", "waiting_human"),
        ("waiting_human", "human"),
        ("waiting_human", "bot"),
        ("human", "bot"),
        ("human", "closed"),
    }
)


class InvalidTransitionError(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"the conversation is {current}: it cannot become {target}")
        self.current = current
        self.target = target


def audit(
    session: Session, tenant: str, actor: str, action: str, subject: str, **detail: Any
) -> None:
    session.add(
        AuditEventRow(
            tenant=tenant,
            actor=actor,
            action=action,
            subject=subject,
            detail=detail,
            created_at=datetime.now(UTC),
        )
    )


def transition(
    session: Session,
    conversation: ConversationRow,
    target: ConversationStatus,
    actor: str,
    **detail: Any,
) -> None:
    current = conversation.status
    if (current, target) not in TRANSITIONS:
        raise InvalidTransitionError(current, target)
    conversation.status = target
    conversation.updated_at = datetime.now(UTC)
    audit(
        session,
        conversation.tenant,
        actor,
        "conversation.status",
        conversation.id,
        previous=current,
        status=target,
        **detail,
    )
    record_event(
        session,
        conversation.tenant,
        "status",
        {"status": target, "previous": current, **detail},
        conversation.id,
    )
