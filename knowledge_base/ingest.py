"""Bringing files into a tenant's knowledge base, idempotently.

A document is identified by its source path (relative to the folder given) and versioned
by the hash of its bytes: unchanged files cost one hash, changed ones replace all their
chunks, and ``prune`` makes the collection mirror exactly the paths ingested. A bad file
is reported with its reason and skipped; it never stops the rest.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from knowledge_base.chunking import ChunkPiece, chunk_section, sentences_of
from knowledge_base.documents import LoadedDocument, LoaderError
from knowledge_base.language import detect_language
from knowledge_base.loaders import SUPPORTED_SUFFIXES, parse_document
from knowledge_base.retrieval import indexed_text
from knowledge_base.store import ALIAS_SEPARATOR, Metadata, StoredChunk, TenantStore

# Bump when loaders or chunking change what a file produces, so re-ingest rebuilds.
PIPELINE_VERSION = "3"


@dataclass(frozen=True)
class IngestOptions:
    chunk_tokens: int = 300
    overlap_tokens: int = 40
    max_file_bytes: int = 20_000_000
    prune: bool = False


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class IngestReport:
    files_seen: int = 0
    files_added: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_removed: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class SourceFile:
    path: Path
    source: str


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[SkippedFile]]:
    """Files under ``paths`` with the source name each will be stored under."""
    found: dict[str, SourceFile] = {}
    problems: list[SkippedFile] = []
    for root in paths:
        if root.is_file():
            candidates = [(root, root.name)]
        elif root.is_dir():
            candidates = [
                (p, p.relative_to(root).as_posix())
                for p in sorted(root.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(root).parts)
            ]
        else:
            problems.append(SkippedFile(str(root), "no such file or folder"))
            continue
        for path, source in candidates:
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                problems.append(
                    SkippedFile(str(path), f"unsupported file type {path.suffix or '(none)'}")
                )
            elif source in found:
                problems.append(SkippedFile(str(path), f"same source name as {found[source].path}"))
            else:
                found[source] = SourceFile(path, source)
    return list(found.values()), problems


def _chunk_records(
    tenant: str, document: LoadedDocument, doc_hash: str, options: IngestOptions
) -> list[StoredChunk]:
    ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
    source_key = hashlib.sha1(document.source.encode()).hexdigest()[:12]
    pieces: list[ChunkPiece] = []
    for section in document.sections:
        pieces.extend(chunk_section(section, options.chunk_tokens, options.overlap_tokens))
    records = []
    for number, piece in enumerate(pieces):
        section = piece.section
        language = (
            section.language
            or document.language
            or detect_language(f"{section.title or ''} {piece.text}")
        )
        metadata: Metadata = {
            "tenant": tenant,
            "source": document.source,
            "language": language,
            "doc_hash": doc_hash,
            "content_hash": hashlib.sha256(piece.text.encode()).hexdigest()[:16],
            "ingested_at": ingested_at,
            "chunk_index": number,
            "is_faq": section.is_faq,
            "record": "chunk",
        }
        optional = {
            "title": section.title,
            "section": section.section,
            "category": section.category,
        }
        metadata.update({k: v for k, v in optional.items() if v})
        if section.page is not None:
            metadata["page"] = section.page
        chunk_id = f"{source_key}-{number:04d}-{metadata['content_hash']!s:.8}"
        records.append(StoredChunk(chunk_id, piece.text, metadata))
        records.extend(_aliases(chunk_id, piece, metadata))
    return records


def _aliases(chunk_id: str, piece: ChunkPiece, metadata: Metadata) -> list[StoredChunk]:
    """Extra vectors that stand for a chunk: its question, and each of its sentences.

    A customer's question resembles a FAQ question, or one detail of an answer, far
    more than it resembles a whole chunk; the best of these vectors ranks the chunk.
    """
    texts: list[str] = []
    if piece.section.is_faq and piece.section.title and piece.index_in_section == 0:
        texts.append(piece.section.title)
    sentences = sentences_of(piece.text)
    if len(sentences) > 1:
        texts.extend(s for s in sentences if len(s) >= 20)
    alias = {**metadata, "record": "alias", "alias_of": chunk_id}
    return [
        StoredChunk(f"{chunk_id}{ALIAS_SEPARATOR}{i}", text, alias) for i, text in enumerate(texts)
    ]


def ingest(
    store: TenantStore,
    paths: list[Path],
    options: IngestOptions,
    progress: Callable[[int, int, str], None] | None = None,
) -> IngestReport:
    """Ingest ``paths``; ``progress(done, total, source)`` is called before each file."""
    started = time.perf_counter()
    report = IngestReport()
    files, problems = discover(paths)
    report.skipped.extend(problems)
    report.files_seen = len(files) + len(problems)
    existing = store.document_hashes()

    for done, file in enumerate(files):
        if progress is not None:
            progress(done, len(files), file.source)
        try:
            size = file.path.stat().st_size
            if size == 0:
                raise LoaderError("empty file")
            if size > options.max_file_bytes:
                raise LoaderError(f"too large ({size} bytes > limit {options.max_file_bytes})")
            data = file.path.read_bytes()
        except LoaderError as exc:
            report.skipped.append(SkippedFile(str(file.path), exc.reason))
            continue
        except OSError as exc:
            report.skipped.append(SkippedFile(str(file.path), f"unreadable: {exc.strerror}"))
            continue
        doc_hash = hashlib.sha256(PIPELINE_VERSION.encode() + data).hexdigest()
        if existing.get(file.source) == doc_hash:
            report.files_unchanged += 1
            continue
        try:
            document = parse_document(data, file.path.suffix, file.source)
            records = _chunk_records(store.tenant, document, doc_hash, options)
            if not records:
                raise LoaderError("no text found")
        except LoaderError as exc:
            report.skipped.append(SkippedFile(str(file.path), exc.reason))
            continue
        report.warnings.extend(f"{file.source}: {w}" for w in document.warnings)
        vectors = store.embedder.embed_documents(
            [r.text if r.alias_of else indexed_text(r) for r in records]
        )
        removed = store.replace_document(file.source, records, vectors)
        chunks = sum(1 for r in records if not r.alias_of)
        if file.source in existing:
            report.files_updated += 1
            report.chunks_updated += chunks
            report.chunks_removed += max(0, removed - chunks)
        else:
            report.files_added += 1
            report.chunks_added += chunks

    if options.prune:
        keep = {f.source for f in files}
        for source in sorted(set(existing) - keep):
            report.chunks_removed += store.delete_document(source)
            report.files_removed += 1
    report.seconds = time.perf_counter() - started
    return report
