"""Schemathesis generates requests from the OpenAPI document: none may cause a 5xx.

Each generated request carries real credentials and real ids where the path has them,
so the fuzzing reaches the handlers rather than stopping at authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api.app import create_app
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant


@dataclass
class Fixture:
    app: FastAPI
    key: str
    conversation_id: str
    conversation_token: str
    handoff_id: str
    staff_token: str


@pytest.fixture
def fuzz_target(container: Container, small_kb: Path) -> Iterator[Fixture]:
    load_tenant(container, "acme", small_kb)
    app = create_app(container)
    tenant = container.tenants.get("acme")
    conversation, token, _ = container.customers.open(tenant, "fr", None)
    handoff_id = container.agent.request_handoff("acme", conversation.id, None)
    # An admin may do everything an adviser or QA member may.
    staff = container.tenants.create_user("acme", "admin", "fuzz").token
    yield Fixture(app, tenant.publishable_key, conversation.id, token, handoff_id, staff)


def test_no_request_causes_a_server_error(fuzz_target: Fixture) -> None:
    # The event streams never end by design; they are tested in tests/api/test_streams.py.
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_target.app).exclude(
        path_regex=r".*/events$"
    )
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15, "the OpenAPI document lost operations"

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def no_server_error(case: Any) -> None:
            _call(case, fuzz_target)

        no_server_error()


def _call(case: Any, fuzz_target: Fixture) -> None:
    path = case.path_parameters or {}
    if "conversation_id" in path:
        path["conversation_id"] = fuzz_target.conversation_id
    if "handoff_id" in path:
        path["handoff_id"] = fuzz_target.handoff_id
    customer = case.path.startswith("/v1/conversations")
    token = fuzz_target.conversation_token if customer else fuzz_target.staff_token
    headers = {"Authorization": f"Bearer {token}", "X-Rafiq-Key": fuzz_target.key}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
