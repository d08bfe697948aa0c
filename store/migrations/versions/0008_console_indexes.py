"""the agent console's list and reports: a session's stage, and indexes (manage.applicants, manage.reports)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
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
    # An agent's sessions in a stage; with firm_id, an agent's page is counted from the index alone.
    op.create_index("ix_interview_session_agent_stage_updated", "interview_session",
                    ["agent_id", "firm_id", "stage", "updated_at"])
    # The firm's list, search and "stuck" walk a firm's sessions by last activity reading only this
    # index; it starts with 0004's (firm_id, updated_at), which it replaces.
    op.create_index("ix_interview_session_firm_activity", "interview_session",
                    ["firm_id", "updated_at", "stage", "display_name", "contact_email", "id"])
    op.drop_index("ix_interview_session_firm_updated", table_name="interview_session")
    # Reports: completions in a date range from the index alone; the funnel's sessions by start.
    op.create_index("ix_interview_session_firm_completed", "interview_session",
                    ["firm_id", "completed_at", "created_at"])
    op.create_index("ix_interview_session_firm_created", "interview_session", ["firm_id", "created_at", "id"])
    # The list: a session's newest envelope; a firm's envelopes in a status (signing, declined, ...);
    # reports: envelopes completed in a date range with their sending time.
    op.create_index("ix_envelope_session_created", "envelope", ["session_id", "created_at"])
    op.create_index("ix_envelope_firm_status", "envelope", ["firm_id", "status", "sent_at", "session_id", "id"])
    op.create_index("ix_envelope_firm_completed", "envelope", ["firm_id", "completed_at", "sent_at"])
    # An envelope's last event from the index alone (the console's "idle" signing).
    op.create_index("ix_audit_event_envelope_at", "audit_event", ["envelope_id", "at"])
    # The funnel reads the answer log's (session, seq, time, block) from the index alone.
    op.create_index("ix_answer_event_session_seq_at", "answer_event", ["session_id", "seq", "at", "block"])
    # "Failed codes": a sent envelope's participants and their attempts from the indexes alone.
    op.create_index("ix_participant_envelope_status", "participant", ["envelope_id", "status", "id"])
    op.create_index("ix_identity_challenge_participant_attempts", "identity_challenge",
                    ["participant_id", "attempts", "verified_at"])


def downgrade() -> None:
    op.drop_index("ix_answer_event_session_seq_at", table_name="answer_event")
    op.drop_index("ix_identity_challenge_participant_attempts", table_name="identity_challenge")
    op.drop_index("ix_participant_envelope_status", table_name="participant")
    op.drop_index("ix_audit_event_envelope_at", table_name="audit_event")
    op.create_index("ix_interview_session_firm_updated", "interview_session", ["firm_id", "updated_at"])
    op.drop_index("ix_interview_session_firm_activity", table_name="interview_session")
    op.drop_index("ix_interview_session_agent_stage_updated", table_name="interview_session")
    op.drop_index("ix_interview_session_firm_stage_updated", table_name="interview_session")
    with op.batch_alter_table("interview_session") as batch:
        batch.drop_column("stage")
    op.drop_index("ix_envelope_firm_completed", table_name="envelope")
    op.drop_index("ix_envelope_firm_status", table_name="envelope")
    op.drop_index("ix_envelope_session_created", table_name="envelope")
    op.drop_index("ix_interview_session_firm_created", table_name="interview_session")
    op.drop_index("ix_interview_session_firm_completed", table_name="interview_session")
