"""One customer turn in, one TurnResult out (DESIGN.md section 2).

normalise → detect language → redact PII → screen for injection and abuse → triage →
retrieve with the conversation's context → answer from the passages, clarify, escalate
or refuse. Only redacted text is ever stored, logged or searched.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from agent.answerability import CANDIDATES, Assessment, assess
from agent.context import retrieval_query
from agent.conversation import (
    WELCOME,
    Conversation,
    ConversationStore,
    HandoffRequest,
    Message,
)
from agent.extractive import choose, extract, is_grounded, passage_answer, reply_language_of
from agent.language import TurnLanguage, turn_language
from agent.llm import ChatModel, LlmError, Passage, cited_chunk_ids
from agent.redaction import Redaction, redact
from agent.result import (
    Action,
    Citation,
    DetectedLanguage,
    Escalation,
    LanguageInfo,
    Mode,
    Priority,
    RelayedMessage,
    Timings,
    TurnResult,
)
from agent.screening import screen
from agent.screening_model import LearnedScreener
from agent.tenant import TenantProfile
from agent.triage import Triage, TriageDecision
from knowledge_base.normalize import normalize_for_search
from knowledge_base.retrieval import HybridRetriever, RetrievedChunk
from prompts import adviser_text, message
from prompts.catalog import MissingMessageError

RETRIEVAL_K = CANDIDATES
SUGGESTIONS = 2
# "1", "2", "la première", "الثاني", "tania": the customer picks one of the entries offered
# (matched on search-normalised text: no accents, one spelling of each Arabic letter).
_FIRST = "1|١|premier|premiere|la premiere|le premier|first|the first|الاول|الاولي|لول|lowla|lwla"
_SECOND = "2|٢|deuxieme|la deuxieme|second|seconde|the second|الثاني|الثانيه|تانيه|tania|tanya"
_CHOICES = tuple(re.compile(rf"^\W*(?:{words})(?: one)?\W*$") for words in (_FIRST, _SECOND))
MAX_HISTORY = 12
SUMMARY_EXCERPT_CHARS = 160


@dataclass(frozen=True)
class TenantContext:
    profile: TenantProfile
    retriever: HybridRetriever
    triage: Triage
    screener: LearnedScreener | None = None


@dataclass
class _Reply:
    action: Action
    text: str
    citations: list[Citation]
    escalation: TriageDecision | None = None
    grounded: bool = True
    suggestions: list[str] = field(default_factory=list)
    """Chunk ids of the entries offered to choose from, in the order shown."""
    security: dict[str, str] | None = None
    """For a refusal: what was refused and why (the tenant's security events)."""


@dataclass
class _Turn:
    """Everything decided before an answer is written, shared by both modes."""

    started: float
    context: TenantContext
    conversation: Conversation
    redaction: Redaction
    history: list[Message]
    language: TurnLanguage
    reply: _Reply | None
    """Already decided (refuse or escalate), or None when the customer needs an answer."""
    decision: TriageDecision | None
    retrieval_ms: float = 0.0
    llm_ms: float = 0.0
    mode: Mode = "extractive"


Event = str | TurnResult | RelayedMessage


@dataclass(frozen=True)
class HandoffDraft:
    """What the model writes for the adviser once a handoff is queued."""

    summary: str
    suggested_reply: str | None


def _without_markers(answer: str, chunk_ids: Iterable[str]) -> str:
    # The widget lists sources itself; the ids in brackets are for machines.
    markers = re.compile(r"\s*\[(?:" + "|".join(map(re.escape, chunk_ids)) + r")\]")
    return markers.sub("", answer).strip()


def _category_text(kind: str, category: str) -> str:
    try:
        return adviser_text(f"{kind}.{category}")
    except MissingMessageError:
        # A tenant may add categories to its policy (DESIGN.md §2); only its name is known.
        return adviser_text(f"{kind}_custom", category=category)


def _last_customer_text(messages: list[Message]) -> str:
    return next((m.text for m in reversed(messages) if m.role == "customer"), "")


def _answer_with(question: str, chunk: RetrievedChunk, language: TurnLanguage) -> _Reply:
    answer = passage_answer(question, chunk, language.reply)
    text = answer.text
    if answer.needs_preface:
        text = f"{message('source_preface', language.reply)}\n{text}"
    citation = Citation(
        source=chunk.source, title=chunk.title, chunk_id=chunk.chunk_id, score=chunk.score
    )
    return _Reply("answer", text, [citation])


def _entry_name(chunk: RetrievedChunk) -> str:
    return chunk.title or chunk.section or chunk.source


def _suggestions(assessment: Assessment, reply: str) -> list[RetrievedChunk]:
    """The two likeliest entries worth offering: different names, the customer's language
    first (an entry and its translation are one choice, not two)."""
    ranked = sorted(
        assessment.ranked[: SUGGESTIONS + 2], key=lambda c: reply_language_of(c) != reply
    )
    chosen: list[RetrievedChunk] = []
    for chunk in ranked:
        if all(_entry_name(chunk) != _entry_name(c) for c in chosen):
            chosen.append(chunk)
    return chosen[:SUGGESTIONS]


def _picked_entry(text: str, history: list[Message]) -> str | None:
    """The chunk id of the offered entry this message picks, if it picks one."""
    last_bot = next((m for m in reversed(history) if m.role == "bot"), None)
    offered = last_bot.meta.get("suggestions") if last_bot else None
    if not offered:
        return None
    normalized = normalize_for_search(text).strip()
    for position, pattern in enumerate(_CHOICES):
        if pattern.match(normalized) and position < len(offered):
            return str(offered[position])
    return None


def _refuse(language: TurnLanguage, kind: str, reason: str, text_key: str = "refusal") -> _Reply:
    return _Reply(
        "refuse", message(text_key, language.reply), [], security={"kind": kind, "reason": reason}
    )


def _distress(
    context: TenantContext, reason: str, decision: TriageDecision | None
) -> TriageDecision:
    """A threat to self or others the learned layer saw: distress (first in triage's
    precedence), keeping triage's own evidence when it had already said distress."""
    if decision is not None and decision.hard_rule and decision.category == "distress":
        return decision
    category = context.triage.policy.categories.get("distress")
    return TriageDecision("distress", category.priority if category else "urgent", True, reason)


REPEATED_MANIPULATION = "repeated_manipulation"
MANIPULATION_KINDS = ("injection", "manipulation")
"""Refusals that count towards the tenant's limit of attempts (an insult does not)."""


def _after_attempts(
    reply: _Reply, history: list[Message], context: TenantContext, language: TurnLanguage
) -> _Reply:
    """The tenant's limit of refused attempts in one conversation reached: an adviser
    takes the conversation over (the refusal stays recorded as a security event)."""
    limit = context.profile.manipulation_limit
    earlier = sum(
        1
        for m in history
        if m.role == "bot" and (m.meta.get("security") or {}).get("kind") in MANIPULATION_KINDS
    )
    if limit == 0 or earlier + 1 < limit:
        return reply
    decision = TriageDecision(
        REPEATED_MANIPULATION, "normal", False, f"{earlier + 1} refused attempts"
    )
    escalated = _escalate(language, decision)
    escalated.security = reply.security
    return escalated


def _escalate(language: TurnLanguage, decision: TriageDecision) -> _Reply:
    return _Reply("escalate", message("handoff_notice", language.reply), [], decision)


class Agent:
    def __init__(
        self,
        store: ConversationStore,
        tenants: Callable[[str], TenantContext],
        chat_model: ChatModel | None = None,
    ) -> None:
        self._store = store
        self._tenants = tenants
        self._chat_model = chat_model

    @property
    def generative(self) -> bool:
        return self._chat_model is not None

    def turn(
        self,
        tenant: str,
        text: str,
        conversation_id: str | None = None,
        client_message_id: str | None = None,
    ) -> TurnResult | RelayedMessage:
        """``client_message_id`` is stored with the customer's message; a second message
        with the same id raises DuplicateMessageError before any work is done."""
        prepared = self._prepare(tenant, text, conversation_id, client_message_id)
        if isinstance(prepared, RelayedMessage):
            return prepared
        if self._chat_model is None or prepared.reply is not None:
            return self._complete(prepared)
        return asyncio.run(self._last(self._generate(prepared, self._chat_model)))

    async def stream(
        self,
        tenant: str,
        text: str,
        conversation_id: str | None = None,
        client_message_id: str | None = None,
    ) -> AsyncIterator[Event]:
        """Text deltas as the answer is written, then the TurnResult (or RelayedMessage).

        If the model fails mid-answer the deltas stop and the final TurnResult carries
        the extractive fallback: its ``text`` is what the customer must end up seeing.
        """
        prepared = await asyncio.to_thread(
            self._prepare, tenant, text, conversation_id, client_message_id
        )
        if isinstance(prepared, RelayedMessage):
            yield prepared
        elif self._chat_model is None or prepared.reply is not None:
            result = await asyncio.to_thread(self._complete, prepared)
            yield result.text
            yield result
        else:
            async for event in self._generate(prepared, self._chat_model):
                yield event

    def _history(self, conversation_id: str) -> list[Message]:
        """The exchange so far; the greeting and AI disclosure every conversation opens
        with are not context (they would make every first question a follow-up)."""
        return [
            m
            for m in self._store.history(conversation_id, MAX_HISTORY)
            if m.meta.get("action") != WELCOME
        ]

    @staticmethod
    async def _last(events: AsyncIterator[Event]) -> TurnResult | RelayedMessage:
        last: Event | None = None
        async for event in events:
            last = event
        assert last is not None and not isinstance(last, str)
        return last

    def _prepare(
        self, tenant: str, text: str, conversation_id: str | None, client_message_id: str | None
    ) -> _Turn | RelayedMessage:
        started = time.perf_counter()
        context = self._tenants(tenant)
        conversation = (
            self._store.get(tenant, conversation_id)
            if conversation_id
            else self._store.create(tenant)
        )
        redaction = redact(text)
        history = self._history(conversation.id)
        if conversation.status in ("waiting_human", "human", "closed"):
            stored = self._store.add_message(
                conversation.id,
                "customer",
                redaction.text,
                {"redactions": redaction.kinds},
                client_message_id=client_message_id,
            )
            return RelayedMessage(
                conversation_id=conversation.id,
                message_id=stored.id,
                conversation_status=conversation.status,
                redactions=list(redaction.kinds),
            )
        language = turn_language(
            redaction.text, conversation.language, context.profile.arabizi_reply
        )
        self._store.add_message(
            conversation.id,
            "customer",
            redaction.text,
            {"language": language.detected, "redactions": redaction.kinds},
            client_message_id=client_message_id,
        )
        screening = screen(redaction.text)
        decision = context.triage.classify(redaction.text)
        learned = (
            context.screener.screen(redaction.text)
            if context.screener is not None and screening.verdict == "ok"
            else None
        )
        # The learned threat layer fills a gap; it does not move a message triage already
        # sent to a hard-rule queue (a family asking not to be cut off is vulnerable, and
        # "ne coupez pas" is no threat).
        if (
            learned is not None
            and learned.verdict == "threat"
            and not (decision and decision.hard_rule)
        ):
            decision = _distress(context, learned.reason, decision)
        reply: _Reply | None = None
        # Injection text is adversarial: triage cannot be trusted on it. An insult from a
        # customer in distress or facing fraud still reaches an adviser, and so does a
        # message the learned layer alone finds manipulative (it is less certain).
        if screening.verdict == "injection":
            reply = _refuse(language, "injection", screening.reason or "pattern")
        elif (
            learned is not None
            and learned.verdict == "manipulation"
            and not (decision and decision.hard_rule)
        ):
            reply = _refuse(language, "manipulation", learned.reason)
        elif screening.verdict == "abuse" and not (decision and decision.hard_rule):
            reply = _refuse(language, "abuse", screening.reason or "pattern", "abuse_warning")
        elif decision is not None and (decision.hard_rule or self._chat_model is None):
            # The safety floor: a model may add an escalation, never remove this one.
            reply = _escalate(language, decision)
        if reply is not None and reply.security and reply.security["kind"] in MANIPULATION_KINDS:
            reply = _after_attempts(reply, history, context, language)
        return _Turn(started, context, conversation, redaction, history, language, reply, decision)

    def _retrieve(self, turn: _Turn, query: str) -> list[RetrievedChunk]:
        retrieval_started = time.perf_counter()
        chunks = turn.context.retriever.search(query, RETRIEVAL_K)
        turn.retrieval_ms = (time.perf_counter() - retrieval_started) * 1000
        return chunks

    def _complete(self, turn: _Turn) -> TurnResult:
        """Extractive mode, or a turn whose outcome needs no writing."""
        if turn.reply is None:
            picked = _picked_entry(turn.redaction.text, turn.history)
            chunk = turn.context.retriever.entry(picked) if picked else None
            if chunk is not None:
                turn.reply = _answer_with(turn.redaction.text, chunk, turn.language)
            else:
                query = retrieval_query(turn.redaction.text, turn.history)
                turn.reply = self._answer(
                    query,
                    self._retrieve(turn, query),
                    turn.language,
                    turn.conversation,
                    turn.context,
                )
        return self._finish(turn)

    async def _generate(self, turn: _Turn, model: ChatModel) -> AsyncIterator[Event]:
        """Generative mode: the model classifies, rewrites and writes; any failure makes
        the rest of the turn extractive, and the turn reports mode=extractive."""
        history: list[tuple[str, str]] = [(m.role, m.text) for m in turn.history]
        company = turn.context.profile.display_name
        turn.mode = "generative"
        started = time.perf_counter()
        ready = await self._before_writing(turn, model, history, company, started)
        if isinstance(ready, TurnResult):
            yield ready.text
            yield ready
            return
        query, chunks = ready
        passages = [Passage.from_chunk(c) for c in chunks]
        pieces: list[str] = []
        try:
            async for piece in model.stream_answer(
                company=company,
                reply_language=turn.language.reply,
                question=turn.redaction.text,
                history=history,
                passages=passages,
            ):
                pieces.append(piece)
                yield piece
        except LlmError:
            turn.mode = "extractive"
            pieces = []
        turn.llm_ms = (time.perf_counter() - started) * 1000
        if not pieces:
            reply = self._answer(query, chunks, turn.language, turn.conversation, turn.context)
        else:
            reply = self._generated_reply("".join(pieces), chunks, passages, turn)
        # Database writes and retrieval stay off the event loop that streams other turns.
        yield await asyncio.to_thread(self._finish_with, turn, reply)

    async def _before_writing(
        self,
        turn: _Turn,
        model: ChatModel,
        history: list[tuple[str, str]],
        company: str,
        started: float,
    ) -> TurnResult | tuple[str, list[RetrievedChunk]]:
        """Classify, rewrite and retrieve: a finished turn when nothing is left to write,
        otherwise the query and the passages to write from."""
        text = turn.redaction.text

        async def finished(extractive: bool) -> TurnResult:
            turn.llm_ms = (time.perf_counter() - started) * 1000
            if extractive:
                turn.mode = "extractive"  # the endpoint is failing: no further call
                return await asyncio.to_thread(self._complete, turn)
            return await asyncio.to_thread(self._finish, turn)

        try:
            verdict = await model.classify(message=text, history=history, company=company)
        except LlmError:
            if turn.decision is not None:
                turn.reply = _escalate(turn.language, turn.decision)
            return await finished(extractive=True)
        if verdict.category and verdict.needs_human:
            category = turn.context.triage.policy.categories.get(verdict.category)
            decision = TriageDecision(
                verdict.category,
                verdict.priority,
                bool(category and category.hard_rule),
                f"model: {verdict.reason}",
            )
            turn.reply = _escalate(turn.language, decision)
            return await finished(extractive=False)
        query = retrieval_query(text, turn.history)
        if history:
            try:
                query = await model.rewrite_query(question=text, history=history, company=company)
            except LlmError:
                return await finished(extractive=True)
        chunks = await asyncio.to_thread(self._retrieve, turn, query)
        if not is_grounded(chunks):
            turn.reply = self._answer(query, chunks, turn.language, turn.conversation, turn.context)
            return await finished(extractive=False)
        return query, chunks

    def _generated_reply(
        self,
        answer: str,
        chunks: list[RetrievedChunk],
        passages: list[Passage],
        turn: _Turn,
    ) -> _Reply:
        no_answer = message("no_answer", turn.language.reply)
        if answer.strip() == no_answer:
            return self._miss(turn.language, turn.conversation, turn.context)
        by_id = {c.chunk_id: c for c in chunks}
        cited = cited_chunk_ids(answer, passages) or [chunks[0].chunk_id]
        citations = [
            Citation(
                source=by_id[cid].source,
                title=by_id[cid].title,
                chunk_id=cid,
                score=by_id[cid].score,
            )
            for cid in cited
        ]
        return _Reply("answer", _without_markers(answer, by_id), citations)

    def _finish_with(self, turn: _Turn, reply: _Reply) -> TurnResult:
        turn.reply = reply
        return self._finish(turn)

    def _answer(
        self,
        query: str,
        chunks: list[RetrievedChunk],
        language: TurnLanguage,
        conversation: Conversation,
        context: TenantContext,
    ) -> _Reply:
        """Answer only when the passages answer this message (agent/answerability.py);
        when it is close but unsure, offer the two nearest entries instead of guessing."""
        assessment = assess(
            chunks, query, reply_language=language.reply, language=language.detected
        )
        if assessment.verdict == "answer" and assessment.ranked:
            # The same entry in the customer's language, when retrieval found it nearly as good.
            return _answer_with(query, choose(assessment.ranked, language.reply), language)
        offered = _suggestions(assessment, language.reply)
        if assessment.verdict == "suggest" and len(offered) == SUGGESTIONS:
            first, second = (_entry_name(c) for c in offered)
            text = message("suggestions", language.reply, first=first, second=second)
            return _Reply(
                "clarify", text, [], grounded=False, suggestions=[c.chunk_id for c in offered]
            )
        return self._miss(language, conversation, context)

    @staticmethod
    def _miss(language: TurnLanguage, conversation: Conversation, context: TenantContext) -> _Reply:
        """No grounded answer: say so, and hand over on the second miss in a row."""
        if conversation.consecutive_misses >= 1:
            category = context.triage.policy.categories.get("no_answer_repeated")
            priority: Priority = category.priority if category else "normal"
            decision = TriageDecision("no_answer_repeated", priority, False, "second miss")
            return _Reply(
                "escalate", message("no_answer_repeated", language.reply), [], decision, False
            )
        return _Reply("clarify", message("no_answer", language.reply), [], grounded=False)

    def _finish(self, turn: _Turn) -> TurnResult:
        assert turn.reply is not None
        conversation, context, redaction = turn.conversation, turn.context, turn.redaction
        language, reply = turn.language, turn.reply
        if redaction.has_card:
            url = context.profile.payment_url
            warning = (
                message("card_data_warning", language.reply, payment_url=url)
                if url
                else message("card_data_warning_generic", language.reply)
            )
            reply.text = f"{warning}\n\n{reply.text}" if reply.action != "clarify" else warning
        escalation = None
        status = conversation.status
        if reply.escalation is not None:
            decision = reply.escalation
            reason = _category_text("reason", decision.category)
            summary = self._summary(conversation, language, decision, redaction.text)
            handoff_id = self._store.open_handoff(
                conversation.id,
                HandoffRequest(
                    category=decision.category,
                    reason=reason,
                    priority=decision.priority,
                    language=language.detected,
                    summary=summary,
                    citations=[c.model_dump() for c in reply.citations],
                ),
                actor="bot",
            )
            escalation = Escalation(
                category=decision.category,
                reason=reason,
                priority=decision.priority,
                handoff_id=handoff_id,
            )
            status = "waiting_human"
        misses = 0 if reply.grounded else conversation.consecutive_misses + 1
        stored = self._store.add_reply(
            conversation.id,
            reply.text,
            {
                "action": reply.action,
                "citations": [c.model_dump() for c in reply.citations],
                "escalation": escalation.model_dump() if escalation else None,
                **({"suggestions": reply.suggestions} if reply.suggestions else {}),
                **({"security": reply.security} if reply.security else {}),
            },
            language=language.detected,
            consecutive_misses=misses,
        )
        return TurnResult(
            conversation_id=conversation.id,
            message_id=stored.id,
            action=reply.action,
            text=reply.text,
            language=LanguageInfo(detected=language.detected, reply=language.reply),
            citations=reply.citations,
            escalation=escalation,
            redactions=list(redaction.kinds),
            conversation_status=status,
            mode=turn.mode,
            timings_ms=Timings(
                total=(time.perf_counter() - turn.started) * 1000,
                retrieval=turn.retrieval_ms,
                llm=turn.llm_ms,
            ),
        )

    def request_handoff(
        self,
        tenant: str,
        conversation_id: str,
        reason: str | None,
        *,
        language_hint: DetectedLanguage | None = None,
    ) -> str:
        """The customer asked for a human (the widget's button): queue the conversation
        with the same summary and suggested reply an escalation gets; returns its id.

        ``language_hint`` (the widget's locale, say) stands in for the customer's language
        when they have not written anything yet."""
        context = self._tenants(tenant)
        conversation = self._store.get(tenant, conversation_id)
        history = self._history(conversation.id)
        last_customer = _last_customer_text(history)
        note = redact(reason).text if reason else ""
        text = last_customer or note
        known = conversation.language or (None if text else language_hint)
        language = turn_language(text, known, context.profile.arabizi_reply)
        category = context.triage.policy.categories.get("human_request")
        decision = TriageDecision(
            "human_request", category.priority if category else "high", True, "button"
        )
        excerpt = " — ".join(part for part in (note, last_customer) if part) or adviser_text(
            "no_message"
        )
        return self._store.open_handoff(
            conversation.id,
            HandoffRequest(
                category="human_request",
                reason=adviser_text("reason.human_request"),
                priority=decision.priority,
                language=language.detected,
                summary=self._summary(conversation, language, decision, excerpt),
            ),
            actor="customer",
        )

    async def draft_handoff(self, tenant: str, conversation_id: str) -> HandoffDraft | None:
        """Generative mode: a handover note and a grounded first reply written by the
        model; None without a model or when it fails (the extractive drafts stay)."""
        model = self._chat_model
        if model is None:
            return None
        context = self._tenants(tenant)
        conversation = self._store.get(tenant, conversation_id)
        messages = self._history(conversation.id)
        history: list[tuple[str, str]] = [(m.role, m.text) for m in messages]
        company = context.profile.display_name
        question = _last_customer_text(messages)
        language = turn_language(question, conversation.language, context.profile.arabizi_reply)
        try:
            summary = await model.summarize(history=history, company=company)
            reply: str | None = None
            chunks = context.retriever.search(question, RETRIEVAL_K) if question else []
            if is_grounded(chunks):
                pieces = [
                    piece
                    async for piece in model.stream_answer(
                        company=company,
                        reply_language=language.reply,
                        question=question,
                        history=history,
                        passages=[Passage.from_chunk(c) for c in chunks],
                    )
                ]
                answer = "".join(pieces).strip()
                if answer and answer != message("no_answer", language.reply):
                    reply = _without_markers(answer, [c.chunk_id for c in chunks])
        except LlmError:
            return None
        return HandoffDraft(summary, reply)

    def suggest_reply(self, tenant: str, conversation_id: str) -> str:
        """A first reply for the adviser to edit, written when an adviser first opens the
        handoff rather than during the customer's turn, which it would slow down."""
        context = self._tenants(tenant)
        conversation = self._store.get(tenant, conversation_id)
        history = self._history(conversation.id)
        question = _last_customer_text(history)
        language = turn_language(question, conversation.language, context.profile.arabizi_reply)
        return self._suggested_reply(context, language, question)

    def _suggested_reply(self, context: TenantContext, language: TurnLanguage, text: str) -> str:
        """A greeting, and the documentation's answer to the customer's last message when
        there is a grounded one."""
        opening = message("adviser_opening", language.reply)
        if not text.strip():
            return opening
        answer = extract(text, context.retriever.search(text, RETRIEVAL_K), language.reply)
        if answer is None or answer.needs_preface:
            return opening
        return f"{opening}\n\n{answer.text}"

    def _summary(
        self,
        conversation: Conversation,
        language: TurnLanguage,
        decision: TriageDecision,
        last_text: str,
    ) -> str:
        excerpt = " ".join(last_text.split())[:SUMMARY_EXCERPT_CHARS]
        return adviser_text(
            "summary",
            customer_language=adviser_text(f"language_name.{language.detected}"),
            category_label=_category_text("category_label", decision.category),
            excerpt=excerpt,
        )
