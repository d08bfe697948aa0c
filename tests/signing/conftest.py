"""Signing tests run on SQLite, or on PostgreSQL under `make test-postgres`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB

from store import migrate
from store.database import make_engine
from store.sessions import ensure_firm
from store.testdb import test_database


@pytest.fixture
def db_engine(tmp_path: Path) -> Iterator[Engine]:
    with test_database(tmp_path) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def db(db_engine: Engine) -> Iterator[DB]:
    with DB(db_engine) as session:
        yield session


@pytest.fixture
def firm_id(db: DB) -> int:
    firm = ensure_firm(db, "acme", "Acme Lending")
    assert firm.id is not None
    return firm.id
