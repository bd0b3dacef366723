from __future__ import annotations

import pytest

from knowledge_base.analyzer import analyze_query
from knowledge_base.darija import DarijaLexicon, Gloss, arabizi_skeleton, default_lexicon
from knowledge_base.normalize import normalize_for_search
from knowledge_base.phonetic import skeleton, skeleton_variants


def gloss_of(word: str) -> Gloss | None:
    return default_lexicon().lookup(normalize_for_search(word))


def french_of(word: str) -> tuple[str, ...] | None:
    gloss = gloss_of(word)
    return None if gloss is None else gloss.french


# --- Arabizi skeletons ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        (["nkhelles", "nkhless", "nkhlles", "nkhellas"], "nxls"),
        (["ch7al", "chhal", "cha7al", "shhal"], "šhl"),
        (["mochkil", "mouchkil", "mushkil"], "mškl"),
        (["n9der", "nqder", "nqdar"], "nqdr"),
    ],
)
def test_arabizi_spellings_share_a_skeleton(variants: list[str], expected: str) -> None:
    assert {arabizi_skeleton(v) for v in variants} == {expected}


def test_leading_3_and_w_are_consonants() -> None:
    assert arabizi_skeleton("3lach") == "3lš"
    assert arabizi_skeleton("walo") == "wl"
    # Elsewhere vowels go: "andi" and "3ndi" differ only by that leading consonant.
    assert arabizi_skeleton("andi") == "nd"


# --- lexicon look-ups: Arabizi ---------------------------------------------------------


@pytest.mark.parametrize("word", ["nkhelles", "nkhless", "kankhelles", "khlst", "Nkhelles"])
def test_spelling_variants_of_pay_share_a_gloss(word: str) -> None:
    french = french_of(word)
    assert french is not None
    assert "payer" in french


@pytest.mark.parametrize("word", ["ch7al", "chhal", "cha7al"])
def test_how_much_variants(word: str) -> None:
    french = french_of(word)
    assert french is not None
    assert "combien" in french


@pytest.mark.parametrize("word", ["lfatura", "lfatoura", "fatora"])
def test_article_is_stripped_before_lookup(word: str) -> None:
    assert french_of(word) == ("facture",)


@pytest.mark.parametrize("word", ["maqdertch", "ma9dertch", "ma9derch"])
def test_arabizi_negation_circumfix_still_finds_the_verb(word: str) -> None:
    french = french_of(word)
    assert french is not None
    assert "pouvoir" in french


@pytest.mark.parametrize(
    ("word", "french"),
    [
        ("bghit", "vouloir"),
        ("mochkil", "problème"),
        ("lmochkil", "problème"),
        ("makhdamach", "fonctionne"),
        ("lflous", "argent"),
        ("kifach", "comment"),
        ("3lach", "pourquoi"),
    ],
)
def test_common_arabizi_words(word: str, french: str) -> None:
    gloss = french_of(word)
    assert gloss is not None
    assert french in gloss


def test_gloss_carries_both_french_and_msa() -> None:
    gloss = gloss_of("nkhelles")
    assert gloss is not None
    assert "دفع" in gloss.arabic
    assert "payer" in gloss.french


# --- lexicon look-ups: Arabic script ---------------------------------------------------


@pytest.mark.parametrize(
    ("word", "french"),
    [
        ("كيفاش", "comment"),
        ("الفاتورة", "facture"),
        ("فاتورة", "facture"),
        ("شحال", "combien"),
        ("نخلص", "payer"),
        ("كنخلص", "payer"),
        ("مشكل", "problème"),
        ("بالكارطة", "carte"),  # bi- + article + word
    ],
)
def test_arabic_script_darija_glosses(word: str, french: str) -> None:
    gloss = french_of(word)
    assert gloss is not None
    assert french in gloss


@pytest.mark.parametrize("word", ["ماقدرتش", "ماقدرش", "قدرت"])
def test_arabic_negation_and_inflection_still_find_the_verb(word: str) -> None:
    french = french_of(word)
    assert french is not None
    assert "pouvoir" in french


def test_glosses_are_per_word_with_none_for_unknown() -> None:
    glosses = default_lexicon().glosses("wach n9der nkhelles lfatura zorglub")
    assert len(glosses) == 5
    found = [g.french[0] if g else None for g in glosses]
    assert found[1:4] == ["pouvoir", "payer", "facture"]
    assert found[4] is None


# --- no false friends ------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    [
        "offre",  # regression: a two-consonant skeleton ("fr") used to match "frais"
        "merci",
        "bonjour",
        "payer",
        "comment",
        "rembourser",
        "votre",
        "forfaits",
        "abonnements",
        "contrat",  # used to be read as kn- + "traite" (mensualité)
        "mensualité",  # used to be read as mn- + "salat" (terminer)
        "offres",
        "tarifs",
        "conseiller",
        "dimanche",
        "salut",
        "retrait",
        "technicien",
    ],
)
def test_french_words_are_not_glossed_as_something_else(word: str) -> None:
    # Outside an Arabizi message, a French word may be glossed as itself (the lexicon
    # lists loanwords), never as another word.
    gloss = default_lexicon().lookup(normalize_for_search(word), arabizi=False)
    if gloss is not None:
        assert normalize_for_search(word) in {normalize_for_search(f) for f in gloss.french}


def test_short_skeletons_do_not_match_by_stripping() -> None:
    # Stems of fewer than three consonants are never looked up after stripping affixes.
    lexicon = DarijaLexicon([(["frais"], ("frais",), ("رسوم",))])
    assert lexicon.lookup("frais") is not None
    assert lexicon.lookup("offre") is None
    assert lexicon.lookup("lfrais") is not None


def test_non_ascii_latin_words_are_not_matched_by_skeleton() -> None:
    # "ofré" is not ASCII and has no Arabizi digit: only an exact entry could match it.
    lexicon = DarijaLexicon([(["ofre"], ("offre",), ("عرض",))])
    assert lexicon.lookup("ofre") is not None
    assert lexicon.lookup("ofrë") is None


# --- the lexicon file ------------------------------------------------------------------


def test_default_lexicon_is_loaded_once() -> None:
    assert default_lexicon() is default_lexicon()


def test_from_tsv_reads_forms_and_glosses() -> None:
    text = "# comment\n\nkhless|nkhelles|نخلص\tpayer régler\tدفع\n"
    lexicon = DarijaLexicon.from_tsv(text)
    gloss = lexicon.lookup("kankhelles")
    assert gloss is not None
    assert gloss.french == ("payer", "régler")
    assert gloss.arabic == ("دفع",)
    assert lexicon.lookup("نخلص") == Gloss("نخلص", ("payer", "régler"), ("دفع",))


def test_from_tsv_normalises_forms() -> None:
    lexicon = DarijaLexicon.from_tsv("فاتورة\tfacture\tفاتورة\n")
    assert lexicon.lookup(normalize_for_search("فاتوره")) is not None
    assert lexicon.lookup(normalize_for_search("الفاتورة")) is not None


@pytest.mark.parametrize(
    "line",
    [
        "khless payer دفع",  # spaces instead of tabs
        "khless\tpayer",  # missing MSA gloss
        "khless\tpayer\tدفع\textra",  # one field too many
    ],
)
def test_malformed_lexicon_line_raises(line: str) -> None:
    with pytest.raises(ValueError, match="3 tab-separated fields"):
        DarijaLexicon.from_tsv("ok\td'accord\tحسنا\n" + line + "\n")


def test_shipped_lexicon_is_well_formed() -> None:
    import importlib.resources

    text = (importlib.resources.files("knowledge_base") / "lexicon/darija.tsv").read_text("utf-8")
    DarijaLexicon.from_tsv(text)  # raises on a malformed line
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(rows) > 100
    for row in rows:
        forms, french, arabic = row.split("\t")
        assert forms.strip() and french.strip() and arabic.strip(), row


# --- phonetic skeletons across scripts -------------------------------------------------


def variants(word: str) -> list[str]:
    return skeleton_variants(normalize_for_search(word))


def test_french_loanword_in_arabic_script_matches_french() -> None:
    assert set(variants("ريكلاماسيون")) & set(variants("réclamation"))


def test_arabic_article_is_stripped_in_a_variant() -> None:
    kontra = variants("الكونطرا")
    assert len(kontra) == 2
    assert kontra[0].startswith("l")
    assert not kontra[1].startswith("l")
    # The retriever also indexes KB words by their skeleton minus its last consonant, so
    # "الكونطرا" (no final t) finds "contrat" through the article-stripped variant.
    assert kontra[1] == skeleton("contrat")[:-1]
    assert skeleton("contrat")[:-1] not in {skeleton("contrat"), kontra[0]}


def test_arabizi_and_arabic_script_darija_share_a_skeleton() -> None:
    assert skeleton("mochkil") == skeleton("مشكل")
    assert skeleton("mouchkil") == skeleton("مشكل")


def test_glued_latin_article_is_stripped_in_a_variant() -> None:
    assert skeleton(normalize_for_search("prélèvement")) in variants("lprelevement")
    assert variants("prelevement") == [skeleton("prelevement")]


def test_french_spelling_rules() -> None:
    assert skeleton("facture") == skeleton("faktura")  # hard c
    assert skeleton("service") == skeleton("sirfis")  # soft c, v ~ f
    assert skeleton("quittance") == skeleton("kitans")


def test_short_words_give_no_variant() -> None:
    assert variants("ok") == []
    assert variants("لا") == []


def test_a_french_query_gets_no_darija_false_friends() -> None:
    analysis = analyze_query("Je veux parler à un conseiller au sujet de vos tarifs")
    assert "salaire" not in (analysis.french_gloss or "")
    assert "refus" not in (analysis.french_gloss or "")


def test_the_same_words_in_an_arabizi_message_are_read_as_darija() -> None:
    analysis = analyze_query("wach n9der nkhelles lfatura daba")
    assert analysis.french_gloss is not None
    assert {"payer", "facture"} <= set(analysis.french_gloss.split())
