"""HTML pages: the main content, cut into sections by h1-h6."""

from __future__ import annotations

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from knowledge_base.documents import LoadedDocument, LoaderError
from knowledge_base.encoding import decode_text
from knowledge_base.loaders._sections import (
    SectionBuilder,
    collapse_whitespace,
    language_tag,
    table_row,
)

# Code and metadata, and the page furniture repeated on every page of a site: indexing
# the latter would make every page match queries about the menu or the cookie banner.
_NOT_CONTENT = (
    "head", "title", "script", "style", "template", "noscript",
    "nav", "header", "footer", "aside", "form",
)  # fmt: skip
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
# Elements that end the current line; anything else (a, b, span, ...) is inline text.
_BLOCKS = frozenset(
    {
        "address", "article", "blockquote", "body", "caption", "dd", "details", "div", "dl",
        "dt", "figcaption", "figure", "hr", "li", "main", "ol", "p", "pre", "section",
        "summary", "table", "tbody", "tfoot", "thead", "ul",
    }
)  # fmt: skip


def load_html(data: bytes, source: str) -> LoadedDocument:
    soup = BeautifulSoup(decode_text(data), "html.parser")
    root = soup.find("main") or soup.find("article") or soup.body or soup
    if not isinstance(root, Tag):
        raise LoaderError("no text found")
    title = soup.title.get_text() if soup.title else ""
    for tag in root.find_all(_NOT_CONTENT):
        tag.decompose()
    builder = SectionBuilder(preamble_title=collapse_whitespace(title) or None)
    _Walker(builder).walk(root)
    sections = builder.finish()
    if not sections:
        raise LoaderError("no text found")
    return LoadedDocument(source=source, sections=sections, language=_language(soup))


class _Walker:
    """Feeds the builder one line per block of text, in document order."""

    def __init__(self, builder: SectionBuilder) -> None:
        self._builder = builder
        self._pending: list[str] = []

    def walk(self, root: Tag) -> None:
        self._children(root)
        self._end_line()

    def _children(self, parent: Tag) -> None:
        for child in parent.children:
            if isinstance(child, Tag):
                self._element(child)
            elif type(child) is NavigableString:
                # Subclasses are comments, doctypes, CDATA: markup, not text.
                self._pending.append(str(child))

    def _element(self, element: Tag) -> None:
        name = element.name
        if name in _HEADINGS:
            self._end_line()
            title = collapse_whitespace(element.get_text())
            if title:
                self._builder.heading(_HEADINGS[name], title)
        elif name == "tr":
            self._end_line()
            cells = element.find_all(["td", "th"], recursive=False)
            self._add_line(table_row(cell.get_text() for cell in cells))
        elif name == "br":
            self._end_line()
        elif name in _BLOCKS:
            self._end_line()
            self._children(element)
            self._end_line()
        else:
            self._children(element)

    def _end_line(self) -> None:
        self._add_line(collapse_whitespace("".join(self._pending)))
        self._pending.clear()

    def _add_line(self, line: str) -> None:
        if line:
            self._builder.line(line)


def _language(soup: BeautifulSoup) -> str | None:
    html = soup.find("html")
    lang = html.get("lang") if isinstance(html, Tag) else None
    return language_tag(lang) if isinstance(lang, str) else None
