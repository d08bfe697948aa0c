"""`accord audit verify ENVELOPE`: recompute an envelope's audit chain from the database named by
the settings (`ACCORD_DATABASE_URL` / `ACCORD_DATA_DIR`). Exit 0 when the chain is intact, 1 when
any event was edited, deleted, inserted or reordered (each problem printed), 2 when the envelope
does not exist."""

from __future__ import annotations

import sys

from sqlmodel import Session as DB

from accord.settings import Settings


def cmd_audit_verify(envelope_id: str) -> int:
    from signing import audit
    from store.database import make_engine
    from store.models import Envelope

    db = make_engine(Settings.from_env().database_url)
    try:
        with DB(db) as session:
            if session.get(Envelope, envelope_id) is None:
                print(f"accord: no envelope {envelope_id}", file=sys.stderr)
                return 2
            report = audit.verify(audit.events(session, envelope_id))
    finally:
        db.dispose()
    for problem in report.problems:
        print(f"{envelope_id}: {problem}")
    verdict = "intact" if report.ok else "BROKEN"
    print(f"{envelope_id}: audit chain {verdict}: {report.count} events, head {report.head}")
    return 0 if report.ok else 1
