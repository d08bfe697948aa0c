"""Real `accord worker` processes on the procrastinate backend (`ACCORD_QUEUE=procrastinate`, real
PostgreSQL): a `kill -9` in the middle of a delivery loses nothing (the dead worker's job is found
by the heartbeat sweep, the chain queued again once the delivery's lease ran out), and two workers
at once deliver every event exactly once, in order per agreement (no crash: no duplicate)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session as DB
from sqlmodel import select
from webhook_receiver import Receiver

from accord.serve import prepare
from accord.settings import Settings
from integrations import webhooks
from store import outbox
from store.models import Delivery, DeliveryAttempt, Firm
from store.testdb import ON_POSTGRES, scratch_database

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="procrastinate needs PostgreSQL: run under make test-postgres")


def start_worker(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "accord", "worker", "--lease", "2", "--interval", "0.1",
                                 "--sweep", "0.3", "--stalled-after", "2", *extra],
                                cwd=ROOT, env={**env, "ACCORD_QUEUE": "procrastinate"}, stdout=out,
                                stderr=subprocess.STDOUT)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(db: Engine) -> set[str]:
    with DB(db) as session:
        return {d.status for d in session.exec(select(Delivery)).all()}


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.wait(30)


def test_kill_9_in_the_middle_of_a_delivery_loses_nothing(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_DATABASE_URL": url,
               "ACCORD_SECRET_KEY": "queue-crash-test"}
        db = prepare(Settings.from_env(env))
        receiver = Receiver().start()
        receiver.delay = 1.0  # every delivery takes a second: the kill lands inside one
        procs: list[subprocess.Popen[bytes]] = []
        try:
            with DB(db) as session:
                firm_id = session.exec(select(Firm).where(Firm.slug == "demo")).one().id or 0
                webhooks.set_allow_private(session, firm_id, True)
                _ep, receiver.secret = webhooks.add(session, firm_id, receiver.url)
                emitted = []
                for _ in range(5):
                    emitted.append(outbox.emit(session, firm_id, outbox.ENVELOPE_VIEWED, "agr-crash", {}))
                    session.commit()
            procs.append(start_worker(env, tmp_path / "worker1.log"))
            wait_for(lambda: receiver.arrived >= 2, 60, "the second delivery to start")
            procs[0].send_signal(signal.SIGKILL)  # in the middle of delivery 2 (receiver still sleeping)
            procs[0].wait(10)
            assert len(receiver.ids()) <= 2
            with db.connect() as conn:  # the dead worker's job still holds the chain's lock
                doing = conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")).scalar()
            assert doing == 1
            receiver.delay = 0
            procs.append(start_worker(env, tmp_path / "worker2.log"))
            wait_for(lambda: set(receiver.ids()) >= set(emitted), 60, "every event after the restart")
            ids = receiver.ids()
            assert list(dict.fromkeys(ids)) == emitted  # in sequence order, none lost
            assert len(ids) <= len(emitted) + 1  # at most the interrupted one twice, with the same id
            assert list(dict.fromkeys(a["seq"] for a in receiver.accepted)) == [1, 2, 3, 4, 5]
            wait_for(lambda: statuses(db) == {"delivered"}, 20, "all deliveries recorded as delivered")
            with db.connect() as conn:  # the sweep failed the dead worker's job; nothing else is left
                states = dict(conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1"))
                              .all())
            assert states.get("failed") == 1 and not states.get("doing") and not states.get("todo")
        finally:
            stop_all(procs)
            receiver.stop()
            db.dispose()


def test_two_workers_deliver_each_event_once_in_order(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_DATABASE_URL": url,
               "ACCORD_SECRET_KEY": "queue-pair-test"}
        db = prepare(Settings.from_env(env))
        receiver = Receiver().start()
        receiver.delay = 0.15  # slow enough that one worker (one delivery at a time) leaves work to the other
        procs: list[subprocess.Popen[bytes]] = []
        agreements = [f"agr-{n}" for n in range(4)]
        emitted: dict[str, list[str]] = {a: [] for a in agreements}
        try:
            with DB(db) as session:
                firm_id = session.exec(select(Firm).where(Firm.slug == "demo")).one().id or 0
                webhooks.set_allow_private(session, firm_id, True)
                _ep, receiver.secret = webhooks.add(session, firm_id, receiver.url)

                def emit_round() -> None:
                    for agreement in agreements:
                        emitted[agreement].append(outbox.emit(session, firm_id, outbox.ENVELOPE_VIEWED, agreement, {}))
                        session.commit()

                for _ in range(3):
                    emit_round()
                procs.append(start_worker(env, tmp_path / "worker1.log", "--concurrency", "1"))
                procs.append(start_worker(env, tmp_path / "worker2.log", "--concurrency", "1"))
                for _ in range(3):  # more while both run
                    time.sleep(0.3)
                    emit_round()
            everything = {i for ids in emitted.values() for i in ids}
            wait_for(lambda: set(receiver.ids()) == everything, 90, "every event")
            time.sleep(1.0)  # a duplicate, if any, would arrive now
            ids = receiver.ids()
            assert len(ids) == len(everything) == 24  # exactly once each
            for agreement, expected in emitted.items():
                assert [a["id"] for a in receiver.accepted if a["agreement_id"] == agreement] == expected
            wait_for(lambda: statuses(db) == {"delivered"}, 20, "all recorded")
            with DB(db) as session:
                assert len(session.exec(select(DeliveryAttempt)).all()) == 24
            assert all(p.poll() is None for p in procs)  # both still running
            for log in ("worker1.log", "worker2.log"):  # and both took chains: the two really ran at once
                assert "Starting job accord.deliver_chain" in (tmp_path / log).read_text(encoding="utf-8")
        finally:
            stop_all(procs)
            receiver.stop()
            db.dispose()
