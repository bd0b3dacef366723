"""Generative mode: the LLM behind a small port, and its LangChain adapter.

The agent only knows :class:`ChatModel`: stream a grounded, cited answer; classify a
message for escalation; rewrite a follow-up into a standalone search query.
:class:`LangChainChatModel` implements it with ``langchain_openai.ChatOpenAI`` against
any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp, LiteLLM...).

Every failure surfaces as :class:`LlmError` with a short message that never contains the
API key, so the agent can fall back to extractive mode and log the reason safely. The
prompts come from ``prompts/llm/*.yaml``; the conversation and the passages are trimmed
to the model's context window, counting tokens offline with tiktoken (cl100k_base: an
estimate for models with another tokenizer, so leave some slack in ``context_window``).

Structured output (triage) uses ``response_format`` with a JSON schema rather than a
forced tool call: the triage prompt already asks for a bare JSON object, servers that
constrain decoding (OpenAI, vLLM, llama.cpp, Ollama) honour the schema, and a server that
ignores ``response_format`` still answers with the JSON the prompt asks for, whereas a
server without forced ``tool_choice`` answers a tool request in prose. The reply is then
parsed strictly here: no partial-JSON repair, exact types, known categories only.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import httpx
import httpx2
import openai
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from openai._response import AsyncAPIResponse
from openai.resources.chat.completions import AsyncCompletions
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError

from agent.result import CATEGORIES, PRIORITIES, Priority, ReplyLanguage
from knowledge_base.retrieval import RetrievedChunk
from knowledge_base.tokens import count_tokens
from prompts import llm_prompt, message

History = list[tuple[str, str]]
"""Earlier turns, oldest first, as (role, text); roles as in agent.conversation.Role."""

TRIAGE_CATEGORIES: Final[tuple[str, ...]] = tuple(
    c for c in CATEGORIES if c != "no_answer_repeated"
)
"""What the model may choose; no_answer_repeated is the agent's own decision."""
NO_CATEGORY: Final = "none"
DEFAULT_COMPANY: Final = "our company"
"""Used in the triage and rewrite prompts when the caller does not name the tenant."""

TRIAGE_REPLY_TOKENS: Final = 300
REWRITE_REPLY_TOKENS: Final = 120
SUMMARY_REPLY_TOKENS: Final = 300
# Chat formats wrap each message in a few tokens of role markup, and prime the reply.
_TOKENS_PER_MESSAGE: Final = 8
_REPLY_PRIMING_TOKENS: Final = 4
_MAX_DETAIL_CHARS: Final = 160

_ROLE_LABELS: Final = {
    "customer": "Customer",
    "user": "Customer",
    "bot": "Assistant",
    "assistant": "Assistant",
    "adviser": "Adviser",
}
_SKIPPED_ROLES: Final = frozenset({"system"})
_CITATION: Final = re.compile(r"\[([^\[\]\n]{1,400})\]")
_CITATION_SEPARATOR: Final = re.compile(r"[\s,;]+")
_FENCE: Final = re.compile(r"\A```[A-Za-z]*\s*\n?(.*?)\n?```\Z", re.DOTALL)
_QUERY_LABEL: Final = re.compile(r"\A(?:query|requête)\s*:\s*", re.IGNORECASE)
_QUOTES: Final = (('"', '"'), ("'", "'"), ("«", "»"), ("“", "”"))

# openai 3 runs on httpx2; errors raised while reading a stream can come through unwrapped.
_TIMEOUT_ERRORS: Final = (
    openai.APITimeoutError,
    TimeoutError,
    httpx2.TimeoutException,
    httpx.TimeoutException,
)
_TRANSPORT_ERRORS: Final = (openai.APIConnectionError, httpx2.TransportError, httpx.TransportError)

LlmErrorKind = Literal[
    "timeout", "connection", "http", "invalid_reply", "empty", "truncated", "context", "error"
]

TRIAGE_SCHEMA: Final[dict[str, Any]] = {
    "name": "triage",
    "description": "Escalation decision for the customer's latest message.",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": [*TRIAGE_CATEGORIES, NO_CATEGORY]},
            "priority": {"type": "string", "enum": list(PRIORITIES)},
            "reason": {"type": "string"},
            "needs_human": {"type": "boolean"},
        },
        "required": ["category", "priority", "reason", "needs_human"],
        "additionalProperties": False,
    },
}
"""The triage prompt's output contract, sent as ``response_format`` (json_schema)."""


class LlmError(RuntimeError):
    """The LLM could not give a usable reply: timeout, HTTP error, malformed reply...

    ``kind`` says which, for metrics and logs; the message is short and never contains
    the API key or the server's URL.
    """

    def __init__(self, message: str, kind: LlmErrorKind = "error") -> None:
        super().__init__(message)
        self.kind: LlmErrorKind = kind


@dataclass(frozen=True)
class LlmTriage:
    category: str | None
    """One of TRIAGE_CATEGORIES, or None when no category applies."""
    priority: Priority
    reason: str
    """One sentence in French for the adviser."""
    needs_human: bool


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    text: str
    source: str
    title: str | None

    @classmethod
    def from_chunk(cls, chunk: RetrievedChunk) -> Passage:
        return cls(chunk_id=chunk.chunk_id, text=chunk.text, source=chunk.source, title=chunk.title)


class ChatModel(Protocol):
    """The generative model as the agent sees it. Texts are already redacted."""

    # A plain ``def``: implementations are async generators, called without ``await``:
    # ``async for piece in model.stream_answer(...)``.
    def stream_answer(
        self,
        *,
        company: str,
        reply_language: ReplyLanguage,
        question: str,
        history: History,
        passages: list[Passage],
    ) -> AsyncIterator[str]:
        """The answer, piece by piece. Passages come best first; the answer cites their
        ids in brackets, or is exactly ``message("no_answer", reply_language)``. May raise
        LlmError after some pieces were yielded (timeout, cut stream): discard them."""
        ...

    async def classify(
        self, *, message: str, history: History, company: str | None = None
    ) -> LlmTriage: ...

    async def rewrite_query(
        self, *, question: str, history: History, company: str | None = None
    ) -> str: ...

    async def summarize(self, *, history: History, company: str | None = None) -> str:
        """A two- or three-sentence French handover note for the adviser."""
        ...


class _TriageReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    category: StrictStr | None
    priority: Literal["low", "normal", "high", "urgent"]
    reason: StrictStr
    needs_human: StrictBool


def format_history(history: Sequence[tuple[str, str]]) -> str:
    """One line per turn, ``Customer: ...`` / ``Assistant: ...`` / ``Adviser: ...``.

    Line breaks inside a turn become spaces, so a message cannot fake another speaker's
    line. System notes are left out.
    """
    lines = []
    for role, text in history:
        if role in _SKIPPED_ROLES:
            continue
        label = _ROLE_LABELS.get(role)
        if label is None:
            raise ValueError(f"unknown conversation role {role!r}")
        lines.append(f"{label}: {' '.join(text.split())}")
    return "\n".join(lines)


def format_passages(passages: Sequence[Passage]) -> str:
    """The passages as the grounded-answer prompt shows them, separated by blank lines."""
    prompt = llm_prompt("grounded_answer")
    return "\n\n".join(
        prompt.format_part(
            "passage",
            chunk_id=p.chunk_id,
            text=p.text.strip(),
            source=p.source,
            title=p.title or "",
        )
        for p in passages
    )


def fit_to_budget(
    history: Sequence[tuple[str, str]],
    passages: Sequence[Passage],
    *,
    budget_tokens: int,
) -> tuple[History, list[Passage]]:
    """Keep what fits in ``budget_tokens``: the oldest turns go first, then the
    lowest-ranked (last) passages.

    The count is that of the rendered blocks, ``format_history(h)`` plus
    ``format_passages(p)``, with knowledge_base.tokens.count_tokens.
    """
    kept_history = list(history)
    kept_passages = list(passages)
    passages_cost = count_tokens(format_passages(kept_passages)) if kept_passages else 0
    while kept_history and count_tokens(format_history(kept_history)) + passages_cost > (
        budget_tokens
    ):
        kept_history.pop(0)
    history_cost = count_tokens(format_history(kept_history)) if kept_history else 0
    while kept_passages and history_cost + passages_cost > budget_tokens:
        kept_passages.pop()
        passages_cost = count_tokens(format_passages(kept_passages)) if kept_passages else 0
    return kept_history, kept_passages


def cited_chunk_ids(answer: str, passages: Sequence[Passage]) -> list[str]:
    """The passage ids the answer cites in brackets, in order of first citation.

    ``[a][b]`` and ``[a, b]`` both cite two passages; a bracketed id that is not one of
    ``passages`` (invented or mistyped by the model) is ignored.
    """
    known = {p.chunk_id for p in passages}
    cited: list[str] = []
    for match in _CITATION.finditer(answer):
        for token in _CITATION_SEPARATOR.split(match.group(1)):
            if token in known and token not in cited:
                cited.append(token)
    return cited


def parse_triage(text: str) -> LlmTriage:
    """The triage reply as LlmTriage; LlmError unless it is exactly the contract.

    One surrounding Markdown code fence is tolerated (servers that ignore
    ``response_format`` often add one); truncated or repaired JSON is not.
    """
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError:
        raise LlmError("the triage reply is not valid JSON", "invalid_reply") from None
    return triage_from(data)


def triage_from(data: object) -> LlmTriage:
    """The decoded triage object as LlmTriage; LlmError unless it is the contract."""
    if not isinstance(data, dict):
        raise LlmError("the triage reply is not a JSON object", "invalid_reply")
    try:
        reply = _TriageReply.model_validate(data)
    except ValidationError as error:
        fields = sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]})
        raise LlmError(
            f"the triage reply has missing or invalid fields: {', '.join(fields) or '?'}",
            "invalid_reply",
        ) from None
    category = reply.category.strip() if reply.category is not None else NO_CATEGORY
    if category != NO_CATEGORY and category not in TRIAGE_CATEGORIES:
        raise LlmError(
            f"the triage reply has an unknown category {category[:40]!r}", "invalid_reply"
        )
    reason = " ".join(reply.reason.split())
    if not reason:
        raise LlmError("the triage reply has an empty reason", "invalid_reply")
    return LlmTriage(
        category=None if category == NO_CATEGORY else category,
        priority=reply.priority,
        reason=reason,
        needs_human=reply.needs_human,
    )


def clean_query(text: str) -> str:
    """The rewritten query: its first non-blank line, without a label or quotes."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    line = _QUERY_LABEL.sub("", line).strip()
    for left, right in _QUOTES:
        if len(line) >= 2 and line.startswith(left) and line.endswith(right):
            line = line[len(left) : -len(right)].strip()
            break
    return line


@dataclass(frozen=True)
class _ClientSettings:
    base_url: str
    api_key: str = field(repr=False)
    model: str


class _JsonChunks:
    """An answer's stream as the JSON objects the server sent, for ChatOpenAI.

    The SDK's own stream builds a pydantic model of every chunk, which ChatOpenAI then
    dumps back to a dict: 6 of the 30 ms of CPU of a paced 30-chunk answer. ChatOpenAI
    takes dicts as they are. Errors stay the SDK's: an HTTP error status raises APIStatusError when
    the stream opens, an error object inside the stream raises APIError.
    """

    def __init__(self, response: AsyncAPIResponse[Any]) -> None:
        self._response = response

    async def __aenter__(self) -> _JsonChunks:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._response.close()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[dict[str, Any]]:
        try:
            async for line in self._response.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, comments, event names
                data = line[5:].strip()
                if data.startswith("[DONE]"):
                    break
                chunk = json.loads(data)
                if not isinstance(chunk, dict):
                    continue
                if error := chunk.get("error"):
                    text = error.get("message") if isinstance(error, dict) else None
                    raise openai.APIError(
                        text if isinstance(text, str) and text else "error while streaming",
                        request=self._response.http_request,
                        body=error,
                    )
                yield chunk
        finally:
            await self._response.close()


class _JsonStreamingCompletions:
    """``chat.completions`` whose streamed answers come as :class:`_JsonChunks`."""

    def __init__(self, completions: AsyncCompletions) -> None:
        self._completions = completions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._completions, name)

    async def create(self, **payload: Any) -> Any:
        if not payload.get("stream"):
            return await self._completions.create(**payload)
        response = await self._completions.with_streaming_response.create(**payload).__aenter__()
        return _JsonChunks(response)


@dataclass(frozen=True)
class _Clients:
    http: httpx2.AsyncClient
    answer: ChatOpenAI
    rewrite: ChatOpenAI
    triage: Runnable[LanguageModelInput, dict[str, Any] | BaseModel]


class LangChainChatModel:
    """:class:`ChatModel` on ``langchain_openai.ChatOpenAI``.

    No retries: the customer is waiting and the agent has an extractive fallback, so a
    failure is reported at once instead of doubling the worst-case latency. ``timeout_s``
    bounds each classify / rewrite call as a whole, and for an answer both the wait for
    the stream to start and each silence between two streamed pieces.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout_s: float = 20.0,
        context_window: int = 16000,
        answer_tokens: int = 600,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if answer_tokens <= 0 or context_window <= answer_tokens:
            raise ValueError("need 0 < answer_tokens < context_window")
        self._timeout_s = timeout_s
        self._context_window = context_window
        self._answer_tokens = answer_tokens
        self._secrets = tuple(s for s in (api_key,) if s)
        self._settings = _ClientSettings(base_url, api_key or "not-needed", model)
        # The models ChatOpenAI knows to lack json_schema (it would switch with a warning).
        legacy = model.startswith(("gpt-3", "gpt-4-")) or model == "gpt-4"
        self._structured_method: Literal["json_schema", "function_calling"] = (
            "function_calling" if legacy else "json_schema"
        )
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Clients] = (
            weakref.WeakKeyDictionary()
        )
        self._tls: ssl.SSLContext | None = None

    def _for_this_loop(self) -> _Clients:
        """The clients of the running event loop.

        An httpx connection pool belongs to the loop that opened it: reused from another
        loop (one ``asyncio.run`` per turn, say) its connections fail. ChatOpenAI shares
        one pool per base URL across the process, so each loop gets its own here.
        """
        loop = asyncio.get_running_loop()
        clients = self._clients.get(loop)
        if clients is None:
            # ChatOpenAI refuses OPENAI_PROXY next to a client of ours: the client takes it.
            proxy = os.environ.get("OPENAI_PROXY") or None
            # Loading the CA bundle costs ~35 ms of CPU: once per model, not once per loop
            # (a synchronous turn runs its own loop).
            if self._tls is None:
                self._tls = ssl.create_default_context()
            http = (
                openai.DefaultAsyncHttpxClient(proxy=proxy, verify=self._tls)
                if proxy
                else openai.DefaultAsyncHttpxClient(verify=self._tls)
            )
            answer = self._chat_openai(http, self._answer_tokens)
            answer.async_client = _JsonStreamingCompletions(answer.async_client)
            clients = _Clients(
                http=http,
                answer=answer,
                rewrite=self._chat_openai(http, REWRITE_REPLY_TOKENS),
                triage=self._chat_openai(http, TRIAGE_REPLY_TOKENS).with_structured_output(
                    TRIAGE_SCHEMA, method=self._structured_method, include_raw=True
                ),
            )
            self._clients[loop] = clients
        return clients

    async def aclose(self) -> None:
        """Close the running loop's connections (say, before an ``asyncio.run`` ends)."""
        clients = self._clients.pop(asyncio.get_running_loop(), None)
        if clients is not None:
            await clients.http.aclose()

    def _chat_openai(self, http: httpx2.AsyncClient, max_tokens: int) -> ChatOpenAI:
        # An explicit key, even for servers that need none: otherwise ChatOpenAI would
        # send OPENAI_API_KEY from the environment to whatever base_url says.
        return ChatOpenAI(
            base_url=self._settings.base_url,
            api_key=self._settings.api_key,
            model=self._settings.model,
            timeout=self._timeout_s,
            max_retries=0,
            max_tokens=max_tokens,
            temperature=0,
            stream_chunk_timeout=self._timeout_s,
            http_async_client=http,
            openai_proxy=None,
            http_socket_options=(),  # no custom transport for the unused sync client
        )

    async def stream_answer(
        self,
        *,
        company: str,
        reply_language: ReplyLanguage,
        question: str,
        history: History,
        passages: list[Passage],
    ) -> AsyncIterator[str]:
        messages = self._answer_messages(company, reply_language, question, history, passages)
        produced = False
        finish_reason: str | None = None
        stream = self._for_this_loop().answer.astream(messages)
        try:
            async for chunk in stream:
                finish_reason = chunk.response_metadata.get("finish_reason") or finish_reason
                piece = str(chunk.text)
                if not produced:
                    piece = piece.lstrip()
                if piece:
                    produced = True
                    yield piece
        except Exception as exc:
            raise self._error(exc) from None
        finally:
            # Closes the HTTP response now when the caller stops reading early.
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        if not produced:
            raise LlmError("the LLM returned an empty answer", "empty")
        if finish_reason is None:
            raise LlmError("the answer stream ended before the model finished", "truncated")
        if finish_reason == "length":
            raise LlmError(
                f"the answer was cut at the {self._answer_tokens}-token limit", "truncated"
            )
        if finish_reason == "content_filter":
            raise LlmError("the server's content filter stopped the answer", "invalid_reply")

    async def classify(
        self, *, message: str, history: History, company: str | None = None
    ) -> LlmTriage:
        prompt = llm_prompt("triage")
        system = prompt.format_system(company=company or DEFAULT_COMPANY)
        kept = self._fit_history(
            history, TRIAGE_REPLY_TOKENS, system, prompt.format_user(history="", message=message)
        )
        user = prompt.format_user(history=format_history(kept), message=message)
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await self._for_this_loop().triage.ainvoke(
                    [SystemMessage(system), HumanMessage(user)]
                )
        except Exception as exc:
            raise self._error(exc) from None
        raw = result.get("raw") if isinstance(result, dict) else None
        if not isinstance(raw, BaseMessage):
            raise LlmError("the triage reply has no message", "invalid_reply")
        # With function calling (gpt-3*, gpt-4-*), the object is the call's arguments.
        if isinstance(raw, AIMessage) and (raw.tool_calls or raw.invalid_tool_calls):
            if not raw.tool_calls:
                raise LlmError("the triage tool call is not valid JSON", "invalid_reply")
            return triage_from(raw.tool_calls[0]["args"])
        return parse_triage(str(raw.text))

    async def rewrite_query(
        self, *, question: str, history: History, company: str | None = None
    ) -> str:
        prompt = llm_prompt("query_rewrite")
        system = prompt.format_system(company=company or DEFAULT_COMPANY)
        kept = self._fit_history(
            history,
            REWRITE_REPLY_TOKENS,
            system,
            prompt.format_user(history="", question=question),
        )
        user = prompt.format_user(history=format_history(kept), question=question)
        try:
            async with asyncio.timeout(self._timeout_s):
                reply = await self._for_this_loop().rewrite.ainvoke(
                    [SystemMessage(system), HumanMessage(user)]
                )
        except Exception as exc:
            raise self._error(exc) from None
        query = clean_query(str(reply.text))
        if not query:
            raise LlmError("the LLM returned an empty query", "empty")
        return query

    async def summarize(self, *, history: History, company: str | None = None) -> str:
        prompt = llm_prompt("summary")
        system = prompt.format_system(company=company or DEFAULT_COMPANY)
        kept = self._fit_history(
            history, SUMMARY_REPLY_TOKENS, system, prompt.format_user(conversation="")
        )
        user = prompt.format_user(conversation=format_history(kept))
        try:
            async with asyncio.timeout(self._timeout_s):
                reply = await self._for_this_loop().answer.ainvoke(
                    [SystemMessage(system), HumanMessage(user)]
                )
        except Exception as exc:
            raise self._error(exc) from None
        note = " ".join(str(reply.text).split())
        if not note:
            raise LlmError("the LLM returned an empty summary", "empty")
        return note

    def _answer_messages(
        self,
        company: str,
        reply_language: ReplyLanguage,
        question: str,
        history: History,
        passages: list[Passage],
    ) -> list[BaseMessage]:
        prompt = llm_prompt("grounded_answer")
        values: dict[str, str | int] = {
            "company": company,
            "reply_language": reply_language,
            "no_answer": message("no_answer", reply_language),
            "question": question,
        }
        system = prompt.format_system(**values)
        budget = self._budget(
            self._answer_tokens, system, prompt.format_user(**values, history="", passages="")
        )
        for _ in range(3):
            kept_history, kept_passages = fit_to_budget(history, passages, budget_tokens=budget)
            if passages and not kept_passages:
                raise LlmError("no passage fits the context window", "context")
            user = prompt.format_user(
                **values,
                history=format_history(kept_history),
                passages=format_passages(kept_passages),
            )
            # Blocks counted apart can tokenize a little differently once joined.
            excess = self._used(system, user) + self._answer_tokens - self._context_window
            if excess <= 0:
                return [SystemMessage(system), HumanMessage(user)]
            budget -= excess
        raise LlmError("the prompt does not fit the context window", "context")

    def _fit_history(
        self, history: History, reply_tokens: int, system: str, bare_user: str
    ) -> History:
        kept, _ = fit_to_budget(
            history, [], budget_tokens=self._budget(reply_tokens, system, bare_user)
        )
        return kept

    def _budget(self, reply_tokens: int, system: str, bare_user: str) -> int:
        """Tokens left for history and passages once the fixed prompt text is counted."""
        budget = self._context_window - reply_tokens - self._used(system, bare_user)
        if budget < 0:
            raise LlmError("the prompt does not fit the context window", "context")
        return budget

    @staticmethod
    def _used(system: str, user: str) -> int:
        return (
            count_tokens(system)
            + count_tokens(user)
            + 2 * _TOKENS_PER_MESSAGE
            + _REPLY_PRIMING_TOKENS
        )

    def _error(self, exc: BaseException) -> LlmError:
        """A short, key-free LlmError for any failure of the client stack."""
        if isinstance(exc, LlmError):
            return exc
        if isinstance(exc, openai.LengthFinishReasonError):
            return LlmError("the reply was cut at its token limit", "truncated")
        if isinstance(exc, openai.ContentFilterFinishReasonError):
            return LlmError("the server's content filter stopped the reply", "invalid_reply")
        if isinstance(exc, _TIMEOUT_ERRORS):
            return LlmError(f"the LLM did not answer within {self._timeout_s:g} s", "timeout")
        if isinstance(exc, openai.APIStatusError):
            detail = self._server_detail(exc.body)
            suffix = f": {detail}" if detail else ""
            return LlmError(f"the LLM server answered HTTP {exc.status_code}{suffix}", "http")
        if isinstance(exc, _TRANSPORT_ERRORS):
            return LlmError("cannot reach the LLM server", "connection")
        if isinstance(exc, ValueError | openai.APIResponseValidationError):
            return LlmError(f"the LLM reply is malformed ({type(exc).__name__})", "invalid_reply")
        return LlmError(f"the LLM call failed ({type(exc).__name__})", "error")

    def _server_detail(self, body: object) -> str:
        """The error message a server put in its body, shortened, without secrets."""
        if isinstance(body, dict):
            body = body.get("error", body)
            if isinstance(body, dict):
                body = body.get("message")
        if not isinstance(body, str):
            return ""
        detail = " ".join(body.split())
        for secret in self._secrets:
            detail = detail.replace(secret, "***")
        if len(detail) > _MAX_DETAIL_CHARS:
            detail = detail[: _MAX_DETAIL_CHARS - 1] + "…"
        return detail
