"""The admin's own tenant: how the agent speaks for it and where its widget may run."""

from __future__ import annotations

import re
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

from agent.policy import PolicyError, default_policy, parse_policy
from agent.result import ReplyLanguage
from agent.tenant import manipulation_limit_of
from api.availability import DAYS, BusinessHours, BusinessHoursError
from api.deps import AdminDep, ServicesDep
from api.errors import ApiError, ErrorBody
from api.tenants import Tenant

router = APIRouter(prefix="/v1/tenant/settings", tags=["tenant settings"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorBody}, 403: {"model": ErrorBody}}

DEV_HOSTS = frozenset({"localhost", "127.0.0.1"})
"""The only hosts an ``http://`` origin may name: a developer's own machine."""
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_MANIPULATION_LIMIT = 50
POLICY_WHERE = "escalation_policy"
"""How the policy's error messages name the setting."""

_EXAMPLE_HOURS: JsonDict = {
    "timezone": "Africa/Casablanca",
    "hours": {"mon": ["09:00-18:00"], "fri": ["09:00-12:00", "15:00-18:00"]},
    "label": {"fr": "du lundi au vendredi de 9 h à 18 h"},
}


def _printable(value: str) -> bool:
    return all(c.isprintable() and not c.isspace() for c in value)


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` exactly as a browser sends it in the ``Origin`` header."""
    wrong = f"{value!r} is not an origin: write https://host[:port]"
    if "*" in value:
        raise ValueError(f"{value!r}: wildcards are not allowed, list each site")
    if not _printable(value):
        raise ValueError(f"{wrong} without spaces")
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{wrong} (bad port)") from exc
    host = parts.hostname or ""
    if parts.scheme not in _DEFAULT_PORTS or not _HOST.match(host):
        raise ValueError(wrong)
    if parts.path not in {"", "/"} or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{wrong}: no path, query or user name")
    if parts.scheme == "http" and host not in DEV_HOSTS:
        raise ValueError(f"{value!r}: use https (http only for {' and '.join(sorted(DEV_HOSTS))})")
    # Browsers leave the scheme's default port out of the Origin header.
    shown_port = "" if port in {None, _DEFAULT_PORTS[parts.scheme]} else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"


class BusinessHoursSetting(BaseModel):
    timezone: Annotated[
        str, Field(max_length=64, description="IANA time zone.", examples=["Africa/Casablanca"])
    ] = "Africa/Casablanca"
    hours: Annotated[
        dict[str, list[str]],
        Field(
            min_length=1,
            description=f"Opening hours per day ({', '.join(DAYS)}); a day left out is closed.",
            examples=[{"mon": ["09:00-12:30", "14:00-18:00"], "sat": ["09:00-13:00"]}],
        ),
    ]
    label: Annotated[
        dict[ReplyLanguage, str],
        Field(description="How customers are told the hours, per reply language."),
    ] = {}

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE_HOURS]})

    @model_validator(mode="after")
    def _parses(self) -> Self:
        # The handoff desk reads the setting with this parser: what it refuses, we refuse.
        try:
            BusinessHours.parse(self.model_dump())
        except BusinessHoursError as exc:
            raise ValueError(str(exc)) from exc
        return self


class TenantSettings(BaseModel):
    tenant: str
    display_name: Annotated[str, Field(description="Read-only: set when the tenant is created.")]
    arabizi_reply_language: Annotated[
        ReplyLanguage,
        Field(description="Arabizi customers are answered in this language (fr unless set)."),
    ]
    secure_payment_url: Annotated[
        str | None,
        Field(description="Where customers pay, instead of typing card data in the chat."),
    ]
    allowed_origins: Annotated[
        list[str], Field(description="Sites the chat widget may run on (CORS).")
    ]
    business_hours: Annotated[
        dict[str, Any] | None,
        Field(description="When advisers take handoffs; null: around the clock."),
    ]
    escalation_policy: Annotated[
        str | None,
        Field(description="Policy YAML merged over the default policy; null: the default."),
    ]
    manipulation_limit: Annotated[
        int,
        Field(
            description="Refused manipulation attempts in one conversation before an adviser "
            "takes it over (`repeated_manipulation`); 0: never."
        ),
    ]

    @classmethod
    def of(cls, tenant: Tenant, stored: dict[str, Any]) -> TenantSettings:
        # Settings written by other tools (the demo loader) are shown as the agent reads them.
        arabizi = stored.get("arabizi_reply_language")
        origins = stored.get("allowed_origins")
        hours = stored.get("business_hours")
        payment_url = stored.get("secure_payment_url")
        policy = stored.get("escalation_policy")
        return cls(
            tenant=tenant.name,
            display_name=tenant.display_name,
            arabizi_reply_language=arabizi if arabizi in ("fr", "ar", "en") else "fr",
            secure_payment_url=payment_url if isinstance(payment_url, str) else None,
            allowed_origins=[o for o in origins if isinstance(o, str)]
            if isinstance(origins, list)
            else [],
            business_hours=hours if isinstance(hours, dict) and hours else None,
            escalation_policy=policy if isinstance(policy, str) else None,
            manipulation_limit=manipulation_limit_of(stored),
        )


class SettingsChange(BaseModel):
    """Only the keys present change; ``null`` removes a setting (back to its default)."""

    arabizi_reply_language: ReplyLanguage | None = None
    secure_payment_url: Annotated[
        str | None,
        Field(max_length=2000, description="An https URL.", examples=["https://pay.example.ma"]),
    ] = None
    allowed_origins: Annotated[
        list[str] | None,
        Field(
            max_length=50,
            description="`https://host[:port]` origins, no path and no `*`; "
            "`http://localhost` and `http://127.0.0.1` are allowed for development.",
            examples=[["https://www.example.ma", "http://localhost:5173"]],
        ),
    ] = None
    business_hours: BusinessHoursSetting | None = None
    escalation_policy: Annotated[
        str | None,
        Field(
            max_length=50_000,
            description="YAML in the schema of agent/policies/README.md; it can add keywords, "
            "examples and categories, never disable or lower a hard rule.",
        ),
    ] = None
    manipulation_limit: Annotated[
        int | None,
        Field(ge=0, le=MAX_MANIPULATION_LIMIT, description="0 never hands over; null: 3."),
    ] = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "arabizi_reply_language": "ar",
                    "allowed_origins": ["https://www.example.ma"],
                    "business_hours": _EXAMPLE_HOURS,
                },
                {"secure_payment_url": None},
            ]
        },
    )

    @field_validator("secure_payment_url")
    @classmethod
    def _https_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or not _printable(url):
            raise ValueError("must be an https URL with a host and no spaces")
        return url

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str] | None) -> list[str] | None:
        if origins is None:
            return None
        return list(dict.fromkeys(normalise_origin(o) for o in origins))

    @field_validator("escalation_policy")
    @classmethod
    def _blank_is_default(cls, policy: str | None) -> str | None:
        return policy if policy and policy.strip() else None

    def changes(self) -> dict[str, Any]:
        """The keys the request gave, as they are stored."""
        return self.model_dump(mode="json", include=self.model_fields_set)


def check_policy(text: str) -> None:
    """Refuse a policy the agent could not load, with the policy module's own message."""
    try:
        parse_policy(text, POLICY_WHERE, default_policy())
    except PolicyError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    except (AttributeError, TypeError, ValueError) as exc:
        # parse_policy trusts the shape below its top level (a rule that is not a
        # mapping, say); such a file is still the caller's mistake, not a server error.
        raise ApiError(
            422,
            "invalid_request",
            f"{POLICY_WHERE}: does not follow the policy schema (agent/policies/README.md): {exc}",
        ) from exc


@router.get("", summary="The tenant's settings", responses=_ERRORS)
def read_settings(user: AdminDep, services: ServicesDep) -> TenantSettings:
    tenant = services.tenants.get(user.tenant)
    return TenantSettings.of(tenant, services.tenants.settings(tenant.name))


@router.patch(
    "",
    summary="Change some settings; the answer is every setting after the change",
    responses={**_ERRORS, 422: {"model": ErrorBody}},
)
def change_settings(body: SettingsChange, user: AdminDep, services: ServicesDep) -> TenantSettings:
    changes = body.changes()
    if changes.get("escalation_policy"):
        check_policy(changes["escalation_policy"])
    tenant = services.tenants.get(user.tenant)
    stored = (
        services.tenants.change_settings(tenant.name, changes, actor=f"staff:{user.id}")
        if changes
        else services.tenants.settings(tenant.name)
    )
    return TenantSettings.of(tenant, stored)
