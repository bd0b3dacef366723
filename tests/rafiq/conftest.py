"""A container over a fresh data directory with one small tenant loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge_base.ingest import ingest
from rafiq.settings import Settings
from rafiq.wiring import Container


@pytest.fixture
def container(rafiq_env: Path) -> Iterator[Container]:
    yield Container(Settings())


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "faq.md").write_text(
        "# Paiement\n\n## Comment payer ma facture ?\n"
        "Payez dans l'application Atlas&Moi, en agence ou par virement.\n\n"
        "## Quels sont les horaires des agences ?\nDu lundi au samedi, de 9 h à 18 h.\n",
        encoding="utf-8",
    )
    return folder


def load_tenant(container: Container, name: str, kb: Path) -> str:
    """Creates ``name``, ingests ``kb``; returns the tenant's admin token."""
    _, admin = container.tenants.create(name)
    ingest(container.store(name), [kb], container.ingest_options())
    return admin.token
