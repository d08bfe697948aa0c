"""`accord envelope list|show|void|remind|extend`, the sender's commands, on a real data dir with
e-mail through a real SMTP server on loopback; each change is an audit event of the sender."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from smtp_inbox import Inbox
from sqlalchemy import Engine
from sqlmodel import Session as DB

from accord.cli import main
from accord.serve import prepare
from accord.settings import Settings
from signing import audit, envelopes
from signing.envelopes import PartySpec
from store.sessions import ensure_firm

PARTIES = [PartySpec("applicant", "sign", 1, "Nguyễn Văn An", "an@example.com", None, ("email_code",)),
           PartySpec("co_applicant", "sign", 1, "Trần Thị Bình", "binh@example.com", None,
                     ("email_code", "id_document")),
           PartySpec("lender", "sign", 2, "Acme", "lender@example.com")]


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, str, Inbox]]:
    with Inbox() as inbox:
        monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.delenv("ACCORD_DATABASE_URL", raising=False)
        monkeypatch.setenv("ACCORD_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ACCORD_SMTP_PORT", str(inbox.port))
        monkeypatch.setenv("ACCORD_SECRET_KEY", "cli-test-secret")
        engine_ = prepare(Settings.from_env())
        try:
            with DB(engine_) as db:
                firm = ensure_firm(db, "acme", "Acme")
                envelope = envelopes.create(db, firm.id or 0, title="Loan agreement", language="en",
                                            pdf_sha256="a" * 64, parties=PARTIES,
                                            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
                envelope_id = envelope.id
                envelopes.send(db, envelope_id)
                _e, people = envelopes.load(db, envelope_id)
                binh = next(p for p in people if p.role == "co_applicant")
                envelopes.opened(db, binh.id)
                envelopes.identity_step(db, binh.id, "email_code", {"result": "verified"})
            yield engine_, envelope_id, inbox
        finally:
            engine_.dispose()


def actions(engine_: Engine, envelope_id: str) -> list[Any]:
    with DB(engine_) as db:
        chain = audit.events(db, envelope_id)
        assert audit.verify(chain).ok
        return chain


def test_list_and_show(data: tuple[Engine, str, Inbox], capsys: pytest.CaptureFixture[str]) -> None:
    engine_, envelope_id, _inbox = data
    assert main(["envelope", "list"]) == 0
    out = capsys.readouterr().out
    assert envelope_id in out and "sent" in out and "0/3" in out and "1 envelope(s)" in out
    assert main(["envelope", "list", "--status", "completed"]) == 0
    assert envelope_id not in capsys.readouterr().out
    assert main(["envelope", "show", envelope_id]) == 0
    out = capsys.readouterr().out
    assert "status    sent" in out and "chain intact" in out
    assert "PENDING: id_document check not available on this server" in out  # never silently skipped
    assert "next check: email_code" in out
    assert main(["envelope", "show", "nope"]) == 2
    before = len(actions(engine_, envelope_id))
    assert len(actions(engine_, envelope_id)) == before  # reading adds nothing


def test_remind_extend_void_are_audited(data: tuple[Engine, str, Inbox], capsys: pytest.CaptureFixture[str]) -> None:
    engine_, envelope_id, inbox = data
    sent = len(inbox.messages)
    assert main(["envelope", "remind", envelope_id, "--role", "applicant"]) == 0
    inbox.wait_for(sent + 1)
    assert "an@example.com" in str(inbox.messages[-1]["To"]) and "Reminder" in str(inbox.messages[-1]["Subject"])
    assert main(["envelope", "remind", envelope_id, "--role", "lender"]) == 1  # not their turn
    assert "refused" in capsys.readouterr().out

    assert main(["envelope", "extend", envelope_id, "--days", "7"]) == 0
    assert main(["envelope", "extend", envelope_id, "--until", "2020-01-01"]) == 1  # earlier: refused
    chain = actions(engine_, envelope_id)
    reminded = [e for e in chain if e.action == "reminder_sent"]
    assert len(reminded) == 1 and reminded[0].actor == "sender" and reminded[0].detail["via"] == "cli"
    extended = [e for e in chain if e.action == "extended"]
    assert len(extended) == 1 and extended[0].detail["via"] == "cli"
    new = dt.datetime.fromisoformat(extended[0].detail["to"])
    assert dt.timedelta(days=9) < new - dt.datetime.now(dt.UTC) < dt.timedelta(days=11)
    with DB(engine_) as db:
        envelope, _people = envelopes.load(db, envelope_id)
        assert envelope.expiry_warned_at is None

    sent = len(inbox.messages)
    assert main(["envelope", "void", envelope_id, "--reason", "Wrong amount"]) == 0
    inbox.wait_for(sent + 2)  # the two applicants whose turn it was
    assert main(["envelope", "void", envelope_id, "--reason", "again"]) == 1
    assert main(["envelope", "remind", envelope_id]) == 1
    chain = actions(engine_, envelope_id)
    voided = [e for e in chain if e.action == "voided"]
    assert len(voided) == 1 and voided[0].detail["reason"] == "Wrong amount" and voided[0].detail["via"] == "cli"
    assert main(["envelope", "show", envelope_id]) == 0
    assert "status    voided (Wrong amount)" in capsys.readouterr().out
