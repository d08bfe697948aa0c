"""Units of work on interviews and sessions. Each function that writes commits before it
returns, so whatever the web layer acknowledges to the applicant is already durable.

`db` is a `sqlmodel.Session` (a database session: not to be confused with `store.models.Session`,
an applicant's interview session).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DB
from sqlmodel import col, select

import engine
from store.models import AnswerEvent, Firm, InterviewVersion, Session, Upload, utcnow


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


def start_session(db: DB, firm: Firm, version: InterviewVersion, lang: str) -> Session:
    """A new session on `version`, with the interview's initial state, committed."""
    state = compile_version(version).start(lang=lang)
    session = Session(firm_id=_id(firm), interview_version_id=_id(version), lang=state.lang, state=_state_json(state))
    db.add(session)
    db.commit()
    db.refresh(session)
    return session


def load_state(db: DB, session_id: str) -> tuple[Session, engine.State]:
    """The session row and its engine State, the log rebuilt from the answer events."""
    session = db.get(Session, session_id)
    if session is None:
        raise SessionNotFound("no such session")
    stmt = select(AnswerEvent).where(AnswerEvent.session_id == session_id).order_by(col(AnswerEvent.seq))
    events = db.exec(stmt).all()
    data = dict(session.state)
    data["log"] = [
        {"seq": e.seq, "at": _iso(e.at), "block": e.block, "changes": e.changes} for e in events
    ]
    return session, engine.State.from_json(data)


def save_step(db: DB, session: Session, state: engine.State) -> Session:
    """Write `state` as the session's new state and append its new log entries, in one
    transaction, committed before returning.

    `session` is the row as loaded with the state: if anyone saved the session since (its
    version moved on), nothing is written and `StaleSession` is raised."""
    now = utcnow()
    # The guarded UPDATE comes first: it takes the write lock (SQLite) / row lock (PostgreSQL).
    result = db.execute(
        update(Session)
        .where(col(Session.id) == session.id, col(Session.version) == session.version)
        # A saved step ends the screen a draft was typed on: the draft goes with it.
        .values(state=_state_json(state), lang=state.lang, updated_at=now, version=session.version + 1, draft=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise StaleSession("the session was changed by another request; reload it and try again")
    stored = db.exec(select(func.max(AnswerEvent.seq)).where(AnswerEvent.session_id == session.id)).one() or 0
    if len(state.log) < stored:
        db.rollback()
        raise StoreError("the state's answer log is shorter than the stored one (the log is append-only)")
    for entry in state.log[stored:]:
        db.add(
            AnswerEvent(
                session_id=session.id,
                seq=int(entry["seq"]),
                block=str(entry["block"]),
                changes=entry["changes"],
                at=_parse(entry.get("at")) or now,
            )
        )
    db.commit()
    fresh = db.get(Session, session.id, populate_existing=True)
    assert fresh is not None
    return fresh


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


def _state_json(state: engine.State) -> dict[str, Any]:
    data = state.to_json()
    data.pop("log", None)
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
