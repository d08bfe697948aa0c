"""the agent's console indexes hold only sessions that have an agent (partial indexes)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28

Every acknowledged step moves its session in each index that holds `updated_at`: four of them
since revision 0008, a B-tree update (and a page for the WAL) each. Two of those serve an agent's
list (`agent_id = ?`), yet an applicant who started from the firm's link has no agent: their
entries (`agent_id` NULL) were kept up to date for no query. Partial indexes (`WHERE agent_id IS
NOT NULL`, which `agent_id = ?` implies, so SQLite and PostgreSQL still use them) leave them out:
raw SQLite measured 0.217 → 0.174 ms of CPU per step write (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

from alembic import op
from sqlalchemy import text

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_interview_session_agent_updated": ["agent_id", "updated_at"],
    "ix_interview_session_agent_stage_updated": ["agent_id", "firm_id", "stage", "updated_at"],
}


def _recreate(partial: bool) -> None:
    where = text("agent_id IS NOT NULL")
    kwargs: dict[str, Any] = {"sqlite_where": where, "postgresql_where": where} if partial else {}
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name="interview_session")
        op.create_index(name, "interview_session", columns, **kwargs)


def upgrade() -> None:
    _recreate(partial=True)


def downgrade() -> None:
    _recreate(partial=False)
