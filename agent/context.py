"""Carrying the conversation into retrieval without an LLM.

"et le samedi ?" or "وبالنسبة للسبت؟" only make sense after "quels sont vos horaires ?".
A message that reads as a follow-up (a connective at the start, or very few content
words) is searched together with the customer's previous question.
"""

from __future__ import annotations

import re

from agent.conversation import Message
from knowledge_base.analyzer import terms
from knowledge_base.normalize import normalize_for_search

_FOLLOW_UP_START = re.compile(
    r"^(?:et|mais|sinon|aussi|and|what about|how about|also|و|ف|وبالنسبه|بالنسبه|واش حتى|حتى|"
    r"w|o|wa|ou|w bnesba|wl|w l)(?:\s|$)"
)
MAX_FOLLOW_UP_TERMS = 2


def is_follow_up(text: str) -> bool:
    normalized = normalize_for_search(text).strip()
    return bool(_FOLLOW_UP_START.match(normalized)) or len(terms(text)) <= MAX_FOLLOW_UP_TERMS


def retrieval_query(text: str, history: list[Message]) -> str:
    """The text to search for: the message, with the previous question when it follows up."""
    if not is_follow_up(text):
        return text
    previous = next((m.text for m in reversed(history) if m.role == "customer"), None)
    return f"{previous} {text}" if previous else text
