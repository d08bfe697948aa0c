"""The procrastinate backend of the outbox worker (`ACCORD_QUEUE=procrastinate`, `jobs/queue.py`)
against a real receiver on loopback and the real PostgreSQL: dispatch queues the jobs in its own
transaction, events arrive in sequence order per agreement, a receiver down for ten minutes
(clock-controlled) gets everything afterwards, a resent delivery goes out again, three days of
failures disable the endpoint with an alert and enabling it delivers what waited. The choice of
backend is checked everywhere; the rest needs PostgreSQL (procrastinate has no SQLite) and runs
under `make test-postgres`."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session as DB
from sqlmodel import select
from webhook_receiver import Receiver

from integrations import webhooks
from integrations.webhooks import Alert, WebhookConsumer
from jobs.clock import ManualClock
from jobs.queue import QUEUE, Chain, QueueConfigError, QueueWorker, backend, conninfo
from jobs.worker import Worker, start_thread
from store import outbox
from store.models import Delivery, DeliveryAttempt, OutboxEvent, Staff, WebhookEndpoint
from store.testdb import ON_POSTGRES

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
pg_only = pytest.mark.skipif(not ON_POSTGRES, reason="procrastinate needs PostgreSQL: run under make test-postgres")


def test_the_backend_is_chosen_by_accord_queue() -> None:
    assert backend("sqlite:///x.db", "") == "table"
    assert backend("sqlite:///x.db", "table") == "table"
    assert backend("postgresql://h/db", "procrastinate") == "procrastinate"
    assert backend("postgresql+psycopg://h/db", " Procrastinate ") == "procrastinate"
    with pytest.raises(QueueConfigError, match="needs a PostgreSQL database"):
        backend("sqlite:///x.db", "procrastinate")
    with pytest.raises(QueueConfigError, match="not a queue backend"):
        backend("postgresql://h/db", "redis")
    assert conninfo("postgresql+psycopg://u@h:5/db") == "postgresql://u@h:5/db"
    assert conninfo("postgres://u@h/db") == "postgresql://u@h/db"


def test_accord_worker_refuses_procrastinate_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
           "ACCORD_SECRET_KEY": "queue-test", "ACCORD_QUEUE": "procrastinate"}
    done = subprocess.run([sys.executable, "-m", "accord", "worker", "--once"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "ACCORD_QUEUE=procrastinate needs a PostgreSQL database" in done.stderr


def emit(engine: Engine, firm_id: int, agreement: str, now: dt.datetime | None = None) -> str:
    with DB(engine) as db:
        event_id = outbox.emit(db, firm_id, outbox.ENVELOPE_VIEWED, agreement, {"session_id": agreement}, now=now)
        db.commit()
    return event_id


def endpoint(engine: Engine, firm_id: int, url: str) -> tuple[int, str]:
    with DB(engine) as db:
        webhooks.set_allow_private(db, firm_id, True)  # the receiver is on loopback
        ep, secret = webhooks.add(db, firm_id, url)
        assert ep.id is not None
        return ep.id, secret


def jobs(engine: Engine) -> list[tuple[str, str, str]]:
    """(lock, queueing lock, status) of every procrastinate job of the outbox queue."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT lock, queueing_lock, status::text FROM procrastinate_jobs "
                                 "WHERE queue_name = :q ORDER BY id"), {"q": QUEUE}).all()
    return [(r[0], r[1], r[2]) for r in rows]


def statuses(engine: Engine) -> set[str]:
    with DB(engine) as db:
        return {d.status for d in db.exec(select(Delivery)).all()}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def running() -> Iterator[Callable[[QueueWorker], None]]:
    """Start QueueWorkers in threads (as `accord serve` does); stopped at the end of the test."""
    started: list[tuple[threading.Thread, threading.Event]] = []

    def start(worker: QueueWorker) -> None:
        started.append(start_thread(worker, interval=0.05))

    yield start
    for _thread, stop in started:
        stop.set()
    for thread, _stop in started:
        thread.join(30)
        assert not thread.is_alive()


@pg_only
def test_dispatch_queues_one_job_per_chain_in_its_own_transaction(db_engine: Engine, db_url: str,
                                                                    firm_id: int) -> None:
    receiver = Receiver().start()
    try:
        ep_id, receiver.secret = endpoint(db_engine, firm_id, receiver.url)
        worker = Worker(db_engine, [WebhookConsumer()])
        QueueWorker(worker, db_url)
        for agreement in ("agr-1", "agr-1", "agr-2"):
            emit(db_engine, firm_id, agreement)
        assert worker.dispatch() == 3
        one, two = Chain("webhook", ep_id, None, "agr-1"), Chain("webhook", ep_id, None, "agr-2")
        # One "run now" job per chain: agr-1's second event found its chain's job already waiting.
        assert jobs(db_engine) == [(one.lock, one.lock + ":now", "todo"), (two.lock, two.lock + ":now", "todo")]
        assert receiver.arrived == 0  # queued only: nothing ran

        # A dispatch whose transaction fails leaves neither its deliveries nor its jobs.
        hook = worker.after_dispatch
        assert hook is not None

        def then_fail(db: DB, made: list[Delivery]) -> None:
            hook(db, made)
            raise RuntimeError("the database went away")

        worker.after_dispatch = then_fail
        emit(db_engine, firm_id, "agr-3")
        assert worker.dispatch() == 0
        with DB(db_engine) as db:
            assert len(db.exec(select(Delivery)).all()) == 3
            assert db.exec(select(OutboxEvent).where(OutboxEvent.agreement_id == "agr-3")).one().dispatched_at is None
        assert len(jobs(db_engine)) == 2
        worker.after_dispatch = hook
        assert worker.dispatch() == 1 and len(jobs(db_engine)) == 3
    finally:
        receiver.stop()


@pg_only
def test_events_arrive_in_order_per_agreement_and_a_resend_goes_out_again(
        db_engine: Engine, db_url: str, firm_id: int, running: Callable[[QueueWorker], None]) -> None:
    receiver = Receiver().start()
    try:
        ep_id, receiver.secret = endpoint(db_engine, firm_id, receiver.url)
        receiver.delay = 0.02
        emitted: dict[str, list[str]] = {"agr-a": [], "agr-b": [], "agr-c": []}
        for n in range(15):
            agreement = ("agr-a", "agr-b", "agr-c")[n % 3]
            emitted[agreement].append(emit(db_engine, firm_id, agreement))
        running(QueueWorker(Worker(db_engine, [WebhookConsumer()]), db_url, sweep_every=0.5))
        everything = {i for ids in emitted.values() for i in ids}
        wait_for(lambda: set(receiver.ids()) == everything, 60, "every event")
        assert len(receiver.ids()) == 15  # each once: nothing crashed
        for agreement, expected in emitted.items():
            assert [a["id"] for a in receiver.accepted if a["agreement_id"] == agreement] == expected
            assert [a["seq"] for a in receiver.accepted if a["agreement_id"] == agreement] == [1, 2, 3, 4, 5]
        wait_for(lambda: statuses(db_engine) == {"delivered"}, 20, "every delivery recorded")
        with DB(db_engine) as db:
            assert len(db.exec(select(DeliveryAttempt)).all()) == 15  # the same delivery log as the table worker
            first = db.exec(select(Delivery).where(Delivery.agreement_id == "agr-b", Delivery.seq == 1)).one()
            assert first.id is not None
            webhooks.resend(db, firm_id, first.id)  # no job queued by resend itself: the sweep finds it
        wait_for(lambda: len(receiver.ids()) == 16, 30, "the resent delivery")
        assert receiver.ids()[-1] == emitted["agr-b"][0]
        wait_for(lambda: not [j for j in jobs(db_engine) if j[2] in ("todo", "doing")], 20, "the queue to drain")
    finally:
        receiver.stop()


@pg_only
def test_receiver_down_ten_minutes_gets_everything_in_order(db_engine: Engine, db_url: str, firm_id: int,
                                                           running: Callable[[QueueWorker], None]) -> None:
    clock = ManualClock(T0)
    receiver = Receiver(clock=clock).start()
    port = receiver.port
    ep_id, secret = endpoint(db_engine, firm_id, receiver.url)
    receiver.stop()  # down: connections are refused
    emitted = [emit(db_engine, firm_id, "agr-down", clock.now()) for _ in range(4)]
    running(QueueWorker(Worker(db_engine, [WebhookConsumer()], clock=clock), db_url, sweep_every=0.2))
    try:
        def attempts() -> int:
            with DB(db_engine) as db:
                return len(db.exec(select(DeliveryAttempt)).all())

        wait_for(lambda: attempts() >= 1, 30, "the first failed attempt")
        chain = Chain("webhook", ep_id, None, "agr-down")
        # The retry waits in procrastinate (scheduled 10 s ahead), not in a poll of ours.
        wait_for(lambda: (chain.lock, chain.lock + ":at", "todo") in jobs(db_engine), 10, "the scheduled retry")
        time.sleep(0.6)  # several sweeps: nothing is attempted before its time
        assert attempts() == 1
        with DB(db_engine) as db:
            assert {d.status for d in db.exec(select(Delivery)).all()} == {"pending"}
        for _ in range(10):  # ten minutes pass, the receiver still down: retries follow the backoff
            clock.advance(60)
            time.sleep(0.3)
        failed = attempts()
        assert 2 <= failed <= 7  # 10 s, 20 s, 40 s … apart: far fewer than one per sweep
        receiver = Receiver(secret, port=port, clock=clock).start()  # back on the same port
        receiver.fail_next = 1  # it records the first event but answers 500: redelivered, same id
        for _ in range(40):
            clock.advance(60)
            time.sleep(0.2)
            if set(receiver.ids()) == set(emitted):
                break
        wait_for(lambda: set(receiver.ids()) == set(emitted), 30, "every event after the receiver came back")
        ids = receiver.ids()
        assert list(dict.fromkeys(ids)) == emitted  # in sequence order, none lost
        assert len(ids) == 5 and ids[0] == ids[1]  # the one answered with 500 came again, same id
        wait_for(lambda: statuses(db_engine) == {"delivered"}, 20, "every delivery recorded")
    finally:
        receiver.stop()


@pg_only
def test_three_days_of_failures_disable_the_endpoint_and_enabling_it_delivers_the_rest(
        db_engine: Engine, db_url: str, firm_id: int, running: Callable[[QueueWorker], None]) -> None:
    clock = ManualClock(T0)
    receiver = Receiver(clock=clock).start()
    alerts: list[Alert] = []
    try:
        ep_id, secret = endpoint(db_engine, firm_id, receiver.url)
        receiver.secret = "not-the-secret"  # every delivery is answered 400
        with DB(db_engine) as db:
            db.add(Staff(firm_id=firm_id, email="owner@acme.test", name="Owner", role="owner", password_hash="x"))
            db.commit()
        first, second = emit(db_engine, firm_id, "agr-1", clock.now()), emit(db_engine, firm_id, "agr-1", clock.now())
        running(QueueWorker(Worker(db_engine, [WebhookConsumer(alert=alerts.append)], clock=clock), db_url,
                            sweep_every=0.1))

        def attempts() -> int:
            with DB(db_engine) as db:
                return len(db.exec(select(DeliveryAttempt)).all())

        def active() -> bool:
            with DB(db_engine) as db:
                ep = db.get(WebhookEndpoint, ep_id)
                return ep is not None and ep.active

        wait_for(lambda: attempts() == 1, 30, "the first attempt")
        while active() and clock.now() - T0 < dt.timedelta(days=4):
            made = attempts()
            clock.advance(2 * 3600)  # past the capped one-hour backoff: one more attempt each time
            wait_for(lambda made=made: attempts() > made or not active(), 30, "the next attempt")
        assert not active() and dt.timedelta(days=3) <= clock.now() - T0 < dt.timedelta(days=3, hours=4)
        assert len(alerts) == 1 and alerts[0].to == [("Owner", "owner@acme.test")]
        with DB(db_engine) as db:
            got = {d.seq: d for d in db.exec(select(Delivery)).all()}
            assert got[1].status == "failed" and got[2].status == "pending" and got[2].attempts == 0
        # Disabled: the second waits, unattempted. Enabled again (with the right secret), the sweep
        # finds it; the first, given up, goes out again when resent.
        made = attempts()
        clock.advance(3600)
        time.sleep(0.5)  # several sweeps
        assert attempts() == made
        receiver.secret = secret
        with DB(db_engine) as db:
            webhooks.set_active(db, firm_id, ep_id, True)
        wait_for(lambda: receiver.ids() == [second], 30, "the waiting delivery once enabled")
        with DB(db_engine) as db:
            failed = db.exec(select(Delivery).where(Delivery.seq == 1)).one()
            webhooks.resend(db, firm_id, failed.id or 0, now=clock.now())
        wait_for(lambda: receiver.ids() == [second, first], 30, "the resent delivery")
    finally:
        receiver.stop()
