"""Test-wide guards: no network beyond loopback, no state outside tmp directories."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rafiq.settings import Settings
from rafiq.wiring import Container

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent


class NetworkBlockedError(OSError):
    """A test tried to reach a host that is not this machine."""


def is_loopback(address: Any) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    host = address[0]
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
        raise NetworkBlockedError(f"tests may not connect to {address!r}: only loopback is allowed")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
        raise NetworkBlockedError(f"tests may not connect to {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


# Installed at import so that even session fixtures and collection run offline.
socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]


@pytest.fixture
def rafiq_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data directory and no stray RAFIQ_* settings from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("RAFIQ_"):
            monkeypatch.delenv(key)
    data = tmp_path / "var"
    monkeypatch.setenv("RAFIQ_DATA_DIR", str(data))
    monkeypatch.setenv("RAFIQ_SAMPLES_DIR", str(REPO / "samples"))
    monkeypatch.chdir(tmp_path)
    yield data


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running in the main thread from the first
    # browser test to the end of the session: everything that calls asyncio.run() (the
    # agent in generative mode, ragas) must run before the browser tests.
    items.sort(key=lambda item: "e2e" in item.path.parts)
