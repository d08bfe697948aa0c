"""`accord webhook …`, `accord worker --once` and `accord completion log` as an admin runs them,
against a real receiver on loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session as DB
from sqlmodel import select
from webhook_receiver import Receiver

from accord.serve import prepare
from accord.settings import Settings
from store import outbox
from store.models import Firm
from store.testdb import scratch_database

ROOT = Path(__file__).resolve().parents[2]


def test_webhook_commands(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_DATABASE_URL": url}
        db = prepare(Settings.from_env(env))
        receiver = Receiver().start()

        def accord(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "accord", *args], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=120)

        try:
            refused = accord("webhook", "add", receiver.url)
            assert refused.returncode == 1 and "private or loopback" in refused.stderr
            assert accord("webhook", "allow-private", "yes").returncode == 0
            added = accord("webhook", "add", receiver.url, "--events", "session.*,webhook.test")
            assert added.returncode == 0, added.stderr
            found = re.search(r"webhook (\d+):.*\nsecret: (whsec_\S+)", added.stdout)
            assert found
            endpoint, receiver.secret = found.group(1), found.group(2)
            assert accord("webhook", "add", receiver.url, "--events", "sesion.*").returncode == 1
            listed = accord("webhook", "list").stdout
            assert f"{endpoint}\tactive\t{receiver.url}\tsession.*,webhook.test" in listed
            assert accord("webhook", "test", endpoint).stdout.strip() == "ok: 200"
            with DB(db) as session:
                firm = session.exec(select(Firm).where(Firm.slug == "demo")).one()
                event = outbox.emit(session, firm.id or 0, outbox.SESSION_STARTED, "agr-cli", {"session_id": "x"})
                outbox.emit(session, firm.id or 0, outbox.ENVELOPE_SENT, "agr-cli", {})  # filtered out
                session.commit()
            assert accord("worker", "--once").returncode == 0
            assert receiver.ids()[-1] == event and len(receiver.ids()) == 2
            [line] = accord("webhook", "log", endpoint).stdout.splitlines()
            logged = json.loads(line)
            assert logged["event"] == event and logged["status"] == "delivered"
            assert logged["attempts"][0]["ok"] and logged["attempts"][0]["request"]["url"] == receiver.url
            resent = accord("webhook", "resend", str(logged["delivery"]))
            assert resent.returncode == 0 and accord("worker", "--once").returncode == 0
            assert receiver.ids().count(event) == 2  # resent: the same event id
            assert accord("webhook", "disable", endpoint).returncode == 0
            assert "disabled" in accord("webhook", "list").stdout
            assert accord("webhook", "--firm", "nobody", "list").returncode == 2
            assert accord("completion", "log", "agr-cli").stdout == ""
            assert accord("webhook", "rotate", endpoint).stdout.startswith("secret: whsec_")
        finally:
            receiver.stop()
            db.dispose()
