"""A starting server prepares every tenant, then keeps its indexes out of the collector's way."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import rafiq.wiring
from agent.triage import Triage
from api.app import create_app
from knowledge_base.ingest import ingest
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tenants a Triage was built for, in order."""
    tenants: list[str] = []

    class CountedTriage(Triage):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            tenants.append("built")

    monkeypatch.setattr(rafiq.wiring, "Triage", CountedTriage)
    return tenants


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def test_every_tenant_is_ready_before_its_first_turn(
    container: Container, small_kb: Path, built: list[str]
) -> None:
    load_tenant(container, "atlas", small_kb)
    load_tenant(container, "yusr", small_kb)
    container.warm_up()
    assert len(built) == 2
    container.agent.turn("atlas", "Comment payer ma facture ?")
    container.agent.turn("yusr", "Quels sont les horaires des agences ?")
    assert len(built) == 2  # the turns built nothing
    assert gc.get_freeze_count() > 0


def test_a_broken_tenant_does_not_stop_the_others(
    container: Container,
    small_kb: Path,
    built: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    load_tenant(container, "atlas", small_kb)
    load_tenant(container, "broken", small_kb)
    load_tenant(container, "yusr", small_kb)
    retriever = container.retriever

    def failing(tenant: str) -> Any:
        if tenant == "broken":
            raise RuntimeError("vector store unreachable")
        return retriever(tenant)

    monkeypatch.setattr(container, "retriever", failing)
    with caplog.at_level(logging.ERROR, logger="rafiq.wiring"):
        container.warm_up()
    assert len(built) == 2
    assert "could not prepare tenant broken" in caplog.text


def test_a_changed_knowledge_base_is_settled_again(
    container: Container, small_kb: Path, built: list[str]
) -> None:
    load_tenant(container, "atlas", small_kb)
    container.warm_up()
    gc.unfreeze()
    (small_kb / "faq.md").write_text(
        "# Paiement\n\n## Comment payer ma facture ?\nPar carte dans l'application.\n",
        encoding="utf-8",
    )
    ingest(container.store("atlas"), [small_kb], container.ingest_options())
    container.agent.turn("atlas", "Comment payer ma facture ?")
    assert len(built) == 2
    assert gc.get_freeze_count() > 0


def test_a_container_that_did_not_warm_up_leaves_the_collector_alone(
    container: Container, small_kb: Path
) -> None:
    """Tests and CLI commands build many containers: freezing there would keep their
    garbage for the rest of the process."""
    gc.unfreeze()
    load_tenant(container, "atlas", small_kb)
    container.agent.turn("atlas", "Comment payer ma facture ?")
    assert gc.get_freeze_count() == 0


def test_the_server_warms_up_when_it_starts(container: Container) -> None:
    started = threading.Event()
    container.warm_up = started.set  # type: ignore[method-assign]
    with TestClient(create_app(container)):
        assert started.wait(10)
