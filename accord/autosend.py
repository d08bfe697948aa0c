"""Send the envelope when the applicant finishes, for the interviews a firm lists under
`auto_send` in the integrations file: a worker consumer of `session.completed` that calls
`signing.ceremony.start_envelope` (the agreement is assembled, the parties invited by e-mail).

Interviews with staff parties still need someone to name the staff (the console, later), so
`auto_send` suits agreements whose parties all come from the answers. Wired here, in the
composition root, because it joins three rooms: the outbox (jobs), integrations' settings and
signing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session as DB
from sqlmodel import select

from integrations.connectors import Registry
from jobs.worker import Outcome
from signing import ceremony
from signing.envelopes import EnvelopeError, Notifier
from store.blobs import BlobStore
from store.models import Delivery, Envelope, Firm, InterviewVersion, OutboxEvent
from store.models import Session as SessionRow
from store.outbox import SESSION_COMPLETED


class AutoSend:
    kind = "autosend"

    def __init__(self, registry: Registry, blob_dir: Path, notifier: Notifier | None) -> None:
        self.registry, self.blobs, self.notifier = registry, BlobStore(blob_dir), notifier

    def _wanted(self, db: DB, event: OutboxEvent) -> SessionRow | None:
        # Most installations list no interview: then no event costs a query (every completed
        # session passes through here).
        if event.type != SESSION_COMPLETED or not any(f.auto_send for f in self.registry.firms.values()):
            return None
        firm = db.get(Firm, event.firm_id)
        session = db.get(SessionRow, event.agreement_id)
        version = db.get(InterviewVersion, session.interview_version_id) if session else None
        if firm is None or session is None or version is None:
            return None
        return session if version.name in self.registry.for_firm(firm.slug).auto_send else None

    def targets(self, db: DB, event: OutboxEvent) -> list[tuple[int | None, int | None]]:
        return [(None, 0)] if self._wanted(db, event) is not None else []

    def blocked(self, db: DB) -> set[int]:
        return set()

    def recorded(self, db: DB, delivery: Delivery, outcome: Outcome, now: dt.datetime) -> None:
        return None

    def deliver(self, db: DB, delivery: Delivery, event: OutboxEvent, now: dt.datetime) -> Outcome:
        session = self._wanted(db, event)
        if session is None:
            return Outcome(ok=True, body="not sent automatically")
        existing = db.exec(select(Envelope).where(Envelope.session_id == session.id,
                                                  Envelope.status != "voided")).first()
        if existing is not None:  # sent already (a retry after a crash, or an agent was faster)
            return Outcome(ok=True, request={"session": session.id}, body=f"envelope {existing.id} exists")
        try:
            envelope = ceremony.start_envelope(db, self.blobs, session.id, {}, firm_id=session.firm_id,
                                               notifier=self.notifier)
        except (EnvelopeError, KeyError, ValueError) as exc:
            return Outcome(ok=False, request={"session": session.id}, error=f"{type(exc).__name__}: {exc}"[:500],
                           retry=False)
        return Outcome(ok=True, request={"session": session.id}, body=f"envelope {envelope.id} sent")
