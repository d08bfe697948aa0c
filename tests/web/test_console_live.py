"""The console's live updates below the browser: the domain's single hooks publish a change when a
step or an envelope change is committed (`store.changes`), the in-process broadcaster delivers a
firm's changes to that firm's subscribers only, and LISTEN/NOTIFY carries them between two
broadcasters (two web workers) on the PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select

from accord.aio import run_sync
from manage.live import InProcessBroadcaster, PostgresBroadcaster, broadcaster_for, decode, encode
from signing import envelopes
from signing.envelopes import PartySpec
from store import changes
from store.changes import Change
from store.models import Firm
from store.sessions import latest_version, load_state, save_step, start_session

POSTGRES = os.environ.get("ACCORD_TEST_POSTGRES_URL", "")


def _collect() -> tuple[list[Change], object]:
    got: list[Change] = []
    return got, changes.listen(got.append)


def test_a_saved_step_and_every_envelope_change_are_published(db: Engine) -> None:
    got, stop = _collect()
    try:
        with DB(db) as s:
            firm = s.exec(select(Firm).where(Firm.slug == "demo")).one()
            version = latest_version(s, firm, "loan_application")
            assert version is not None and firm.id is not None
            firm_id = firm.id
            session = start_session(s, firm, version, "en")
            sid = session.id
            assert got[-1] == Change("session", firm.id, session_id=session.id)
            row, state = load_state(s, session.id)
            state.namespace["applicant_name"] = "An"
            save_step(s, row, state)
            assert got[-1] == Change("session", firm.id, session_id=session.id)
            count = len(got)
            envelope = envelopes.create(s, firm.id, title="Loan", language="en", pdf_sha256="0" * 64,
                                        parties=[PartySpec("applicant", "sign", 1, "An", "an@example.com")],
                                        session_id=session.id)
            envelope_id = envelope.id
            envelopes.send(s, envelope.id)
            people = envelopes.load(s, envelope.id)[1]
            envelopes.opened(s, people[0].id)
            envelopes.remind(s, envelope.id)
            envelopes.void(s, envelope.id, "changed our mind")
        kinds = got[count:]
        assert kinds and all(c == Change("envelope", firm_id, sid, envelope_id) for c in kinds)
        assert len(kinds) == 5  # created, sent, opened, reminded, voided: one each, after its commit
    finally:
        stop()  # type: ignore[operator]


def test_a_failing_listener_does_not_fail_the_step(db: Engine) -> None:
    def broken(change: Change) -> None:
        raise RuntimeError("listener down")

    stop = changes.listen(broken)
    try:
        with DB(db) as s:
            firm = s.exec(select(Firm).where(Firm.slug == "demo")).one()
            version = latest_version(s, firm, "loan_application")
            assert version is not None
            start_session(s, firm, version, "en")  # no exception
    finally:
        stop()


def test_the_in_process_broadcaster_delivers_to_the_firm_only() -> None:
    async def scenario() -> tuple[list[Change], list[Change]]:
        b = InProcessBroadcaster()
        async with b.subscribe(1) as mine, b.subscribe(2) as theirs:
            assert b.subscriber_count() == 2
            b.publish(Change("session", 1, session_id="s1"))
            b.publish(Change("envelope", 2, envelope_id="e2"))
            b.publish(Change("session", 1, session_id="s3"))
            await asyncio.sleep(0.05)
            got1 = [mine.get_nowait() for _ in range(mine.qsize())]
            got2 = [theirs.get_nowait() for _ in range(theirs.qsize())]
        assert b.subscriber_count() == 0
        return got1, got2

    got1, got2 = run_sync(scenario())
    assert [c.session_id for c in got1] == ["s1", "s3"]
    assert [c.envelope_id for c in got2] == ["e2"]


def test_changes_survive_the_wire_format() -> None:
    change = Change("envelope", 7, session_id="abc", envelope_id="def")
    assert decode(encode(change)) == change
    assert decode("not json") is None and decode('{"kind": "x"}') is None
    assert isinstance(broadcaster_for("sqlite:///x.db"), InProcessBroadcaster)
    assert isinstance(broadcaster_for("postgresql+psycopg://u@h/db"), PostgresBroadcaster)


@pytest.mark.skipif(not POSTGRES, reason="needs the PostgreSQL server (ACCORD_TEST_POSTGRES_URL)")
def test_listen_notify_carries_changes_between_workers() -> None:
    channel = f"accord_test_{uuid.uuid4().hex[:8]}"
    worker_a, worker_b = PostgresBroadcaster(POSTGRES, channel), PostgresBroadcaster(POSTGRES, channel)

    async def scenario() -> list[Change]:
        async with worker_a.subscribe(5) as queue:
            worker_b.publish(Change("session", 6, session_id="other-firm"))  # another firm: not delivered
            worker_b.publish(Change("session", 5, session_id="from-b"))
            worker_a.publish(Change("envelope", 5, envelope_id="from-a"))  # its own NOTIFY comes back too
            got = [await asyncio.wait_for(queue.get(), 10) for _ in range(2)]
            await asyncio.sleep(0.3)
            assert queue.empty()
            return got

    try:
        got = run_sync(scenario())
    finally:
        worker_a.close()
        worker_b.close()
    assert {c.session_id or c.envelope_id for c in got} == {"from-b", "from-a"}
    assert all(c.firm_id == 5 for c in got)


def test_a_wrong_identity_code_is_published(db: Engine) -> None:
    from signing.identity import EmailCode, IdentityError

    with DB(db) as s:
        firm = s.exec(select(Firm).where(Firm.slug == "demo")).one()
        assert firm.id is not None
        firm_id = firm.id
        envelope = envelopes.create(s, firm_id, title="Loan", language="en", pdf_sha256="0" * 64,
                                    parties=[PartySpec("applicant", "sign", 1, "An", "an@example.com")])
        envelope_id = envelope.id
        envelopes.send(s, envelope_id)
        participant = envelopes.load(s, envelope_id)[1][0]
        codes: list[str] = []
        method = EmailCode(b"secret", lambda p, code: codes.append(code))
        method.start(s, participant)
        got, stop = _collect()
        try:
            with pytest.raises(IdentityError):
                method.check(s, participant, f"{(int(codes[-1]) + 1) % 10**6:06d}")
        finally:
            stop()  # type: ignore[operator]
    assert got == [Change("envelope", firm_id, None, envelope_id)]
