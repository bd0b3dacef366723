"""The TurnResult contract (DESIGN.md section 2): what one customer turn returns.

These pydantic models cross boundaries (HTTP API, ``rafiq ask --json``, eval reports);
the field names and allowed values are a contract shared with other tools.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from prompts.catalog import ESCALATION_CATEGORIES
from prompts.catalog import PRIORITIES as PRIORITIES
from prompts.catalog import Priority as Priority
from prompts.catalog import ReplyLanguage as ReplyLanguage

Action = Literal["answer", "clarify", "escalate", "refuse"]
DetectedLanguage = Literal["fr", "ar", "darija", "arabizi", "en"]
ConversationStatus = Literal["bot", "waiting_human", "human", "closed"]
Mode = Literal["generative", "extractive"]

CATEGORIES: tuple[str, ...] = ESCALATION_CATEGORIES
"""The escalation categories of the contract; ``prompts`` holds their adviser texts."""


class LanguageInfo(BaseModel):
    detected: DetectedLanguage
    reply: ReplyLanguage


class Citation(BaseModel):
    source: str
    title: str | None
    chunk_id: str
    score: float


class Escalation(BaseModel):
    category: str = Field(description="One of the contract categories or a tenant's own.")
    reason: str = Field(description="One sentence for the adviser.")
    priority: Priority
    handoff_id: str


class Timings(BaseModel):
    total: float = 0.0
    retrieval: float = 0.0
    llm: float = 0.0


class TurnResult(BaseModel):
    conversation_id: str
    message_id: str
    action: Action
    text: str = Field(description="What the customer sees.")
    language: LanguageInfo
    citations: list[Citation] = Field(default_factory=list)
    escalation: Escalation | None = None
    redactions: list[str] = Field(default_factory=list)
    conversation_status: ConversationStatus
    mode: Mode
    timings_ms: Timings = Field(default_factory=Timings)


class RelayedMessage(BaseModel):
    """A customer message stored for the adviser: while a human has the conversation, the
    bot stays silent (DESIGN.md §4)."""

    conversation_id: str
    message_id: str
    conversation_status: ConversationStatus
    redactions: list[str] = Field(default_factory=list)
