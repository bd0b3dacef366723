"""The agent's ConversationStore, on the relational database."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agent.conversation import (
    Conversation,
    ConversationNotFoundError,
    DuplicateMessageError,
    HandoffRequest,
    Message,
    Role,
)
from agent.result import DetectedLanguage
from api.events import EventBell, record_event
from api.models import ConversationRow, HandoffRow, MessageRow, as_utc
from api.security_events import record_refusal
from api.status import audit, transition
from api.webhooks import WEBHOOK_EVENTS, enqueue

SEQ_RETRIES = 5


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def _conversation(row: ConversationRow) -> Conversation:
    return Conversation(
        id=row.id,
        tenant=row.tenant,
        status=row.status,  # type: ignore[arg-type]
        language=row.language,  # type: ignore[arg-type]
        consecutive_misses=row.consecutive_misses,
    )


class SqlConversationStore:
    def __init__(self, sessions: sessionmaker[Session], bell: EventBell) -> None:
        self._sessions = sessions
        self._bell = bell

    def create(self, tenant: str) -> Conversation:
        row = ConversationRow(id=new_id("c"), tenant=tenant, status="bot", consecutive_misses=0)
        with self._sessions.begin() as session:
            session.add(row)
        return _conversation(row)

    def get(self, tenant: str, conversation_id: str) -> Conversation:
        with self._sessions() as session:
            row = session.get(ConversationRow, conversation_id)
        if row is None or row.tenant != tenant:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r} for {tenant}")
        return _conversation(row)

    def history(self, conversation_id: str, limit: int = 20) -> list[Message]:
        with self._sessions() as session:
            rows = session.scalars(
                select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id)
                .order_by(MessageRow.seq.desc())
                .limit(limit)
            ).all()
        return [
            Message(r.id, r.role, r.text, r.created_at, dict(r.meta or {}))  # type: ignore[arg-type]
            for r in reversed(rows)
        ]

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        text: str,
        meta: dict[str, Any] | None = None,
        *,
        client_message_id: str | None = None,
    ) -> Message:
        return self._append(conversation_id, role, text, meta, client_message_id, {})

    def add_reply(
        self,
        conversation_id: str,
        text: str,
        meta: dict[str, Any],
        *,
        language: DetectedLanguage,
        consecutive_misses: int,
    ) -> Message:
        state = {"language": language, "consecutive_misses": consecutive_misses}
        return self._append(conversation_id, "bot", text, meta, None, state)

    def _append(
        self,
        conversation_id: str,
        role: Role,
        text: str,
        meta: dict[str, Any] | None,
        client_message_id: str | None,
        state: dict[str, Any],
    ) -> Message:
        """The message, and ``state`` (conversation columns) set in the same transaction."""
        for attempt in range(SEQ_RETRIES):
            try:
                with self._sessions.begin() as session:
                    # Locked as it is read: one round trip instead of two on PostgreSQL.
                    conversation = session.get(
                        ConversationRow, conversation_id, with_for_update=True
                    )
                    if conversation is None:
                        raise ConversationNotFoundError(conversation_id)
                    for column, value in state.items():
                        setattr(conversation, column, value)
                    row = append_message(
                        session,
                        conversation,
                        role,
                        text,
                        meta,
                        client_message_id=client_message_id,
                        locked=True,
                    )
                    if role == "bot" and meta and meta.get("security"):
                        record_refusal(session, conversation, row, meta["security"])
                break
            except IntegrityError as exc:
                if client_message_id and self._has_client_id(conversation_id, client_message_id):
                    raise DuplicateMessageError(client_message_id) from exc
                # Two writers took the same sequence number; the loser tries again.
                if attempt == SEQ_RETRIES - 1:
                    raise
        self._bell.ring()
        return Message(row.id, role, text, row.created_at, dict(row.meta))

    def _has_client_id(self, conversation_id: str, client_message_id: str) -> bool:
        with self._sessions() as session:
            found = session.scalar(
                select(MessageRow.id).where(
                    MessageRow.conversation_id == conversation_id,
                    MessageRow.client_message_id == client_message_id,
                )
            )
        return found is not None

    def update(
        self,
        conversation_id: str,
        *,
        language: DetectedLanguage | None = None,
        consecutive_misses: int | None = None,
    ) -> Conversation:
        with self._sessions.begin() as session:
            row = session.get(ConversationRow, conversation_id)
            if row is None:
                raise ConversationNotFoundError(conversation_id)
            if language is not None:
                row.language = language
            if consecutive_misses is not None:
                row.consecutive_misses = consecutive_misses
            row.updated_at = datetime.now(UTC)
            return _conversation(row)

    def open_handoff(self, conversation_id: str, request: HandoffRequest, actor: str) -> str:
        with self._sessions.begin() as session:
            conversation = session.get(ConversationRow, conversation_id)
            if conversation is None:
                raise ConversationNotFoundError(conversation_id)
            row = HandoffRow(
                id=new_id("h"),
                conversation_id=conversation_id,
                tenant=conversation.tenant,
                status="waiting",
                category=request.category,
                priority=request.priority,
                language=request.language,
                reason=request.reason,
                summary=request.summary,
                citations=request.citations,
                suggested_reply=request.suggested_reply,
                created_at=datetime.now(UTC),
            )
            session.add(row)
            transition(session, conversation, "waiting_human", actor, handoff_id=row.id)
            announce_handoff(session, row, "created", actor)
        self._bell.ring()
        return row.id


def message_payload(row: MessageRow) -> dict[str, Any]:
    """What streams and transcripts show of a message: never its internal metadata."""
    payload: dict[str, Any] = {
        "id": row.id,
        "role": row.role,
        "text": row.text,
        "created_at": as_utc(row.created_at).isoformat(),
    }
    if row.role == "bot":
        meta = row.meta or {}
        payload["action"] = meta.get("action")
        payload["citations"] = meta.get("citations") or []
    if row.author_id:
        payload["author"] = (row.meta or {}).get("author_name")
    return payload


def append_message(
    session: Session,
    conversation: ConversationRow,
    role: Role,
    text: str,
    meta: dict[str, Any] | None = None,
    *,
    client_message_id: str | None = None,
    author_id: str | None = None,
    locked: bool = False,
) -> MessageRow:
    """A message and its stream event, in the caller's transaction; ``locked``: the caller
    read ``conversation`` FOR UPDATE already."""
    # Writers to one conversation take turns for the next sequence number (SQLite already
    # serialises writers: its transactions begin IMMEDIATE, see api.database).
    if not locked and session.get_bind().dialect.name != "sqlite":
        session.execute(
            select(ConversationRow.id)
            .where(ConversationRow.id == conversation.id)
            .with_for_update()
        )
    last = session.scalar(
        select(func.max(MessageRow.seq)).where(MessageRow.conversation_id == conversation.id)
    )
    row = MessageRow(
        id=new_id("m"),
        conversation_id=conversation.id,
        seq=(last or 0) + 1,
        role=role,
        text=text,
        meta=meta or {},
        client_message_id=client_message_id,
        author_id=author_id,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    conversation.updated_at = row.created_at
    record_event(
        session, conversation.tenant, "message", {"message": message_payload(row)}, conversation.id
    )
    return row


def handoff_payload(row: HandoffRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "status": row.status,
        "category": row.category,
        "priority": row.priority,
        "language": row.language,
        "reason": row.reason,
        "assignee_id": row.assignee_id,
        "created_at": as_utc(row.created_at).isoformat(),
    }


def announce_handoff(session: Session, row: HandoffRow, action: str, actor: str) -> None:
    """The queue event, the audit event and the webhook of one handoff change."""
    payload = handoff_payload(row)
    record_event(session, row.tenant, "handoff", {"action": action, "handoff": payload})
    audit(session, row.tenant, actor, f"handoff.{action}", row.id)
    if f"handoff.{action}" in WEBHOOK_EVENTS:
        enqueue(session, row.tenant, f"handoff.{action}", payload)
