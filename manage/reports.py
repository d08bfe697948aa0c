"""The firm's reports: completions per day, turnaround (interview start → completed; envelope
sent → completed) with the share completed the same day and within an hour, and the interview
funnel (drop-off and time per question). What each number means is in docs/reports.md.

Why it is built this way:
- Pure functions over a database session and a firm id; every statement has `firm_id` in its
  WHERE clause (and joined rows are checked against the firm too). No HTTP: `web/` renders them.
- Fast at 100,000 sessions (`bench/console.py`): the rows are found through the
  `(firm_id, completed_at)` indexes (migration 0008); the database hands back whole seconds
  since the epoch (`epoch()`), never datetimes to parse, never JSON; Python then buckets them.
  Days are the firm's calendar days in its time zone (`ReportFilter.tz`, daylight saving
  included), which SQLite cannot compute, so the timestamps come back and Python converts them:
  a pair of integers per completion.
- Medians and the 90th percentile are exact (`statistics`), not read off a histogram.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, and_, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session as DB

from store.models import AgreementVersion, AnswerEvent, Envelope, InterviewVersion, Session

S = Session.__table__  # type: ignore[attr-defined]
E = Envelope.__table__  # type: ignore[attr-defined]
AE = AnswerEvent.__table__  # type: ignore[attr-defined]
AV = AgreementVersion.__table__  # type: ignore[attr-defined]
IV = InterviewVersion.__table__  # type: ignore[attr-defined]

HOUR = 3600
# Turnaround buckets: (key, upper bound in seconds, exclusive; None = no bound). The keys are
# what `manage.labels` names in each language and what the CSV prints.
BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("lt_5m", 5 * 60), ("5m_15m", 15 * 60), ("15m_1h", HOUR), ("1h_4h", 4 * HOUR), ("4h_1d", 24 * HOUR),
    ("1d_3d", 3 * 24 * HOUR), ("3d_7d", 7 * 24 * HOUR), ("gt_7d", None),
)


class epoch(FunctionElement[int]):  # noqa: N801 - reads as the SQL function it stands for
    """Whole seconds since 1970-01-01 UTC of a timestamp column, in the database."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored by SQLAlchemy as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (the models' times are UTC).
    # unixepoch() (SQLite 3.38+) is three times faster than strftime('%s') here.
    return f"unixepoch({compiler.process(element.clauses, **kw)})"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


@dataclass(frozen=True)
class ReportFilter:
    """Which completions a report counts: completed on a day from `start` to `end` (both
    included, in the firm's time zone `tz`; None = unbounded), of interviews named `interview`,
    agreements of `region` (the agreement's region, e.g. VN, US), applicants of agent `agent_id`."""

    start: dt.date | None = None
    end: dt.date | None = None
    interview: str | None = None
    region: str | None = None
    agent_id: int | None = None
    tz: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """[from, to) in UTC: local midnight of `start`, local midnight after `end`."""
        zone = self.zone
        lo = dt.datetime.combine(self.start, dt.time(), zone).astimezone(dt.UTC) if self.start else None
        hi = (dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
              if self.end else None)
        return lo, hi


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    interviews: int  # interviews completed that day
    envelopes: int  # envelopes completed (every participant acted) that day


@dataclass(frozen=True)
class Bucket:
    key: str  # one of BUCKETS' keys
    upper_seconds: float | None
    count: int


@dataclass(frozen=True)
class Turnaround:
    """How long from start to completion, over `count` completions."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None
    same_day: int  # completed on the calendar day (firm's time zone) it started
    within_hour: int  # completed at most an hour after it started
    buckets: tuple[Bucket, ...]

    @property
    def same_day_share(self) -> float | None:
        return self.same_day / self.count if self.count else None

    @property
    def within_hour_share(self) -> float | None:
        return self.within_hour / self.count if self.count else None


@dataclass(frozen=True)
class TurnaroundReport:
    filters: ReportFilter
    interviews: Turnaround  # interview started → interview completed
    envelopes: Turnaround  # envelope sent → envelope completed
    per_day: tuple[DayCount, ...]  # every day of the range (zero days included), oldest first


@dataclass(frozen=True)
class FunnelStep:
    """One question (block) of the funnel. `reached`: sessions that answered it or are on it
    now; `waiting`: sessions not completed that are on it now (where they dropped off, so far);
    `answers`: times it was answered (Back and Edit answer again); time is per answer, from the
    previous step (or the session's start) to this one."""

    block: str
    position: float  # the block's average place in the sessions' answer order (sorts the funnel)
    reached: int
    waiting: int
    answers: int
    median_seconds: float | None
    p90_seconds: float | None

    @property
    def drop_off(self) -> float | None:
        return self.waiting / self.reached if self.reached else None


@dataclass(frozen=True)
class Funnel:
    filters: ReportFilter
    started: int  # sessions started in the range
    completed: int  # of those, completed (by now)
    steps: tuple[FunnelStep, ...] = field(default_factory=tuple)


# --- filters as SQL ------------------------------------------------------------------------------


def _session_filters(firm_id: int, f: ReportFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [S.c.firm_id == firm_id]
    if f.agent_id is not None:
        where.append(S.c.agent_id == f.agent_id)
    if f.interview is not None:
        where.append(S.c.interview_version_id.in_(
            select(IV.c.id).where(IV.c.firm_id == firm_id, IV.c.name == f.interview)))
    if f.region is not None:
        where.append(exists().where(AV.c.session_id == S.c.id, AV.c.region == f.region))
    return where


def _in_range(column: Any, f: ReportFilter) -> list[ColumnElement[bool]]:
    lo, hi = f.bounds()
    out: list[ColumnElement[bool]] = [column.is_not(None)]
    if lo is not None:
        out.append(column >= lo)
    if hi is not None:
        out.append(column < hi)
    return out


# --- completions and turnaround ------------------------------------------------------------------


def _interview_pairs(db: DB, firm_id: int, f: ReportFilter) -> list[tuple[int, int]]:
    """(started, completed) epoch seconds of the sessions completed in the range."""
    stmt = (select(epoch(S.c.created_at), epoch(S.c.completed_at))
            .where(*_session_filters(firm_id, f), *_in_range(S.c.completed_at, f)))
    return _pairs(db, stmt)


def _pairs(db: DB, stmt: Any) -> list[tuple[int, int]]:
    """The rows of two integer columns as plain tuples, straight from the DBAPI cursor (no
    result processing is needed for integers, and a Row object per completion is costly)."""
    result = db.connection().execute(stmt)
    return list(result.cursor.fetchall()) if result.cursor is not None else []  # epoch() is an integer


def _envelope_pairs(db: DB, firm_id: int, f: ReportFilter) -> list[tuple[int, int]]:
    """(sent, completed) epoch seconds of the envelopes completed in the range."""
    # `completed_at` is set only when an envelope completes (signing.envelopes), so it alone says
    # "completed", and the (firm_id, completed_at, sent_at) index answers without the table.
    where: list[ColumnElement[bool]] = [E.c.firm_id == firm_id, E.c.sent_at.is_not(None),
                                        *_in_range(E.c.completed_at, f)]
    stmt = select(epoch(E.c.sent_at), epoch(E.c.completed_at)).select_from(E)
    if f.agent_id is not None or f.interview is not None:
        stmt = stmt.join(S, and_(S.c.id == E.c.session_id, S.c.firm_id == firm_id))
        where += _session_filters(firm_id, ReportFilter(interview=f.interview, agent_id=f.agent_id))
    if f.region is not None:
        stmt = stmt.join(AV, AV.c.id == E.c.agreement_version_id)
        where.append(AV.c.region == f.region)
    return _pairs(db, stmt.where(*where))


def _turnaround(pairs: Sequence[tuple[int, int]], day: _Days) -> Turnaround:
    durations = sorted(done - began if done > began else 0 for began, done in pairs)
    # Sorted: each bucket's count is the distance between two bisections.
    edges = [0] + [bisect_left(durations, upper) if upper is not None else len(durations) for _, upper in BUCKETS]
    offset = day.constant_offset(pairs)
    if offset is not None:  # one UTC offset over the whole range (no daylight-saving change in it)
        same_day = sum(1 for began, done in pairs if (began + offset) // 86400 == (done + offset) // 86400)
    else:
        same_day = sum(1 for began, done in pairs if day(began) == day(done))
    return Turnaround(
        count=len(durations),
        median_seconds=float(statistics.median(durations)) if durations else None,
        p90_seconds=_percentile(durations, 0.9),
        same_day=same_day,
        within_hour=bisect_right(durations, HOUR),
        buckets=tuple(Bucket(key, upper, edges[i + 1] - edges[i]) for i, (key, upper) in enumerate(BUCKETS)),
    )


def _percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile of sorted values, interpolated between the two nearest ranks (as
    `statistics.quantiles(..., method="inclusive")`; the median is the 0.5 case)."""
    if not ordered:
        return None
    if len(ordered) == 1:
        return float(ordered[0])
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))


EPOCH_DAY = dt.date(1970, 1, 1)


class _Days:
    """Local calendar day numbers (days since 1970-01-01 in the zone) of epoch seconds, fast:
    the zone's UTC offset is looked up once per quarter hour (every zone changes its offset on
    a quarter hour), not once per timestamp."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.offsets: dict[int, int] = {}

    def __call__(self, seconds: int) -> int:
        quarter = seconds // 900
        offset = self.offsets.get(quarter)
        if offset is None:
            delta = dt.datetime.fromtimestamp(quarter * 900, self.zone).utcoffset()
            offset = self.offsets[quarter] = int(delta.total_seconds()) if delta is not None else 0
        return (seconds + offset) // 86400

    def offset(self, seconds: int) -> int:
        delta = dt.datetime.fromtimestamp(seconds, self.zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    def constant_offset(self, pairs: Sequence[tuple[int, int]]) -> int | None:
        """The zone's UTC offset if it is the same all over the times in `pairs` (checked every
        6 hours from the first to the last: no zone changes its offset twice within 6 hours),
        else None. Lets the common case (no daylight-saving change in the range) skip the
        per-timestamp lookup."""
        if not pairs:
            return None
        first = min(began for began, _ in pairs)
        last = max(done for _, done in pairs)
        offset = self.offset(first)
        for moment in range(first, last + 6 * HOUR, 6 * HOUR):
            if self.offset(min(moment, last)) != offset:
                return None
        return offset

    def numbers(self, moments: Iterable[int], pairs: Sequence[tuple[int, int]]) -> list[int]:
        offset = self.constant_offset(pairs)
        if offset is not None:
            return [(m + offset) // 86400 for m in moments]
        return [self(m) for m in moments]

    @staticmethod
    def date(number: int) -> dt.date:
        return EPOCH_DAY + dt.timedelta(days=number)


def _per_day(interviews: Sequence[tuple[int, int]], envelopes: Sequence[tuple[int, int]],
             f: ReportFilter, day: _Days) -> tuple[DayCount, ...]:
    a = Counter({_Days.date(n): c for n, c in Counter(day.numbers((d for _, d in interviews), interviews)).items()})
    b = Counter({_Days.date(n): c for n, c in Counter(day.numbers((d for _, d in envelopes), envelopes)).items()})
    days = set(a) | set(b)
    if not days and (f.start is None or f.end is None):
        return ()
    first = f.start or min(days)
    last = f.end or max(days)
    out = []
    current = first
    while current <= last:
        out.append(DayCount(current, a.get(current, 0), b.get(current, 0)))
        current += dt.timedelta(days=1)
    return tuple(out)


def turnaround_report(db: DB, firm_id: int, f: ReportFilter | None = None) -> TurnaroundReport:
    """Completions per day and the turnaround of interviews (started → completed) and of
    envelopes (sent → completed) completed in the range, with the shares completed the same day
    and within an hour. Two queries (one per kind of completion)."""
    f = f or ReportFilter()
    interviews = _interview_pairs(db, firm_id, f)
    envelopes = _envelope_pairs(db, firm_id, f)
    day = _Days(f.zone)
    return TurnaroundReport(filters=f, interviews=_turnaround(interviews, day),
                            envelopes=_turnaround(envelopes, day), per_day=_per_day(interviews, envelopes, f, day))


def completions_per_day(db: DB, firm_id: int, f: ReportFilter | None = None) -> tuple[DayCount, ...]:
    """Interviews and envelopes completed on each day of the range (zero days included)."""
    f = f or ReportFilter()
    return _per_day(_interview_pairs(db, firm_id, f), _envelope_pairs(db, firm_id, f), f, _Days(f.zone))


# --- the funnel ----------------------------------------------------------------------------------


def funnel_report(db: DB, firm_id: int, f: ReportFilter | None = None) -> Funnel:
    """Per question of the sessions started in the range: how many reached it, how many are
    still on it without having completed (drop-off), and the median time spent answering it.
    Best read for one interview (`f.interview`): blocks of different interviews are counted by
    their id. Three queries; the answer log is read as (session, block, seconds) rows."""
    f = f or ReportFilter()
    where = [*_session_filters(firm_id, f), *_in_range(S.c.created_at, f)]
    conn = db.connection()
    started, completed = conn.execute(
        select(func.count(), func.count(S.c.completed_at)).where(*where)).one()
    # The time of each answer is the gap to the session's previous answer (or its start): the
    # rows come from two covering indexes and the gaps are taken here, per session in seq order
    # (a window function would make SQLite sort every row of the range first).
    steps = (
        select(AE.c.session_id, AE.c.seq, epoch(AE.c.at), AE.c.block, epoch(S.c.created_at))
        .select_from(S.join(AE, AE.c.session_id == S.c.id))
        .where(*where)
    )
    result = conn.execute(steps)
    rows = sorted(result.cursor.fetchall() if result.cursor is not None else [])
    times: dict[str, list[int]] = defaultdict(list)
    sessions: dict[str, set[str]] = defaultdict(set)
    positions: dict[str, list[int]] = defaultdict(list)
    last_session, previous = None, 0
    for session_id, seq, at, block, began in rows:
        if session_id != last_session:
            last_session, previous = session_id, began
        times[block].append(at - previous if at > previous else 0)
        previous = at
        sessions[block].add(session_id)
        positions[block].append(seq)
    waiting: Counter[str] = Counter()
    for session_id, block in conn.execute(
        select(S.c.id, S.c.current_block)
        .where(*where, S.c.completed_at.is_(None), S.c.current_block.is_not(None))
    ):
        sessions[block].add(session_id)
        waiting[block] += 1
    blocks = set(times) | set(waiting)
    out = []
    for block in blocks:
        ordered = sorted(times.get(block, []))
        place = statistics.fmean(positions[block]) if positions.get(block) else float(len(blocks) + 1)
        out.append(FunnelStep(
            block=block, position=place, reached=len(sessions[block]), waiting=waiting[block],
            answers=len(ordered), median_seconds=float(statistics.median(ordered)) if ordered else None,
            p90_seconds=_percentile(ordered, 0.9)))
    out.sort(key=lambda s: (s.position, s.block))
    return Funnel(filters=f, started=int(started), completed=int(completed), steps=tuple(out))


# --- CSV -----------------------------------------------------------------------------------------


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def completions_csv(days: Sequence[DayCount]) -> str:
    """day (ISO), interviews_completed, envelopes_completed."""
    return _csv(["day", "interviews_completed", "envelopes_completed"],
                ([d.day.isoformat(), d.interviews, d.envelopes] for d in days))


def turnaround_csv(report: TurnaroundReport) -> str:
    """One row per kind (interview, envelope) and measure: counts, shares (0–1), seconds, and
    one row per bucket."""
    rows: list[list[Any]] = []
    for kind, t in (("interview", report.interviews), ("envelope", report.envelopes)):
        rows += [[kind, "completed", t.count], [kind, "median_seconds", _num(t.median_seconds)],
                 [kind, "p90_seconds", _num(t.p90_seconds)], [kind, "same_day", t.same_day],
                 [kind, "same_day_share", _num(t.same_day_share, 4)], [kind, "within_hour", t.within_hour],
                 [kind, "within_hour_share", _num(t.within_hour_share, 4)]]
        rows += [[kind, f"bucket_{b.key}", b.count] for b in t.buckets]
    return _csv(["kind", "measure", "value"], rows)


def funnel_csv(funnel: Funnel) -> str:
    """One row per question, in funnel order."""
    return _csv(["block", "reached", "waiting", "drop_off", "answers", "median_seconds", "p90_seconds"],
                ([s.block, s.reached, s.waiting, _num(s.drop_off, 4), s.answers, _num(s.median_seconds),
                  _num(s.p90_seconds)] for s in funnel.steps))
