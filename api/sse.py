"""Server-sent events: framing and the streaming response both streams use."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from api.config import ApiConfig
from api.errors import ApiError
from api.events import Event, EventLog

HEARTBEAT = b": heartbeat\n\n"


def frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines += [f"event: {event}", f"data: {json.dumps(data, ensure_ascii=False)}"]
    return ("\n".join(lines) + "\n\n").encode()


def stream_response(chunks: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type="text/event-stream",
        # Proxies must pass each event on at once rather than buffer the stream.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def resume_point(request: Request, last_event_id: str | None, default: int) -> int:
    """``Last-Event-ID`` (sent by EventSource on reconnect) or ``?last_event_id=``."""
    value = last_event_id or request.query_params.get("last_event_id")
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise ApiError(422, "invalid_request", "Last-Event-ID: a number from an earlier event")
    return int(value)


def accepts_event_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


async def follow(
    request: Request,
    log: EventLog,
    fetch: Any,
    after_id: int,
    config: ApiConfig,
) -> AsyncIterator[bytes]:
    """Events from ``after_id`` on, with heartbeats, until the client goes away."""
    yield b"retry: 2000\n\n"
    async for event in log.follow(
        fetch, after_id, heartbeat_s=config.sse_heartbeat_s, poll_s=config.sse_poll_s
    ):
        if await request.is_disconnected():
            return
        yield HEARTBEAT if event is None else _event_frame(event)


def _event_frame(event: Event) -> bytes:
    return frame(event.type, {**event.payload, "conversation_id": event.conversation_id}, event.id)
