"""`store.prepared`: the step's statements run on the SQLite driver must write exactly what
SQLAlchemy writes (same values, same SQLite storage classes), fail with SQLAlchemy's exception
classes, and stay inside the connection's transaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DB

from store import migrate
from store import sessions as S
from store.database import make_engine
from store.sessions import ensure_firm, publish_interview, start_session

LOAN = Path(__file__).parents[2] / "interviews" / "loan_application.yml"
NOW = dt.datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=dt.UTC)


@pytest.fixture
def sqlite(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'accord.db'}")
    migrate.upgrade(engine)
    return engine


def _two_sessions(engine: Engine) -> tuple[str, str]:
    with DB(engine) as db:
        firm = ensure_firm(db, "demo", "Demo firm")
        version = publish_interview(db, firm, "loan", LOAN)
        return start_session(db, firm, version, "en").id, start_session(db, firm, version, "en").id


def _stored(conn: Connection, table: str, where: str, key: str) -> list[tuple[Any, ...]]:
    """Every column of the rows, each with its SQLite storage class (`typeof`), but the key and
    when the row was created."""
    skip = ("id", "created_at")
    columns = [row[1] for row in conn.execute(text(f"PRAGMA table_info({table})")) if row[1] not in skip]
    picked = ", ".join(f"{c}, typeof({c})" for c in columns if c != where)
    return [tuple(r) for r in conn.execute(text(f"SELECT {picked} FROM {table} WHERE {where} = :k ORDER BY 1"),
                                           {"k": key})]


STEP = {"b_seen": 1, "b_state": {"answers": {"name": "Chi", "n": 2.5, "ok": True}, "history": ["a"]},
        "b_lang": "vi", "b_now": NOW, "b_next": 2, "b_block": "income", "b_section": "money", "b_percent": 40,
        "b_name": "Chi Nguyễn", "b_email": None, "b_completed": False}


def test_the_driver_path_writes_what_sqlalchemy_writes(sqlite: Engine) -> None:
    ours, theirs = _two_sessions(sqlite)
    events = [{"b_seq": 1, "b_block": "welcome", "b_changes": {"consent": True}, "b_at": NOW},
              {"b_seq": 2, "b_block": "income", "b_changes": {"income": 1.5e7, "note": None}, "b_at": NOW}]
    with sqlite.connect() as conn:
        assert S._UPDATE_STATE_PROGRESS.rowcount(conn, {**STEP, "b_id": ours}) == 1
        conn.execute(S._UPDATE_STATE_PROGRESS.statement, {**STEP, "b_id": theirs})
        S._INSERT_EVENT.executemany(conn, [{**e, "b_session": ours} for e in events])
        conn.execute(S._INSERT_EVENT.statement, [{**e, "b_session": theirs} for e in events])
        assert S._COMPLETE.rowcount(conn, {"b_id": ours, "b_now": NOW}) == 1
        conn.execute(S._COMPLETE.statement, {"b_id": theirs, "b_now": NOW})
        # Not a second time: the guard holds on the driver path too.
        assert S._COMPLETE.rowcount(conn, {"b_id": ours, "b_now": NOW}) == 0
        conn.commit()
        assert _stored(conn, "interview_session", "id", ours) == _stored(conn, "interview_session", "id", theirs)
        assert _stored(conn, "answer_event", "session_id", ours) == _stored(conn, "answer_event", "session_id", theirs)
        mine = S._SESSION_ROW.first(conn, {"b_id": ours})
        other = conn.execute(S._SESSION_ROW.statement, {"b_id": theirs}).first()
        assert mine is not None and other is not None and tuple(mine) == tuple(other)
        assert mine[5] == 2  # events stored
        assert S._SESSION_ROW.first(conn, {"b_id": "no-such-session"}) is None
        # A stale version changes nothing.
        assert S._UPDATE_STATE.rowcount(conn, {**STEP, "b_id": ours}) == 0


def test_a_driver_error_is_sqlalchemys_and_the_transaction_is_the_connections(sqlite: Engine) -> None:
    ours, _ = _two_sessions(sqlite)
    event = {"b_session": ours, "b_seq": 1, "b_block": "welcome", "b_changes": {}, "b_at": NOW}
    with sqlite.connect() as conn:
        S._INSERT_EVENT.executemany(conn, [event])
        assert conn.in_transaction()
        conn.rollback()  # nothing of it stays
        assert conn.execute(text("SELECT count(*) FROM answer_event")).scalar() == 0
        S._INSERT_EVENT.executemany(conn, [event])
        conn.commit()
        with pytest.raises(IntegrityError, match="UNIQUE"):
            S._INSERT_EVENT.executemany(conn, [event])  # the same (session, seq) again
        conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM answer_event")).scalar() == 1
