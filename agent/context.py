"""Carrying the conversation into retrieval without an LLM.

"et le samedi ?" or "وبالنسبة للسبت؟" only make sense after "quels sont vos horaires ?".
A message with very few content words reads as a follow-up and is searched together with
the content words of the customer's previous question: its own words stay the weightiest
part of the query, the earlier question supplies the topic.
"""

from __future__ import annotations

from agent.conversation import Message
from knowledge_base.analyzer import STOPWORDS, terms
from knowledge_base.normalize import normalize_for_search, words

# "et le samedi ?" has one content word; "Et la pastilla, comment la préparer ?" is a
# new question despite its "Et".
MAX_FOLLOW_UP_TERMS = 2


def is_follow_up(text: str) -> bool:
    return 0 < len(terms(text)) <= MAX_FOLLOW_UP_TERMS


def _content_words(text: str) -> list[str]:
    return [w for w in words(normalize_for_search(text)) if w not in STOPWORDS and len(w) > 1]


def retrieval_query(text: str, history: list[Message]) -> str:
    """The text to search for: the message, with the previous question's topic when it
    follows up."""
    if not is_follow_up(text):
        return text
    previous = next((m.text for m in reversed(history) if m.role == "customer"), None)
    if previous is None:
        return text
    return f"{text} {' '.join(_content_words(previous))}"
