"""`ACCORD_STUCK_HOURS` (`WebOptions.stuck_hours`): how long without activity the console's list
and detail flag an applicant as stuck; the setting is read from the environment with a clear
error for a value that is not a positive number."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session as DB
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from consolekit import login, staff  # noqa: E402

from accord.settings import Settings, SettingsError  # noqa: E402
from manage import actions  # noqa: E402
from manage.scope import Scope  # noqa: E402
from store.models import Session as SessionRow  # noqa: E402
from store.models import Staff  # noqa: E402
from web.app import create_app  # noqa: E402
from web.options import WebOptions  # noqa: E402

SECRET = "console-stuck-secret"


def _idle_applicant(db: Engine, member_id: int, hours: float) -> str:
    with DB(db) as s:
        member = s.get(Staff, member_id)
        assert member is not None
        session = actions.invite(s, Scope.of(member), "loan_application", "en",
                                 actions.Prefill("Stuckey Tran", "stuckey@example.com", ""), send=lambda *a: None,
                                 link=lambda sid: sid, days="7")
        sid = session.id
        s.execute(update(SessionRow).where(SessionRow.id == sid)  # type: ignore[arg-type]
                  .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)))
        s.commit()
        return sid


@pytest.mark.parametrize(("stuck_hours", "flagged"), [(48.0, False), (2.0, True)])
def test_the_console_flags_idle_applicants_after_the_configured_hours(db: Engine, stuck_hours: float,
                                                                      flagged: bool) -> None:
    agent_id, secret = staff(db, "demo", "lan@a.test", "agent")
    assert secret is not None
    sid = _idle_applicant(db, agent_id, hours=3)
    with TestClient(create_app(db, SECRET, options=WebOptions(stuck_hours=stuck_hours))) as client:
        login(client, "lan@a.test", secret)
        listing = client.get("/console").text
        assert "Stuckey Tran" in listing and ("No activity for a while" in listing) is flagged
        assert ("Stuckey Tran" in client.get("/console?stuck=1").text) is flagged
        detail = client.get(f"/console/s/{sid}").text
        assert ("No activity for a while" in detail) is flagged


def test_the_setting_comes_from_the_environment_with_a_clear_error() -> None:
    assert Settings.from_env({}).stuck_hours == 48
    assert Settings.from_env({"ACCORD_STUCK_HOURS": "12.5"}).stuck_hours == 12.5
    for bad in ("soon", "0", "-3"):
        with pytest.raises(SettingsError, match="ACCORD_STUCK_HOURS"):
            Settings.from_env({"ACCORD_STUCK_HOURS": bad})


def test_accord_serve_says_what_is_wrong_with_the_setting(tmp_path: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_STUCK_HOURS": "soon"}
    done = subprocess.run([sys.executable, "-m", "accord", "serve", "--port", "0"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "ACCORD_STUCK_HOURS must be a number (got 'soon')" in done.stderr
