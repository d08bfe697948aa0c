"""Units of work on interviews and sessions. Each function that writes commits before it
returns, so whatever the web layer acknowledges to the applicant is already durable.

`db` is a `sqlmodel.Session` (a database session: not to be confused with `store.models.Session`,
an applicant's interview session).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Boolean, Connection, Engine, Text, bindparam, case, func, insert, or_, true, type_coerce, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DB
from sqlmodel import col, select

import engine
from store import changes, jsoncodec, outbox
from store.groupcommit import Job, group
from store.models import AnswerEvent, Firm, InterviewVersion, Session, Upload, utcnow
from store.prepared import Prepared
from store.stage import INTERVIEW_STAGES


class StoreError(Exception):
    """A unit of work could not be done; the message says why, without any answer in it."""


class SessionNotFound(StoreError):
    pass


class StaleSession(StoreError):
    """The session changed since it was loaded (another tab or request saved first)."""


def ensure_firm(db: DB, slug: str, name: str) -> Firm:
    """The firm with this slug, created if absent."""
    firm = db.exec(select(Firm).where(Firm.slug == slug)).first()
    if firm is not None:
        return firm
    firm = Firm(slug=slug, name=name)
    db.add(firm)
    try:
        db.commit()
    except IntegrityError:  # created concurrently by another process
        db.rollback()
        return db.exec(select(Firm).where(Firm.slug == slug)).one()
    db.refresh(firm)
    return firm


def publish_interview(db: DB, firm: Firm, name: str, path: str | Path) -> InterviewVersion:
    """Store the interview file at `path` as a version of `firm`'s interviews.

    The version is the engine's `source_hash`: publishing an unchanged file returns the
    existing row, an edited file gets a new one; old versions stay for sessions in flight.
    Raises `engine.LoadError` when the file does not compile (nothing is stored then)."""
    interview = engine.load(path)
    source = Path(path).read_text(encoding="utf-8")
    existing = _version_by_hash(db, firm, interview.source_hash)
    if existing is not None:
        return existing
    version = InterviewVersion(
        firm_id=_id(firm), name=name, content_hash=interview.source_hash, path=str(path), source=source
    )
    db.add(version)
    try:
        db.commit()
    except IntegrityError:  # the same version published concurrently
        db.rollback()
        found = _version_by_hash(db, firm, interview.source_hash)
        if found is None:
            raise
        return found
    db.refresh(version)
    return version


def latest_version(db: DB, firm: Firm, name: str) -> InterviewVersion | None:
    stmt = (
        select(InterviewVersion)
        .where(InterviewVersion.firm_id == _id(firm), InterviewVersion.name == name)
        .order_by(col(InterviewVersion.id).desc())
    )
    return db.exec(stmt).first()


def compile_version(version: InterviewVersion) -> engine.Interview:
    """The compiled interview of a stored version: from its file while the file still has that
    version (engine.load caches it), else from the stored source text."""
    try:
        current = engine.load(version.path)
    except engine.LoadError:
        current = None
    if current is not None and current.source_hash == version.content_hash:
        return current
    return engine.load_string(version.source, file=version.path, base_dir=Path(version.path).parent)


def start_session(db: DB, firm: Firm, version: InterviewVersion, lang: str, *,
                  url_args: dict[str, Any] | None = None, agent_id: int | None = None) -> Session:
    """A new session on `version`, with the interview's initial state, committed (with its
    `session.started` event). `url_args` are what the interview reads as `url_args` (the CRM
    record a session was started from); `agent_id` the staff member who started it."""
    state = compile_version(version).start(lang=lang, url_args=url_args)
    session = Session(firm_id=_id(firm), interview_version_id=_id(version), lang=state.lang, state=state_json(state),
                      agent_id=agent_id)
    db.add(session)
    db.flush()
    outbox.emit(db, _id(firm), outbox.SESSION_STARTED, session.id,
                {"session_id": session.id, "interview": version.name, "lang": session.lang})
    db.commit()
    db.refresh(session)
    changes.publish(changes.Change("session", session.firm_id, session_id=session.id))
    return session


def load_state(db: DB, session_id: str) -> tuple[Session, engine.State]:
    """The session row and its engine State, the log rebuilt from the answer events."""
    session = db.get(Session, session_id)
    if session is None:
        raise SessionNotFound("no such session")
    data = dict(session.state)
    data["log"] = _log(db, session_id)
    return session, engine.State.from_json(data)


@dataclass(frozen=True)
class SessionSnapshot:
    """The columns of a session row a step needs, read without the ORM (`load_step`)."""

    id: str
    firm_id: int
    interview_version_id: int
    lang: str
    version: int
    logged: int  # answer events stored when it was read


# The hot path of a step (`web.flow`) runs on a Core `Connection`: an ORM session around it cost a
# tenth of a step (its own transaction bookkeeping, a second commit). Both are taken here.
Unit = DB | Connection


def _conn(db: Unit) -> Connection:
    return db if isinstance(db, Connection) else db.connection()


def load_step(db: Unit, session_id: str) -> tuple[SessionSnapshot, engine.State]:
    """Like `load_state`, for the hot path of a step: plain rows instead of an ORM object (the ORM
    load was an eighth of a step's CPU time in `bench/web.py`), and the answer log is not read
    back: the State knows how many events are stored (`State.logged`, one subquery) and logs
    after them. `save_step` takes the snapshot."""
    snapshot, raw = load_snapshot(db, session_id)
    return snapshot, state_of(snapshot, raw)


def load_snapshot(db: Unit, session_id: str) -> tuple[SessionSnapshot, Any]:
    """The session's row and its state as stored, not decoded yet (`state_of`): a caller that
    already holds the state of this version (`web.flow` keeps the one it planned) skips that."""
    row = _SESSION_ROW.first(_conn(db), {"b_id": session_id})
    if row is None:
        raise SessionNotFound("no such session")
    firm_id, version_id, lang, version, raw, logged = row
    return SessionSnapshot(session_id, firm_id, version_id, lang, version, int(logged or 0)), raw


def state_of(snapshot: SessionSnapshot, raw: Any) -> engine.State:
    """The engine State of a snapshot's stored state (JSON text, or already decoded by the driver)."""
    state = engine.State.from_json(jsoncodec.loads(raw) if isinstance(raw, str | bytes) else raw)
    state.logged = snapshot.logged
    return state


def _log(db: DB, session_id: str) -> list[dict[str, Any]]:
    """The answer log as the engine keeps it (plain rows, not ORM objects: it only grows)."""
    return [
        {"seq": seq, "at": _iso(at), "block": block, "changes": changes}
        for seq, at, block, changes in db.connection().execute(_LOG_ROWS, {"b_id": session_id})
    ]


@dataclass(frozen=True)
class StepProgress:
    """Where the applicant stands after a step, as the console lists it: the block and section
    of the screen planned next, the percent complete, who the applicant is (the interview's
    first party's name and e-mail, when answered) and whether the interview has reached its end.
    The front end computes it where it plans the screen (the store never plans) and hands it to
    `save_step`, which writes it in the same UPDATE as the state."""

    block: str | None
    section: str | None
    percent: int
    display_name: str | None = None
    contact_email: str | None = None
    completed: bool = False


Row = TypeVar("Row", Session, SessionSnapshot)


def save_step(db: Unit, session: Row, state: engine.State, progress: StepProgress | None = None, *,
              completed: bool = False, data: dict[str, Any] | None = None) -> Row:
    """Write `state` as the session's new state and append its new log entries, in one
    transaction, committed before returning.

    `session` is the row as loaded with the state: if anyone saved the session since (its
    version moved on), nothing is written and `StaleSession` is raised. The row returned is
    `session`, expired (its attributes are read again from the database when next used), or
    for a `SessionSnapshot`, a snapshot with the new version.

    On SQLite, concurrent steps of this process are committed together (`store.groupcommit`:
    one transaction and one fsync for all the steps queued meanwhile; each is still written
    whole or not at all and acknowledged only after that commit).

    `completed=True` (or `progress.completed`) says the interview ended with this step: the first
    time, the session's `completed_at` is set and a `session.completed` event joins the same
    transaction (outbox).

    `progress` (when given) updates the console's denormalised columns in the same UPDATE:
    `current_block`, `current_section`, `progress`, `display_name` and `contact_email` (each
    kept when the new value is None: an answer is never un-learnt by going back) and the
    interview's side of `stage` (`store.stage`).

    `data` is `state_json(state)` when the caller took it already: a step takes it before planning
    the next screen on the same state (`web.flow.plan_next`), so planning needs no copy of it."""
    completed = completed or (progress is not None and progress.completed)
    # A snapshot knows how many events were stored when it was read; the version guard proves
    # that is still so when its UPDATE goes through (only save_step writes both, together).
    logged = session.logged if isinstance(session, SessionSnapshot) else None
    if data is None:
        data = state_json(state)
    job = Job(_StepWrite(session.id, session.version, data, state.lang, state.logged, state.log, utcnow(),
                         logged, progress, completed or (progress is not None and progress.completed)))
    bind = db.engine if isinstance(db, Connection) else db.get_bind()
    assert isinstance(bind, Engine)
    if bind.dialect.name == "sqlite" and _idle(db):
        group(str(bind.url)).run(job, lambda batch: _write_steps(_writer(bind), batch))
        db.commit()  # ends this session's (read-only) transaction, expiring what it loaded, as before
    else:
        _write_steps(db, [job])
    if job.error is not None:
        raise job.error
    changes.publish(changes.Change("session", session.firm_id, session_id=session.id))
    if isinstance(session, SessionSnapshot):
        return cast(Row, SessionSnapshot(session.id, session.firm_id, session.interview_version_id, session.lang,
                                         session.version + 1, state.logged + len(state.log)))
    if isinstance(db, DB):
        db.expire(session)
    return session


@dataclass(frozen=True)
class _StepWrite:
    session_id: str
    seen: int  # the version the state was loaded at
    state: dict[str, Any]  # State.to_json() without the log
    lang: str
    log_base: int  # events stored before the first entry of `log` (`State.logged`)
    log: list[dict[str, Any]]
    now: dt.datetime
    logged: int | None  # events stored when the state was read, if known (else asked)
    progress: StepProgress | None = None
    completed: bool = False  # the interview ended with this step


WRITER_CACHE_KIB = 32 * 1024  # the writer connection's page cache (SQLite's default: 2 MiB per connection)


def _writer(bind: Engine) -> Connection:
    """The connection this process writes steps with, one per SQLite engine, used by one
    group-commit leader at a time (`store.groupcommit` runs one batch at a time per file).

    Why not the leader's own connection, as before: SQLite drops a connection's page cache
    whenever another connection has written since its last transaction, and with a pool of
    connections taking turns that was every time, so every step read the B-tree pages its UPDATE
    and INSERTs walk (root, interior, leaf of the session table and of each index it moves) again
    from the file: about 8 of the 25 page reads per step in `bench/web.py`. The one connection
    that does (almost) all the writing keeps them. It lives as long as its engine (a reference
    cycle the garbage collector frees with it); if it was closed or invalidated, a new one is
    opened."""
    writer: Connection | None = bind.__dict__.get("_accord_step_writer")
    if writer is None or writer.closed or writer.invalidated:
        writer = bind.connect()
        writer.exec_driver_sql(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        writer.commit()
        bind.__dict__["_accord_step_writer"] = writer
    return writer


def _idle(db: Unit) -> bool:
    """True when `db` has nothing of its own to write: no pending ORM changes and no write
    transaction open on its connection (then its step can join a group commit)."""
    if isinstance(db, DB) and (db.new or db.dirty or db.deleted):
        return False
    raw = _conn(db).connection.dbapi_connection
    return not getattr(raw, "in_transaction", True)


# The statements of a step, built once (building SQLAlchemy expressions costs more than running them).
_SESSIONS = Session.__table__  # type: ignore[attr-defined]
_EVENTS = AnswerEvent.__table__  # type: ignore[attr-defined]
# `stage IN (...)` as plain comparisons: `in_` makes an "expanding" parameter that SQLAlchemy
# re-renders on every execution (a tenth of a step's SQL overhead, bench/web.py).
_AT_INTERVIEW_STAGE = or_(*(_SESSIONS.c.stage == s for s in INTERVIEW_STAGES))
_update_state = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("b_id"), _SESSIONS.c.version == bindparam("b_seen"))
    # A saved step ends the screen a draft was typed on: the draft goes with it.
    .values(state=bindparam("b_state"), lang=bindparam("b_lang"), updated_at=bindparam("b_now"),
            version=bindparam("b_next"), draft=None)
)
_UPDATE_STATE = Prepared(_update_state)
# The same, keeping the console's columns true (`StepProgress`).
_UPDATE_STATE_PROGRESS = Prepared(_update_state.values(
    current_block=bindparam("b_block"), current_section=bindparam("b_section"), progress=bindparam("b_percent"),
    display_name=func.coalesce(bindparam("b_name", type_=Text), _SESSIONS.c.display_name),
    contact_email=func.coalesce(bindparam("b_email", type_=Text), _SESSIONS.c.contact_email),
    # The interview's side of the stage (store.stage): completed once it ever reached its end;
    # an envelope's stage, once sent, stays.
    stage=case((_AT_INTERVIEW_STAGE,
                case((or_(bindparam("b_completed", type_=Boolean) == true(), _SESSIONS.c.completed_at.is_not(None)),
                      "completed"), else_="in_progress")),
               else_=_SESSIONS.c.stage),
))
_SESSION_ROW = Prepared(sa_select(
    _SESSIONS.c.firm_id, _SESSIONS.c.interview_version_id, _SESSIONS.c.lang, _SESSIONS.c.version,
    type_coerce(_SESSIONS.c.state, Text).label("state"),  # decoded by `state_of`, only when needed
    sa_select(func.max(_EVENTS.c.seq)).where(_EVENTS.c.session_id == _SESSIONS.c.id).scalar_subquery().label("logged"),
).where(_SESSIONS.c.id == bindparam("b_id")))
_LOG_ROWS = (
    sa_select(_EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.block, _EVENTS.c.changes)
    .where(_EVENTS.c.session_id == bindparam("b_id"))
    .order_by(_EVENTS.c.seq)
)
_LAST_SEQ = Prepared(sa_select(func.max(_EVENTS.c.seq)).where(_EVENTS.c.session_id == bindparam("b_id")))
_INSERT_EVENT = Prepared(insert(_EVENTS).values(
    session_id=bindparam("b_session"), seq=bindparam("b_seq"), block=bindparam("b_block"),
    changes=bindparam("b_changes"), at=bindparam("b_at")))


def _write_steps(db: Unit, jobs: list[Job]) -> None:
    """Write each job's step (checks first, so a refused job writes nothing), commit once.
    A refused job gets its `error`; a failed commit rolls back and fails them all."""
    conn = _conn(db)
    try:
        for job in jobs:
            w: _StepWrite = job.payload
            stored = w.logged
            if stored is None:
                last = _LAST_SEQ.first(conn, {"b_id": w.session_id})
                stored = (last[0] if last else None) or 0
            if w.log_base + len(w.log) < stored or w.log_base > stored:
                job.error = StoreError("the state's answer log does not continue the stored one (append-only)")
                continue
            # The guarded UPDATE takes the write lock (SQLite) / row lock (PostgreSQL).
            params: dict[str, Any] = {"b_id": w.session_id, "b_seen": w.seen, "b_state": w.state, "b_lang": w.lang,
                                      "b_now": w.now, "b_next": w.seen + 1}
            statement = _UPDATE_STATE
            if w.progress is not None:
                statement = _UPDATE_STATE_PROGRESS
                params.update(b_block=w.progress.block, b_section=w.progress.section,
                              b_percent=max(0, min(100, w.progress.percent)), b_name=w.progress.display_name,
                              b_email=w.progress.contact_email, b_completed=w.completed)
            if statement.rowcount(conn, params) != 1:
                job.error = StaleSession("the session was changed by another request; reload it and try again")
                continue
            rows = [
                {"b_session": w.session_id, "b_seq": int(entry["seq"]), "b_block": str(entry["block"]),
                 "b_changes": entry["changes"], "b_at": _parse(entry.get("at")) or w.now}
                for entry in w.log[stored - w.log_base:]
            ]
            if rows:
                _INSERT_EVENT.executemany(conn, rows)
            if w.completed:
                _complete(conn, w)
        db.commit()
    except BaseException as exc:  # noqa: BLE001 - handed to every job's caller
        db.rollback()
        for job in jobs:
            if job.error is None:
                job.error = exc


_COMPLETE = Prepared(
    update(_SESSIONS).where(_SESSIONS.c.id == bindparam("b_id"), _SESSIONS.c.completed_at.is_(None))
    .values(completed_at=bindparam("b_now"),  # and the interview's side of the stage (store.stage)
            stage=case((_AT_INTERVIEW_STAGE, "completed"), else_=_SESSIONS.c.stage))
)
_FIRM_OF = Prepared(sa_select(_SESSIONS.c.firm_id).where(_SESSIONS.c.id == bindparam("b_id")))


def _complete(conn: Any, w: _StepWrite) -> None:
    """The first completion of a session: stamp it and emit `session.completed` (same transaction)."""
    if _COMPLETE.rowcount(conn, {"b_id": w.session_id, "b_now": w.now}) == 1:
        row = _FIRM_OF.first(conn, {"b_id": w.session_id})
        assert row is not None  # the UPDATE just found it
        outbox.emit(conn, int(row[0]), outbox.SESSION_COMPLETED, w.session_id, {"session_id": w.session_id},
                    now=w.now)


def save_draft(db: DB, session: Session, draft: dict[str, Any] | None) -> Session:
    """Keep the answers typed so far on the current screen (the chat asks a screen's fields one
    message at a time), committed before returning. The session's version does not move: a
    draft is not a step, so an open wizard page stays current. If anyone saved a step since
    `session` was loaded, nothing is written and `StaleSession` is raised."""
    result = db.execute(
        update(Session)
        .where(col(Session.id) == session.id, col(Session.version) == session.version)
        .values(draft=draft, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise StaleSession("the session was changed by another request; reload it and try again")
    db.commit()
    fresh = db.get(Session, session.id, populate_existing=True)
    assert fresh is not None
    return fresh


def add_upload(db: DB, session_id: str, field: str, filename: str, content_type: str, size: int,
               sha256: str) -> Upload:
    """Record an uploaded file (its bytes are already stored under their SHA-256), committed."""
    row = Upload(session_id=session_id, field=field, filename=filename, content_type=content_type, size=size,
                 sha256=sha256)
    db.add(row)
    db.commit()
    db.refresh(row)
    return row


def session_uploads(db: DB, session_id: str, ids: list[str]) -> list[Upload]:
    """The uploads among `ids` that belong to this session (in the order asked; others ignored)."""
    if not ids:
        return []
    rows = db.exec(select(Upload).where(col(Upload.id).in_(ids), Upload.session_id == session_id)).all()
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def state_json(state: engine.State) -> dict[str, Any]:
    """What the `state` column holds: `State.to_json` without the answer log (kept in
    `answer_event`). Independent of `state` afterwards (planning may go on changing the state:
    `to_json` builds new containers for the answers; the Back history is copied here)."""
    data = state.to_json()
    data.pop("log", None)  # kept in answer_event
    data.pop("logged", None)  # known from answer_event
    data["history"] = list(data["history"])
    return data


def _version_by_hash(db: DB, firm: Firm, content_hash: str) -> InterviewVersion | None:
    stmt = select(InterviewVersion).where(
        InterviewVersion.firm_id == _id(firm), InterviewVersion.content_hash == content_hash
    )
    return db.exec(stmt).first()


def _id(row: Firm | InterviewVersion) -> int:
    if row.id is None:
        raise StoreError(f"{type(row).__name__} is not saved yet")
    return row.id


def _parse(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime) -> str:
    """As the engine writes it: UTC, seconds (SQLite hands back naive datetimes: they are UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="seconds")
