"""Every API test that uses ``container`` runs twice: on SQLite and on PostgreSQL.

PostgreSQL runs in one throwaway cluster per session, started by the first test that
needs it, with a fresh database per test. Without PostgreSQL installed those variants
are skipped, unless ``RAFIQ_REQUIRE_POSTGRES=1`` (set by CI) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.postgres import PostgresCluster, find_bin_dir

BACKENDS = ("sqlite", "postgresql")
# Read at import: the rafiq_env fixture removes every RAFIQ_* variable during a test.
REQUIRE_POSTGRES = os.environ.get("RAFIQ_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} but RAFIQ_REQUIRE_POSTGRES=1", pytrace=False)
        pytest.skip(f"{reason}; apt-get install postgresql to run these")
    with PostgresCluster.start(bin_dir) as cluster:
        yield cluster


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    """The backend under test; its name is also the SQLAlchemy dialect's name."""
    backend: str = request.param
    return backend


@pytest.fixture
def container(
    database_backend: str,
    rafiq_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Container]:
    cluster: PostgresCluster | None = None
    url = ""
    if database_backend == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        url = cluster.create_database(request.node.name)
        monkeypatch.setenv("RAFIQ_DATABASE_URL", url)
    built = Container(Settings())
    try:
        yield built
    finally:
        # cached_property keeps the engine in the instance dict once it has been built.
        if "engine" in vars(built):
            built.engine.dispose()
        if cluster is not None:
            cluster.drop_database(url)
