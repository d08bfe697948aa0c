"""Every store test that takes `db_url` / `db_engine` runs on SQLite and on PostgreSQL when a
server is available (tests/dbfixtures.py)."""

from tests.dbfixtures import db_engine, db_url

__all__ = ["db_engine", "db_url"]
