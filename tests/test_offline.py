"""The suite runs with sockets to anything but loopback refused, so offline is enforced."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkBlockedError, is_loopback


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        (("127.0.0.1", 80), True),
        (("127.8.9.10", 80), True),
        (("::1", 80, 0, 0), True),
        (("localhost", 80), True),
        (("10.0.0.1", 80), False),
        (("192.168.1.1", 443), False),
        (("8.8.8.8", 53), False),
        (("huggingface.co", 443), False),
    ],
)
def test_only_loopback_addresses_are_allowed(address: tuple[object, ...], allowed: bool) -> None:
    assert is_loopback(address) is allowed


def test_connecting_outside_is_refused_before_any_packet_leaves() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkBlockedError),
    ):
        # TEST-NET-3: reserved for documentation, never routed, refused by the guard first.
        sock.connect(("203.0.113.7", 443))
