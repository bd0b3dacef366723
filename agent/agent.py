"""One customer turn in, one TurnResult out (DESIGN.md section 2).

normalise → detect language → redact PII → screen for injection and abuse → triage →
retrieve with the conversation's context → answer from the passages, clarify, escalate
or refuse. Only redacted text is ever stored, logged or searched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.context import retrieval_query
from agent.conversation import Conversation, ConversationStore, HandoffRequest
from agent.extractive import extract
from agent.language import TurnLanguage, turn_language
from agent.redaction import Redaction, redact
from agent.result import (
    Action,
    Citation,
    Escalation,
    LanguageInfo,
    Priority,
    RelayedMessage,
    Timings,
    TurnResult,
)
from agent.screening import screen
from agent.tenant import TenantProfile
from agent.triage import Triage, TriageDecision
from knowledge_base.retrieval import HybridRetriever, RetrievedChunk
from prompts import adviser_text, message

RETRIEVAL_K = 5
MAX_HISTORY = 12
SUMMARY_EXCERPT_CHARS = 160


@dataclass(frozen=True)
class TenantContext:
    profile: TenantProfile
    retriever: HybridRetriever
    triage: Triage


@dataclass
class _Reply:
    action: Action
    text: str
    citations: list[Citation]
    escalation: TriageDecision | None = None
    grounded: bool = True


class Agent:
    def __init__(self, store: ConversationStore, tenants: Callable[[str], TenantContext]) -> None:
        self._store = store
        self._tenants = tenants

    def turn(
        self, tenant: str, text: str, conversation_id: str | None = None
    ) -> TurnResult | RelayedMessage:
        started = time.perf_counter()
        context = self._tenants(tenant)
        conversation = (
            self._store.get(tenant, conversation_id)
            if conversation_id
            else self._store.create(tenant)
        )
        redaction = redact(text)
        history = self._store.history(conversation.id, MAX_HISTORY)
        if conversation.status in ("waiting_human", "human", "closed"):
            stored = self._store.add_message(
                conversation.id, "customer", redaction.text, {"redactions": redaction.kinds}
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
        )
        retrieval_ms = 0.0
        reply: _Reply
        screening = screen(redaction.text)
        decision = context.triage.classify(redaction.text)
        # Injection text is adversarial: triage cannot be trusted on it. An insult from a
        # customer in distress or facing fraud still reaches an adviser.
        if screening.verdict == "injection":
            reply = _Reply("refuse", message("refusal", language.reply), [])
        elif screening.verdict == "abuse" and not (decision and decision.hard_rule):
            reply = _Reply("refuse", message("abuse_warning", language.reply), [])
        elif decision is not None:
            reply = _Reply("escalate", message("handoff_notice", language.reply), [], decision)
        else:
            query = retrieval_query(redaction.text, history)
            retrieval_started = time.perf_counter()
            chunks = context.retriever.search(query, RETRIEVAL_K)
            retrieval_ms = (time.perf_counter() - retrieval_started) * 1000
            reply = self._answer(query, chunks, language, conversation, context)

        if redaction.has_card:
            url = context.profile.payment_url
            warning = (
                message("card_data_warning", language.reply, payment_url=url)
                if url
                else message("card_data_warning_generic", language.reply)
            )
            reply.text = f"{warning}\n\n{reply.text}" if reply.action != "clarify" else warning
        return self._finish(
            conversation, context, redaction, language, reply, started, retrieval_ms
        )

    def _answer(
        self,
        query: str,
        chunks: list[RetrievedChunk],
        language: TurnLanguage,
        conversation: Conversation,
        context: TenantContext,
    ) -> _Reply:
        answer = extract(query, chunks, language.reply)
        if answer is None:
            if conversation.consecutive_misses >= 1:
                category = context.triage.policy.categories.get("no_answer_repeated")
                priority: Priority = category.priority if category else "normal"
                decision = TriageDecision("no_answer_repeated", priority, False, "second miss")
                return _Reply(
                    "escalate", message("no_answer_repeated", language.reply), [], decision, False
                )
            return _Reply("clarify", message("no_answer", language.reply), [], grounded=False)
        chunk = answer.chunk
        text = answer.text
        if answer.needs_preface:
            text = f"{message('source_preface', language.reply)}\n{text}"
        citation = Citation(
            source=chunk.source, title=chunk.title, chunk_id=chunk.chunk_id, score=chunk.score
        )
        return _Reply("answer", text, [citation])

    def _finish(
        self,
        conversation: Conversation,
        context: TenantContext,
        redaction: Redaction,
        language: TurnLanguage,
        reply: _Reply,
        started: float,
        retrieval_ms: float,
    ) -> TurnResult:
        escalation = None
        status = conversation.status
        if reply.escalation is not None:
            decision = reply.escalation
            reason = adviser_text(f"reason.{decision.category}")
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
            )
            escalation = Escalation(
                category=decision.category,
                reason=reason,
                priority=decision.priority,
                handoff_id=handoff_id,
            )
            status = "waiting_human"
        misses = 0 if reply.grounded else conversation.consecutive_misses + 1
        self._store.update(conversation.id, language=language.detected, consecutive_misses=misses)
        stored = self._store.add_message(
            conversation.id,
            "bot",
            reply.text,
            {
                "action": reply.action,
                "citations": [c.model_dump() for c in reply.citations],
                "escalation": escalation.model_dump() if escalation else None,
            },
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
            mode="extractive",
            timings_ms=Timings(
                total=(time.perf_counter() - started) * 1000, retrieval=retrieval_ms, llm=0.0
            ),
        )

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
            category_label=adviser_text(f"category_label.{decision.category}"),
            excerpt=excerpt,
        )
