"""Which of Rafiq's five languages a text is written in.

Script decides Arabic versus Latin. Each word then adds evidence for a language, from a
weighted word list (``lexicon/language_markers.tsv``) and from the morphology that gives a
language away when the word itself is not listed:

- Arabic script: Darija against Modern Standard Arabic. Darija function words and
  vocabulary (ديال، واش، دابا، بغيت), the present-tense prefix ك + ن/ت/ي (كنخلص، كيدير),
  the future and progressive prefixes غا/تا, the negation ما…ش (ماخدامش، ما وصلنيش),
  the standalone prepositions ف and د, and the Moroccan letters گ ڭ پ ڤ of loanwords. MSA
  is the answer unless Darija evidence is found and outweighs the MSA-only words (هل، لماذا،
  الذي، أريد، يمكنني).
- Latin script: Arabizi against French and English. Arabizi is Darija in Latin letters:
  its function words and verbs (wach, dyal, bghit, khassni), the digits 3/7/9/2/5/8 used as
  letters inside words (3ndi, n9der, lbare7), the negation ma…ch (makhdamch, ma fhmtch),
  the verb prefixes kan-/kay-/kat-/ghan-, and consonant clusters that no French or English
  word starts with (bghit, nkhelles, lflous). French has its function words, elisions
  (l', j', qu') and accents; English its function words and contractions ('m, 't, 's).

Customers code-switch: a Darija sentence keeps its French words ("bghit nbeddel forfait
dyali"), so French content words are not French evidence, only French function words are.
Documents are mostly fr/ar/en; customer messages use all five.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from knowledge_base.normalize import arabic_ratio, normalize_for_search, words

Language = Literal["fr", "ar", "darija", "arabizi", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "ar", "darija", "arabizi", "en")

MarkerGroup = Literal["darija", "darija-noun", "ar", "arabizi", "fr", "en", "neutral"]
_GROUPS: tuple[MarkerGroup, ...] = (
    "darija",
    "darija-noun",
    "ar",
    "arabizi",
    "fr",
    "en",
    "neutral",
)
Markers = Mapping[MarkerGroup, Mapping[str, float]]

# --- Arabic script ---------------------------------------------------------------------------
# Moroccan letters for sounds MSA lacks (g, p, v); normalisation folds them: read the raw text.
_MOROCCAN_LETTERS = re.compile("[گڭپڤ]")
# Present tense ك + person prefix (كنخلص، كتعطي، كيدير); progressive تا (تانخلص);
# future غا (غانخلص). The stem after the prefix has at least three letters.
_ARABIC_VERB_PREFIX = re.compile("^(?:ك[نتي]|تا[نتي]|غا[نتي])...")
# Negation ما…ش written as one word (ماكاينش، ماخدامش, ماعرفتش).
_ARABIC_NEGATION = re.compile("^ما..+ش$")
# Clitics peeled off before a word-list lookup: a conjunction or preposition before any Darija
# word (وهاد → هاد، بشحال → شحال), the article only before a noun (الكريدي، بالكارطة).
_ARTICLES = ("وال", "بال", "فال", "كال", "ال", "لل")
_PARTICLES = ("و", "ب", "ف")
# "ما هو / ما هي" is the MSA "what is"; Darija asks "شنو هو / اشنو هي".
_MSA_WHAT_IS = frozenset({"هو", "هي", "هم"})

# --- Latin script ------------------------------------------------------------------------------
_FRENCH_ELISION = re.compile(r"\b(?:qu|[ldjnmcts])'(?=[a-z])")
_ENGLISH_CONTRACTION = re.compile(r"(?<=[a-z])(?:n't|'(?:m|s|re|ve|ll|d))\b")
_FRENCH_ACCENT = re.compile("[éèêëàâîïôûùç]")
_VOWELS = frozenset("aeiouy")
# Arabizi writes with digits the Arabic sounds Latin lacks: 3 ع, 7 ح, 9 ق, 2 ء, 5 خ, 8 غ.
# A digit as a letter: inside a word (m3a, n9der), opening it (3ndi, 7ta) or closing a word of
# three letters or more (lbare7, sba7).
_ARABIZI_DIGIT_WORD = re.compile("[a-z][235789][a-z]|^[235789][a-z]{2}|[a-z]{3}[235789]$")
# A number with a unit or an ordinal (3ans, 25dh, 5go, 2eme, 7jours) is not Arabizi.
_NUMBER_WITH_UNIT = re.compile(
    r"^\d+(?:h|mn|min|mins|j|jrs?|jours?|dh|dhs|mad|g|go|gb|mo|mb|mbps|k|e|er|ere|eme|ieme|st|nd"
    r"|rd|th|x|am|pm|ans?|mois|fois|km|kg|cm|m|s|ms|mega|giga|p|hz|ghz|dirhams?|days?|hours?"
    r"|hrs|months?|years?|weeks?|semaines?|fa)$"
)
# Negation ma…ch in one word (makaynch, ma3ndich, mabghitch, makaynx) or after a separate "ma"
# (ma fhmtch). After a separate "ma" the x spelling is left out: French writes "ma box".
_LATIN_NEGATION_END = ("ch", "sh")
_MIN_NEGATION_WORD = 5
_MIN_X_NEGATION_WORD = 7
# Present and future prefixes on a verb (kanbghi, kaykhdem, katdir, ghanmchi, ghadi).
_ARABIZI_VERB_PREFIX = re.compile(r"^(?:kan|kay|kat|ghan|ghat|ghay)[bcdfghjklmnpqrstvwxz235789]")
# Two-consonant word starts that French and English allow (the rest read as Arabizi).
_LATIN_ONSETS = frozenset(
    """bl br ch cl cr dr dw fl fr gl gn gr kl kn kr ph pl pn pr ps pt qu rh sc sh sk sl sm sn sp
    st sv sw th tr tw vr wh wr dj ts gh kh sch chr phr scr shr spl spr str thr squ tch""".split()
)
_MIN_CLUSTER_WORD = 3
_TIE_ORDER: tuple[Language, ...] = ("en", "fr", "arabizi")

# A word that these features flag as Darija/Arabizi counts this much.
_NEGATION_WEIGHT = 2.0
_DIGIT_WEIGHT = 2.0
_VERB_PREFIX_WEIGHT = 1.0
_CLUSTER_WEIGHT = 1.0
_STANDALONE_WEIGHT = 1.0
_MOROCCAN_LETTER_WEIGHT = 1.0
_ELISION_WEIGHT = 0.5
_ACCENT_WEIGHT = 0.5
_CONTRACTION_WEIGHT = 1.0


def parse_markers(text: str) -> dict[MarkerGroup, dict[str, float]]:
    """Rows of ``group<TAB>weight<TAB>words``; a word keeps its highest weight in a group."""
    markers: dict[MarkerGroup, dict[str, float]] = {group: {} for group in _GROUPS}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in markers:
            raise ValueError(f"language markers, line {number}: expected group, weight, words")
        group = markers[parts[0]]
        weight = float(parts[1])
        for word in words(normalize_for_search(parts[2])):
            group[word] = max(weight, group.get(word, weight))
    return markers


@lru_cache(maxsize=1)
def default_markers() -> Markers:
    data = importlib.resources.files("knowledge_base") / "lexicon" / "language_markers.tsv"
    return parse_markers(data.read_text(encoding="utf-8"))


def _darija_word_weight(word: str, markers: Markers) -> float:
    darija, nouns = markers["darija"], markers["darija-noun"]
    for table in (darija, nouns):
        if word in table:
            return table[word]
    for article in _ARTICLES:
        if word.startswith(article) and word[len(article) :] in nouns:
            return nouns[word[len(article) :]]
    for particle in _PARTICLES:
        rest = word[len(particle) :]
        if word.startswith(particle) and len(rest) >= 2:
            for table in (darija, nouns):
                if rest in table:
                    return table[rest]
    return 0.0


def arabic_scores(text: str, markers: Markers | None = None) -> tuple[float, float]:
    """(Darija, MSA) evidence of an Arabic-script text."""
    markers = markers or default_markers()
    msa_words = markers["ar"]
    darija = _MOROCCAN_LETTER_WEIGHT * len(_MOROCCAN_LETTERS.findall(text))
    msa = 0.0
    previous = ""
    for word in words(normalize_for_search(text)):
        listed = _darija_word_weight(word, markers)
        if word in msa_words:
            msa += msa_words[word]
        elif previous == "ما" and word in _MSA_WHAT_IS:
            msa += 1.0
        elif listed:
            darija += listed
        elif _ARABIC_NEGATION.match(word) or (previous == "ما" and word.endswith("ش")):
            darija += _NEGATION_WEIGHT
        elif _ARABIC_VERB_PREFIX.match(word):
            darija += _VERB_PREFIX_WEIGHT
        elif word in ("ف", "د"):
            darija += _STANDALONE_WEIGHT
        previous = word
    return darija, msa


def _is_arabizi_digit_word(word: str) -> bool:
    """Digits used as letters: 3ndi, n9der, lbare7, m3a; not 25dh, 5go, mp3, a52."""
    return bool(_ARABIZI_DIGIT_WORD.search(word)) and not _NUMBER_WITH_UNIT.match(word)


def _has_foreign_onset(word: str) -> bool:
    """Starts with two consonants that no French or English word starts with (bgh, nkh, lfl)."""
    if len(word) < _MIN_CLUSTER_WORD or not word.isalpha() or not word.isascii():
        return False
    if not any(c in _VOWELS for c in word):
        return True  # vowel-less spellings: slm, bzf, fhmt, nswl
    first, second = word[0], word[1]
    if first in _VOWELS or second in _VOWELS:
        return False
    return word[:2] not in _LATIN_ONSETS and word[:3] not in _LATIN_ONSETS


def latin_scores(text: str, markers: Markers | None = None) -> dict[Language, float]:
    """Arabizi, French and English evidence of a Latin-script text."""
    markers = markers or default_markers()
    normalized = normalize_for_search(text)
    scores: dict[Language, float] = {"arabizi": 0.0, "fr": 0.0, "en": 0.0}
    scores["fr"] += _ELISION_WEIGHT * len(_FRENCH_ELISION.findall(normalized))
    scores["fr"] += _ACCENT_WEIGHT * sum(
        1 for w in text.casefold().split() if _FRENCH_ACCENT.search(w)
    )
    scores["en"] += _CONTRACTION_WEIGHT * len(_ENGLISH_CONTRACTION.findall(normalized))
    # Drop elided articles and contraction endings so that what is left of "l'" and "'s"
    # is not read as the Arabizi article "l" or the English word "s".
    normalized = _ENGLISH_CONTRACTION.sub(lambda m: "nt" if m.group(0) == "n't" else "", normalized)
    normalized = _FRENCH_ELISION.sub(" ", normalized)
    arabizi, french, english = markers["arabizi"], markers["fr"], markers["en"]
    neutral = markers["neutral"]
    # Acronyms (TEG, FTTH, CNSS, 3DS) are written in capitals; Arabizi words are not.
    acronyms = {w.casefold() for w in words(text) if w.isupper() and len(w) > 1}
    previous = ""
    for word in words(normalized):
        listed = False
        for language, table in (("arabizi", arabizi), ("fr", french), ("en", english)):
            if word in table:
                scores[language] += table[word]  # type: ignore[index]
                listed = True
        if not listed and word not in neutral and word not in acronyms:
            scores["arabizi"] += _arabizi_form_weight(word, previous)
        previous = word
    return scores


def _arabizi_form_weight(word: str, previous: str) -> float:
    if word.startswith("ma") and (
        (word.endswith(_LATIN_NEGATION_END) and len(word) >= _MIN_NEGATION_WORD)
        or (word.endswith("x") and len(word) >= _MIN_X_NEGATION_WORD)
    ):
        return _NEGATION_WEIGHT
    if previous == "ma" and word.endswith(_LATIN_NEGATION_END):
        return _NEGATION_WEIGHT
    if _is_arabizi_digit_word(word):
        return _DIGIT_WEIGHT
    if _ARABIZI_VERB_PREFIX.match(word) and len(word) >= 6:
        return _VERB_PREFIX_WEIGHT
    if _has_foreign_onset(word):
        return _CLUSTER_WEIGHT
    return 0.0


def detect_language(text: str, fallback: Language = "fr") -> Language:
    if not words(normalize_for_search(text)):
        return fallback
    if arabic_ratio(text) >= 0.5:
        darija, msa = arabic_scores(text)
        return "darija" if darija >= 1 and darija > msa else "ar"
    scores = latin_scores(text)
    # Ties go to Arabizi, then French: a Darija word in a short message is the stronger sign.
    best = max(scores, key=lambda language: (scores[language], _TIE_ORDER.index(language)))
    return best if scores[best] > 0 else fallback
