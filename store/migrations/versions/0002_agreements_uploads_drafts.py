"""agreement versions, uploads, and the session draft

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("interview_session", sa.Column("draft", JSONType, nullable=True))
    op.create_table(
        "agreement_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("interview_session.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("source", JSONType, nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("changes", JSONType, nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", "number", name="uq_agreement_version_session_number"),
    )
    op.create_index("ix_agreement_version_session_id", "agreement_version", ["session_id"])
    op.create_table(
        "upload",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("interview_session.id"), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_upload_session_id", "upload", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_upload_session_id", "upload")
    op.drop_table("upload")
    op.drop_index("ix_agreement_version_session_id", "agreement_version")
    op.drop_table("agreement_version")
    with op.batch_alter_table("interview_session") as batch:
        batch.drop_column("draft")
