"""The console's reports page over `manage.reports` and `manage.charts`: the charts are on the
page, each report downloads as CSV, bad dates are refused next to the field, and an agent who sees
only their own applicants gets their own numbers whatever the query says."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from consolekit import login, staff  # noqa: E402

from store.models import Firm  # noqa: E402
from store.models import Session as SessionRow  # noqa: E402
from store.sessions import latest_version, start_session  # noqa: E402
from web.app import create_app  # noqa: E402

SECRET = "console-reports-secret"


def _completed(db: Engine, agent_id: int, minutes: int) -> None:
    """A session of `agent_id` started today and completed `minutes` later."""
    with DB(db) as s:
        firm = s.exec(select(Firm).where(Firm.slug == "demo")).one()
        version = latest_version(s, firm, "loan_application")
        assert version is not None
        row = start_session(s, firm, version, "en")
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
        stored = s.get(SessionRow, row.id)
        assert stored is not None
        stored.agent_id, stored.created_at = agent_id, start
        stored.completed_at = start + dt.timedelta(minutes=minutes)
        s.add(stored)
        s.commit()


def _interviews_completed(text: str) -> int:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["kind", "measure", "value"]
    return int(next(r[2] for r in rows if r[:2] == ["interview", "completed"]))


def test_reports_page_charts_csv_and_scoping(db: Engine) -> None:
    owner, owner_secret = staff(db, "demo", "owner@a.test", "owner")
    agent, agent_secret = staff(db, "demo", "agent@a.test", "agent")
    _completed(db, agent, 30)
    _completed(db, owner, 90)
    assert owner_secret and agent_secret
    with TestClient(create_app(db, SECRET)) as client:
        login(client, "owner@a.test", owner_secret)
        page = client.get("/console/reports")
        assert page.status_code == 200 and page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 5
        assert _interviews_completed(client.get("/console/reports?format=csv&report=turnaround").text) == 2
        assert _interviews_completed(
            client.get(f"/console/reports?format=csv&report=turnaround&agent={agent}").text) == 1
        for report, header in (("completions", "day,interviews_completed"), ("funnel", "block,reached")):
            r = client.get(f"/console/reports?format=csv&report={report}")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            assert r.text.startswith(header) and "attachment" in r.headers["content-disposition"]
        bad = client.get("/console/reports?start=27/11/2026&lang=vi")
        assert bad.status_code == 422 and 'id="start-error"' in bad.text and "Nhập ngày" in bad.text
    with TestClient(create_app(db, SECRET)) as client:
        login(client, "agent@a.test", agent_secret)
        # The limited agent's own numbers, even when asking for the whole firm or for the owner's.
        assert _interviews_completed(client.get("/console/reports?format=csv&report=turnaround").text) == 1
        assert _interviews_completed(
            client.get(f"/console/reports?format=csv&report=turnaround&agent={owner}").text) == 1
