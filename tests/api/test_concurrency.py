"""Races through a real server: simultaneous claims, simultaneous messages."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from api.app import create_app
from rafiq.wiring import Container
from tests.live_server import live_server
from tests.rafiq.conftest import load_tenant


def test_advisers_racing_for_the_same_handoffs_get_exactly_one_claim_each(
    container: Container, small_kb: Path
) -> None:
    load_tenant(container, "acme", small_kb)
    advisers = [container.tenants.create_user("acme", "adviser", f"a{i}").token for i in range(4)]
    tenant = container.tenants.get("acme")
    handoffs = []
    for _ in range(5):
        conversation, _, _ = container.customers.open(tenant, "fr", None)
        handoffs.append(container.agent.request_handoff("acme", conversation.id, None))

    with live_server(create_app(container)) as url:
        start = threading.Barrier(len(advisers))

        def claim_all(token: str) -> list[int]:
            with httpx.Client(base_url=url, timeout=30) as client:
                start.wait()
                return [
                    client.post(
                        f"/v1/handoffs/{h}/claim", headers={"Authorization": f"Bearer {token}"}
                    ).status_code
                    for h in handoffs
                ]

        with ThreadPoolExecutor(len(advisers)) as pool:
            statuses = list(pool.map(claim_all, advisers))

    for i in range(len(handoffs)):
        per_handoff = sorted(s[i] for s in statuses)
        assert per_handoff == [200, 409, 409, 409], per_handoff


def test_simultaneous_messages_to_one_conversation_are_all_kept_in_order(
    container: Container, small_kb: Path
) -> None:
    load_tenant(container, "acme", small_kb)
    adviser = container.tenants.create_user("acme", "adviser").token
    tenant = container.tenants.get("acme")
    conversation, token, _ = container.customers.open(tenant, "fr", None)
    handoff = container.agent.request_handoff("acme", conversation.id, None)

    with live_server(create_app(container)) as url:
        staff = {"Authorization": f"Bearer {adviser}"}
        httpx.post(f"{url}/v1/handoffs/{handoff}/claim", headers=staff)

        def send(i: int) -> int:
            return httpx.post(
                f"{url}/v1/handoffs/{handoff}/messages",
                json={"text": f"message {i}", "client_message_id": f"m-{i}"},
                headers=staff,
                timeout=30,
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send, range(24)))
        history = httpx.get(
            f"{url}/v1/conversations/{conversation.id}/messages",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["messages"]

    assert statuses == [201] * 24
    sent = [m["text"] for m in history if m["role"] == "adviser"]
    assert sorted(sent) == sorted(f"message {i}" for i in range(24))
