"""Engine and session factory for the relational store (SQLite by default, PostgreSQL too)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransactionOrigin, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE_REVISION = "0001"
MIGRATION_LOCK = 7_262_011  # any constant shared by every Rafiq process
PG_POOL_SIZE = 30
PG_POOL_OVERFLOW = 20
READ_ONLY = "rafiq_read_only"
"""Connection execution option: this transaction only reads (no SQLite write lock)."""
SQLITE_BUSY_TIMEOUT_S = 30.0


class Base(DeclarativeBase):
    pass


def create_database_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_S,
                "factory": _writer_queue_connection(),
            },
        )

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
        def _begin(connection):  # type: ignore[no-untyped-def]
            # A deferred transaction reads, then fails to write if another writer committed
            # meanwhile (a stale WAL snapshot), and SQLite ignores SELECT ... FOR UPDATE.
            # Taking the write lock at BEGIN makes writers queue (first on this process's
            # lock, then on SQLite's busy timeout behind other processes) instead.
            # Reads need no lock under WAL: queueing them behind writers serialised a busy
            # server.
            if connection.get_execution_options().get(READ_ONLY):
                connection.exec_driver_sql("BEGIN")
                return
            dbapi_connection = connection.connection.dbapi_connection
            dbapi_connection.wait_for_writers()
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_connection.done_writing()
                raise

    else:
        # Timestamps come back in the session's time zone: make it UTC whatever the server's.
        # Turn threads and FastAPI's own worker threads both hold connections; the default
        # pool (5, and 10 more opened and closed per use) made a loaded server reconnect
        # to PostgreSQL all the time.
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=PG_POOL_SIZE,
            max_overflow=PG_POOL_OVERFLOW,
            connect_args={"options": "-c timezone=UTC"},
        )
    migrate(engine)
    return engine


class _QueuedWriterConnection(sqlite3.Connection):
    """A connection whose write transactions queue on a lock of this process.

    SQLite's own busy handler makes a waiting writer sleep in growing steps (up to
    100 ms) and poll: under a busy server one write in twenty waited over 90 ms, and
    some seconds, while the writer ahead held the lock for a millisecond or two. Writers
    of this process now wait on a lock that hands over at once; SQLite's busy timeout
    still queues them behind other processes (the CLI ingesting, another server).
    """

    writers: threading.Lock  # one per engine, set by _writer_queue_connection
    _writing = False

    def wait_for_writers(self) -> None:
        if not self.writers.acquire(timeout=SQLITE_BUSY_TIMEOUT_S):
            raise sqlite3.OperationalError("database is locked")
        self._writing = True

    def done_writing(self) -> None:
        if self._writing:
            self._writing = False
            self.writers.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.done_writing()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.done_writing()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.done_writing()


def _writer_queue_connection() -> type[_QueuedWriterConnection]:
    """A connection class whose writers share one lock: one per engine, so that two
    engines on two files never wait for each other."""
    return type("QueuedWriterConnection", (_QueuedWriterConnection,), {"writers": threading.Lock()})


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


class RafiqSession(Session):
    """A session opened with ``sessions.begin()`` may write; one that begins by itself
    (``with sessions() as s:`` then a query) only reads, and its transaction says so.

    Nothing in Rafiq commits an autobegun session: writes always go through
    ``sessions.begin()``, so the read-only marking never hides a write.
    """

    def _connection_for_bind(
        self, engine: Any, execution_options: Any = None, **kw: Any
    ) -> Connection:
        if self._transaction is None:  # about to autobegin
            execution_options = {**(execution_options or {}), READ_ONLY: True}
        connection: Connection = super()._connection_for_bind(engine, execution_options, **kw)
        return connection

    def commit(self) -> None:
        transaction = self._transaction
        if transaction is not None and transaction.origin is SessionTransactionOrigin.AUTOBEGIN:
            raise RuntimeError("write with sessions.begin(): this session began read-only")
        super().commit()


def session_factory(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    return sessionmaker(engine, class_=RafiqSession, expire_on_commit=False)
