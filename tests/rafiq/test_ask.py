"""``rafiq ask`` as a user runs it, in both modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.rafiq.test_cli import rafiq
from tests.stubs.openai_server import ChatReply, openai_stub

pytestmark = pytest.mark.slow

CONTRACT = {
    "conversation_id",
    "message_id",
    "action",
    "text",
    "language",
    "citations",
    "escalation",
    "redactions",
    "conversation_status",
    "mode",
    "timings_ms",
}


@pytest.fixture
def tenant(rafiq_env: Path, small_kb: Path) -> str:
    assert rafiq("tenants", "create", "acme").returncode == 0
    assert rafiq("ingest", "--tenant", "acme", str(small_kb)).returncode == 0
    return "acme"


def test_ask_prints_the_turn_result_and_continues_a_conversation(tenant: str) -> None:
    first = rafiq("ask", "--tenant", tenant, "--json", "Quels sont les horaires des agences ?")
    assert first.returncode == 0, first.stderr
    turn = json.loads(first.stdout)
    assert set(turn) == CONTRACT
    assert turn["action"] == "answer" and turn["mode"] == "extractive"
    assert turn["language"] == {"detected": "fr", "reply": "fr"}
    assert turn["citations"][0]["source"] == "faq.md"

    follow = rafiq(
        "ask",
        "--tenant",
        tenant,
        "--conversation",
        turn["conversation_id"],
        "--json",
        "bghit nhder m3a chi conseiller",
    )
    second = json.loads(follow.stdout)
    assert second["conversation_id"] == turn["conversation_id"]
    assert second["action"] == "escalate"
    assert second["escalation"]["category"] == "human_request"
    assert second["conversation_status"] == "waiting_human"

    human = rafiq("ask", "--tenant", tenant, "--conversation", turn["conversation_id"], "allo ?")
    assert "passed to the adviser" in human.stdout


def test_ask_about_an_unknown_conversation_is_a_clear_error(tenant: str) -> None:
    result = rafiq("ask", "--tenant", tenant, "--conversation", "c_nope", "bonjour")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "c_nope" in result.stderr


def test_ask_in_generative_mode_against_an_openai_compatible_server(tenant: str) -> None:
    with openai_stub() as (base_url, stub):
        stub.state.script(
            ChatReply.json(
                {"category": "none", "priority": "low", "reason": "Simple.", "needs_human": False}
            ),
            ChatReply.text("Du lundi au samedi, de 9 h à 18 h."),
        )
        result = rafiq(
            "ask",
            "--tenant",
            tenant,
            "--json",
            "Quels sont vos horaires d'ouverture ?",
            env={"RAFIQ_LLM_BASE_URL": base_url, "RAFIQ_LLM_MODEL": "stub"},
        )
    turn = json.loads(result.stdout)
    assert turn["mode"] == "generative"
    assert turn["text"] == "Du lundi au samedi, de 9 h à 18 h."
    assert turn["citations"]


def test_ask_with_an_unreachable_model_falls_back_to_extractive(tenant: str) -> None:
    result = rafiq(
        "ask",
        "--tenant",
        tenant,
        "--json",
        "Quels sont les horaires des agences ?",
        env={"RAFIQ_LLM_BASE_URL": "http://127.0.0.1:9/v1", "RAFIQ_LLM_TIMEOUT_S": "1"},
    )
    turn = json.loads(result.stdout)
    assert turn["mode"] == "extractive" and turn["action"] == "answer"
