"""The database fixtures shared by the store and manage tests: each test runs on SQLite and, when a
PostgreSQL server is available (`ACCORD_TEST_POSTGRES_URL`, which `.ci/run` sets after starting
one), on a fresh PostgreSQL database too. Without a server the PostgreSQL cases are skipped, saying so.
A conftest imports them (`from tests.dbfixtures import db_engine, db_url`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store import migrate
from store.database import make_engine
from store.testdb import POSTGRES, fresh_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'accord.db'}"
        return
    if not POSTGRES:
        pytest.skip("no PostgreSQL server: set ACCORD_TEST_POSTGRES_URL (.ci/run starts one)")
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
