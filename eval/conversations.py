"""The conversations of an evaluation run, kept in memory.

An evaluation sends hundreds of made-up customers to the agent. Stored in the tenant's
database they would open real handoffs in the advisers' queue and fire ``handoff.created``
webhooks at the client's systems, so a run gets its own store instead: the agent behaves
exactly as in production (same ``ConversationStore`` port), and nothing outlives the run.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from agent.conversation import (
    Conversation,
    ConversationNotFoundError,
    DuplicateMessageError,
    HandoffRequest,
    Message,
    Role,
)
from agent.result import DetectedLanguage


class MemoryConversationStore:
    """A thread-safe ``agent.conversation.ConversationStore`` in process memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._conversations: dict[str, Conversation] = {}
        self._messages: dict[str, list[Message]] = {}
        self._client_ids: dict[str, set[str]] = {}
        self.handoffs: dict[str, HandoffRequest] = {}
        """Handoffs opened during the run, by id: nobody is notified of them."""

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_eval{next(self._ids)}"

    def create(self, tenant: str) -> Conversation:
        with self._lock:
            conversation = Conversation(self._new_id("c"), tenant, "bot", None, 0)
            self._conversations[conversation.id] = conversation
            self._messages[conversation.id] = []
            self._client_ids[conversation.id] = set()
        return conversation

    def _get(self, conversation_id: str) -> Conversation:
        try:
            return self._conversations[conversation_id]
        except KeyError:
            raise ConversationNotFoundError(conversation_id) from None

    def get(self, tenant: str, conversation_id: str) -> Conversation:
        with self._lock:
            conversation = self._conversations.get(conversation_id)
        if conversation is None or conversation.tenant != tenant:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r} for {tenant}")
        return conversation

    def history(self, conversation_id: str, limit: int = 20) -> list[Message]:
        with self._lock:
            self._get(conversation_id)
            return list(self._messages[conversation_id][-limit:]) if limit > 0 else []

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        text: str,
        meta: dict[str, Any] | None = None,
        *,
        client_message_id: str | None = None,
    ) -> Message:
        with self._lock:
            self._get(conversation_id)
            if client_message_id is not None:
                used = self._client_ids[conversation_id]
                if client_message_id in used:
                    raise DuplicateMessageError(client_message_id)
                used.add(client_message_id)
            message = Message(self._new_id("m"), role, text, datetime.now(UTC), dict(meta or {}))
            self._messages[conversation_id].append(message)
        return message

    def add_reply(
        self,
        conversation_id: str,
        text: str,
        meta: dict[str, Any],
        *,
        language: DetectedLanguage,
        consecutive_misses: int,
    ) -> Message:
        self.update(conversation_id, language=language, consecutive_misses=consecutive_misses)
        return self.add_message(conversation_id, "bot", text, meta)

    def update(
        self,
        conversation_id: str,
        *,
        language: DetectedLanguage | None = None,
        consecutive_misses: int | None = None,
    ) -> Conversation:
        with self._lock:
            conversation = self._get(conversation_id)
            if language is not None:
                conversation = replace(conversation, language=language)
            if consecutive_misses is not None:
                conversation = replace(conversation, consecutive_misses=consecutive_misses)
            self._conversations[conversation_id] = conversation
        return conversation

    def open_handoff(self, conversation_id: str, request: HandoffRequest, actor: str) -> str:
        with self._lock:
            conversation = self._get(conversation_id)
            handoff_id = self._new_id("h")
            self.handoffs[handoff_id] = request
            self._conversations[conversation_id] = replace(conversation, status="waiting_human")
        return handoff_id
