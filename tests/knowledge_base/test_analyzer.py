from __future__ import annotations

import pytest

from knowledge_base.analyzer import STOPWORDS, QueryAnalysis, analyze_query, stem, terms
from knowledge_base.darija import DarijaLexicon

# --- terms(): stopwords ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Comment est-ce que je peux payer ma facture ?", ["pay", "factur"]),
        ("How can I pay my bill?", ["pay", "bill"]),
        ("ما هي الفاتورة؟", ["فاتور"]),
        ("كيف يمكنني دفع الفاتورة؟", ["يمكنن", "دفع", "فاتور"]),
        ("واش كاين شي مشكل ديال الانترنيت", ["كاين", "مشكل", "انترنيت"]),
        ("wach chi mochkil dyal internet", ["mochkil", "internet"]),
    ],
)
def test_terms_drop_stopwords(text: str, expected: list[str]) -> None:
    assert terms(text) == expected


def test_stopword_lists_cover_every_language() -> None:
    for word in ["les", "vous", "the", "your", "هذا", "الذي", "ديال", "واش", "dyal", "wach"]:
        assert word in STOPWORDS
        assert terms(word) == []


def test_one_letter_words_and_punctuation_give_no_terms() -> None:
    assert terms("x y z ! ? ...") == []
    assert terms("") == []


# --- terms(): elision and normalisation ------------------------------------------------


@pytest.mark.parametrize("text", ["l'abonnement", "d'abonnement", "L’abonnement", "ABONNEMENT"])
def test_french_elision_and_case(text: str) -> None:
    assert terms(text) == ["abonnement"]


def test_accents_do_not_matter() -> None:
    assert terms("Délai de réclamation") == terms("delai de reclamation")


# --- terms(): stemming -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("factures", "facture"),
        ("remboursements", "remboursement"),
        ("Problèmes", "problème"),
        ("les frais", "le frai"),
        ("cartes", "carte"),
    ],
)
def test_french_plurals_share_the_singular_term(plural: str, singular: str) -> None:
    assert terms(plural) == terms(singular)
    assert terms(plural) != []


def test_verb_endings_are_trimmed() -> None:
    assert terms("payer") == terms("payé") == ["pay"]


@pytest.mark.parametrize(
    ("variant", "base"),
    [
        ("الفاتورة", "فاتورة"),
        ("والفاتورة", "فاتورة"),
        ("بالبطاقة", "بطاقة"),
        ("للاشتراك", "اشتراك"),
        ("الاشتراكات", "اشتراك"),
        ("فاتورتها", "فاتورة"),
    ],
)
def test_arabic_article_clitics_and_suffixes_are_stripped(variant: str, base: str) -> None:
    assert terms(variant) == terms(base)


def test_short_arabic_words_keep_their_letters() -> None:
    # Stripping never leaves fewer than three letters.
    assert stem("الحد") == "الحد"
    assert stem("بنك") == "بنك"


def test_short_latin_words_are_not_stemmed() -> None:
    assert stem("box") == "box"
    assert stem("ces") == "ces"


# --- analyze_query() -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Quel est le délai de remboursement ?",
        "Je n'arrive pas à payer",
        "Who won the match yesterday?",
        "متى يتم استرداد المبلغ؟",
    ],
)
def test_query_without_lexicon_words_has_no_gloss(query: str) -> None:
    assert analyze_query(query) == QueryAnalysis(terms(query), None, None)


def test_arabizi_query_gets_french_and_arabic_glosses() -> None:
    analysis = analyze_query("wach n9der nkhelles lfatura b lcarte?")
    assert analysis.french_gloss is not None
    assert analysis.arabic_gloss is not None
    for french in ["pouvoir", "payer", "facture", "carte"]:
        assert french in analysis.french_gloss.split()
    for arabic in ["دفع", "فاتورة", "بطاقة"]:
        assert arabic in analysis.arabic_gloss.split()
    # No Latin word of the query survives in the Arabic gloss: every one was glossed.
    assert not any(ch.isascii() and ch.isalpha() for ch in analysis.arabic_gloss)


def test_arabizi_query_terms_are_its_own_then_its_glosses() -> None:
    query = "wach n9der nkhelles lfatura b lcarte?"
    analysis = analyze_query(query)
    own = terms(query)
    assert analysis.terms[: len(own)] == own
    extra = analysis.terms[len(own) :]
    assert "factur" in extra  # French document term
    assert "فاتور" in extra  # MSA document term
    assert "pay" in extra
    assert not set(extra) & set(own)


def test_arabic_script_darija_query_is_glossed() -> None:
    analysis = analyze_query("كيفاش نخلص الفاتورة؟")
    assert analysis.french_gloss is not None
    assert analysis.arabic_gloss is not None
    assert "comment" in analysis.french_gloss.split()
    assert "payer" in analysis.french_gloss.split()
    assert "facture" in analysis.french_gloss.split()
    assert "دفع" in analysis.arabic_gloss.split()
    assert "factur" in analysis.terms


def test_unknown_words_are_kept_in_both_glosses_and_stopwords_dropped() -> None:
    lexicon = DarijaLexicon.from_tsv("nkhelles\tpayer\tدفع\n")
    analysis = analyze_query("wach nkhelles zorglub", lexicon)
    assert analysis.french_gloss == "payer zorglub"
    assert analysis.arabic_gloss == "دفع zorglub"
    assert analysis.terms == ["nkhell", "zorglub", "pay", "دفع"]


def test_the_given_lexicon_replaces_the_default() -> None:
    lexicon = DarijaLexicon.from_tsv("zorglub\tfacture\tفاتورة\n")
    assert analyze_query("nkhelles", lexicon).french_gloss is None
    assert analyze_query("zorglub", lexicon).french_gloss == "facture"


def test_query_terms_are_not_repeated_by_their_gloss() -> None:
    analysis = analyze_query("wach chi mochkil f internet")
    assert analysis.terms.count("internet") == 1
    assert "problem" in analysis.terms
    assert "مشكل" in analysis.terms


def test_english_query_is_glossed_into_french_for_french_documents() -> None:
    analysis = analyze_query("How long does a refund take?")
    assert analysis.french_gloss is not None
    assert "remboursement" in analysis.french_gloss.split()
    assert "rembours" in analysis.terms
