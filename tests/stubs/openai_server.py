"""A small OpenAI-compatible server for tests.

``POST /v1/embeddings``: deterministic vectors seeded by a hash of each input text, in the
response shape of the real API. Switches on :class:`StubState` make it fail, answer out of
order or encode vectors in base64.

``POST /v1/chat/completions``: answers from a queue of scripted :class:`ChatReply` items
(text, a JSON object, malformed text, an HTTP error), as one ``chat.completion`` or, when
the client asks for ``stream``, as server-sent ``chat.completion.chunk`` events ended by
``data: [DONE]``, one word per chunk at a scriptable pace. A request that forces a tool
(``tool_choice`` naming a function) gets the reply as that tool call's arguments; a
``response_format`` is checked for the shape the real API requires. With ``hang_s`` the
server waits before answering, to exercise client timeouts.

Every request body is recorded so tests can check what the client sent.

    stub = OpenAIStub(dimension=16)
    with serve(stub.app) as base_url:  # "http://127.0.0.1:PORT/v1"
        client = openai.OpenAI(base_url=base_url, api_key="test")
        ...
        stub.state.fail_status = 500
        stub.state.script(ChatReply.text("Bonjour"), ChatReply.json({"a": 1}))
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

DEFAULT_DIMENSION = 32
DEFAULT_CHAT_REPLY = "Stub reply."
_SCHEMA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_PIECES = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class ChatReply:
    """One scripted answer of ``POST /v1/chat/completions``."""

    content: str = DEFAULT_CHAT_REPLY
    """The assistant's text: prose, JSON, or anything malformed."""
    status: int | None = None
    """Answer with this HTTP status and an OpenAI-style error body instead."""
    error_message: str = "stub failure"
    """The ``error.message`` of that body."""
    delay_s: float = 0.0
    """Wait this long before answering (longer than the client's timeout: a hang)."""
    token_delay_s: float | None = None
    """Pause between streamed chunks; ``None`` uses ``StubState.token_delay_s``."""
    finish_reason: str = "stop"
    """The last chunk's (or the completion's) finish_reason, e.g. "length"."""
    stop_after_chunks: int | None = None
    """Streaming only: end the stream after this many content chunks, with no finish
    chunk and no ``[DONE]``, like a server that died mid-answer."""
    error_after_chunks: int | None = None
    """Streaming only: after this many content chunks, an OpenAI-style ``{"error": ...}``
    object in the stream (``error_message``), as servers send when generation fails."""

    @classmethod
    def text(cls, content: str, **options: Any) -> ChatReply:
        return cls(content=content, **options)

    @classmethod
    def json(cls, value: Any, **options: Any) -> ChatReply:
        return cls(content=json.dumps(value, ensure_ascii=False), **options)

    @classmethod
    def malformed(
        cls, content: str = '{"category": "fraud", "priority": ', **options: Any
    ) -> ChatReply:
        """Text that is not the JSON object a structured-output client expects."""
        return cls(content=content, **options)

    @classmethod
    def error(cls, status: int, message: str = "stub failure", **options: Any) -> ChatReply:
        return cls(content="", status=status, error_message=message, **options)


def stream_pieces(content: str) -> list[str]:
    """How the stub splits a streamed reply: one word with its trailing spaces per chunk."""
    return _PIECES.findall(content)


def stub_vector(text: str, dimension: int = DEFAULT_DIMENSION) -> list[float]:
    """The stub's embedding of ``text``: uniform in [-1, 1), seeded by its sha256, not unit."""
    rng = random.Random(hashlib.sha256(text.encode("utf-8")).digest())
    return [rng.uniform(-1.0, 1.0) for _ in range(dimension)]


@dataclass
class StubState:
    dimension: int = DEFAULT_DIMENSION
    fail_status: int | None = None
    """Answer every request with this HTTP status and an OpenAI-style error body."""
    reverse_order: bool = False
    """List ``data`` items last-first (their ``index`` fields stay correct)."""
    honour_base64: bool = False
    """Encode vectors as base64 float32 when the client asks, as api.openai.com does.
    Off by default: many compatible servers always answer with float lists."""
    drop_items: int = 0
    """Leave the last ``drop_items`` vectors out of the answer, like a broken server."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every JSON body received, in order."""
    headers: list[dict[str, str]] = field(default_factory=list)
    """The headers of every request, in order (names in lower case)."""
    chat_replies: deque[ChatReply] = field(default_factory=deque)
    """Scripted chat answers, used first-in first-out; when empty, ``default_chat_reply``."""
    default_chat_reply: ChatReply = field(default_factory=ChatReply)
    token_delay_s: float = 0.0
    """Pause between streamed chunks, to stream at a realistic pace."""
    hang_s: float = 0.0
    """Wait this long before answering any chat request (a hung server)."""
    chat_requests: list[dict[str, Any]] = field(default_factory=list)
    """The JSON bodies of chat requests only, in order (also recorded in ``requests``)."""

    def script(self, *replies: ChatReply | str) -> None:
        """Queue chat answers; a plain string is a text reply."""
        for reply in replies:
            self.chat_replies.append(ChatReply.text(reply) if isinstance(reply, str) else reply)

    def reset(self) -> None:
        """Back to a healthy server with an empty request log; the dimension is kept."""
        self.fail_status = None
        self.reverse_order = False
        self.honour_base64 = False
        self.drop_items = 0
        self.requests.clear()
        self.headers.clear()
        self.chat_replies.clear()
        self.default_chat_reply = ChatReply()
        self.token_delay_s = 0.0
        self.hang_s = 0.0
        self.chat_requests.clear()


def _error(status: int, message: str, kind: str) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return JSONResponse(body, status_code=status)


def _inputs(raw: Any) -> list[str] | None:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return list(raw)
    if isinstance(raw, list) and all(isinstance(item, int) for item in raw):
        return [" ".join(map(str, raw))]  # one pre-tokenised input
    if isinstance(raw, list) and all(
        isinstance(item, list) and all(isinstance(t, int) for t in item) for item in raw
    ):
        return [" ".join(map(str, item)) for item in raw]
    return None


def _response_format_problem(raw: Any) -> str | None:
    """Why the API would refuse this ``response_format``, or None."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("type") not in ("text", "json_object", "json_schema"):
        return "'response_format.type' must be text, json_object or json_schema"
    if raw["type"] != "json_schema":
        return None
    spec = raw.get("json_schema")
    if not isinstance(spec, dict):
        return "'response_format.json_schema' is required"
    if not isinstance(spec.get("name"), str) or not _SCHEMA_NAME.match(spec["name"]):
        return "'response_format.json_schema.name' must match ^[a-zA-Z0-9_-]{1,64}$"
    if not isinstance(spec.get("schema", {}), dict):
        return "'response_format.json_schema.schema' must be an object"
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        return "'response_format.json_schema.strict' must be a boolean"
    return None


def _forced_tool(body: dict[str, Any]) -> str | None:
    """The function the request forces the model to call, if any."""
    choice = body.get("tool_choice")
    tools = body.get("tools") or []
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return name if isinstance(name, str) else None
    if choice == "required" and len(tools) == 1:
        name = (tools[0].get("function") or {}).get("name")
        return name if isinstance(name, str) else None
    return None


async def _pause(request: Request, seconds: float) -> bool:
    """Sleep up to ``seconds``; True as soon as the client has gone away."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return True
        await asyncio.sleep(min(0.02, left))
    return False


class OpenAIStub:
    def __init__(self, dimension: int = DEFAULT_DIMENSION) -> None:
        self.state = StubState(dimension=dimension)
        self.app = self._build_app()

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="OpenAI stub")
        state = self.state

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> JSONResponse:
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "request body is not JSON", "invalid_request_error")
            state.requests.append(body)
            state.headers.append(dict(request.headers))
            if state.fail_status is not None:
                return _error(state.fail_status, "stub failure", "server_error")
            texts = _inputs(body.get("input")) if isinstance(body, dict) else None
            if not texts or not body.get("model"):
                return _error(400, "'input' and 'model' are required", "invalid_request_error")
            as_base64 = state.honour_base64 and body.get("encoding_format") == "base64"
            data = []
            for i, text in enumerate(texts):
                vector = stub_vector(text, state.dimension)
                embedding: list[float] | str = (
                    base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
                    if as_base64
                    else vector
                )
                data.append({"object": "embedding", "index": i, "embedding": embedding})
            if state.drop_items:
                data = data[: -state.drop_items]
            if state.reverse_order:
                data.reverse()
            tokens = sum(len(t.split()) for t in texts)
            return JSONResponse(
                {
                    "object": "list",
                    "data": data,
                    "model": body["model"],
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                }
            )

        ids = itertools.count(1)

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "request body is not JSON", "invalid_request_error")
            state.requests.append(body)
            state.headers.append(dict(request.headers))
            if isinstance(body, dict):
                state.chat_requests.append(body)
            reply = state.chat_replies.popleft() if state.chat_replies else state.default_chat_reply
            wait = max(state.hang_s, reply.delay_s)
            if wait > 0 and await _pause(request, wait):
                return Response(status_code=499)  # nobody is listening any more
            if reply.status is not None:
                return _error(reply.status, reply.error_message, "server_error")
            if state.fail_status is not None:
                return _error(state.fail_status, "stub failure", "server_error")
            messages = body.get("messages") if isinstance(body, dict) else None
            if not isinstance(messages, list) or not messages or not body.get("model"):
                return _error(400, "'messages' and 'model' are required", "invalid_request_error")
            problem = _response_format_problem(body.get("response_format"))
            if problem:
                return _error(400, problem, "invalid_request_error")
            completion_id = f"chatcmpl-stub-{next(ids)}"
            tool = _forced_tool(body)
            if body.get("stream"):
                return StreamingResponse(
                    self._chunks(body, reply, completion_id, tool),
                    media_type="text/event-stream",
                )
            return JSONResponse(_completion(body, reply, completion_id, tool))

        return app

    async def _chunks(
        self, body: dict[str, Any], reply: ChatReply, completion_id: str, tool: str | None
    ) -> AsyncIterator[str]:
        created = int(time.time())

        def event(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "choices": [
                    {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
                ],
            }
            return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

        pace = self.state.token_delay_s if reply.token_delay_s is None else reply.token_delay_s
        if tool is None:
            yield event({"role": "assistant", "content": ""})
        else:
            call = {"index": 0, "id": f"call_{completion_id}", "type": "function"}
            first = {**call, "function": {"name": tool, "arguments": ""}}
            yield event({"role": "assistant", "content": None, "tool_calls": [first]})
        pieces = stream_pieces(reply.content)
        for sent, piece in enumerate(pieces):
            if reply.stop_after_chunks is not None and sent >= reply.stop_after_chunks:
                return
            if reply.error_after_chunks is not None and sent >= reply.error_after_chunks:
                error = {"message": reply.error_message, "type": "server_error", "code": None}
                yield f"data: {json.dumps({'error': error})}\n\n"
                return
            if pace > 0:
                await asyncio.sleep(pace)
            if tool is None:
                yield event({"content": piece})
            else:
                yield event({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        if reply.stop_after_chunks is not None and len(pieces) <= reply.stop_after_chunks:
            return
        yield event(
            {}, "tool_calls" if tool and reply.finish_reason == "stop" else reply.finish_reason
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "choices": [],
                "usage": _usage(body, reply.content),
            }
            yield f"data: {json.dumps(usage, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"


def _usage(body: dict[str, Any], content: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
    completion = len(content.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(
    body: dict[str, Any], reply: ChatReply, completion_id: str, tool: str | None
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    finish_reason = reply.finish_reason
    if tool is not None:
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": f"call_{completion_id}",
                "type": "function",
                "function": {"name": tool, "arguments": reply.content},
            }
        ]
        finish_reason = "tool_calls" if finish_reason == "stop" else finish_reason
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": _usage(body, reply.content),
    }


@contextmanager
def serve(app: Any, startup_timeout_s: float = 10.0) -> Iterator[str]:
    """Serve ``app`` on a free loopback port from a daemon thread; yield its ``/v1`` base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the stub server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@contextmanager
def openai_stub(dimension: int = DEFAULT_DIMENSION) -> Iterator[tuple[str, OpenAIStub]]:
    """A running stub: its base URL and the stub, whose ``state`` can be changed live."""
    stub = OpenAIStub(dimension)
    with serve(stub.app) as base_url:
        yield base_url, stub
