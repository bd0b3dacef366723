"""Customer conversations over HTTP: opening one, its token, idempotent messages, feedback.

A conversation token (``ct_...``) is returned once and stored as a SHA-256 hash; it
grants access to that conversation only.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agent.conversation import WELCOME
from agent.redaction import redact
from agent.result import ReplyLanguage
from api.conversation_store import append_message, message_payload, new_id
from api.errors import ApiError
from api.events import EventBell
from api.models import ConversationRow, FeedbackRow, MessageRow
from api.tenants import Tenant, hash_token
from prompts.catalog import message

MAX_METADATA_KEYS = 20
MAX_METADATA_VALUE = 500
REPLAY_WAIT_S = 30.0
"""How long a retried message waits for the first attempt's turn to finish."""


@dataclass(frozen=True)
class CustomerConversation:
    id: str
    tenant: str
    status: str
    locale: str | None = None
    """As the widget gave it when opening: the language before the customer writes."""


def locale_language(locale: str | None) -> ReplyLanguage:
    prefix = (locale or "fr").split("-")[0].split("_")[0].lower()
    return prefix if prefix in ("fr", "ar", "en") else "fr"  # type: ignore[return-value]


def _clean_metadata(metadata: dict[str, Any] | None) -> dict[str, str]:
    """Free-form page context from the widget, size-limited and redacted like a message."""
    if not metadata:
        return {}
    if len(metadata) > MAX_METADATA_KEYS:
        raise ApiError(422, "invalid_request", f"metadata: at most {MAX_METADATA_KEYS} keys")
    cleaned = {}
    for key, value in metadata.items():
        text = value if isinstance(value, str) else str(value)
        if len(key) > 100 or len(text) > MAX_METADATA_VALUE:
            raise ApiError(
                422, "invalid_request", f"metadata.{key[:40]}: at most {MAX_METADATA_VALUE} chars"
            )
        cleaned[key] = redact(text).text
    return cleaned


class CustomerDesk:
    def __init__(self, sessions: sessionmaker[Session], bell: EventBell) -> None:
        self._sessions = sessions
        self._bell = bell

    def open(
        self, tenant: Tenant, locale: str | None, metadata: dict[str, Any] | None
    ) -> tuple[CustomerConversation, str, list[dict[str, Any]]]:
        """A new conversation, its token (shown once) and the welcome messages."""
        token = "ct_" + secrets.token_urlsafe(32)
        language = locale_language(locale)
        with self._sessions.begin() as session:
            row = ConversationRow(
                id=new_id("c"),
                tenant=tenant.name,
                status="bot",
                consecutive_misses=0,
                token_hash=hash_token(token),
                locale=locale,
                meta=_clean_metadata(metadata),
            )
            session.add(row)
            session.flush()
            welcome = [
                append_message(
                    session,
                    row,
                    "bot",
                    message(key, language, company=tenant.display_name),
                    {"action": WELCOME},
                )
                for key in ("greeting", "ai_disclosure")
            ]
            payloads = [message_payload(m) for m in welcome]
        return CustomerConversation(row.id, row.tenant, row.status, row.locale), token, payloads

    def authenticate(self, conversation_id: str, token: str | None) -> CustomerConversation:
        if not token or not token.startswith("ct_"):
            raise ApiError(
                401, "unauthorized", "send the conversation token: Authorization: Bearer ct_..."
            )
        with self._sessions() as session:
            row = session.scalar(
                select(ConversationRow).where(ConversationRow.token_hash == hash_token(token))
            )
        if row is None or not secrets.compare_digest(row.id, conversation_id):
            # A valid token for another conversation reveals nothing about this one.
            raise ApiError(404, "not_found", f"no conversation {conversation_id!r}")
        return CustomerConversation(row.id, row.tenant, row.status, row.locale)

    def status(self, conversation_id: str) -> str:
        with self._sessions() as session:
            row = session.get(ConversationRow, conversation_id)
        assert row is not None
        return row.status

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(
                select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id)
                .order_by(MessageRow.seq)
            ).all()
        return [message_payload(r) for r in rows]

    def replay(self, conversation_id: str, client_message_id: str) -> dict[str, Any] | None:
        """The response first given to this client message id, waiting for it if the first
        attempt is still running; None when the id is new."""
        deadline = time.monotonic() + REPLAY_WAIT_S
        while True:
            with self._sessions() as session:
                row = session.scalar(
                    select(MessageRow).where(
                        MessageRow.conversation_id == conversation_id,
                        MessageRow.client_message_id == client_message_id,
                    )
                )
            if row is None:
                return None
            if row.result is not None:
                return dict(row.result)
            if time.monotonic() > deadline:
                raise ApiError(
                    409, "in_progress", "this message is still being answered; retry shortly"
                )
            time.sleep(0.05)

    def record_result(
        self, conversation_id: str, client_message_id: str, result: dict[str, Any]
    ) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(MessageRow)
                .where(
                    MessageRow.conversation_id == conversation_id,
                    MessageRow.client_message_id == client_message_id,
                )
                .values(result=result)
            )

    def feedback(
        self, conversation_id: str, message_id: str, rating: str, comment: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Feedback on one of the bot's answers; a second rating replaces the first."""
        with self._sessions.begin() as session:
            target = session.get(MessageRow, message_id)
            if target is None or target.conversation_id != conversation_id:
                raise ApiError(404, "not_found", f"no message {message_id!r} in this conversation")
            if target.role not in ("bot", "adviser"):
                raise ApiError(
                    422, "invalid_request", "message_id: only answers can receive feedback"
                )
            row = session.scalar(select(FeedbackRow).where(FeedbackRow.message_id == message_id))
            created = row is None
            if row is None:
                row = FeedbackRow(
                    id=new_id("f"), conversation_id=conversation_id, message_id=message_id
                )
                session.add(row)
            row.rating = rating
            row.comment = redact(comment).text if comment else None
            row.created_at = datetime.now(UTC)
            try:
                session.flush()
            except IntegrityError as exc:
                raise ApiError(409, "conflict", "feedback was being recorded twice") from exc
            return {
                "id": row.id,
                "message_id": message_id,
                "rating": rating,
                "comment": row.comment,
            }, created
