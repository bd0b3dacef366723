"""Generative mode through the real openai/LangChain client, against a stub on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.agent import Agent
from agent.llm import LangChainChatModel
from agent.result import TurnResult
from rafiq.wiring import Container
from tests.stubs.openai_server import ChatReply, OpenAIStub, openai_stub

NOTHING = {
    "category": "none",
    "priority": "low",
    "reason": "Question simple.",
    "needs_human": False,
}


@pytest.fixture
def stub() -> Iterator[tuple[str, OpenAIStub]]:
    with openai_stub() as running:
        yield running


# Generous by default: on a loaded CI machine a healthy stub call can take a second or
# two, and a spurious timeout would turn a generative test extractive.
def generative_agent(container: Container, base_url: str, timeout_s: float = 15.0) -> Agent:
    model = LangChainChatModel(
        base_url=base_url, api_key="sk-test", model="stub", timeout_s=timeout_s
    )
    return Agent(container.conversations, container.tenant_context, model)


def ask(agent: Agent, text: str, conversation: str | None = None) -> TurnResult:
    result = agent.turn("acme", text, conversation)
    assert isinstance(result, TurnResult)
    return result


def payment_chunk(container: Container) -> str:
    hits = container.retriever("acme").search("moyens de paiement de la facture", 1)
    return hits[0].chunk_id


def test_a_generated_answer_cites_its_passage_and_hides_the_ids(
    container: Container, agent_tenant: str, stub: tuple[str, OpenAIStub], tmp_path: Path
) -> None:
    base_url, server = stub
    chunk_id = payment_chunk(container)
    server.state.script(
        ChatReply.json(NOTHING),
        ChatReply.text(
            f"Vous pouvez payer par carte bancaire dans l'application [{chunk_id}].",
            token_delay_s=0.01,
        ),
    )

    result = ask(generative_agent(container, base_url), "Je peux payer comment ?")

    assert result.mode == "generative" and result.action == "answer"
    assert result.text == "Vous pouvez payer par carte bancaire dans l'application."
    assert [c.chunk_id for c in result.citations] == [chunk_id]
    assert result.timings_ms.llm > 0
    answer_request = server.state.chat_requests[-1]
    prompt = " ".join(str(m.get("content")) for m in answer_request["messages"])
    assert chunk_id in prompt and "fr" in prompt


def test_deltas_stream_before_the_turn_result(
    container: Container, agent_tenant: str, stub: tuple[str, OpenAIStub]
) -> None:
    base_url, server = stub
    server.state.script(
        ChatReply.json(NOTHING), ChatReply.text("Par carte ou en espèces, en agence.")
    )
    agent = generative_agent(container, base_url)

    async def collect() -> list[object]:
        return [event async for event in agent.stream("acme", "Je peux payer comment ?")]

    events = asyncio.run(collect())

    deltas = [e for e in events if isinstance(e, str)]
    assert len(deltas) > 1
    assert "".join(deltas) == "Par carte ou en espèces, en agence."
    assert isinstance(events[-1], TurnResult)


def test_the_model_may_add_an_escalation(
    container: Container, agent_tenant: str, stub: tuple[str, OpenAIStub]
) -> None:
    base_url, server = stub
    server.state.script(
        ChatReply.json(
            {
                "category": "complaint",
                "priority": "high",
                "reason": "Client mécontent.",
                "needs_human": True,
            }
        )
    )
    result = ask(generative_agent(container, base_url), "Votre service laisse vraiment à désirer.")
    assert result.action == "escalate"
    assert result.escalation is not None and result.escalation.category == "complaint"
    assert result.mode == "generative"


def test_the_model_cannot_remove_a_hard_rule_escalation(
    container: Container, agent_tenant: str, stub: tuple[str, OpenAIStub]
) -> None:
    base_url, server = stub
    server.state.script(ChatReply.json(NOTHING), ChatReply.text("Bien sûr."))
    result = ask(generative_agent(container, base_url), "je veux parler à un conseiller humain")
    assert result.action == "escalate"
    assert result.escalation is not None and result.escalation.category == "human_request"
    assert server.state.chat_requests == []  # decided before any model call


@pytest.mark.parametrize(
    "failure",
    [ChatReply.text("trop tard", delay_s=5.0), ChatReply.error(500), ChatReply.malformed()],
    ids=["timeout", "http-500", "malformed"],
)
def test_a_failing_model_falls_back_to_extractive_answers(
    container: Container, agent_tenant: str, stub: tuple[str, OpenAIStub], failure: ChatReply
) -> None:
    base_url, server = stub
    server.state.script(failure, ChatReply.text("réponse générée après un échec"))
    result = ask(generative_agent(container, base_url, timeout_s=2.0), "Je peux payer comment ?")
    assert result.mode == "extractive"
    assert result.action == "answer"
    assert "carte bancaire" in result.text and result.citations
    assert len(server.state.chat_requests) <= 1  # no second call to a failing endpoint


def test_a_stream_cut_midway_gives_the_extractive_answer(
    container: Container, agent_tenant: str, stub: tuple[str, OpenAIStub]
) -> None:
    base_url, server = stub
    server.state.script(
        ChatReply.json(NOTHING),
        ChatReply.text("Vous pouvez payer par carte bancaire.", stop_after_chunks=2),
    )
    result = ask(generative_agent(container, base_url), "Je peux payer comment ?")
    assert result.mode == "extractive"
    assert "carte bancaire dans l'application" in result.text


def test_the_model_saying_it_does_not_know_is_a_miss(
    container: Container, agent_tenant: str, stub: tuple[str, OpenAIStub]
) -> None:
    from prompts import message

    base_url, server = stub
    server.state.script(ChatReply.json(NOTHING), ChatReply.text(message("no_answer", "fr")))
    result = ask(generative_agent(container, base_url), "Je peux payer comment ?")
    assert result.action == "clarify" and result.citations == []
