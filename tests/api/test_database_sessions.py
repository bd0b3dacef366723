"""Sessions: writes queue for SQLite's write lock, reads never wait for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, select

from api.database import create_database_engine, session_factory
from api.models import TenantRow


def test_a_read_does_not_wait_for_a_writer_holding_the_lock(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'rafiq.db'}")
    sessions = session_factory(engine)
    holding = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with sessions.begin() as session:
            session.execute(select(TenantRow.name))  # BEGIN IMMEDIATE: the lock is ours
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with sessions() as session:
            names = session.scalars(select(TenantRow.name)).all()
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join()
        engine.dispose()
    assert names == []
    # A read that queued for the lock would wait until the writer let go (10 s here).
    assert waited < 5


def test_an_autobegun_session_may_not_commit(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'rafiq.db'}")
    sessions = session_factory(engine)
    try:
        with sessions() as session:
            session.execute(select(TenantRow.name))
            with pytest.raises(RuntimeError, match=r"sessions\.begin\(\)"):
                session.commit()
    finally:
        engine.dispose()


def test_a_writer_of_this_process_takes_the_lock_as_soon_as_the_one_ahead_commits(
    tmp_path: Path,
) -> None:
    """SQLite's busy handler would poll in sleeps of up to 100 ms; the process's own queue
    hands the lock over when the writer ahead commits."""
    engine = create_database_engine(f"sqlite:///{tmp_path / 'rafiq.db'}")
    # Without SQLite's busy handler, only the queue of this process can make the second
    # writer wait: SQLite alone would fail it at once with "database is locked".
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=0"))
    engine.dispose()
    sessions = session_factory(engine)
    holding = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with sessions.begin() as session:
            session.add(TenantRow(name="first", display_name="First", publishable_key="pk_1"))
            session.flush()
            holding.set()
            release.wait(10)
            order.append("first commits")

    def second() -> None:
        with sessions.begin() as session:
            session.add(TenantRow(name="second", display_name="Second", publishable_key="pk_2"))
            session.flush()  # BEGIN IMMEDIATE, then the INSERT
            order.append("second writes")

    a = threading.Thread(target=first)
    b = threading.Thread(target=second)
    a.start()
    try:
        assert holding.wait(10)
        b.start()
        time.sleep(0.3)
        assert order == []  # queued behind the first writer
    finally:
        release.set()
        a.join()
        b.join()
    try:
        with sessions() as session:
            names = session.scalars(select(TenantRow.name).order_by(TenantRow.name)).all()
    finally:
        engine.dispose()
    assert order == ["first commits", "second writes"]
    assert names == ["first", "second"]


def test_a_failed_write_lets_the_next_writer_in(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'rafiq.db'}")
    sessions = session_factory(engine)
    try:
        with pytest.raises(ValueError), sessions.begin() as session:
            session.add(TenantRow(name="lost", display_name="Lost", publishable_key="pk_l"))
            session.flush()
            raise ValueError("the request failed half-way")
        outcome: list[str] = []

        def writer() -> None:
            with sessions.begin() as session:
                session.add(TenantRow(name="kept", display_name="Kept", publishable_key="pk_k"))
            outcome.append("written")

        thread = threading.Thread(target=writer)
        thread.start()
        # A lock left held by the rolled-back transaction would keep this writer waiting
        # for the whole busy timeout (30 s).
        thread.join(10)
        assert outcome == ["written"]
        with sessions() as session:
            assert session.scalars(select(TenantRow.name)).all() == ["kept"]
    finally:
        engine.dispose()
