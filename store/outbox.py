"""The outbox: domain events written in the same transaction as the change they report.

`emit` only adds a row to the caller's transaction; nothing leaves the process before that
transaction commits (`jobs.worker` reads committed rows). Each event has a unique `event_id`
(receivers de-duplicate on it: delivery is at least once) and a `seq` per agreement, so a
receiver can apply an agreement's events in order.

The event types are the public contract documented in `docs/webhooks.md`; add, never rename.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlmodel import Session as DB

from store.models import OutboxEvent, utcnow

SESSION_STARTED = "session.started"
SESSION_COMPLETED = "session.completed"
ENVELOPE_SENT = "envelope.sent"
ENVELOPE_VIEWED = "envelope.viewed"
ENVELOPE_SIGNED = "envelope.signed"
ENVELOPE_COMPLETED = "envelope.completed"
ENVELOPE_DECLINED = "envelope.declined"
ENVELOPE_VOIDED = "envelope.voided"
ENVELOPE_EXPIRED = "envelope.expired"
# The payment step of an envelope (`signing.payment`): emitted with its `paid` / `refunded` audit events.
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_REFUNDED = "payment.refunded"
TEST_EVENT = "webhook.test"  # sent by `accord webhook test`; never written to the outbox

EVENT_TYPES = (SESSION_STARTED, SESSION_COMPLETED, ENVELOPE_SENT, ENVELOPE_VIEWED, ENVELOPE_SIGNED,
               ENVELOPE_COMPLETED, ENVELOPE_DECLINED, ENVELOPE_VOIDED, ENVELOPE_EXPIRED, PAYMENT_SUCCEEDED,
               PAYMENT_REFUNDED)

_TABLE = OutboxEvent.__table__  # type: ignore[attr-defined]


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def emit(db: DB | Connection, firm_id: int, type: str, agreement_id: str, data: dict[str, Any],
         *, now: dt.datetime | None = None) -> str:
    """Add an event to the open transaction of `db` (an ORM session or a Core connection); the
    caller's commit makes it durable together with the change. Returns the event id.

    The sequence number is the agreement's last plus one; the unique (agreement, seq) makes two
    concurrent writers for one agreement fail one transaction rather than share a number (the
    envelope's own version guard already serialises its changes)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    conn = db.connection() if isinstance(db, DB) else db
    if isinstance(db, DB):
        db.flush()
    last = conn.execute(select(func.max(_TABLE.c.seq)).where(_TABLE.c.agreement_id == agreement_id)).scalar()
    event_id = new_event_id()
    conn.execute(insert(_TABLE).values(
        event_id=event_id, firm_id=firm_id, type=type, agreement_id=agreement_id, seq=(last or 0) + 1,
        data=data, created_at=now or utcnow(), dispatched_at=None))
    return event_id


# The audit actions of `signing.audit` that are domain events (the single place envelopes change).
AUDIT_EVENTS = {"sent": ENVELOPE_SENT, "opened": ENVELOPE_VIEWED, "signed": ENVELOPE_SIGNED,
                "approved": ENVELOPE_SIGNED, "witnessed": ENVELOPE_SIGNED, "reviewed": ENVELOPE_SIGNED,
                "completed": ENVELOPE_COMPLETED, "declined": ENVELOPE_DECLINED, "voided": ENVELOPE_VOIDED,
                "expired": ENVELOPE_EXPIRED, "paid": PAYMENT_SUCCEEDED, "refunded": PAYMENT_REFUNDED}
