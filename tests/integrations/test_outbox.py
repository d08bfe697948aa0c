"""Domain events are written with the change that caused them, in the same transaction: every
envelope transition (through its audit event) and the session's start and completion, each with a
unique id and a per-agreement sequence; a change that is rolled back leaves no event."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import col, select

import engine
from signing import envelopes
from signing.envelopes import EnvelopeError, PartySpec
from store import outbox
from store.models import OutboxEvent
from store.sessions import ensure_firm, load_state, publish_interview, save_step, start_session

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
PARTIES = [PartySpec("applicant", "sign", 1, "An", "an@example.com", identity=("email_code",)),
           PartySpec("lender", "sign", 2, "Lender", "lender@example.com")]


def events(db: DB) -> list[OutboxEvent]:
    return list(db.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))).all())


def test_envelope_transitions_emit_events_in_sequence(db_engine: Engine, firm_id: int) -> None:
    with DB(db_engine) as db:
        env = envelopes.create(db, firm_id, title="T", language="en", pdf_sha256="a" * 64, parties=PARTIES,
                               session_id=None, now=T0)
        envelopes.send(db, env.id, now=T0)
        _e, people = envelopes.load(db, env.id)
        for p in people:
            envelopes.opened(db, p.id, now=T0)
            envelopes.identified(db, p.id, "email_code", {}, now=T0)
            envelopes.consented(db, p.id, "v1", now=T0)
            envelopes.acted(db, p.id, now=T0)
        got = events(db)
        assert [e.type for e in got] == ["envelope.sent", "envelope.viewed", "envelope.signed", "envelope.viewed",
                                         "envelope.signed", "envelope.completed"]
        assert [e.seq for e in got] == [1, 2, 3, 4, 5, 6] and {e.agreement_id for e in got} == {env.id}
        assert len({e.event_id for e in got}) == 6
        assert got[2].data["participant"]["role"] == "applicant" and got[-1].data["status"] == "completed"
        assert "an@example.com" not in str([e.data for e in got])  # ids and roles, no contact data


    # A transition whose transaction fails to commit leaves neither the change nor its event.
    with DB(db_engine) as db:
        other = envelopes.create(db, firm_id, title="T", language="en", pdf_sha256="a" * 64, parties=PARTIES, now=T0)
        other_id = other.id
        envelopes.send(db, other_id, now=T0)
        before = len(events(db))

    def broken_commit() -> None:
        raise RuntimeError("the database went away")

    with DB(db_engine) as db:
        db.commit = broken_commit  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            envelopes.void(db, other_id, "wrong amount", now=T0)
        db.rollback()
    with DB(db_engine) as db:
        assert len(events(db)) == before and envelopes.load(db, other_id)[0].status == "sent"
        with pytest.raises(EnvelopeError):
            envelopes.opened(db, "nobody")


def test_decline_and_void_carry_the_reason(db_engine: Engine, firm_id: int) -> None:
    with DB(db_engine) as db:
        one = envelopes.create(db, firm_id, title="T", language="en", pdf_sha256="a" * 64, parties=PARTIES, now=T0)
        envelopes.send(db, one.id, now=T0)
        envelopes.void(db, one.id, "wrong amount", now=T0)
        assert events(db)[-1].type == "envelope.voided" and events(db)[-1].data["reason"] == "wrong amount"


def test_session_started_and_completed_once(db_engine: Engine, tmp_path: object) -> None:
    from pathlib import Path

    interview = Path(str(tmp_path)) / "tiny.yml"
    interview.write_text("mandatory: True\nquestion: Name?\nfields:\n  - Name: name\n---\nmandatory: True\n"
                         "question: Thanks ${ name }\nevent: done\n", encoding="utf-8")
    with DB(db_engine) as db:
        firm = ensure_firm(db, "t", "T")
        version = publish_interview(db, firm, "tiny", interview)
        session = start_session(db, firm, version, "en")
        row, state = load_state(db, session.id)
        iv = engine.load(interview)
        screen = engine.plan(iv, state)
        assert isinstance(screen, engine.Screen)
        result = engine.apply(iv, state, screen, {screen.fields[0].key: "An"})
        assert isinstance(result, engine.State)
        save_step(db, row, result, completed=True)
        row, state = load_state(db, session.id)
        save_step(db, row, state, completed=True)  # completed again (back, then forward): one event
        got = [(e.type, e.seq, e.agreement_id) for e in events(db)]
        assert got == [("session.started", 1, session.id), ("session.completed", 2, session.id)]
        assert db.get(type(row), session.id).completed_at is not None  # type: ignore[union-attr]


def test_unknown_event_type_is_refused(db_engine: Engine, firm_id: int) -> None:
    with DB(db_engine) as db, pytest.raises(ValueError):
        outbox.emit(db, firm_id, "envelope.exploded", "x", {})
