from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select

import engine
from accord.walk import answer
from store.database import make_engine
from store.models import AnswerEvent, InterviewVersion
from store.sessions import (
    SessionNotFound,
    StaleSession,
    ensure_firm,
    load_state,
    publish_interview,
    save_draft,
    save_step,
    start_session,
)

LOAN = Path(__file__).parents[2] / "interviews" / "loan_application.yml"


def test_publishing_the_same_file_twice_gives_one_version(db_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "loan.yml"
    shutil.copy(LOAN, path)
    with DB(db_engine) as db:
        firm = ensure_firm(db, "demo", "Demo firm")
        assert ensure_firm(db, "demo", "Demo firm").id == firm.id
        first = publish_interview(db, firm, "loan", path)
        again = publish_interview(db, firm, "loan", path)
        assert again.id == first.id
        assert first.source == LOAN.read_text(encoding="utf-8")

        path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        edited = publish_interview(db, firm, "loan", path)
        assert edited.id != first.id and edited.content_hash != first.content_hash
        assert len(db.exec(select(InterviewVersion)).all()) == 2


def _answer_screens(iv: engine.Interview, state: engine.State, n: int, seed: int) -> None:
    """Answer `n` screens with generated answers that do not lead to an end screen (a declined consent)."""
    for i in range(n):
        step = engine.plan(iv, state)
        assert isinstance(step, engine.Screen) and not step.is_end
        for attempt in range(50):
            trial = engine.State.from_json(state.to_json())
            rng_seed = seed * 1000 + i * 50 + attempt
            assert answer(iv, trial, step, random.Random(rng_seed))
            nxt = engine.plan(iv, trial)
            if isinstance(nxt, engine.Screen) and not nxt.is_end:
                assert answer(iv, state, step, random.Random(rng_seed))
                break
        else:
            raise AssertionError(f"every answer to [{step.block_id}] ends the interview")


def test_save_step_appends_the_new_log_entries_and_survives_a_reopen(db_url: str, db_engine: Engine) -> None:
    iv = engine.load(LOAN)
    with DB(db_engine) as db:
        firm = ensure_firm(db, "demo", "Demo firm")
        version = publish_interview(db, firm, "loan", LOAN)
        session_id = start_session(db, firm, version, "en").id

    for steps in (2, 3):
        with DB(db_engine) as db:
            session, state = load_state(db, session_id)
            before = len(state.log)
            _answer_screens(iv, state, steps, seed=before)
            assert len(state.log) == before + steps
            old_version = session.version
            saved = save_step(db, session, state)
            assert saved.version == old_version + 1
            events = db.exec(select(AnswerEvent).where(AnswerEvent.session_id == session_id)).all()
            assert [e.seq for e in events] == list(range(1, before + steps + 1))
            assert "log" not in saved.state

    expected = state.to_json()  # as saved (planning moves `section` on)
    expected_plan = engine.plan(iv, state)
    db_engine.dispose()

    reopened = make_engine(db_url)  # a new engine: as after a restart
    try:
        with DB(reopened) as db:
            _, restored = load_state(db, session_id)
    finally:
        reopened.dispose()
    assert restored.to_json() == expected  # answers, log (seq, at, block, changes), history, ...
    assert engine.plan(iv, restored) == expected_plan


def test_a_stale_save_is_refused(db_engine: Engine) -> None:
    iv = engine.load(LOAN)
    with DB(db_engine) as db:
        firm = ensure_firm(db, "demo", "Demo firm")
        session_id = start_session(db, firm, publish_interview(db, firm, "loan", LOAN), "en").id
    with DB(db_engine) as tab_a, DB(db_engine) as tab_b:
        session_a, state_a = load_state(tab_a, session_id)
        session_b, state_b = load_state(tab_b, session_id)
        _answer_screens(iv, state_a, 1, seed=1)
        _answer_screens(iv, state_b, 1, seed=2)
        save_step(tab_a, session_a, state_a)
        with pytest.raises(StaleSession):
            save_step(tab_b, session_b, state_b)
    with DB(db_engine) as db:
        session, state = load_state(db, session_id)
        assert session.version == 2
        assert state.log == state_a.log
        assert len(db.exec(select(AnswerEvent)).all()) == 1


def test_unknown_session(db_engine: Engine) -> None:
    with DB(db_engine) as db, pytest.raises(SessionNotFound):
        load_state(db, "nope")


def test_a_draft_is_kept_until_the_next_step_and_never_over_a_newer_one(db_engine: Engine) -> None:
    iv = engine.load(LOAN)
    with DB(db_engine) as db:
        firm = ensure_firm(db, "demo", "Demo firm")
        session_id = start_session(db, firm, publish_interview(db, firm, "loan", LOAN), "en").id
    draft = {"block": "welcome", "values": {"esign_consent": "True"}}
    with DB(db_engine) as db:
        session, _ = load_state(db, session_id)
        saved = save_draft(db, session, draft)
        assert saved.draft == draft and saved.version == session.version  # a draft is not a step
    with DB(db_engine) as db, DB(db_engine) as other_tab:  # another database session: it was committed
        session, state = load_state(db, session_id)
        seen_before, _ = load_state(other_tab, session_id)
        assert session.draft == draft
        _answer_screens(iv, state, 1, seed=1)
        saved = save_step(db, session, state)
        assert saved.draft is None  # the step ended the screen the draft was for
        with pytest.raises(StaleSession):
            save_draft(other_tab, seen_before, draft)  # loaded before that step
    with DB(db_engine) as db:
        assert load_state(db, session_id)[0].draft is None


def test_sqlite_steps_are_written_on_one_connection_that_keeps_its_cache(tmp_path: Path) -> None:
    """On SQLite every step is written by one connection per engine (`store.sessions._writer`),
    whichever pooled connection loaded it, so SQLite keeps that connection's page cache; a closed
    writer is replaced by a new one."""
    from store import migrate
    from store.sessions import WRITER_CACHE_KIB, _writer

    db_engine = make_engine(f"sqlite:///{tmp_path / 'accord.db'}")
    migrate.upgrade(db_engine)
    iv = engine.load(LOAN)
    with DB(db_engine) as db:
        firm = ensure_firm(db, "demo", "Demo firm")
        version = publish_interview(db, firm, "loan", LOAN)
        ids = [start_session(db, firm, version, "en").id for _ in range(2)]
    writer = _writer(db_engine)
    raw = writer.connection.dbapi_connection
    assert raw is not None and writer.exec_driver_sql("PRAGMA cache_size").scalar() == -WRITER_CACHE_KIB
    changed_before = raw.total_changes
    with DB(db_engine) as tab_a, DB(db_engine) as tab_b:  # two pooled connections
        for tab, session_id in zip((tab_a, tab_b), ids, strict=True):
            session, state = load_state(tab, session_id)
            tab_raw = tab.connection().connection.dbapi_connection  # the connection it was loaded on
            assert tab_raw is not None and tab_raw is not raw
            _answer_screens(iv, state, 1, seed=3)
            save_step(tab, session, state)
            assert tab_raw.total_changes == 0  # it only read
    assert raw.total_changes - changed_before == 4  # two UPDATEs, two answer events
    assert _writer(db_engine) is writer

    writer.close()
    with DB(db_engine) as db:
        session, state = load_state(db, ids[0])
        _answer_screens(iv, state, 1, seed=4)
        seen = session.version
        assert save_step(db, session, state).version == seen + 1
    assert _writer(db_engine) is not writer
    db_engine.dispose()
