"""The agent console at scale: seed 100,000 sessions and 100,000 agreements across 50 agents of
one firm (plus a second firm with its own), then time the console's list (first page, filtered)
and the turnaround report, the way the console calls them (`manage.applicants`, `manage.reports`).

The data looks like a real firm's half year: sessions start over 180 days, mostly in office
hours; each has 3 to 24 answer events seconds to minutes apart (realistic `answer_event` rows
with their JSON changes) and a ~1 KB state (the list must not read it, but it makes the table as
large as a real one); about 70 % reach the end; each of those has an agreement version (region VN
or US) and an envelope (sent, then mostly completed, some declined/voided/expired/still out)
with one or two participants, their audit events, and one-time codes (a few typed wrong); the
other 30,000 agreements are older, voided envelopes of sessions that were re-sent. Everything is
written with bulk inserts, in chunks, in a few transactions.

Timed (each call on a fresh database session, warmed up once, median of `--repeat`):
- list: `list_applicants` first page (50 rows), rotating through the console's usual filters:
  one agent's applicants; in progress; signing; stuck; a name search; an agent + status;
- report: `turnaround_report` for the firm over the last 30 days (and, as extra lines, the
  whole half year and the interview funnel).

Prints `name: value unit` lines; the two targets are `list median: N ms` and `report median: N ms`
(≤ 50 ms each). SQLite in a temporary directory; with ACCORD_BENCH_POSTGRES_URL set, the same on
a fresh PostgreSQL database of that server too (lines prefixed `postgresql `).

    python bench/console.py [--sessions 100000] [--repeat 31]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlmodel import Session as DB

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from manage.applicants import list_applicants  # noqa: E402
from manage.reports import ReportFilter, funnel_report, turnaround_report  # noqa: E402
from store import migrate  # noqa: E402
from store.database import make_engine  # noqa: E402
from store.models import (  # noqa: E402
    AgreementVersion,
    AnswerEvent,
    AuditEvent,
    Envelope,
    Firm,
    IdentityChallenge,
    InterviewVersion,
    Participant,
    Staff,
)
from store.models import Session as SessionRow  # noqa: E402
from store.stage import ENVELOPE_STAGES  # noqa: E402
from store.testdb import fresh_postgres  # noqa: E402

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
DAYS = 180
CHUNK = 5_000
BLOCKS = {
    "loan_application": ["welcome", "applicant_name", "applicant_dob", "applicant_contact", "residence_country",
                         "residence_address", "employment_status", "employer", "income", "expenses", "loan_amount",
                         "loan_purpose", "loan_term", "has_co_applicant", "estimate", "disbursement_bank",
                         "disbursement_account", "consents", "review", "final screen"],
    "lease": ["welcome", "tenant_name", "tenant_contact", "property", "term", "rent", "deposit", "pets",
              "review", "final screen"],
    "broker_intake": ["welcome", "client_name", "client_contact", "goal", "budget", "timeline", "review",
                      "final screen"],
}
SECTIONS = ["Welcome", "About you", "Address", "Work and finances", "Your loan", "Review"]
FIRST = ["An", "Bình", "Chi", "Dũng", "Giang", "Hoa", "Khánh", "Lan", "Minh", "Ngọc", "Phúc", "Quân", "Sơn",
         "Thảo", "Trang", "Tuấn", "Vy", "Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Mia"]
LAST = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Smith", "Johnson",
        "Brown", "Garcia", "Miller"]


def _t(model: Any) -> Any:
    """The model's Core table (bulk inserts go through Core, not the ORM)."""
    return model.__table__


def _ascii(name: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", name) if c.isascii()).lower().replace(" ", ".")


class Seeder:
    """Writes one firm's data in chunks of bulk inserts (Core `insert()` with a list of rows:
    executemany on SQLite, batched multi-row VALUES on PostgreSQL)."""

    def __init__(self, engine: Engine, rng: random.Random) -> None:
        self.engine = engine
        self.rng = rng
        self.filler = "x" * 700  # the rest of a ~1 KB state

    def firm(self, slug: str, agents: int) -> tuple[int, list[int], dict[str, int]]:
        with self.engine.begin() as conn:
            firm_id = conn.execute(
                insert(_t(Firm)).values(slug=slug, name=slug.title()).returning(_t(Firm).c.id)).scalar_one()
            staff = [{"firm_id": firm_id, "email": f"agent{n}.{slug}@example.test", "name": f"Agent {n:02d}",
                      "role": "agent", "sees_all": False, "password_hash": "x", "failed_logins": 0, "active": True,
                      "created_at": NOW - dt.timedelta(days=400)} for n in range(agents)]
            conn.execute(insert(_t(Staff)), staff)
            agent_ids = [r[0] for r in conn.execute(
                text("SELECT id FROM staff WHERE firm_id = :f ORDER BY id"), {"f": firm_id})]
            versions = {}
            for name in BLOCKS:
                versions[name] = conn.execute(insert(_t(InterviewVersion)).values(
                    firm_id=firm_id, name=name, content_hash=secrets.token_hex(32), path=f"{name}.yml", source="",
                    created_at=NOW - dt.timedelta(days=400)).returning(_t(InterviewVersion).c.id)).scalar_one()
        return firm_id, agent_ids, versions

    def sessions(self, firm_id: int, agents: list[int], versions: dict[str, int], count: int,
                 resent: int) -> None:
        """`count` sessions; `resent` of the completed ones also get an older, voided envelope."""
        done = 0
        while done < count:
            n = min(CHUNK, count - done)
            self._chunk(firm_id, agents, versions, n, resent * n // count)
            done += n

    def _chunk(self, firm_id: int, agents: list[int], versions: dict[str, int], n: int, resent: int) -> None:
        rng = self.rng
        sessions: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        agreements: list[dict[str, Any]] = []
        envelopes: list[dict[str, Any]] = []
        people: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        codes: list[dict[str, Any]] = []
        names = list(versions)
        for _ in range(n):
            sid = secrets.token_urlsafe(24)
            interview = rng.choices(names, weights=[6, 3, 1])[0]
            blocks = BLOCKS[interview]
            day = NOW - dt.timedelta(days=rng.random() * DAYS)
            created = day.replace(hour=rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
                                  minute=rng.randrange(60))
            completed = rng.random() < 0.7
            reached = len(blocks) if completed else rng.randrange(1, len(blocks) - 1)
            at = created
            for seq, block in enumerate(blocks[:reached], start=1):
                at = at + dt.timedelta(seconds=rng.lognormvariate(3.5, 1.0))
                if not completed and seq == reached and rng.random() < 0.3:
                    at += dt.timedelta(days=rng.random() * 3)  # came back later
                events.append({"session_id": sid, "seq": seq, "block": block, "at": at,
                               "changes": {f"{block}_answer": [None, f"value {seq}"]}})
            if at > NOW:
                at = NOW
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}" if reached > 1 else None
            email = f"{_ascii(first)}.{_ascii(last)}{rng.randrange(1000)}@example.test" if reached > 3 else None
            sessions.append({
                "id": sid, "firm_id": firm_id, "interview_version_id": versions[interview], "lang": rng.choice(
                    ["en", "vi"]), "state": {"version": 1, "answers": {"applicant_name": name}, "pad": self.filler},
                "created_at": created, "updated_at": at, "version": reached + 1, "draft": None,
                "agent_id": rng.choice(agents), "current_block": blocks[min(reached, len(blocks) - 1)],
                "current_section": rng.choice(SECTIONS), "progress": 100 if completed else 100 * reached // len(blocks),
                "display_name": name, "contact_email": email, "completed_at": at if completed else None,
                "stage": "completed" if completed else "in_progress",  # the newest envelope's, below
            })
            if not completed:
                continue
            region = rng.choice(["VN", "VN", "US"])
            envs = [("voided", at)] if resent > 0 else []
            resent -= len(envs)
            envs.append((rng.choices(["completed", "sent", "declined", "voided", "expired"],
                                     weights=[80, 8, 5, 4, 3])[0], at + dt.timedelta(minutes=1)))
            sessions[-1]["stage"] = ENVELOPE_STAGES[envs[-1][0]]  # as signing keeps it (store.stage)
            for number, (status, created_env) in enumerate(envs, start=1):
                position = len(agreements)  # the agreement version's place in this chunk
                av = {"session_id": sid, "number": number, "region": region, "language": "en",
                      "source": {}, "source_hash": secrets.token_hex(32), "changes": [], "pdf_sha256": "0" * 64,
                      "pages": 4, "created_at": created_env}
                agreements.append(av)
                eid = secrets.token_urlsafe(24)
                sent = created_env + dt.timedelta(seconds=rng.randrange(5, 600))
                finished = sent + dt.timedelta(seconds=rng.lognormvariate(7.5, 1.8))
                envelopes.append({
                    "id": eid, "firm_id": firm_id, "session_id": sid, "agreement_position": position,
                    "title": "Agreement", "language": "en", "status": status,
                    "seal_status": "sealed" if status == "completed" else "none", "seal_attempts": 0,
                    "original_sha256": "0" * 64, "current_sha256": "0" * 64, "created_at": created_env,
                    "sent_at": sent, "completed_at": finished if status == "completed" else None,
                    "expires_at": sent + dt.timedelta(days=30), "version": 3,
                })
                trail = [("sender", "created", created_env), ("sender", "sent", sent)]
                for order, role in enumerate(["applicant", "co_applicant"][: rng.choice([1, 1, 2])], start=1):
                    pid = secrets.token_urlsafe(24)
                    p_status = {"completed": "acted", "declined": "declined"}.get(status, rng.choice(
                        ["notified", "opened"]))
                    people.append({"id": pid, "envelope_id": eid, "role": role, "action": "sign",
                                   "routing_order": order, "name": name or "Applicant", "email": email or "a@x.test",
                                   "identity": ["email_code"], "status": p_status, "reminders": 0})
                    wrong = rng.choice([0, 0, 0, 0, 1, 2, 4])
                    codes.append({"participant_id": pid, "method": "email_code", "code_hash": "0" * 64,
                                  "created_at": sent, "expires_at": sent + dt.timedelta(minutes=10),
                                  "attempts": wrong + (1 if p_status == "acted" else 0),
                                  "verified_at": sent if p_status == "acted" else None})
                    if p_status in ("acted", "opened"):
                        trail.append((pid, "opened", sent + dt.timedelta(minutes=order)))
                    if p_status == "acted":
                        trail.append((pid, "signed", finished))
                if status == "completed":
                    trail.append(("system", "completed", finished))
                elif status != "sent":
                    trail.append(("sender", status, finished))
                for seq, (actor, action, when) in enumerate(trail, start=1):
                    audits.append({"envelope_id": eid, "seq": seq, "at": when, "actor": actor, "action": action,
                                   "detail": {}, "prev_hash": "0" * 64, "hash": secrets.token_hex(32)})
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.execute(insert(_t(SessionRow)), sessions)
            conn.execute(insert(_t(AnswerEvent)), events)
            if agreements:
                # Agreement versions get their ids here; the envelopes point at them.
                first_id = (conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM agreement_version")).scalar_one()
                            + 1)
                conn.execute(insert(_t(AgreementVersion)),
                             [{**a, "id": first_id + i} for i, a in enumerate(agreements)])
                for e in envelopes:
                    e["agreement_version_id"] = first_id + e.pop("agreement_position")
                conn.execute(insert(_t(Envelope)), envelopes)
                conn.execute(insert(_t(Participant)), people)
                conn.execute(insert(_t(AuditEvent)), audits)
                conn.execute(insert(_t(IdentityChallenge)), codes)


def seed(engine: Engine, sessions: int, rng: random.Random) -> tuple[int, list[int]]:
    """Firm A with 50 agents and `sessions` sessions (and as many agreements); firm B with a
    tenth of that. Returns firm A's id and agent ids."""
    seeder = Seeder(engine, rng)
    firm_a, agents_a, versions_a = seeder.firm("alpha", 50)
    completed_share = 0.7
    resent = max(0, int(sessions - sessions * completed_share))  # brings agreements up to `sessions`
    seeder.sessions(firm_a, agents_a, versions_a, sessions, resent)
    firm_b, agents_b, versions_b = seeder.firm("beta", 5)
    seeder.sessions(firm_b, agents_b, versions_b, sessions // 10, 0)
    if engine.dialect.name == "postgresql":
        # What autovacuum does on a live database: statistics, and the visibility map that lets
        # PostgreSQL answer from an index alone (index-only scans).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")  # planner statistics, as a live database has them
    return firm_a, agents_a


def median_ms(calls: list[Callable[[DB], Any]], engine: Engine, repeat: int) -> float:
    for call in calls:  # warm up: caches, statement compilation
        with DB(engine) as db:
            call(db)
    times = []
    for i in range(repeat):
        call = calls[i % len(calls)]
        with DB(engine) as db:
            start = time.perf_counter()
            call(db)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(url: str, label: str, sessions: int, repeat: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    rng = random.Random(7)
    start = time.perf_counter()
    firm, agents = seed(engine, sessions, rng)
    print(f"{label}seed: {time.perf_counter() - start:.1f} s")
    with engine.connect() as conn:
        for table in ("interview_session", "answer_event", "envelope", "participant", "audit_event"):
            print(f"{label}{table} rows: {conn.execute(text(f'SELECT COUNT(*) FROM {table}')).scalar_one()} rows")
    lists: list[Callable[[DB], Any]] = [
        lambda db: list_applicants(db, firm, agent_id=agents[3], now=NOW),
        lambda db: list_applicants(db, firm, status="in_progress", now=NOW),
        lambda db: list_applicants(db, firm, status="signing", now=NOW),
        lambda db: list_applicants(db, firm, stuck_only=True, now=NOW),
        lambda db: list_applicants(db, firm, query="nguyễn", now=NOW),
        lambda db: list_applicants(db, firm, agent_id=agents[7], status="signed", now=NOW),
    ]
    names = ["agent", "in_progress", "signing", "stuck", "search", "agent+signed"]
    for name, call in zip(names, lists):
        print(f"{label}list {name} median: {median_ms([call], engine, max(5, repeat // 3)):.1f} ms")
    print(f"{label}list median: {median_ms(lists, engine, repeat):.1f} ms")
    month = ReportFilter(start=(NOW - dt.timedelta(days=30)).date(), end=NOW.date())
    report = [lambda db: turnaround_report(db, firm, month)]
    print(f"{label}report median: {median_ms(report, engine, repeat):.1f} ms")
    half_year = ReportFilter(start=(NOW - dt.timedelta(days=DAYS)).date(), end=NOW.date())
    print(f"{label}report half-year median: "
          f"{median_ms([lambda db: turnaround_report(db, firm, half_year)], engine, max(5, repeat // 3)):.1f} ms")
    print(f"{label}funnel month median: "
          f"{median_ms([lambda db: funnel_report(db, firm, month)], engine, max(5, repeat // 3)):.1f} ms")
    engine.dispose()


def postgres_database(server: str) -> AbstractContextManager[str]:
    """A scratch database on `server`, dropped afterwards (`store.testdb.fresh_postgres`)."""
    return fresh_postgres(server, prefix="accord_bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--postgres-only", action="store_true", help="skip SQLite (needs ACCORD_BENCH_POSTGRES_URL)")
    args = parser.parse_args()
    if not args.postgres_only:
        with tempfile.TemporaryDirectory(prefix="accord-console-bench-") as tmp:
            run(f"sqlite:///{Path(tmp) / 'accord.db'}", "", args.sessions, args.repeat)
    server = os.environ.get("ACCORD_BENCH_POSTGRES_URL", "")
    if server:
        with postgres_database(server) as url:
            run(url, "postgresql ", args.sessions, args.repeat)


if __name__ == "__main__":
    main()
