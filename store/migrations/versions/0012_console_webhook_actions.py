"""console actions without an applicant: what staff did to the firm's webhooks

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("console_action") as batch:
        batch.alter_column("session_id", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM console_action WHERE session_id IS NULL")
    with op.batch_alter_table("console_action") as batch:
        batch.alter_column("session_id", existing_type=sa.String(length=64), nullable=False)
