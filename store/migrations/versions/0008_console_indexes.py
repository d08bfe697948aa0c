"""the agent console's list and reports: a session's stage, and indexes (manage.applicants, manage.reports)

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The stage (store.stage): the newest envelope's when it has left draft, else the interview's.
    with op.batch_alter_table("interview_session") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=16), nullable=False, server_default="in_progress"))
    op.execute("UPDATE interview_session SET stage = 'completed' WHERE completed_at IS NOT NULL")
    op.execute(
        "UPDATE interview_session SET stage = (SELECT CASE e.status WHEN 'sent' THEN 'signing' "
        "WHEN 'completed' THEN 'signed' ELSE e.status END FROM envelope e WHERE e.session_id = interview_session.id "
        "ORDER BY e.created_at DESC, e.id DESC LIMIT 1) "
        "WHERE EXISTS (SELECT 1 FROM envelope e WHERE e.session_id = interview_session.id AND e.status <> 'draft' "
        "AND NOT EXISTS (SELECT 1 FROM envelope n WHERE n.session_id = e.session_id "
        "AND (n.created_at > e.created_at OR (n.created_at = e.created_at AND n.id > e.id))))"
    )
    op.create_index("ix_interview_session_firm_stage_updated", "interview_session", ["firm_id", "stage", "updated_at"])
    # Reports: completions in a date range from the index alone; the funnel's sessions by start.
    op.create_index("ix_interview_session_firm_completed", "interview_session",
                    ["firm_id", "completed_at", "created_at"])
    op.create_index("ix_interview_session_firm_created", "interview_session", ["firm_id", "created_at"])
    # The list: a session's newest envelope; a firm's envelopes in a status (signing, declined, ...);
    # reports: envelopes completed in a date range with their sending time.
    op.create_index("ix_envelope_session_created", "envelope", ["session_id", "created_at"])
    op.create_index("ix_envelope_firm_status", "envelope", ["firm_id", "status"])
    op.create_index("ix_envelope_firm_completed", "envelope", ["firm_id", "completed_at", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_interview_session_firm_stage_updated", table_name="interview_session")
    with op.batch_alter_table("interview_session") as batch:
        batch.drop_column("stage")
    op.drop_index("ix_envelope_firm_completed", table_name="envelope")
    op.drop_index("ix_envelope_firm_status", table_name="envelope")
    op.drop_index("ix_envelope_session_created", table_name="envelope")
    op.drop_index("ix_interview_session_firm_created", table_name="interview_session")
    op.drop_index("ix_interview_session_firm_completed", table_name="interview_session")
