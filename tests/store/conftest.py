"""Every store test that takes `db_url` / `db_engine` runs on SQLite and, when a PostgreSQL server
is available (`ACCORD_TEST_POSTGRES_URL`, which `.ci/run` sets after starting one), on a fresh
PostgreSQL database too. Without a server the PostgreSQL cases are skipped, saying so."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from store import migrate
from store.database import make_engine, normalize_url

POSTGRES = os.environ.get("ACCORD_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'accord.db'}"
        return
    if not POSTGRES:
        pytest.skip("no PostgreSQL server: set ACCORD_TEST_POSTGRES_URL (.ci/run starts one)")
    name = f"accord_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(POSTGRES), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
