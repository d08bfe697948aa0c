"""`web.flow` keeps the screen planned for a step's response and the next step of that session
answers it without planning again; the kept plan is used only while the stored version is the
one it was planned at, and the answer log goes on from the stored events (`State.logged`)."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import col, select

import engine
from accord.autoanswer import answers_for
from store.models import AnswerEvent, Firm
from store.models import Session as SessionRow
from store.sessions import load_state, load_step, publish_interview, save_step
from web import flow


def _answers(screen: engine.Screen, rng: random.Random) -> tuple[dict, int | None]:
    if screen.block_id == "welcome":
        return {}, 0
    return answers_for(screen, rng)


def _step(db: Engine, sid: str, version: int, rng: random.Random) -> flow.Step:
    current = flow.current(db, sid)
    assert isinstance(current.screen, engine.Screen)
    for attempt in range(6):
        answers, button = answers_for(current.screen, rng, attempt=attempt) if attempt else _answers(
            current.screen, rng)
        step = flow.answer(db, sid, version, answers, button)
        if step.kind == "ok":
            return step
        assert step.kind == "invalid", step.kind
    raise AssertionError("no accepted answers")


def test_the_next_step_answers_the_kept_plan_and_the_log_continues(db: Engine) -> None:
    row = flow.start(db, "demo", "loan_application", "en")
    assert row is not None
    rng = random.Random(3)
    version = row.version
    for _ in range(4):
        step = _step(db, row.id, version, rng)
        version = step.version
        kept = flow._PLANNED.get((row.id, version))
        assert kept is not None and kept[1] is step.screen  # what the response showed
    with DB(db) as s:
        seqs = s.exec(select(AnswerEvent.seq).where(AnswerEvent.session_id == row.id)
                      .order_by(col(AnswerEvent.seq))).all()
        stored, state = load_state(s, row.id)
    assert list(seqs) == list(range(1, len(seqs) + 1)) and len(seqs) >= 4
    assert stored.version == version
    # The kept plan is the screen planning the stored state gives.
    fresh = engine.plan(engine.load(_path(db, row.id)), state)
    kept_state, kept_screen = flow._PLANNED[(row.id, version)]
    assert isinstance(fresh, engine.Screen) and isinstance(kept_screen, engine.Screen)
    assert (fresh.block_id, fresh.question) == (kept_screen.block_id, kept_screen.question)
    assert kept_state.logged == len(seqs) and kept_state.log == []


def test_a_kept_plan_is_not_used_once_someone_else_saved(db: Engine) -> None:
    row = flow.start(db, "demo", "loan_application", "en")
    assert row is not None
    rng = random.Random(5)
    step = _step(db, row.id, row.version, rng)
    kept = flow._PLANNED[(row.id, step.version)]
    # Another process (or the wizard) saves the session: its version moves on.
    with DB(db) as s:
        snapshot, state = load_step(s, row.id)
        screen = engine.plan(flow.compiled(s, snapshot.interview_version_id), state)
        assert isinstance(screen, engine.Screen)
        answers, button = answers_for(screen, rng)
        result = engine.apply(flow.compiled(s, snapshot.interview_version_id), state, screen, answers, button)
        assert isinstance(result, engine.State)
        save_step(s, snapshot, result)
    # A client still at the old version is told it is stale; the old plan is never answered.
    stale = flow.answer(db, row.id, step.version, {}, None)
    assert stale.kind == "stale" and stale.version == step.version + 1
    assert isinstance(stale.screen, engine.Screen) and stale.screen is not kept[1]
    assert stale.screen.block_id != kept[1].block_id  # the screen after the other save, not the kept one
    nxt = _step(db, row.id, stale.version, rng)
    assert nxt.kind == "ok" and nxt.version == step.version + 2
    with DB(db) as s:
        seqs = s.exec(select(AnswerEvent.seq).where(AnswerEvent.session_id == row.id)
                      .order_by(col(AnswerEvent.seq))).all()
    assert list(seqs) == list(range(1, len(seqs) + 1))


def _path(db: Engine, sid: str) -> str:
    with DB(db) as s:
        snapshot, _state = load_step(s, sid)
        return str(flow.compiled(s, snapshot.interview_version_id).path)


COMPUTING = """\
metadata:
  title: Computed on planning
---
question: Your name?
fields:
  - Name: applicant_name
---
code: |
  greeting = "Hello " + applicant_name
---
question: ${ greeting }, how old are you?
fields:
  - Age: age
    datatype: integer
---
mandatory: True
question: Thank you, ${ applicant_name } (${ age })
event: the_end
"""


def test_the_saved_state_is_the_answers_not_what_planning_computed(db: Engine, tmp_path: Path) -> None:
    """Planning the response's screen runs the code block that computes `greeting`; the state
    saved with the step holds only what the answers made it (planning happens after the state to
    save is taken), while the plan kept for the next step has it."""
    source = tmp_path / "computing.yml"
    source.write_text(COMPUTING, encoding="utf-8")
    with DB(db) as s:
        firm = s.exec(select(Firm).where(Firm.slug == "demo")).one()
        publish_interview(s, firm, "computing", source)
    row = flow.start(db, "demo", "computing", "en")
    assert row is not None
    first = flow.current(db, row.id)
    assert isinstance(first.screen, engine.Screen) and first.screen.block_id
    step = flow.answer(db, row.id, first.version, {first.screen.fields[0].key: "Lan"})
    assert step.kind == "ok" and isinstance(step.screen, engine.Screen)
    assert step.screen.question == "Hello Lan, how old are you?"
    with DB(db) as s:
        stored = s.get(SessionRow, row.id)
        assert stored is not None
        saved = stored.state["answers"]
    assert saved.get("applicant_name") == "Lan" and "greeting" not in saved
    kept_state, kept_screen = flow._PLANNED[(row.id, step.version)]
    assert kept_state.namespace.get("greeting") == "Hello Lan" and kept_screen is step.screen


def test_showing_a_screen_keeps_its_plan_for_the_answer(db: Engine) -> None:
    """A GET of the current screen (a resumed session, a reload) plans it; the answer that
    follows takes that plan instead of planning again."""
    row = flow.start(db, "demo", "loan_application", "en")
    assert row is not None
    flow._PLANNED.pop((row.id, row.version), None)
    shown = flow.current(db, row.id)
    kept = flow._PLANNED.get((row.id, row.version))
    assert kept is not None and kept[1] is shown.screen
    again = flow.current(db, row.id)  # a reload: the same plan, kept again
    assert again.screen is shown.screen and flow._PLANNED[(row.id, row.version)][1] is shown.screen
    step = _step(db, row.id, row.version, random.Random(7))
    assert step.kind == "ok" and (row.id, row.version) not in flow._PLANNED
