"""Running suites in-process: every case a fresh conversation, its turns in order.

Cases run concurrently on a small thread pool (the agent's synchronous ``turn``); the
turns of one case run one after the other, since each is judged in the context of the
previous ones. Once the agent hands a conversation to an adviser the bot no longer
answers, so the turns after an escalation the case did not expect are recorded as not
reached rather than sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from agent.agent import Agent
from agent.result import Citation, ReplyLanguage, TurnResult
from eval.checks import judge
from eval.outcomes import CaseOutcome, Expected, Passage, TurnOutcome
from eval.suite import Case, Suite, Turn
from knowledge_base.retrieval import HybridRetriever
from knowledge_base.store import Metadata

DEFAULT_WORKERS: Final = 4
PASSAGES_K: Final = 5
"""Passages retrieved for each turn's message, shown in the report and scored by ragas."""

WARM_UP_TEXT: Final = "Bonjour, quels sont vos horaires ?"

Progress = Callable[[int, int], None]
"""Called with (cases done, cases in all) after each case."""


class TenantMismatchError(ValueError):
    """A suite written for one tenant was asked to run against another."""


@dataclass(frozen=True)
class Target:
    """One tenant's agent, in this process.

    ``agent`` should keep its conversations to itself (``eval.conversations``), so that a
    run opens no handoff in the advisers' queue and fires no webhook.
    """

    tenant: str
    agent: Agent
    retriever: HybridRetriever
    arabizi_reply: ReplyLanguage
    categories: frozenset[str]
    """The escalation categories of the tenant's policy, which its cases may expect."""


def check_tenant(suites: Sequence[Suite], tenant: str) -> None:
    """A suite that names a tenant runs against that tenant only: its ``cite`` and reply
    languages were written for that tenant's documents and settings."""
    wrong = [s for s in suites if s.tenant is not None and s.tenant != tenant]
    if wrong:
        named = ", ".join(f"{s.name} (tenant {s.tenant})" for s in wrong)
        raise TenantMismatchError(
            f"suite {named} was written for another tenant than {tenant!r}: "
            "run it with that tenant, or remove `tenant:` from the file if it suits any"
        )


def expected_of(turn: Turn, arabizi_reply: ReplyLanguage) -> Expected:
    expect = turn.expect
    return Expected(
        actions=sorted(expect.actions),
        categories=sorted(expect.categories),
        reply_language=turn.expected_reply_language(arabizi_reply),
        cite=list(expect.cite),
        reference=expect.reference,
        must_contain=list(expect.must_contain),
        must_not_contain=list(expect.must_not_contain),
        redactions=sorted(expect.redactions),
    )


def _passage(chunk_id: str, text: str, meta: Metadata, score: float, cited: bool) -> Passage:
    title = meta.get("title")
    return Passage(
        chunk_id=chunk_id,
        source=str(meta.get("source", "")),
        title=str(title) if title not in (None, "") else None,
        text=text,
        language=str(meta.get("language", "")),
        score=score,
        cited=cited,
    )


def passages_for(
    retriever: HybridRetriever, text: str, citations: Sequence[Citation], k: int = PASSAGES_K
) -> list[Passage]:
    """The chunks the reply cites (looked up by id), then the best ``k`` others for the
    message: the agent's own retrieval also used the conversation so far, so the cited
    chunks are the ones it certainly had."""
    cited_ids = list(dict.fromkeys(c.chunk_id for c in citations))
    scores = {c.chunk_id: c.score for c in citations}
    found: dict[str, Passage] = {}
    if cited_ids:
        got = retriever.store.collection.get(ids=cited_ids, include=["documents", "metadatas"])
        documents = got["documents"] or []
        metadatas = got["metadatas"] or []
        for chunk_id, document, meta in zip(got["ids"], documents, metadatas, strict=True):
            clean = {k: v for k, v in (meta or {}).items() if isinstance(v, str | int | float)}
            found[chunk_id] = _passage(chunk_id, document or "", clean, scores[chunk_id], True)
    cited = [found[c] for c in cited_ids if c in found]
    others = [
        _passage(r.chunk_id, r.text, r.metadata, r.score, False)
        for r in retriever.search(text, k)
        if r.chunk_id not in found
    ]
    return cited + others


def _run_case(suite: Suite, case: Case, target: Target) -> CaseOutcome:
    turns: list[TurnOutcome] = []
    conversation_id: str | None = None
    stopped: str | None = None
    for index, turn in enumerate(case.turns, 1):
        expected = expected_of(turn, target.arabizi_reply)
        base = {"index": index, "text": turn.text, "language": turn.language, "expected": expected}
        if stopped is not None:
            turns.append(TurnOutcome(**base, status="not_reached", note=stopped))
            continue
        started = time.perf_counter()
        try:
            reply = target.agent.turn(target.tenant, turn.text, conversation_id)
        except Exception as exc:  # one broken case must not sink the run: it is reported
            turns.append(TurnOutcome(**base, status="error", note=f"{type(exc).__name__}: {exc}"))
            stopped = f"turn {index} failed"
            continue
        latency_ms = (time.perf_counter() - started) * 1000
        if not isinstance(reply, TurnResult):
            note = f"the conversation is with an adviser ({reply.conversation_status})"
            turns.append(TurnOutcome(**base, status="error", latency_ms=latency_ms, note=note))
            stopped = note
            continue
        conversation_id = reply.conversation_id
        turns.append(
            TurnOutcome(
                **base,
                status="judged",
                result=reply,
                latency_ms=latency_ms,
                passages=passages_for(target.retriever, turn.text, reply.citations),
                checks=judge(expected, reply),
            )
        )
        if reply.conversation_status != "bot":
            queue = reply.escalation.category if reply.escalation else reply.action
            stopped = f"turn {index} handed the conversation to an adviser ({queue})"
    return CaseOutcome(
        suite=suite.name,
        id=case.id,
        language=case.language,
        tags=list(case.tags),
        description=case.description,
        turns=turns,
    )


def run_suites(
    suites: Sequence[Suite],
    target: Target,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
) -> list[CaseOutcome]:
    """Every case of every suite, in file order, ``workers`` conversations at a time."""
    check_tenant(suites, target.tenant)
    # The first turns of a process load indexes and warm the models: one untimed turn
    # first, so that latency measures the agent, not its start-up.
    target.agent.turn(target.tenant, WARM_UP_TEXT)
    jobs = [(suite, case) for suite in suites for case in suite.cases]
    done = 0
    lock = threading.Lock()

    def one(job: tuple[Suite, Case]) -> CaseOutcome:
        nonlocal done
        outcome = _run_case(job[0], job[1], target)
        if progress is not None:
            with lock:
                done += 1
                progress(done, len(jobs))
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="eval") as pool:
        return list(pool.map(one, jobs))
