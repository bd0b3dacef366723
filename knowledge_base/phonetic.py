"""A script-independent consonant skeleton, to match words across spellings.

Moroccan customers write French loanwords in Arabic script (ريكلاماسيون for
"réclamation", الكونطرا for "contrat") and Darija in Latin letters ("mochkil" for مشكل).
Mapping Arabic letters and Latin spellings to one consonant alphabet, without vowels or
doubled letters, lets an unknown query word find the knowledge base's own word.
"""

from __future__ import annotations

import re

from knowledge_base.darija import arabizi_skeleton

_ARABIC_TO_LATIN = str.maketrans(
    {
        "ب": "b",
        "پ": "b",
        "ت": "t",
        "ث": "t",
        "ج": "j",
        "ح": "h",
        "خ": "x",
        "د": "d",
        "ذ": "d",
        "ر": "r",
        "ز": "z",
        "س": "s",
        "ش": "š",
        "ص": "s",
        "ض": "d",
        "ط": "t",
        "ظ": "d",
        "ع": "3",
        "غ": "ġ",
        "ف": "f",
        "ڤ": "f",
        "ق": "k",
        "ك": "k",
        "ڭ": "g",
        "گ": "g",
        "ل": "l",
        "م": "m",
        "ن": "n",
        "ه": "",
        "ة": "",
        "و": "",
        "ي": "",
        "ى": "",
        "ا": "",
        "أ": "",
        "إ": "",
        "آ": "",
        "ء": "",
        "ئ": "",
        "ؤ": "",
    }
)
_ARABIC = re.compile("[\u0600-\u06ff]")
_FRENCH_SOUNDS = (("tion", "sion"), ("qu", "k"), ("ph", "f"), ("v", "f"), ("p", "b"), ("q", "k"))
_SOFT_C_G = re.compile(r"c(?=[eiy])|g(?=[eiy])")
_DOUBLED = re.compile(r"(.)\1+")
_ARABIC_ARTICLE = ("ال", "لا", "ل")


def skeleton(word: str) -> str:
    """Consonant skeleton of a normalised word in either script."""
    if _ARABIC.search(word):
        return _DOUBLED.sub(r"\1", word.translate(_ARABIC_TO_LATIN))
    latin = _SOFT_C_G.sub(lambda m: "s" if m.group() == "c" else "j", word)
    for spelled, sound in _FRENCH_SOUNDS:
        latin = latin.replace(spelled, sound)
    return arabizi_skeleton(latin).replace("q", "k")


def skeleton_variants(word: str) -> list[str]:
    """The word's skeleton, and the skeleton without a leading article where there is one."""
    variants = [skeleton(word)]
    if _ARABIC.search(word):
        for article in _ARABIC_ARTICLE:
            if word.startswith(article) and len(word) - len(article) >= 3:
                variants.append(skeleton(word[len(article) :]))
                break
    elif word[:1] == "l" and len(word) >= 5:
        variants.append(skeleton(word[1:]))
    return [v for v in variants if len(v) >= 3]
