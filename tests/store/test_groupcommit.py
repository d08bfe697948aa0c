"""Concurrent `save_step`s: each is stored whole, a stale one is refused, and on SQLite the
steps of concurrent writers share commits (`store.groupcommit`)."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import func, select

import engine
from accord.autoanswer import answers_for
from store.groupcommit import group
from store.models import AnswerEvent
from store.sessions import (
    StaleSession,
    ensure_firm,
    load_state,
    load_step,
    publish_interview,
    save_step,
    start_session,
)

LOAN = Path(__file__).parents[2] / "interviews" / "loan_application.yml"
THREADS = 6
STEPS = 5


def _answer(iv: engine.Interview, state: engine.State, rng: random.Random) -> None:
    screen = engine.plan(iv, state)
    assert isinstance(screen, engine.Screen) and not screen.is_end
    if screen.block_id == "welcome":
        result = engine.apply(iv, state, screen, {}, 0)  # consent, so the walk goes on
    else:
        for attempt in range(6):
            answers, button = answers_for(screen, rng, attempt=attempt)
            result = engine.apply(iv, state, screen, answers, button)
            if not isinstance(result, engine.ValidationErrors):
                break
    assert isinstance(result, engine.State)


LOADERS = pytest.mark.parametrize("load", [load_state, load_step], ids=["orm_row", "snapshot"])


@LOADERS
def test_concurrent_steps_are_all_stored_and_share_commits(db_engine: Engine, load: Any) -> None:
    iv = engine.load(LOAN)
    with DB(db_engine) as db:
        firm = ensure_firm(db, "demo", "Demo firm")
        version = publish_interview(db, firm, "loan", LOAN)
        ids = [start_session(db, firm, version, "en").id for _ in range(THREADS)]
    before = group(str(db_engine.url)).batches
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            for _ in range(STEPS):
                barrier.wait(10)  # everybody saves at once
                with DB(db_engine) as db:
                    row, state = load(db, ids[n])
                    _answer(iv, state, rng)
                    assert save_step(db, row, state).version == state.logged + len(state.log) + 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[0]
    with DB(db_engine) as db:
        for sid in ids:
            row, state = load_state(db, sid)
            assert row.version == STEPS + 1 and [e["seq"] for e in state.log] == list(range(1, STEPS + 1))
        assert db.exec(select(func.count()).select_from(AnswerEvent)).one() == THREADS * STEPS
    if db_engine.dialect.name == "sqlite":
        batches = group(str(db_engine.url)).batches - before
        assert 0 < batches < THREADS * STEPS  # some steps were committed together


@LOADERS
def test_concurrent_saves_of_one_session_let_exactly_one_through(db_engine: Engine, load: Any) -> None:
    iv = engine.load(LOAN)
    with DB(db_engine) as db:
        firm = ensure_firm(db, "demo", "Demo firm")
        sid = start_session(db, firm, publish_interview(db, firm, "loan", LOAN), "en").id
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def writer(n: int) -> None:
        with DB(db_engine) as db:
            row, state = load(db, sid)
            _answer(iv, state, random.Random(n))
            barrier.wait(10)
            try:
                save_step(db, row, state)
                outcomes.append("saved")
            except StaleSession:
                outcomes.append("stale")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["saved"] + ["stale"] * (THREADS - 1)
    with DB(db_engine) as db:
        row, state = load_state(db, sid)
        assert row.version == 2 and len(state.log) == 1
