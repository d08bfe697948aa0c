"""Databases for the test suite (here so that every test folder can import it).

`make test` runs everything on SQLite; `make test-postgres` (which `.ci/run` runs too, against
the PostgreSQL it starts) sets `ACCORD_TEST_DATABASE=postgresql` so every test that touches a
database (store, web, live server, corpus through the web) runs on a fresh PostgreSQL database.
`ACCORD_TEST_POSTGRES_URL` names the server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from store.database import normalize_url

POSTGRES = os.environ.get("ACCORD_TEST_POSTGRES_URL", "")
ON_POSTGRES = os.environ.get("ACCORD_TEST_DATABASE", "sqlite") == "postgresql"


@contextmanager
def fresh_postgres(server: str | None = None, prefix: str = "accord_test") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database on `server` (default: the tests' server),
    dropped afterwards. The benchmarks use it too, with their own server and prefix."""
    server = server or POSTGRES
    if not server:
        raise RuntimeError("ACCORD_TEST_DATABASE=postgresql needs ACCORD_TEST_POSTGRES_URL (.ci/run starts a server)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_database(folder: Path) -> Iterator[str]:
    """A database URL for one test (or one live server): SQLite in `folder`, or a fresh PostgreSQL."""
    if ON_POSTGRES:
        with fresh_postgres() as url:
            yield url
    else:
        yield f"sqlite:///{folder / 'accord.db'}"
