"""Rate limits and the request body size limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.config import ApiConfig
from api.errors import ApiError
from api.limits import Limits, RateLimiter
from api.middleware import BodySizeLimit
from rafiq.wiring import Container


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _refused(limiter: RateLimiter, key: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        limiter.check(key)
    return caught.value


def test_a_burst_passes_then_the_caller_is_told_when_to_retry() -> None:
    limiter = RateLimiter(rate_per_minute=30, burst=3, clock=FakeClock())
    for _ in range(3):
        limiter.check("conv:c_1")

    error = _refused(limiter, "conv:c_1")

    assert (error.status, error.code) == (429, "rate_limited")
    # 30 a minute is one request every 2 s.
    assert error.headers == {"Retry-After": "2"}


def test_requests_are_allowed_again_as_the_bucket_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_minute=30, burst=2, clock=clock)
    limiter.check("conv:c_1")
    limiter.check("conv:c_1")

    clock.now += 1.5
    assert _refused(limiter, "conv:c_1").headers == {"Retry-After": "1"}
    clock.now += 0.5
    limiter.check("conv:c_1")
    _refused(limiter, "conv:c_1")

    clock.now += 60
    limiter.check("conv:c_1")
    limiter.check("conv:c_1")
    _refused(limiter, "conv:c_1")


def test_each_key_has_its_own_bucket() -> None:
    limiter = RateLimiter(rate_per_minute=30, burst=2, clock=FakeClock())
    limiter.check("conv:c_1")
    limiter.check("conv:c_1")
    _refused(limiter, "conv:c_1")

    limiter.check("conv:c_2")
    limiter.check("conv:c_2")
    _refused(limiter, "conv:c_2")


def test_idle_keys_are_forgotten_and_memory_stays_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_minute=60, burst=5, clock=clock, max_keys=50)
    for i in range(200):
        limiter.check(f"key:pk_{i}")
    assert len(limiter) <= 50

    clock.now += 5  # a full refill at one token a second
    limiter.check("key:pk_new")
    assert len(limiter) == 1


def test_a_publishable_key_gets_ten_times_a_conversation_allowance() -> None:
    limits = Limits.from_config(
        ApiConfig(secret_key="test", rate_per_minute=6, rate_burst=2), clock=FakeClock()
    )
    for _ in range(2):
        limits.per_conversation.check("conv:c_1")
    _refused(limits.per_conversation, "conv:c_1")

    for _ in range(20):
        limits.per_key.check("key:acme")
    error = _refused(limits.per_key, "key:acme")
    assert error.headers == {"Retry-After": "1"}


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container))


def test_an_oversized_body_is_refused_with_the_json_error(client: TestClient) -> None:
    response = client.post("/v1/kb/search", json={"query": "x" * 100_000})

    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "payload_too_large", "message": "request body larger than 64000 bytes"}
    }


def test_a_small_body_reaches_the_route(client: TestClient) -> None:
    response = client.post("/v1/kb/search", json={"query": "facture"})

    # No staff token: the route itself answered.
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def _chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    body = b'{"query": "' + b"x" * total + b'"}'
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_body_is_counted_as_it_arrives(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}

    large = client.post("/v1/kb/search", content=_chunks(100_000), headers=headers)
    small = client.post("/v1/kb/search", content=_chunks(100), headers=headers)

    assert large.status_code == 413
    assert large.json()["error"]["code"] == "payload_too_large"
    assert small.status_code == 401


def test_a_declared_length_over_the_limit_is_refused_without_calling_the_app() -> None:
    calls: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["path"])
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    client = TestClient(BodySizeLimit(app, max_bytes=10))

    assert client.post("/upload", content=b"x" * 11).status_code == 413
    assert calls == []
    assert client.post("/upload", content=b"x" * 10).status_code == 200
    assert calls == ["/upload"]
