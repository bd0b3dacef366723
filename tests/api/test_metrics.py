"""Prometheus metrics: requests by route template, turns, escalations and the handoff queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.metrics import Metrics
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def _scrape(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def _value(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_requests_are_counted_by_method_route_and_status(
    client: TestClient, container: Container, small_kb: Path
) -> None:
    token = load_tenant(container, "acme", small_kb)
    for _ in range(3):
        client.post(
            "/v1/kb/search", json={"query": "facture"}, headers={"Authorization": f"Bearer {token}"}
        )
    client.post("/v1/kb/search", json={"query": "facture"})

    text = _scrape(client)

    assert 'rafiq_http_requests_total{method="POST",route="/v1/kb/search",status="200"} 3.0' in text
    search = {"method": "POST", "route": "/v1/kb/search"}
    assert _value(text, "rafiq_http_requests_total", **search, status="401") == 1
    assert _value(text, "rafiq_http_request_duration_seconds_count", **search) == 4


def test_routes_are_labelled_by_template_never_by_raw_path(client: TestClient) -> None:
    client.get("/v1/conversations/c_secret1/messages?x=1", headers={"Authorization": "Bearer ct_x"})
    client.get("/v1/conversations/c_secret2/messages", headers={"Authorization": "Bearer ct_x"})
    client.get("/v1/no/such/route/c_secret3")

    text = _scrape(client)

    messages = {"method": "GET", "route": "/v1/conversations/{conversation_id}/messages"}
    assert _value(text, "rafiq_http_requests_total", **messages, status="404") == 2
    assert _value(text, "rafiq_http_requests_total", method="GET", route="other", status="404") == 1
    assert "c_secret" not in text


def test_requests_answered_before_routing_keep_their_route(client: TestClient) -> None:
    client.post("/v1/kb/search", json={"query": "x" * 100_000})
    client.options(
        "/v1/conversations",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    text = _scrape(client)

    assert (
        _value(
            text, "rafiq_http_requests_total", method="POST", route="/v1/kb/search", status="413"
        )
        == 1
    )
    assert (
        _value(
            text,
            "rafiq_http_requests_total",
            method="OPTIONS",
            route="/v1/conversations",
            status="403",
        )
        == 1
    )


def test_turns_escalations_and_the_handoff_queue_show_up(app: FastAPI, client: TestClient) -> None:
    metrics: Metrics = app.state.metrics
    metrics.observe_turn("acme", "answer", "extractive", None, 0.12)
    metrics.observe_turn("acme", "escalate", "extractive", "fraud", 0.3)
    metrics.observe_turn("acme", "escalate", "generative", "fraud", 4.0)
    metrics.observe_claim("acme", 90.0)
    metrics.set_waiting("acme", 4)
    metrics.set_waiting("acme", 3)

    text = _scrape(client)

    assert (
        _value(text, "rafiq_turns_total", tenant="acme", action="escalate", mode="extractive") == 1
    )
    assert _value(text, "rafiq_escalations_total", tenant="acme", category="fraud") == 2
    assert _value(text, "rafiq_turn_duration_seconds_count", mode="extractive") == 2
    assert _value(text, "rafiq_turn_duration_seconds_bucket", mode="extractive", le="0.25") == 1
    assert _value(text, "rafiq_handoff_wait_seconds_bucket", tenant="acme", le="60.0") == 0
    assert _value(text, "rafiq_handoff_wait_seconds_bucket", tenant="acme", le="120.0") == 1
    assert _value(text, "rafiq_handoffs_waiting", tenant="acme") == 3


def test_two_apps_in_one_process_keep_separate_counts(container: Container) -> None:
    first = TestClient(create_app(container))
    second = TestClient(create_app(container))
    first.get("/healthz")
    first.get("/healthz")

    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    assert _value(_scrape(first), "rafiq_http_requests_total", **healthz) == 2
    assert _value(_scrape(second), "rafiq_http_requests_total", **healthz) is None
