"""Reading a knowledge-base file of any supported format into a LoadedDocument.

Every failure, whatever library detects it, surfaces as a LoaderError with a one-line
reason, so that ingesting a folder reports bad files instead of stopping on them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge_base.documents import LoadedDocument, LoaderError
from knowledge_base.loaders.csv_faq import load_csv_faq
from knowledge_base.loaders.docx import load_docx
from knowledge_base.loaders.html import load_html
from knowledge_base.loaders.json_faq import load_json_faq
from knowledge_base.loaders.markdown import load_markdown
from knowledge_base.loaders.pdf import load_pdf
from knowledge_base.loaders.text import load_text

__all__ = ["SUPPORTED_SUFFIXES", "load_document", "parse_document"]

_Loader = Callable[[bytes, str], LoadedDocument]

_LOADERS: dict[str, _Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".csv": load_csv_faq,
    ".json": load_json_faq,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".txt": load_text,
}

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)
"""Lower-case file suffixes, with the dot, that load_document accepts."""


def load_document(path: Path, source: str) -> LoadedDocument:
    """Load ``path``; ``source`` is the name recorded for it (see LoadedDocument)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LoaderError(f"cannot read file ({error.strerror or error})") from error
    return parse_document(data, path.suffix, source)


def parse_document(data: bytes, suffix: str, source: str) -> LoadedDocument:
    """Parse the bytes of a file whose name ends with ``suffix`` (e.g. ".pdf")."""
    suffix = suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoaderError(f"unsupported file type {suffix or '(no extension)'}")
    if not data.strip():
        raise LoaderError("empty file")
    return loader(data, source)
