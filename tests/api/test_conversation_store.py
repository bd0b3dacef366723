from __future__ import annotations

import pytest

from agent.conversation import ConversationNotFoundError, HandoffRequest
from rafiq.wiring import Container


def test_messages_come_back_in_order_and_tenants_are_isolated(container: Container) -> None:
    container.tenants.create("acme")
    container.tenants.create("globex")
    store = container.conversations
    conversation = store.create("acme")
    for i in range(5):
        store.add_message(conversation.id, "customer" if i % 2 == 0 else "bot", f"m{i}")

    assert [m.text for m in store.history(conversation.id)] == ["m0", "m1", "m2", "m3", "m4"]
    assert [m.text for m in store.history(conversation.id, limit=2)] == ["m3", "m4"]
    with pytest.raises(ConversationNotFoundError):
        store.get("globex", conversation.id)


def test_opening_a_handoff_moves_the_conversation_to_waiting_human(container: Container) -> None:
    container.tenants.create("acme")
    store = container.conversations
    conversation = store.create("acme")
    handoff_id = store.open_handoff(
        conversation.id,
        HandoffRequest("fraud", "Carte volée.", "urgent", "fr", "Client (fr) — Fraude : carte"),
        actor="bot",
    )
    assert handoff_id.startswith("h_")
    assert store.get("acme", conversation.id).status == "waiting_human"


def test_language_and_misses_are_remembered(container: Container) -> None:
    container.tenants.create("acme")
    store = container.conversations
    conversation = store.create("acme")
    store.update(conversation.id, language="darija", consecutive_misses=1)
    again = store.get("acme", conversation.id)
    assert (again.language, again.consecutive_misses, again.status) == ("darija", 1, "bot")
