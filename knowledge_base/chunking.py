"""Cutting sections into token-bounded chunks.

Chunks are packed from whole sentences where possible, with an overlap of trailing
sentences so a fact straddling a boundary is found from either side. A FAQ answer that
needs several chunks carries its question in each of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge_base.documents import Section
from knowledge_base.tokens import encoding

_SENTENCE_END = re.compile(r"(?<=[.!?؟…])\s+|\n{2,}|\n(?=[-*•]\s)")


@dataclass(frozen=True)
class ChunkPiece:
    section: Section
    text: str
    """Text as shown to users: for FAQ entries, the answer (the question is the title)."""
    index_in_section: int


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _split_long(sentence: str, limit: int) -> list[str]:
    """Token windows of at most ``limit`` that never cut a character in two.

    A window ending inside a multi-byte character gives back tokens until its bytes
    decode; the returned tokens start the next window.
    """
    enc = encoding()
    ids = enc.encode(sentence, disallowed_special=())
    parts: list[str] = []
    start = 0
    while start < len(ids):
        end = min(start + limit, len(ids))
        while True:
            try:
                text = enc.decode_bytes(ids[start:end]).decode("utf-8")
                break
            except UnicodeDecodeError:
                if end - start <= 1 or end == len(ids):
                    text = enc.decode(ids[start:end])
                    break
                end -= 1
        parts.append(text)
        start = end
    return parts


def chunk_section(section: Section, max_tokens: int, overlap_tokens: int) -> list[ChunkPiece]:
    enc = encoding()

    def size(text: str) -> int:
        return len(enc.encode(text, disallowed_special=()))

    # The question travels with every chunk of an answer, so it counts against the budget.
    budget = max(16, max_tokens - (size(section.title or "") if section.is_faq else 0))
    units: list[tuple[str, int]] = []
    for sentence in sentences_of(section.text):
        n = size(sentence)
        if n <= budget:
            units.append((sentence, n))
        else:
            units.extend((part, size(part)) for part in _split_long(sentence, budget))

    chunks: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    current_size = 0
    for unit in units:
        if current and current_size + unit[1] > budget:
            chunks.append(current)
            carried: list[tuple[str, int]] = []
            carried_size = 0
            for prev in reversed(current):
                if (
                    carried_size + prev[1] > overlap_tokens
                    or carried_size + prev[1] + unit[1] > budget
                ):
                    break
                carried.insert(0, prev)
                carried_size += prev[1]
            current, current_size = carried, carried_size
        current.append(unit)
        current_size += unit[1]
    if current:
        chunks.append(current)
    return [ChunkPiece(section, _join(parts), i) for i, parts in enumerate(chunks) if _join(parts)]


def _join(parts: list[tuple[str, int]]) -> str:
    return " ".join(text for text, _ in parts).strip()
