"""JSON FAQ: a list of {question, answer, category?, language?} objects."""

from __future__ import annotations

import json

from knowledge_base.documents import LoadedDocument, LoaderError
from knowledge_base.encoding import decode_text
from knowledge_base.loaders._sections import faq_sections

# Keys under which exports from help-desk tools wrap the list.
_LIST_KEYS = ("faqs", "items")


def load_json_faq(data: bytes, source: str) -> LoadedDocument:
    text = decode_text(data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise LoaderError(
            f"invalid JSON: line {error.lineno} column {error.colno} ({error.msg})"
        ) from error
    except RecursionError as error:
        raise LoaderError("invalid JSON: nested too deeply") from error
    rows = (
        (f"item {number}", _lower_keys(item))
        for number, item in enumerate(_items(document), start=1)
    )
    sections, warnings = faq_sections(rows)
    return LoadedDocument(source=source, sections=sections, warnings=warnings)


def _items(document: object) -> list[object]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in _LIST_KEYS:
            if isinstance(document.get(key), list):
                items: list[object] = document[key]
                return items
    raise LoaderError('expected a list of FAQ objects, or an object with a "faqs" or "items" list')


def _lower_keys(item: object) -> object:
    """Field names are matched case-insensitively, as CSV headers are."""
    if isinstance(item, dict):
        return {str(key).strip().lower(): value for key, value in item.items()}
    return item
