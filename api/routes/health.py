"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ServicesDep
from api.errors import ApiError

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    status: str


@router.get("/healthz", summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Database and vector store answer",
    responses={503: {"description": "A dependency is down"}},
)
def readyz(services: ServicesDep) -> Health:
    for name, check in (
        ("database", services.check_database),
        ("vector store", services.check_vector_store),
    ):
        try:
            check()
        except Exception as exc:
            raise ApiError(503, "not_ready", f"{name} unavailable: {exc}") from exc
    return Health(status="ready")
