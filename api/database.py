"""Engine and session factory for the relational store (SQLite by default, PostgreSQL too)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import DeclarativeBase, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE_REVISION = "0001"
MIGRATION_LOCK = 7_262_011  # any constant shared by every Rafiq process


class Base(DeclarativeBase):
    pass


def create_database_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # type: ignore[no-untyped-def]
            # WAL lets the server read while the CLI ingests or creates users.
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # Under WAL, NORMAL never corrupts the database; a power cut may lose the last
            # few commits. A full fsync per message was most of a turn's database time.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # The driver's own BEGIN is deferred; we issue ours (below).
            connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection):  # type: ignore[no-untyped-def]
            # A deferred transaction reads, then fails to write if another writer committed
            # meanwhile (a stale WAL snapshot), and SQLite ignores SELECT ... FOR UPDATE.
            # Taking the write lock at BEGIN makes writers queue (busy timeout) instead.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    else:
        # Timestamps come back in the session's time zone: make it UTC whatever the server's.
        engine = create_engine(url, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})
    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe to run at every start.

    A database created before migrations existed holds the baseline schema: it is
    stamped with the baseline revision, then upgraded like any other.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together on an empty database migrate one at a time.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "tenants" in tables and "alembic_version" not in tables:
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    return sessionmaker(engine, expire_on_commit=False)
