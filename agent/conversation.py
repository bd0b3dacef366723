"""Conversations as the agent sees them, and the port through which it stores them.

The relational database is the single source of truth (DESIGN.md section 1); the agent
only knows this small interface, implemented with SQLAlchemy in ``api/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from agent.result import ConversationStatus, DetectedLanguage, Priority

Role = Literal["customer", "bot", "adviser", "system"]
WELCOME: str = "welcome"
"""The ``action`` in the metadata of the greeting messages a conversation opens with."""


@dataclass(frozen=True)
class Message:
    id: str
    role: Role
    text: str
    """Already redacted: no card, IBAN, CIN, phone or e-mail in clear."""
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Conversation:
    id: str
    tenant: str
    status: ConversationStatus
    language: DetectedLanguage | None
    """The last language detected with confidence; short messages inherit it."""
    consecutive_misses: int
    """Bot turns in a row without a grounded answer."""


@dataclass(frozen=True)
class HandoffRequest:
    category: str
    reason: str
    priority: Priority
    language: DetectedLanguage
    summary: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    suggested_reply: str | None = None


class ConversationNotFoundError(LookupError):
    pass


class DuplicateMessageError(ValueError):
    """The client already sent a message with this id: its first answer stands."""


class ConversationStore(Protocol):
    def create(self, tenant: str) -> Conversation: ...

    def get(self, tenant: str, conversation_id: str) -> Conversation:
        """Raises ConversationNotFoundError, also for another tenant's conversation."""
        ...

    def history(self, conversation_id: str, limit: int = 20) -> list[Message]:
        """The most recent messages, oldest first."""
        ...

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        text: str,
        meta: dict[str, Any] | None = None,
        *,
        client_message_id: str | None = None,
    ) -> Message:
        """Raises DuplicateMessageError when ``client_message_id`` was already used."""
        ...

    def update(
        self,
        conversation_id: str,
        *,
        language: DetectedLanguage | None = None,
        consecutive_misses: int | None = None,
    ) -> Conversation:
        """Status changes go through the handoff workflow, never through here."""
        ...

    def add_reply(
        self,
        conversation_id: str,
        text: str,
        meta: dict[str, Any],
        *,
        language: DetectedLanguage,
        consecutive_misses: int,
    ) -> Message:
        """The bot's message and the conversation's state after the turn, written together."""
        ...

    def open_handoff(self, conversation_id: str, request: HandoffRequest, actor: str) -> str:
        """Queues the conversation for an adviser; returns the handoff id.

        ``actor`` is who asked: ``bot`` (an escalation) or ``customer``."""
        ...
