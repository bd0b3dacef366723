"""What the HTTP layer needs from the rest of Rafiq; ``rafiq.wiring.Container`` provides it."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from agent.agent import Agent
from api.config import ApiConfig
from api.customers import CustomerDesk
from api.events import EventLog, PostgresWakeups
from api.handoffs import HandoffDesk
from api.tenants import TenantRegistry
from api.webhooks import WebhookDeliverer
from knowledge_base.ingest import IngestOptions
from knowledge_base.retrieval import HybridRetriever


class Services(Protocol):
    @property
    def tenants(self) -> TenantRegistry: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def agent(self) -> Agent: ...

    @property
    def api_config(self) -> ApiConfig: ...

    @property
    def customers(self) -> CustomerDesk: ...

    @property
    def desk(self) -> HandoffDesk: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def webhooks(self) -> WebhookDeliverer: ...

    @property
    def wakeups(self) -> PostgresWakeups | None: ...

    def retriever(self, tenant: str) -> HybridRetriever: ...

    def ingest_options(self, prune: bool = False) -> IngestOptions:
        """Chunking and file-size limits, the same as ``rafiq ingest`` uses."""
        ...

    def warm_up(self) -> None:
        """Load every tenant's indexes now rather than during its first customer's turn."""
        ...

    def check_database(self) -> None:
        """Raise if the relational database does not answer."""
        ...

    def check_vector_store(self) -> None:
        """Raise if the vector store does not answer."""
        ...
