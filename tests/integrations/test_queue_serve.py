"""`accord serve` runs the outbox worker in-process with the backend `ACCORD_QUEUE` names: with
`procrastinate` on PostgreSQL an event written to the outbox reaches a real receiver through
procrastinate's jobs; with `procrastinate` on SQLite the server refuses to start and says why.
`accord worker --once` runs what is due and exits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from server import ROOT, LiveServer
from sqlalchemy import text
from sqlmodel import Session as DB
from sqlmodel import select
from webhook_receiver import Receiver

from accord.serve import prepare
from accord.settings import Settings
from integrations import webhooks
from jobs.queue import QUEUE
from store import outbox
from store.database import make_engine
from store.models import Firm
from store.testdb import ON_POSTGRES, scratch_database


def test_serve_refuses_procrastinate_on_sqlite(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, database_url=f"sqlite:///{tmp_path / 'accord.db'}",
                        env={"ACCORD_QUEUE": "procrastinate"})
    with pytest.raises(RuntimeError, match="exited with 2") as refused:
        server.start()
    assert "ACCORD_QUEUE=procrastinate needs a PostgreSQL database" in str(refused.value)


@pytest.mark.skipif(not ON_POSTGRES, reason="procrastinate needs PostgreSQL: run under make test-postgres")
def test_serve_delivers_through_procrastinate_in_process(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        receiver = Receiver().start()
        server = LiveServer(tmp_path, database_url=url, env={"ACCORD_QUEUE": "procrastinate"})
        engine = make_engine(url)
        try:
            with server:
                with DB(engine) as db:
                    firm_id = db.exec(select(Firm).where(Firm.slug == "demo")).one().id or 0
                    webhooks.set_allow_private(db, firm_id, True)
                    _ep, receiver.secret = webhooks.add(db, firm_id, receiver.url)
                    emitted = [outbox.emit(db, firm_id, outbox.ENVELOPE_VIEWED, "agr-serve", {}) for _ in range(3)]
                    db.commit()
                deadline = time.monotonic() + 60
                while receiver.ids() != emitted and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert receiver.ids() == emitted

                def queue_state() -> tuple[int, int]:
                    """(registered procrastinate workers, outbox jobs still waiting or running)"""
                    with engine.connect() as conn:
                        workers = conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar()
                        left = conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = :q "
                                                 "AND status IN ('todo', 'doing')"), {"q": QUEUE}).scalar()
                    return workers or 0, left or 0

                deadline = time.monotonic() + 20
                while queue_state() != (1, 0) and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert queue_state() == (1, 0)  # the server's one procrastinate worker ran them all

        finally:
            receiver.stop()
            engine.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="procrastinate needs PostgreSQL: run under make test-postgres")
def test_worker_once_delivers_what_is_due_and_exits(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_DATABASE_URL": url,
               "ACCORD_SECRET_KEY": "queue-once-test", "ACCORD_QUEUE": "procrastinate"}
        engine = prepare(Settings.from_env(env))
        receiver = Receiver().start()
        try:
            with DB(engine) as db:
                firm_id = db.exec(select(Firm).where(Firm.slug == "demo")).one().id or 0
                webhooks.set_allow_private(db, firm_id, True)
                _ep, receiver.secret = webhooks.add(db, firm_id, receiver.url)
                emitted = [outbox.emit(db, firm_id, outbox.ENVELOPE_VIEWED, f"agr-{n % 2}", {}) for n in range(4)]
                db.commit()
            once = subprocess.run([sys.executable, "-m", "accord", "worker", "--once"], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert once.returncode == 0, once.stdout + once.stderr
            assert "dispatched: 4" in once.stdout
            assert sorted(receiver.ids()) == sorted(emitted)
            assert [a["id"] for a in receiver.accepted if a["agreement_id"] == "agr-0"] == emitted[0::2]
        finally:
            receiver.stop()
            engine.dispose()
