"""Is this message sensitive, and for which adviser queue?

Extractive triage combines three signals. Precise keywords of the tenant's escalation
policy (a hit escalates). The similarity of the message to each category's example
messages, written for many sectors: a vote of the few nearest examples of each category,
averaged, so that one example which happens to share a word with the message weighs less
than several that share its meaning; the tenant's own FAQ questions serve as examples of
ordinary requests and vote the same way, and a message escalates on similarity only when
the best category's vote is close enough and clearly above the ordinary requests' vote (a
margin). Where a missed message can cost a life (distress, vulnerability), one close
example is enough whatever the vote. And a learned layer (agent/triage_model.py), fitted
on messages of ten sectors, that recognises a category worded like no example.

Each signal proposes at most one category and the queue that must see the message first
wins; hard-rule categories (human request, fraud, distress, vulnerability) win over
everything else, and nothing downstream may remove them. Distress is the one exception to
"a keyword decides": its wording is the most indirect, and the same message usually also
names a money problem that does have keywords, so the examples get their say before a
softer keyword decides. The tenant's FAQ entries on a hard-rule matter ("my card was
stolen, what do I do?") are taken as examples of that category rather than as ordinary
requests: the tenant's own documents adapt triage to its sector.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from agent.logistic import Matrix
from agent.policy import CategoryPolicy, EscalationPolicy
from agent.result import PRIORITIES, Priority
from agent.triage_model import TriageModel, default_triage_model, message_features
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
# Categories one close example is enough for, when the vote is not: how close, and how much
# closer than the nearest ordinary request.
ONE_EXAMPLE_ENOUGH = ("distress", "vulnerability")
_ONE_EXAMPLE_THRESHOLD = 0.45
_ONE_EXAMPLE_MARGIN = 0.06
_ARABIC = re.compile("[\u0600-\u06ff]")
_AMOUNT = re.compile(r"(\d[\d\s.,]*)\s*(?:dh|dhs|mad|dirhams?|درهم|دراهم)(?!\w)", re.IGNORECASE)


# The category the examples may give a message that only softer keywords matched.
MEANING_OVER_KEYWORDS = "distress"
# Where the learned layer finds two categories, the one that protects the customer more
# goes first: money taken without consent is fraud before it is a billing error, and a
# customer who cannot cope is vulnerable before being late with a payment.
MORE_PROTECTIVE = {
    "billing_anomaly": "fraud",
    "payment_difficulty": "vulnerability",
}


@dataclass(frozen=True)
class TriageSignals:
    keyword: tuple[CategoryPolicy, str] | None
    """The first keyword hit in precedence order, and the words that matched."""
    similar: tuple[str, str] | None
    """The category the policy's examples vote for, with the evidence."""
    learned: dict[str, float]
    """The learned layer's score of each category (empty when it is off)."""
    features: Matrix | None = None


def combine(signals: TriageSignals, model: TriageModel | None) -> tuple[str, str] | None:
    """The queue the signals give together: a hard-rule keyword is final; otherwise each
    signal proposes at most one category, and the one that must see the message first
    wins (PRECEDENCE)."""
    proposed: list[tuple[str, str]] = []
    if signals.keyword is not None:
        keyword = (signals.keyword[0].name, f"keyword «{signals.keyword[1]}»")
        if signals.keyword[0].hard_rule:
            return keyword
        proposed.append(keyword)
    passing = model.passing(signals.learned) if model is not None else {}
    if passing:
        best = max(passing, key=passing.__getitem__)
        protective = MORE_PROTECTIVE.get(best)
        if protective in passing:
            best = protective
        proposed.append(
            (
                best,
                f"learned layer: {best} {signals.learned[best]:.2f} "
                f"({passing[best]:.1f}x its threshold)",
            )
        )
    # The examples overrule a softer keyword only to say distress: its wording is the most
    # indirect, and the same message usually also names a money problem with keywords.
    if signals.similar is not None and (
        signals.keyword is None or signals.similar[0] == MEANING_OVER_KEYWORDS
    ):
        proposed.append(signals.similar)
    return min(proposed, key=lambda p: _rank(p[0])) if proposed else None


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
        model: TriageModel | None = None,
        *,
        learned: bool = True,
    ) -> None:
        self.policy = policy
        chosen = (model or default_triage_model()) if learned else None
        # Weights fitted on another embedding model's vectors mean nothing here.
        self._model = chosen if chosen is not None and chosen.embedder == embedder.name else None
        self._enabled = frozenset(c.name for c in policy.enabled())
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
        vectors = [_policy_vectors(embedder, texts)] if texts else []
        common = policy.all_ordinary_examples()
        common_vectors = _policy_vectors(embedder, common) if common else _empty(embedder)
        faq_vectors = (
            embedder.embed_documents(ordinary_examples) if ordinary_examples else _empty(embedder)
        )
        adopted = self._safety_entries(ordinary_examples, faq_vectors, common_vectors)
        self.safety_entries = {ordinary_examples[i]: name for i, name in adopted.items()}
        """The tenant's FAQ questions triage reads as a safety matter, with the category."""
        # The tenant's own entries on a safety matter ("my card was stolen, what do I do?")
        # are examples of that category, not ordinary requests: its sector, in its words.
        order = sorted(range(len(ordinary_examples)), key=lambda i: i not in adopted)
        texts += [ordinary_examples[i] for i in order] + common
        labels += [adopted.get(i) for i in order] + [None] * len(common)
        vectors += [faq_vectors[order], common_vectors]
        self._labels = labels
        self._texts = texts
        self._vectors: Vectors = np.vstack(vectors)
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

    def _safety_entries(
        self, questions: list[str], vectors: Vectors, ordinary: Vectors
    ) -> dict[int, str]:
        """FAQ questions about a hard-rule matter (keywords or the learned layer say so),
        with their category."""
        found: dict[int, str] = {}
        hard = {c.name for c in self.policy.enabled() if c.hard_rule}
        for i, question in enumerate(questions):
            normalized = normalize_for_search(question)
            names = [c.name for c, p in self._keywords if c.hard_rule and p.search(normalized)]
            if not names and self._model is not None:
                closeness = (ordinary @ vectors[i]).ravel()
                scores = self._model.scores(message_features(vectors[i : i + 1], closeness))
                names = [n for n in self._model.passing(scores) if n in hard]
            if names:
                found[i] = min(names, key=_rank)
        return found

    def classify(self, text: str) -> TriageDecision | None:
        found = combine(self.signals(text), self._model)
        if found is None:
            return None
        category, evidence = found
        return self._decide(self.policy.categories[category], text, evidence)

    def signals(self, text: str, *, complete: bool = False) -> TriageSignals:
        """What keywords, examples and the learned layer each say about the message;
        after a hard-rule keyword only the keyword, unless ``complete`` (for fitting)."""
        normalized = normalize_for_search(text)
        keyword_hits = [
            (category, found.group())
            for category, pattern in self._keywords
            if (found := pattern.search(normalized))
        ]
        hit = min(keyword_hits, key=lambda h: _rank(h[0].name)) if keyword_hits else None
        # A hard-rule keyword is final: the message need not be embedded at all.
        if hit and hit[0].hard_rule and not complete:
            return TriageSignals(hit, None, {})
        # Darija and Arabizi messages are compared through their French and MSA glosses
        # too, as retrieval does: most examples are written in French or MSA words.
        analysis = analyze_query(text)
        variants = [text] + [g for g in (analysis.french_gloss, analysis.arabic_gloss) if g]
        query = self._embedder.embed_queries(variants)
        # Once per message: every example's and ordinary request's best-variant similarity.
        similarities = (self._vectors @ query.T).max(axis=1)
        features = message_features(query, similarities[self._ordinary_rows])
        scores = self._model.scores(features) if self._model is not None else {}
        # A category the tenant switched off is off for the learned layer too.
        learned = {name: p for name, p in scores.items() if name in self._enabled}
        return TriageSignals(hit, self._similar(similarities), learned, features)

    def _similar(self, similarities: Vectors) -> tuple[str, str] | None:
        """The category the examples give the message, with the evidence; None if ordinary."""
        if not self._rows:
            return None
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


_POLICY_VECTORS: weakref.WeakKeyDictionary[Embedder, dict[tuple[str, ...], Vectors]] = (
    weakref.WeakKeyDictionary()
)
_POLICY_VECTORS_LOCK = threading.Lock()


def _policy_vectors(embedder: Embedder, texts: list[str]) -> Vectors:
    """The policy's examples embedded once per embedder: every tenant on the default policy
    shares them, and the server's warm-up and a first customer building the same triage
    at once wait for one embedding instead of computing two."""
    key = tuple(texts)
    with _POLICY_VECTORS_LOCK:
        kept = _POLICY_VECTORS.setdefault(embedder, {})
        found = kept.get(key)
        if found is None:
            found = embedder.embed_documents(texts)
            if len(kept) >= POLICY_VECTORS_KEPT:
                kept.pop(next(iter(kept)))
            kept[key] = found
        return found


POLICY_VECTORS_KEPT = 16
"""Distinct policies (the default and tenants' overrides) whose vectors stay in memory."""


def _empty(embedder: Embedder) -> Vectors:
    return np.zeros((0, embedder.dimension), dtype=np.float32)


def _rank(category: str) -> int:
    return PRECEDENCE.index(category) if category in PRECEDENCE else len(PRECEDENCE)
