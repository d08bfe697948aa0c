"""The web tests' database: a migrated SQLite with the demo firm and the shipped interviews."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from accord.serve import seed
from accord.settings import DEFAULT_INTERVIEWS
from store import migrate
from store.database import make_engine
from store.testdb import test_database


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with test_database(tmp_path) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """SQLite, or PostgreSQL under `make test-postgres` (see tests/databases.py)."""
    db = make_engine(database_url)
    migrate.upgrade(db)
    seed(db, DEFAULT_INTERVIEWS)
    yield db
    db.dispose()
