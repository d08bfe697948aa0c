"""what staff did to applicants from the console (invite, resend, remind, extend, void, reassign)

Revision ID: 0006
Revises: 0008 (relinked after merging the reports branch; the lead orders the chain)
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("envelope_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["envelope_id"], ["envelope.id"]),
        sa.ForeignKeyConstraint(["firm_id"], ["firm.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["interview_session.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_console_action_firm_id"), "console_action", ["firm_id"], unique=False)
    op.create_index("ix_console_action_session_at", "console_action", ["session_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_console_action_session_at", table_name="console_action")
    op.drop_index(op.f("ix_console_action_firm_id"), table_name="console_action")
    op.drop_table("console_action")
