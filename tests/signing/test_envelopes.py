"""Envelopes on a real database: routing order (parallel, then sequential), the audit chain and its
tamper detection, decline, void, delegation, expiry, warnings and reminders, races."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session as DB

from signing import audit, envelopes
from signing.envelopes import EnvelopeError, Notice, PartySpec
from signing.states import TransitionError
from store.models import Envelope, Participant

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
PARTIES = [
    PartySpec("applicant", "sign", 1, "Nguyễn Văn An", "an@example.com", identity=("email_code",)),
    PartySpec("co_applicant", "sign", 1, "Trần Thị Bình", "binh@example.com", identity=("email_code",)),
    PartySpec("loan_officer", "approve", 2, "Lê Officer", "officer@example.com"),
    PartySpec("lender", "sign", 3, "Acme Lending", "lender@example.com"),
    PartySpec("records", "cc", None, "Records", "records@example.com"),
]


class Outbox:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def __call__(self, notice: Notice) -> None:
        self.notices.append(notice)

    def take(self) -> list[tuple[str, str]]:
        out = [(n.kind, n.participant_id) for n in self.notices]
        self.notices.clear()
        return out


def make(db: DB, firm_id: int, **kw: object) -> Envelope:
    return envelopes.create(db, firm_id, title="Loan agreement", language="vi", pdf_sha256="a" * 64,
                            parties=PARTIES, now=T0, **kw)  # type: ignore[arg-type]


def by_role(db: DB, envelope_id: str) -> dict[str, Participant]:
    _e, people = envelopes.load(db, envelope_id)
    return {p.role: p for p in people if p.status != "delegated"}


def sign(db: DB, p: Participant, outbox: Outbox, at: dt.datetime, doc: str) -> None:
    envelopes.opened(db, p.id, now=at)
    envelopes.identified(db, p.id, p.identity[0] if p.identity else "link", {"result": "verified"}, now=at)
    if p.action == "sign":
        envelopes.consented(db, p.id, "esign-v1", now=at)
    envelopes.acted(db, p.id, outbox, doc_after=doc if p.action == "sign" else None, now=at)


def test_parallel_then_sequential_routing_and_a_valid_chain(db: DB, firm_id: int) -> None:
    outbox = Outbox()
    envelope = make(db, firm_id)
    envelopes.send(db, envelope.id, outbox, now=T0)
    people = by_role(db, envelope.id)
    # Order 1 (two signers) in parallel; nobody else yet.
    assert sorted(outbox.take()) == sorted([("invitation", people["applicant"].id),
                                            ("invitation", people["co_applicant"].id)])
    assert people["loan_officer"].status == "waiting" and people["records"].status == "waiting"
    # The officer cannot act before order 1 is done.
    with pytest.raises(EnvelopeError, match="turn"):
        envelopes.opened(db, people["loan_officer"].id, now=T0)
    db.rollback()
    sign(db, people["co_applicant"], outbox, T0 + dt.timedelta(minutes=1), "b" * 64)
    assert outbox.take() == []  # the applicant has not signed yet
    sign(db, people["applicant"], outbox, T0 + dt.timedelta(minutes=2), "c" * 64)
    assert outbox.take() == [("invitation", people["loan_officer"].id)]
    sign(db, people["loan_officer"], outbox, T0 + dt.timedelta(minutes=3), "")
    assert outbox.take() == [("invitation", people["lender"].id)]
    sign(db, people["lender"], outbox, T0 + dt.timedelta(minutes=4), "d" * 64)
    done = outbox.take()
    assert {kind for kind, _ in done} == {"completed"} and len(done) == 5  # every party and the CC
    envelope, _ = envelopes.load(db, envelope.id)
    assert (envelope.status, envelope.seal_status, envelope.current_sha256) == ("completed", "pending", "d" * 64)
    assert by_role(db, envelope.id)["records"].status == "notified"
    chain = audit.events(db, envelope.id)
    report = audit.verify(chain)
    assert report.ok, report.problems
    assert report.head == chain[-1].hash and report.count == len(chain)
    actions = [e.action for e in chain]
    assert actions[:2] == ["created", "sent"] and actions[-1] == "completed"
    assert actions.count("signed") == 3 and actions.count("approved") == 1
    signed = [e for e in chain if e.action == "signed"]
    assert [e.doc_after for e in signed] == ["b" * 64, "c" * 64, "d" * 64]
    assert signed[1].doc_before == "b" * 64  # each signature's before is the previous revision


def _completed_chain(db: DB, firm_id: int) -> str:
    outbox = Outbox()
    envelope = make(db, firm_id)
    envelopes.send(db, envelope.id, outbox, now=T0)
    for n, role in enumerate(["applicant", "co_applicant", "loan_officer", "lender"], 1):
        sign(db, by_role(db, envelope.id)[role], outbox, T0 + dt.timedelta(minutes=n), f"{n}" * 64)
    return envelope.id


@pytest.mark.parametrize("tamper", [
    "UPDATE audit_event SET actor = 'sender' WHERE seq = 3",
    "UPDATE audit_event SET detail = '{\"method\": \"passkey\"}' WHERE id = "
    "(SELECT min(id) FROM audit_event WHERE action = 'identified')",
    "UPDATE audit_event SET at = at + interval '1 second' WHERE seq = 4",
    "DELETE FROM audit_event WHERE seq = 6",
    # Swap two events (in two steps: the unique (envelope, seq) index is checked per row).
    "UPDATE audit_event SET seq = -seq WHERE seq IN (7, 8); "
    "UPDATE audit_event SET seq = CASE seq WHEN -7 THEN 8 WHEN -8 THEN 7 END WHERE seq < 0",
])
def test_any_edit_delete_or_reorder_of_an_event_is_detected(db: DB, db_engine: Engine, firm_id: int,
                                                            tamper: str) -> None:
    envelope_id = _completed_chain(db, firm_id)
    assert audit.verify(audit.events(db, envelope_id)).ok
    if db_engine.dialect.name == "sqlite":
        tamper = tamper.replace("at + interval '1 second'", "datetime(at, '+1 second')")
    with db_engine.begin() as conn:
        for statement in tamper.split("; "):
            assert conn.execute(text(statement)).rowcount >= 1  # the tamper hit something
    db.expire_all()
    report = audit.verify(audit.events(db, envelope_id))
    assert not report.ok and report.problems


def test_decline_ends_the_envelope_and_tells_those_who_were_in_it(db: DB, firm_id: int) -> None:
    outbox = Outbox()
    envelope = make(db, firm_id)
    envelopes.send(db, envelope.id, outbox, now=T0)
    outbox.take()
    people = by_role(db, envelope.id)
    with pytest.raises(EnvelopeError, match="reason"):
        envelopes.decline(db, people["applicant"].id, "  ", outbox, now=T0)
    envelopes.decline(db, people["applicant"].id, "The rate is too high", outbox, now=T0)
    assert outbox.take() == [("declined", people["co_applicant"].id)]
    envelope, _ = envelopes.load(db, envelope.id)
    assert envelope.status == "declined" and envelope.reason == "The rate is too high"
    with pytest.raises(EnvelopeError, match="declined"):
        envelopes.opened(db, people["co_applicant"].id, now=T0)
    assert audit.verify(audit.events(db, envelope.id)).ok


def test_void_by_the_sender(db: DB, firm_id: int) -> None:
    outbox = Outbox()
    envelope = make(db, firm_id)
    envelopes.send(db, envelope.id, outbox, now=T0)
    outbox.take()
    envelopes.void(db, envelope.id, "Wrong amount", outbox, now=T0)
    assert {k for k, _ in outbox.take()} == {"voided"}
    with pytest.raises(TransitionError):
        envelopes.void(db, envelope.id, "again", outbox, now=T0)


def test_consent_is_required_before_signing(db: DB, firm_id: int) -> None:
    envelope = make(db, firm_id)
    envelopes.send(db, envelope.id, None, now=T0)
    p = by_role(db, envelope.id)["applicant"]
    envelopes.opened(db, p.id, now=T0)
    envelopes.identified(db, p.id, "email_code", {}, now=T0)
    with pytest.raises(EnvelopeError, match="consent"):
        envelopes.acted(db, p.id, None, doc_after="e" * 64, now=T0)
    with pytest.raises(EnvelopeError, match="identity method"):
        envelopes.identified(db, by_role(db, envelope.id)["co_applicant"].id, "sms_code", {}, now=T0)


def test_delegation_is_recorded_from_and_to(db: DB, firm_id: int) -> None:
    outbox = Outbox()
    envelope = make(db, firm_id)
    envelopes.send(db, envelope.id, outbox, now=T0)
    outbox.take()
    old = by_role(db, envelope.id)["co_applicant"]
    new = envelopes.delegate(db, old.id, "Phạm Văn Cường", "cuong@example.com", "Travelling", outbox, now=T0)
    assert outbox.take() == [("invitation", new.id)]
    assert new.delegated_from == old.id and new.role == "co_applicant"
    event = [e for e in audit.events(db, envelope.id) if e.action == "delegated"][0]
    assert event.detail["from"] == old.id and event.detail["to"] == new.id


def test_expiry_warning_reminders_and_expiry(db: DB, firm_id: int) -> None:
    outbox = Outbox()
    envelope = make(db, firm_id, expires_at=T0 + dt.timedelta(days=10))
    envelopes.send(db, envelope.id, outbox, now=T0)
    outbox.take()
    people = by_role(db, envelope.id)
    order1 = sorted([people["applicant"].id, people["co_applicant"].id])
    assert envelopes.tick(db, outbox, now=T0 + dt.timedelta(days=1)) == []  # nothing due yet
    envelopes.tick(db, outbox, now=T0 + dt.timedelta(days=3))
    assert sorted(outbox.take()) == [("reminder", pid) for pid in order1]
    envelopes.tick(db, outbox, now=T0 + dt.timedelta(days=4))
    assert outbox.take() == []  # the next reminder is three days after the last one
    envelopes.tick(db, outbox, now=T0 + dt.timedelta(days=8, hours=1))
    assert sorted(outbox.take()) == [("expiry_warning", pid) for pid in order1]
    envelopes.tick(db, outbox, now=T0 + dt.timedelta(days=9))
    assert sorted(outbox.take()) == [("reminder", pid) for pid in order1]  # the warning is sent once
    envelopes.tick(db, outbox, now=T0 + dt.timedelta(days=10))
    assert sorted(outbox.take()) == [("expired", pid) for pid in order1]
    envelope, _ = envelopes.load(db, envelope.id)
    assert envelope.status == "expired"
    with pytest.raises(EnvelopeError):
        envelopes.opened(db, people["applicant"].id, now=T0 + dt.timedelta(days=11))
    assert audit.verify(audit.events(db, envelope.id)).ok


def test_parallel_signers_finishing_together_complete_the_order_once(db_engine: Engine, firm_id: int) -> None:
    """Two threads sign the two order-1 seats at once: the loser of the race retries, the officer
    is invited exactly once, and the chain has no fork."""
    with DB(db_engine) as db:
        envelope_id = make(db, firm_id).id
        envelopes.send(db, envelope_id, None, now=T0)
        people = by_role(db, envelope_id)
        ids = {role: p.id for role, p in people.items()}
        for role in ("applicant", "co_applicant"):
            p = people[role]
            envelopes.opened(db, p.id, now=T0)
            envelopes.identified(db, p.id, "email_code", {}, now=T0)
            envelopes.consented(db, p.id, "esign-v1", now=T0)
    outbox = Outbox()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(pid: str) -> None:
        try:
            with DB(db_engine) as db:
                barrier.wait()
                envelopes.retrying(lambda: envelopes.acted(db, pid, outbox, doc_after=pid[:8] * 8, now=T0))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ids[r],)) for r in ("applicant", "co_applicant")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert outbox.take() == [("invitation", ids["loan_officer"])]
    with DB(db_engine) as db:
        assert audit.verify(audit.events(db, envelope_id)).ok


def test_accord_audit_verify(db: DB, db_engine: Engine, firm_id: int, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from accord.cli import main

    envelope_id = _completed_chain(db, firm_id)
    monkeypatch.setenv("ACCORD_DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    assert main(["audit", "verify", envelope_id]) == 0
    assert "audit chain intact" in capsys.readouterr().out
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET ip = '203.0.113.9' WHERE seq = 2"))
    assert main(["audit", "verify", envelope_id]) == 1
    out = capsys.readouterr().out
    assert "event 2 (sent): its content was changed" in out and "BROKEN" in out
    assert main(["audit", "verify", "nope"]) == 2
