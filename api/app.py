"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.metrics import Metrics
from api.middleware import install_middleware
from api.routes import conversations, handoffs, health, kb, metrics, webhooks
from api.services import Services


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Pending deliveries in the outbox resume with the server.
        services.webhooks.start()
        wakeups = services.wakeups
        if wakeups is not None:
            wakeups.start()
        try:
            yield
        finally:
            services.webhooks.stop()
            if wakeups is not None:
                wakeups.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Rafiq",
        version="0.1.0",
        description="Customer-service agent for French- and Arabic-speaking contact centres.",
    )
    app.state.services = services
    app.state.metrics = Metrics()
    install_error_handlers(app)
    install_middleware(app)
    app.include_router(health.router)
    app.include_router(kb.router)
    app.include_router(conversations.router)
    app.include_router(handoffs.router)
    app.include_router(webhooks.router)
    app.include_router(metrics.router)
    return app
