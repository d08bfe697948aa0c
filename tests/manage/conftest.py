"""Every manage test runs on SQLite and, when a PostgreSQL server is available
(`ACCORD_TEST_POSTGRES_URL`), on a fresh PostgreSQL database too (skipped, saying so, without one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB

from store import migrate
from store.database import make_engine
from store.testdb import POSTGRES, fresh_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def manage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'accord.db'}"
        return
    if not POSTGRES:
        pytest.skip("no PostgreSQL server: set ACCORD_TEST_POSTGRES_URL (.ci/run starts one)")
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def manage_engine(manage_url: str) -> Iterator[Engine]:
    migrate.upgrade(manage_url)
    engine = make_engine(manage_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(manage_engine: Engine) -> Iterator[DB]:
    with DB(manage_engine) as session:
        yield session
