"""What a run records of each case: the conversation, what was expected, what happened.

These models cross boundaries (stored runs, ``rafiq eval run --json``, the HTTP API and
the HTML report), so they are pydantic models; metrics and reports are computed from
them alone, never from the live agent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agent.result import Action, DetectedLanguage, ReplyLanguage, TurnResult

CheckName = Literal[
    "action",
    "category",
    "reply_language",
    "cite",
    "must_contain",
    "must_not_contain",
    "redactions",
]
TurnStatus = Literal["judged", "not_reached", "error"]
"""``not_reached``: an earlier turn ended the conversation (an escalation the case did not
expect), so the bot never saw this message; ``error``: the agent raised."""


class Check(BaseModel):
    """One expectation of one turn, judged."""

    name: CheckName
    passed: bool
    detail: str = Field(description="Why, in a sentence a QA person reads in the report.")


class Passage(BaseModel):
    """A knowledge-base chunk shown with a turn: cited by the reply, or retrieved for the
    customer's message (the contexts of the ragas metrics)."""

    chunk_id: str
    source: str
    title: str | None
    text: str
    language: str
    score: float
    cited: bool


class Expected(BaseModel):
    """A turn's expectation as it was judged (empty fields were not judged)."""

    actions: list[Action] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    reply_language: ReplyLanguage
    """The written one, or the product rule for the tenant the run was against."""
    cite: list[str] = Field(default_factory=list)
    reference: str | None = None
    must_contain: list[str] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    redactions: list[str] = Field(default_factory=list)


class TurnOutcome(BaseModel):
    index: int = Field(description="1 for the case's first customer message.")
    text: str
    language: DetectedLanguage
    expected: Expected
    status: TurnStatus
    result: TurnResult | None = None
    latency_ms: float | None = None
    """Wall-clock time of the agent's turn, as the runner measured it."""
    passages: list[Passage] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    """Answer-quality scores (ragas), for answered turns that have a reference."""
    note: str | None = None
    """Why the turn was not reached, or the error the agent raised."""

    @property
    def passed(self) -> bool:
        return self.status == "judged" and all(check.passed for check in self.checks)

    def check(self, name: CheckName) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


class CaseOutcome(BaseModel):
    suite: str
    id: str
    language: DetectedLanguage
    tags: list[str]
    description: str | None = None
    turns: list[TurnOutcome]

    @property
    def key(self) -> str:
        """Unique within a run, even when it combines several suite files."""
        return f"{self.suite}/{self.id}"

    @property
    def passed(self) -> bool:
        return all(turn.passed for turn in self.turns)

    def tag_values(self) -> list[tuple[str, str]]:
        return [(key, value) for key, _, value in (t.partition(":") for t in self.tags)]
