from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.context import is_follow_up, retrieval_query
from agent.conversation import Message
from agent.language import reply_language, turn_language


@pytest.mark.parametrize(
    ("detected", "arabizi", "reply"),
    [
        ("fr", "fr", "fr"),
        ("ar", "fr", "ar"),
        ("darija", "fr", "ar"),
        ("en", "fr", "en"),
        ("arabizi", "fr", "fr"),
        ("arabizi", "ar", "ar"),
    ],
)
def test_reply_language_follows_the_design(detected: str, arabizi: str, reply: str) -> None:
    assert reply_language(detected, arabizi) == reply  # type: ignore[arg-type]


def test_short_messages_keep_the_conversation_language() -> None:
    assert turn_language("ok merci", "darija", "fr").detected == "darija"
    assert turn_language("ok merci", "darija", "fr").reply == "ar"
    assert turn_language("Bonjour, comment payer ma facture ?", "darija", "fr").detected == "fr"


def test_a_first_short_message_is_still_detected() -> None:
    assert turn_language("شكرا بزاف", None, "fr").reply == "ar"


def _history(*texts: str) -> list[Message]:
    now = datetime.now(UTC)
    return [
        Message(f"m{i}", "customer" if i % 2 == 0 else "bot", t, now) for i, t in enumerate(texts)
    ]


@pytest.mark.parametrize(
    "follow_up",
    ["et le samedi ?", "وبالنسبة للسبت؟", "w nhar sebt?", "and on Sunday?", "le dimanche ?"],
)
def test_follow_ups_are_searched_with_the_previous_question(follow_up: str) -> None:
    history = _history("Quels sont les horaires des agences ?", "Du lundi au vendredi, 9h-18h.")
    assert is_follow_up(follow_up)
    assert retrieval_query(follow_up, history) == f"{follow_up} horaires agences"


@pytest.mark.parametrize(
    "question",
    [
        "Comment recharger ma ligne prépayée avec une carte ?",
        "Et la pastilla au poulet, comment la préparer ?",
    ],
)
def test_a_new_full_question_is_searched_alone(question: str) -> None:
    history = _history("Quels sont les horaires des agences ?", "…")
    assert not is_follow_up(question)
    assert retrieval_query(question, history) == question


def test_a_follow_up_without_history_is_searched_as_is() -> None:
    assert retrieval_query("et le samedi ?", []) == "et le samedi ?"
