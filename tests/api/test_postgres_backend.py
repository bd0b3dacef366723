"""The API really runs on each backend: its dialect, its migrated schema and its row locks."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from agent.conversation import HandoffRequest
from api import models  # noqa: F401  - registers the tables on Base.metadata
from api.database import Base
from rafiq.wiring import Container
from tests.postgres import database_name

CLAIM = text("UPDATE handoffs SET status = 'active' WHERE id = :id AND status = 'waiting'")
# Long enough for the other claim to reach the row while the winner still holds it.
HOLD_S = 0.2


def _open_handoff(container: Container) -> str:
    container.tenants.create("acme")
    conversation = container.conversations.create("acme")
    return container.conversations.open_handoff(
        conversation.id,
        HandoffRequest(
            category="complaint", reason="r", priority="normal", language="fr", summary="s"
        ),
        actor="bot",
    )


def _claim(engine: Engine, handoff_id: str, start: threading.Barrier) -> int:
    with engine.connect() as connection:
        start.wait(timeout=10)
        claimed = connection.execute(CLAIM, {"id": handoff_id}).rowcount
        if claimed:
            time.sleep(HOLD_S)
        connection.commit()
    return claimed


def test_each_backend_variant_talks_to_that_database(
    container: Container, database_backend: str
) -> None:
    assert container.engine.dialect.name == database_backend
    container.check_database()


def test_the_migrations_build_exactly_the_tables_of_the_models(container: Container) -> None:
    with container.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_two_advisers_claiming_the_same_handoff_at_once_only_one_gets_it(
    container: Container,
) -> None:
    handoff_id = _open_handoff(container)
    start = threading.Barrier(2)

    with ThreadPoolExecutor(max_workers=2) as pool:
        claims = [pool.submit(_claim, container.engine, handoff_id, start) for _ in range(2)]
        rowcounts = sorted(claim.result(timeout=30) for claim in claims)

    assert rowcounts == [0, 1]
    with container.engine.connect() as connection:
        status = connection.scalar(
            text("SELECT status FROM handoffs WHERE id = :id"), {"id": handoff_id}
        )
    assert status == "active"


def test_a_test_name_becomes_a_valid_unique_database_name() -> None:
    assert database_name("test_claim[postgresql-body0]", 7) == "test_claim_postgresql_body0_7"
    long = database_name("test_" + "x" * 100, 12)
    assert len(long) == 63 and long.endswith("_12")
