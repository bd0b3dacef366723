"""The documents of the admin's tenant knowledge base: list, upload, remove.

Uploads go through the same ingestion as ``rafiq ingest``: the same loaders, nothing
re-embedded when a file is unchanged, a changed file's chunks replaced, a bad file
reported with its reason while the others go in.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field

from api.deps import AdminDep, ServicesDep
from api.errors import ApiError, ErrorBody
from api.middleware import UPLOAD_PATH
from api.status import audit
from knowledge_base.ingest import IngestReport, ingest
from knowledge_base.loaders import SUPPORTED_SUFFIXES
from knowledge_base.store import Metadata, TenantStore

router = APIRouter(prefix=UPLOAD_PATH, tags=["knowledge base"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorBody}, 403: {"model": ErrorBody}}
MAX_NAME_BYTES = 200
"""Below every file system's 255-byte limit, with room for the temporary folder's files."""
_SECTION_SEPARATOR = " > "


class KbDocument(BaseModel):
    source: Annotated[
        str,
        Field(description="The file's name: what citations show and what DELETE takes."),
    ]
    title: Annotated[
        str | None, Field(description="Top heading or PDF title; none for a FAQ table.")
    ]
    language: Annotated[str, Field(description="The language of most of its chunks.")]
    chunks: int
    content_hash: Annotated[str | None, Field(description="Changes when the file's content does.")]
    ingested_at: datetime | None

    @classmethod
    def of(cls, source: str, chunks: list[Metadata]) -> KbDocument:
        chunks = sorted(chunks, key=lambda m: int(m.get("chunk_index", 0)))
        first = chunks[0]
        languages = Counter(str(m.get("language", "")) for m in chunks)
        stamps = [str(m["ingested_at"]) for m in chunks if m.get("ingested_at")]
        return cls(
            source=source,
            title=_document_title(first),
            language=languages.most_common(1)[0][0],
            chunks=len(chunks),
            content_hash=str(first["doc_hash"]) if first.get("doc_hash") else None,
            ingested_at=datetime.fromisoformat(max(stamps)) if stamps else None,
        )


def _document_title(first: Metadata) -> str | None:
    """The heading above the first section, else the first section's own title; a
    FAQ table has neither, and its first question does not name the document."""
    if first.get("section"):
        return str(first["section"]).split(_SECTION_SEPARATOR)[0]
    if first.get("title") and not first.get("is_faq"):
        return str(first["title"])
    return None


class KbDocumentList(BaseModel):
    documents: list[KbDocument]


FileStatus = Literal["added", "updated", "unchanged", "skipped"]


class UploadedFile(BaseModel):
    file: Annotated[str, Field(description="The file name as sent.")]
    source: Annotated[
        str | None,
        Field(description="The name it is stored under: the sent name without any folder."),
    ]
    status: FileStatus
    reason: Annotated[
        str | None,
        Field(description="Why a skipped file was skipped.", examples=["corrupt PDF (...)"]),
    ] = None
    chunks: Annotated[int, Field(description="The document's chunks now in the index.")] = 0
    warnings: Annotated[
        list[str],
        Field(description="Parts of the file left out, e.g. a FAQ row without an answer."),
    ] = []


class UploadReport(BaseModel):
    files: Annotated[list[UploadedFile], Field(description="One entry per file, in order.")]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "files": [
                        {"file": "faq.md", "source": "faq.md", "status": "added", "chunks": 12},
                        {
                            "file": "setup.exe",
                            "source": "setup.exe",
                            "status": "skipped",
                            "reason": "unsupported file type .exe",
                        },
                    ]
                }
            ]
        }
    }


def safe_file_name(sent: str) -> str | None:
    """The base name of a client's file name, or None when nothing usable is left.

    The name becomes a file in the upload folder and the document's source, so any
    folder part ("../../etc/passwd.md", "C:\\docs\\faq.md") is dropped.
    """
    base = re.split(r"[\\/]", sent)[-1]
    base = "".join(c for c in base if c.isprintable()).strip().lstrip(".").strip()
    return base or None


def _refusal(name: str | None, taken: Collection[str]) -> str | None:
    """Why a file cannot even be handed to ingestion, if it cannot."""
    if name is None:
        return "no usable file name"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"file name longer than {MAX_NAME_BYTES} bytes"
    if name in taken:
        return "the same file name appears earlier in this upload"
    return None


def list_documents(store: TenantStore) -> dict[str, KbDocument]:
    by_source: dict[str, list[Metadata]] = defaultdict(list)
    for chunk in store.all_chunks():
        if not chunk.alias_of:
            by_source[str(chunk.metadata["source"])].append(chunk.metadata)
    return {source: KbDocument.of(source, chunks) for source, chunks in sorted(by_source.items())}


def _outcome(
    sent: str,
    source: str,
    path: Path,
    report: IngestReport,
    before: dict[str, str],
    after: dict[str, KbDocument],
) -> UploadedFile:
    warnings = [
        w.removeprefix(f"{source}: ") for w in report.warnings if w.startswith(f"{source}: ")
    ]
    reason = next((s.reason for s in report.skipped if s.path == str(path)), None)
    document = after.get(source)
    if reason is not None or document is None:
        return UploadedFile(
            file=sent,
            source=source,
            status="skipped",
            reason=reason or "removed while it was being ingested",
            warnings=warnings,
        )
    status: FileStatus = (
        "added"
        if source not in before
        else "unchanged"
        if before[source] == document.content_hash
        else "updated"
    )
    return UploadedFile(
        file=sent, source=source, status=status, chunks=document.chunks, warnings=warnings
    )


@router.get("", summary="The documents in the tenant's knowledge base", responses=_ERRORS)
def get_documents(user: AdminDep, services: ServicesDep) -> KbDocumentList:
    store = services.retriever(user.tenant).store
    return KbDocumentList(documents=list(list_documents(store).values()))


@router.post(
    "",
    summary="Upload files into the tenant's knowledge base",
    description="Multipart, one or more `files`: Markdown, CSV/JSON FAQ, HTML, PDF, DOCX or "
    f"text ({', '.join(sorted(SUPPORTED_SUFFIXES))}). A file is stored under its name "
    "without folders; uploading a name again replaces that document when its content "
    "changed and does nothing otherwise. Files that cannot be ingested are reported as "
    "`skipped` with the reason; the others are ingested all the same.",
    responses={**_ERRORS, 413: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def upload_documents(
    files: Annotated[list[UploadFile], File(description="The documents to ingest.")],
    user: AdminDep,
    services: ServicesDep,
) -> UploadReport:
    store = services.retriever(user.tenant).store
    upload_dir = services.api_config.upload_dir
    if upload_dir is not None:
        upload_dir.mkdir(parents=True, exist_ok=True)
    refused: dict[int, UploadedFile] = {}
    saved: dict[int, tuple[str, Path]] = {}
    with tempfile.TemporaryDirectory(dir=upload_dir, prefix="upload-") as folder:
        for number, upload in enumerate(files):
            sent = upload.filename or ""
            name = safe_file_name(sent)
            reason = _refusal(name, {source for source, _ in saved.values()})
            if name is None or reason is not None:
                refused[number] = UploadedFile(
                    file=sent, source=name, status="skipped", reason=reason
                )
                continue
            path = Path(folder, name)
            with path.open("xb") as out:
                shutil.copyfileobj(upload.file, out)
            saved[number] = (name, path)
        before = store.document_hashes()
        report = ingest(store, [path for _, path in saved.values()], services.ingest_options())
    after = list_documents(store)
    results = [
        refused[number]
        if number in refused
        else _outcome(upload.filename or "", *saved[number], report, before, after)
        for number, upload in enumerate(files)
    ]
    changed = {s: [r.source for r in results if r.status == s] for s in ("added", "updated")}
    if any(changed.values()):
        with services.sessions.begin() as session:
            audit(
                session,
                user.tenant,
                f"staff:{user.id}",
                "kb.documents.ingested",
                user.tenant,
                **changed,
            )
    return UploadReport(files=results)


@router.delete(
    "/{source:path}",
    status_code=204,
    summary="Remove a document: its chunks leave search at once",
    responses={**_ERRORS, 404: {"model": ErrorBody}},
)
def delete_document(source: str, user: AdminDep, services: ServicesDep) -> None:
    if not services.retriever(user.tenant).store.delete_document(source):
        raise ApiError(404, "not_found", f"no document {source!r} in the knowledge base")
    with services.sessions.begin() as session:
        audit(session, user.tenant, f"staff:{user.id}", "kb.document.deleted", source)
