"""Business hours, adviser presence and the wait the customer is told about."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.availability import BusinessHours, BusinessHoursError
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant

HOURS = {
    "timezone": "Africa/Casablanca",
    "hours": {"mon": ["09:00-18:00"], "sat": ["09:00-13:00"]},
    "label": {"fr": "du lundi au vendredi de 9 h à 18 h"},
}


def test_opening_hours_are_read_in_the_tenants_time_zone() -> None:
    hours = BusinessHours.parse(HOURS)
    assert hours is not None
    # Casablanca is UTC+1 on this date: 08:30 UTC is 09:30 local on a Monday.
    assert hours.is_open(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 11, 23, 17, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # Tuesday: closed


@pytest.mark.parametrize(
    "value",
    [
        {"hours": {"funday": ["09:00-18:00"]}},
        {"hours": {"mon": ["18:00-09:00"]}},
        {"hours": {"mon": ["9h-18h"]}},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_broken_opening_hours_are_reported(value: dict[str, object]) -> None:
    with pytest.raises(BusinessHoursError):
        BusinessHours.parse(value)


@pytest.fixture
def client(container: Container, small_kb: Path) -> TestClient:
    load_tenant(container, "acme", small_kb)
    return TestClient(create_app(container))


def _ask_for_human(client: TestClient, container: Container) -> dict[str, object]:
    key = container.tenants.get("acme").publishable_key
    opened = client.post("/v1/conversations", json={}, headers={"X-Rafiq-Key": key}).json()
    auth = {"Authorization": f"Bearer {opened['token']}"}
    state: dict[str, object] = client.post(
        f"/v1/conversations/{opened['id']}/handoff", json={}, headers=auth
    ).json()
    history = client.get(f"/v1/conversations/{opened['id']}/messages", headers=auth).json()
    state["notice"] = history["messages"][-1]["text"]
    return state


def test_out_of_hours_the_customer_is_told_when_and_offered_to_leave_a_message(
    client: TestClient, container: Container
) -> None:
    container.tenants.update_settings(
        "acme", business_hours={**HOURS, "hours": {"sun": ["00:00-00:01"]}}
    )

    state = _ask_for_human(client, container)

    assert state["advisers_available"] is False
    assert state["conversation_status"] == "waiting_human"  # the handoff stays queued
    assert "du lundi au vendredi de 9 h à 18 h" in str(state["notice"])
    assert "laisser un message" in str(state["notice"])


def test_with_an_adviser_present_the_customer_gets_an_expected_wait(
    client: TestClient, container: Container
) -> None:
    adviser = container.tenants.create_user("acme", "adviser").token
    client.get("/v1/handoffs", headers={"Authorization": f"Bearer {adviser}"})  # presence

    state = _ask_for_human(client, container)

    assert state["advisers_available"] is True
    assert state["queue_position"] == 1
    assert isinstance(state["expected_wait_s"], float)
    assert "Temps d'attente estimé" in str(state["notice"])


def test_nobody_present_means_no_promise_of_a_wait(
    client: TestClient, container: Container
) -> None:
    state = _ask_for_human(client, container)

    assert state["advisers_available"] is False
    assert state["expected_wait_s"] is None
    assert "occupés" in str(state["notice"])
