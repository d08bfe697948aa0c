"""Integration tests: a migrated database (SQLite, or PostgreSQL under `make test-postgres`) with a
firm, and the helpers of this folder on the path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import hypothesis  # noqa: F401 - see below
import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB

# hypothesis is imported here, at collection, because its pytest plugin imports it lazily at the end of
# the run otherwise, and on CPython 3.11.7 parsing a module after Playwright's greenlets ran (the browser
# test here) can fail with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
_HERE = str(Path(__file__).resolve().parent)
_LIVE = str(Path(__file__).resolve().parents[1] / "live")  # LiveServer, Inbox, browsing helpers
for _path in (_HERE, _LIVE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from store import migrate  # noqa: E402
from store.database import make_engine  # noqa: E402
from store.sessions import ensure_firm  # noqa: E402
from store.testdb import scratch_database  # noqa: E402


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def firm_id(db_engine: Engine) -> int:
    with DB(db_engine) as db:
        firm = ensure_firm(db, "acme", "Acme Lending")
        assert firm.id is not None
        return firm.id
