"""`store.sessions.save_step` with a `StepProgress`: the console's columns are written in the
step's own UPDATE; a name once known is kept when a later step knows none; the completion time
is set the first time the end is reached and kept; a stale step writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session as DB

import engine
from signing import envelopes
from store.models import Session
from store.sessions import (
    StaleSession,
    StepProgress,
    ensure_firm,
    load_step,
    publish_interview,
    save_step,
    start_session,
)
from tests.manage import console_data as data

LOAN = Path(__file__).parents[2] / "interviews" / "loan_application.yml"


def fresh(db: DB, session_id: str) -> Session:
    db.expire_all()
    row = db.get(Session, session_id)
    assert row is not None
    return row


def test_save_step_writes_the_progress_columns(db: DB) -> None:
    firm = ensure_firm(db, "demo", "Demo")
    version = publish_interview(db, firm, "loan", LOAN)
    sid = start_session(db, firm, version, "en").id

    def step(progress: StepProgress | None) -> Session:
        snapshot, state = load_step(db, sid)
        state.record("some_block", {})
        save_step(db, snapshot, state, progress)
        return fresh(db, sid)

    row = step(StepProgress("about_you", "About you", 12, "An", None))
    assert (row.current_block, row.current_section, row.progress, row.display_name, row.contact_email,
            row.completed_at) == ("about_you", "About you", 12, "An", None, None)
    row = step(StepProgress("contact", "About you", 20, None, "an@example.test"))
    assert (row.display_name, row.contact_email) == ("An", "an@example.test")  # the name is kept
    before = dt.datetime.now(dt.UTC)
    row = step(StepProgress("final", None, 100, "An Le", None, completed=True))
    assert row.display_name == "An Le" and row.progress == 100 and row.completed_at is not None
    completed = row.completed_at
    assert completed.replace(tzinfo=completed.tzinfo or dt.UTC) >= before - dt.timedelta(seconds=1)
    row = step(StepProgress("final", None, 100, None, None, completed=True))
    assert row.completed_at == completed  # still the first arrival at the end
    row = step(StepProgress("amount", "Your loan", 60, None, None))
    # Completion is the first arrival at the end (it also emitted session.completed): it stays.
    assert row.completed_at == completed and row.current_block == "amount" and row.stage == "completed"
    row = step(None)  # a caller without progress leaves the columns alone
    assert (row.current_block, row.progress) == ("amount", 60)
    assert row.version == 7  # six steps after the start


def test_a_stale_step_writes_no_progress(db: DB) -> None:
    firm = ensure_firm(db, "demo", "Demo")
    version = publish_interview(db, firm, "loan", LOAN)
    sid = start_session(db, firm, version, "en").id
    old, state = load_step(db, sid)
    newer, state2 = load_step(db, sid)
    state2.record("b", {})
    save_step(db, newer, state2, StepProgress("first", None, 5))
    state.record("b", {})
    with pytest.raises(StaleSession):
        save_step(db, old, state, StepProgress("second", None, 50))
    assert fresh(db, sid).current_block == "first"


def test_contact_reads_the_first_partys_expressions() -> None:
    iv = engine.load(LOAN)
    state = iv.start(lang="en")
    assert engine.contact(iv, state) == (None, None)
    state.namespace["applicant_email"] = "an@example.test"
    assert engine.contact(iv, state) == (None, "an@example.test")
    state.namespace["applicant_name"] = "  An Le "
    assert engine.contact(iv, state) == ("An Le", "an@example.test")


def test_stage_follows_the_interview_then_the_newest_envelope(db: DB) -> None:
    """`interview_session.stage` (store.stage): save_step moves it between in_progress and
    completed; signing moves it with the session's newest envelope once that one is sent; an
    older envelope changing no longer moves it."""
    firm = ensure_firm(db, "demo", "Demo")
    version = publish_interview(db, firm, "loan", LOAN)
    row = start_session(db, firm, version, "en")
    sid = row.id
    assert fresh(db, sid).stage == "in_progress"

    def step(completed: bool) -> str:
        snapshot, state = load_step(db, sid)
        state.record("b", {})
        save_step(db, snapshot, state, StepProgress("b", None, 100 if completed else 50, completed=completed))
        return fresh(db, sid).stage

    assert step(False) == "in_progress"
    assert step(True) == "completed"
    assert step(False) == "completed"  # completed once is completed (completed_at stays)
    t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    first = data.envelope(db, fresh(db, sid), created=t)
    assert fresh(db, sid).stage == "completed"  # a draft leaves it to the interview
    envelopes.send(db, first, now=t)
    assert fresh(db, sid).stage == "signing"
    assert step(False) == "signing"  # the interview's steps no longer move it
    second = data.envelope(db, fresh(db, sid), created=t + dt.timedelta(hours=1))
    assert fresh(db, sid).stage == "completed"  # the newest envelope is a draft: the interview's again
    envelopes.void(db, first, "replaced", now=t + dt.timedelta(hours=2))
    assert fresh(db, sid).stage == "completed"  # an older envelope does not move it
    envelopes.send(db, second, now=t + dt.timedelta(hours=3))
    data.sign_all(db, second, t + dt.timedelta(hours=4))
    assert fresh(db, sid).stage == "signed"
