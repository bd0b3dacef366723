"""Moroccan Darija glosses for retrieval, in Arabic script and in Arabizi.

Darija shares few surface words with the French and Modern Standard Arabic of client
documents ("nkhelles lfatura" is "payer la facture", "دفع الفاتورة"). A curated lexicon
(``lexicon/darija.tsv``) maps Darija words to French and MSA glosses. Arabizi has no fixed
spelling, so Latin forms are compared by consonant skeleton: vowels and doubled letters
dropped, digraphs and the digits 3/7/9/5 folded; clitics (articles, verb prefixes,
pronoun suffixes) are peeled off when the bare word is not found.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass
from functools import lru_cache

from knowledge_base.normalize import normalize_for_search, words

_DIGRAPHS = (("ch", "š"), ("sh", "š"), ("kh", "x"), ("gh", "ġ"), ("dj", "j"), ("ou", "u"))
_LETTER_FOLD = str.maketrans(
    {"7": "h", "9": "q", "5": "x", "8": "ġ", "2": "", "c": "k", "é": "", "è": ""}
)
_VOWELS = re.compile("[aeiouy]")
_DOUBLED = re.compile(r"(.)\1+")

# Tried in order; each side may be empty. Skeleton forms (no vowels).
_LATIN_PREFIXES = (
    "",
    "l",
    "w",
    "f",
    "b",
    "k",
    "kn",
    "kt",
    "ky",
    "ġ",
    "ġn",
    "n",
    "t",
    "y",
    "m",
    "mn",
)
# "š" closes the Darija negation ma...ch; it may follow a person or pronoun suffix.
_LATIN_SUFFIXES = (
    "",
    "t",
    "l",
    "n",
    "h",
    "hm",
    "km",
    "k",
    "tk",
    "th",
    "w",
    "š",
    "tš",
    "nš",
    "hš",
    "lš",
    "wš",
)
_ARABIC_PREFIXES = (
    "",
    "ال",
    "وال",
    "بال",
    "فال",
    "لل",
    "و",
    "ف",
    "ب",
    "ل",
    "كن",
    "كت",
    "كي",
    "كا",
    "تا",
    "غا",
    "غن",
    "غت",
    "ن",
    "ت",
    "ي",
    "م",
    "ما",
    "مان",
    "مات",
    "ماي",
)
_ARABIC_SUFFIXES = (
    "",
    "ي",
    "ك",
    "ه",
    "ها",
    "هم",
    "كم",
    "نا",
    "ني",
    "ليا",
    "لي",
    "ت",
    "تي",
    "و",
    "ين",
    "ات",
    "ش",
    "تش",
    "تيش",
    "نيش",
    "هاش",
    "وش",
    "كش",
    "ليش",
)
_ARABIC_LETTERS = re.compile("[\u0600-\u06ff]")
_MIN_STEM = 3


@dataclass(frozen=True)
class Gloss:
    word: str
    french: tuple[str, ...]
    arabic: tuple[str, ...]


def arabizi_skeleton(word: str) -> str:
    """The consonant skeleton that Arabizi spelling variants of one word share."""
    s = word.casefold()
    for digraph, letter in _DIGRAPHS:
        s = s.replace(digraph, letter)
    s = s.translate(_LETTER_FOLD)
    head, tail = s[:1], s[1:]
    # A leading vowel-less "3" or "w" is a consonant; inner vowels carry little.
    s = head + _VOWELS.sub("", tail) if head in "3w" else _VOWELS.sub("", s)
    return _DOUBLED.sub(r"\1", s)


class DarijaLexicon:
    def __init__(
        self,
        rows: list[tuple[list[str], tuple[str, ...], tuple[str, ...]]],
        exact_rows: list[tuple[list[str], tuple[str, ...], tuple[str, ...]]] | None = None,
    ) -> None:
        """``rows`` are Darija (matched by skeleton too); ``exact_rows`` only as written."""
        self._exact: dict[str, Gloss] = {}
        self._skeletons: dict[str, Gloss] = {}
        self._arabic: dict[str, Gloss] = {}
        for forms, french, arabic in rows:
            for form in forms:
                key = normalize_for_search(form)
                gloss = Gloss(key, french, arabic)
                self._exact.setdefault(key, gloss)
                if _ARABIC_LETTERS.search(key):
                    self._arabic.setdefault(key, gloss)
                elif " " not in key:
                    self._skeletons.setdefault(arabizi_skeleton(key), gloss)
        # Darija wins a shared spelling: Arabizi "fine" is "where", not a penalty.
        for forms, french, arabic in exact_rows or []:
            for form in forms:
                key = normalize_for_search(form)
                self._exact.setdefault(key, Gloss(key, french, arabic))

    @classmethod
    def from_tsv(cls, text: str, exact_text: str = "") -> DarijaLexicon:
        return cls(parse_lexicon(text), parse_lexicon(exact_text))

    def lookup(self, word: str, *, arabizi: bool = True) -> Gloss | None:
        """The gloss of one normalised word, trying clitic-stripped forms after the word itself.

        Latin words are matched by skeleton only in an Arabizi context (``arabizi``): in a
        French message, "tarifs" or "conseiller" would otherwise read as Darija
        ("t-" + refus, "kn-" + salaire).
        """
        exact = self._exact.get(word)
        if exact is not None:
            return exact
        if _ARABIC_LETTERS.search(word):
            return self._lookup_affixed(word, self._arabic, _ARABIC_PREFIXES, _ARABIC_SUFFIXES)
        if not arabizi or not word.isascii():
            return None
        return self._lookup_affixed(
            arabizi_skeleton(word), self._skeletons, _LATIN_PREFIXES, _LATIN_SUFFIXES
        )

    @staticmethod
    def _lookup_affixed(
        form: str, table: dict[str, Gloss], prefixes: tuple[str, ...], suffixes: tuple[str, ...]
    ) -> Gloss | None:
        for prefix in prefixes:
            if not form.startswith(prefix):
                continue
            for suffix in suffixes:
                if suffix and not form.endswith(suffix):
                    continue
                stem = form[len(prefix) : len(form) - len(suffix)]
                if len(stem) < _MIN_STEM:
                    continue
                gloss = table.get(stem)
                if gloss is not None:
                    return gloss
        return None

    def glosses(self, text: str, *, arabizi: bool = True) -> list[Gloss | None]:
        """One entry per word of ``text`` (normalised for search), None where unknown."""
        return [self.lookup(w, arabizi=arabizi) for w in words(normalize_for_search(text))]


def parse_lexicon(text: str) -> list[tuple[list[str], tuple[str, ...], tuple[str, ...]]]:
    """Rows of ``forms<TAB>french<TAB>msa`` with ``|``-separated forms; # starts a comment."""
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"lexicon: expected 3 tab-separated fields: {line!r}")
        forms = [f.strip() for f in parts[0].split("|") if f.strip()]
        rows.append((forms, tuple(parts[1].split()), tuple(parts[2].split())))
    return rows


@lru_cache(maxsize=1)
def default_lexicon() -> DarijaLexicon:
    """Darija glosses, plus English customer-service words (exact forms only)."""
    folder = importlib.resources.files("knowledge_base") / "lexicon"
    return DarijaLexicon.from_tsv(
        (folder / "darija.tsv").read_text(encoding="utf-8"),
        (folder / "english.tsv").read_text(encoding="utf-8"),
    )
