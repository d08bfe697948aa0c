"""The console's reports page: completions per day, turnaround (interview start → completed,
envelope sent → completed) with the shares done the same day and within an hour, and the
interview funnel, as server-rendered SVG charts (`manage.charts`) over `manage.reports`; each
report also as CSV (`?format=csv&report=completions|turnaround|funnel`).

    GET /console/reports?start=YYYY-MM-DD&end=YYYY-MM-DD&interview=NAME&agent=ID[&format=csv&report=...]

Scoping is the console's: the firm is the staff member's, and an agent who sees only their own
applicants gets their own numbers whatever `agent` says; another firm's agent id is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from sqlmodel import Session as DB
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from manage import charts, reports
from manage.scope import Scope
from web.i18n import _, translator

if TYPE_CHECKING:
    from web.console import Console, Login

REPORTS = ("completions", "turnaround", "funnel")
MAX_DAYS = 366
BAD_DATE = _("Enter a date like 2026-11-27.")
BAD_RANGE = _("The start must be before the end, at most a year apart.")


def _date(raw: str | None) -> dt.date | None | str:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return "bad"


def _filters(request: Request, scope: Scope, db: DB) -> tuple[reports.ReportFilter, dict[str, str]] | None:
    """The report's filter from the query string and a message per bad field; None when the
    agent named is not one of this firm's staff (404)."""
    q = request.query_params
    errors: dict[str, str] = {}
    today = dt.datetime.now(dt.UTC).date()
    end = _date(q.get("end"))
    start = _date(q.get("start"))
    if end == "bad":
        errors["end"], end = BAD_DATE, None
    if start == "bad":
        errors["start"], start = BAD_DATE, None
    end_day = end if isinstance(end, dt.date) else today
    start_day = start if isinstance(start, dt.date) else end_day - dt.timedelta(days=29)
    if start_day > end_day or (end_day - start_day).days > MAX_DAYS:
        errors["start"] = BAD_RANGE
        start_day = end_day - dt.timedelta(days=29)
    agent_id: int | None = None
    if q.get("agent"):
        try:
            agent_id = int(q["agent"])
        except ValueError:
            return None
        if scope.staff_member(db, agent_id) is None:
            return None
    if scope.agent_filter is not None:
        agent_id = scope.agent_filter  # an agent limited to their own sees only their own numbers
    interview = q.get("interview") or None
    if interview is not None and interview not in scope.interviews(db):
        interview = None
    return reports.ReportFilter(start=start_day, end=end_day, interview=interview, agent_id=agent_id), errors


async def page(console: Console, request: Request, lang: str, login: Login) -> Response:
    _t = translator(lang)
    scope = Scope.of(login.staff)
    wants_csv = request.query_params.get("format") == "csv"
    which = request.query_params.get("report") or "turnaround"
    if which not in REPORTS:
        which = "turnaround"

    def work() -> dict[str, Any] | None:
        with DB(console.db) as db:
            found = _filters(request, scope, db)
            if found is None:
                return None
            f, errors = found
            if wants_csv:
                if which == "completions":
                    body = reports.completions_csv(reports.completions_per_day(db, scope.firm_id, f))
                elif which == "funnel":
                    body = reports.funnel_csv(reports.funnel_report(db, scope.firm_id, f))
                else:
                    body = reports.turnaround_csv(reports.turnaround_report(db, scope.firm_id, f))
                return {"csv": body, "filters": f}
            turnaround = reports.turnaround_report(db, scope.firm_id, f)
            funnel = reports.funnel_report(db, scope.firm_id, f)
            return {"filters": f, "errors": {k: _t(v) for k, v in errors.items()}, "turnaround": turnaround,
                    "funnel": funnel, "interviews": scope.interviews(db), "agents": scope.assignable(db),
                    "charts": {
                        "completions": Markup(charts.completions_chart(turnaround.per_day, lang)),
                        "shares": Markup(charts.shares_chart(turnaround, lang)),
                        "interviews": Markup(charts.turnaround_chart(turnaround.interviews, "interviews", lang)),
                        "envelopes": Markup(charts.turnaround_chart(turnaround.envelopes, "envelopes", lang)),
                        "funnel": Markup(charts.funnel_chart(funnel, lang)),
                    }}

    data = await run_in_threadpool(work)
    if data is None:
        return console._not_found(request, lang, login)
    if "csv" in data:
        f = data["filters"]
        name = f"accord-{which}-{f.start.isoformat()}-{f.end.isoformat()}.csv"
        return Response(data["csv"], media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
    query = request.url.query
    csv_base = "/console/reports?" + "&".join(p for p in query.split("&") if p and not p.startswith(("format=",
                                                                                                     "report=")))
    return console._page(request, "console_reports.html", lang, login,
                         status=422 if data["errors"] else 200, csv_base=csv_base, reports_list=REPORTS, **data)
