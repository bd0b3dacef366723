from __future__ import annotations

import pytest

from knowledge_base.language import (
    LANGUAGES,
    Language,
    default_markers,
    detect_language,
    parse_markers,
)

EXAMPLES: dict[Language, list[str]] = {
    "fr": [
        "Bonjour, je n'ai pas reçu ma facture du mois de mars.",
        "Comment puis-je résilier mon abonnement internet ?",
        "Quel est le délai de remboursement après une réclamation ?",
        "Ma carte bancaire a été bloquée, que dois-je faire ?",
        "Je voudrais changer mon forfait mobile, svp.",
        "Mon internet ne marche pas depuis hier",
    ],
    "ar": [
        "كيف يمكنني دفع الفاتورة عبر الإنترنت؟",
        "لم أتلق فاتورة هذا الشهر",
        "أريد إلغاء اشتراكي في خدمة الإنترنت",
        "ما هي مدة استرداد المبلغ بعد تقديم الشكوى؟",
        "تم حظر بطاقتي البنكية، ماذا أفعل؟",
    ],
    "darija": [
        "واش نقدر نخلص الفاتورة بالكارطة؟",
        "شحال خاصني نخلص هاد الشهر؟",
        "الانترنيت ماخدامش عندي من البارح",
        "بغيت نبدل الفورفي ديالي",
        "علاش تقطعو ليا الفلوس من الكونط؟",
        "شنو هي الوراق اللي خاصني؟",
    ],
    "arabizi": [
        "wach n9der nkhelles lfatura b lcarte?",
        "ch7al khassni nkhelles had chhar?",
        "internet makhdamach 3ndi mn lbare7",
        "bghit nbeddel forfait dyali",
        "3lach t9te3 lia lflous mn compte?",
        "salam khoya, kifach nbeddel lcode?",
    ],
    "en": [
        "How can I pay my bill online?",
        "I did not receive my invoice this month.",
        "I want to cancel my internet subscription.",
        "My card has been blocked, what should I do?",
        "Hello, can you help me please?",
    ],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, language) for language, texts in EXAMPLES.items() for text in texts],
)
def test_clear_examples(text: str, expected: Language) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("لا يمكنني الدفع حتى الآن", "ar"),
        ("لم تصل الفاتورة حتى اليوم", "ar"),
        ("a quelle heure ouvre l'agence", "fr"),
    ],
)
def test_realistic_examples_currently_misclassified(text: str, expected: Language) -> None:
    assert detect_language(text) == expected


def test_arabic_script_needs_a_darija_marker_to_be_darija() -> None:
    assert detect_language("أريد دفع الفاتورة") == "ar"
    assert detect_language("بغيت ندفع الفاتورة") == "darija"


def test_arabic_presentation_forms_are_still_arabic() -> None:
    assert detect_language("ﻛﻴﻒ ﻳﻤﻜﻨﻨﻲ ﺩﻓﻊ ﺍﻟﻔﺎﺗﻮﺭﺓ") == "ar"


def test_mostly_arabic_text_with_a_latin_brand_is_arabic() -> None:
    assert detect_language("كيف أشحن رصيد Orange عبر التطبيق؟") == "ar"


def test_mostly_latin_text_with_an_arabic_word_is_not_arabic() -> None:
    assert detect_language("Bonjour, je voudrais payer ma facture (الفاتورة) svp") == "fr"


def test_arabizi_digits_inside_words_are_a_signal() -> None:
    assert detect_language("m3a l9raya dial 7ta had lwe9t") == "arabizi"


@pytest.mark.parametrize("text", ["", "   ", "?!", "...", "12345", "😀👍"])
def test_no_words_gives_the_fallback(text: str) -> None:
    assert detect_language(text) == "fr"
    assert detect_language(text, fallback="en") == "en"
    assert detect_language(text, fallback="darija") == "darija"


@pytest.mark.parametrize("text", ["Netflix", "OK", "xyz", "Samsung Galaxy"])
def test_no_evidence_gives_the_fallback(text: str) -> None:
    assert detect_language(text, fallback="en") == "en"
    assert detect_language(text, fallback="arabizi") == "arabizi"


def test_every_answer_is_one_of_the_five_languages() -> None:
    for texts in EXAMPLES.values():
        for text in texts:
            assert detect_language(text) in LANGUAGES


@pytest.mark.parametrize(
    "text",
    [
        "wach je peux payer la facture b lcarte?",
        "salam, 3endi probleme m3a la box, makatkhdamch",
        "bghit nchouf solde dyal compte dyali",
        "kanbghi n3ref ch7al dyal les frais",
        "ma bghitch had l'offre",
        "safi merci",
    ],
)
def test_darija_in_latin_letters_keeps_its_french_words(text: str) -> None:
    assert detect_language(text) == "arabizi"


@pytest.mark.parametrize(
    "text",
    [
        "عافاك بغيت نعرف الرصيد ديالي",
        "كنخلص كل شهر و ديما كيزيدو ليا",  # ك + imperfective, standalone و
        "غانمشي للوكالة غدا",  # future غا
        "ماعرفتش كيفاش نفعل الخدمة",  # negation ما…ش in one word
        "الكود ما وصلنيش",  # negation ما … ش in two words
        "الكونيكسيون طايحة من الصباح",
        "السيستيم طايح فلاجونس",
        "ركبت ليا الپوس جديدة",  # the Moroccan letter پ of a French loanword
    ],
)
def test_darija_in_arabic_script(text: str) -> None:
    assert detect_language(text) == "darija"


@pytest.mark.parametrize(
    "text",
    [
        "المحكمة العليا أصدرت حكما",  # العليا is not Darija عليا
        "الشركة الكائن مقرها بالدار البيضاء",  # الكائن folds onto Darija كاين
        "كتبت لكم رسالة ولم تجيبوا",  # كتبت is not ك + imperfective
        "كتعويض عن الانقطاع، ماذا تقترحون؟",
        "ما هو صافي الدخل المطلوب؟",  # صافي (net) is also Darija "enough"
        "هل الويفي مجاني في الوكالة؟",
    ],
)
def test_msa_words_that_look_like_darija(text: str) -> None:
    assert detect_language(text) == "ar"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("j ai un probleme avec l agence de casa", "fr"),  # elisions typed without apostrophe
        ("Bonjour, mon contrat FTTH ne marche plus", "fr"),  # a capitalised acronym
        ("ma box clignote rouge", "fr"),  # "ma" + a word ending in x is not a negation
        ("Est-ce que la 5G est disponible à Tanger ?", "fr"),
        ("le tchat ne marche pas, rdv à 9h30", "fr"),
        ("mdr vous etes serieux la ?", "fr"),
        ("I had a problem with my bill last week", "en"),  # "had" is also Arabizi "this"
        ("my 4G is slow since yesterday, 2nd time this month", "en"),
        ("hmm ok, what about the 3DS code for online payment?", "en"),
        ("I can't pay, it's too late", "en"),
        ("can u help me pls", "en"),
    ],
)
def test_numbers_acronyms_and_shorthand_are_not_arabizi(text: str, expected: Language) -> None:
    assert detect_language(text) == expected


def test_marker_lists_parse_and_reject_unknown_groups() -> None:
    markers = parse_markers("darija\t2\tواش ديال\n# comment\n\nfr\t1\tÉté\n")
    assert markers["darija"] == {"واش": 2.0, "ديال": 2.0}
    assert markers["fr"] == {"ete": 1.0}
    with pytest.raises(ValueError, match="line 1"):
        parse_markers("klingon\t1\tqapla\n")


def test_the_shipped_marker_lists_cover_every_group() -> None:
    markers = default_markers()
    for group in ("darija", "darija-noun", "ar", "arabizi", "fr", "en", "neutral"):
        assert markers[group], group
