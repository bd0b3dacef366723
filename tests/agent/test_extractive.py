from __future__ import annotations

from agent.extractive import MIN_SIMILARITY, best_sentences, choose, extract, is_grounded
from knowledge_base.retrieval import RetrievedChunk


def chunk(
    cid: str, language: str, score: float, similarity: float, text: str = "t", faq: bool = True
) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=cid,
        text=text,
        source=f"{cid}.md",
        title=cid,
        section=None,
        page=None,
        language=language,
        score=score,
        dense_similarity=similarity,
        bm25_score=1.0,
        metadata={"is_faq": faq},
    )


def test_a_nearly_as_good_passage_in_the_customer_language_wins() -> None:
    french = chunk("fr", "fr", 0.50, 0.7)
    arabic = chunk("ar", "ar", 0.45, 0.6)
    assert choose([french, arabic], "ar") is arabic
    assert choose([french, arabic], "fr") is french


def test_a_much_weaker_passage_in_the_customer_language_does_not_win() -> None:
    french = chunk("fr", "fr", 0.50, 0.7)
    arabic = chunk("ar", "ar", 0.20, 0.6)
    assert choose([french, arabic], "ar") is french


def test_no_grounded_answer_when_similarity_is_low() -> None:
    weak = chunk("x", "fr", 0.5, MIN_SIMILARITY - 0.01)
    assert not is_grounded([weak])
    assert extract("question", [weak], "fr") is None
    assert extract("question", [], "fr") is None


def test_an_answer_in_another_language_needs_a_preface() -> None:
    answer = extract("q", [chunk("fr", "fr", 0.5, 0.8, "Réponse.")], "ar")
    assert answer is not None and answer.needs_preface and answer.text == "Réponse."


def test_policy_sections_are_cut_to_the_sentences_about_the_question() -> None:
    text = (
        "Nos agences ouvrent à 9 h. Le centre d'appels répond 24 h sur 24. "
        "Les réclamations sont traitées en 15 jours ouvrés. Le médiateur peut être saisi après. "
        "La CNDP protège vos données. Les horaires du samedi sont de 9 h à 13 h."
    )
    picked = best_sentences("horaires des agences le samedi", text)
    assert "samedi" in picked and "agences" in picked
    assert "CNDP" not in picked
    assert picked.index("agences ouvrent") < picked.index("samedi")
