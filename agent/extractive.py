"""Answers built from the knowledge base's own text, without a language model.

The reply is the best FAQ answer, or the few sentences of a policy section that share
most with the question. When the knowledge base says the same thing in the customer's
language, that version wins; otherwise the source text is given with a short preface
saying which language it is in. Nothing is paraphrased, so nothing can be invented.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.result import ReplyLanguage
from knowledge_base.analyzer import terms
from knowledge_base.chunking import sentences_of
from knowledge_base.retrieval import RetrievedChunk

# Below this cosine between the question and its best passage, the passage is a guess.
MIN_SIMILARITY = 0.35
# A passage in the customer's language may stand in for a slightly better-ranked one.
SAME_LANGUAGE_MARGIN = 0.75
MAX_SENTENCES = 3


@dataclass(frozen=True)
class ExtractiveAnswer:
    text: str
    """The passage text to show, without preface."""
    chunk: RetrievedChunk
    needs_preface: bool
    """The passage is not in the reply language."""


def reply_language_of(chunk: RetrievedChunk) -> str:
    """The reply language a passage is written in (Darija documents answer in Arabic)."""
    return "ar" if chunk.language in ("ar", "darija") else chunk.language


def is_grounded(chunks: list[RetrievedChunk]) -> bool:
    return bool(chunks) and max(c.dense_similarity for c in chunks[:3]) >= MIN_SIMILARITY


def choose(chunks: list[RetrievedChunk], reply: ReplyLanguage) -> RetrievedChunk:
    """The best passage, or one nearly as good in the customer's language."""
    best = chunks[0]
    if reply_language_of(best) == reply:
        return best
    for candidate in chunks[1:3]:
        if (
            reply_language_of(candidate) == reply
            and candidate.score >= SAME_LANGUAGE_MARGIN * best.score
            and candidate.dense_similarity >= MIN_SIMILARITY
        ):
            return candidate
    return best


def best_sentences(question: str, text: str) -> str:
    """The sentences sharing most words with the question, in their original order."""
    sentences = sentences_of(text)
    if len(sentences) <= MAX_SENTENCES:
        return text.strip()
    wanted = set(terms(question))
    scored = sorted(
        range(len(sentences)),
        key=lambda i: (-len(wanted & set(terms(sentences[i]))), i),
    )[:MAX_SENTENCES]
    return " ".join(sentences[i] for i in sorted(scored))


def extract(
    question: str, chunks: list[RetrievedChunk], reply: ReplyLanguage
) -> ExtractiveAnswer | None:
    if not is_grounded(chunks):
        return None
    return passage_answer(question, choose(chunks, reply), reply)


def passage_answer(question: str, chunk: RetrievedChunk, reply: ReplyLanguage) -> ExtractiveAnswer:
    """What to show of one passage: a FAQ answer whole, a policy section's best sentences."""
    is_faq = bool(chunk.metadata.get("is_faq"))
    text = chunk.text.strip() if is_faq else best_sentences(question, chunk.text)
    return ExtractiveAnswer(text, chunk, needs_preface=reply_language_of(chunk) != reply)
