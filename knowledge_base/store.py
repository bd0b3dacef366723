"""One Chroma collection per tenant and embedding model.

Collections are created with the raw client and Rafiq's own embedding function (never
Chroma's default, which downloads a model). Each collection's metadata carries a version
that changes on every write, so other processes know when their BM25 index is stale.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from knowledge_base.embeddings.adapters import ChromaEmbeddingFunction
from knowledge_base.embeddings.base import Embedder, Vectors

Metadata = dict[str, str | int | float | bool]
Where = dict[str, Any]


class StoreError(RuntimeError):
    """The vector store is unreachable or refused an operation."""


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    text: str
    metadata: Metadata

    @property
    def alias_of(self) -> str | None:
        """For an alias record (e.g. a FAQ question embedded alone), the chunk it stands for."""
        parent = self.metadata.get("alias_of")
        return str(parent) if parent else None


def open_chroma_client(path: Path | None, url: str | None = None) -> ClientAPI:
    """Embedded persistent client by default; a Chroma server when ``url`` is given."""
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if url:
            parsed = urlparse(url)
            if parsed.scheme not in {"http", "https"} or not parsed.hostname:
                raise StoreError(f"RAFIQ_CHROMA_URL must be http(s)://host:port, got {url!r}")
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
        if path is None:
            raise StoreError("an embedded Chroma store needs a directory")
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"cannot open the vector store: {exc}") from exc


PAGE_SIZE = 5000
ALIAS_SEPARATOR = "~"
"""Alias record ids are ``<chunk id>~<n>``."""
VERSION_TTL_S = 1.0


@dataclass(frozen=True)
class _Page:
    ids: list[str]
    documents: list[str]
    metadatas: list[Metadata]


def _metadata(raw: Mapping[str, object] | None) -> Metadata:
    """Chroma's metadata, keeping the scalar values Rafiq writes."""
    return {k: v for k, v in (raw or {}).items() if isinstance(v, str | int | float | bool)}


def collection_name(tenant: str, embedder: Embedder) -> str:
    return "rafiq-" + re.sub(r"[^a-zA-Z0-9.-]+", "_", f"{tenant}--{embedder.name}")[:200]


class TenantStore:
    """The chunks of one tenant, embedded with one model."""

    def __init__(self, client: ClientAPI, tenant: str, embedder: Embedder) -> None:
        self.tenant = tenant
        self.embedder = embedder
        self._client = client
        self.name = collection_name(tenant, embedder)
        self._function = ChromaEmbeddingFunction(embedder)
        self._version: str | None = None
        self._version_read_at = 0.0
        self._collection = self._client.get_or_create_collection(
            self.name,
            embedding_function=self._function,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"tenant": tenant, "model": embedder.name, "version": uuid.uuid4().hex},
        )

    @property
    def collection(self) -> Collection:
        return self._collection

    def version(self) -> str:
        """Changes whenever any process writes to this tenant's chunks.

        Another process's write is seen within ``VERSION_TTL_S``; this process's own
        writes at once.
        """
        now = time.monotonic()
        if self._version is None or now - self._version_read_at > VERSION_TTL_S:
            current = self._client.get_collection(self.name, embedding_function=self._function)  # type: ignore[arg-type]
            self._version = str((current.metadata or {}).get("version", ""))
            self._version_read_at = now
        return self._version

    def _bump_version(self) -> None:
        metadata = dict(self._collection.metadata or {})
        metadata["version"] = uuid.uuid4().hex
        self._collection.modify(metadata=metadata)
        self._version = str(metadata["version"])
        self._version_read_at = time.monotonic()

    def count(self) -> int:
        """Chunks, not counting the alias records that point at them."""
        return sum(len(page.ids) for page in self._pages(where={"record": "chunk"}))

    def document_hashes(self) -> dict[str, str]:
        """source -> hash of the file content that produced its chunks."""
        hashes: dict[str, str] = {}
        for page in self._pages(where={"record": "chunk"}, metadatas=True):
            for meta in page.metadatas:
                hashes[str(meta["source"])] = str(meta.get("doc_hash", ""))
        return hashes

    def _pages(
        self, where: Where | None = None, *, documents: bool = False, metadatas: bool = False
    ) -> Iterator[_Page]:
        """All matching records, a page at a time: one large ``get`` exceeds SQLite's limits."""
        include = [
            name for name, wanted in (("documents", documents), ("metadatas", metadatas)) if wanted
        ]
        offset = 0
        while True:
            result = self._collection.get(
                where=where or None,
                include=include,  # type: ignore[arg-type]
                limit=PAGE_SIZE,
                offset=offset,
            )
            ids = result["ids"]
            if not ids:
                return
            yield _Page(
                ids,
                [d or "" for d in result["documents"]] if documents and result["documents"] else [],
                [_metadata(m) for m in result["metadatas"]]
                if metadatas and result["metadatas"]
                else [],
            )
            if len(ids) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def replace_document(self, source: str, chunks: list[StoredChunk], embeddings: Vectors) -> int:
        """Swap a document's records for new ones; returns how many old chunks went."""
        old = self._delete_source(source)
        batch = self._client.get_max_batch_size()
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            self._collection.add(
                ids=[c.chunk_id for c in part],
                documents=[c.text for c in part],
                metadatas=[c.metadata for c in part],
                embeddings=embeddings[start : start + batch],
            )
        self._bump_version()
        return old

    def delete_document(self, source: str) -> int:
        removed = self._delete_source(source)
        if removed:
            self._bump_version()
        return removed

    def _delete_source(self, source: str) -> int:
        """Deletes every record of ``source``; returns how many were chunks (not aliases)."""
        pages = list(self._pages(where={"source": source}, metadatas=True))
        for page in pages:
            self._collection.delete(ids=page.ids)
        return sum(1 for p in pages for meta in p.metadatas if meta.get("record") == "chunk")

    def all_chunks(self) -> list[StoredChunk]:
        """Every record, chunks and aliases."""
        return [
            StoredChunk(chunk_id, text, meta)
            for page in self._pages(documents=True, metadatas=True)
            for chunk_id, text, meta in zip(page.ids, page.documents, page.metadatas, strict=True)
        ]

    def nearest(
        self, vectors: Vectors, n_results: int, where: Where | None = None
    ) -> list[list[tuple[str, float]]]:
        """Record ids nearest to each query vector, with cosine similarity.

        Only ids and distances cross from Chroma: the retriever already holds every
        chunk's text and metadata, and shipping them again is most of a query's cost.
        """
        try:
            result = self._collection.query(
                query_embeddings=vectors,
                n_results=n_results,
                where=where or None,
                include=["distances"],
            )
        except Exception as exc:
            raise StoreError(f"vector search failed: {exc}") from exc
        return [
            [(record_id, 1.0 - float(d)) for record_id, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(result["ids"], result["distances"] or [], strict=True)
        ]

    def delete_all(self) -> None:
        self._client.delete_collection(self.name)
