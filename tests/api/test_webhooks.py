"""Webhooks: admins subscribe URLs, events reach them signed, once, despite failures."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.models import OutboxRow, as_utc
from api.routes import webhooks as webhook_routes
from api.webhooks import (
    WebhookDeliverer,
    enqueue,
    sign,
    verify,
    webhook_secret,
)
from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.api.webhook_receiver import Receiver, running_receiver

HANDOFF = {"handoff_id": "h_1", "conversation_id": "c_1", "category": "billing"}


@pytest.fixture
def client(container: Container) -> TestClient:
    app = create_app(container)
    if not any(getattr(r, "path", "").startswith("/v1/webhooks") for r in app.routes):
        app.include_router(webhook_routes.router)
    return TestClient(app)


@pytest.fixture
def admin(container: Container) -> str:
    return container.tenants.create("acme")[1].token


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def subscribe(
    client: TestClient,
    token: str,
    receiver: Receiver,
    path: str = "/hooks/rafiq",
    events: list[str] | None = None,
) -> str:
    body: dict[str, Any] = {"url": receiver.url + path}
    if events is not None:
        body["events"] = events
    response = client.post("/v1/webhooks", json=body, headers=_auth(token))
    assert response.status_code == 201, response.text
    receiver.secrets[path] = response.json()["secret"]
    webhook_id: str = response.json()["id"]
    return webhook_id


def emit(
    sessions: sessionmaker[Session], event: str, data: dict[str, Any], tenant: str = "acme"
) -> int:
    with sessions.begin() as session:
        return enqueue(session, tenant, event, data)


def deliverer(container: Container, **options: Any) -> WebhookDeliverer:
    return WebhookDeliverer(container.sessions, container.api_config.secret_key, **options)


def outbox(sessions: sessionmaker[Session]) -> list[OutboxRow]:
    with sessions() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)).all())


def test_a_subscribed_receiver_gets_the_event_signed_with_its_secret(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    webhook_id = subscribe(client, admin, receiver)

    assert emit(container.sessions, "handoff.created", HANDOFF) == 1
    assert deliverer(container).deliver_due() == 1

    [got] = receiver.requests
    body = json.loads(got.body)
    assert body["type"] == "handoff.created"
    assert body["tenant"] == "acme"
    assert body["data"] == HANDOFF
    assert body["id"] == got.headers["rafiq-delivery"] == f"evt_{outbox(container.sessions)[0].id}"
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert got.path == "/hooks/rafiq"
    assert got.headers["rafiq-event"] == "handoff.created"
    assert got.headers["content-type"] == "application/json"
    assert got.signature_ok
    secret = receiver.secrets["/hooks/rafiq"]
    assert secret == webhook_secret(container.api_config.secret_key, webhook_id)
    signature = got.headers["rafiq-signature"]
    tampered = got.body.replace(b"billing", b"refunds")
    assert not verify(secret, signature, tampered)
    assert not verify(webhook_secret("another server key", webhook_id), signature, got.body)
    assert deliverer(container).deliver_due() == 0, "a delivered event is not sent again"


def test_a_signature_is_refused_when_replayed_late_malformed_or_for_another_body() -> None:
    header = sign("whsec_x", 1_700_000_000, b'{"a":1}')

    assert re.fullmatch(r"t=1700000000,v1=[0-9a-f]{64}", header)
    assert verify("whsec_x", header, b'{"a":1}', now=1_700_000_299)
    assert not verify("whsec_x", header, b'{"a":1}', now=1_700_000_301)
    assert not verify("whsec_x", header, b'{"a":2}', now=1_700_000_000)
    assert not verify("whsec_y", header, b'{"a":1}', now=1_700_000_000)
    rotated = f"{header},v1={'0' * 64}"
    assert verify("whsec_x", rotated, b'{"a":1}', now=1_700_000_000)
    for malformed in ("", "v1=abc", "t=1700000000", "t=soon,v1=abc"):
        assert not verify("whsec_x", malformed, b'{"a":1}', now=1_700_000_000)


def test_a_failing_receiver_gets_the_event_again_after_growing_delays(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    subscribe(client, admin, receiver)
    receiver.statuses = [500, 503]
    emit(container.sessions, "handoff.claimed", HANDOFF)
    sender = deliverer(container)
    start = datetime.now(UTC)

    assert sender.deliver_due(start) == 1
    [first] = outbox(container.sessions)
    first_retry = as_utc(first.next_attempt_at)
    assert (first.attempts, first.last_error) == (1, "HTTP 500")
    assert timedelta(seconds=1.5) <= first_retry - start <= timedelta(seconds=2)
    assert sender.deliver_due(start + timedelta(seconds=1)) == 0, "not due yet"

    assert sender.deliver_due(first_retry) == 1
    [second] = outbox(container.sessions)
    second_retry = as_utc(second.next_attempt_at)
    assert (second.attempts, second.last_error) == (2, "HTTP 503")
    assert timedelta(seconds=3) <= second_retry - first_retry <= timedelta(seconds=4)

    assert sender.deliver_due(second_retry) == 1
    [done] = outbox(container.sessions)
    assert done.attempts == 3
    assert done.delivered_at is not None
    assert len(set(receiver.deliveries())) == 1, "every attempt carries the same delivery id"
    assert len(receiver.requests) == 3


def test_an_event_is_given_up_after_the_last_attempt_and_kept_for_the_operator(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    webhook_id = subscribe(client, admin, receiver)
    receiver.statuses = [500] * 10
    emit(container.sessions, "handoff.resolved", HANDOFF)
    sender = deliverer(container, max_attempts=3)
    now = datetime.now(UTC)

    for _ in range(3):
        assert sender.deliver_due(now) == 1
        now = as_utc(outbox(container.sessions)[0].next_attempt_at)

    [row] = outbox(container.sessions)
    assert row.failed_at is not None
    assert row.delivered_at is None
    assert row.attempts == 3
    assert sender.deliver_due(now + timedelta(days=2)) == 0
    assert len(receiver.requests) == 3
    [shown] = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=_auth(admin)).json()[
        "deliveries"
    ]
    assert shown["status"] == "failed"
    assert (shown["attempts"], shown["last_error"]) == (3, "HTTP 500")


def test_an_unreachable_receiver_is_retried_and_the_error_names_no_secret(
    client: TestClient, container: Container, admin: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed_port}/hook?token=crm-credential"
    client.post("/v1/webhooks", json={"url": url}, headers=_auth(admin))
    emit(container.sessions, "conversation.closed", {"conversation_id": "c_1"})

    assert deliverer(container, timeout_s=1).deliver_due() == 1

    [row] = outbox(container.sessions)
    assert row.attempts == 1
    assert row.last_error == "ConnectError"
    assert row.delivered_at is None and row.failed_at is None


def test_two_deliverers_racing_send_each_event_exactly_once(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    subscribe(client, admin, receiver)
    for n in range(20):
        emit(container.sessions, "handoff.created", {**HANDOFF, "handoff_id": f"h_{n}"})
    senders = [deliverer(container), deliverer(container)]
    ready = threading.Barrier(len(senders))
    attempted: list[int] = []

    def race(sender: WebhookDeliverer) -> None:
        ready.wait()
        attempted.append(sender.deliver_due())

    threads = [threading.Thread(target=race, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(attempted) == 20
    assert sorted(receiver.deliveries()) == sorted({*receiver.deliveries()})
    assert len(receiver.deliveries()) == 20
    assert all(r.delivered_at is not None for r in outbox(container.sessions))


class _Crash(BaseException):
    """The process dies in the middle of a send."""


class _CrashingTransport(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise _Crash


def test_an_event_whose_sender_crashed_is_sent_by_another_once_the_lease_runs_out(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    subscribe(client, admin, receiver)
    emit(container.sessions, "handoff.created", HANDOFF)
    now = datetime.now(UTC)
    with pytest.raises(_Crash):
        deliverer(container, transport=_CrashingTransport()).deliver_due(now)
    survivor = deliverer(container)

    assert survivor.deliver_due(now) == 0, "still leased to the crashed sender"
    assert survivor.deliver_due(now + timedelta(seconds=survivor.lease_s + 1)) == 1
    assert len(receiver.requests) == 1
    assert receiver.requests[0].signature_ok


def test_events_queued_before_a_restart_are_delivered_after_it(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    subscribe(client, admin, receiver)
    emit(container.sessions, "handoff.created", HANDOFF)
    emit(container.sessions, "handoff.resolved", HANDOFF)
    container.engine.dispose()

    restarted = Container(Settings())
    try:
        assert deliverer(restarted).deliver_due() == 2
    finally:
        restarted.engine.dispose()

    assert [r.headers["rafiq-event"] for r in receiver.requests] == [
        "handoff.created",
        "handoff.resolved",
    ]
    assert all(r.signature_ok for r in receiver.requests)


def test_a_change_that_rolls_back_sends_no_event(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    subscribe(client, admin, receiver)

    with pytest.raises(RuntimeError), container.sessions.begin() as session:
        enqueue(session, "acme", "handoff.created", HANDOFF)
        raise RuntimeError("the handoff could not be saved")

    assert outbox(container.sessions) == []
    assert deliverer(container).deliver_due() == 0


def test_an_unknown_event_cannot_be_queued(container: Container, admin: str) -> None:
    with pytest.raises(ValueError, match=r"handoff\.exploded"):
        emit(container.sessions, "handoff.exploded", HANDOFF)


def test_a_webhook_gets_only_the_events_it_subscribed_to(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    subscribe(client, admin, receiver, "/created-only", ["handoff.created"])
    subscribe(client, admin, receiver, "/everything")

    assert emit(container.sessions, "handoff.resolved", HANDOFF) == 1
    assert emit(container.sessions, "handoff.created", HANDOFF) == 2
    deliverer(container).deliver_due()

    got = sorted((r.path, r.headers["rafiq-event"]) for r in receiver.requests)
    assert got == [
        ("/created-only", "handoff.created"),
        ("/everything", "handoff.created"),
        ("/everything", "handoff.resolved"),
    ]
    assert all(r.signature_ok for r in receiver.requests), "each webhook signs with its secret"


def test_a_tenants_events_never_reach_another_tenants_webhooks(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    globex_admin = container.tenants.create("globex")[1].token
    subscribe(client, admin, receiver, "/acme")
    subscribe(client, globex_admin, receiver, "/globex")

    assert emit(container.sessions, "handoff.created", HANDOFF, tenant="acme") == 1
    deliverer(container).deliver_due()

    assert [(r.path, json.loads(r.body)["tenant"]) for r in receiver.requests] == [
        ("/acme", "acme")
    ]


def test_the_delivery_thread_survives_a_failing_round_and_stops_cleanly(
    client: TestClient,
    container: Container,
    admin: str,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscribe(client, admin, receiver)
    emit(container.sessions, "handoff.created", {"summary": "Client: Karim, 0612345678"})
    failures = [RuntimeError("could not read the row Client: Karim, 0612345678")]

    class FlakySessions:
        def __call__(self) -> Session:
            if failures:
                raise failures.pop()
            return container.sessions()

        def begin(self) -> Any:
            return container.sessions.begin()

    sender = WebhookDeliverer(
        FlakySessions(),  # type: ignore[arg-type]
        container.api_config.secret_key,
        poll_s=0.05,
    )
    with caplog.at_level(logging.ERROR, logger="rafiq.webhooks"):
        sender.start()
        try:
            _wait_for(lambda: len(receiver.requests) == 1)
        finally:
            sender.stop()

    assert "RuntimeError" in caplog.text
    assert "0612345678" not in caplog.text
    assert receiver.requests[0].signature_ok


def _wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_an_admin_creates_lists_and_deletes_webhooks(
    client: TestClient, container: Container, admin: str
) -> None:
    created = client.post(
        "/v1/webhooks",
        json={
            "url": "https://crm.example.com/hooks/rafiq",
            "events": ["handoff.created", "handoff.created", "handoff.resolved"],
        },
        headers=_auth(admin),
    )
    every_event = client.post(
        "/v1/webhooks", json={"url": "http://crm.example.com/all"}, headers=_auth(admin)
    )

    assert created.status_code == every_event.status_code == 201
    webhook = created.json()
    assert webhook["secret"].startswith("whsec_")
    assert webhook["secret"] == webhook_secret(container.api_config.secret_key, webhook["id"])
    assert webhook["events"] == ["handoff.created", "handoff.resolved"]
    assert webhook["active"] is True
    assert every_event.json()["events"] == [], "no list means every event"
    listed = client.get("/v1/webhooks", headers=_auth(admin)).json()["webhooks"]
    assert listed == [_without_secret(webhook), _without_secret(every_event.json())]
    deliveries = client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=_auth(admin))
    assert deliveries.json() == {"deliveries": []}

    assert client.delete(f"/v1/webhooks/{webhook['id']}", headers=_auth(admin)).status_code == 204
    listed = client.get("/v1/webhooks", headers=_auth(admin)).json()["webhooks"]
    assert listed == [_without_secret(every_event.json())]
    again = client.delete(f"/v1/webhooks/{webhook['id']}", headers=_auth(admin))
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"


def _without_secret(webhook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in webhook.items() if k != "secret"}


def test_deleting_a_webhook_drops_its_pending_deliveries(
    client: TestClient, container: Container, admin: str, receiver: Receiver
) -> None:
    webhook_id = subscribe(client, admin, receiver)
    emit(container.sessions, "handoff.created", HANDOFF)

    client.delete(f"/v1/webhooks/{webhook_id}", headers=_auth(admin))

    assert deliverer(container).deliver_due() == 0
    assert receiver.requests == []


def test_another_tenants_webhook_is_not_found(
    client: TestClient, container: Container, admin: str
) -> None:
    globex_admin = container.tenants.create("globex")[1].token
    webhook_id = client.post(
        "/v1/webhooks", json={"url": "https://acme.example.com/h"}, headers=_auth(admin)
    ).json()["id"]

    for response in (
        client.delete(f"/v1/webhooks/{webhook_id}", headers=_auth(globex_admin)),
        client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=_auth(globex_admin)),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/v1/webhooks", headers=_auth(globex_admin)).json() == {"webhooks": []}
    assert len(client.get("/v1/webhooks", headers=_auth(admin)).json()["webhooks"]) == 1


def test_only_admins_manage_webhooks(client: TestClient, container: Container, admin: str) -> None:
    adviser = container.tenants.create_user("acme", "adviser").token

    for response in (
        client.post("/v1/webhooks", json={"url": "https://x.example/h"}, headers=_auth(adviser)),
        client.get("/v1/webhooks", headers=_auth(adviser)),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/webhooks").status_code == 401


def test_a_bad_url_or_event_name_is_refused(client: TestClient, admin: str) -> None:
    for body in (
        {"url": "ftp://crm.example.com/hooks"},
        {"url": "crm.example.com/hooks"},
        {"url": "https://"},
        {"url": "https://crm.example.com/a hook"},
        {"url": "https://crm.example.com/" + "a" * 2000},
        {"url": "https://crm.example.com/h", "events": ["handoff.exploded"]},
        {"events": ["handoff.created"]},
    ):
        response = client.post("/v1/webhooks", json=body, headers=_auth(admin))

        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "invalid_request"
    assert client.get("/v1/webhooks", headers=_auth(admin)).json() == {"webhooks": []}
