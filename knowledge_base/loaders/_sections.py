"""Building Sections from the structure of a source, shared by the loaders.

Two shapes of source exist: flowing documents cut by headings (Markdown, HTML, DOCX),
handled by SectionBuilder and table_row, and question/answer tables (CSV, JSON),
handled by faq_sections. Both also need language tags read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from knowledge_base.documents import LoaderError, Section

_PATH_SEPARATOR = " > "


@dataclass
class _OpenSection:
    title: str | None
    section: str | None
    is_faq: bool = False
    lines: list[str] = field(default_factory=list)


class SectionBuilder:
    """Cuts a stream of headings and text lines into Sections.

    Each heading closes the current section and opens one titled by it, whose
    ``section`` is the path of the headings above it. Sections left without text
    (a heading directly followed by a sub-heading) are dropped.
    """

    def __init__(self, preamble_title: str | None = None) -> None:
        self._open = _OpenSection(title=preamble_title, section=None)
        self._headings: list[tuple[int, str]] = []
        self._sections: list[Section] = []
        self.warnings: list[str] = []

    @property
    def in_faq(self) -> bool:
        return self._open.is_faq

    def heading(self, level: int, title: str, *, is_faq: bool = False) -> None:
        self._close()
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        parent = _PATH_SEPARATOR.join(text for _, text in self._headings) or None
        self._headings.append((level, title))
        self._open = _OpenSection(title=title, section=parent, is_faq=is_faq)

    def line(self, text: str) -> None:
        self._open.lines.append(text)

    def finish(self) -> list[Section]:
        self._close()
        return self._sections

    def _close(self) -> None:
        current = self._open
        text = "\n".join(current.lines).strip()
        if text:
            self._sections.append(
                Section(
                    text=text, title=current.title, section=current.section, is_faq=current.is_faq
                )
            )
        elif current.is_faq:
            self.warnings.append(f"question {current.title!r}: empty answer, skipped")


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace, line breaks and no-break spaces included, become one space.

    For formats whose line breaks are layout (HTML source, table cells), not content.
    """
    return " ".join(text.split())


def table_row(cells: Iterable[str]) -> str:
    """One table row as a line, "a | b | c", with whitespace collapsed in each cell.

    Empty cells keep their place, so that a value stays under its column header;
    only trailing ones are dropped. A row with no text gives "".
    """
    texts = [collapse_whitespace(cell) for cell in cells]
    while texts and not texts[-1]:
        texts.pop()
    return " | ".join(texts)


def language_tag(value: str) -> str | None:
    """The primary subtag of a language tag: "fr-FR" -> "fr", "ary" stays "ary"."""
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    return primary or None


def faq_sections(rows: Iterable[tuple[str, object]]) -> tuple[list[Section], list[str]]:
    """Validate question/answer records and turn the usable ones into FAQ Sections.

    ``rows`` pairs a label naming the record for the ingest report ("row 12",
    "item 3") with the record itself, expected to be a mapping from lower-case field
    names (question, answer, and optionally category, language) to strings. Records
    that cannot be used are skipped with a warning; none usable at all is an error.
    """
    sections: list[Section] = []
    warnings: list[str] = []
    for label, record in rows:
        try:
            sections.append(_faq_section(record))
        except _RowError as problem:
            warnings.append(f"{label}: {problem}, skipped")
    if not sections:
        if warnings:
            raise LoaderError(f"no usable question/answer (first problem: {warnings[0]})")
        raise LoaderError("no question/answer found")
    return sections, warnings


class _RowError(Exception):
    pass


def _faq_section(record: object) -> Section:
    if not isinstance(record, Mapping):
        raise _RowError("not an object")
    question = _text_field(record, "question")
    answer = _text_field(record, "answer")
    empty = [name for name, value in (("question", question), ("answer", answer)) if not value]
    if empty:
        raise _RowError(f"empty {' and '.join(empty)}")
    return Section(
        text=answer,
        title=question,
        is_faq=True,
        category=_text_field(record, "category") or None,
        language=language_tag(_text_field(record, "language")),
    )


def _text_field(record: Mapping[object, object], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _RowError(f"{name} is not text")
    return value.strip()
