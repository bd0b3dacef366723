"""Which of Rafiq's five languages a text is written in.

Script decides Arabic versus Latin; Darija is told from Modern Standard Arabic by its
function words, Arabizi from French and English by Darija words and the digits 3/7/9
inside words. Documents are mostly fr/ar/en; customer messages use all five.
"""

from __future__ import annotations

import re
from typing import Literal

from knowledge_base.darija import default_lexicon
from knowledge_base.normalize import arabic_ratio, normalize_for_search, words

Language = Literal["fr", "ar", "darija", "arabizi", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "ar", "darija", "arabizi", "en")

_DARIJA_MARKERS = frozenset(
    normalize_for_search(w)
    for w in """ديال ديالي ديالك ديالو ديالنا واش كيفاش شحال بغيت بغا نبغي دابا علاش فين
    شنو اشنو ماشي
    بزاف هادشي هاد هادي كاين كاينة ماكاينش عندي واخا كنبغي كنقلب خاصني راه راني مزيان بلا شي
    تانخلص نخلص خلصت ماخدامش عافاك الله يخليك ليا عليا فوقاش امتا كولشي كلشي""".split()
)
_FRENCH = frozenset(
    """le la les un une des du de et est pour pas que qui je vous nous mon ma mes ton votre
    avec dans sur au aux ce cette il elle on ne plus comment quand pourquoi combien ou
    bonjour merci facture paiement compte est-ce suis ai avez peux puis faire veux voudrais
    svp quelle quel quels heure ouvre ouvert a chez mais aussi faut sont en vos""".split()
)
_ENGLISH = frozenset(
    """the an and is are to of for my your i you it this that with can how what when where why
    do does have has will would please hello hi thanks bill payment account want need""".split()
)
_ARABIZI_MARKERS = frozenset(
    """wach wash dyal dial dyali diali kifach kifash chno chnou ach bghit bghina baghi daba
    3lach fin fine imta chhal ch7al 3ndi 3andi andi kayn kayna makaynch mzyan bzaf walakin
    wla ila rah rani hna ana nta nti howa hiya smhli 3afak salam labas khoya khti chi had
    hadi hada ma3ndich kanbghi khassni n9der 9der kan ka ghadi lia liya bach mnin""".split()
)
_ARABIZI_DIGITS = re.compile(r"[a-z][3792]|[3792][a-z]")


def detect_language(text: str, fallback: Language = "fr") -> Language:
    normalized = normalize_for_search(text)
    tokens = words(normalized)
    if not tokens:
        return fallback
    if arabic_ratio(text) >= 0.5:
        darija_hits = sum(1 for t in tokens if t in _DARIJA_MARKERS)
        return "darija" if darija_hits >= 1 else "ar"
    french = sum(1 for t in tokens if t in _FRENCH)
    english = sum(1 for t in tokens if t in _ENGLISH)
    arabizi: float = sum(1 for t in tokens if t in _ARABIZI_MARKERS or _ARABIZI_DIGITS.search(t))
    lexicon = default_lexicon()
    arabizi += sum(
        0.5
        for t in tokens
        if t not in _FRENCH and t not in _ENGLISH and lexicon.lookup(t, arabizi=False)
    )
    best = max((arabizi, "arabizi"), (french, "fr"), (english, "en"))
    if best[0] == 0:
        return fallback
    return best[1]  # type: ignore[return-value]
