"""Webhook subscriptions of the admin's tenant, and what was delivered to them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.conversation_store import new_id
from api.deps import AdminDep, ServicesDep
from api.errors import ApiError, ErrorBody
from api.models import OutboxRow, WebhookRow, as_utc
from api.webhooks import WEBHOOK_EVENTS, WebhookEvent, event_id, webhook_secret

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
}
_NOT_FOUND: dict[int | str, dict[str, object]] = {**_ERRORS, 404: {"model": ErrorBody}}


class CreateWebhook(BaseModel):
    url: Annotated[
        str,
        Field(
            max_length=2000,
            description="Where events are POSTed: an http or https URL.",
            examples=["https://crm.example.com/hooks/rafiq"],
        ),
    ]
    events: Annotated[
        list[WebhookEvent],
        Field(
            description=f"Events to receive, among {', '.join(WEBHOOK_EVENTS)}; "
            "empty or omitted: every event."
        ),
    ] = []

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"url": "https://crm.example.com/hooks/rafiq", "events": ["handoff.created"]}
            ]
        }
    }

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http or https URL with a host")
        if any(c.isspace() or not c.isprintable() for c in url):
            raise ValueError("must not contain spaces or control characters")
        return url

    @field_validator("events")
    @classmethod
    def _unique(cls, events: list[WebhookEvent]) -> list[WebhookEvent]:
        return list(dict.fromkeys(events))


class Webhook(BaseModel):
    id: str
    url: str
    events: Annotated[list[str], Field(description="Empty: every event.")]
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: WebhookRow) -> Webhook:
        return cls(
            id=row.id,
            url=row.url,
            events=list(row.events or []),
            active=row.active,
            created_at=as_utc(row.created_at),
        )


class CreatedWebhook(Webhook):
    secret: Annotated[
        str,
        Field(
            description="Checks the `Rafiq-Signature` header of every delivery: "
            '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>`.'
        ),
    ]


class WebhookList(BaseModel):
    webhooks: list[Webhook]


class Delivery(BaseModel):
    id: Annotated[str, Field(description="The `Rafiq-Delivery` header and the body's `id`.")]
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: Annotated[
        str | None, Field(description="Why the latest attempt failed, e.g. `HTTP 500`.")
    ]
    created_at: datetime
    next_attempt_at: Annotated[datetime | None, Field(description="Set while pending.")]
    delivered_at: datetime | None
    failed_at: Annotated[datetime | None, Field(description="Set when retries ran out.")]

    @classmethod
    def from_row(cls, row: OutboxRow) -> Delivery:
        pending = row.delivered_at is None and row.failed_at is None
        return cls(
            id=event_id(row.id),
            event_type=row.event_type,
            status="pending" if pending else "delivered" if row.delivered_at else "failed",
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=as_utc(row.created_at),
            next_attempt_at=as_utc(row.next_attempt_at) if pending else None,
            delivered_at=as_utc(row.delivered_at) if row.delivered_at else None,
            failed_at=as_utc(row.failed_at) if row.failed_at else None,
        )


class DeliveryList(BaseModel):
    deliveries: list[Delivery]


def _owned(session: Session, tenant: str, webhook_id: str) -> WebhookRow:
    row = session.get(WebhookRow, webhook_id)
    # Another tenant's webhook answers like a missing one, so ids reveal nothing.
    if row is None or row.tenant != tenant:
        raise ApiError(404, "not_found", f"no webhook {webhook_id!r}")
    return row


@router.post(
    "",
    status_code=201,
    summary="Subscribe a URL to events; the signing secret is in the answer",
    responses={**_ERRORS, 422: {"model": ErrorBody}},
)
def create_webhook(body: CreateWebhook, user: AdminDep, services: ServicesDep) -> CreatedWebhook:
    row = WebhookRow(
        id=new_id("wh"), tenant=user.tenant, url=body.url, events=list(body.events), active=True
    )
    with services.sessions.begin() as session:
        session.add(row)
    webhook = Webhook.from_row(row)
    return CreatedWebhook(
        **webhook.model_dump(), secret=webhook_secret(services.api_config.secret_key, row.id)
    )


@router.get("", summary="The tenant's webhooks (without their secrets)", responses=_ERRORS)
def list_webhooks(user: AdminDep, services: ServicesDep) -> WebhookList:
    with services.sessions() as session:
        rows = session.scalars(
            select(WebhookRow)
            .where(WebhookRow.tenant == user.tenant)
            .order_by(WebhookRow.created_at, WebhookRow.id)
        ).all()
    return WebhookList(webhooks=[Webhook.from_row(r) for r in rows])


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Unsubscribe; its pending deliveries are dropped",
    responses=_NOT_FOUND,
)
def delete_webhook(webhook_id: str, user: AdminDep, services: ServicesDep) -> None:
    with services.sessions.begin() as session:
        session.delete(_owned(session, user.tenant, webhook_id))


@router.get(
    "/{webhook_id}/deliveries",
    summary="Recent deliveries to a webhook, newest first",
    responses=_NOT_FOUND,
)
def list_deliveries(
    webhook_id: str,
    user: AdminDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200, description="How many deliveries.")] = 50,
) -> DeliveryList:
    with services.sessions() as session:
        _owned(session, user.tenant, webhook_id)
        rows = session.scalars(
            select(OutboxRow)
            .where(OutboxRow.webhook_id == webhook_id)
            .order_by(OutboxRow.id.desc())
            .limit(limit)
        ).all()
    return DeliveryList(deliveries=[Delivery.from_row(r) for r in rows])
