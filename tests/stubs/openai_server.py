"""A small OpenAI-compatible server for tests.

Only ``POST /v1/embeddings`` for now: deterministic vectors seeded by a hash of each
input text, in the response shape of the real API. Switches on :class:`StubState` make
it fail, answer out of order or encode vectors in base64, and every request body is
recorded so tests can check what the client sent.

    stub = OpenAIStub(dimension=16)
    with serve(stub.app) as base_url:  # "http://127.0.0.1:PORT/v1"
        client = openai.OpenAI(base_url=base_url, api_key="test")
        ...
        stub.state.fail_status = 500
"""

from __future__ import annotations

import base64
import hashlib
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DEFAULT_DIMENSION = 32


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

    def reset(self) -> None:
        """Back to a healthy server with an empty request log; the dimension is kept."""
        self.fail_status = None
        self.reverse_order = False
        self.honour_base64 = False
        self.drop_items = 0
        self.requests.clear()
        self.headers.clear()


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

        return app


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
