"""The console's list and detail (`manage.applicants`) on hand-built firms: firm isolation in the
query itself, agent scope, search, every status filter, the stuck flags, paging, and the detail's
timeline and audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import Session as DB

from manage import applicants
from manage.applicants import applicant_detail, list_applicants, register_declined_cards, visible_agent
from signing import envelopes
from store.models import Session
from tests.manage import console_data as data
from tests.manage.console_data import T0

H = dt.timedelta(hours=1)
NOW = T0 + 100 * H


@pytest.fixture
def world(db: DB) -> dict[str, object]:
    """Two firms. Firm A: agents Ann and Bob, sessions in every state; firm B: look-alikes."""
    a, b = data.firm(db, "alpha"), data.firm(db, "beta")
    assert a.id is not None and b.id is not None
    ann, bob = data.staff(db, a.id, "Ann Agent"), data.staff(db, a.id, "Bob Agent")
    loan, lease = data.interview(db, a.id, "loan"), data.interview(db, a.id, "lease")
    s = {
        "fresh": data.session(db, loan, name="Chi Nguyen", email="chi@example.test", agent=ann,
                              updated=NOW - H, block="applicant_name", section="applicant", progress=10),
        "idle": data.session(db, loan, name="Dung Tran", email="dung@example.test", agent=ann,
                             updated=NOW - 72 * H, block="income", section="employment", progress=40),
        "done": data.session(db, lease, name="Em Le", email="em@example.test", agent=bob,
                             updated=NOW - 2 * H, completed=NOW - 2 * H, progress=100),
        "signing": data.session(db, loan, name="Giang Pham", email="giang@example.test", agent=bob,
                                updated=NOW - 3 * H, completed=NOW - 3 * H, progress=100),
        "signed": data.session(db, loan, name="Hoa Vo", email="hoa@example.test", agent=ann,
                               updated=NOW - 4 * H, completed=NOW - 4 * H, progress=100),
        "declined": data.session(db, loan, name="Khanh Do", email="khanh@example.test",
                                 updated=NOW - 5 * H, completed=NOW - 5 * H, progress=100),
    }
    data.envelope(db, s["signing"], created=NOW - 3 * H, sent=NOW - 3 * H,
                  parties=(("applicant", "Giang Pham"), ("co_applicant", "Lan Pham")))
    signed = data.envelope(db, s["signed"], created=NOW - 4 * H, sent=NOW - 4 * H)
    data.sign_all(db, signed, NOW - 4 * H)
    declined = data.envelope(db, s["declined"], created=NOW - 5 * H, sent=NOW - 5 * H)
    who = data.participants(db, declined)[0]
    assert who.id is not None
    envelopes.decline(db, who.id, "wrong amount", now=NOW - 5 * H)
    # Firm B: the same names and e-mails, so any leak would match a search.
    bv = data.interview(db, b.id, "loan")
    b_agent = data.staff(db, b.id, "Ann Agent")
    s["b_same"] = data.session(db, bv, name="Chi Nguyen", email="chi@example.test", agent=b_agent,
                               updated=NOW - 10 * H)
    s["b_idle"] = data.session(db, bv, name="Dung Tran", email="dung@example.test", updated=NOW - 90 * H)
    return {"a": a, "b": b, "ann": ann, "bob": bob, "s": s, "b_agent": b_agent}


def ids(page: applicants.ApplicantPage) -> list[str]:
    return [r.session_id for r in page.rows]


def test_lists_a_firms_applicants_newest_first_and_never_another_firms(db: DB, world: dict) -> None:
    s = world["s"]
    page = list_applicants(db, world["a"].id, now=NOW)
    assert ids(page) == [s[k].id for k in ("fresh", "done", "signing", "signed", "declined", "idle")]
    assert page.total == 6 and page.total_is_exact and not page.has_next
    b_page = list_applicants(db, world["b"].id, now=NOW)
    assert ids(b_page) == [s["b_same"].id, s["b_idle"].id]
    # Asking firm A's list for firm B's agent, or a firm-B session id, finds nothing.
    assert ids(list_applicants(db, world["a"].id, agent_id=world["b_agent"].id, now=NOW)) == []
    assert ids(list_applicants(db, world["a"].id, query=s["b_same"].id, now=NOW)) == []
    assert applicant_detail(db, world["a"].id, s["b_same"].id) is None
    assert applicant_detail(db, world["b"].id, s["fresh"].id) is None


def test_a_row_carries_the_denormalised_columns_agent_and_envelope(db: DB, world: dict) -> None:
    s = world["s"]
    rows = {r.session_id: r for r in list_applicants(db, world["a"].id, now=NOW).rows}
    fresh = rows[s["fresh"].id]
    assert (fresh.display_name, fresh.contact_email, fresh.agent_name, fresh.interview) == (
        "Chi Nguyen", "chi@example.test", "Ann Agent", "loan")
    assert (fresh.current_block, fresh.current_section, fresh.progress) == ("applicant_name", "applicant", 10)
    assert fresh.updated_at == NOW - H and fresh.completed_at is None and fresh.envelope_id is None
    assert fresh.status == "in_progress" and not fresh.stuck.any
    signing = rows[s["signing"].id]
    assert signing.status == "signing" and signing.envelope_status == "sent"
    assert [(p.role, p.name, p.status) for p in signing.participants] == [
        ("applicant", "Giang Pham", "notified"), ("co_applicant", "Lan Pham", "waiting")]
    assert rows[s["signed"].id].status == "signed"
    assert [p.status for p in rows[s["signed"].id].participants] == ["acted"]
    assert rows[s["declined"].id].status == "declined"
    assert rows[s["declined"].id].agent_id is None and rows[s["declined"].id].agent_name is None
    assert rows[s["done"].id].status == "completed"


def test_agent_scope(db: DB, world: dict) -> None:
    s, ann = world["s"], world["ann"]
    assert ids(list_applicants(db, world["a"].id, agent_id=ann.id, now=NOW)) == [
        s["fresh"].id, s["signed"].id, s["idle"].id]
    assert visible_agent(ann) == ann.id
    ann.sees_all = True
    assert visible_agent(ann) is None
    boss = data.staff(db, world["a"].id, "Owner", role="owner")
    assert visible_agent(boss) is None


@pytest.mark.parametrize(("status", "expected"), [
    ("in_progress", ["fresh", "idle"]),
    ("completed", ["done"]),
    ("signing", ["signing"]),
    ("signed", ["signed"]),
    ("declined", ["declined"]),
    ("voided", []),
    ("expired", []),
    ("stuck", ["idle"]),
])
def test_status_filters_match_the_rows_status(db: DB, world: dict, status: str, expected: list[str]) -> None:
    s = world["s"]
    page = list_applicants(db, world["a"].id, status=status, now=NOW)
    assert ids(page) == [s[k].id for k in expected]
    if status != "stuck":
        assert all(r.status == status for r in page.rows)


def test_unknown_status_is_refused(db: DB, world: dict) -> None:
    with pytest.raises(ValueError, match="unknown status"):
        list_applicants(db, world["a"].id, status="lost")


def test_voided_and_expired(db: DB, world: dict) -> None:
    s = world["s"]
    env = data.envelope(db, s["fresh"], created=NOW - H, sent=NOW - H)
    envelopes.void(db, env, "duplicate", now=NOW - H)
    assert ids(list_applicants(db, world["a"].id, status="voided", now=NOW)) == [s["fresh"].id]
    # The newest envelope counts: a new draft after the void makes the row in progress again.
    data.envelope(db, s["fresh"], created=NOW - H / 2)
    assert ids(list_applicants(db, world["a"].id, status="voided", now=NOW)) == []
    assert s["fresh"].id in ids(list_applicants(db, world["a"].id, status="in_progress", now=NOW))


@pytest.mark.parametrize(("query", "expected"), [
    ("chi", ["fresh"]), ("NGUYEN", ["fresh"]), ("@example.test", ["fresh", "done", "signing", "signed",
                                                                    "declined", "idle"]),
    ("dung@", ["idle"]), ("%", []), ("_", []), ("nobody", []),
])
def test_search_by_name_email(db: DB, world: dict, query: str, expected: list[str]) -> None:
    s = world["s"]
    assert ids(list_applicants(db, world["a"].id, query=query, now=NOW)) == [s[k].id for k in expected]


def test_search_by_session_id(db: DB, world: dict) -> None:
    s = world["s"]
    assert ids(list_applicants(db, world["a"].id, query=s["signed"].id, now=NOW)) == [s["signed"].id]


def test_interview_filter(db: DB, world: dict) -> None:
    assert ids(list_applicants(db, world["a"].id, interview="lease", now=NOW)) == [world["s"]["done"].id]


def test_stuck_flags(db: DB, world: dict) -> None:
    s = world["s"]
    rows = {r.session_id: r for r in list_applicants(db, world["a"].id, now=NOW).rows}
    assert rows[s["idle"].id].stuck == applicants.StuckFlags(idle=True)
    assert not rows[s["signing"].id].stuck.any
    # A threshold of 2 hours also catches the envelope sent 3 hours ago with no event since...
    rows = {r.session_id: r for r in list_applicants(db, world["a"].id, now=NOW, stuck_after=2 * H).rows}
    assert rows[s["signing"].id].stuck.idle
    # ...but not completed interviews without an envelope, nor finished envelopes.
    assert not rows[s["done"].id].stuck.any and not rows[s["signed"].id].stuck.any
    assert ids(list_applicants(db, world["a"].id, stuck_only=True, now=NOW, stuck_after=2 * H)) == [
        s["signing"].id, s["idle"].id]


def test_failed_codes_flag(db: DB, world: dict) -> None:
    s = world["s"]
    env = next(r.envelope_id for r in list_applicants(db, world["a"].id, now=NOW).rows
               if r.session_id == s["signing"].id)
    assert env is not None
    first = data.participants(db, env)[0]
    data.wrong_codes(db, first, 2, NOW - H)
    row = next(r for r in list_applicants(db, world["a"].id, now=NOW).rows if r.session_id == s["signing"].id)
    assert row.participants[0].failed_codes == 2 and not row.stuck.failed_codes
    assert s["signing"].id not in ids(list_applicants(db, world["a"].id, stuck_only=True, now=NOW))
    data.wrong_codes(db, first, 1, NOW - H / 2)
    row = next(r for r in list_applicants(db, world["a"].id, now=NOW).rows if r.session_id == s["signing"].id)
    assert row.participants[0].failed_codes == 3 and row.stuck == applicants.StuckFlags(failed_codes=True)
    assert ids(list_applicants(db, world["a"].id, stuck_only=True, now=NOW)) == [s["signing"].id, s["idle"].id]


def test_declined_card_hook(db: DB, world: dict) -> None:
    """Payments plugs in a SELECT of session ids; rows are flagged and the stuck filter uses it."""
    s = world["s"]
    declined = {s["done"].id, s["b_same"].id}  # one of firm B's: must not leak into firm A's list
    table = Session.__table__  # type: ignore[attr-defined]
    register_declined_cards(lambda firm_id: select(table.c.id).where(table.c.firm_id == firm_id,
                                                                     table.c.id.in_(declined)))
    try:
        page = list_applicants(db, world["a"].id, stuck_only=True, now=NOW)
        assert ids(page) == [s["done"].id, s["idle"].id]
        assert page.rows[0].stuck == applicants.StuckFlags(declined_card=True)
    finally:
        register_declined_cards(None)
    assert ids(list_applicants(db, world["a"].id, stuck_only=True, now=NOW)) == [s["idle"].id]


def test_a_declined_card_flags_the_applicant_until_paid(db: DB, world: dict) -> None:
    """The hook as `accord serve` wires it (`signing.payment.declined_card_sessions`): the payment
    step's failed attempt flags the session in its own firm only, and the payment clears it."""
    from accord.serve import wire_rooms
    from payments import ProviderEvent
    from signing import payment
    from signing.envelopes import PaymentTerms

    s = world["s"]
    fee = 500_000

    def with_payment(session: Session) -> str:
        env = envelopes.create(db, session.firm_id, title="Loan agreement", language="en", pdf_sha256="0" * 64,
                               parties=[envelopes.PartySpec("applicant", "sign", 1, "An", "an@example.test")],
                               session_id=session.id, now=NOW - H,
                               payment=PaymentTerms(fee, "VND", "Application fee", "applicant", "before signing"))
        envelopes.send(db, env.id, now=NOW - H)
        return env.id

    def event(eid: str, etype: str, event_id: str, **extra: object) -> ProviderEvent:
        row = payment.of_envelope(db, eid)
        assert row is not None
        return ProviderEvent(event_id, etype, 0, {"id": f"obj_{event_id}", "amount_total": fee, "currency": "vnd",
                                                  "payment_status": "paid", "payment_intent": "pi_" + event_id,
                                                  "metadata": {"accord_payment": row.id, "accord_envelope": eid},
                                                  **extra})

    mine, theirs = with_payment(s["done"]), with_payment(s["b_same"])
    declined = {"last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"}}
    wire_rooms()
    try:
        assert not any(r.stuck.declined_card for r in list_applicants(db, world["a"].id, now=NOW).rows)
        for eid, eid_tag in ((mine, "a"), (theirs, "b")):
            outcome = payment.apply_event(db, "stripe", event(eid, "payment_intent.payment_failed", "f" + eid_tag,
                                                               **declined))
            assert outcome == ("failed", eid)
        rows = {r.session_id: r for r in list_applicants(db, world["a"].id, now=NOW).rows}
        assert rows[s["done"].id].stuck == applicants.StuckFlags(declined_card=True)
        assert s["done"].id in ids(list_applicants(db, world["a"].id, stuck_only=True, now=NOW))
        assert s["b_same"].id not in rows  # firm B's declined card stays in firm B
        assert ids(list_applicants(db, world["b"].id, stuck_only=True, now=NOW)).count(s["b_same"].id) == 1

        assert payment.apply_event(db, "stripe", event(mine, "checkout.session.completed", "paid_a",
                                                       object="checkout.session")) == (
            "paid", mine)
        rows = {r.session_id: r for r in list_applicants(db, world["a"].id, now=NOW).rows}
        assert not rows[s["done"].id].stuck.declined_card
    finally:
        register_declined_cards(None)


def test_offset_and_keyset_paging_agree(db: DB, world: dict) -> None:
    a = world["a"].id
    everything = ids(list_applicants(db, a, now=NOW))
    first = list_applicants(db, a, per_page=4, now=NOW)
    second = list_applicants(db, a, per_page=4, page=2, now=NOW)
    assert first.has_next and not second.has_next and first.total == 6
    assert ids(first) + ids(second) == everything
    assert first.next_cursor is not None
    assert ids(list_applicants(db, a, per_page=4, after=first.next_cursor, now=NOW)) == everything[4:]
    assert ids(list_applicants(db, a, per_page=4, page=10_000, now=NOW)) == []  # clamped, not an error


def test_total_is_bounded(db: DB, world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(applicants, "COUNT_LIMIT", 3)
    page = list_applicants(db, world["a"].id, per_page=2, now=NOW)
    assert page.total == 3 and not page.total_is_exact


def test_detail_timeline_and_audit(db: DB, world: dict) -> None:
    a = world["a"]
    loan = data.interview(db, a.id, "loan2")
    s = data.session(db, loan, name="Minh", created=T0, updated=T0 + dt.timedelta(minutes=5),
                     completed=T0 + dt.timedelta(minutes=5), steps=[
                         ("welcome", T0 + dt.timedelta(seconds=20), {}),
                         ("applicant_name", T0 + dt.timedelta(seconds=50), {"applicant_name": "Minh"}),
                         ("amount", T0 + dt.timedelta(minutes=5), {"amount": 5000})])
    env = data.envelope(db, s, created=T0 + dt.timedelta(minutes=6), sent=T0 + dt.timedelta(minutes=6))
    data.sign_all(db, env, T0 + dt.timedelta(minutes=9))
    detail = applicant_detail(db, a.id, s.id, now=NOW)
    assert detail is not None
    assert detail.row.status == "signed" and detail.lang == "en"
    assert [(t.block, t.seconds, t.changes) for t in detail.timeline] == [
        ("welcome", 20.0, {}), ("applicant_name", 30.0, {"applicant_name": "Minh"}),
        ("amount", 250.0, {"amount": 5000})]
    (view,) = detail.envelopes
    assert view.id == env and view.status == "completed"
    assert [(e.actor, e.action) for e in view.audit] == [
        ("sender", "created"), ("sender", "sent"), ("system", "invitation_sent"), ("applicant", "opened"),
        ("applicant", "identified"), ("applicant", "consented"), ("applicant", "signed"), ("system", "completed")]
    assert view.audit[3].actor_name == "An Applicant" and view.audit[0].actor_name is None
    assert applicant_detail(db, a.id, "no-such-session") is None


def test_the_search_has_trigram_indexes_on_postgresql(db: DB, world: dict) -> None:
    """Migration 0014: on PostgreSQL, GIN trigram indexes serve `lower(name|email) LIKE '%…%'`
    (bench/console.py: the search went from 112 to 19 ms at 100,000 sessions); SQLite has none.
    The results are the same either way."""
    from sqlalchemy import text

    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        found = set(db.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'interview_session' "
                                    "AND indexdef LIKE '%gin_trgm_ops%'")).scalars())
        assert found == {"ix_interview_session_name_trgm", "ix_interview_session_email_trgm"}
    else:
        names = set(db.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars())
        assert not {n for n in names if n.endswith("_trgm")}
    s = world["s"]
    assert ids(list_applicants(db, world["a"].id, query="NGUYEN", now=NOW)) == [s["fresh"].id]
    assert ids(list_applicants(db, world["a"].id, query="dung@EXAMPLE", now=NOW)) == [s["idle"].id]


def test_the_agents_indexes_skip_sessions_without_an_agent_and_serve_the_agents_list(db: DB, world: dict) -> None:
    """Migration 0015: the agent's two indexes are partial (`agent_id IS NOT NULL`), so a step of
    an applicant without an agent does not move them; the agent's list (all, and by status) is
    still read through them, on SQLite and PostgreSQL alike."""
    from sqlalchemy import event, text

    conn = db.connection()
    dialect = conn.dialect.name
    agent_indexes = {"ix_interview_session_agent_updated", "ix_interview_session_agent_stage_updated"}
    if dialect == "postgresql":
        defs = dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                      "WHERE tablename = 'interview_session'")).all())
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # a few rows: a table scan would be cheaper
    else:
        defs = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                      "AND tbl_name = 'interview_session'")).all())
    for name in agent_indexes:
        assert "agent_id IS NOT NULL" in defs[name].replace("(", "").replace(")", ""), defs[name]

    seen: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement.upper():
            seen.append((statement, parameters))

    ann = world["ann"]
    event.listen(conn, "before_cursor_execute", capture)
    try:
        assert ids(list_applicants(db, world["a"].id, agent_id=ann.id, now=NOW))
        assert ids(list_applicants(db, world["a"].id, agent_id=ann.id, status="in_progress", now=NOW))
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    lists = [(sql, params) for sql, params in seen if "interview_session.agent_id =" in sql]
    assert len(lists) == 2
    for sql, params in lists:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute(("EXPLAIN " if dialect == "postgresql" else "EXPLAIN QUERY PLAN ") + sql, params)
        plan = " ".join(str(part) for row in cursor.fetchall() for part in row)
        assert agent_indexes & set(plan.replace("(", " ").replace(")", " ").split()), plan
