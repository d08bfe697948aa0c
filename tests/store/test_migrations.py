from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import store.models  # noqa: F401
from store import migrate
from store.database import check, is_sqlite, make_engine, normalize_url


def test_migrations_apply_to_an_empty_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert migrate.current_revision(url) is None
    assert not migrate.is_current(url)
    migrate.upgrade(url)
    assert migrate.is_current(url)
    assert migrate.current_revision(url) == migrate.head()
    migrate.upgrade(url)  # idempotent
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"firm", "interview_version", "interview_session", "answer_event", "alembic_version"} <= tables


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        # procrastinate's own tables (revision 0010, PostgreSQL) are the queue library's, not our models.
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": migrate.ours})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_sqlite_pragmas_on_every_connection(db_engine: Engine) -> None:
    if db_engine.dialect.name != "sqlite":
        assert check(db_engine) is None  # PostgreSQL needs no pragmas: only that it answers
        return
    for _ in range(2):
        with db_engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    assert check(db_engine) is None


def test_check_reports_an_unreachable_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    reason = check(engine)
    assert reason is not None and reason.startswith("database unreachable")


def test_postgres_urls_mean_psycopg3() -> None:
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert normalize_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"
    assert not is_sqlite("postgresql://h/db")
    assert is_sqlite("sqlite:///x.db")
