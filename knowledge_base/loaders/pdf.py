"""PDF: the text layer, one section per page."""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from knowledge_base.documents import LoadedDocument, LoaderError, Section


def load_pdf(data: bytes, source: str) -> LoadedDocument:
    try:
        reader = PdfReader(io.BytesIO(data))
        metadata_title = reader.metadata.title if reader.metadata else None
        pages = [page.extract_text() for page in reader.pages]
    except FileNotDecryptedError as error:
        # pypdf already tried the empty password that permission-only encryption uses.
        raise LoaderError("encrypted PDF (password required)") from error
    except DependencyError as error:
        raise LoaderError(f"encrypted PDF ({error})") from error
    except Exception as error:
        # A damaged file can fail anywhere inside pypdf's parser, with whatever
        # exception the broken structure triggers (KeyError, ValueError, zlib.error...).
        raise LoaderError(f"corrupt PDF ({type(error).__name__}: {error})") from error
    if not pages:
        raise LoaderError("PDF has no pages")
    texts = [(number, text.strip()) for number, text in enumerate(pages, start=1)]
    texts = [(number, text) for number, text in texts if text]
    if not texts:
        raise LoaderError("no text layer (scanned PDF?)")
    title = (metadata_title or "").strip() or _first_line(texts[0][1])
    sections = [Section(text=text, title=title, page=number) for number, text in texts]
    return LoadedDocument(source=source, sections=sections)


def _first_line(text: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip())
