"""Hybrid retrieval behaviour on a small bilingual knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.embeddings import Embedder, create_embedder
from knowledge_base.ingest import IngestOptions, ingest
from knowledge_base.retrieval import HybridRetriever, matches
from knowledge_base.store import TenantStore, open_chroma_client

FAQ_FR = """# Réclamations

## Comment déposer une réclamation ?
Déposez votre réclamation dans l'application, en agence ou par courrier.
Nous accusons réception sous 48 heures.

# Paiement

## Comment payer ma facture ?
Payez par carte bancaire dans l'application, en espèces en agence ou par prélèvement automatique.

## Quels sont les horaires des agences ?
Les agences sont ouvertes du lundi au samedi, de 9 h à 18 h.

## Puis-je résilier mon contrat ?
La résiliation est gratuite après la période d'engagement de 12 mois.
"""

FAQ_AR = (
    "question,answer,category,language\n"
    '"ما هي أوقات عمل الوكالات؟","الوكالات مفتوحة من الاثنين إلى السبت من 9 إلى 18.",hours,ar\n'
    '"كيف أؤدي فاتورتي؟",'
    '"يمكنكم أداء الفاتورة بالبطاقة البنكية عبر التطبيق أو نقدا في الوكالة.",billing,ar\n'
)


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory) -> HybridRetriever:
    root = tmp_path_factory.mktemp("kb")
    (root / "faq_fr.md").write_text(FAQ_FR, encoding="utf-8")
    (root / "faq_ar.csv").write_text(FAQ_AR, encoding="utf-8")
    embedder: Embedder = create_embedder("use-multilingual")
    store = TenantStore(open_chroma_client(root / "chroma"), "acme", embedder)
    ingest(store, [root], IngestOptions())
    return HybridRetriever(store)


def top_title(retriever: HybridRetriever, query: str, **filters: object) -> str | None:
    hits = retriever.search(query, 1, **filters)  # type: ignore[arg-type]
    return hits[0].title if hits else None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Comment régler ma facture ?", "Comment payer ma facture ?"),
        ("How can I pay my bill?", "Comment payer ma facture ?"),
        ("bghit ndir chikaya", "Comment déposer une réclamation ?"),
        ("بغيت ندير ريكلاماسيون", "Comment déposer une réclamation ?"),
        ("wach n9der nfsekh lcontra dyali?", "Puis-je résilier mon contrat ?"),
    ],
)
def test_queries_in_every_language_find_the_french_answer(
    retriever: HybridRetriever, query: str, expected: str
) -> None:
    titles = [h.title for h in retriever.search(query, 2)]
    assert expected in titles


def test_language_filter_keeps_only_that_language(retriever: HybridRetriever) -> None:
    hits = retriever.search("horaires des agences", 5, language="ar")
    assert hits and {h.language for h in hits} == {"ar"}
    assert hits[0].title == "ما هي أوقات عمل الوكالات؟"


def test_metadata_filter_restricts_the_source(retriever: HybridRetriever) -> None:
    hits = retriever.search("facture", 5, where={"source": "faq_ar.csv"})
    assert hits and {h.source for h in hits} == {"faq_ar.csv"}


def test_results_carry_scores_and_provenance(retriever: HybridRetriever) -> None:
    hits, timings = retriever.search_with_timings("Comment payer ma facture ?", 1)
    hit = hits[0]
    assert hit.source == "faq_fr.md"
    assert hit.section == "Paiement"
    assert hit.language == "fr"
    assert hit.dense_similarity > 0.5
    assert hit.bm25_score > 0
    assert hit.score > 0
    assert timings.total_ms >= timings.embed_ms + timings.dense_ms + timings.bm25_ms > 0


def test_an_unrelated_question_has_low_dense_similarity(retriever: HybridRetriever) -> None:
    relevant = retriever.search("Comment payer ma facture ?", 1)[0].dense_similarity
    unrelated = retriever.search("Quelle est la recette du tajine aux pruneaux ?", 1)
    assert not unrelated or unrelated[0].dense_similarity < relevant - 0.2


@pytest.mark.parametrize(
    ("metadata", "where", "expected"),
    [
        ({"language": "fr"}, {"language": "fr"}, True),
        ({"language": "fr"}, {"language": {"$ne": "fr"}}, False),
        ({"source": "a.md"}, {"source": {"$in": ["a.md", "b.md"]}}, True),
        ({"source": "c.md"}, {"source": {"$nin": ["a.md"]}}, True),
        ({"language": "fr", "source": "a"}, {"$and": [{"language": "fr"}, {"source": "b"}]}, False),
    ],
)
def test_where_filters_follow_chroma_semantics(
    metadata: dict[str, str], where: dict[str, object], expected: bool
) -> None:
    assert matches(dict(metadata), where) is expected


def test_searching_an_empty_knowledge_base_returns_nothing(tmp_path: Path) -> None:
    store = TenantStore(
        open_chroma_client(tmp_path / "c"), "empty", create_embedder("use-multilingual")
    )
    assert HybridRetriever(store).search("facture", 3) == []
