"""The whole customer → bot → adviser → bot journey through HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant


@dataclass
class Desk:
    client: TestClient
    key: str
    adviser: str
    container: Container

    def open(self, locale: str = "fr") -> tuple[str, dict[str, str]]:
        response = self.client.post(
            "/v1/conversations", json={"locale": locale}, headers={"X-Rafiq-Key": self.key}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["id"], {"Authorization": f"Bearer {body['token']}"}

    def staff(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.adviser}"}


@pytest.fixture
def desk(container: Container, small_kb: Path) -> Desk:
    load_tenant(container, "acme", small_kb)
    key = container.tenants.get("acme").publishable_key
    adviser = container.tenants.create_user("acme", "adviser", "Salma").token
    return Desk(TestClient(create_app(container)), key, adviser, container)


def test_opening_a_conversation_greets_and_discloses_the_assistant(desk: Desk) -> None:
    response = desk.client.post(
        "/v1/conversations", json={"locale": "ar-MA"}, headers={"X-Rafiq-Key": desk.key}
    )

    body = response.json()
    assert response.status_code == 201
    assert body["id"].startswith("c_") and body["token"].startswith("ct_")
    assert body["status"] == "bot"
    assert [m["role"] for m in body["messages"]] == ["bot", "bot"]
    assert "مساعد" in body["messages"][1]["text"]  # the AI disclosure, in Arabic


def test_a_customer_question_gets_a_cited_answer(desk: Desk) -> None:
    conversation, auth = desk.open()

    response = desk.client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"text": "Quels sont les horaires des agences ?", "client_message_id": "w-1"},
        headers=auth,
    )

    result = response.json()
    assert response.status_code == 200
    assert result["action"] == "answer"
    assert "lundi au samedi" in result["text"]
    assert result["citations"][0]["source"] == "faq.md"
    assert result["conversation_status"] == "bot"


def test_escalation_claim_reply_silence_and_return_to_bot(desk: Desk) -> None:
    conversation, auth = desk.open()
    client = desk.client

    turn = client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"text": "Je veux parler à un conseiller humain"},
        headers=auth,
    ).json()
    assert turn["action"] == "escalate"
    handoff_id = turn["escalation"]["handoff_id"]

    queue = client.get("/v1/handoffs?status=waiting", headers=desk.staff()).json()["handoffs"]
    assert [h["id"] for h in queue] == [handoff_id]
    assert queue[0]["category"] == "human_request"
    assert queue[0]["language"] == "fr"

    claimed = client.post(f"/v1/handoffs/{handoff_id}/claim", headers=desk.staff())
    assert claimed.status_code == 200
    assert claimed.json()["status"] == "active"

    sent = client.post(
        f"/v1/handoffs/{handoff_id}/messages",
        json={"text": "Bonjour, je suis Salma. Que puis-je faire ?", "client_message_id": "a-1"},
        headers=desk.staff(),
    )
    assert sent.status_code == 201

    # The bot is silent while the adviser has the conversation.
    relayed = client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"text": "Quels sont les horaires des agences ?"},
        headers=auth,
    )
    assert relayed.status_code == 202
    assert relayed.json()["conversation_status"] == "human"

    detail = client.get(f"/v1/handoffs/{handoff_id}", headers=desk.staff()).json()
    roles = [m["role"] for m in detail["transcript"]]
    assert roles[-2:] == ["adviser", "customer"]
    assert detail["suggested_reply"]

    resolved = client.post(
        f"/v1/handoffs/{handoff_id}/resolve",
        json={"resolution": "Renseigné", "return_to_bot": True},
        headers=desk.staff(),
    )
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"

    again = client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"text": "Quels sont les horaires des agences ?"},
        headers=auth,
    ).json()
    assert again["action"] == "answer"

    history = client.get(f"/v1/conversations/{conversation}/messages", headers=auth).json()
    assert history["status"] == "bot"
    texts = [m["text"] for m in history["messages"]]
    assert "Bonjour, je suis Salma. Que puis-je faire ?" in texts


def test_a_repeated_client_message_id_returns_the_first_result(desk: Desk) -> None:
    conversation, auth = desk.open()
    url = f"/v1/conversations/{conversation}/messages"
    body = {"text": "Quels sont les horaires des agences ?", "client_message_id": "retry-1"}

    first = desk.client.post(url, json=body, headers=auth).json()
    second = desk.client.post(url, json=body, headers=auth).json()

    assert second == first
    history = desk.client.get(url, headers=auth).json()["messages"]
    assert [m["role"] for m in history].count("customer") == 1


def test_two_advisers_claiming_at_once_exactly_one_wins(desk: Desk) -> None:
    other = desk.container.tenants.create_user("acme", "adviser", "Youssef").token
    conversation, auth = desk.open()
    handoff_id = desk.client.post(
        f"/v1/conversations/{conversation}/handoff", json={}, headers=auth
    ).json()["handoff_id"]

    first = desk.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=desk.staff())
    second = desk.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=desk.staff(other))

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_claimed"


def test_customer_can_ask_for_a_human_and_cancel_while_waiting(desk: Desk) -> None:
    conversation, auth = desk.open()
    url = f"/v1/conversations/{conversation}/handoff"

    asked = desk.client.post(url, json={"reason": "facture"}, headers=auth)
    again = desk.client.post(url, json={}, headers=auth)
    cancelled = desk.client.delete(url, headers=auth)
    twice = desk.client.delete(url, headers=auth)

    assert asked.status_code == 201
    assert asked.json()["conversation_status"] == "waiting_human"
    assert again.status_code == 200 and again.json()["handoff_id"] == asked.json()["handoff_id"]
    assert cancelled.json() == {"conversation_status": "bot"}
    assert twice.status_code == 409
    waiting = desk.client.get("/v1/handoffs", headers=desk.staff()).json()["handoffs"]
    assert waiting == []


def test_resolving_without_return_to_bot_closes_the_conversation(desk: Desk) -> None:
    conversation, auth = desk.open()
    handoff_id = desk.client.post(
        f"/v1/conversations/{conversation}/handoff", json={}, headers=auth
    ).json()["handoff_id"]
    desk.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=desk.staff())
    desk.client.post(
        f"/v1/handoffs/{handoff_id}/resolve",
        json={"resolution": "done", "return_to_bot": False},
        headers=desk.staff(),
    )

    response = desk.client.post(
        f"/v1/conversations/{conversation}/messages", json={"text": "Merci"}, headers=auth
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conversation_closed"


def test_invalid_transitions_get_409_and_change_nothing(desk: Desk) -> None:
    conversation, auth = desk.open()
    handoff_id = desk.client.post(
        f"/v1/conversations/{conversation}/handoff", json={}, headers=auth
    ).json()["handoff_id"]

    resolve_unclaimed = desk.client.post(
        f"/v1/handoffs/{handoff_id}/resolve", json={"return_to_bot": True}, headers=desk.staff()
    )
    reply_unclaimed = desk.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "hello"}, headers=desk.staff()
    )

    assert resolve_unclaimed.status_code == 409
    assert reply_unclaimed.status_code == 409
    detail = desk.client.get(f"/v1/handoffs/{handoff_id}", headers=desk.staff()).json()
    assert detail["status"] == "waiting"
    assert detail["conversation_status"] == "waiting_human"


def test_a_conversation_token_only_opens_its_own_conversation(desk: Desk) -> None:
    first, first_auth = desk.open()
    second, _ = desk.open()

    response = desk.client.get(f"/v1/conversations/{second}/messages", headers=first_auth)
    no_token = desk.client.get(f"/v1/conversations/{first}/messages")

    assert response.status_code == 404
    assert no_token.status_code == 401
    assert set(response.json()) == {"error"}


def test_another_tenants_adviser_gets_404_on_our_handoff(desk: Desk, tmp_path: Path) -> None:
    other_kb = tmp_path / "other"
    other_kb.mkdir()
    (other_kb / "faq.md").write_text("## Où est le siège ?\nÀ Rabat.\n", encoding="utf-8")
    load_tenant(desk.container, "globex", other_kb)
    stranger = desk.container.tenants.create_user("globex", "adviser").token
    conversation, auth = desk.open()
    handoff_id = desk.client.post(
        f"/v1/conversations/{conversation}/handoff", json={}, headers=auth
    ).json()["handoff_id"]

    for method, path in (
        ("GET", f"/v1/handoffs/{handoff_id}"),
        ("POST", f"/v1/handoffs/{handoff_id}/claim"),
    ):
        response = desk.client.request(method, path, headers=desk.staff(stranger))
        assert response.status_code == 404, path
    assert desk.client.get("/v1/handoffs", headers=desk.staff(stranger)).json() == {"handoffs": []}


def test_feedback_is_recorded_on_bot_answers_only(desk: Desk) -> None:
    conversation, auth = desk.open()
    turn = desk.client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"text": "Quels sont les horaires des agences ?"},
        headers=auth,
    ).json()
    url = f"/v1/conversations/{conversation}/feedback"

    first = desk.client.post(
        url, json={"message_id": turn["message_id"], "rating": "up"}, headers=auth
    )
    changed = desk.client.post(
        url, json={"message_id": turn["message_id"], "rating": 2}, headers=auth
    )
    unknown = desk.client.post(url, json={"message_id": "m_nope", "rating": "up"}, headers=auth)
    bad = desk.client.post(url, json={"message_id": turn["message_id"], "rating": 9}, headers=auth)

    assert first.status_code == 201
    assert changed.status_code == 200 and changed.json()["rating"] == "2"
    assert unknown.status_code == 404
    assert bad.status_code == 422
