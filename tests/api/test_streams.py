"""Server-sent events over a real server: streamed turns, live adviser messages, resume."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.live_server import live_server
from tests.rafiq.conftest import load_tenant


def sse_events(lines: Iterator[str], count: int) -> list[tuple[str, dict[str, Any], str | None]]:
    """The first ``count`` events (name, data, id) of a stream; heartbeats are skipped."""
    events: list[tuple[str, dict[str, Any], str | None]] = []
    name, data, event_id = "message", "", None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line.startswith("id: "):
            event_id = line.removeprefix("id: ")
        elif line == "" and data:
            events.append((name, json.loads(data), event_id))
            name, data, event_id = "message", "", None
            if len(events) == count:
                break
    return events


@pytest.fixture
def server(container: Container, small_kb: Path) -> Iterator[tuple[httpx.Client, Container]]:
    load_tenant(container, "acme", small_kb)
    with live_server(create_app(container)) as url, httpx.Client(base_url=url, timeout=20) as c:
        yield c, container


def _open(client: httpx.Client, container: Container) -> tuple[str, dict[str, str]]:
    key = container.tenants.get("acme").publishable_key
    body = client.post("/v1/conversations", json={}, headers={"X-Rafiq-Key": key}).json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


def test_a_turn_streams_deltas_then_the_turn_result(
    server: tuple[httpx.Client, Container],
) -> None:
    client, container = server
    conversation, auth = _open(client, container)

    with client.stream(
        "POST",
        f"/v1/conversations/{conversation}/messages",
        json={"text": "Quels sont les horaires des agences ?"},
        headers={**auth, "Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.iter_lines(), 2)

    (first, delta, _), (last, turn, _) = events
    assert (first, last) == ("delta", "turn")
    assert delta["text"] == turn["text"]
    assert turn["action"] == "answer" and turn["citations"]


def test_adviser_messages_reach_the_customer_stream_live(
    server: tuple[httpx.Client, Container],
) -> None:
    client, container = server
    adviser = {"Authorization": f"Bearer {container.tenants.create_user('acme', 'adviser').token}"}
    conversation, auth = _open(client, container)
    handoff = client.post(
        f"/v1/conversations/{conversation}/handoff", json={}, headers=auth
    ).json()["handoff_id"]
    received: list[tuple[str, dict[str, Any], str | None]] = []
    subscribed = threading.Event()

    def listen() -> None:
        with client.stream(
            "GET", f"/v1/conversations/{conversation}/events", headers=auth
        ) as response:
            subscribed.set()
            # The joined status, the "adviser joined" notice, the adviser's message.
            received.extend(sse_events(response.iter_lines(), 3))

    listener = threading.Thread(target=listen)
    listener.start()
    assert subscribed.wait(10)
    client.post(f"/v1/handoffs/{handoff}/claim", headers=adviser)
    client.post(
        f"/v1/handoffs/{handoff}/messages", json={"text": "Bonjour, Salma ici."}, headers=adviser
    )
    listener.join(timeout=15)

    kinds = [(name, data.get("status") or data["message"]["role"]) for name, data, _ in received]
    assert ("status", "human") in kinds
    assert ("message", "adviser") in kinds
    adviser_text = [d["message"]["text"] for n, d, _ in received if n == "message"]
    assert "Bonjour, Salma ici." in adviser_text
    assert all(event_id is not None for _, _, event_id in received)


def test_a_stream_resumes_after_last_event_id_without_loss_or_duplicates(
    server: tuple[httpx.Client, Container],
) -> None:
    client, container = server
    adviser = {"Authorization": f"Bearer {container.tenants.create_user('acme', 'adviser').token}"}
    conversation, auth = _open(client, container)
    start = client.get(f"/v1/conversations/{conversation}/messages", headers=auth).json()
    handoff = client.post(
        f"/v1/conversations/{conversation}/handoff", json={}, headers=auth
    ).json()["handoff_id"]
    client.post(f"/v1/handoffs/{handoff}/claim", headers=adviser)
    for text in ("un", "deux", "trois"):
        client.post(f"/v1/handoffs/{handoff}/messages", json={"text": text}, headers=adviser)

    def read(after: int | str, count: int) -> list[tuple[str, dict[str, Any], str | None]]:
        with client.stream(
            "GET",
            f"/v1/conversations/{conversation}/events",
            headers={**auth, "Last-Event-ID": str(after)},
        ) as response:
            return sse_events(response.iter_lines(), count)

    everything = read(start["last_event_id"], 8)
    adviser_texts = [
        d["message"]["text"]
        for n, d, _ in everything
        if n == "message" and d["message"]["role"] == "adviser"
    ]
    assert adviser_texts == ["un", "deux", "trois"]
    cut = next(
        i
        for i, (n, d, _) in enumerate(everything)
        if n == "message" and d["message"]["text"] == "un"
    )
    resumed = read(everything[cut][2] or 0, len(everything) - cut - 1)
    assert [e[2] for e in resumed] == [e[2] for e in everything[cut + 1 :]]


def test_nothing_is_lost_across_a_restart(container: Container, small_kb: Path) -> None:
    load_tenant(container, "acme", small_kb)
    adviser = container.tenants.create_user("acme", "adviser").token
    with live_server(create_app(container)) as url, httpx.Client(base_url=url) as client:
        conversation, auth = _open(client, container)
        client.post(
            f"/v1/conversations/{conversation}/messages",
            json={"text": "Je veux parler à un conseiller"},
            headers=auth,
        )
    container.engine.dispose()

    restarted = Container(Settings())
    with live_server(create_app(restarted)) as url, httpx.Client(base_url=url) as client:
        queue = client.get("/v1/handoffs", headers={"Authorization": f"Bearer {adviser}"}).json()[
            "handoffs"
        ]
        history = client.get(f"/v1/conversations/{conversation}/messages", headers=auth).json()
    restarted.engine.dispose()

    assert [h["conversation_id"] for h in queue] == [conversation]
    assert history["status"] == "waiting_human"
    assert "Je veux parler à un conseiller" in [m["text"] for m in history["messages"]]


# LISTEN/NOTIFY is PostgreSQL's; on SQLite there is one server, and streams poll anyway.
@pytest.mark.parametrize("database_backend", ["postgresql"], indirect=True)
def test_on_postgresql_another_replicas_event_wakes_the_stream_at_once(
    container: Container,
) -> None:
    container.tenants.create("acme")
    listening = container.wakeups
    assert listening is not None
    listening.start()
    other_replica = Container(Settings())
    conversation = other_replica.conversations.create("acme")

    async def woken() -> float:
        started = time.monotonic()
        waiting = asyncio.create_task(container.bell.wait(timeout=20))
        await asyncio.sleep(0.3)  # the listener is up and the waiter registered
        await asyncio.to_thread(
            other_replica.conversations.add_message, conversation.id, "customer", "allo ?"
        )
        await waiting
        return time.monotonic() - started

    try:
        elapsed = asyncio.run(woken())
    finally:
        listening.stop()
        other_replica.engine.dispose()
    assert elapsed < 10  # the 20 s wait ended because another process's commit rang
