"""The HTTP API so far: health probes and staff knowledge-base search."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_staff_search_finds_the_answer_in_their_tenant(
    client: TestClient, container: Container, small_kb: Path
) -> None:
    token = load_tenant(container, "acme", small_kb)

    response = client.post(
        "/v1/kb/search", json={"query": "kifach nkhelles lfatura?", "k": 2}, headers=_auth(token)
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["title"] == "Comment payer ma facture ?"
    assert results[0]["source"] == "faq.md"
    assert set(results[0]) >= {"chunk_id", "source", "title", "text", "language", "score"}


def test_a_token_only_searches_its_own_tenant(
    client: TestClient, container: Container, small_kb: Path, tmp_path: Path
) -> None:
    load_tenant(container, "acme", small_kb)
    other_kb = tmp_path / "other"
    other_kb.mkdir()
    (other_kb / "faq.md").write_text("## Où est le siège ?\nÀ Rabat.\n", encoding="utf-8")
    other_token = load_tenant(container, "globex", other_kb)

    response = client.post("/v1/kb/search", json={"query": "facture"}, headers=_auth(other_token))

    assert {r["source"] for r in response.json()["results"]} == {"faq.md"}
    assert all("facture" not in r["text"] for r in response.json()["results"])


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer st_forged"}, 401), ({"Authorization": "pk_x"}, 401)],
)
def test_search_without_a_valid_staff_token_is_refused(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    response = client.post("/v1/kb/search", json={"query": "facture"}, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "x", "k": 0},
        {"query": "x", "k": 500},
        {"k": 3},
        {"query": "x", "language": "de"},
    ],
)
def test_invalid_search_requests_get_a_json_422(
    client: TestClient, container: Container, small_kb: Path, body: dict[str, object]
) -> None:
    token = load_tenant(container, "acme", small_kb)
    response = client.post("/v1/kb/search", json=body, headers=_auth(token))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["message"]


def test_malformed_json_gets_a_json_error(
    client: TestClient, container: Container, small_kb: Path
) -> None:
    token = load_tenant(container, "acme", small_kb)
    response = client.post(
        "/v1/kb/search",
        content=b"{not json",
        headers={**_auth(token), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "error" in response.json()


def test_unknown_route_uses_the_error_body(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_revoked_demo_token_stops_working(
    client: TestClient, container: Container, small_kb: Path
) -> None:
    load_tenant(container, "acme", small_kb)
    token = container.tenants.create_user("acme", "admin", "demo-admin").token
    assert (
        client.post("/v1/kb/search", json={"query": "x"}, headers=_auth(token)).status_code == 200
    )

    container.tenants.revoke_users_named("acme", "demo-admin")

    assert (
        client.post("/v1/kb/search", json={"query": "x"}, headers=_auth(token)).status_code == 401
    )
