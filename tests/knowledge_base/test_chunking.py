from __future__ import annotations

import itertools

import pytest

from knowledge_base.chunking import chunk_section, sentences_of
from knowledge_base.documents import Section
from knowledge_base.tokens import count_tokens

QUESTION = "Comment puis-je payer ma facture en plusieurs fois ?"
ANSWER_SENTENCES = [
    "Vous pouvez demander un échéancier de paiement depuis votre espace client.",
    "L'échéancier est accordé pour toute facture supérieure à 500 dirhams.",
    "Le montant est alors réparti sur trois ou six mensualités sans frais.",
    "La première mensualité est prélevée à la date d'échéance de la facture.",
    "Les suivantes sont prélevées le même jour des mois suivants.",
    "En cas de rejet d'un prélèvement, des frais de 30 dirhams s'appliquent.",
    "Vous recevez un SMS de confirmation après chaque prélèvement réussi.",
    "يمكنكم أيضا طلب جدولة الأداء في إحدى وكالاتنا.",
    "يجب الإدلاء بالبطاقة الوطنية وآخر فاتورة.",
    "Pour annuler un échéancier, contactez le service client au 0522 00 00 00.",
    "Un échéancier annulé ne peut pas être redemandé avant six mois.",
    "Les factures suivantes restent payables en une seule fois.",
]
ANSWER = " ".join(ANSWER_SENTENCES)


def faq(answer: str = ANSWER, question: str = QUESTION) -> Section:
    return Section(text=answer, title=question, is_faq=True, section="Factures > Paiement")


def test_long_faq_answer_is_split_within_the_token_budget() -> None:
    max_tokens = 90
    chunks = chunk_section(faq(), max_tokens=max_tokens, overlap_tokens=20)
    assert len(chunks) >= 3
    question_tokens = count_tokens(QUESTION)
    for chunk in chunks:
        # The question is repeated with every chunk, so it counts against the budget.
        assert question_tokens + count_tokens(chunk.text) <= max_tokens, chunk.text


def test_faq_chunk_text_is_the_answer_and_keeps_its_section() -> None:
    chunks = chunk_section(faq(), max_tokens=90, overlap_tokens=20)
    for i, chunk in enumerate(chunks):
        assert chunk.index_in_section == i
        assert chunk.section == faq()
        assert QUESTION not in chunk.text


def test_the_question_counts_against_the_budget() -> None:
    long_question = "Comment " + "et pourquoi " * 20 + "payer ma facture ?"
    plain = Section(text=ANSWER, title=long_question, is_faq=False)
    as_faq = Section(text=ANSWER, title=long_question, is_faq=True)
    assert len(chunk_section(as_faq, 120, 0)) > len(chunk_section(plain, 120, 0))
    for chunk in chunk_section(plain, 120, 0):
        assert count_tokens(chunk.text) <= 120


def test_no_sentence_is_lost_and_order_is_kept() -> None:
    chunks = chunk_section(faq(), max_tokens=90, overlap_tokens=20)
    for sentence in ANSWER_SENTENCES:
        assert any(sentence in chunk.text for chunk in chunks), sentence
    assert chunks[0].text.startswith(ANSWER_SENTENCES[0])
    assert chunks[-1].text.endswith(ANSWER_SENTENCES[-1])
    first_chunk_of = [
        next(i for i, c in enumerate(chunks) if s in c.text) for s in ANSWER_SENTENCES
    ]
    assert first_chunk_of == sorted(first_chunk_of)


def test_consecutive_chunks_overlap() -> None:
    # Every sentence here is at most 34 tokens, so each fits in a 40-token overlap.
    chunks = chunk_section(faq(), max_tokens=90, overlap_tokens=40)
    assert len(chunks) >= 3
    for before, after in itertools.pairwise(chunks):
        shared = [s for s in sentences_of(after.text) if s in sentences_of(before.text)]
        assert shared, (before.text, after.text)
        # The overlap is the tail of the previous chunk, carried to the head of the next.
        assert before.text.endswith(shared[-1])
        assert after.text.startswith(shared[0])
        assert sum(count_tokens(s) for s in shared) <= 40


def test_no_overlap_when_asked_for_none() -> None:
    chunks = chunk_section(faq(), max_tokens=90, overlap_tokens=0)
    seen: list[str] = []
    for chunk in chunks:
        for sentence in sentences_of(chunk.text):
            assert sentence not in seen
            seen.append(sentence)
    assert seen == ANSWER_SENTENCES


def test_short_section_gives_one_chunk() -> None:
    section = Section(
        text="  Nos agences ouvrent à 8h30. Elles ferment à 16h30.  ", title="Horaires"
    )
    chunks = chunk_section(section, max_tokens=300, overlap_tokens=40)
    assert len(chunks) == 1
    assert chunks[0].text == "Nos agences ouvrent à 8h30. Elles ferment à 16h30."
    assert chunks[0].index_in_section == 0


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n"])
def test_empty_section_gives_no_chunk(text: str) -> None:
    assert chunk_section(Section(text=text), max_tokens=300, overlap_tokens=40) == []


def test_enormous_sentence_is_split_by_tokens() -> None:
    sentence = ", ".join(f"option {i} du forfait illimité" for i in range(200)) + "."
    assert count_tokens(sentence) > 1000
    chunks = chunk_section(Section(text=sentence), max_tokens=64, overlap_tokens=10)
    assert len(chunks) >= count_tokens(sentence) // 64
    for chunk in chunks:
        assert count_tokens(chunk.text) <= 64
    # Nothing lost, nothing repeated: the pieces put together give the sentence back.
    assert "".join(c.text for c in chunks).replace(" ", "") == sentence.replace(" ", "")


def test_enormous_arabic_sentence_keeps_its_letters() -> None:
    sentence = " ".join(["يمكنكم أداء الفاتورة في الوكالة أو عبر التطبيق"] * 40)
    chunks = chunk_section(Section(text=sentence), max_tokens=32, overlap_tokens=0)
    assert len(chunks) > 1
    joined = "".join(c.text for c in chunks)
    assert "\ufffd" not in joined
    assert joined.replace(" ", "") == sentence.replace(" ", "")


def test_split_by_tokens_never_cuts_a_character() -> None:
    sentence = " ".join(["ⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵏⴰⵎⵉⵔⵜ"] * 20)
    chunks = chunk_section(Section(text=sentence), max_tokens=16, overlap_tokens=0)
    assert "\ufffd" not in "".join(c.text for c in chunks)


def test_overlap_never_pushes_a_chunk_over_the_budget() -> None:
    sentences = [
        "Payez en agence.",
        "Payez en ligne.",
        "Payez par virement.",
        "Le reçu arrive par courriel sous quarante-huit heures.",
    ]
    chunks = chunk_section(Section(text=" ".join(sentences)), max_tokens=20, overlap_tokens=12)
    assert all(count_tokens(c.text) <= 20 for c in chunks), [c.text for c in chunks]


def test_sentences_of_splits_on_sentence_ends_paragraphs_and_bullets() -> None:
    text = (
        "Bonjour. Votre facture est prête ! Voulez-vous la payer ? Merci…\n"
        "Suite sur la même phrase\n\nNouveau paragraphe\n- premier point\n* second point\n"
        "هل تريد الأداء؟ شكرا."
    )
    assert sentences_of(text) == [
        "Bonjour.",
        "Votre facture est prête !",
        "Voulez-vous la payer ?",
        "Merci…",
        "Suite sur la même phrase",
        "Nouveau paragraphe",
        "- premier point",
        "* second point\nهل تريد الأداء؟",
        "شكرا.",
    ]


def test_sentences_of_does_not_split_inside_numbers_or_abbreviations_without_space() -> None:
    assert sentences_of("Le tarif est de 9.99 dh/mois (réf.X12).") == [
        "Le tarif est de 9.99 dh/mois (réf.X12)."
    ]
    assert sentences_of("www.rafiq.ma") == ["www.rafiq.ma"]
