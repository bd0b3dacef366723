"""With a model configured, the adviser gets its handover note and a grounded draft."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant
from tests.stubs.openai_server import ChatReply, openai_stub

NOTHING = {"category": "none", "priority": "low", "reason": "Question.", "needs_human": False}


def test_the_model_writes_the_summary_and_suggested_reply_after_the_handoff(
    container: Container, small_kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with openai_stub() as (base_url, stub):
        monkeypatch.setenv("RAFIQ_LLM_BASE_URL", base_url)
        monkeypatch.setenv("RAFIQ_LLM_API_KEY", "sk-test")
        generative = Container(Settings())
        load_tenant(generative, "acme", small_kb)
        adviser = {
            "Authorization": f"Bearer {generative.tenants.create_user('acme', 'adviser').token}"
        }
        chunk = generative.retriever("acme").search("horaires des agences", 1)[0].chunk_id
        stub.state.script(
            ChatReply.json(NOTHING),
            ChatReply.text(f"Du lundi au samedi, de 9 h à 18 h [{chunk}]."),
            ChatReply.text("Le client demande les horaires puis un conseiller."),
            ChatReply.text(f"Nos agences sont ouvertes du lundi au samedi [{chunk}]."),
        )
        with TestClient(create_app(generative)) as client:
            key = generative.tenants.get("acme").publishable_key
            opened = client.post("/v1/conversations", json={}, headers={"X-Rafiq-Key": key}).json()
            auth = {"Authorization": f"Bearer {opened['token']}"}
            url = f"/v1/conversations/{opened['id']}"
            turn = client.post(
                f"{url}/messages",
                json={"text": "Quels sont les horaires des agences ?"},
                headers=auth,
            ).json()
            handoff = client.post(f"{url}/handoff", json={}, headers=auth).json()["handoff_id"]

            deadline = time.monotonic() + 10
            detail = client.get(f"/v1/handoffs/{handoff}", headers=adviser).json()
            while detail["summary"].startswith("Client (") and time.monotonic() < deadline:
                time.sleep(0.05)
                detail = client.get(f"/v1/handoffs/{handoff}", headers=adviser).json()
        generative.engine.dispose()

    assert turn["mode"] == "generative"
    assert detail["summary"] == "Le client demande les horaires puis un conseiller."
    assert detail["suggested_reply"] == "Nos agences sont ouvertes du lundi au samedi."
