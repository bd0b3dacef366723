"""The agent's ConversationStore, on the relational database."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from agent.conversation import (
    Conversation,
    ConversationNotFoundError,
    HandoffRequest,
    Message,
    Role,
)
from agent.result import ConversationStatus, DetectedLanguage
from api.models import ConversationRow, HandoffRow, MessageRow


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
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

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
        self, conversation_id: str, role: Role, text: str, meta: dict[str, Any] | None = None
    ) -> Message:
        with self._sessions.begin() as session:
            last = session.scalar(
                select(func.max(MessageRow.seq)).where(
                    MessageRow.conversation_id == conversation_id
                )
            )
            row = MessageRow(
                id=new_id("m"),
                conversation_id=conversation_id,
                seq=(last or 0) + 1,
                role=role,
                text=text,
                meta=meta or {},
                created_at=datetime.now(UTC),
            )
            session.add(row)
            conversation = session.get(ConversationRow, conversation_id)
            if conversation is not None:
                conversation.updated_at = row.created_at
        return Message(row.id, role, text, row.created_at, dict(row.meta))

    def update(
        self,
        conversation_id: str,
        *,
        status: ConversationStatus | None = None,
        language: DetectedLanguage | None = None,
        consecutive_misses: int | None = None,
    ) -> Conversation:
        with self._sessions.begin() as session:
            row = session.get(ConversationRow, conversation_id)
            if row is None:
                raise ConversationNotFoundError(conversation_id)
            if status is not None:
                row.status = status
            if language is not None:
                row.language = language
            if consecutive_misses is not None:
                row.consecutive_misses = consecutive_misses
            row.updated_at = datetime.now(UTC)
            return _conversation(row)

    def open_handoff(self, conversation_id: str, request: HandoffRequest) -> str:
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
            )
            session.add(row)
            conversation.status = "waiting_human"
        return row.id
