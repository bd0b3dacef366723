"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import health, kb
from api.services import Services


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Rafiq",
        version="0.1.0",
        description="Customer-service agent for French- and Arabic-speaking contact centres.",
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(kb.router)
    return app
