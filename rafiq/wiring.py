"""Builds Rafiq's components from settings, once per process."""

from __future__ import annotations

import logging
import os
import threading
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from chromadb.api import ClientAPI
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from agent.agent import Agent, TenantContext
from agent.llm import ChatModel, LangChainChatModel
from agent.policy import default_policy, parse_policy
from agent.screening_model import LearnedScreener
from agent.tenant import TenantProfile
from agent.triage import Triage
from api.config import ApiConfig
from api.conversation_store import SqlConversationStore
from api.customers import CustomerDesk
from api.database import create_database_engine, session_factory
from api.eval_runs import SqlRunStore
from api.events import EventBell, EventLog, PostgresWakeups
from api.handoffs import HandoffDesk
from api.tenants import TenantRegistry
from api.webhooks import WebhookDeliverer
from eval.conversations import MemoryConversationStore
from eval.evaluation import Evaluator
from eval.ragas_metrics import Judge
from eval.runner import Target
from knowledge_base.embeddings import Embedder, create_embedder
from knowledge_base.embeddings.cache import QueryCachingEmbedder
from knowledge_base.ingest import IngestOptions
from knowledge_base.retrieval import HybridRetriever
from knowledge_base.store import TenantStore, open_chroma_client
from knowledge_base.tokens import seed_tiktoken_cache
from rafiq.heap import settle_long_lived
from rafiq.settings import Settings

log = logging.getLogger("rafiq.wiring")


def prepare_offline(settings: Settings) -> None:
    """Keep every library off the network before any of them is imported for real."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    seed_tiktoken_cache(settings.cache_dir / "tiktoken")


def _endpoint(url: str | None) -> str | None:
    """Scheme, host and port of a URL: never the user name, password or query it may hold."""
    if not url:
        return None
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else None


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        prepare_offline(settings)
        self._lock = threading.Lock()
        self._retrievers: dict[str, HybridRetriever] = {}
        self._triage: dict[tuple[str, str, str], Triage] = {}
        self._settled = False
        """A server process: the long-lived objects are kept out of the collector's way."""

    @cached_property
    def engine(self) -> Engine:
        return create_database_engine(self.settings.resolved_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @cached_property
    def tenants(self) -> TenantRegistry:
        return TenantRegistry(self.sessions)

    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        key = s.embeddings_api_key or s.llm_api_key
        return QueryCachingEmbedder(
            create_embedder(
                s.embeddings,
                base_url=s.embeddings_base_url or s.llm_base_url,
                api_key=key.get_secret_value() if key else None,
                batch_size=s.embedding_batch_size,
            )
        )

    @cached_property
    def chroma(self) -> ClientAPI:
        return open_chroma_client(self.settings.chroma_dir, self.settings.chroma_url)

    def store(self, tenant: str) -> TenantStore:
        return self.retriever(tenant).store

    def retriever(self, tenant: str) -> HybridRetriever:
        with self._lock:
            if tenant not in self._retrievers:
                self._retrievers[tenant] = HybridRetriever(
                    TenantStore(self.chroma, tenant, self.embedder)
                )
            return self._retrievers[tenant]

    @cached_property
    def conversations(self) -> SqlConversationStore:
        return SqlConversationStore(self.sessions, self.bell)

    @cached_property
    def bell(self) -> EventBell:
        return EventBell()

    @cached_property
    def events(self) -> EventLog:
        return EventLog(self.sessions, self.bell)

    @cached_property
    def wakeups(self) -> PostgresWakeups | None:
        """Cross-replica stream wake-ups; SQLite has one server, and polling covers it."""
        if self.engine.dialect.name != "postgresql":
            return None
        return PostgresWakeups(self.engine, self.bell)

    @cached_property
    def customers(self) -> CustomerDesk:
        return CustomerDesk(self.sessions, self.bell)

    @cached_property
    def desk(self) -> HandoffDesk:
        return HandoffDesk(self.sessions, self.bell, self.api_config)

    @cached_property
    def webhooks(self) -> WebhookDeliverer:
        return WebhookDeliverer(
            self.sessions,
            self.settings.secret_key.get_secret_value(),
            max_attempts=self.api_config.webhook_max_attempts,
            poll_s=self.api_config.webhook_poll_s,
        )

    @cached_property
    def chat_model(self) -> ChatModel | None:
        """Generative mode when an OpenAI-compatible endpoint is configured."""
        s = self.settings
        if not s.llm_base_url:
            return None
        return LangChainChatModel(
            base_url=s.llm_base_url,
            api_key=s.llm_api_key.get_secret_value() if s.llm_api_key else None,
            model=s.llm_model,
            timeout_s=s.llm_timeout_s,
            context_window=s.llm_context_window,
        )

    @cached_property
    def api_config(self) -> ApiConfig:
        s = self.settings
        return ApiConfig(
            secret_key=s.secret_key.get_secret_value(),
            max_message_chars=s.max_message_chars,
            max_body_bytes=s.max_body_bytes,
            max_upload_bytes=s.max_upload_bytes,
            upload_dir=s.data_dir / "uploads",
            rate_per_minute=s.rate_per_minute,
            rate_burst=s.rate_burst,
            sse_heartbeat_s=s.sse_heartbeat_s,
            presence_window_s=s.presence_window_s,
            demo_pages=s.env != "production",
            threads=s.threads,
        )

    @cached_property
    def screener(self) -> LearnedScreener:
        return LearnedScreener(self.embedder)

    @cached_property
    def agent(self) -> Agent:
        return Agent(self.conversations, self.tenant_context, self.chat_model)

    def tenant_context(self, tenant: str) -> TenantContext:
        """Profile, retriever and triage of a tenant; triage is rebuilt when its KB changes."""
        record, settings = self.tenants.with_settings(tenant)
        profile = TenantProfile.from_settings(record.name, record.display_name, settings)
        retriever = self.retriever(tenant)
        key = (tenant, retriever.store.version(), profile.escalation_policy or "")
        with self._lock:
            triage = self._triage.get(key)
        if triage is None:
            policy = (
                parse_policy(
                    profile.escalation_policy, f"{tenant} escalation policy", default_policy()
                )
                if profile.escalation_policy
                else default_policy()
            )
            triage = Triage(policy, self.embedder, retriever.faq_questions())
            with self._lock:
                self._triage = {k: v for k, v in self._triage.items() if k[0] != tenant}
                self._triage[key] = triage
            if self._settled:
                # The new lexical index and triage live until the KB changes again.
                settle_long_lived()
        return TenantContext(profile, retriever, triage, self.screener)

    def warm_up(self) -> None:
        """Build every tenant's lexical index and triage before its first customer asks, and
        from now on keep the long-lived objects out of the garbage collector's way (a
        server calls this once, at start; see rafiq.heap)."""
        for tenant in self.tenants.list():
            try:
                self.tenant_context(tenant.name)
            except Exception:
                # A broken tenant answers its own requests with the error; others go on.
                log.exception("could not prepare tenant %s", tenant.name)
        self._settled = True
        settle_long_lived()

    def eval_target(self, tenant: str) -> Target:
        """The tenant's agent for an evaluation run, on conversations of its own: a run
        opens no handoff in the advisers' queue and fires no webhook."""
        context = self.tenant_context(tenant)
        return Target(
            tenant=tenant,
            agent=Agent(MemoryConversationStore(), self.tenant_context, self.chat_model),
            retriever=context.retriever,
            arabizi_reply=context.profile.arabizi_reply,
            categories=frozenset(context.triage.policy.categories),
        )

    @cached_property
    def evaluations(self) -> Evaluator:
        """Runs suites against a tenant and stores them (``rafiq eval run``, the QA routes)."""
        s = self.settings
        judge = None
        if s.eval_judge_base_url and s.eval_judge_model:
            key = s.eval_judge_api_key
            judge = Judge(
                s.eval_judge_base_url, s.eval_judge_model, key.get_secret_value() if key else None
            )
        return Evaluator(
            SqlRunStore(self.sessions),
            self.eval_target,
            settings=self.eval_settings(),
            judge=judge,
            embedder=self.embedder,
            samples_dir=s.samples_dir,
        )

    def eval_settings(self) -> dict[str, Any]:
        """What shapes the answers, recorded with every evaluation run; never a secret."""
        s = self.settings
        generative = bool(s.llm_base_url)
        return {
            "mode": "generative" if generative else "extractive",
            "llm_model": s.llm_model if generative else None,
            "llm_endpoint": _endpoint(s.llm_base_url),
            "embeddings": s.embeddings,
            "chunk_tokens": s.chunk_tokens,
            "chunk_overlap_tokens": s.chunk_overlap_tokens,
            "judge_model": s.eval_judge_model if s.eval_judge_base_url else None,
            "judge_endpoint": _endpoint(s.eval_judge_base_url),
        }

    def check_database(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def check_vector_store(self) -> None:
        self.chroma.heartbeat()

    def ingest_options(self, prune: bool = False) -> IngestOptions:
        s = self.settings
        return IngestOptions(s.chunk_tokens, s.chunk_overlap_tokens, s.max_file_bytes, prune)
