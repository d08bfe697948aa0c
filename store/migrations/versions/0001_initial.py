"""initial: firm, interview_version, interview_session, answer_event

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "firm",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "interview_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("firm_id", sa.Integer(), sa.ForeignKey("firm.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("firm_id", "content_hash", name="uq_interview_version_firm_hash"),
    )
    op.create_index("ix_interview_version_firm_id", "interview_version", ["firm_id"])
    op.create_table(
        "interview_session",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("firm_id", sa.Integer(), sa.ForeignKey("firm.id"), nullable=False),
        sa.Column("interview_version_id", sa.Integer(), sa.ForeignKey("interview_version.id"), nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_interview_session_firm_id", "interview_session", ["firm_id"])
    op.create_index("ix_interview_session_interview_version_id", "interview_session", ["interview_version_id"])
    op.create_table(
        "answer_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("interview_session.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("block", sa.Text(), nullable=False),
        sa.Column("changes", JSONType, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", "seq", name="uq_answer_event_session_seq"),
    )


def downgrade() -> None:
    op.drop_table("answer_event")
    op.drop_index("ix_interview_session_interview_version_id", "interview_session")
    op.drop_index("ix_interview_session_firm_id", "interview_session")
    op.drop_table("interview_session")
    op.drop_index("ix_interview_version_firm_id", "interview_version")
    op.drop_table("interview_version")
    op.drop_table("firm")
