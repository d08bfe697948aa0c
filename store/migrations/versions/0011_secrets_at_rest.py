"""webhook signing secrets encrypted at rest (data only: the column stays, its values are sealed)

Revision ID: 0011
Revises: 0005
Create Date: 2026-11-27

The key ring is the process's (`store.secretbox`: `ACCORD_ENCRYPTION_KEYS`, else the key derived
from the server's secret key); `accord serve` and `accord worker` configure it before migrating
(`accord.serve.prepare`). Only rows that need it are touched, so a database with no webhooks needs no key.
Downgrade decrypts the rows back to plain text (it needs the key that encrypted them).
"""

from __future__ import annotations

from alembic import op

from store import secretbox

revision = "0011"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    secretbox.rewrite_column(op.get_bind(), "webhook_secret", "secret", "seal")


def downgrade() -> None:
    secretbox.rewrite_column(op.get_bind(), "webhook_secret", "secret", "unseal")
