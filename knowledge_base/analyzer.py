"""Turning text into search terms, the same way for documents and queries.

Light stemming only: Arabic loses its article and common clitics, French and English
lose plural and a few inflection endings. Queries additionally get the French and MSA
glosses of their Darija words, so a Darija or Arabizi query shares terms with French and
Arabic documents.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import lru_cache

from knowledge_base.darija import DarijaLexicon, default_lexicon
from knowledge_base.language import detect_language
from knowledge_base.normalize import normalize_for_search, words

STOPWORDS = frozenset(
    """
    a au aux avec ce ces cet cette dans de des du elle en et est etre il ils je la le les
    leur lui ma mais me mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se
    ses son sur ta te tes toi ton tu un une vos votre vous y c d j l m n s t qu est-ce ai as
    avez sont suis ete fait faire peut peux dois doit comment quel quelle quels quelles
    combien quand pourquoi the an and or of to in on for is are be can do does how what when
    where which who why my your i me it this that with at by from have has was were will
    would should there their ما ماذا هل في من الى على عن مع هذا هذه ذلك تلك التي الذي او ثم
    كيف كم متى اين لماذا انا انت نحن هو هي ان لا لم لن قد كان يكون عند بعد قبل كل بين لي لك
    له لنا ديال ديالي ديالك ديالو ديالنا واش شي هاد هادي هادا هادو راه راني راك فين شنو اش
    باش اللي wach chi dyal dial dyali diali dyalk dyalo had hadi hada rah rani rak chno
    achno ach li lli bach f fi w o ana nta nti hna howa hiya ila wla ola ghir bzaf daba lia
    lik liya
    """.split()
)

_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_ARABIC_SUFFIXES = (
    "تها",
    "تهم",
    "تكم",
    "تنا",
    "ها",
    "هم",
    "كم",
    "نا",
    "ات",
    "ون",
    "ين",
    "ان",
    "يه",
    "تي",
    "ته",
    "تك",
    "ه",
    "ي",
)
_ELISIONS = ("l'", "d'", "j'", "qu'", "n'", "s'", "c'", "m'", "t'")


def _is_arabic(word: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in word)


def stem(word: str) -> str:
    if _is_arabic(word):
        for prefix in _ARABIC_PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                word = word[len(prefix) :]
                break
        if word.startswith("و") and len(word) >= 5:
            word = word[1:]
        for suffix in _ARABIC_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)]
        return word
    if len(word) > 3 and word[-1] in "sx":
        word = word[:-1]
    if len(word) > 4 and word.endswith("er"):
        word = word[:-2]
    elif len(word) > 3 and word[-1] == "e":
        word = word[:-1]
    return word


def _split_elision(text: str) -> str:
    for elision in _ELISIONS:
        text = text.replace(" " + elision, " ")
    return text


def terms(text: str) -> list[str]:
    """Stemmed content words of a document or query."""
    normalized = _split_elision(" " + normalize_for_search(text))
    return [stem(w) for w in words(normalized) if w not in STOPWORDS and len(w) > 1]


@dataclass(frozen=True)
class QueryAnalysis:
    terms: list[str]
    """Terms of the query itself followed by its glosses' terms."""
    french_gloss: str | None
    """The query re-said with French glosses for its Darija words; None without Darija."""
    arabic_gloss: str | None


@lru_cache(maxsize=1)
def synonym_terms() -> dict[str, tuple[str, ...]]:
    """term -> the terms of every word customers use for the same thing."""
    data = importlib.resources.files("knowledge_base") / "lexicon/synonyms.tsv"
    groups: dict[str, set[str]] = {}
    for line in data.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        group = {t for word in line.split("|") for t in terms(word)}
        for term in group:
            groups.setdefault(term, set()).update(group)
    return {term: tuple(sorted(group - {term})) for term, group in groups.items()}


def with_synonyms(query_terms: list[str]) -> list[str]:
    synonyms = synonym_terms()
    extra = [s for t in query_terms for s in synonyms.get(t, ()) if s not in query_terms]
    return query_terms + list(dict.fromkeys(extra))


def analyze_query(text: str, lexicon: DarijaLexicon | None = None) -> QueryAnalysis:
    lexicon = lexicon or default_lexicon()
    normalized = _split_elision(" " + normalize_for_search(text))
    tokens = [w for w in words(normalized) if len(w) > 1]
    arabizi = detect_language(text) == "arabizi"
    glosses = [lexicon.lookup(w, arabizi=arabizi) for w in tokens]
    own = [stem(w) for w in tokens if w not in STOPWORDS]
    if not any(glosses):
        return QueryAnalysis(own, None, None)
    french: list[str] = []
    arabic: list[str] = []
    for token, gloss in zip(tokens, glosses, strict=True):
        if gloss is not None:
            french.extend(gloss.french)
            arabic.extend(gloss.arabic)
        elif token not in STOPWORDS:
            french.append(token)
            arabic.append(token)
    french_gloss, arabic_gloss = " ".join(french), " ".join(arabic)
    expanded = own + [t for t in terms(french_gloss + " " + arabic_gloss) if t not in own]
    return QueryAnalysis(expanded, french_gloss, arabic_gloss)
