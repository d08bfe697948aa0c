"""`kill -9` of a real `accord worker` process in the middle of a delivery loses nothing: the
delivery it held is retried when its lease runs out, and the receiver ends up with every event,
in sequence order, duplicates (if any) only with the same event id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import Session as DB
from sqlmodel import select
from webhook_receiver import Receiver

from accord.serve import prepare
from accord.settings import Settings
from integrations import webhooks
from store import outbox
from store.models import Delivery, Firm
from store.testdb import scratch_database

ROOT = Path(__file__).resolve().parents[2]


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "accord", "worker", "--lease", "2", "--interval", "0.1"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_in_the_middle_of_a_delivery_loses_nothing(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_DATABASE_URL": url,
               "ACCORD_SECRET_KEY": "worker-crash-test"}
        settings = Settings.from_env(env)
        db = prepare(settings)
        receiver = Receiver().start()
        receiver.delay = 1.0  # every delivery takes a second: the kill lands inside one
        procs: list[subprocess.Popen[bytes]] = []
        try:
            with DB(db) as session:
                firm = session.exec(select(Firm).where(Firm.slug == "demo")).one()
                firm_id = firm.id or 0
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
            got_before = len(receiver.ids())
            assert got_before <= 2
            receiver.delay = 0
            procs.append(start_worker(env, tmp_path / "worker2.log"))
            wait_for(lambda: set(receiver.ids()) >= set(emitted), 60, "every event after the restart")
            ids = receiver.ids()
            assert list(dict.fromkeys(ids)) == emitted  # in sequence order, none lost
            seqs = list(dict.fromkeys(a["seq"] for a in receiver.accepted))
            assert seqs == [1, 2, 3, 4, 5]

            def statuses() -> set[str]:
                with DB(db) as session:
                    return {d.status for d in session.exec(select(Delivery)).all()}

            wait_for(lambda: statuses() == {"delivered"}, 20, "all deliveries recorded as delivered")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(10)
            receiver.stop()
            db.dispose()
