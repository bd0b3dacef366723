"""Text normalisation for matching, never for display.

Stored chunk text stays exactly as written; these functions produce the form that
search compares: Arabic presentation forms folded (NFKC), tatweel and diacritics
removed, letter variants unified (alef, ya, ta marbuta), Arabic-Indic digits made ASCII,
Latin text case-folded with accents removed.
"""

from __future__ import annotations

import re
import unicodedata

_TATWEEL = "\u0640"
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_ARABIC_LETTER_MAP = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        "گ": "ك",
        "ڭ": "ك",
        "ک": "ك",
        "ی": "ي",
        "ڤ": "ف",
        "پ": "ب",
        "،": ",",
        "؛": ";",
        "؟": "?",
        "٪": "%",
    }
)
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC_CHAR = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_CHAR = re.compile("[A-Za-zÀ-ÿ]")
_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_arabic(text: str) -> str:
    """Fold the spelling variants of Arabic script that carry no meaning for search."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace(_TATWEEL, "")
    text = _ARABIC_MARKS.sub("", text)
    return text.translate(_ARABIC_LETTER_MAP).translate(_DIGITS)


def fold_latin(text: str) -> str:
    """Case-fold and strip accents from Latin letters, leaving other scripts untouched."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    kept = [
        ch for ch in decomposed if not (unicodedata.combining(ch) and "\u0300" <= ch <= "\u036f")
    ]
    return unicodedata.normalize("NFC", "".join(kept)).replace("œ", "oe").replace("æ", "ae")


def normalize_for_search(text: str) -> str:
    return fold_latin(normalize_arabic(text)).replace("’", "'").replace("`", "'")


def words(text: str) -> list[str]:
    """Word tokens of already-normalised text (letters and digits, no punctuation)."""
    return [w for w in _WORD.findall(text) if w != "_"]


def arabic_ratio(text: str) -> float:
    """Share of letters in Arabic script, among Arabic and Latin letters."""
    arabic = len(_ARABIC_CHAR.findall(text))
    latin = len(_LATIN_CHAR.findall(text))
    total = arabic + latin
    return arabic / total if total else 0.0
