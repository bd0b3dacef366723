"""Answer quality with ragas: the offline scores are fair to Arabic, and the judged scores
come from whatever OpenAI-compatible judge the settings name (a local stub here)."""

from __future__ import annotations

import numpy as np
import pytest

from eval.outcomes import CaseOutcome, Passage
from eval.ragas_metrics import Judge, UnicodeWordTokenizer, score_cases, sentence_windows
from knowledge_base.embeddings.base import Vectors
from tests.eval.outcomes_builder import case, result, turn
from tests.stubs.openai_server import ChatReply, OpenAIStub, serve

pytestmark = pytest.mark.slow

ARABIC = "ركبوا الرمز *3031# مجانا لمعرفة الرصيد وتاريخ انتهاء صلاحيته."
OFFLINE = {"string_similarity", "chrf", "rouge_l", "context_recall"}
JUDGED = {"faithfulness", "answer_relevancy", "context_precision"}


class SameVectors:
    """Every text embeds to the same vector: a question regenerated from the answer is
    then as close as can be to the customer's."""

    name = "same"
    dimension = 3

    def embed_queries(self, texts: list[str]) -> Vectors:
        vectors: Vectors = np.full((len(texts), 3), 1 / np.sqrt(3), dtype=np.float32)
        return vectors

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self.embed_queries(texts)


def answered(reply: str, reference: str, passage: str, language: str = "fr") -> CaseOutcome:
    return case(
        "c",
        turn(
            result("answer", reply, reply="ar" if language == "ar" else "fr"),
            text="سؤال" if language == "ar" else "Quand payer ?",
            reference=reference,
            reply_language="ar" if language == "ar" else "fr",
            passages=[
                Passage(
                    chunk_id="k1",
                    source="faq.md",
                    title=None,
                    text=passage,
                    language=language,
                    score=1.0,
                    cited=True,
                )
            ],
        ),
    )


def test_identical_arabic_scores_one_on_every_offline_metric() -> None:
    report = score_cases([answered(ARABIC, ARABIC, ARABIC, "ar")])
    assert report.cases[0].turns[0].scores == {name: 1.0 for name in OFFLINE}
    assert report.warnings == []


def test_rouge_tokenizer_keeps_arabic_and_french_words() -> None:
    assert UnicodeWordTokenizer().tokenize("Échéance le 15 — الرصيد") == [
        "échéance",
        "le",
        "15",
        "الرصيد",
    ]


def test_a_passage_holding_the_reference_recalls_it() -> None:
    reference = "La facture est émise le 1er du mois et doit être payée au plus tard le 15."
    passage = (
        "Votre facture mensuelle est disponible dans Atlas&Moi. "
        + reference
        + " Passé ce délai, des frais de 30 DH s'appliquent. Les agences acceptent les "
        "espèces. Le prélèvement automatique évite les oublis."
    )
    reply = "Votre facture est à régler avant le 15 du mois."
    scores = score_cases([answered(reply, reference, passage)]).cases[0].turns[0].scores
    assert scores["context_recall"] == 1.0
    assert 0 < scores["chrf"] < 1 and 0 < scores["rouge_l"] < 1
    unrelated = score_cases([answered(reply, reference, "Les agences ouvrent à 9 h.")])
    assert unrelated.cases[0].turns[0].scores["context_recall"] == 0.0


def test_sentence_windows() -> None:
    assert sentence_windows("Un. Deux ! Trois؟ Quatre") == [
        "Un.",
        "Deux !",
        "Trois؟",
        "Quatre",
        "Un. Deux !",
        "Deux ! Trois؟",
        "Trois؟ Quatre",
        "Un. Deux ! Trois؟",
        "Deux ! Trois؟ Quatre",
    ]


def test_turns_without_a_reference_or_an_answer_are_not_scored() -> None:
    cases = [
        case("no-reference", turn(result("answer"))),
        case("clarified", turn(result("clarify"), reference="Au plus tard le 15.")),
    ]
    assert all(not t.scores for c in score_cases(cases).cases for t in c.turns)


def test_a_configured_judge_grades_faithfulness_relevancy_and_context_precision() -> None:
    stub = OpenAIStub()
    with serve(stub.app) as base_url:
        stub.state.script(
            ChatReply.json({"statements": ["La facture est due le 15.", "Sans frais."]}),
            ChatReply.json(
                {
                    "statements": [
                        {"statement": "La facture est due le 15.", "reason": "dit", "verdict": 1},
                        {"statement": "Sans frais.", "reason": "absent", "verdict": 0},
                    ]
                }
            ),
            ChatReply.json({"question": "Quand payer ma facture ?", "noncommittal": 0}),
            ChatReply.json({"reason": "utile", "verdict": 1}),
        )
        report = score_cases(
            [
                answered(
                    "La facture est due le 15, sans frais.",
                    "Au plus tard le 15.",
                    "La facture doit être payée au plus tard le 15.",
                )
            ],
            Judge(base_url, "juge-multilingue", "sk-judge"),
            SameVectors(),
        )
    scores = report.cases[0].turns[0].scores
    assert set(scores) == OFFLINE | JUDGED
    assert scores["faithfulness"] == 0.5  # one of two statements is in the passage
    assert scores["answer_relevancy"] == pytest.approx(1.0)
    assert scores["context_precision"] == pytest.approx(1.0)
    assert report.warnings == []
    requests = stub.state.chat_requests
    assert len(requests) == 4 and {r["model"] for r in requests} == {"juge-multilingue"}
    assert stub.state.headers[0]["authorization"] == "Bearer sk-judge"


def test_a_failing_judge_loses_its_scores_not_the_run() -> None:
    stub = OpenAIStub()
    with serve(stub.app) as base_url:
        stub.state.fail_status = 500
        report = score_cases(
            [answered("Le 15.", "Au plus tard le 15.", "Payez avant le 15.")],
            Judge(base_url, "juge"),
            SameVectors(),
        )
    scores = report.cases[0].turns[0].scores
    assert set(scores) == OFFLINE
    assert report.warnings == [
        f"{name}: 1 of 1 turns could not be scored (the judge failed)" for name in sorted(JUDGED)
    ]
