"""Which language the customer writes in, and which one Rafiq answers in.

Short messages ("ok", "merci", "wach?") say little about their language; a conversation
keeps the language of its last clear message instead of flipping on every "ok".
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.result import DetectedLanguage, ReplyLanguage
from knowledge_base.language import detect_language
from knowledge_base.normalize import normalize_for_search, words

# Fewer words than this and the conversation's language wins over the detector's guess.
MIN_WORDS_TO_SWITCH = 3


@dataclass(frozen=True)
class TurnLanguage:
    detected: DetectedLanguage
    reply: ReplyLanguage


def reply_language(detected: DetectedLanguage, arabizi_reply: ReplyLanguage) -> ReplyLanguage:
    """fr → fr, ar and darija → ar, en → en, arabizi → the tenant's choice (DESIGN.md §2)."""
    if detected in ("ar", "darija"):
        return "ar"
    if detected == "arabizi":
        return arabizi_reply
    return "en" if detected == "en" else "fr"


def turn_language(
    text: str, conversation_language: DetectedLanguage | None, arabizi_reply: ReplyLanguage
) -> TurnLanguage:
    fallback: DetectedLanguage = conversation_language or "fr"
    detected = detect_language(text, fallback=fallback)
    if conversation_language and len(words(normalize_for_search(text))) < MIN_WORDS_TO_SWITCH:
        detected = conversation_language
    return TurnLanguage(detected, reply_language(detected, arabizi_reply))
