"""The wait notice speaks the customer's language even before they have written."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant

ARABIC = re.compile(r"[\u0600-\u06ff]")


def test_an_arabic_page_asking_for_a_human_first_gets_an_arabic_notice(
    container: Container, small_kb: Path
) -> None:
    load_tenant(container, "acme", small_kb)
    client = TestClient(create_app(container))
    key = container.tenants.get("acme").publishable_key
    opened = client.post("/v1/conversations", json={"locale": "ar"}, headers={"X-Rafiq-Key": key})
    conversation, token = opened.json()["id"], opened.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}

    asked = client.post(f"/v1/conversations/{conversation}/handoff", json={}, headers=auth)
    assert asked.status_code == 201

    messages = client.get(f"/v1/conversations/{conversation}/messages", headers=auth).json()
    notices = [m["text"] for m in messages["messages"] if m["role"] == "system"]
    assert notices and all(ARABIC.search(text) for text in notices), notices
    handoff = container.desk.open_handoff_of("acme", conversation)
    assert handoff is not None and handoff["language"] == "ar"
