"""A customer whose connection drops mid-answer gets that answer when they retry."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.app import create_app
from bench.api import Pacing, stub_app
from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.live_server import live_server
from tests.rafiq.conftest import load_tenant

# About a second of answer: time enough to hang up in the middle.
SLOW = Pacing(triage_ms=0.0, rewrite_ms=0.0, first_token_ms=50.0, token_ms=50.0, tokens=20)


def test_a_retry_after_a_dropped_stream_gets_the_finished_answer_once(
    rafiq_env: Path, small_kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live_server(stub_app(SLOW)) as stub_url:
        monkeypatch.setenv("RAFIQ_LLM_BASE_URL", f"{stub_url}/v1")
        monkeypatch.setenv("RAFIQ_LLM_MODEL", "bench-stub")
        container = Container(Settings())
        load_tenant(container, "acme", small_kb)
        key = container.tenants.get("acme").publishable_key
        with (
            live_server(create_app(container)) as url,
            httpx.Client(base_url=url, timeout=20) as client,
        ):
            opened = client.post("/v1/conversations", json={}, headers={"X-Rafiq-Key": key})
            conversation = opened.json()["id"]
            auth = {"Authorization": f"Bearer {opened.json()['token']}"}
            message = {"text": "Comment payer ma facture ?", "client_message_id": "m-1"}
            with client.stream(
                "POST",
                f"/v1/conversations/{conversation}/messages",
                json=message,
                headers={**auth, "Accept": "text/event-stream"},
            ) as stream:
                for line in stream.iter_lines():
                    if line == "event: delta":
                        break  # the customer's network goes down mid-answer

            retry = client.post(
                f"/v1/conversations/{conversation}/messages", json=message, headers=auth
            )
            assert retry.status_code == 200, retry.text
            result = retry.json()
            assert result["mode"] == "generative"
            assert result["action"] == "answer" and result["citations"]

            transcript = client.get(f"/v1/conversations/{conversation}/messages", headers=auth)
            roles = [m["role"] for m in transcript.json()["messages"]]
            assert roles.count("customer") == 1
            assert roles[-1] == "bot"
            bot_texts = [m["text"] for m in transcript.json()["messages"] if m["role"] == "bot"]
            assert bot_texts[-1] == result["text"]
        container.engine.dispose()
