"""GET /v1/me: the console learns the signed-in user's id, role and tenant."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from rafiq.wiring import Container


def test_a_staff_token_says_who_it_belongs_to(container: Container) -> None:
    container.tenants.create("acme", "Acme Télécom")
    container.tenants.create("globex")
    issued = container.tenants.create_user("acme", "qa", "nadia")
    container.tenants.create_user("globex", "admin", "nadia")
    client = TestClient(create_app(container))
    response = client.get("/v1/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 200
    assert response.json() == {
        "user_id": issued.user.id,
        "name": "nadia",
        "role": "qa",
        "tenant": "acme",
        "tenant_display_name": "Acme Télécom",
    }


def test_no_or_a_revoked_token_gets_401(container: Container) -> None:
    container.tenants.create("acme")
    issued = container.tenants.create_user("acme", "adviser", "salma")
    container.tenants.revoke_users_named("acme", "salma")
    client = TestClient(create_app(container))
    assert client.get("/v1/me").status_code == 401
    revoked = client.get("/v1/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "unauthorized"
