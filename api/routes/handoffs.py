"""Adviser routes: the queue, claim, reply, notes, release, resolve, and queue events."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import AdviserDep, ServicesDep
from api.errors import ApiError, ErrorBody
from api.events import Event
from api.metrics import get_metrics
from api.schemas import Text
from api.services import Services
from api.sse import follow, resume_point, stream_response
from api.tenants import StaffUser

router = APIRouter(prefix="/v1/handoffs", tags=["adviser"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown staff token"},
    403: {"model": ErrorBody, "description": "The token's role may not do this"},
    404: {"model": ErrorBody, "description": "No such handoff in the token's tenant"},
    409: {"model": ErrorBody, "description": "Not possible in the handoff's current state"},
    422: {"model": ErrorBody, "description": "Invalid request"},
}


class HandoffSummary(BaseModel):
    id: str
    conversation_id: str
    status: Literal["waiting", "active", "resolved", "released", "cancelled"]
    category: str
    priority: Literal["low", "normal", "high", "urgent"]
    language: str = Field(description="The customer's language: fr, ar, darija, arabizi, en.")
    reason: str
    summary: str
    assignee_id: str | None
    conversation_status: str | None
    created_at: str
    claimed_at: str | None
    resolved_at: str | None
    updated_at: str
    waiting_seconds: float = Field(description="Until claimed, or until now while waiting.")


class HandoffList(BaseModel):
    handoffs: list[HandoffSummary]


class HandoffDetail(HandoffSummary):
    citations: list[dict[str, Any]]
    suggested_reply: str | None
    transcript: list[dict[str, Any]] = Field(description="The redacted conversation.")
    notes: list[dict[str, Any]]
    resolution: str | None
    return_to_bot: bool | None


class AdviserMessage(BaseModel):
    text: Annotated[Text, Field(min_length=1, max_length=4000)]
    client_message_id: Annotated[
        str | None, Field(max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    ] = None

    model_config = {
        "json_schema_extra": {"examples": [{"text": "Bonjour, je regarde votre facture."}]}
    }


class NoteIn(BaseModel):
    text: Annotated[Text, Field(min_length=1, max_length=4000)]


class Resolve(BaseModel):
    resolution: Annotated[Text, Field(max_length=4000, description="What was done.")] = ""
    return_to_bot: bool = Field(
        description="true: the bot answers again; false: the conversation is closed."
    )

    model_config = {
        "json_schema_extra": {"examples": [{"resolution": "Avoir émis", "return_to_bot": True}]}
    }


def _seen(services: Services, user: StaffUser) -> None:
    services.desk.touch(user)


@router.get("", summary="The tenant's handoffs: waiting (queue order), active or resolved")
def list_handoffs(
    user: AdviserDep,
    services: ServicesDep,
    status: Annotated[Literal["waiting", "active", "resolved"], Query()] = "waiting",
) -> HandoffList:
    _seen(services, user)
    return HandoffList(
        handoffs=[HandoffSummary(**h) for h in services.desk.queue(user.tenant, status)]
    )


@router.get(
    "/events",
    summary="Server-sent events of the tenant's queue, messages and notes",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}}}, **_ERRORS},
)
async def queue_events(
    request: Request,
    services: ServicesDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    # The console's EventSource cannot send headers: ?token=st_... is accepted here.
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    token = token or request.query_params.get("token", "")
    user = await asyncio.to_thread(services.tenants.authenticate, token)
    if user is None:
        raise ApiError(401, "unauthorized", "unknown or revoked staff token")
    if user.role not in ("adviser", "admin"):
        raise ApiError(403, "forbidden", "this needs the adviser or admin role")
    await asyncio.to_thread(_seen, services, user)
    log = services.events
    start = resume_point(
        request, last_event_id, await asyncio.to_thread(log.latest_id, user.tenant)
    )
    fetch = partial(_staff_events, services, user)
    return stream_response(follow(request, log, fetch, start, services.api_config))


def _staff_events(services: Services, user: StaffUser, after: int) -> list[Event]:
    # A long-open console keeps its adviser counted as present.
    services.desk.touch(user)
    return services.events.after(user.tenant, after)


@router.get("/{handoff_id}", summary="One handoff with transcript, notes and suggested reply")
def get_handoff(handoff_id: str, user: AdviserDep, services: ServicesDep) -> HandoffDetail:
    _seen(services, user)
    detail = services.desk.detail(user.tenant, handoff_id)
    if detail["suggested_reply"] is None:
        suggestion = services.agent.suggest_reply(user.tenant, detail["conversation_id"])
        services.desk.set_suggested_reply(user.tenant, handoff_id, suggestion)
        detail = services.desk.detail(user.tenant, handoff_id)
    return HandoffDetail(**detail)


@router.post(
    "/{handoff_id}/claim",
    summary="Take the handoff; 409 if another adviser holds it",
    responses=_ERRORS,
)
def claim(
    handoff_id: str, user: AdviserDep, services: ServicesDep, request: Request
) -> HandoffSummary:
    outcome = services.desk.claim(user, handoff_id)
    metrics = get_metrics(request)
    metrics.observe_claim(user.tenant, outcome.wait_seconds)
    metrics.set_waiting(user.tenant, services.desk.waiting_count(user.tenant))
    return HandoffSummary(**outcome.handoff)


@router.post(
    "/{handoff_id}/release",
    summary="Give the conversation back to the bot without resolving it",
    responses=_ERRORS,
)
def release(handoff_id: str, user: AdviserDep, services: ServicesDep) -> HandoffSummary:
    return HandoffSummary(**services.desk.release(user, handoff_id))


@router.post(
    "/{handoff_id}/messages",
    status_code=201,
    summary="Reply to the customer (redacted like customer messages)",
    responses={200: {"description": "A retry of an already sent client_message_id"}, **_ERRORS},
)
def adviser_reply(
    handoff_id: str,
    body: AdviserMessage,
    user: AdviserDep,
    services: ServicesDep,
    response: Response,
) -> dict[str, Any]:
    sent, created = services.desk.reply(user, handoff_id, body.text, body.client_message_id)
    response.status_code = 201 if created else 200
    return sent


@router.post(
    "/{handoff_id}/notes",
    status_code=201,
    summary="An internal note, never shown to the customer",
    responses=_ERRORS,
)
def add_note(
    handoff_id: str, body: NoteIn, user: AdviserDep, services: ServicesDep
) -> dict[str, Any]:
    return services.desk.note(user, handoff_id, body.text)


@router.post(
    "/{handoff_id}/resolve",
    summary="Resolve: back to the bot, or close the conversation",
    responses=_ERRORS,
)
def resolve(
    handoff_id: str, body: Resolve, user: AdviserDep, services: ServicesDep
) -> HandoffSummary:
    return HandoffSummary(
        **services.desk.resolve(user, handoff_id, body.resolution, body.return_to_bot)
    )
