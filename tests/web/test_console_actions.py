"""The console's envelope actions through the pages: remind now (the signer gets the reminder
e-mail), extend the expiry, void with a reason (refused without one, next to the field); each is
a `console_action` row and an event in the envelope's hash-chained audit trail, which still
verifies."""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import col, select
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from consolekit import login, staff  # noqa: E402

from manage import actions  # noqa: E402
from manage.scope import Scope  # noqa: E402
from signing import audit, envelopes  # noqa: E402
from signing.envelopes import PartySpec  # noqa: E402
from signing.mail import ConsoleMailer  # noqa: E402
from store.models import ConsoleAction, Envelope, Staff  # noqa: E402
from web.app import create_app  # noqa: E402

SECRET = "console-actions-secret"


def test_remind_extend_void_through_the_pages(db: Engine) -> None:
    agent_id, secret = staff(db, "demo", "lan@a.test", "agent")
    assert secret is not None
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)
    with DB(db) as s:
        member = s.get(Staff, agent_id)
        assert member is not None
        session = actions.invite(s, Scope.of(member), "loan_application", "en",
                                 actions.Prefill("An", "an@example.com", ""), send=lambda *a: None,
                                 link=lambda sid: sid, days="7")
        sid = session.id
        envelope = envelopes.create(s, member.firm_id, title="Loan agreement", language="en", pdf_sha256="0" * 64,
                                    parties=[PartySpec("applicant", "sign", 1, "An", "an@example.com")],
                                    session_id=sid, expires_at=expires)
        eid = envelope.id
        envelopes.send(s, eid)
    mail = io.StringIO()
    with TestClient(create_app(db, SECRET, mailer=ConsoleMailer(mail))) as client:
        token = login(client, "lan@a.test", secret)
        page = client.get(f"/console/s/{sid}")
        assert f"/console/e/{eid}/extend" in page.text and f"/console/e/{eid}/void" in page.text

        r = client.post(f"/console/s/{sid}/remind", data={"_csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        assert "Reminder: please sign Loan agreement" in mail.getvalue()

        r = client.post(f"/console/e/{eid}/extend", data={"_csrf": token, "days": "500"})
        assert r.status_code == 422 and "Extend by 1 to 90 days." in r.text
        r = client.post(f"/console/e/{eid}/extend", data={"_csrf": token, "days": "10"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/console/s/{sid}?done=extend"

        r = client.post(f"/console/e/{eid}/void", data={"_csrf": token, "reason": "  "})
        assert r.status_code == 422 and "Say why the envelope is voided" in r.text
        r = client.post(f"/console/e/{eid}/void", data={"_csrf": token, "reason": "terms changed"},
                        follow_redirects=True)
        assert r.status_code == 200 and "The envelope was voided." in r.text
        assert "Cancelled: Loan agreement" in mail.getvalue()
        r = client.post(f"/console/e/{eid}/extend", data={"_csrf": token, "days": "5"})
        assert r.status_code == 422  # a voided envelope cannot be extended
    with DB(db) as s:
        row = s.get(Envelope, eid)
        assert row is not None and row.status == "voided" and row.reason == "terms changed"
        stored = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)  # type: ignore
        assert stored == expires + dt.timedelta(days=10)
        chain = audit.events(s, eid)
        assert [e.action for e in chain][-3:] == ["reminder_sent", "extended", "voided"]
        assert audit.verify(chain).ok
        done = s.exec(select(ConsoleAction.action).where(ConsoleAction.session_id == sid)
                      .order_by(col(ConsoleAction.id))).all()
        assert list(done) == ["invited", "reminded", "extended", "voided"]
