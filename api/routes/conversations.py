"""Customer routes: open a conversation, send messages, follow events, ask for a human."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agent.conversation import DuplicateMessageError
from agent.result import ConversationStatus, RelayedMessage, TurnResult
from api.customers import CustomerConversation, locale_language
from api.deps import ServicesDep
from api.errors import ApiError, ErrorBody
from api.events import CUSTOMER_EVENT_TYPES
from api.limits import get_limits
from api.metrics import get_metrics
from api.schemas import Text
from api.services import Services
from api.sse import accepts_event_stream, follow, frame, resume_point, stream_response

log = logging.getLogger("rafiq.turns")
router = APIRouter(prefix="/v1/conversations", tags=["customer"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or malformed token"},
    404: {"model": ErrorBody, "description": "No such conversation for this token"},
    422: {"model": ErrorBody, "description": "Invalid request"},
    429: {"model": ErrorBody, "description": "Too many messages; see Retry-After"},
}


class OpenConversation(BaseModel):
    locale: Annotated[
        str | None,
        Field(max_length=20, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"),
    ] = Field(None, description="The page or browser language, e.g. `fr-MA`, `ar`, `en`.")
    metadata: dict[Text, Text | int | float | bool] | None = Field(
        None, description="Page context (URL, customer reference...); redacted like messages."
    )

    model_config = {"json_schema_extra": {"examples": [{"locale": "fr-MA"}]}}


class ChatMessage(BaseModel):
    id: str
    role: Literal["customer", "bot", "adviser", "system"]
    text: str
    created_at: str
    action: str | None = None
    citations: list[dict[str, Any]] | None = None
    author: str | None = None


class OpenedConversation(BaseModel):
    id: str = Field(description="The conversation id (`c_...`).")
    token: str = Field(description="The conversation token (`ct_...`), shown once.")
    status: ConversationStatus
    messages: list[ChatMessage] = Field(description="The greeting and the AI disclosure.")


class SendMessage(BaseModel):
    text: Annotated[Text, Field(min_length=1, description="The customer's message.")]
    client_message_id: Annotated[
        str | None,
        Field(
            max_length=100,
            pattern=r"^[A-Za-z0-9._:-]+$",
            description="Chosen by the client; a retry with the same id returns the first "
            "result and runs no new turn.",
        ),
    ] = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"text": "Comment payer ma facture ?", "client_message_id": "w-1"}]
        }
    }


class Relayed(BaseModel):
    message_id: str
    conversation_status: ConversationStatus


class Transcript(BaseModel):
    messages: list[ChatMessage]
    status: ConversationStatus
    handoff: dict[str, Any] | None = Field(
        None, description="The open handoff, while waiting for or talking to an adviser."
    )
    last_event_id: int = Field(description="Follow `/events` from here to miss nothing.")


class HandoffAsk(BaseModel):
    reason: Annotated[Text | None, Field(max_length=1000)] = None


class HandoffState(BaseModel):
    handoff_id: str
    conversation_status: ConversationStatus
    advisers_available: bool | None = None
    queue_position: int | None = None
    expected_wait_s: float | None = None


class StatusOnly(BaseModel):
    conversation_status: ConversationStatus


class Feedback(BaseModel):
    message_id: Annotated[Text, Field(max_length=40)]
    rating: Annotated[int, Field(ge=1, le=5)] | Literal["up", "down"]
    comment: Annotated[Text | None, Field(max_length=2000)] = None

    model_config = {"json_schema_extra": {"examples": [{"message_id": "m_...", "rating": "up"}]}}


class FeedbackSaved(BaseModel):
    id: str
    message_id: str
    rating: str
    comment: str | None


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.startswith("Bearer "):
        return authorization.removeprefix("Bearer ").strip()
    return None


def _conversation(
    services: Services, conversation_id: str, authorization: str | None
) -> CustomerConversation:
    return services.customers.authenticate(conversation_id, _bearer(authorization))


def _sender(
    services: Services, conversation_id: str, authorization: str | None, message_id: str | None
) -> tuple[CustomerConversation, dict[str, Any] | None]:
    """The customer's conversation, and the answer already given to this message id if it
    is a retry: in one trip to a worker thread, before the turn."""
    conversation = _conversation(services, conversation_id, authorization)
    first = services.customers.replay(conversation.id, message_id) if message_id else None
    return conversation, first


Auth = Annotated[str | None, Header(description="`Bearer ct_...`, from opening the conversation")]


@router.post(
    "",
    status_code=201,
    summary="Open a conversation with the tenant's publishable key",
    responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
def open_conversation(
    services: ServicesDep,
    request: Request,
    x_rafiq_key: Annotated[str | None, Header(description="The tenant's `pk_...` key")] = None,
    body: OpenConversation | None = None,
) -> OpenedConversation:
    tenant = services.tenants.by_publishable_key(x_rafiq_key or "")
    if tenant is None:
        raise ApiError(401, "unauthorized", "send the tenant's publishable key: X-Rafiq-Key")
    _limit(request, f"key:{tenant.name}", per_key=True)
    body = body or OpenConversation()
    conversation, token, welcome = services.customers.open(tenant, body.locale, body.metadata)
    return OpenedConversation(
        id=conversation.id,
        token=token,
        status=conversation.status,
        messages=[ChatMessage(**m) for m in welcome],
    )


@router.post(
    "/{conversation_id}/messages",
    summary="Send a customer message: the bot's turn, or a message for the adviser",
    responses={
        200: {
            "model": TurnResult,
            "description": "The TurnResult; with `Accept: text/event-stream`, SSE events "
            "`delta` (text chunks) then `turn` (the TurnResult).",
            "content": {"text/event-stream": {}},
        },
        202: {"model": Relayed, "description": "Stored for the adviser: no bot reply."},
        409: {"model": ErrorBody, "description": "The conversation is closed"},
        **_ERRORS,
    },
)
async def send_message(
    conversation_id: str,
    body: SendMessage,
    request: Request,
    services: ServicesDep,
    authorization: Auth = None,
) -> Response:
    text = body.text.strip()
    limit = services.api_config.max_message_chars
    conversation, first = await asyncio.to_thread(
        _sender, services, conversation_id, authorization, body.client_message_id
    )
    if not text:
        raise ApiError(422, "invalid_request", "text: the message is empty")
    if len(text) > limit:
        raise ApiError(422, "message_too_long", f"text: at most {limit} characters")
    if first is not None:
        return _replayed(first)
    _limit(request, f"conv:{conversation.id}", per_key=False)
    status = conversation.status
    if status == "closed":
        raise ApiError(409, "conversation_closed", "this conversation is closed: open a new one")
    if accepts_event_stream(request) and status == "bot":
        return stream_response(_turn_events(request, services, conversation, body, text))
    try:
        result = await asyncio.to_thread(
            services.agent.turn, conversation.tenant, text, conversation.id, body.client_message_id
        )
    except DuplicateMessageError:
        first = await asyncio.to_thread(
            services.customers.replay, conversation.id, body.client_message_id or ""
        )
        assert first is not None
        return _replayed(first)
    return await _respond(request, services, conversation, body, result)


async def _respond(
    request: Request,
    services: Services,
    conversation: CustomerConversation,
    body: SendMessage,
    result: TurnResult | RelayedMessage,
) -> JSONResponse:
    document = await _after_turn(request, services, conversation, body, result)
    return _replayed(document)


def _replayed(document: dict[str, Any]) -> JSONResponse:
    status = 202 if document.get("__relayed__") else 200
    return JSONResponse({k: v for k, v in document.items() if k != "__relayed__"}, status)


async def _after_turn(
    request: Request,
    services: Services,
    conversation: CustomerConversation,
    body: SendMessage,
    result: TurnResult | RelayedMessage,
) -> dict[str, Any]:
    """Bookkeeping after a turn: metrics, the wait notice, the stored response."""
    if isinstance(result, RelayedMessage):
        document: dict[str, Any] = {
            "message_id": result.message_id,
            "conversation_status": result.conversation_status,
            "__relayed__": True,
        }
    else:
        document = result.model_dump(mode="json")
        get_metrics(request).observe_turn(
            conversation.tenant,
            result.action,
            result.mode,
            result.escalation.category if result.escalation else None,
            result.timings_ms.total / 1000,
        )
        if result.escalation is not None:
            await asyncio.to_thread(
                services.desk.announce_wait, conversation.tenant, result.escalation.handoff_id
            )
            draft_in_background(services, conversation.tenant, result.escalation.handoff_id)
    if body.client_message_id:
        await asyncio.to_thread(
            services.customers.record_result, conversation.id, body.client_message_id, document
        )
    return document


async def _turn_events(
    request: Request,
    services: Services,
    conversation: CustomerConversation,
    body: SendMessage,
    text: str,
) -> AsyncIterator[bytes]:
    """The turn's SSE frames. The turn itself runs apart from this stream: a customer
    whose connection drops mid-answer retries with the same ``client_message_id`` and
    gets the stored result, which a turn cancelled with its stream would never write."""
    frames: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def run_turn() -> None:
        try:
            async for event in services.agent.stream(
                conversation.tenant, text, conversation.id, body.client_message_id
            ):
                if isinstance(event, str):
                    frames.put_nowait(frame("delta", {"text": event}))
                else:
                    document = await _after_turn(request, services, conversation, body, event)
                    frames.put_nowait(_result_frame(document))
        except DuplicateMessageError:
            first = await asyncio.to_thread(
                services.customers.replay, conversation.id, body.client_message_id or ""
            )
            frames.put_nowait(_result_frame(first or {}))
        finally:
            frames.put_nowait(None)

    turn = _in_background(run_turn(), "turn")
    finished = False
    while not finished:
        # Whatever piled up while this stream waited goes out in one write: under load,
        # one send per model token would cost the event loop more than the tokens do.
        batch = [await frames.get()]
        while not frames.empty():
            batch.append(frames.get_nowait())
        finished = batch[-1] is None
        data = b"".join(item for item in batch if item is not None)
        if data:
            yield data
    await asyncio.wait({turn})
    if not turn.cancelled() and turn.exception() is not None:
        yield frame(
            "error",
            {"error": {"code": "turn_failed", "message": "the answer failed; send it again"}},
        )


def _result_frame(document: dict[str, Any]) -> bytes:
    """``turn`` with the TurnResult, or ``relayed`` when an adviser has the conversation."""
    name = "relayed" if document.get("__relayed__") else "turn"
    return frame(name, {k: v for k, v in document.items() if k != "__relayed__"})


@router.get(
    "/{conversation_id}/messages",
    summary="The conversation so far (redacted), its status and the open handoff",
    responses=_ERRORS,
)
def list_messages(
    conversation_id: str, services: ServicesDep, authorization: Auth = None
) -> Transcript:
    conversation = _conversation(services, conversation_id, authorization)
    last_event_id = services.events.latest_id(conversation.tenant)
    return Transcript(
        messages=[ChatMessage(**m) for m in services.customers.messages(conversation.id)],
        status=services.customers.status(conversation.id),
        handoff=services.desk.open_handoff_of(conversation.tenant, conversation.id),
        last_event_id=last_event_id,
    )


@router.get(
    "/{conversation_id}/events",
    summary="Server-sent events: messages and status changes (resume with Last-Event-ID)",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}}}, **_ERRORS},
)
async def conversation_events(
    conversation_id: str,
    request: Request,
    services: ServicesDep,
    authorization: Auth = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    # EventSource cannot send headers: the token may come as ?token=ct_...
    bearer = authorization or (
        f"Bearer {request.query_params['token']}" if "token" in request.query_params else None
    )
    conversation = await asyncio.to_thread(_conversation, services, conversation_id, bearer)
    log = services.events
    start = resume_point(
        request, last_event_id, await asyncio.to_thread(log.latest_id, conversation.tenant)
    )
    fetch = partial(_customer_events, services, conversation.tenant, conversation.id)
    return stream_response(follow(request, log, fetch, start, services.api_config))


def _customer_events(services: Services, tenant: str, conversation_id: str, after: int) -> Any:
    return services.events.after(
        tenant, after, conversation_id=conversation_id, types=CUSTOMER_EVENT_TYPES
    )


@router.post(
    "/{conversation_id}/handoff",
    summary="The customer asks for a human adviser",
    responses={
        200: {"model": HandoffState, "description": "Already waiting for or with an adviser"},
        201: {"model": HandoffState, "description": "Queued for an adviser"},
        409: {"model": ErrorBody, "description": "The conversation is closed"},
        **_ERRORS,
    },
)
async def ask_for_human(
    conversation_id: str,
    services: ServicesDep,
    response: Response,
    authorization: Auth = None,
    body: HandoffAsk | None = None,
) -> HandoffState:
    conversation = await asyncio.to_thread(_conversation, services, conversation_id, authorization)
    state, created = await asyncio.to_thread(
        _ask_for_human, services, conversation, body or HandoffAsk()
    )
    if created:
        draft_in_background(services, conversation.tenant, state.handoff_id)
    response.status_code = 201 if created else 200
    return state


def _ask_for_human(
    services: Services, conversation: CustomerConversation, body: HandoffAsk
) -> tuple[HandoffState, bool]:
    status = services.customers.status(conversation.id)
    if status == "closed":
        raise ApiError(409, "conversation_closed", "this conversation is closed: open a new one")
    existing = services.desk.open_handoff_of(conversation.tenant, conversation.id)
    if existing is not None:
        return HandoffState(handoff_id=existing["id"], conversation_status=status), False
    handoff_id = services.agent.request_handoff(
        conversation.tenant,
        conversation.id,
        body.reason,
        language_hint=locale_language(conversation.locale),
    )
    found = services.desk.announce_wait(conversation.tenant, handoff_id)
    state = HandoffState(
        handoff_id=handoff_id, conversation_status="waiting_human", **found.as_dict()
    )
    return state, True


@router.delete(
    "/{conversation_id}/handoff",
    summary="The customer cancels while waiting for an adviser",
    responses={409: {"model": ErrorBody, "description": "Nothing to cancel"}, **_ERRORS},
)
def cancel_handoff(
    conversation_id: str, services: ServicesDep, authorization: Auth = None
) -> StatusOnly:
    conversation = _conversation(services, conversation_id, authorization)
    services.desk.cancel(conversation.tenant, conversation.id)
    return StatusOnly(conversation_status="bot")


@router.post(
    "/{conversation_id}/feedback",
    summary="Rate an answer: 1-5, or up / down",
    responses={
        200: {"model": FeedbackSaved, "description": "Replaced an earlier rating"},
        201: {"model": FeedbackSaved, "description": "Recorded"},
        **_ERRORS,
    },
)
def give_feedback(
    conversation_id: str,
    body: Feedback,
    services: ServicesDep,
    response: Response,
    authorization: Auth = None,
) -> FeedbackSaved:
    conversation = _conversation(services, conversation_id, authorization)
    saved, created = services.customers.feedback(
        conversation.id, body.message_id, str(body.rating), body.comment
    )
    response.status_code = 201 if created else 200
    return FeedbackSaved(**saved)


_BACKGROUND: set[asyncio.Task[None]] = set()


def _in_background(work: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
    """Runs ``work`` to its end whoever awaits it; a failure is logged, never lost."""
    task = asyncio.get_running_loop().create_task(work)
    _BACKGROUND.add(task)  # the loop keeps only weak references to tasks

    def done(finished: asyncio.Task[None]) -> None:
        _BACKGROUND.discard(finished)
        if not finished.cancelled() and finished.exception() is not None:
            log.error("%s failed", what, exc_info=finished.exception())

    task.add_done_callback(done)
    return task


def draft_in_background(services: Services, tenant: str, handoff_id: str) -> None:
    """With a model configured, it rewrites the summary and the suggested reply after the
    customer has had their answer: the handoff notice never waits for the model."""
    if not services.agent.generative:
        return
    conversation_id = services.desk.conversation_of(tenant, handoff_id)

    async def draft() -> None:
        found = await services.agent.draft_handoff(tenant, conversation_id)
        if found is not None:
            await asyncio.to_thread(
                services.desk.set_drafts, tenant, handoff_id, found.summary, found.suggested_reply
            )

    _in_background(draft(), "handoff draft")


def _limit(request: Request, key: str, *, per_key: bool) -> None:
    limits = get_limits(request)
    (limits.per_key if per_key else limits.per_conversation).check(key)
