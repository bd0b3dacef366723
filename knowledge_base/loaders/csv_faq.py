"""CSV FAQ: one question/answer per row, under a header naming the columns."""

from __future__ import annotations

import csv
import io

from knowledge_base.documents import LoadedDocument, LoaderError
from knowledge_base.encoding import decode_text
from knowledge_base.loaders._sections import faq_sections

# French Excel writes ";" because "," is the decimal separator; tab for TSV exports.
_DELIMITERS = (",", ";", "\t")
_REQUIRED = ("question", "answer")
_COLUMNS = (*_REQUIRED, "category", "language")


def load_csv_faq(data: bytes, source: str) -> LoadedDocument:
    text = decode_text(data)
    delimiter = _delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as error:
        raise LoaderError(f"invalid CSV: {error}") from error
    if not records:
        raise LoaderError("empty file")
    header = [name.strip().lower() for name in records[0]]
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise LoaderError(f"missing column {' and '.join(missing)}")
    positions = {name: header.index(name) for name in _COLUMNS if name in header}
    rows = (
        # Numbered like spreadsheet rows, the header being row 1, so that a warning
        # points at the row the author sees in Excel.
        (f"row {number}", {name: _cell(record, at) for name, at in positions.items()})
        for number, record in enumerate(records[1:], start=2)
        if any(cell.strip() for cell in record)
    )
    sections, warnings = faq_sections(rows)
    return LoadedDocument(source=source, sections=sections, warnings=warnings)


def _delimiter(text: str) -> str:
    """The delimiter whose reading of the header finds the most required columns.

    Trying each candidate on the header is more reliable than csv.Sniffer, which
    guesses from character frequencies and is thrown off by answers full of commas.
    Ties go to the one splitting the header into the most fields, so that the
    missing-column error names the right column.
    """

    def score(delimiter: str) -> tuple[int, int]:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
        names = {name.strip().lower() for name in header}
        return sum(name in names for name in _REQUIRED), len(header)

    return max(_DELIMITERS, key=score)


def _cell(record: list[str], position: int) -> str:
    # Short rows are common in hand-edited files: a missing trailing cell is empty.
    return record[position] if position < len(record) else ""
