"""A turn reads its tenant's settings from a short cache, never staler than it promises."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.database import create_database_engine, session_factory
from api.tenants import TenantError, TenantRegistry


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'rafiq.db'}")
    yield session_factory(engine)
    engine.dispose()


def test_a_change_through_the_registry_shows_at_once(sessions: sessionmaker[Session]) -> None:
    registry = TenantRegistry(sessions, settings_cache_s=3600)
    registry.create("atlas")
    assert registry.with_settings("atlas")[1] == {}
    registry.change_settings("atlas", {"arabizi_reply": "ar"}, actor="u_admin")
    assert registry.with_settings("atlas")[1] == {"arabizi_reply": "ar"}
    registry.update_settings("atlas", payment_url="https://pay.example")
    assert registry.with_settings("atlas")[1] == {
        "arabizi_reply": "ar",
        "payment_url": "https://pay.example",
    }


def test_another_process_change_shows_once_the_cache_expires(
    sessions: sessionmaker[Session],
) -> None:
    server = TenantRegistry(sessions, settings_cache_s=3600)
    fresh = TenantRegistry(sessions, settings_cache_s=0)
    cli = TenantRegistry(sessions)
    cli.create("atlas", "Atlas")
    assert server.with_settings("atlas")[1] == {}
    cli.change_settings("atlas", {"arabizi_reply": "ar"}, actor="cli")
    assert server.with_settings("atlas")[1] == {}  # cached: at most settings_cache_s old
    assert fresh.with_settings("atlas")[1] == {"arabizi_reply": "ar"}


def test_a_caller_cannot_change_the_cached_settings(sessions: sessionmaker[Session]) -> None:
    registry = TenantRegistry(sessions, settings_cache_s=3600)
    registry.create("atlas")
    registry.with_settings("atlas")[1]["payment_url"] = "https://evil.example"
    assert registry.with_settings("atlas")[1] == {}


def test_an_unknown_tenant_is_an_error_not_a_cache_entry(sessions: sessionmaker[Session]) -> None:
    registry = TenantRegistry(sessions, settings_cache_s=3600)
    with pytest.raises(TenantError, match="unknown tenant"):
        registry.with_settings("ghost")
    registry.create("ghost")
    assert registry.with_settings("ghost")[0].name == "ghost"
