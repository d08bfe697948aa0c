"""Every manage test runs on SQLite and, when a PostgreSQL server is available
(`ACCORD_TEST_POSTGRES_URL`), on a fresh PostgreSQL database too (tests/dbfixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB

from tests.dbfixtures import db_engine, db_url

__all__ = ["db", "db_engine", "db_url"]


@pytest.fixture
def db(db_engine: Engine) -> Iterator[DB]:
    with DB(db_engine) as session:
        yield session
