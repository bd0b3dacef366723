"""Ingestion: idempotent by content, replaces changed files, prunes, skips bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.embeddings import Embedder, create_embedder
from knowledge_base.ingest import IngestOptions, ingest
from knowledge_base.retrieval import HybridRetriever
from knowledge_base.store import TenantStore, open_chroma_client

FAQ_FR = """# Facturation

## Comment payer ma facture ?
Vous pouvez payer votre facture dans l'application, en agence ou par virement.

## Quand ma facture est-elle émise ?
La facture est émise le 1er de chaque mois et payable avant le 15.
"""

FAQ_AR_CSV = (
    "question,answer,category,language\n"
    '"كيف أؤدي فاتورتي؟","يمكنكم أداء الفاتورة عبر التطبيق أو في الوكالة.",billing,ar\n'
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return create_embedder("use-multilingual")


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "faq_fr.md").write_text(FAQ_FR, encoding="utf-8")
    (folder / "faq_ar.csv").write_text(FAQ_AR_CSV, encoding="utf-8")
    return folder


@pytest.fixture
def store(tmp_path: Path, embedder: Embedder) -> TenantStore:
    return TenantStore(open_chroma_client(tmp_path / "chroma"), "acme", embedder)


OPTIONS = IngestOptions(chunk_tokens=200, overlap_tokens=20)


def test_second_ingest_of_unchanged_files_adds_nothing(store: TenantStore, kb: Path) -> None:
    first = ingest(store, [kb], OPTIONS)
    assert (first.files_added, first.chunks_added) == (2, 3)
    ids_before = {c.chunk_id for c in store.all_chunks()}

    second = ingest(store, [kb], OPTIONS)

    assert second.files_unchanged == 2
    assert (second.files_added, second.files_updated, second.chunks_added) == (0, 0, 0)
    assert {c.chunk_id for c in store.all_chunks()} == ids_before
    assert store.count() == 3


def test_changed_file_replaces_its_chunks(store: TenantStore, kb: Path) -> None:
    ingest(store, [kb], OPTIONS)
    (kb / "faq_fr.md").write_text(FAQ_FR.replace("avant le 15", "avant le 20"), encoding="utf-8")

    report = ingest(store, [kb], OPTIONS)

    assert (report.files_updated, report.files_unchanged) == (1, 1)
    texts = [c.text for c in store.all_chunks() if c.metadata["source"] == "faq_fr.md"]
    assert any("avant le 20" in t for t in texts)
    assert not any("avant le 15" in t for t in texts)
    assert store.count() == 3


def test_prune_removes_documents_no_longer_present(store: TenantStore, kb: Path) -> None:
    ingest(store, [kb], OPTIONS)
    (kb / "faq_ar.csv").unlink()

    kept = ingest(store, [kb], OPTIONS)
    assert kept.files_removed == 0
    assert store.count() == 3

    pruned = ingest(store, [kb], IngestOptions(chunk_tokens=200, overlap_tokens=20, prune=True))
    assert (pruned.files_removed, pruned.chunks_removed) == (1, 1)
    assert {c.metadata["source"] for c in store.all_chunks()} == {"faq_fr.md"}


def test_bad_files_are_reported_and_skipped_and_the_rest_is_ingested(
    store: TenantStore, kb: Path
) -> None:
    (kb / "empty.md").write_bytes(b"")
    (kb / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (kb / "bad.json").write_text("{not json", encoding="utf-8")
    (kb / "photo.png").write_bytes(b"\x89PNG\r\n")
    (kb / "huge.txt").write_text("x" * 5000, encoding="utf-8")

    report = ingest(store, [kb], IngestOptions(max_file_bytes=4000))

    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.md", "broken.pdf", "bad.json", "photo.png", "huge.txt"}
    assert "empty" in reasons["empty.md"]
    assert "too large" in reasons["huge.txt"]
    assert "unsupported" in reasons["photo.png"]
    assert "JSON" in reasons["bad.json"]
    assert report.files_added == 2
    assert store.count() == 3


def test_missing_path_is_reported_not_raised(store: TenantStore, tmp_path: Path) -> None:
    report = ingest(store, [tmp_path / "nowhere"], OPTIONS)
    assert [s.reason for s in report.skipped] == ["no such file or folder"]


def test_chunks_keep_provenance(store: TenantStore, kb: Path) -> None:
    ingest(store, [kb], OPTIONS)
    by_title = {c.metadata.get("title"): c for c in store.all_chunks()}
    chunk = by_title["Comment payer ma facture ?"]
    meta = chunk.metadata
    assert meta["tenant"] == "acme"
    assert meta["source"] == "faq_fr.md"
    assert meta["section"] == "Facturation"
    assert meta["language"] == "fr"
    assert meta["is_faq"] is True
    assert len(str(meta["content_hash"])) == 16
    assert str(meta["ingested_at"]).startswith("20")
    assert by_title["كيف أؤدي فاتورتي؟"].metadata["language"] == "ar"


def test_stored_text_keeps_tatweel_and_presentation_forms_while_search_ignores_them(
    store: TenantStore, tmp_path: Path
) -> None:
    folder = tmp_path / "ar"
    folder.mkdir()
    original = "متى تصـــدر الفاتورة الشهرية؟"
    (folder / "faq.csv").write_text(
        f'question,answer\n"{original}","تصدر الفاتورة في أول كل شهر."\n', encoding="utf-8"
    )
    ingest(store, [folder], OPTIONS)

    hits = HybridRetriever(store).search("متى تصدر الفاتورة", 1)

    assert hits[0].title == original  # shown to users exactly as written


def test_tenants_never_see_each_others_chunks(tmp_path: Path, embedder: Embedder, kb: Path) -> None:
    client = open_chroma_client(tmp_path / "chroma")
    acme = TenantStore(client, "acme", embedder)
    other = TenantStore(client, "globex", embedder)
    ingest(acme, [kb], OPTIONS)
    secret = tmp_path / "globex"
    secret.mkdir()
    (secret / "faq.md").write_text(
        "## Quel est le code promo interne ?\nLe code interne est GLOBEX-42.\n", encoding="utf-8"
    )
    ingest(other, [secret], OPTIONS)

    acme_hits = HybridRetriever(acme).search("code promo interne GLOBEX-42", 10)
    globex_hits = HybridRetriever(other).search("code promo interne GLOBEX-42", 10)

    assert acme_hits and all(h.metadata["tenant"] == "acme" for h in acme_hits)
    assert all("GLOBEX" not in h.text for h in acme_hits)
    assert globex_hits[0].text == "Le code interne est GLOBEX-42."


def test_another_process_ingest_invalidates_the_lexical_index(
    tmp_path: Path, embedder: Embedder, kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Other writers are noticed once the cached version expires (VERSION_TTL_S).
    monkeypatch.setattr("knowledge_base.store.VERSION_TTL_S", 0.0)
    reader = HybridRetriever(TenantStore(open_chroma_client(tmp_path / "c"), "acme", embedder))
    assert reader.search("facture", 3) == []
    writer = TenantStore(open_chroma_client(tmp_path / "c"), "acme", embedder)
    ingest(writer, [kb], OPTIONS)

    hits = reader.search("Quand ma facture est-elle émise ?", 3)

    assert hits[0].title == "Quand ma facture est-elle émise ?"
    assert hits[0].bm25_score > 0


def test_large_collections_are_read_page_by_page(
    store: TenantStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A single get() of every record exceeds SQLite's variable limit at ~40k vectors.
    monkeypatch.setattr("knowledge_base.store.PAGE_SIZE", 7)
    folder = tmp_path / "many"
    folder.mkdir()
    entries = "\n".join(f"## Question numéro {i} ?\nRéponse numéro {i}.\n" for i in range(25))
    (folder / "faq.md").write_text(entries, encoding="utf-8")

    ingest(store, [folder], OPTIONS)

    assert store.count() == 25
    assert len([c for c in store.all_chunks() if not c.alias_of]) == 25
    assert store.document_hashes().keys() == {"faq.md"}
    (folder / "faq.md").unlink()
    pruned = ingest(store, [folder], IngestOptions(prune=True))
    assert (pruned.files_removed, pruned.chunks_removed) == (1, 25)
    assert store.collection.count() == 0
