"""the job queue of the scale path: procrastinate's schema (PostgreSQL only; nothing on SQLite)

Revision ID: 0010
Revises: 0011
Create Date: 2026-11-27

`ACCORD_QUEUE=procrastinate` turns outbox deliveries into procrastinate jobs (`jobs/queue.py`). Its
tables, types and functions come from the frozen copy of procrastinate 3.10's `schema.sql` beside
this file, applied in the migration's transaction, so `accord migrate` is the one way a database
gets its schema. On SQLite (the embedded default, `ACCORD_QUEUE=table`) there is nothing to do.
Upgrading procrastinate to a version whose schema differs needs a new revision applying its
`sql/migrations/*.sql` (tests/store/test_queue_schema.py fails until then).
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None

SCHEMA = Path(__file__).with_name("0010_procrastinate_schema.sql")

DROP = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
    procrastinate_workers CASCADE;
DO $$
DECLARE f record;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
    END LOOP;
END $$;
DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type, procrastinate_job_status CASCADE;
"""


def _run(sql: str) -> None:
    """Through the driver with no parameters (simple protocol: several statements, `%` left alone)."""
    dbapi = op.get_bind().connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _run(SCHEMA.read_text(encoding="utf-8"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _run(DROP)
