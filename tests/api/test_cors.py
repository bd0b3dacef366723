"""CORS: the widget may call the customer API from the sites each tenant lists, no others."""

from __future__ import annotations

import anyio
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.middleware import TenantOrigins
from rafiq.wiring import Container

SHOP = "https://shop.example"
GLOBEX = "https://globex.example"
EVIL = "https://evil.example"


@pytest.fixture
def keys(container: Container) -> dict[str, str]:
    """Publishable keys of acme (widget on shop.example) and globex (on globex.example)."""
    acme, _ = container.tenants.create("acme")
    globex, _ = container.tenants.create("globex")
    container.tenants.update_settings("acme", allowed_origins=[SHOP])
    container.tenants.update_settings("globex", allowed_origins=[GLOBEX + "/"])
    return {"acme": acme.publishable_key, "globex": globex.publishable_key}


@pytest.fixture
def client(container: Container, keys: dict[str, str]) -> TestClient:
    return TestClient(create_app(container))


def _preflight(client: TestClient, path: str, origin: str) -> dict[str, str]:
    response = client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-rafiq-key",
        },
    )
    return {"status": str(response.status_code), **response.headers}


def test_a_preflight_from_a_tenant_site_is_answered_for_that_exact_origin(
    client: TestClient,
) -> None:
    headers = _preflight(client, "/v1/conversations", SHOP)

    assert headers["status"] == "204"
    assert headers["access-control-allow-origin"] == SHOP
    assert "POST" in headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert allowed >= {"authorization", "content-type", "x-rafiq-key", "last-event-id", "accept"}
    assert int(headers["access-control-max-age"]) > 0
    assert "Origin" in headers["vary"]


def test_a_preflight_for_a_conversation_route_accepts_any_tenant_site(
    client: TestClient,
) -> None:
    headers = _preflight(client, "/v1/conversations/c_123/messages", GLOBEX)

    assert headers["access-control-allow-origin"] == GLOBEX


def test_a_preflight_from_an_unlisted_site_gets_no_cors_headers(client: TestClient) -> None:
    headers = _preflight(client, "/v1/conversations", EVIL)

    assert headers["status"] == "403"
    assert "access-control-allow-origin" not in headers


def test_staff_routes_are_never_opened_to_other_sites(client: TestClient) -> None:
    headers = _preflight(client, "/v1/kb/search", SHOP)

    assert "access-control-allow-origin" not in headers


def _open(client: TestClient, key: str, origin: str | None) -> dict[str, str]:
    headers = {"X-Rafiq-Key": key} | ({"Origin": origin} if origin else {})
    response = client.post("/v1/conversations", json={"locale": "fr"}, headers=headers)
    assert response.status_code == 201
    return {**response.headers, **response.json()}


def test_a_publishable_key_is_only_usable_from_its_own_tenant_sites(
    client: TestClient, keys: dict[str, str]
) -> None:
    from_shop = _open(client, keys["acme"], SHOP)
    from_globex = _open(client, keys["acme"], GLOBEX)

    assert from_shop["access-control-allow-origin"] == SHOP
    assert "Retry-After" in from_shop["access-control-expose-headers"]
    assert "Origin" in from_shop["vary"]
    assert "access-control-allow-origin" not in from_globex


def test_a_conversation_token_works_from_any_tenant_site(
    client: TestClient, keys: dict[str, str]
) -> None:
    opened = _open(client, keys["acme"], SHOP)
    auth = {"Authorization": f"Bearer {opened['token']}"}
    path = f"/v1/conversations/{opened['id']}/messages"

    from_globex = client.get(path, headers={**auth, "Origin": GLOBEX})
    from_evil = client.get(path, headers={**auth, "Origin": EVIL})

    assert from_globex.status_code == 200
    assert from_globex.headers["access-control-allow-origin"] == GLOBEX
    assert "access-control-allow-origin" not in from_evil.headers


def test_errors_carry_cors_headers_so_the_widget_can_read_them(client: TestClient) -> None:
    response = client.get(
        "/v1/conversations/c_123/messages",
        headers={"Authorization": "Bearer ct_forged", "Origin": SHOP},
    )

    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == SHOP


def test_same_origin_requests_are_untouched(client: TestClient, keys: dict[str, str]) -> None:
    opened = _open(client, keys["acme"], None)

    assert "access-control-allow-origin" not in opened


def test_a_new_allowed_origin_takes_effect_once_the_cache_expires(
    container: Container, keys: dict[str, str]
) -> None:
    now = [0.0]
    origins = TenantOrigins(container.tenants, ttl_s=5.0, clock=lambda: now[0])
    assert not anyio.run(origins.current).allows(EVIL, keys["acme"])

    container.tenants.update_settings("acme", allowed_origins=[SHOP, EVIL])
    now[0] = 4.0
    assert not anyio.run(origins.current).allows(EVIL, keys["acme"])
    now[0] = 5.0
    assert anyio.run(origins.current).allows(EVIL, keys["acme"])
    assert not anyio.run(origins.current).allows(EVIL, keys["globex"])
