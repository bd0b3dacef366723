"""The advisers' desk: the queue, claims, replies, notes, release and resolution.

Every change runs in one transaction with its status transition (``api.status``), its
stream event, its audit event and its webhook, so a crash never leaves a claim without
its status or a resolution without its webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agent.language import reply_language
from agent.redaction import redact
from agent.result import ConversationStatus, ReplyLanguage
from agent.tenant import TenantProfile
from api.availability import (
    Availability,
    BusinessHours,
    BusinessHoursError,
    availability,
    queue_order,
)
from api.config import ApiConfig
from api.conversation_store import (
    announce_handoff,
    append_message,
    handoff_payload,
    message_payload,
    new_id,
)
from api.errors import ApiError
from api.events import EventBell, record_event
from api.models import (
    ConversationRow,
    HandoffRow,
    MessageRow,
    NoteRow,
    StaffUserRow,
    TenantRow,
    as_utc,
)
from api.status import InvalidTransitionError, transition
from api.tenants import StaffUser
from api.webhooks import enqueue
from prompts.catalog import message

HandoffStatus = Literal["waiting", "active", "resolved", "released", "cancelled"]
QUEUE_VIEWS: dict[str, tuple[str, ...]] = {
    "waiting": ("waiting",),
    "active": ("active",),
    "resolved": ("resolved", "released", "cancelled"),
}
TRANSCRIPT_LIMIT = 200
PRESENCE_WRITE_EVERY = timedelta(seconds=20)


@dataclass(frozen=True)
class ClaimOutcome:
    handoff: dict[str, Any]
    wait_seconds: float


class _LostClaimError(Exception):
    """The handoff was not waiting when the conditional update ran."""


def _conflict(exc: InvalidTransitionError) -> ApiError:
    return ApiError(409, "invalid_transition", str(exc))


class HandoffDesk:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        bell: EventBell,
        config: ApiConfig,
    ) -> None:
        self._sessions = sessions
        self._bell = bell
        self._config = config

    # -- reading -----------------------------------------------------------------

    def queue(self, tenant: str, view: str) -> list[dict[str, Any]]:
        """Waiting handoffs by priority then waiting time; the others newest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(HandoffRow).where(
                    HandoffRow.tenant == tenant, HandoffRow.status.in_(QUEUE_VIEWS[view])
                )
            ).all()
            if view == "waiting":
                rows = sorted(rows, key=lambda r: queue_order(r.priority, r.created_at))
            items = [self._summary_item(session, row) for row in rows]
        if view != "waiting":
            items.sort(key=lambda h: h["updated_at"], reverse=True)
        return items

    def detail(self, tenant: str, handoff_id: str) -> dict[str, Any]:
        with self._sessions() as session:
            row = self._handoff(session, tenant, handoff_id)
            item = self._summary_item(session, row)
            messages = session.scalars(
                select(MessageRow)
                .where(MessageRow.conversation_id == row.conversation_id)
                .order_by(MessageRow.seq)
                .limit(TRANSCRIPT_LIMIT)
            ).all()
            notes = session.scalars(
                select(NoteRow).where(NoteRow.handoff_id == row.id).order_by(NoteRow.created_at)
            ).all()
            item.update(
                citations=list(row.citations or []),
                suggested_reply=row.suggested_reply,
                transcript=[message_payload(m) for m in messages],
                notes=[
                    {
                        "id": n.id,
                        "author_id": n.author_id,
                        "text": n.text,
                        "created_at": as_utc(n.created_at).isoformat(),
                    }
                    for n in notes
                ],
                resolution=row.resolution,
                return_to_bot=row.return_to_bot,
            )
        return item

    def _summary_item(self, session: Session, row: HandoffRow) -> dict[str, Any]:
        conversation = session.get(ConversationRow, row.conversation_id)
        created = as_utc(row.created_at)
        end = as_utc(row.claimed_at) if row.claimed_at else datetime.now(UTC)
        latest = max(
            [created, *(as_utc(t) for t in (row.claimed_at, row.resolved_at) if t is not None)]
        )
        return {
            **handoff_payload(row),
            "summary": row.summary,
            "conversation_status": conversation.status if conversation else None,
            "created_at": created.isoformat(),
            "claimed_at": as_utc(row.claimed_at).isoformat() if row.claimed_at else None,
            "resolved_at": as_utc(row.resolved_at).isoformat() if row.resolved_at else None,
            "updated_at": latest.isoformat(),
            "waiting_seconds": round((end - created).total_seconds(), 1),
        }

    @staticmethod
    def _handoff(session: Session, tenant: str, handoff_id: str) -> HandoffRow:
        # PostgreSQL refuses NUL in a query; no id holds one anyway.
        row = None if "\x00" in handoff_id else session.get(HandoffRow, handoff_id)
        if row is None or row.tenant != tenant:
            # Another tenant's handoff is indistinguishable from a missing one.
            raise ApiError(404, "not_found", f"no handoff {handoff_id!r}")
        return row

    # -- adviser actions ------------------------------------------------------------

    def claim(self, user: StaffUser, handoff_id: str) -> ClaimOutcome:
        try:
            outcome = self._claim(user, handoff_id)
        except _LostClaimError:
            raise self._not_claimable(user, handoff_id) from None
        self._bell.ring()
        return outcome

    def _claim(self, user: StaffUser, handoff_id: str) -> ClaimOutcome:
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            row = self._handoff(session, user.tenant, handoff_id)
            # The conditional update is the lock: of two advisers claiming at once,
            # exactly one changes the row.
            claimed = session.execute(  # type: ignore[attr-defined]
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id, HandoffRow.status == "waiting")
                .values(status="active", assignee_id=user.id, claimed_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                raise _LostClaimError
            session.refresh(row)
            conversation = self._conversation(session, row)
            try:
                transition(session, conversation, "human", f"staff:{user.id}", handoff_id=row.id)
            except InvalidTransitionError as exc:
                raise _conflict(exc) from exc
            language = self._reply_language(session, row)
            append_message(
                session,
                conversation,
                "system",
                message("adviser_joined", language, adviser_name=user.name),
                {"event": "adviser_joined", "author_name": user.name},
            )
            announce_handoff(session, row, "claimed", f"staff:{user.id}")
            return ClaimOutcome(
                self._summary_item(session, row), (now - as_utc(row.created_at)).total_seconds()
            )

    def _not_claimable(self, user: StaffUser, handoff_id: str) -> ApiError:
        with self._sessions() as session:
            row = self._handoff(session, user.tenant, handoff_id)
            if row.status == "active":
                who = "you" if row.assignee_id == user.id else "another adviser"
                return ApiError(409, "already_claimed", f"handoff {handoff_id} is held by {who}")
            return ApiError(409, "not_waiting", f"handoff {handoff_id} is {row.status}")

    def release(self, user: StaffUser, handoff_id: str) -> dict[str, Any]:
        """Hand the conversation back to the bot without resolving it."""
        with self._sessions.begin() as session:
            row = self._handoff(session, user.tenant, handoff_id)
            if row.status == "active":
                self._require_assignee(user, row)
            elif row.status != "waiting":
                raise ApiError(409, "not_open", f"handoff {handoff_id} is {row.status}")
            conversation = self._conversation(session, row)
            self._end(session, row, conversation, "bot", "released", "adviser_left", user)
            item = self._summary_item(session, row)
        self._bell.ring()
        return item

    def reply(
        self, user: StaffUser, handoff_id: str, text: str, client_message_id: str | None
    ) -> tuple[dict[str, Any], bool]:
        """The adviser's message to the customer; ``(message, created)``."""
        redaction = redact(text)
        try:
            with self._sessions.begin() as session:
                row = self._handoff(session, user.tenant, handoff_id)
                conversation = self._conversation(session, row)
                if client_message_id:
                    previous = self._by_client_id(session, conversation.id, client_message_id)
                    if previous is not None:
                        return message_payload(previous), False
                if row.status != "active":
                    raise ApiError(
                        409, "not_claimed", f"claim handoff {handoff_id} before replying"
                    )
                self._require_assignee(user, row)
                stored = append_message(
                    session,
                    conversation,
                    "adviser",
                    redaction.text,
                    {"redactions": redaction.kinds, "author_name": user.name},
                    client_message_id=client_message_id,
                    author_id=user.id,
                )
                payload = message_payload(stored)
        except IntegrityError:
            # Two retries of the same message raced; the first one is the message.
            with self._sessions() as session:
                row = self._handoff(session, user.tenant, handoff_id)
                previous = self._by_client_id(session, row.conversation_id, client_message_id)
                assert previous is not None
                return message_payload(previous), False
        self._bell.ring()
        return payload, True

    def note(self, user: StaffUser, handoff_id: str, text: str) -> dict[str, Any]:
        with self._sessions.begin() as session:
            row = self._handoff(session, user.tenant, handoff_id)
            note = NoteRow(
                id=new_id("n"),
                handoff_id=row.id,
                author_id=user.id,
                text=redact(text).text,
                created_at=datetime.now(UTC),
            )
            session.add(note)
            payload = {
                "id": note.id,
                "handoff_id": row.id,
                "author_id": user.id,
                "text": note.text,
                "created_at": note.created_at.isoformat(),
            }
            record_event(session, row.tenant, "note", {"note": payload}, row.conversation_id)
        self._bell.ring()
        return payload

    def resolve(
        self, user: StaffUser, handoff_id: str, resolution: str, return_to_bot: bool
    ) -> dict[str, Any]:
        with self._sessions.begin() as session:
            row = self._handoff(session, user.tenant, handoff_id)
            if row.status != "active":
                raise ApiError(
                    409, "not_claimed", f"handoff {handoff_id} is {row.status}: claim it first"
                )
            self._require_assignee(user, row)
            conversation = self._conversation(session, row)
            row.resolution = redact(resolution).text
            row.return_to_bot = return_to_bot
            if return_to_bot:
                self._end(session, row, conversation, "bot", "resolved", "adviser_left", user)
            else:
                self._end(
                    session, row, conversation, "closed", "resolved", "conversation_closed", user
                )
                enqueue(
                    session,
                    row.tenant,
                    "conversation.closed",
                    {"conversation_id": conversation.id, "handoff_id": row.id},
                )
            item = self._summary_item(session, row)
        self._bell.ring()
        return item

    def set_suggested_reply(self, tenant: str, handoff_id: str, reply: str) -> None:
        """Only if none was written meanwhile (the model's draft wins)."""
        with self._sessions.begin() as session:
            row = self._handoff(session, tenant, handoff_id)
            if row.suggested_reply is None:
                row.suggested_reply = redact(reply).text

    def set_drafts(self, tenant: str, handoff_id: str, summary: str, reply: str | None) -> None:
        """The model's handover note and suggested reply replace the template ones."""
        with self._sessions.begin() as session:
            row = self._handoff(session, tenant, handoff_id)
            row.summary = redact(summary).text
            if reply:
                row.suggested_reply = redact(reply).text
            record_event(
                session, tenant, "handoff", {"action": "updated", "handoff": handoff_payload(row)}
            )
        self._bell.ring()

    def touch(self, user: StaffUser) -> None:
        """Presence: an adviser using the console is available for new handoffs."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            session.execute(
                update(StaffUserRow)
                .where(
                    StaffUserRow.id == user.id,
                    (StaffUserRow.last_seen_at.is_(None))
                    | (StaffUserRow.last_seen_at < now - PRESENCE_WRITE_EVERY),
                )
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )

    # -- customer side -----------------------------------------------------------

    def cancel(self, tenant: str, conversation_id: str) -> None:
        """The customer no longer wants to wait for an adviser."""
        with self._sessions.begin() as session:
            conversation = session.get(ConversationRow, conversation_id)
            assert conversation is not None and conversation.tenant == tenant
            row = session.scalar(
                select(HandoffRow).where(
                    HandoffRow.conversation_id == conversation_id, HandoffRow.status == "waiting"
                )
            )
            if row is None or conversation.status != "waiting_human":
                raise ApiError(
                    409,
                    "not_waiting",
                    f"the conversation is {conversation.status}: there is no handoff to cancel",
                )
            self._end(session, row, conversation, "bot", "cancelled", "handoff_cancelled", None)
        self._bell.ring()

    def announce_wait(self, tenant: str, handoff_id: str) -> Availability:
        """Tell the customer whether someone is there and the expected wait."""
        with self._sessions.begin() as session:
            row = self._handoff(session, tenant, handoff_id)
            hours = self._business_hours(session, tenant)
            found = availability(session, tenant, hours, row, self._config.presence_window_s)
            conversation = self._conversation(session, row)
            append_message(
                session,
                conversation,
                "system",
                found.notice(self._reply_language(session, row), hours),
                {"event": "handoff_wait", **found.as_dict()},
            )
            record_event(
                session,
                tenant,
                "status",
                {"status": conversation.status, "handoff_id": row.id, **found.as_dict()},
                conversation.id,
            )
        self._bell.ring()
        return found

    def open_handoff_of(self, tenant: str, conversation_id: str) -> dict[str, Any] | None:
        with self._sessions() as session:
            row = session.scalar(
                select(HandoffRow)
                .where(
                    HandoffRow.tenant == tenant,
                    HandoffRow.conversation_id == conversation_id,
                    HandoffRow.status.in_(("waiting", "active")),
                )
                .order_by(HandoffRow.created_at.desc())
                .limit(1)
            )
            return None if row is None else self._summary_item(session, row)

    def conversation_of(self, tenant: str, handoff_id: str) -> str:
        with self._sessions() as session:
            return self._handoff(session, tenant, handoff_id).conversation_id

    def waiting_count(self, tenant: str) -> int:
        with self._sessions() as session:
            return len(
                session.scalars(
                    select(HandoffRow.id).where(
                        HandoffRow.tenant == tenant, HandoffRow.status == "waiting"
                    )
                ).all()
            )

    # -- helpers -------------------------------------------------------------------

    def _end(
        self,
        session: Session,
        row: HandoffRow,
        conversation: ConversationRow,
        target: ConversationStatus,
        outcome: HandoffStatus,
        notice: str,
        user: StaffUser | None,
    ) -> None:
        """A handoff ends (released, resolved, cancelled): the conversation's new status,
        the customer's notice in their language, the queue event, audit and webhook."""
        actor = f"staff:{user.id}" if user else "customer"
        try:
            transition(session, conversation, target, actor, handoff_id=row.id)
        except InvalidTransitionError as exc:
            raise _conflict(exc) from exc
        row.status = outcome
        row.resolved_at = datetime.now(UTC)
        append_message(
            session,
            conversation,
            "system",
            message(notice, self._reply_language(session, row)),
            {"event": notice},
        )
        announce_handoff(session, row, outcome, actor)

    @staticmethod
    def _conversation(session: Session, row: HandoffRow) -> ConversationRow:
        conversation = session.get(ConversationRow, row.conversation_id)
        assert conversation is not None  # a handoff's conversation is deleted with it
        return conversation

    @staticmethod
    def _require_assignee(user: StaffUser, row: HandoffRow) -> None:
        if row.assignee_id != user.id and user.role != "admin":
            raise ApiError(409, "not_assignee", f"handoff {row.id} is held by another adviser")

    @staticmethod
    def _by_client_id(
        session: Session, conversation_id: str, client_message_id: str | None
    ) -> MessageRow | None:
        return session.scalar(
            select(MessageRow).where(
                MessageRow.conversation_id == conversation_id,
                MessageRow.client_message_id == client_message_id,
            )
        )

    # Both read the tenant in the caller's session: on SQLite a second session would wait
    # for the write lock this transaction holds.
    @staticmethod
    def _tenant_settings(session: Session, tenant: str) -> dict[str, Any]:
        row = session.get(TenantRow, tenant)
        return dict(row.settings or {}) if row is not None else {}

    def _reply_language(self, session: Session, row: HandoffRow) -> ReplyLanguage:
        # The tenant's profile reads its Arabizi reply language the same way the agent does.
        profile = TenantProfile.from_settings(
            row.tenant, row.tenant, self._tenant_settings(session, row.tenant)
        )
        return reply_language(row.language, profile.arabizi_reply)  # type: ignore[arg-type]

    def _business_hours(self, session: Session, tenant: str) -> BusinessHours | None:
        try:
            return BusinessHours.parse(self._tenant_settings(session, tenant).get("business_hours"))
        except BusinessHoursError:
            # A broken setting must not strand the customer: treat the desk as open.
            return None
