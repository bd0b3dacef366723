"""The browser side's files: widget, console and the dev-only demo pages."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from api.app import create_app
from rafiq.wiring import Container


def _client(container: Container, *, demo_pages: bool = True) -> TestClient:
    # api_config is a cached property: the instance's own value wins.
    vars(container)["api_config"] = dataclasses.replace(container.api_config, demo_pages=demo_pages)
    return TestClient(create_app(container))


def test_the_widget_is_served_as_a_cacheable_script_to_any_site(container: Container) -> None:
    response = _client(container).get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["access-control-allow-origin"] == "*"
    assert "max-age=300" in response.headers["cache-control"]
    assert "attachShadow" in response.text


def test_the_console_forbids_inline_scripts_and_framing(container: Container) -> None:
    client = _client(container)
    page = client.get("/console/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert client.get("/console/console.js").status_code == 200
    assert client.get("/console", follow_redirects=False).status_code == 308
    missing = client.get("/console/secrets.py")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_a_demo_page_carries_the_tenants_key_escaped(container: Container) -> None:
    tenant, _ = container.tenants.create("acme", 'Acme <b>"Shop"</b>')
    page = _client(container).get("/demo/acme")
    assert page.status_code == 200
    assert f'data-key="{tenant.publishable_key}"' in page.text
    assert "<b>" not in page.text and "&lt;b&gt;" in page.text
    assert "{{" not in page.text


def test_demo_pages_exist_only_in_dev_and_for_real_tenants(container: Container) -> None:
    container.tenants.create("acme")
    assert _client(container).get("/demo/nobody").status_code == 404
    assert _client(container).get("/demo/..%2Fetc").status_code == 404
    production = _client(container, demo_pages=False)
    assert production.get("/demo/acme").status_code == 404
    home = production.get("/", follow_redirects=False)
    assert home.status_code == 307 and home.headers["location"] == "/console/"
    assert "/demo/acme" in _client(container).get("/").text
