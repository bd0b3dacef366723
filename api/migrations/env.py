"""Alembic environment: Rafiq runs migrations in-process on a connection it passes in."""

from __future__ import annotations

from alembic import context

from api import models  # noqa: F401  - registers the tables on Base.metadata
from api.database import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
