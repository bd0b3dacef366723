"""Is this message sensitive, and for which adviser queue?

Extractive triage combines two signals from the tenant's escalation policy: precise
keywords (a hit escalates) and the similarity of the message to each category's example
messages. Similarity is a vote of the few nearest examples of each category, averaged, so
that one example which happens to share a word with the message weighs less than several
that share its meaning. The tenant's own FAQ questions serve as examples of ordinary
requests and vote the same way: on similarity alone, a message escalates only when the
best category's vote is close enough and clearly above the ordinary requests' vote (a
margin). Where a missed message can cost a life (distress, vulnerability), one close
example is enough whatever the vote: an unneeded escalation there costs an adviser a
minute. Hard-rule categories (human request, fraud, distress, vulnerability) win
over everything else, and nothing downstream may remove them. Distress is the one
exception to "a keyword decides": its wording is the most indirect, and the same message
usually also names a money problem that does have keywords, so the examples get their say
before a softer keyword decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from agent.policy import CategoryPolicy, EscalationPolicy
from agent.result import PRIORITIES, Priority
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
# The category the examples may give a message that only softer keywords matched.
MEANING_OVER_KEYWORDS = "distress"
# Categories one close example is enough for, when the vote is not: how close, and how much
# closer than the nearest ordinary request.
ONE_EXAMPLE_ENOUGH = ("distress", "vulnerability")
_ONE_EXAMPLE_THRESHOLD = 0.45
_ONE_EXAMPLE_MARGIN = 0.06
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
        similarity_threshold: float = 0.35,
        margin: float = 0.05,
        neighbours: int = 4,
    ) -> None:
        self.policy = policy
        self._embedder = embedder
        self._threshold = similarity_threshold
        self._margin = margin
        self._neighbours = neighbours
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
        self._ordinary_rows = np.flatnonzero(~self._sensitive)
        # Row numbers of each category's examples, in PRECEDENCE order so that a tie in the
        # vote goes to the queue that must see the message first.
        names = sorted(
            {label for label in labels if label is not None}, key=lambda n: (_rank(n), n)
        )
        self._rows = {
            name: np.array([i for i, label in enumerate(labels) if label == name]) for name in names
        }

    def classify(self, text: str) -> TriageDecision | None:
        normalized = normalize_for_search(text)
        keyword_hits = [
            (category, found.group())
            for category, pattern in self._keywords
            if (found := pattern.search(normalized))
        ]
        hit = min(keyword_hits, key=lambda h: _rank(h[0].name)) if keyword_hits else None
        # A hard-rule keyword is final: the message need not be embedded at all.
        if hit and hit[0].hard_rule:
            return self._decide(hit[0], text, f"keyword «{hit[1]}»")
        similar = self._similar(text)
        if hit and (similar is None or similar[0] != MEANING_OVER_KEYWORDS):
            return self._decide(hit[0], text, f"keyword «{hit[1]}»")
        if similar is None:
            return None
        label, evidence = similar
        return self._decide(self.policy.categories[label], text, evidence)

    def _similar(self, text: str) -> tuple[str, str] | None:
        """The category the examples give the message, with the evidence; None if ordinary."""
        if not self._rows:
            return None
        # Darija and Arabizi messages are compared through their French and MSA glosses
        # too, as retrieval does: most examples are written in French or MSA words.
        analysis = analyze_query(text)
        variants = [text] + [g for g in (analysis.french_gloss, analysis.arabic_gloss) if g]
        similarities = (self._vectors @ self._embedder.embed_queries(variants).T).max(axis=1)
        votes = {name: self._nearest(similarities[rows]) for name, rows in self._rows.items()}
        # max keeps the first of equal votes, and the rows are in PRECEDENCE order.
        label = max(votes, key=votes.__getitem__)
        vote = votes[label]
        ordinary = (
            self._nearest(similarities[self._ordinary_rows]) if self._ordinary_rows.size else -1.0
        )
        # As close to ordinary requests as to any category, give or take a margin: ordinary.
        if vote < self._threshold or vote - ordinary < self._margin:
            return self._one_close_example(similarities)
        rows = self._rows[label]
        nearest = int(rows[np.argmax(similarities[rows])])
        return label, (
            f"close to examples of {label} ({vote:.2f} on average, ordinary requests "
            f"{ordinary:.2f}), nearest «{self._texts[nearest]}» ({similarities[nearest]:.2f})"
        )

    def _one_close_example(self, similarities: Vectors) -> tuple[str, str] | None:
        """A distress or vulnerability example close enough on its own, if it is the nearest."""
        nearest = int(np.argmax(np.where(self._sensitive, similarities, -1.0)))
        label = self._labels[nearest]
        if label is None or label not in ONE_EXAMPLE_ENOUGH:
            return None
        score = float(similarities[nearest])
        rows = self._ordinary_rows
        ordinary = float(similarities[rows].max()) if rows.size else -1.0
        if score < _ONE_EXAMPLE_THRESHOLD or score - ordinary < _ONE_EXAMPLE_MARGIN:
            return None
        return label, (
            f"close to example «{self._texts[nearest]}» ({score:.2f}, ordinary {ordinary:.2f})"
        )

    def _nearest(self, similarities: Vectors) -> float:
        """Average similarity of the few nearest texts of one group.

        An average rather than a sum, so that a category a tenant added with only two
        examples competes on equal terms with the default ones.
        """
        k = min(self._neighbours, len(similarities))
        return float(np.partition(similarities, len(similarities) - k)[-k:].mean())

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
            if PRIORITIES.index(rule.priority) > PRIORITIES.index(priority):
                priority = rule.priority
        return TriageDecision(category.name, priority, category.hard_rule, evidence)


def _rank(category: str) -> int:
    return PRECEDENCE.index(category) if category in PRECEDENCE else len(PRECEDENCE)
