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

import sqlalchemy as sa
from alembic import op

from store import secretbox

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_staff = sa.table("staff", sa.column("id", sa.Integer()), sa.column("totp_secret", sa.Text()))


def _rewrite(change: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_staff.c.id, _staff.c.totp_secret).where(_staff.c.totp_secret.is_not(None))
                        .order_by(_staff.c.id)).all()
    todo = [(i, v) for i, v in rows if secretbox.is_sealed(v) == (change == "unseal")]
    if not todo:
        return
    ring = secretbox.current()
    for row_id, value in todo:
        new = ring.seal(value) if change == "seal" else ring.unseal(value)
        conn.execute(sa.update(_staff).where(_staff.c.id == row_id).values(totp_secret=new))


def upgrade() -> None:
    _rewrite("seal")


def downgrade() -> None:
    _rewrite("unseal")
