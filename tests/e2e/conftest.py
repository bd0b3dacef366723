"""Browser tests: Debian's Chromium driven by Playwright against a real server.

One server per session, in generative mode against the paced stub LLM of ``bench.api``
(so the widget really receives an answer word by word), with both sample tenants loaded.
Tests that change shared state (handoffs, conversations) create their own conversation.

Screenshots go to ``tests/e2e/screenshots/`` (gitignored): look at them.
Without Chromium these tests are skipped, unless ``RAFIQ_REQUIRE_BROWSER=1`` (set by CI)
makes that a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from pydantic import SecretStr

from api.app import create_app
from bench.api import Pacing, stub_app
from rafiq.demo import DemoTenant, load_sample_tenant, sample_tenant_dirs
from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("RAFIQ_REQUIRE_BROWSER") == "1"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# Slow enough that a test sees the answer grow, fast enough to keep the suite short.
E2E_PACING = Pacing(triage_ms=20.0, rewrite_ms=20.0, first_token_ms=150.0, token_ms=40.0, tokens=20)


@dataclass(frozen=True)
class E2EServer:
    base_url: str
    tenants: dict[str, DemoTenant]
    container: Container


@pytest.fixture(autouse=True)
def _chromium_installed() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install chromium"
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (RAFIQ_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EServer]:
    data = tmp_path_factory.mktemp("e2e") / "var"
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("RAFIQ_")}
    try:
        with live_server(stub_app(E2E_PACING)) as stub_url:
            settings = Settings(
                data_dir=data,
                samples_dir=REPO / "samples",
                llm_base_url=f"{stub_url}/v1",
                llm_api_key=SecretStr("e2e"),
                llm_model="bench-stub",
                rate_per_minute=10_000,
                rate_burst=1_000,
                sse_heartbeat_s=2.0,
            )
            container = Container(settings)
            tenants = {
                t.name: t
                for t in (
                    load_sample_tenant(container, f) for f in sample_tenant_dirs(REPO / "samples")
                )
            }
            try:
                with live_server(create_app(container)) as url:
                    yield E2EServer(url, tenants, container)
            finally:
                if "engine" in vars(container):
                    container.engine.dispose()
    finally:
        os.environ.update(saved)


@pytest.fixture(scope="session")
def base_url(e2e_server: E2EServer) -> str:
    return e2e_server.base_url


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``shoot(page, "step")`` saves ``screenshots/<test>--step.png``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name)

    def save(page: Page, step: str, *, full_page: bool = False) -> Path:
        path = SCREENSHOTS / f"{test}--{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    yield save
