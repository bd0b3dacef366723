"""Word .docx: heading-styled paragraphs cut sections; table rows become lines."""

from __future__ import annotations

import io
import re

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from knowledge_base.documents import LoadedDocument, LoaderError
from knowledge_base.loaders._sections import SectionBuilder, table_row

# Word stores the English names of built-in styles, but documents produced by other
# tools in French carry the localised ones ("Titre 1", and "Titre" for Title).
_HEADING_STYLE = re.compile(r"^(?:heading|titre)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "titre"})
# The document title sits above "Heading 1", so level-1 sections keep it in their path.
_TITLE_LEVEL = 0


def load_docx(data: bytes, source: str) -> LoadedDocument:
    builder = SectionBuilder()
    try:
        document = docx.Document(io.BytesIO(data))
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                _add_paragraph(builder, block)
            else:
                _add_table(builder, block)
    except Exception as error:
        # python-docx surfaces damage as whatever zipfile, lxml or its own package
        # reader raises (BadZipFile, KeyError, XMLSyntaxError, ValueError...).
        raise LoaderError(f"corrupt DOCX ({type(error).__name__}: {error})") from error
    sections = builder.finish()
    if not sections:
        raise LoaderError("no text found")
    return LoadedDocument(source=source, sections=sections)


def _add_paragraph(builder: SectionBuilder, paragraph: Paragraph) -> None:
    text = paragraph.text.strip()
    if not text:
        return
    level = _heading_level(paragraph)
    if level is None:
        builder.line(text)
    else:
        builder.heading(level, text)


def _heading_level(paragraph: Paragraph) -> int | None:
    name = (paragraph.style.name if paragraph.style else None) or ""
    name = name.strip()
    if name.lower() in _TITLE_STYLES:
        return _TITLE_LEVEL
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else None


def _add_table(builder: SectionBuilder, table: Table) -> None:
    for row in table.rows:
        texts: list[str] = []
        previous: object = None
        for cell in row.cells:
            # A horizontally merged cell is the same object once per grid column spanned.
            if cell is not previous:
                texts.append(cell.text)
            previous = cell
        if line := table_row(texts):
            builder.line(line)
