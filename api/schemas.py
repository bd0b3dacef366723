"""Pydantic models shared by the HTTP API and the CLI's ``--json`` output."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel

from knowledge_base.retrieval import RetrievedChunk


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; no language needs it.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""Any free text a request carries."""


class SearchHit(BaseModel):
    chunk_id: str
    source: str
    title: str | None
    section: str | None
    page: int | None
    text: str
    language: str
    score: float

    @classmethod
    def from_chunk(cls, chunk: RetrievedChunk) -> SearchHit:
        return cls(
            chunk_id=chunk.chunk_id,
            source=chunk.source,
            title=chunk.title,
            section=chunk.section,
            page=chunk.page,
            text=chunk.text,
            language=chunk.language,
            score=round(chunk.score, 6),
        )
