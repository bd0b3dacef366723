"""What the agent needs to know about the client company it speaks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.result import ReplyLanguage

DEFAULT_MANIPULATION_LIMIT = 3


@dataclass(frozen=True)
class TenantProfile:
    name: str
    display_name: str
    arabizi_reply: ReplyLanguage = "fr"
    """Arabizi customers are answered in this language (DESIGN.md §2)."""
    payment_url: str | None = None
    """The secure payment channel customers are sent to instead of sharing card data."""
    escalation_policy: str | None = None
    """The tenant's policy YAML, merged over the default policy."""
    manipulation_limit: int = DEFAULT_MANIPULATION_LIMIT
    """Refused manipulation attempts in one conversation before it goes to an adviser;
    0 never hands over."""

    @classmethod
    def from_settings(cls, name: str, display_name: str, settings: dict[str, Any]) -> TenantProfile:
        arabizi = settings.get("arabizi_reply_language", "fr")
        return cls(
            name=name,
            display_name=display_name,
            arabizi_reply=arabizi if arabizi in ("fr", "ar", "en") else "fr",
            payment_url=settings.get("secure_payment_url"),
            escalation_policy=settings.get("escalation_policy"),
            manipulation_limit=manipulation_limit_of(settings),
        )


def manipulation_limit_of(settings: dict[str, Any]) -> int:
    """The stored setting, or the default when it is absent or not a count."""
    value = settings.get("manipulation_limit")
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0
        else DEFAULT_MANIPULATION_LIMIT
    )
