"""Revision 0010 installs procrastinate's schema on PostgreSQL (and nothing on SQLite) from a frozen
copy; the copy must be the installed library's schema, or a procrastinate upgrade slipped in
without the revision that migrates its tables."""

from __future__ import annotations

from pathlib import Path

from procrastinate.schema import SchemaManager
from sqlalchemy import Engine, inspect

from store import migrate

FROZEN = migrate.MIGRATIONS / "versions" / "0010_procrastinate_schema.sql"


def test_the_frozen_schema_is_the_installed_librarys() -> None:
    frozen = FROZEN.read_text(encoding="utf-8")
    body = frozen[frozen.index("-- Procrastinate Schema"):]
    assert body == SchemaManager.get_schema()


def test_procrastinate_tables_only_on_postgresql(db_engine: Engine) -> None:
    tables = set(inspect(db_engine).get_table_names())
    queue_tables = {"procrastinate_jobs", "procrastinate_workers", "procrastinate_events",
                    "procrastinate_periodic_defers"}
    if db_engine.dialect.name == "postgresql":
        assert queue_tables <= tables
    else:
        assert not queue_tables & tables
    assert "delivery" in tables


def test_downgrade_removes_the_queue_schema_and_upgrade_restores_it(db_engine: Engine, tmp_path: Path) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    before = ScriptDirectory.from_config(migrate.config()).get_revision("0010").down_revision
    assert isinstance(before, str)
    with db_engine.begin() as conn:
        cfg = migrate.config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, before)
    assert "procrastinate_jobs" not in set(inspect(db_engine).get_table_names())
    migrate.upgrade(db_engine)
    expected = db_engine.dialect.name == "postgresql"
    assert ("procrastinate_jobs" in set(inspect(db_engine).get_table_names())) is expected
