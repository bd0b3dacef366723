"""Logs are JSON lines, one per request for access, and never carry a customer's personal data."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.logs import configure_logging
from rafiq.wiring import Container

CARD = "4111 1111 1111 1111"
EMAIL = "amina.benali@example.ma"
PHONE = "0612345678"
PII = (CARD, "4111111111111111", EMAIL, PHONE)


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    err = capsys.readouterr().err
    for secret in PII:
        assert secret not in err
    return [json.loads(line) for line in err.splitlines()]


def test_a_customer_message_logged_raw_comes_out_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging()
    said = f"ma carte {CARD}, mon mail {EMAIL}, appelez le {PHONE}"

    logging.getLogger("rafiq.test").warning(
        "customer said: %s", said, extra={"customer_text": said, "turn": {"text": said, "n": 2}}
    )

    [entry] = _lines(capsys)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "rafiq.test"
    assert entry["ts"]
    assert entry["msg"] == "customer said: ma carte [CARD], mon mail [EMAIL], appelez le [PHONE]"
    assert entry["customer_text"] == "ma carte [CARD], mon mail [EMAIL], appelez le [PHONE]"
    assert entry["turn"]["n"] == 2


def test_an_exception_message_is_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()

    try:
        raise ValueError(f"cannot charge {CARD}")
    except ValueError:
        logging.getLogger("rafiq.test").exception("payment failed")

    [entry] = _lines(capsys)
    assert "ValueError: cannot charge [CARD]" in entry["exc"]


def test_configuring_twice_does_not_duplicate_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    configure_logging(level="DEBUG")

    logging.getLogger("rafiq.test").debug("once")

    assert [e["msg"] for e in _lines(capsys)] == ["once"]


def test_the_text_format_is_redacted_as_well(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_format=False)

    logging.getLogger("rafiq.test").info("call me on %s", PHONE)

    err = capsys.readouterr().err
    assert "INFO rafiq.test call me on [PHONE]" in err
    assert PHONE not in err


def test_each_request_writes_one_access_line_without_query_or_ids(
    container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    client = TestClient(create_app(container))
    configure_logging()

    client.get(
        f"/v1/conversations/c_0123abcd/messages?email={EMAIL}",
        headers={"Authorization": "Bearer ct_x"},
    )

    access = [e for e in _lines(capsys) if e["logger"] == "rafiq.access"]
    assert len(access) == 1
    entry = access[0]
    assert entry["method"] == "GET"
    assert entry["route"] == "/v1/conversations/{conversation_id}/messages"
    assert entry["status"] == 404
    assert entry["duration_ms"] >= 0
    assert "c_0123abcd" not in json.dumps(entry)
    assert "email=" not in json.dumps(entry)
