"""`manage.reports` on hand-built data whose answers are worked out by hand in the comments:
turnaround (with the firm's time zone deciding "the same day"), completions per day, the
interview funnel, every filter (interview, region, agent, dates), firm isolation, and the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlmodel import Session as DB

from manage.reports import (
    ReportFilter,
    completions_csv,
    completions_per_day,
    funnel_csv,
    funnel_report,
    turnaround_csv,
    turnaround_report,
)
from signing import envelopes
from tests.manage import console_data as data

TZ = "Asia/Ho_Chi_Minh"  # UTC+7, no daylight saving


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def firms(db: DB) -> dict[str, object]:
    a, b = data.firm(db, "alpha"), data.firm(db, "beta")
    assert a.id is not None and b.id is not None
    ann, bob = data.staff(db, a.id, "Ann"), data.staff(db, a.id, "Bob")
    loan, lease = data.interview(db, a.id, "loan"), data.interview(db, a.id, "lease")
    s = {
        # 16:00 → 16:30 local on 2 March: 30 min, same day, within the hour.
        1: data.session(db, loan, agent=ann, created=utc(2, 9), completed=utc(2, 9, 30)),
        # 23:30 on 2 March → 00:10 on 3 March local: 40 min, within the hour, NOT the same day
        # (it is the same day in UTC: only the time zone tells).
        2: data.session(db, loan, agent=ann, created=utc(2, 16, 30), completed=utc(2, 17, 10)),
        # 08:00 → 12:00 local on 3 March: exactly 4 h (bucket 4h_1d), same day.
        3: data.session(db, loan, agent=ann, created=utc(3, 1), completed=utc(3, 5)),
        # 1 March → 4 March 17:00 local: 3 days (bucket 3d_7d).
        4: data.session(db, loan, agent=ann, created=utc(1, 10), completed=utc(4, 10)),
        # Bob's lease: 09:00 → 09:04 local on 4 March: 4 min (bucket lt_5m), same day, within the hour.
        6: data.session(db, lease, agent=bob, created=utc(4, 2), completed=utc(4, 2, 4)),
        # Not completed: in no turnaround.
        5: data.session(db, loan, agent=ann, created=utc(2, 3)),
    }
    # Envelopes: s1 sent 10:00, signed 10:20 UTC (VN); s3 sent 3 March 06:00, signed 5 March 06:00
    # (US); s6 sent and declined (never completed: in no envelope turnaround).
    e1 = data.envelope(db, s[1], created=utc(2, 10), sent=utc(2, 10), region="VN")
    data.sign_all(db, e1, utc(2, 10, 20))
    e3 = data.envelope(db, s[3], created=utc(3, 6), sent=utc(3, 6), region="US")
    data.sign_all(db, e3, utc(5, 6))
    e6 = data.envelope(db, s[6], created=utc(4, 3), sent=utc(4, 3), region="VN")
    first = data.participants(db, e6)[0]
    assert first.id is not None
    envelopes.decline(db, first.id, "changed my mind", now=utc(4, 4))
    # Firm B: completions on the same days, an envelope too; must never be counted for firm A.
    b_loan = data.interview(db, b.id, "loan")
    b1 = data.session(db, b_loan, created=utc(2, 9), completed=utc(2, 9, 1))
    data.sign_all(db, data.envelope(db, b1, created=utc(2, 9), sent=utc(2, 9), region="VN"), utc(2, 9, 2))
    return {"a": a.id, "b": b.id, "ann": ann.id, "bob": bob.id, "s": s}


def test_interview_turnaround_by_hand(db: DB, firms: dict) -> None:
    f = ReportFilter(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 4), tz=TZ)
    t = turnaround_report(db, firms["a"], f).interviews
    # durations: 240, 1800, 2400, 14400, 259200 s
    assert t.count == 5
    assert t.median_seconds == 2400
    assert t.p90_seconds == pytest.approx(14400 + (259200 - 14400) * 0.6)
    assert (t.same_day, t.within_hour) == (3, 3)
    assert t.same_day_share == pytest.approx(0.6) and t.within_hour_share == pytest.approx(0.6)
    assert {b.key: b.count for b in t.buckets} == {
        "lt_5m": 1, "5m_15m": 0, "15m_1h": 2, "1h_4h": 0, "4h_1d": 1, "1d_3d": 0, "3d_7d": 1, "gt_7d": 0}


def test_same_day_depends_on_the_firms_time_zone(db: DB, firms: dict) -> None:
    in_utc = turnaround_report(db, firms["a"], ReportFilter(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 4)))
    # In UTC, session 2 (16:30 → 17:10) is the same day; session 4 still is not.
    assert in_utc.interviews.count == 5 and in_utc.interviews.same_day == 4


def test_envelope_turnaround_by_hand(db: DB, firms: dict) -> None:
    f = ReportFilter(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 6), tz=TZ)
    t = turnaround_report(db, firms["a"], f).envelopes
    # e1: 20 min; e3: 48 h; the declined e6 and firm B's envelope do not count.
    assert t.count == 2
    assert t.median_seconds == (1200 + 172800) / 2
    assert (t.same_day, t.within_hour) == (1, 1)
    assert {b.key: b.count for b in t.buckets if b.count} == {"15m_1h": 1, "1d_3d": 1}


def test_filters(db: DB, firms: dict) -> None:
    a = firms["a"]
    days = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 6), "tz": TZ}
    by_agent = turnaround_report(db, a, ReportFilter(agent_id=firms["bob"], **days))
    assert (by_agent.interviews.count, by_agent.envelopes.count) == (1, 0)
    by_interview = turnaround_report(db, a, ReportFilter(interview="loan", **days))
    assert (by_interview.interviews.count, by_interview.envelopes.count) == (4, 2)
    # Region: the agreement's. Interviews whose session has a VN agreement: s1 and s6.
    vn = turnaround_report(db, a, ReportFilter(region="VN", **days))
    assert (vn.interviews.count, vn.envelopes.count) == (2, 1)
    assert vn.envelopes.median_seconds == 1200
    us = turnaround_report(db, a, ReportFilter(region="US", **days))
    assert (us.interviews.count, us.envelopes.count) == (1, 1)
    # Dates: from 3 March local, session 1 (completed 2 March 16:30 local) is out.
    later = turnaround_report(db, a, ReportFilter(start=dt.date(2026, 3, 3), end=dt.date(2026, 3, 4), tz=TZ))
    assert later.interviews.count == 4 and later.envelopes.count == 0
    # An agent of another firm: nothing.
    b_agent = data.staff(db, firms["b"], "Other")
    assert turnaround_report(db, a, ReportFilter(agent_id=b_agent.id)).interviews.count == 0


def test_firm_isolation(db: DB, firms: dict) -> None:
    f = ReportFilter(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 6), tz=TZ)
    b = turnaround_report(db, firms["b"], f)
    assert (b.interviews.count, b.envelopes.count) == (1, 1)
    assert b.interviews.median_seconds == 60 and b.envelopes.median_seconds == 120
    assert funnel_report(db, firms["b"], ReportFilter(interview="loan")).started == 1
    assert sum(d.interviews for d in completions_per_day(db, firms["b"], f)) == 1


def test_completions_per_day_include_empty_days(db: DB, firms: dict) -> None:
    f = ReportFilter(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 6), tz=TZ)
    days = completions_per_day(db, firms["a"], f)
    assert [(d.day.day, d.interviews, d.envelopes) for d in days] == [
        (1, 0, 0), (2, 1, 1), (3, 2, 0), (4, 2, 0), (5, 0, 1), (6, 0, 0)]
    assert turnaround_report(db, firms["a"], f).per_day == days
    rows = list(csv.reader(io.StringIO(completions_csv(days))))
    assert rows[0] == ["day", "interviews_completed", "envelopes_completed"]
    assert rows[2] == ["2026-03-02", "1", "1"] and len(rows) == 7


def test_unbounded_range_spans_the_data(db: DB, firms: dict) -> None:
    days = completions_per_day(db, firms["a"], ReportFilter(tz=TZ))
    assert days[0].day == dt.date(2026, 3, 2) and days[-1].day == dt.date(2026, 3, 5)
    assert sum(d.interviews for d in days) == 5 and sum(d.envelopes for d in days) == 2


def test_turnaround_csv(db: DB, firms: dict) -> None:
    f = ReportFilter(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 4), tz=TZ)
    rows = {(k, m): v for k, m, v in list(csv.reader(io.StringIO(turnaround_csv(turnaround_report(db, firms["a"],
                                                                                                   f)))))[1:]}
    assert rows[("interview", "completed")] == "5"
    assert rows[("interview", "median_seconds")] == "2400.0"
    assert rows[("interview", "same_day_share")] == "0.6000"
    assert rows[("interview", "bucket_15m_1h")] == "2"
    assert rows[("envelope", "completed")] == "1"


def test_empty_report(db: DB, firms: dict) -> None:
    f = ReportFilter(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 2))
    r = turnaround_report(db, firms["a"], f)
    assert r.interviews.count == 0 and r.interviews.median_seconds is None and r.interviews.same_day_share is None
    assert [d.interviews for d in r.per_day] == [0, 0]


def test_funnel_by_hand(db: DB, firms: dict) -> None:
    a = firms["a"]
    iv = data.interview(db, a, "funnel")
    t0 = utc(10, 2)

    def at(seconds: int) -> dt.datetime:
        return t0 + dt.timedelta(seconds=seconds)

    data.session(db, iv, created=t0, completed=at(160), block="final", progress=100, steps=[
        ("welcome", at(20), {}), ("name", at(60), {"name": "A"}), ("amount", at(160), {"amount": 1})])
    data.session(db, iv, created=t0, block="amount", progress=60, steps=[
        ("welcome", at(10), {}), ("name", at(70), {"name": "B"})])
    data.session(db, iv, created=t0, block="name", progress=30, steps=[("welcome", at(30), {})])
    # Firm B has a session of an interview with the same name and blocks: not counted.
    b_iv = data.interview(db, firms["b"], "funnel")
    data.session(db, b_iv, created=t0, block="name", steps=[("welcome", at(999), {})])
    funnel = funnel_report(db, a, ReportFilter(interview="funnel", start=dt.date(2026, 3, 10),
                                               end=dt.date(2026, 3, 10)))
    assert (funnel.started, funnel.completed) == (3, 1)
    got = [(s.block, s.reached, s.waiting, s.answers, s.median_seconds) for s in funnel.steps]
    assert got == [("welcome", 3, 0, 3, 20.0), ("name", 3, 1, 2, 50.0), ("amount", 2, 1, 1, 100.0)]
    assert funnel.steps[1].drop_off == pytest.approx(1 / 3)
    rows = list(csv.reader(io.StringIO(funnel_csv(funnel))))
    assert rows[0][:4] == ["block", "reached", "waiting", "drop_off"]
    assert rows[2] == ["name", "3", "1", "0.3333", "2", "50.0", "58.0"]
    # Outside the date range, nothing started.
    assert funnel_report(db, a, ReportFilter(interview="funnel", start=dt.date(2026, 3, 11))).started == 0


def test_same_day_across_a_daylight_saving_change(db: DB) -> None:
    """New York moves its clocks on 8 March 2026 at 2:00 (07:00 UTC): local days still decide."""
    firm = data.firm(db, "gamma")
    assert firm.id is not None
    iv = data.interview(db, firm.id, "loan")
    # 01:30 EST → 04:30 EDT on 8 March: the same day (2 h).
    data.session(db, iv, created=utc(8, 6, 30), completed=utc(8, 8, 30))
    # 23:30 EDT on 8 March (03:30 UTC on the 9th) → 00:30 EDT on 9 March: not the same day (1 h).
    data.session(db, iv, created=utc(9, 3, 30), completed=utc(9, 4, 30))
    # 20:00 EST on 7 March (01:00 UTC on the 8th) → 22:00 EDT on 8 March: not the same day.
    data.session(db, iv, created=utc(8, 1), completed=utc(9, 2))
    f = ReportFilter(start=dt.date(2026, 3, 7), end=dt.date(2026, 3, 9), tz="America/New_York")
    r = turnaround_report(db, firm.id, f)
    assert (r.interviews.count, r.interviews.same_day, r.interviews.within_hour) == (3, 1, 1)
    assert [(d.day.day, d.interviews) for d in r.per_day] == [(7, 0), (8, 2), (9, 1)]
    # Without the change in range (two days later), the fast path gives the same kind of answer.
    data.session(db, iv, created=utc(11, 3, 30), completed=utc(11, 4, 30))  # 23:30 → 00:30 EDT
    later = turnaround_report(db, firm.id, ReportFilter(start=dt.date(2026, 3, 10), end=dt.date(2026, 3, 11),
                                                        tz="America/New_York"))
    assert (later.interviews.count, later.interviews.same_day) == (1, 0)
    assert [(d.day.day, d.interviews) for d in later.per_day] == [(10, 0), (11, 1)]  # completed on the 11th
