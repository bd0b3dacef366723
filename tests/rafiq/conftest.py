"""Helpers for tests that need a loaded tenant."""

from __future__ import annotations

from pathlib import Path

from knowledge_base.ingest import ingest
from rafiq.wiring import Container


def load_tenant(container: Container, name: str, kb: Path) -> str:
    """Creates ``name``, ingests ``kb``; returns the tenant's admin token."""
    _, admin = container.tenants.create(name)
    ingest(container.store(name), [kb], container.ingest_options())
    return admin.token
