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


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    db = make_engine(f"sqlite:///{tmp_path / 'wizard.db'}")
    migrate.upgrade(db)
    seed(db, DEFAULT_INTERVIEWS)
    yield db
    db.dispose()
