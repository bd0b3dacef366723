"""Markdown: ATX headings cut sections; "## ...?" headings are FAQ questions."""

from __future__ import annotations

import re

from knowledge_base.documents import LoadedDocument, LoaderError
from knowledge_base.encoding import decode_text
from knowledge_base.loaders._sections import SectionBuilder, language_tag

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER_LANGUAGE = re.compile(r"^language[ \t]*:(.*)$")
_FAQ_LEVEL = 2
_QUESTION_MARKS = ("?", "\u061f")  # Latin and Arabic question marks


def load_markdown(data: bytes, source: str) -> LoadedDocument:
    lines = decode_text(data).splitlines()
    language, body = _split_front_matter(lines)
    builder = SectionBuilder()
    fence: str | None = None
    for line in body:
        if fence is not None:
            if _closes_fence(line, fence):
                fence = None
        elif heading := _HEADING.match(line):
            _add_heading(builder, len(heading.group(1)), heading.group(2) or "")
            continue
        elif opening := _FENCE.match(line):
            fence = opening.group(1)
        builder.line(line)
    sections = builder.finish()
    if not sections:
        raise LoaderError("no text found")
    return LoadedDocument(
        source=source, sections=sections, language=language, warnings=builder.warnings
    )


def _add_heading(builder: SectionBuilder, level: int, raw_title: str) -> None:
    title = _CLOSING_HASHES.sub("", raw_title).strip()
    if not title:
        return
    if builder.in_faq and level > _FAQ_LEVEL:
        # A sub-heading inside an answer belongs to that answer: splitting it off
        # would separate part of the answer from its question.
        builder.line(title)
    else:
        is_question = level == _FAQ_LEVEL and title.endswith(_QUESTION_MARKS)
        builder.heading(level, title, is_faq=is_question)


def _split_front_matter(lines: list[str]) -> tuple[str | None, list[str]]:
    """Read ``language:`` from a leading ``---`` block; return it and the body lines."""
    if not lines or lines[0].strip() != "---":
        return None, lines
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        # No closing fence: the first line was a thematic break, not front matter.
        return None, lines
    language = None
    for line in lines[1:end]:
        if match := _FRONT_MATTER_LANGUAGE.match(line.strip()):
            language = language_tag(match.group(1).strip().strip("'\""))
    return language, lines[end + 1 :]


def _closes_fence(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)
