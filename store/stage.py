"""A session's stage, as the agent console lists and filters it, kept on the session row
(`interview_session.stage`) so that a status filter is one index range, not a search through
every session's envelopes (`bench/console.py`).

in_progress → completed (the interview reached its end) → signing (its newest envelope was sent)
→ signed / declined / voided / expired. The stage mirrors the session's *newest* envelope once
that envelope has left draft; until then it follows the interview. Two writers keep it true:
`store.sessions.save_step` (the interview side) and `envelope_changed` below, which
`signing.envelopes` calls whenever an envelope is created or changes status, in the same
transaction as that change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, exists, or_, update
from sqlmodel import Session as DB

from store.models import Envelope, Session

INTERVIEW_STAGES = ("in_progress", "completed")
# Envelope status → stage (a draft envelope leaves the stage to the interview).
ENVELOPE_STAGES = {"sent": "signing", "completed": "signed", "declined": "declined", "voided": "voided",
                   "expired": "expired"}
STAGES = (*INTERVIEW_STAGES, *ENVELOPE_STAGES.values())

_S = Session.__table__  # type: ignore[attr-defined]
_E = Envelope.__table__  # type: ignore[attr-defined]


def envelope_changed(db: DB, session_id: str | None, envelope_id: str, created_at: dt.datetime,
                     status: str) -> None:
    """The envelope was created (draft) or its status changed: if it is its session's newest
    envelope, the session's stage follows it (not committed: part of the caller's change)."""
    if session_id is None:
        return
    newer = exists().where(_E.c.session_id == session_id, _E.c.id != envelope_id,
                           or_(_E.c.created_at > created_at,
                               and_(_E.c.created_at == created_at, _E.c.id > envelope_id)))
    stage = ENVELOPE_STAGES.get(status)
    value = stage if stage is not None else case((_S.c.completed_at.is_(None), "in_progress"), else_="completed")
    db.execute(update(_S).where(_S.c.id == session_id, ~newer).values(stage=value))
