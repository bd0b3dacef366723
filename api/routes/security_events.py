"""Security events: what the agent refused in the tenant's conversations, for its staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ServicesDep, StaffDep
from api.errors import ErrorBody
from api.security_events import list_security_events

router = APIRouter(prefix="/v1/security-events", tags=["security"])

LIST_LIMIT: Final = 200
MAX_ID: Final = 2**63 - 1
"""The largest id the databases store (BIGINT); a larger cursor is a 422, not a 500."""
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown staff token"},
    422: {"model": ErrorBody, "description": "A query parameter is not valid"},
}


class SecurityEventItem(BaseModel):
    id: int
    at: datetime
    conversation_id: str
    message_id: str = Field(description="The bot's refusal.")
    kind: str = Field(
        description="`injection` or `manipulation` (count towards the tenant's "
        "`manipulation_limit`), `unsafe_request`, `abuse`...",
        examples=["manipulation"],
    )
    reason: str = Field(description="What recognised it: a pattern's name or the classifier.")
    attempt: str = Field(description="The customer's message as stored (redacted).")


class SecurityEventList(BaseModel):
    events: list[SecurityEventItem]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null: no more."
    )


@router.get(
    "", summary="Refused attempts in the tenant's conversations, newest first", responses=_ERRORS
)
def security_events(
    user: StaffDep,
    services: ServicesDep,
    kind: Annotated[str | None, Query(max_length=40, description="Only this kind.")] = None,
    since: Annotated[datetime | None, Query(description="Only events at or after.")] = None,
    before: Annotated[
        int | None, Query(ge=1, description="Only events older than this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT)] = 50,
) -> SecurityEventList:
    found = list_security_events(
        services.sessions, user.tenant, kind=kind, since=since, before=before, limit=limit
    )
    return SecurityEventList(
        events=[SecurityEventItem(**vars(e)) for e in found],
        next_before=found[-1].id if len(found) == limit else None,
    )
