"""The browser side: the embeddable widget, the adviser console and the demo pages.

Plain files from ``api/assets`` with no build step. The widget is loaded cross-origin by
client sites, so it may be cached briefly but must pick up a new release within minutes.
The console gets a strict Content-Security-Policy: it shows customer-written text, and
any script that text smuggles in must not run with an adviser's token.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.deps import ServicesDep
from api.errors import ApiError
from api.tenants import TenantError

ASSETS: Final = Path(__file__).resolve().parent.parent / "assets"
CONSOLE_FILES: Final = {"console.js", "console.css"}
CONSOLE_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
WIDGET_CACHE: Final = "public, max-age=300"
_TENANT_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\Z")
_PLACEHOLDER: Final = re.compile(r"\{\{(publishable_key|tenant|display_name)\}\}")

router = APIRouter(include_in_schema=False)


def _file(name: str, media_type: str, headers: dict[str, str] | None = None) -> FileResponse:
    path = ASSETS / name
    if not path.is_file():
        raise ApiError(404, "not_found", f"no asset {name}")
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/widget.js")
def widget() -> FileResponse:
    return _file(
        "widget.js",
        "text/javascript; charset=utf-8",
        {"Cache-Control": WIDGET_CACHE, "Access-Control-Allow-Origin": "*"},
    )


@router.get("/console")
def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=308)


@router.get("/console/")
def console() -> FileResponse:
    return _file(
        "console/index.html",
        "text/html; charset=utf-8",
        {"Content-Security-Policy": CONSOLE_CSP, "Cache-Control": "no-cache"},
    )


@router.get("/console/{name}")
def console_file(name: str) -> FileResponse:
    if name not in CONSOLE_FILES:
        raise ApiError(404, "not_found", f"no console file {name}")
    media = "text/javascript" if name.endswith(".js") else "text/css"
    return _file(f"console/{name}", f"{media}; charset=utf-8", {"Cache-Control": "no-cache"})


@router.get("/demo/{tenant}")
def demo_page(tenant: str, services: ServicesDep) -> Response:
    """A sample client homepage with the widget, keyed for ``tenant`` (dev mode only)."""
    if not services.api_config.demo_pages or not _TENANT_NAME.match(tenant):
        raise ApiError(404, "not_found", "no such demo page")
    try:
        record = services.tenants.get(tenant)
    except TenantError:
        raise ApiError(404, "not_found", f"no tenant {tenant}") from None
    page = ASSETS / "demo" / f"{tenant}.html"
    if not page.is_file():
        page = ASSETS / "demo" / "generic.html"
    values = {
        "publishable_key": record.publishable_key,
        "tenant": record.name,
        "display_name": record.display_name,
    }
    text = _PLACEHOLDER.sub(lambda m: html.escape(values[m.group(1)]), page.read_text("utf-8"))
    return HTMLResponse(text, headers={"Cache-Control": "no-store"})


@router.get("/")
def home(services: ServicesDep) -> Response:
    """Dev mode: links to the demo pages and the console; production: the console."""
    if not services.api_config.demo_pages:
        return RedirectResponse("/console/", status_code=307)
    links = "".join(
        f'<li><a href="/demo/{html.escape(t.name)}">{html.escape(t.display_name)}</a></li>'
        for t in services.tenants.list()
    )
    return HTMLResponse(
        "<!doctype html><html lang=en><meta charset=utf-8><title>Rafiq</title>"
        "<body style='font-family:system-ui;max-width:40rem;margin:3rem auto'>"
        "<h1>Rafiq</h1><h2>Demo sites (widget)</h2>"
        f"<ul>{links}</ul><h2>Advisers</h2><p><a href='/console/'>Adviser console</a></p>"
        f"<p><a href='/docs'>API (OpenAPI)</a></p></body></html>"
    )
