"""What a loader hands to the chunker: a document cut into sections.

A section is the smallest unit that keeps its own provenance (a FAQ entry, the text
under one heading, one PDF page). Chunking may split a long section into several
chunks, but never splits a FAQ entry from its question.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    text: str
    title: str | None = None
    """The FAQ question, or the heading the text sits under."""
    section: str | None = None
    """Heading path above the title, e.g. "Factures > Paiement"."""
    page: int | None = None
    """1-based page number for paginated sources (PDF)."""
    is_faq: bool = False
    """A question/answer pair: the question is repeated in every chunk of the answer."""
    language: str | None = None
    """Language given by the source itself (a CSV column); None means detect."""
    category: str | None = None


@dataclass(frozen=True)
class LoadedDocument:
    source: str
    """Path of the file relative to the ingest root, with forward slashes."""
    sections: list[Section] = field(default_factory=list)
    language: str | None = None
    """Language declared by the document itself (e.g. <html lang>), None means detect."""
    warnings: list[str] = field(default_factory=list)
    """Problems that skipped part of the file, e.g. "row 12: empty answer, skipped"."""


class LoaderError(Exception):
    """A file that cannot be ingested; ``reason`` is one line for the ingest report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
