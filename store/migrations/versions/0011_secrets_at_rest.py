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

import sqlalchemy as sa
from alembic import op

from store import secretbox

revision = "0011"
down_revision = "0005"
branch_labels = None
depends_on = None

_secret = sa.table("webhook_secret", sa.column("id", sa.Integer()), sa.column("secret", sa.Text()))


def _rewrite(change: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_secret.c.id, _secret.c.secret).order_by(_secret.c.id)).all()
    if change == "seal":
        todo = [(i, v) for i, v in rows if not secretbox.is_sealed(v)]
    else:
        todo = [(i, v) for i, v in rows if secretbox.is_sealed(v)]
    if not todo:
        return
    ring = secretbox.current()
    for row_id, value in todo:
        new = ring.seal(value) if change == "seal" else ring.unseal(value)
        conn.execute(sa.update(_secret).where(_secret.c.id == row_id).values(secret=new))


def upgrade() -> None:
    _rewrite("seal")


def downgrade() -> None:
    _rewrite("unseal")
