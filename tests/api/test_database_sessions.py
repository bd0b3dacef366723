"""Sessions: writes queue for SQLite's write lock, reads never wait for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

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
