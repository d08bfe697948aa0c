"""staff TOTP secrets encrypted at rest (data only: the column stays, its values are sealed)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28

As 0011 does for webhook signing secrets, with the same key ring (`store.secretbox`): whoever
reads a copy of the database must not be able to make a staff member's second-factor codes.
Only plain rows are touched, so a database with no enrolled staff needs no key. Downgrade
decrypts them back (it needs the key that encrypted them).
"""

from __future__ import annotations

from alembic import op

from store import secretbox

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    secretbox.rewrite_column(op.get_bind(), "staff", "totp_secret", "seal")


def downgrade() -> None:
    secretbox.rewrite_column(op.get_bind(), "staff", "totp_secret", "unseal")
