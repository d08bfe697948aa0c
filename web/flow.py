"""One interview step as a unit of work, without HTTP: load the session, check the version the
client saw, apply answers (or Back, or Edit), commit, plan the next screen.

The JSON API (`web/api.py`) drives sessions through these functions; the wizard
(`web/wizard.py`) does the same work on its own form posts. They run synchronously (the engine
and the database are synchronous): call them through `run_in_threadpool`. Every change is
committed by `store.sessions.save_step` before the function returns, so what a caller
acknowledges is durable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, Engine
from sqlmodel import Session as DB
from sqlmodel import select

import engine
from engine import Button, Done, Screen, State, ValidationErrors
from store.models import Firm, InterviewVersion
from store.models import Session as SessionRow
from store.sessions import (
    SessionNotFound,
    SessionSnapshot,
    StaleSession,
    StepProgress,
    compile_version,
    latest_version,
    load_snapshot,
    load_step,
    save_step,
    state_json,
    state_of,
)
from store.sessions import start_session as store_start_session

# A front end's own look at the answers before the engine's: (errors per key, button to press).
Check = Callable[[Screen, dict[str, Any], int | None], tuple[dict[str, list[str]], int | None]]

Kind = Literal["ok", "invalid", "stale", "not_found", "ended", "no_back", "action", "bad_button", "bad_edit"]


@dataclass
class Step:
    """Where a session stands after a unit of work.

    `kind`: `ok` (saved, or nothing to save), `invalid` (the engine's messages in `errors`, per
    field key, nothing saved), `stale` (the client's version is not the stored one, nothing
    saved), `not_found`, `ended` (the screen is an end screen: nothing to answer), `no_back`
    (no earlier screen), `action` (the button pressed is exit/leave/restart/a URL: the front end
    carries it out, nothing saved), `bad_button` / `bad_edit` (no such button / review item).
    `screen` is what to show now; `version` the stored version it goes with."""

    kind: Kind
    screen: Screen | Done | None = None
    version: int = 0
    lang: str = "en"
    errors: dict[str, list[str]] = field(default_factory=dict)
    button: Button | None = None


def start(db_engine: Engine, firm_slug: str, name: str, lang: str) -> SessionRow | None:
    """A new session on the firm's latest version of interview `name` (None: no such interview)."""
    with DB(db_engine) as db:
        firm = db.exec(select(Firm).where(Firm.slug == firm_slug)).first()
        version = latest_version(db, firm, name) if firm is not None else None
        if firm is None or version is None:
            return None
        return store_start_session(db, firm, version, lang)


def load(db: DB | Connection, session_id: str) -> tuple[SessionSnapshot, engine.Interview, State]:
    """The session, its compiled interview version and its state; `SessionNotFound` if absent."""
    session, state = load_step(db, session_id)
    return session, compiled(db, session.interview_version_id), state


_COMPILED: OrderedDict[int, engine.Interview] = OrderedDict()
_COMPILED_LOCK = threading.Lock()


def compiled(db: DB | Connection, version_id: int) -> engine.Interview:
    """The compiled interview of a stored version, kept per process by version id: a version
    never changes, so neither its row (with its whole YAML source) nor the file is read again
    on every step. (`compile_version` checks the file; this checks nothing after the first use.)"""
    with _COMPILED_LOCK:
        iv = _COMPILED.get(version_id)
        if iv is not None:
            _COMPILED.move_to_end(version_id)
            return iv
    if isinstance(db, Connection):
        with DB(db.engine) as orm:
            version = orm.get(InterviewVersion, version_id)
    else:
        version = db.get(InterviewVersion, version_id)
    if version is None:
        raise SessionNotFound("no such interview version")
    iv = compile_version(version)
    with _COMPILED_LOCK:
        _COMPILED[version_id] = iv
        while len(_COMPILED) > 64:
            _COMPILED.popitem(last=False)
    return iv


# -- the screen planned for the response, kept for the step that answers it ----------------------
#
# A step plans twice: the screen being answered (to validate against it) and, after the commit,
# the next one (the response). The next step of that session plans the very screen the response
# showed, from the state just saved. So the response's plan is kept here, keyed by session and
# version, and the next step takes it instead of planning again: one plan per step
# (`bench/web.py`: planning was a third of a step's work). A version is written once (the
# guarded UPDATE of `save_step`), so while the stored version is the key's, the stored state is
# the one that was planned: any other process or tab that saved since moved the version on and
# the entry is simply not used. An entry is taken out when used (apply may change the state),
# so it is used at most once, by one thread; a miss plans from the database as before.

PLAN_CACHE_SIZE = 4096  # sessions; an entry is the state and a screen (a few kB)
_PLANNED: OrderedDict[tuple[str, int], tuple[State, Screen | Done]] = OrderedDict()
_PLANNED_LOCK = threading.Lock()


def _keep_plan(session_id: str, version: int, state: State, screen: Screen | Done) -> None:
    with _PLANNED_LOCK:
        _PLANNED[(session_id, version)] = (state, screen)
        while len(_PLANNED) > PLAN_CACHE_SIZE:
            _PLANNED.popitem(last=False)


def _take_plan(session_id: str, version: int) -> tuple[State, Screen | Done] | None:
    with _PLANNED_LOCK:
        return _PLANNED.pop((session_id, version), None)


def _plan(iv: engine.Interview, row: SessionSnapshot, raw: Any) -> tuple[State, Screen | Done]:
    """The session's state and the screen it is at: the ones planned for the last response if
    they are still current, else the stored state (`raw`, decoded only now) planned now."""
    kept = _take_plan(row.id, row.version)
    if kept is not None and kept[0].logged + len(kept[0].log) == row.logged and kept[0].lang == row.lang:
        return kept
    state = state_of(row, raw)
    return state, engine.plan(iv, state)


def current(db_engine: Engine, session_id: str) -> Step:
    """The screen the session is at (planning may compute variables; nothing is saved). The plan
    is kept for the answer to this screen (`_plan`), as a step keeps the plan of its response."""
    with db_engine.connect() as db:
        try:
            row, raw = load_snapshot(db, session_id)
            iv = compiled(db, row.interview_version_id)
        except SessionNotFound:
            return Step("not_found")
        state, screen = _plan(iv, row, raw)
        _keep_plan(row.id, row.version, state, screen)
        return Step("ok", screen, row.version, state.lang)


def answer(db_engine: Engine, session_id: str, version: int, answers: dict[str, Any], button: int | None = None,
           edit: int | None = None, check: Check | None = None) -> Step:
    """Answer the current screen with `answers` (field key -> value, as posted or as JSON: the
    engine coerces and validates both) and the pressed `button`; or, with `edit`, re-ask the
    question behind that review item. Saved and committed when valid. `check` may refuse
    answers first or choose the button they mean. (A Core connection, not an ORM session:
    the step is a few prebuilt statements, `store.sessions`.)"""
    with db_engine.connect() as db:
        try:
            row, raw = load_snapshot(db, session_id)
            iv = compiled(db, row.interview_version_id)
        except SessionNotFound:
            return Step("not_found")
        state, step = _plan(iv, row, raw)
        if version != row.version:
            return Step("stale", step, row.version, state.lang)
        if isinstance(step, Done) or step.is_end:
            return Step("ended", step, row.version, state.lang)
        if edit is not None:
            if not 0 <= edit < len(step.review) or not step.review[edit].vars:
                return Step("bad_edit", step, row.version, state.lang)
            if not engine.revisit(iv, state, step.review[edit].vars[0]):
                return Step("ok", step, row.version, state.lang)
            return _save(db, row, iv, state)
        if button is not None and not 0 <= button < len(step.buttons):
            return Step("bad_button", step, row.version, state.lang)
        if check is not None:
            refused, button = check(step, answers, button)
            if refused:
                return Step("invalid", step, row.version, state.lang, errors=refused)
        chosen = step.buttons[button] if button is not None else None
        if chosen is not None and chosen.action != "continue":
            return Step("action", step, row.version, state.lang, button=chosen)
        result = engine.apply(iv, state, step, answers, button)
        if isinstance(result, ValidationErrors):
            errors: dict[str, list[str]] = {}
            for e in result.errors:
                errors.setdefault(e.key, []).append(e.message)
            return Step("invalid", step, row.version, state.lang, errors=errors)
        return _save(db, row, iv, result)


def back(db_engine: Engine, session_id: str, version: int) -> Step:
    """Go back to the previous screen (later answers are kept); saved and committed."""
    with db_engine.connect() as db:
        try:
            row, iv, state = load(db, session_id)
        except SessionNotFound:
            return Step("not_found")
        if version != row.version:
            return Step("stale", engine.plan(iv, state), row.version, state.lang)
        if not engine.go_back(iv, state):
            return Step("no_back", engine.plan(iv, state), row.version, state.lang)
        return _save(db, row, iv, state)


def plan_next(iv: engine.Interview, state: State) -> tuple[dict[str, Any], Screen | Done, StepProgress]:
    """After a change (answers applied, Back, Edit): the state as it is to be saved
    (`state_json`, taken first), then the screen that follows, planned on `state` itself, and
    where that leaves the applicant (`StepProgress`, the console's columns).

    Planning may compute variables; what is saved stays what the applicant's answers made it,
    because it was taken before (no copy of the state is needed: `bench/web.py` measured the
    copy at a tenth of a step). Planned before the save, so a step that ends the interview is
    recorded as its completion in the same transaction; the planned state is the plan kept for
    the session's next step (`_keep_plan`)."""
    data = state_json(state)
    screen = engine.plan(iv, state)
    name, email = engine.contact(iv, state)
    if isinstance(screen, Done):
        return data, screen, StepProgress(None, None, 100, name, email, completed=True)
    percent = screen.progress if screen.progress is not None else (
        100 if screen.is_end else min(95, 5 * len(state.history)))
    return data, screen, StepProgress(screen.block_id, screen.section, percent, name, email, completed=ended(screen))


def _save(db: Connection, row: SessionSnapshot, iv: engine.Interview, state: State) -> Step:
    seen = row.version
    data, screen, progress = plan_next(iv, state)
    try:
        save_step(db, row, state, progress, completed=ended(screen), data=data)
    except StaleSession:
        fresh, iv, state = load(db, row.id)
        return Step("stale", engine.plan(iv, state), fresh.version, state.lang)
    # Kept for the session's next step (see `_plan`): the planned state, its log now stored.
    state.logged += len(state.log)
    state.log = []
    _keep_plan(row.id, seen + 1, state, screen)
    return Step("ok", screen, seen + 1, state.lang)


def ended(step: Screen | Done) -> bool:
    """The interview is over at this screen (its end screen, or nothing left to ask)."""
    return isinstance(step, Done) or step.is_end
