"""Alembic environment, driven from code (`store.migrate`); there is no alembic.ini.

The connection comes in `config.attributes["connection"]`; `render_as_batch` lets later
revisions alter SQLite tables (SQLite has no ALTER COLUMN)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.migrate import ours

target_metadata = SQLModel.metadata


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True, include_name=ours)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - store.migrate always passes one
    raise RuntimeError("run migrations through store.migrate (it passes the connection)")
run(connection)
