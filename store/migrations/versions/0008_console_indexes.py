"""indexes for the agent console's list and reports (manage.applicants, manage.reports)

Revision ID: 0008
Revises: 0009 (relinked in the console branch after merging main; the lead orders the chain)
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.drop_index("ix_envelope_firm_completed", table_name="envelope")
    op.drop_index("ix_envelope_firm_status", table_name="envelope")
    op.drop_index("ix_envelope_session_created", table_name="envelope")
    op.drop_index("ix_interview_session_firm_created", table_name="interview_session")
    op.drop_index("ix_interview_session_firm_completed", table_name="interview_session")
