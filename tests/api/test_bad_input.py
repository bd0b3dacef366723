"""Bad input gets a clear 4xx with the JSON error body, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant


@pytest.fixture
def opened(container: Container, small_kb: Path) -> tuple[TestClient, str, dict[str, str]]:
    load_tenant(container, "acme", small_kb)
    client = TestClient(create_app(container))
    key = container.tenants.get("acme").publishable_key
    body = client.post("/v1/conversations", json={}, headers={"X-Rafiq-Key": key}).json()
    return client, body["id"], {"Authorization": f"Bearer {body['token']}"}


def _messages(client: TestClient, conversation: str, auth: dict[str, str]) -> list[str]:
    history = client.get(f"/v1/conversations/{conversation}/messages", headers=auth).json()
    return [m["id"] for m in history["messages"]]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "invalid_request"),
        ({"text": "   \n "}, 422, "invalid_request"),
        ({"text": "x" * 4001}, 422, "message_too_long"),
        ({}, 422, "invalid_request"),
        ({"text": 42}, 422, "invalid_request"),
        ({"text": "ok", "client_message_id": "has spaces"}, 422, "invalid_request"),
    ],
)
def test_bad_messages_are_refused_and_store_nothing(
    opened: tuple[TestClient, str, dict[str, str]], body: object, status: int, code: str
) -> None:
    client, conversation, auth = opened
    before = _messages(client, conversation, auth)

    response = client.post(f"/v1/conversations/{conversation}/messages", json=body, headers=auth)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert _messages(client, conversation, auth) == before


def test_invalid_json_gets_422_with_the_error_body(
    opened: tuple[TestClient, str, dict[str, str]],
) -> None:
    client, conversation, auth = opened

    response = client.post(
        f"/v1/conversations/{conversation}/messages",
        content=b"{not json",
        headers={**auth, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert set(response.json()["error"]) == {"code", "message"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer ct_forged"}, {"Authorization": "Basic abc"}],
)
def test_wrong_tokens_are_refused(
    opened: tuple[TestClient, str, dict[str, str]], headers: dict[str, str]
) -> None:
    client, conversation, auth = opened
    before = _messages(client, conversation, auth)

    response = client.post(
        f"/v1/conversations/{conversation}/messages", json={"text": "bonjour"}, headers=headers
    )

    assert response.status_code in (401, 404)
    assert "error" in response.json()
    assert _messages(client, conversation, auth) == before


def test_unknown_ids_and_keys_get_404_and_401(
    opened: tuple[TestClient, str, dict[str, str]], container: Container
) -> None:
    client, _, auth = opened
    adviser = {"Authorization": f"Bearer {container.tenants.create_user('acme', 'adviser').token}"}

    assert client.get("/v1/conversations/c_nope/messages", headers=auth).status_code == 404
    assert client.post("/v1/handoffs/h_nope/claim", headers=adviser).status_code == 404
    assert client.get("/v1/handoffs/h_nope", headers=adviser).status_code == 404
    wrong_key = client.post("/v1/conversations", json={}, headers={"X-Rafiq-Key": "pk_nope"})
    assert wrong_key.status_code == 401
    bad_status = client.get("/v1/handoffs?status=everything", headers=adviser)
    assert bad_status.status_code == 422


def test_a_qa_token_cannot_work_the_queue(
    opened: tuple[TestClient, str, dict[str, str]], container: Container
) -> None:
    client, _, _ = opened
    qa = {"Authorization": f"Bearer {container.tenants.create_user('acme', 'qa').token}"}

    response = client.get("/v1/handoffs", headers=qa)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_nul_characters_get_422_on_every_backend(
    opened: tuple[TestClient, str, dict[str, str]], container: Container
) -> None:
    client, conversation, auth = opened
    adviser = {"Authorization": f"Bearer {container.tenants.create_user('acme', 'adviser').token}"}
    before = _messages(client, conversation, auth)

    message = client.post(
        f"/v1/conversations/{conversation}/messages", json={"text": "a\x00b"}, headers=auth
    )
    feedback = client.post(
        f"/v1/conversations/{conversation}/feedback",
        json={"message_id": "m_\x00", "rating": "up"},
        headers=auth,
    )
    path = client.get("/v1/handoffs/h_%00x", headers=adviser)

    assert [message.status_code, feedback.status_code, path.status_code] == [422, 422, 404]
    assert all(r.json()["error"]["code"] == "invalid_request" for r in (message, feedback))
    assert _messages(client, conversation, auth) == before
