"""Plain text: the whole file as one untitled section, left to the chunker to split."""

from __future__ import annotations

from knowledge_base.documents import LoadedDocument, LoaderError, Section
from knowledge_base.encoding import decode_text


def load_text(data: bytes, source: str) -> LoadedDocument:
    text = decode_text(data).strip()
    if not text:
        raise LoaderError("no text found")
    return LoadedDocument(source=source, sections=[Section(text=text)])
