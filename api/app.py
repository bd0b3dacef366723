"""The FastAPI application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.metrics import Metrics
from api.middleware import install_middleware
from api.routes import assets, conversations, handoffs, health, kb, metrics, staff, webhooks
from api.routes.documents import router as documents_router
from api.routes.eval_runs import router as eval_runs_router
from api.routes.security_events import router as security_events_router
from api.routes.tenant_settings import router as tenant_settings_router
from api.services import Services

log = logging.getLogger("rafiq.app")


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("preparing the tenants failed", exc_info=error)


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Turns wait on the database and retrieval in threads; the default pool (cores + 4)
        # would queue a busy server's requests before they even start.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=services.api_config.threads, thread_name_prefix="rafiq")
        )
        # In the background: the server answers (and /readyz reports) meanwhile, and a
        # tenant asked for before its turn comes is prepared by that request.
        warm_up = asyncio.create_task(asyncio.to_thread(services.warm_up))
        warm_up.add_done_callback(_report_failure)
        # Pending deliveries in the outbox resume with the server.
        services.webhooks.start()
        wakeups = services.wakeups
        if wakeups is not None:
            wakeups.start()
        try:
            yield
        finally:
            warm_up.cancel()
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
    app.include_router(documents_router)
    app.include_router(conversations.router)
    app.include_router(handoffs.router)
    app.include_router(webhooks.router)
    app.include_router(tenant_settings_router)
    app.include_router(staff.router)
    app.include_router(eval_runs_router)
    app.include_router(security_events_router)
    app.include_router(metrics.router)
    app.include_router(assets.router)
    return app
