"""Tenants and their staff: creation, token issue and token checks."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.models import StaffUserRow, TenantRow
from api.status import audit

Role = Literal["adviser", "qa", "admin"]
ROLES: tuple[Role, ...] = ("adviser", "qa", "admin")
TENANT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")


class TenantError(ValueError):
    """A tenant or user request that cannot be honoured (bad name, duplicate, unknown)."""


@dataclass(frozen=True)
class Tenant:
    name: str
    display_name: str
    publishable_key: str


@dataclass(frozen=True)
class StaffUser:
    id: str
    tenant: str
    role: Role
    name: str


@dataclass(frozen=True)
class IssuedToken:
    user: StaffUser
    token: str
    """Shown once: only its hash is stored."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_tenant_name(name: str) -> str:
    if not TENANT_NAME.match(name):
        raise TenantError(
            f"invalid tenant name {name!r}: 3-40 characters, lowercase letters, digits and '-', "
            "starting with a letter"
        )
    return name


SETTINGS_CACHE_S = 5.0


class TenantRegistry:
    def __init__(
        self, sessions: sessionmaker[Session], settings_cache_s: float = SETTINGS_CACHE_S
    ) -> None:
        self._sessions = sessions
        self._cache_s = settings_cache_s
        self._cache: dict[str, tuple[float, Tenant, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def create(self, name: str, display_name: str | None = None) -> tuple[Tenant, IssuedToken]:
        validate_tenant_name(name)
        row = TenantRow(
            name=name,
            display_name=display_name or name,
            publishable_key="pk_" + secrets.token_urlsafe(24),
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError as exc:
            raise TenantError(f"tenant {name!r} already exists") from exc
        self._forget(name)
        tenant = Tenant(row.name, row.display_name, row.publishable_key)
        return tenant, self.create_user(name, "admin", "admin")

    def get(self, name: str) -> Tenant:
        row = self._row(name)
        return Tenant(row.name, row.display_name, row.publishable_key)

    def _row(self, name: str) -> TenantRow:
        with self._sessions() as session:
            row = session.get(TenantRow, name)
        if row is None:
            raise TenantError(
                f"unknown tenant {name!r}: create it with `rafiq tenants create {name}`"
            )
        return row

    def by_publishable_key(self, key: str) -> Tenant | None:
        if not key.startswith("pk_"):
            return None
        with self._sessions() as session:
            row = session.scalar(select(TenantRow).where(TenantRow.publishable_key == key))
        return None if row is None else Tenant(row.name, row.display_name, row.publishable_key)

    def settings(self, name: str) -> dict[str, Any]:
        with self._sessions() as session:
            row = session.get(TenantRow, name)
        if row is None:
            raise TenantError(f"unknown tenant {name!r}")
        return dict(row.settings or {})

    def with_settings(self, name: str) -> tuple[Tenant, dict[str, Any]]:
        """The tenant and its settings, for a turn: read from the database at most every
        ``settings_cache_s``. A change made through this registry shows at once; one made
        by another process (a second replica) within ``settings_cache_s``."""
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1], dict(cached[2])
        row = self._row(name)
        tenant = Tenant(row.name, row.display_name, row.publishable_key)
        settings = dict(row.settings or {})
        with self._cache_lock:
            self._cache[name] = (now + self._cache_s, tenant, settings)
        return tenant, dict(settings)

    def _forget(self, name: str) -> None:
        with self._cache_lock:
            self._cache.pop(name, None)

    def update_settings(self, name: str, **values: Any) -> None:
        with self._sessions.begin() as session:
            row = session.get(TenantRow, name)
            if row is None:
                raise TenantError(f"unknown tenant {name!r}")
            row.settings = {**(row.settings or {}), **values}
        self._forget(name)

    def change_settings(self, name: str, changes: Mapping[str, Any], actor: str) -> dict[str, Any]:
        """Merge ``changes`` (``None`` removes a key) and audit it in the same transaction;
        returns the settings as they now are."""
        with self._sessions.begin() as session:
            # Locked, so that two admins changing different keys both keep their change.
            row = session.get(TenantRow, name, with_for_update=True)
            if row is None:
                raise TenantError(f"unknown tenant {name!r}")
            merged = {**(row.settings or {}), **changes}
            row.settings = {k: v for k, v in merged.items() if v is not None}
            audit(session, name, actor, "tenant.settings", name, keys=sorted(changes))
            now = dict(row.settings)
        self._forget(name)
        return now

    def list(self) -> list[Tenant]:
        with self._sessions() as session:
            rows = session.scalars(select(TenantRow).order_by(TenantRow.name)).all()
        return [Tenant(r.name, r.display_name, r.publishable_key) for r in rows]

    def create_user(self, tenant: str, role: str, name: str | None = None) -> IssuedToken:
        if role not in ROLES:
            raise TenantError(f"invalid role {role!r}: one of {', '.join(ROLES)}")
        self.get(tenant)
        token = "st_" + secrets.token_urlsafe(32)
        row = StaffUserRow(
            id="u_" + secrets.token_hex(8),
            tenant=tenant,
            role=role,
            name=name or role,
            token_hash=hash_token(token),
        )
        with self._sessions.begin() as session:
            session.add(row)
        user = StaffUser(row.id, tenant, role, row.name)
        return IssuedToken(user, token)

    def revoke_users_named(self, tenant: str, name: str) -> int:
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(StaffUserRow).where(
                    StaffUserRow.tenant == tenant,
                    StaffUserRow.name == name,
                    StaffUserRow.revoked_at.is_(None),
                )
            ).all()
            for row in rows:
                row.revoked_at = datetime.now(UTC)
        return len(rows)

    def active_users_named(self, name: str) -> int:
        """Across tenants: how many unrevoked tokens carry this user name."""
        with self._sessions() as session:
            return len(
                session.scalars(
                    select(StaffUserRow.id).where(
                        StaffUserRow.name == name, StaffUserRow.revoked_at.is_(None)
                    )
                ).all()
            )

    def authenticate(self, token: str) -> StaffUser | None:
        if not token.startswith("st_"):
            return None
        with self._sessions() as session:
            row = session.scalar(
                select(StaffUserRow).where(
                    StaffUserRow.token_hash == hash_token(token), StaffUserRow.revoked_at.is_(None)
                )
            )
        if row is None:
            return None
        return StaffUser(row.id, row.tenant, row.role, row.name)  # type: ignore[arg-type]
