"""The audit trail of an envelope: append-only events, each carrying the hash of the previous
event of the same envelope, so editing, deleting, inserting or reordering any event breaks the
chain. The head hash (of the last event) goes into the certificate of completion and is sealed
with the document; `accord audit verify ENVELOPE` recomputes the chain from the database.

The hash is SHA-256 over a canonical JSON of every stored field but the row id and the hash
itself: envelope, seq, time (ISO, UTC, microseconds), actor, action, detail, IP, user agent,
document hashes before and after, and the previous hash (64 zeros for the first event).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session as DB
from sqlmodel import col, select

from store import outbox
from store.models import AuditEvent, Envelope, Participant

GENESIS = "0" * 64


def _iso(at: dt.datetime) -> str:
    if at.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    body = {
        "envelope": event.envelope_id, "seq": event.seq, "at": _iso(event.at), "actor": event.actor,
        "action": event.action, "detail": event.detail, "ip": event.ip, "user_agent": event.user_agent,
        "doc_before": event.doc_before, "doc_after": event.doc_after, "prev": prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def events(db: DB, envelope_id: str) -> list[AuditEvent]:
    return list(db.exec(select(AuditEvent).where(AuditEvent.envelope_id == envelope_id)
                        .order_by(col(AuditEvent.seq))).all())


def append(db: DB, envelope_id: str, actor: str, action: str, *, detail: dict[str, Any] | None = None,
           ip: str | None = None, user_agent: str | None = None, doc_before: str | None = None,
           doc_after: str | None = None, at: dt.datetime | None = None) -> AuditEvent:
    """Add the next event to the session's transaction (the caller commits it together with the
    change it records; the unique (envelope, seq) makes a concurrent append fail, not fork)."""
    last = db.exec(select(AuditEvent).where(AuditEvent.envelope_id == envelope_id)
                   .order_by(col(AuditEvent.seq).desc())).first()
    # Microseconds are kept but the value is truncated the way the database stores it.
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    event = AuditEvent(envelope_id=envelope_id, seq=(last.seq + 1) if last else 1, at=when, actor=actor,
                       action=action, detail=json.loads(json.dumps(detail or {}, default=str)), ip=ip,
                       user_agent=(user_agent or None) and user_agent[:500], doc_before=doc_before,
                       doc_after=doc_after, prev_hash=last.hash if last else GENESIS, hash="")
    event.hash = event_hash(event, event.prev_hash)
    db.add(event)
    if action in outbox.AUDIT_EVENTS:
        _emit(db, envelope_id, outbox.AUDIT_EVENTS[action], actor, detail or {}, when)
    return event


def _emit(db: DB, envelope_id: str, kind: str, actor: str, detail: dict[str, Any], when: dt.datetime) -> None:
    """Every envelope transition passes here with its audit event: its domain event joins the same
    transaction (`store.outbox`). The payload carries ids and roles, not names or e-mail addresses."""
    envelope = db.get(Envelope, envelope_id)
    if envelope is None:
        return
    data: dict[str, Any] = {"envelope_id": envelope.id, "session_id": envelope.session_id,
                            "status": envelope.status}
    who = db.get(Participant, actor) if actor not in ("sender", "system") else None
    if who is not None:
        data["participant"] = {"id": who.id, "role": who.role, "action": who.action}
    if kind in (outbox.ENVELOPE_DECLINED, outbox.ENVELOPE_VOIDED):
        data["reason"] = detail.get("reason")
    if kind in (outbox.PAYMENT_SUCCEEDED, outbox.PAYMENT_REFUNDED):
        data["payment"] = {k: detail[k] for k in ("amount_minor", "currency", "provider", "payment_intent",
                                                  "refund", "reason", "remaining_minor") if k in detail}
    outbox.emit(db, envelope.firm_id, kind, envelope.session_id or envelope.id, data, now=when)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    count: int
    head: str  # the last event's recomputed hash (GENESIS when there is none)
    problems: tuple[str, ...]


def verify(chain: Sequence[AuditEvent]) -> ChainReport:
    """Recompute the chain, in seq order as stored. Any edited field, deleted, inserted or
    reordered event shows as a problem naming the event."""
    problems: list[str] = []
    prev = GENESIS
    for expected_seq, event in enumerate(chain, 1):
        if event.seq != expected_seq:
            problems.append(f"event {event.seq}: expected sequence number {expected_seq} (an event is missing "
                            "or out of order)")
        if event.prev_hash != prev:
            problems.append(f"event {event.seq} ({event.action}): does not link to the event before it")
        recomputed = event_hash(event, event.prev_hash)
        if recomputed != event.hash:
            problems.append(f"event {event.seq} ({event.action}): its content was changed after it was recorded")
        prev = event.hash
    return ChainReport(ok=not problems, count=len(chain), head=prev, problems=tuple(problems))
