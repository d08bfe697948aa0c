"""Where each applicant of a firm stands: the console's list (`list_applicants`) and one
applicant's whole story (`applicant_detail`).

Why it is built this way:
- Firm isolation lives here, in the data layer: every statement carries `firm_id` in its WHERE
  clause (and joins check the firm of the joined row too), so a route that forgets a check still
  cannot show another firm's applicant.
- It must stay fast at 100,000 sessions (`bench/console.py`): the list reads only the session
  columns that `store` keeps denormalised at every step (block, section, progress, name, e-mail,
  completion), walks the `(firm_id, updated_at)` / `(agent_id, updated_at)` indexes in order, never
  opens a session's JSON, and fetches a page's envelopes, participants, code attempts and last
  signing activity in one query each (no query per row). Pages are keyset (`after`) or a bounded
  offset (`page` ≤ `MAX_PAGE`); the total is counted only up to `COUNT_LIMIT`.
- "Stuck" has one definition, used both to flag a row and to filter on it (`stuck_only`,
  `status="stuck"`): see `StuckFlags`.

A session's envelope is its most recent one (an agreement re-sent after a change gets a new one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session as DB

from store.models import (
    AnswerEvent,
    AuditEvent,
    Envelope,
    IdentityChallenge,
    InterviewVersion,
    Participant,
    Session,
    Staff,
)
from store.stage import STAGES

# The tables as Core objects: these queries select columns, never ORM objects (cheaper, and no
# session JSON is ever loaded by accident).
S = Session.__table__  # type: ignore[attr-defined]
E = Envelope.__table__  # type: ignore[attr-defined]
P = Participant.__table__  # type: ignore[attr-defined]
IC = IdentityChallenge.__table__  # type: ignore[attr-defined]
A = AuditEvent.__table__  # type: ignore[attr-defined]
AE = AnswerEvent.__table__  # type: ignore[attr-defined]
IV = InterviewVersion.__table__  # type: ignore[attr-defined]
ST = Staff.__table__  # type: ignore[attr-defined]

STATUSES = (*STAGES, "stuck")
MAX_PER_PAGE = 200
MAX_PAGE = 100  # offset pages stop here (100 × 50 rows); further on, use the keyset cursor
COUNT_LIMIT = 1_000  # `total` counts up to this many, then says "more than" (counting is the costly part)
DEFAULT_STUCK_AFTER = dt.timedelta(hours=48)
DEFAULT_FAILED_CODES = 3  # wrong codes typed by one participant before the row is flagged
# A participant still has to prove who they are in these states (later ones are past the codes).
AWAITING_IDENTITY = ("notified", "opened")


# --- the hook for payments -----------------------------------------------------------------------
# Payments (another room, built separately) registers a function that returns, for a firm, a
# SELECT of the session ids whose card payment was declined and not since paid. It is used both
# to flag rows and, inside the list's own WHERE clause, to filter on "stuck"; so it must be a
# SELECT of one column (session ids), scoped to the firm it is given.
DeclinedCards = Callable[[int], Select[Any]]
_declined_cards: DeclinedCards | None = None


def register_declined_cards(source: DeclinedCards | None) -> None:
    """Tell the console how to find sessions with a declined card (None: no payments yet)."""
    global _declined_cards
    _declined_cards = source


# --- what the functions return ---------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantView:
    id: str
    role: str
    name: str
    email: str
    action: str
    status: str  # signing.states.ParticipantStatus value
    routing_order: int | None
    failed_codes: int  # wrong one-time codes typed so far


@dataclass(frozen=True)
class StuckFlags:
    """Why a row needs a human. `idle`: no activity for the firm's threshold, either in the
    interview (not completed, no envelope, not touched since) or in signing (newest envelope out
    for signing, no signing event since); `failed_codes`: on the newest envelope, out for
    signing, a participant still to be identified typed `DEFAULT_FAILED_CODES` or more wrong
    codes; `declined_card`: payments says the card was declined."""

    idle: bool = False
    failed_codes: bool = False
    declined_card: bool = False

    @property
    def any(self) -> bool:
        return self.idle or self.failed_codes or self.declined_card


@dataclass(frozen=True)
class ApplicantRow:
    session_id: str
    interview: str
    display_name: str | None
    contact_email: str | None
    agent_id: int | None
    agent_name: str | None
    current_block: str | None
    current_section: str | None
    progress: int
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None
    envelope_id: str | None
    envelope_status: str | None  # the envelope's own status (draft, sent, completed, ...)
    last_activity: dt.datetime  # the later of the interview's last step and the envelope's last event
    participants: tuple[ParticipantView, ...]
    stuck: StuckFlags
    status: str  # the session's stage (`store.stage`): in_progress, completed, signing, signed, ...


@dataclass(frozen=True)
class Cursor:
    """Where the next keyset page starts: after this (updated_at, session id)."""

    updated_at: dt.datetime
    session_id: str


@dataclass(frozen=True)
class ApplicantPage:
    rows: tuple[ApplicantRow, ...]
    page: int
    per_page: int
    has_next: bool
    total: int  # matching rows, counted up to COUNT_LIMIT
    total_is_exact: bool  # False when there are more than COUNT_LIMIT
    next_cursor: Cursor | None


@dataclass(frozen=True)
class TimelineEntry:
    """One acknowledged screen: which block, what changed (variable → new value), when, and how
    long the applicant spent on it (since the previous step, or since the session started)."""

    seq: int
    block: str
    changes: dict[str, Any]
    at: dt.datetime
    seconds: float


@dataclass(frozen=True)
class AuditView:
    seq: int
    at: dt.datetime
    actor: str  # "sender", "system" or the participant's role
    actor_name: str | None
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class EnvelopeView:
    id: str
    title: str
    status: str
    seal_status: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    completed_at: dt.datetime | None
    expires_at: dt.datetime | None
    reason: str | None
    participants: tuple[ParticipantView, ...]
    audit: tuple[AuditView, ...]


@dataclass(frozen=True)
class ApplicantDetail:
    row: ApplicantRow
    lang: str
    timeline: tuple[TimelineEntry, ...]
    envelopes: tuple[EnvelopeView, ...]  # newest first


# --- the list ------------------------------------------------------------------------------------


def list_applicants(
    db: DB,
    firm_id: int,
    *,
    agent_id: int | None = None,
    query: str | None = None,
    status: str | None = None,
    stuck_only: bool = False,
    page: int = 1,
    per_page: int = 50,
    now: dt.datetime | None = None,
    after: Cursor | None = None,
    interview: str | None = None,
    stuck_after: dt.timedelta = DEFAULT_STUCK_AFTER,
) -> ApplicantPage:
    """One page of the firm's applicants, most recently active first.

    `agent_id`: only that agent's applicants (the console passes it for an agent who does not see
    the whole firm: `visible_agent`). `query`: part of the name or e-mail (case-insensitive), or
    a whole session id. `status`: one of `STATUSES` (unknown values raise ValueError).
    `stuck_only` (or status "stuck"): only rows with a stuck flag. `after`: keyset cursor from the
    previous page's `next_cursor` (then `page` only numbers the page). `interview`: only sessions
    of interviews with that name."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)  # stored times are UTC
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = min(max(page, 1), MAX_PAGE)
    cutoff = now - stuck_after

    where: list[ColumnElement[bool]] = [S.c.firm_id == firm_id]
    if agent_id is not None:
        where.append(S.c.agent_id == agent_id)
    if interview is not None:
        where.append(S.c.interview_version_id.in_(
            select(IV.c.id).where(IV.c.firm_id == firm_id, IV.c.name == interview)))
    if query is not None and query.strip():
        where.append(_search(query.strip()))
    if status is not None and status != "stuck":
        where.append(S.c.stage == status)
    if stuck_only or status == "stuck":
        where.append(_stuck_filter(db, firm_id, cutoff))

    base = (
        select(
            S.c.id, S.c.display_name, S.c.contact_email, S.c.agent_id, ST.c.name.label("agent_name"),
            IV.c.name.label("interview"), S.c.current_block, S.c.current_section, S.c.progress,
            S.c.created_at, S.c.updated_at, S.c.completed_at, S.c.stage,
        )
        .select_from(S)
        .join(IV, and_(IV.c.id == S.c.interview_version_id, IV.c.firm_id == firm_id))
        .outerjoin(ST, and_(ST.c.id == S.c.agent_id, ST.c.firm_id == firm_id))
        .where(*where)
    )
    stmt = base.order_by(S.c.updated_at.desc(), S.c.id.desc()).limit(per_page + 1)
    if after is not None:
        stmt = stmt.where(tuple_(S.c.updated_at, S.c.id) < tuple_(after.updated_at, after.session_id))
    else:
        stmt = stmt.offset((page - 1) * per_page)
    rows = db.connection().execute(stmt).all()
    has_next = len(rows) > per_page
    rows = rows[:per_page]

    counted = db.connection().execute(
        select(func.count()).select_from(
            # firm_id, not id: every index has it, so counting can stay in the index.
            select(S.c.firm_id).select_from(S).where(*where).limit(COUNT_LIMIT + 1).subquery())
    ).scalar_one()
    built = _build_rows(db, firm_id, rows, now, cutoff)
    last = built[-1] if built else None
    return ApplicantPage(
        rows=tuple(built), page=page, per_page=per_page, has_next=has_next,
        total=min(counted, COUNT_LIMIT), total_is_exact=counted <= COUNT_LIMIT,
        next_cursor=Cursor(last.updated_at, last.session_id) if has_next and last else None,
    )


def visible_agent(staff: Staff) -> int | None:
    """The `agent_id` filter a staff member's console must use: their own id for an agent who
    does not see the whole firm, else None (owner, admin, viewer, or an agent with `sees_all`)."""
    return staff.id if staff.role == "agent" and not staff.sees_all else None


def _search(query: str) -> ColumnElement[bool]:
    """Name or e-mail containing the text (case-insensitive), or exactly the session id."""
    pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        func.lower(S.c.display_name).like(pattern, escape="\\"),
        func.lower(S.c.contact_email).like(pattern, escape="\\"),
        S.c.id == query,
    )


def _stuck_filter(db: DB, firm_id: int, cutoff: dt.datetime) -> ColumnElement[bool]:
    """SQL for `StuckFlags.any` (the same rules `_build_rows` applies to a page). An idle
    interview is read off the session's own columns; the sessions whose signing is idle or has
    failed codes are found once, from the firm's envelopes out for signing (few, through
    `ix_envelope_firm_status`), and handed to the page and to its count as a list."""
    stage = unindexed(S.c.stage)  # walk the sessions by last activity, not every stuck one by stage
    idle_interview = and_(stage == "in_progress", S.c.updated_at < cutoff)
    last_event = select(func.max(A.c.at)).where(A.c.envelope_id == E.c.id).scalar_subquery()
    idle_signing = (
        select(E.c.session_id)
        .where(E.c.firm_id == firm_id, E.c.status == "sent", func.coalesce(last_event, E.c.sent_at) < cutoff)
    )
    wrong_codes = (
        select(P.c.id)
        .select_from(P.join(IC, IC.c.participant_id == P.c.id))
        .where(P.c.envelope_id == E.c.id, P.c.status.in_(AWAITING_IDENTITY))
        .group_by(P.c.id)
        .having(_failed_codes_sum() >= DEFAULT_FAILED_CODES)
        .correlate(E)
    )
    failing = select(E.c.session_id).where(E.c.firm_id == firm_id, E.c.status == "sent", wrong_codes.exists())
    stuck_signing = sorted(db.connection().execute(idle_signing.union(failing)).scalars())
    signing = and_(stage == "signing", S.c.id.in_(stuck_signing))
    flags: list[ColumnElement[bool]] = [idle_interview, signing]
    if _declined_cards is not None:
        flags.append(S.c.id.in_(_declined_cards(firm_id)))
    return or_(*flags)


class unindexed(FunctionElement[Any]):  # noqa: N801 - reads as the SQL it stands for
    """A column the SQLite planner must not look up through an index (SQLite's `+column`):
    for "stuck", walking the firm's sessions by last activity and stopping after a page beats
    collecting every stuck session through the stage index and sorting them."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


def _failed_codes_sum() -> ColumnElement[Any]:
    """Wrong codes over a participant's challenges: every attempt but the one that verified."""
    return func.sum(IC.c.attempts - case((IC.c.verified_at.is_(None), 0), else_=1))


def _build_rows(db: DB, firm_id: int, rows: Sequence[Any], now: dt.datetime, cutoff: dt.datetime) -> list[ApplicantRow]:
    """Rows of the page with their envelope, participants, code failures, last signing activity
    and the declined-card flag: one query each for the whole page."""
    conn = db.connection()
    ids = [r.id for r in rows]
    envelopes: dict[str, Any] = {}
    if ids:
        for e in conn.execute(
            select(E.c.id, E.c.session_id, E.c.status, E.c.sent_at, E.c.created_at)
            .where(E.c.firm_id == firm_id, E.c.session_id.in_(ids))
            .order_by(E.c.session_id, E.c.created_at, E.c.id)
        ):
            envelopes[e.session_id] = e  # ordered: the newest one stays
    participants = _participants(db, firm_id, [e.id for e in envelopes.values()])
    last_event: dict[str, dt.datetime] = {}
    if envelopes:
        for envelope_id, at in conn.execute(
            select(A.c.envelope_id, func.max(A.c.at))
            .where(A.c.envelope_id.in_([e.id for e in envelopes.values()]))
            .group_by(A.c.envelope_id)
        ):
            last_event[envelope_id] = _aware(at)
    declined: set[str] = set()
    if ids and _declined_cards is not None:
        sub = _declined_cards(firm_id).subquery()
        declined = {sid for (sid,) in conn.execute(select(sub.c[0]).where(sub.c[0].in_(ids)))}

    out = []
    for r in rows:
        env = envelopes.get(r.id)
        people = participants.get(env.id, ()) if env is not None else ()
        updated = _aware(r.updated_at)
        completed = _aware(r.completed_at) if r.completed_at is not None else None
        env_status = env.status if env is not None else None
        signing_at = last_event.get(env.id) if env is not None else None
        if signing_at is None and env is not None and env.sent_at is not None:
            signing_at = _aware(env.sent_at)
        idle = ((r.stage == "in_progress" and updated < cutoff)
                or (r.stage == "signing" and env_status == "sent" and signing_at is not None and signing_at < cutoff))
        failed = r.stage == "signing" and env_status == "sent" and any(
            p.failed_codes >= DEFAULT_FAILED_CODES and p.status in AWAITING_IDENTITY for p in people)
        out.append(ApplicantRow(
            session_id=r.id, interview=r.interview, display_name=r.display_name, contact_email=r.contact_email,
            agent_id=r.agent_id, agent_name=r.agent_name, current_block=r.current_block,
            current_section=r.current_section, progress=r.progress, created_at=_aware(r.created_at),
            updated_at=updated, completed_at=completed,
            envelope_id=env.id if env is not None else None, envelope_status=env_status,
            last_activity=max(updated, signing_at) if signing_at is not None else updated,
            participants=people,
            stuck=StuckFlags(idle=idle, failed_codes=failed, declined_card=r.id in declined),
            status=r.stage,
        ))
    return out


def _participants(db: DB, firm_id: int, envelope_ids: list[str]) -> dict[str, tuple[ParticipantView, ...]]:
    """Each envelope's participants in routing order, with their wrong-code counts (two queries)."""
    if not envelope_ids:
        return {}
    conn = db.connection()
    found = conn.execute(
        select(P.c.id, P.c.envelope_id, P.c.role, P.c.name, P.c.email, P.c.action, P.c.status, P.c.routing_order)
        .select_from(P.join(E, and_(E.c.id == P.c.envelope_id, E.c.firm_id == firm_id)))
        .where(P.c.envelope_id.in_(envelope_ids))
        .order_by(P.c.envelope_id, P.c.routing_order, P.c.role, P.c.id)
    ).all()
    failures: dict[str, int] = {}
    if found:
        for pid, failed in conn.execute(
            select(IC.c.participant_id, _failed_codes_sum())
            .where(IC.c.participant_id.in_([p.id for p in found]))
            .group_by(IC.c.participant_id)
        ):
            failures[pid] = int(failed or 0)
    out: dict[str, list[ParticipantView]] = {}
    for p in found:
        out.setdefault(p.envelope_id, []).append(ParticipantView(
            id=p.id, role=p.role, name=p.name, email=p.email, action=p.action, status=p.status,
            routing_order=p.routing_order, failed_codes=failures.get(p.id, 0)))
    return {k: tuple(v) for k, v in out.items()}


# --- one applicant -------------------------------------------------------------------------------


def applicant_detail(db: DB, firm_id: int, session_id: str, *, now: dt.datetime | None = None,
                     stuck_after: dt.timedelta = DEFAULT_STUCK_AFTER) -> ApplicantDetail | None:
    """Everything the console's detail page shows about one session of the firm: its list row,
    the answer timeline (one entry per acknowledged screen, with the time spent on it) and every
    envelope of the session, newest first, with participants and audit events. None when the
    session does not exist or belongs to another firm (the caller answers 404 either way)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    conn = db.connection()
    found = conn.execute(
        select(
            S.c.id, S.c.display_name, S.c.contact_email, S.c.agent_id, ST.c.name.label("agent_name"),
            IV.c.name.label("interview"), S.c.current_block, S.c.current_section, S.c.progress,
            S.c.created_at, S.c.updated_at, S.c.completed_at, S.c.stage, S.c.lang,
        )
        .select_from(S)
        .join(IV, and_(IV.c.id == S.c.interview_version_id, IV.c.firm_id == firm_id))
        .outerjoin(ST, and_(ST.c.id == S.c.agent_id, ST.c.firm_id == firm_id))
        .where(S.c.id == session_id, S.c.firm_id == firm_id)
    ).first()
    if found is None:
        return None
    row = _build_rows(db, firm_id, [found], now, now - stuck_after)[0]

    timeline: list[TimelineEntry] = []
    previous = row.created_at
    for seq, block, changes, at in conn.execute(
        select(AE.c.seq, AE.c.block, AE.c.changes, AE.c.at).where(AE.c.session_id == session_id).order_by(AE.c.seq)
    ):
        at = _aware(at)
        timeline.append(TimelineEntry(
            seq=seq, block=block, at=at, seconds=max((at - previous).total_seconds(), 0.0),
            changes={name: change[1] if isinstance(change, list) and len(change) == 2 else change
                     for name, change in (changes or {}).items()},
        ))
        previous = at

    envelopes = conn.execute(
        select(E.c.id, E.c.title, E.c.status, E.c.seal_status, E.c.created_at, E.c.sent_at, E.c.completed_at,
               E.c.expires_at, E.c.reason)
        .where(E.c.firm_id == firm_id, E.c.session_id == session_id)
        .order_by(E.c.created_at.desc(), E.c.id.desc())
    ).all()
    people = _participants(db, firm_id, [e.id for e in envelopes])
    audits: dict[str, list[AuditView]] = {}
    if envelopes:
        by_id = {p.id: p for ps in people.values() for p in ps}
        for a in conn.execute(
            select(A.c.envelope_id, A.c.seq, A.c.at, A.c.actor, A.c.action, A.c.detail)
            .where(A.c.envelope_id.in_([e.id for e in envelopes]))
            .order_by(A.c.envelope_id, A.c.seq)
        ):
            who = by_id.get(a.actor)
            audits.setdefault(a.envelope_id, []).append(AuditView(
                seq=a.seq, at=_aware(a.at), actor=who.role if who else a.actor, actor_name=who.name if who else None,
                action=a.action, detail=dict(a.detail or {})))
    return ApplicantDetail(
        row=row, lang=found.lang, timeline=tuple(timeline),
        envelopes=tuple(EnvelopeView(
            id=e.id, title=e.title, status=e.status, seal_status=e.seal_status, created_at=_aware(e.created_at),
            sent_at=_aware_or_none(e.sent_at), completed_at=_aware_or_none(e.completed_at),
            expires_at=_aware_or_none(e.expires_at), reason=e.reason,
            participants=people.get(e.id, ()), audit=tuple(audits.get(e.id, ())),
        ) for e in envelopes),
    )


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _aware_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _aware(value)
