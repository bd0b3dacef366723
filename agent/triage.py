"""Is this message sensitive, and for which adviser queue?

Extractive triage combines two signals from the tenant's escalation policy: precise
keywords (a hit escalates) and the similarity of the message to each category's example
messages. The tenant's own FAQ questions serve as examples of ordinary requests: on
similarity alone, a message escalates only when a sensitive example is both close enough
and clearly closer than every ordinary request (a margin). Hard-rule categories (human
request, fraud, distress, vulnerability) win over everything else, and nothing downstream
may remove them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from agent.policy import CategoryPolicy, EscalationPolicy
from agent.result import Priority
from knowledge_base.analyzer import analyze_query
from knowledge_base.embeddings import Embedder
from knowledge_base.embeddings.base import Vectors
from knowledge_base.normalize import normalize_for_search

# When several categories match, the adviser queue that must see it first.
PRECEDENCE = (
    "distress",
    "fraud",
    "vulnerability",
    "human_request",
    "legal",
    "data_protection",
    "billing_anomaly",
    "payment_difficulty",
    "cancellation",
    "complaint",
    "service_anomaly",
)
_PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
_ARABIC = re.compile("[\u0600-\u06ff]")
_AMOUNT = re.compile(r"(\d[\d\s.,]*)\s*(?:dh|dhs|mad|dirhams?|درهم|دراهم)(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class TriageDecision:
    category: str
    priority: Priority
    hard_rule: bool
    evidence: str
    """The keyword or example that decided, for the audit trail."""


def _keyword_alternative(keyword: str) -> str:
    normalized = re.escape(normalize_for_search(keyword)).replace(r"\ ", r"\s+")
    # Arabic glues conjunctions and prepositions to the next word (والاحتيال).
    prefix = r"(?:و|ف|ب|ل|ال|وال|بال|فال)?" if _ARABIC.search(keyword) else ""
    return f"{prefix}{normalized}"


def _keywords_pattern(keywords: list[str]) -> re.Pattern[str] | None:
    """One pattern per category: a message is searched a dozen times, not two thousand."""
    if not keywords:
        return None
    # Longest first, so the evidence reported is the most specific phrase.
    alternatives = sorted({_keyword_alternative(k) for k in keywords}, key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")


def amounts_in(text: str) -> list[float]:
    """Dirham amounts written in the message ("1 800 DH", "2.500,00 MAD", "300 درهم")."""
    found = []
    for match in _AMOUNT.finditer(normalize_for_search(text)):
        digits = re.sub(r"[\s.]", "", match.group(1)).replace(",", ".")
        try:
            found.append(float(digits))
        except ValueError:
            continue
    return found


class Triage:
    def __init__(
        self,
        policy: EscalationPolicy,
        embedder: Embedder,
        ordinary_examples: list[str],
        similarity_threshold: float = 0.45,
        margin: float = 0.07,
    ) -> None:
        self.policy = policy
        self._embedder = embedder
        self._threshold = similarity_threshold
        self._margin = margin
        self._keywords = [
            (category, pattern)
            for category in policy.enabled()
            if (pattern := _keywords_pattern(category.all_keywords())) is not None
        ]
        labels: list[str | None] = []
        texts: list[str] = []
        for category in policy.enabled():
            examples = category.all_examples()
            texts += examples
            labels += [category.name] * len(examples)
        ordinary = ordinary_examples + policy.all_ordinary_examples()
        texts += ordinary
        labels += [None] * len(ordinary)
        self._labels = labels
        self._texts = texts
        self._vectors: Vectors = embedder.embed_documents(texts)
        self._sensitive = np.array([label is not None for label in labels], dtype=bool)

    def classify(self, text: str) -> TriageDecision | None:
        normalized = normalize_for_search(text)
        keyword_hits = [
            (category, found.group())
            for category, pattern in self._keywords
            if (found := pattern.search(normalized))
        ]
        if keyword_hits:
            category, keyword = min(keyword_hits, key=lambda hit: _rank(hit[0].name))
            return self._decide(category, text, f"keyword «{keyword}»")
        if not self._texts:
            return None
        # Darija and Arabizi messages are compared through their French and MSA glosses
        # too, as retrieval does: most examples are written in French or MSA words.
        analysis = analyze_query(text)
        variants = [text] + [g for g in (analysis.french_gloss, analysis.arabic_gloss) if g]
        similarities = (self._vectors @ self._embedder.embed_queries(variants).T).max(axis=1)
        sensitive = self._sensitive
        if not sensitive.any():
            return None
        best = int(np.argmax(np.where(sensitive, similarities, -1.0)))
        best_ordinary = float(similarities[~sensitive].max()) if (~sensitive).any() else -1.0
        score = float(similarities[best])
        # Closer to an ordinary request than to any sensitive example, by a margin: ordinary.
        if score < self._threshold or score - best_ordinary < self._margin:
            return None
        label = self._labels[best]
        assert label is not None
        return self._decide(
            self.policy.categories[label],
            text,
            f"close to example «{self._texts[best]}» ({score:.2f}, ordinary {best_ordinary:.2f})",
        )

    def _decide(self, category: CategoryPolicy, text: str, evidence: str) -> TriageDecision:
        priority = category.priority
        amounts = amounts_in(text)
        for rule in self.policy.rules:
            if rule.category != category.name or rule.unsupported:
                continue
            if rule.amount_at_least_dh is not None and not any(
                a >= rule.amount_at_least_dh for a in amounts
            ):
                continue
            if _PRIORITY_RANK[rule.priority] > _PRIORITY_RANK[priority]:
                priority = rule.priority
        return TriageDecision(category.name, priority, category.hard_rule, evidence)


def _rank(category: str) -> int:
    return PRECEDENCE.index(category) if category in PRECEDENCE else len(PRECEDENCE)
