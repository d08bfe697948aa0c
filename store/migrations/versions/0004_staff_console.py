"""staff accounts; a session's agent and its denormalised progress for the console

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("sees_all", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["firm_id"], ["firm.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index(op.f("ix_staff_firm_id"), "staff", ["firm_id"], unique=False)
    with op.batch_alter_table("interview_session") as batch:
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("current_block", sa.Text(), nullable=True))
        batch.add_column(sa.Column("current_section", sa.Text(), nullable=True))
        batch.add_column(sa.Column("progress", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("display_name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("contact_email", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_interview_session_agent_id", "staff", ["agent_id"], ["id"])
        batch.create_index("ix_interview_session_firm_updated", ["firm_id", "updated_at"])
        batch.create_index("ix_interview_session_agent_updated", ["agent_id", "updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("interview_session") as batch:
        batch.drop_index("ix_interview_session_agent_updated")
        batch.drop_index("ix_interview_session_firm_updated")
        batch.drop_constraint("fk_interview_session_agent_id", type_="foreignkey")
        for column in ("contact_email", "display_name", "completed_at", "progress", "current_section",
                       "current_block", "agent_id"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_staff_firm_id"), table_name="staff")
    op.drop_table("staff")
