"""Answer quality with ragas 0.4.3, on the answered turns that have a ``reference``.

Always (no model needed):

- ``string_similarity``: ragas ``NonLLMStringSimilarity`` (Levenshtein) between the
  reference and the reply;
- ``chrf``: ragas ``CHRFScore`` (character n-grams, fair to Arabic and French morphology);
- ``rouge_l``: ragas ``RougeScore`` (ROUGE-L F1) with a Unicode word tokenizer: the
  ``rouge_score`` default keeps only a-z and 0-9, which scores identical Arabic 0 and drops
  French accents;
- ``context_recall``: ragas ``NonLLMContextRecall``, the reference as the reference
  context against the passages retrieved for the message. Its string similarity compares
  whole texts, so a passage of ten sentences never resembles a two-sentence reference
  even when it holds it: the passages are given as windows of up to three consecutive
  sentences.

With a judge (``RAFIQ_EVAL_JUDGE_*``: any OpenAI-compatible server, any language), also
``faithfulness`` (the reply against the passages), ``answer_relevancy`` (the reply
against the message; it embeds with the tenant's own embedding model, offline) and
``context_precision`` (the passages against the reference).

ragas takes seconds to import: it is imported only when a run scores something.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from eval.outcomes import CaseOutcome, TurnOutcome
from knowledge_base.embeddings.base import Embedder

if TYPE_CHECKING:
    from ragas.embeddings.base import BaseRagasEmbedding

JUDGE_CONCURRENCY: Final = 4
JUDGE_TIMEOUT_S: Final = 120.0
CONTEXT_WINDOW: Final = 3
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?؟…])\s+|\n+")


@dataclass(frozen=True)
class Judge:
    """An OpenAI-compatible chat endpoint that grades answers (never hard-coded)."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class QualityReport:
    cases: list[CaseOutcome]
    """The outcomes with each scored turn's ``scores`` filled in."""
    warnings: list[str]
    """Scores that could not be computed (a judge that failed), counted per metric."""


class UnicodeWordTokenizer:
    """``rouge_score`` tokenizer interface: lower-cased ``\\w+`` words in any script."""

    def tokenize(self, text: str) -> list[str]:
        return _WORD.findall(text.lower())


def scorable(turn: TurnOutcome) -> bool:
    return (
        turn.status == "judged"
        and turn.result is not None
        and turn.result.action == "answer"
        and bool(turn.expected.reference)
        and bool(turn.result.text.strip())
    )


Scorer = Callable[[TurnOutcome], Awaitable[float]]


def _contexts(turn: TurnOutcome) -> list[str]:
    return [p.text for p in turn.passages] or [""]


def sentence_windows(text: str, size: int = CONTEXT_WINDOW) -> list[str]:
    """Every run of 1 to ``size`` consecutive sentences of ``text``."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    return [
        " ".join(sentences[start : start + length])
        for length in range(1, size + 1)
        for start in range(len(sentences) - length + 1)
    ]


def _reply(turn: TurnOutcome) -> str:
    assert turn.result is not None
    return turn.result.text


def _reference(turn: TurnOutcome) -> str:
    assert turn.expected.reference is not None
    return turn.expected.reference


def offline_scorers() -> dict[str, Scorer]:
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    from ragas.dataset_schema import SingleTurnSample
    from ragas.metrics import NonLLMContextRecall
    from ragas.metrics.collections import CHRFScore, NonLLMStringSimilarity, RougeScore
    from ragas.metrics.result import MetricResult
    from rouge_score import rouge_scorer

    class UnicodeRougeL(RougeScore):
        async def ascore(self, reference: str, response: str) -> MetricResult:  # type: ignore[override]
            scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=UnicodeWordTokenizer())
            return MetricResult(value=float(scorer.score(reference, response)["rougeL"].fmeasure))

    similarity = NonLLMStringSimilarity()
    chrf = CHRFScore()
    rouge = UnicodeRougeL()
    recall = NonLLMContextRecall()

    async def similarity_of(turn: TurnOutcome) -> float:
        result = await similarity.ascore(reference=_reference(turn), response=_reply(turn))
        return float(result.value)

    async def chrf_of(turn: TurnOutcome) -> float:
        return float((await chrf.ascore(reference=_reference(turn), response=_reply(turn))).value)

    async def rouge_of(turn: TurnOutcome) -> float:
        return float((await rouge.ascore(reference=_reference(turn), response=_reply(turn))).value)

    async def recall_of(turn: TurnOutcome) -> float:
        sample = SingleTurnSample(
            retrieved_contexts=[w for c in _contexts(turn) for w in sentence_windows(c)] or [""],
            reference_contexts=[_reference(turn)],
        )
        return float(await recall.single_turn_ascore(sample))

    return {
        "string_similarity": similarity_of,
        "chrf": chrf_of,
        "rouge_l": rouge_of,
        "context_recall": recall_of,
    }


def _ragas_embeddings(embedder: Embedder) -> BaseRagasEmbedding:
    from ragas.embeddings.base import BaseRagasEmbedding

    class TenantEmbeddings(BaseRagasEmbedding):
        """The knowledge base's own multilingual model: offline, and fair to Arabic."""

        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return [float(x) for x in embedder.embed_queries([text])[0]]

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return await asyncio.to_thread(self.embed_text, text)

        def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return [[float(x) for x in row] for row in embedder.embed_queries(texts)]

        async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return await asyncio.to_thread(self.embed_texts, texts)

    return TenantEmbeddings()


def judge_scorers(judge: Judge, embedder: Embedder) -> dict[str, Scorer]:
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    import openai
    from ragas.llms import llm_factory
    from ragas.metrics.collections import (
        AnswerRelevancy,
        ContextPrecisionWithReference,
        Faithfulness,
    )

    client = openai.AsyncOpenAI(
        base_url=judge.base_url,
        api_key=judge.api_key or "not-needed",
        timeout=JUDGE_TIMEOUT_S,
        max_retries=1,
    )
    llm = llm_factory(judge.model, client=client)
    faithfulness = Faithfulness(llm=llm)
    relevancy = AnswerRelevancy(llm=llm, embeddings=_ragas_embeddings(embedder), strictness=1)
    precision = ContextPrecisionWithReference(llm=llm)

    async def faithfulness_of(turn: TurnOutcome) -> float:
        result = await faithfulness.ascore(
            user_input=turn.text, response=_reply(turn), retrieved_contexts=_contexts(turn)
        )
        return float(result.value)

    async def relevancy_of(turn: TurnOutcome) -> float:
        return float((await relevancy.ascore(user_input=turn.text, response=_reply(turn))).value)

    async def precision_of(turn: TurnOutcome) -> float:
        result = await precision.ascore(
            user_input=turn.text, reference=_reference(turn), retrieved_contexts=_contexts(turn)
        )
        return float(result.value)

    return {
        "faithfulness": faithfulness_of,
        "answer_relevancy": relevancy_of,
        "context_precision": precision_of,
    }


async def _score_all(
    turns: Sequence[TurnOutcome], scorers: dict[str, Scorer], concurrency: int
) -> tuple[list[dict[str, float]], dict[str, int]]:
    gate = asyncio.Semaphore(concurrency)
    failures: dict[str, int] = {}

    async def one(turn: TurnOutcome) -> dict[str, float]:
        scores: dict[str, float] = {}
        for name, scorer in scorers.items():
            async with gate:
                try:
                    value = await scorer(turn)
                except Exception:  # a judge that fails loses a score, not the run
                    failures[name] = failures.get(name, 0) + 1
                    continue
            if value == value:  # NaN: ragas had nothing to score
                scores[name] = round(min(max(value, 0.0), 1.0), 4)
        return scores

    return list(await asyncio.gather(*(one(t) for t in turns))), failures


def score_cases(
    cases: Sequence[CaseOutcome],
    judge: Judge | None = None,
    embedder: Embedder | None = None,
) -> QualityReport:
    """Scores every scorable turn; the judged metrics only with ``judge`` and ``embedder``."""
    turns = [turn for case in cases for turn in case.turns if scorable(turn)]
    if not turns:
        return QualityReport(list(cases), [])
    scorers = offline_scorers()
    concurrency = JUDGE_CONCURRENCY * 4
    if judge is not None and embedder is not None:
        scorers |= judge_scorers(judge, embedder)
        concurrency = JUDGE_CONCURRENCY
    results, failures = asyncio.run(_score_all(turns, scorers, concurrency))
    by_turn = {id(turn): scores for turn, scores in zip(turns, results, strict=True)}
    scored = [
        case.model_copy(
            update={
                "turns": [
                    t.model_copy(update={"scores": by_turn[id(t)]}) if id(t) in by_turn else t
                    for t in case.turns
                ]
            }
        )
        for case in cases
    ]
    warnings = [
        f"{name}: {count} of {len(turns)} turns could not be scored (the judge failed)"
        for name, count in sorted(failures.items())
    ]
    return QualityReport(scored, warnings)
