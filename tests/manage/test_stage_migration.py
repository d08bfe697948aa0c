"""Migration 0008 fills `interview_session.stage` for the sessions already there: the newest
envelope's stage once it left draft, else the interview's (completed or in progress)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from store import migrate
from store.database import make_engine


def test_0008_backfills_the_stage(db_url: str) -> None:
    migrate.upgrade(db_url, "0004")
    engine = make_engine(db_url)
    t = dt.datetime(2026, 3, 2, 9)
    rows = {  # session: (completed?, [(envelope status, minutes after t)])
        "fresh": (False, []), "done": (True, []), "draft": (True, [("draft", 0)]),
        "sent": (True, [("sent", 0)]), "signed": (True, [("completed", 0)]),
        "resent": (True, [("voided", 0), ("sent", 5)]), "redrafted": (True, [("voided", 0), ("draft", 5)]),
    }
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO firm (id, slug, name) VALUES (1, 'f', 'F')"))
        conn.execute(text("INSERT INTO interview_version (id, firm_id, name, content_hash, path, source, created_at) "
                          "VALUES (1, 1, 'loan', 'h', 'p', '', :t)"), {"t": t})
        for sid, (completed, envs) in rows.items():
            conn.execute(text(
                "INSERT INTO interview_session (id, firm_id, interview_version_id, lang, state, created_at, "
                "updated_at, version, progress, completed_at) VALUES (:id, 1, 1, 'en', '{}', :t, :t, 1, 0, :c)"),
                {"id": sid, "t": t, "c": t if completed else None})
            for n, (status, minutes) in enumerate(envs):
                conn.execute(text(
                    "INSERT INTO envelope (id, firm_id, session_id, title, language, status, seal_status, "
                    "seal_attempts, original_sha256, current_sha256, created_at, version) VALUES "
                    "(:id, 1, :sid, 'A', 'en', :status, 'none', 0, 'x', 'x', :at, 1)"),
                    {"id": f"{sid}-{n}", "sid": sid, "status": status, "at": t + dt.timedelta(minutes=minutes)})
    migrate.upgrade(db_url)
    with engine.connect() as conn:
        stages = dict(conn.execute(text("SELECT id, stage FROM interview_session")).all())
    engine.dispose()
    assert stages == {"fresh": "in_progress", "done": "completed", "draft": "completed", "sent": "signing",
                      "signed": "signed", "resent": "signing", "redrafted": "completed"}
