from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.analyzer import terms
from knowledge_base.bm25 import BM25Index

DOCS = [
    "Comment payer ma facture en agence ou en ligne.",
    "Résilier un abonnement internet : délai et frais.",
    "Les frais de retard sur une facture impayée.",
    "Changer le code PIN de la carte SIM.",
    "كيف يمكنني دفع الفاتورة عبر التطبيق",
]


@pytest.fixture(scope="module")
def index() -> BM25Index:
    return BM25Index([terms(d) for d in DOCS])


def ids(results: list[tuple[int, float]]) -> list[int]:
    return [doc_id for doc_id, _ in results]


def test_document_with_the_term_ranks_above_one_without(index: BM25Index) -> None:
    results = index.top(terms("code PIN"), n=5)
    assert ids(results) == [3]
    scores = index.scores(terms("code PIN"))
    assert scores[3] > 0
    assert all(scores[i] == 0 for i in range(len(DOCS)) if i != 3)


def test_every_matching_document_is_returned_best_first(index: BM25Index) -> None:
    results = index.top(terms("frais facture"), n=10)
    assert set(ids(results)) == {0, 1, 2}
    assert ids(results)[0] == 2  # the only document with both terms
    values = [score for _, score in results]
    assert values == sorted(values, reverse=True)


def test_arabic_query_matches_arabic_document(index: BM25Index) -> None:
    assert ids(index.top(terms("الفاتورة"), n=5)) == [4]


def test_rarer_terms_weigh_more() -> None:
    docs = [["facture", "payer"], ["facture", "agence"], ["facture", "ligne"], ["resilier", "x"]]
    index = BM25Index(docs)
    common = index.scores(["facture"])
    rare = index.scores(["resilier"])
    # Same document length and term frequency: only the document frequency differs.
    assert rare[3] > common[0] > 0
    # A document matching the rare term beats one matching the common term.
    assert ids(index.top(["facture", "resilier"], n=4))[0] == 3


def test_term_frequency_saturates_and_shorter_documents_win() -> None:
    index = BM25Index([["a", "b"], ["a", "a", "b", "b"], ["a", "b", "c", "d", "e", "f"], ["z"]])
    scores = index.scores(["a"])
    assert scores[1] > scores[0]  # more occurrences
    assert scores[1] < 2 * scores[0]  # but not linearly more
    assert scores[0] > scores[2]  # same frequency, shorter document


def test_repeated_query_terms_count_once(index: BM25Index) -> None:
    once = index.scores(["factur"])
    twice = index.scores(["factur", "factur"])
    np.testing.assert_array_equal(once, twice)


def test_allowed_mask_excludes_documents(index: BM25Index) -> None:
    query = terms("frais facture")
    allowed = np.array([True, True, False, True, True])
    results = index.top(query, n=10, allowed=allowed)
    assert set(ids(results)) == {0, 1}
    nothing = index.top(query, n=10, allowed=np.zeros(len(DOCS), dtype=bool))
    assert nothing == []


def test_top_returns_at_most_n(index: BM25Index) -> None:
    query = terms("frais facture")
    full = index.top(query, n=10)
    assert len(full) == 3
    for n in (1, 2, 3):
        assert index.top(query, n=n) == full[:n]


def test_empty_or_unknown_query_gives_nothing(index: BM25Index) -> None:
    assert index.top([], n=5) == []
    assert index.top(["zorglub"], n=5) == []
    assert not index.scores([]).any()


def test_contains_reports_indexed_terms(index: BM25Index) -> None:
    assert "factur" in index
    assert "فاتور" in index
    assert "zorglub" not in index


def test_scores_have_one_entry_per_document(index: BM25Index) -> None:
    scores = index.scores(["factur"])
    assert scores.shape == (len(DOCS),)
    assert scores.dtype == np.float32


def test_empty_index() -> None:
    index = BM25Index([])
    assert index.size == 0
    assert index.top(["facture"], n=3) == []
    assert index.scores(["facture"]).shape == (0,)


def test_index_of_empty_documents() -> None:
    index = BM25Index([[], []])
    assert index.top(["facture"], n=3) == []
