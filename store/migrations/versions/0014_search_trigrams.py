"""the console's name and e-mail search on PostgreSQL: trigram indexes (pg_trgm)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28

`manage.applicants` searches `lower(display_name) LIKE '%…%' OR lower(contact_email) LIKE '%…%'`;
a B-tree cannot serve a pattern that starts with a wildcard, so PostgreSQL walked the firm's whole
activity index (`bench/console.py`: 112 ms at 100,000 sessions). GIN trigram indexes on the same
expressions serve it. PostgreSQL only (SQLite has no such index; its search stays a walk of the
covering index). `pg_trgm` is a trusted extension: the database's owner may create it.
These indexes are not in `store.models` (SQLAlchemy cannot describe them portably);
`store.migrate.ours` leaves them out of the models' comparison.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = {"ix_interview_session_name_trgm": "display_name", "ix_interview_session_email_trgm": "contact_email"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON interview_session USING gin (lower({column}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
