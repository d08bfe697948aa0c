"""Per-firm isolation of the console, as a matrix generated from the app's own router: every
console and API route × every object kind it can name (applicant sessions, envelopes, staff,
reports/CSV filters, webhook endpoints, deliveries). Staff of firm A asking for firm B's objects
get 404 (or 403/401 where the route is not theirs at all) and firm B's data is unchanged; the
same request on firm A's own object goes through (so the matrix can fail). A route added
without a case here fails the test.

Within a firm, the same matrix checks an agent who sees only their own applicants against a
colleague's applicant, and a viewer's posts (403).
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select
from starlette.routing import Route
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from consolekit import login, staff  # noqa: E402

from accord.settings import DEFAULT_INTERVIEWS  # noqa: E402
from integrations import webhooks  # noqa: E402
from manage import actions  # noqa: E402
from manage.scope import Scope  # noqa: E402
from manage.staff import STAFF_ACTIONS  # noqa: E402
from signing import envelopes  # noqa: E402
from signing.envelopes import PartySpec  # noqa: E402
from signing.mail import ConsoleMailer  # noqa: E402
from store.models import ConsoleAction, Delivery, Envelope, Staff, WebhookEndpoint, WebhookSecret  # noqa: E402  # noqa: E402
from store.models import Session as SessionRow  # noqa: E402
from store.sessions import ensure_firm, publish_interview  # noqa: E402
from web.app import create_app  # noqa: E402
from web.console import ENVELOPE_ACTIONS, SESSION_ACTIONS  # noqa: E402
from web.console_hooks import ENDPOINT_ACTIONS  # noqa: E402

SECRET = "console-isolation-secret"
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass
class World:
    db: Engine
    a_owner: tuple[int, str]
    a_agent: tuple[int, str]  # sees only their own applicants
    a_agent2: tuple[int, str]
    a_viewer: tuple[int, str]
    b_owner: tuple[int, str]
    a_session: str  # a_agent2's applicant, with an envelope out for signing
    a_envelope: str
    b_session: str  # firm B's applicant, with an envelope out for signing
    b_envelope: str
    a_endpoint: int  # each firm's webhook endpoint, with one delivery in its log (a failed test event)
    a_delivery: int
    b_endpoint: int
    b_delivery: int


def _applicant(db: Engine, staff_id: int, name: str, email: str) -> tuple[str, str]:
    """An invited applicant of `staff_id` with an envelope out for signing."""
    with DB(db) as s:
        member = s.get(Staff, staff_id)
        assert member is not None
        scope = Scope.of(member)
        session = actions.invite(s, scope, "loan_application", "en", actions.Prefill(name, email, "1000"),
                                 send=lambda *a: None, link=lambda sid: f"/r/{sid}", days="7")
        envelope = envelopes.create(s, scope.firm_id, title="Loan", language="en", pdf_sha256="0" * 64,
                                    parties=[PartySpec("applicant", "sign", 1, name, email)], session_id=session.id)
        envelopes.send(s, envelope.id)
        return session.id, envelope.id


def _endpoint(db: Engine, firm: str) -> tuple[int, int]:
    """An endpoint of `firm` on a closed loopback port, and the failed test event in its log."""
    with DB(db) as s:
        firm_row = ensure_firm(s, firm, firm)
        assert firm_row.id is not None
        webhooks.set_allow_private(s, firm_row.id, True)
        endpoint, _secret = webhooks.add(s, firm_row.id, "http://127.0.0.1:9/hook", ["*"], f"{firm} hook")
        _outcome, delivery = webhooks.send_test_logged(s, firm_row.id, endpoint.id or 0)
        return endpoint.id or 0, delivery.id or 0


@pytest.fixture
def world(db: Engine) -> World:
    with DB(db) as s:
        other = ensure_firm(s, "other", "Other firm")
        publish_interview(s, other, "loan_application", DEFAULT_INTERVIEWS / "loan_application.yml")
        publish_interview(s, other, "other_only", DEFAULT_INTERVIEWS / "residential_lease.yml")
    people = {key: staff(db, firm, f"{key}@{firm}.test", role) for key, firm, role in (
        ("a_owner", "demo", "owner"), ("a_agent", "demo", "agent"), ("a_agent2", "demo", "agent"),
        ("a_viewer", "demo", "viewer"), ("b_owner", "other", "owner"))}
    a_session, a_envelope = _applicant(db, people["a_agent2"][0], "Alice Applicant", "alice@example.com")
    b_session, b_envelope = _applicant(db, people["b_owner"][0], "Bob Foreign", "bob@example.com")
    a_endpoint, a_delivery = _endpoint(db, "demo")
    b_endpoint, b_delivery = _endpoint(db, "other")
    return World(db, *[(i, str(sec)) for i, sec in (people[k] for k in (
        "a_owner", "a_agent", "a_agent2", "a_viewer", "b_owner"))], a_session, a_envelope, b_session, b_envelope,
                 a_endpoint, a_delivery, b_endpoint, b_delivery)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    data: dict[str, str] | None = None
    note: str = ""


def _objects(w: World, own: bool) -> dict[str, str]:
    """The object of each kind a path parameter can name: firm B's (own=False) or firm A's."""
    return {"session_id": w.a_session if own else w.b_session,
            "envelope_id": w.a_envelope if own else w.b_envelope,
            "staff_id": str(w.a_agent[0] if own else w.b_owner[0]),
            "endpoint_id": str(w.a_endpoint if own else w.b_endpoint),
            "delivery_id": str(w.a_delivery if own else w.b_delivery)}


def _form(path: str, w: World, own_staff: bool = True) -> dict[str, str]:
    if path.endswith("/reassign"):
        return {"agent": str(w.a_agent[0] if own_staff else w.b_owner[0])}
    if path.endswith("/extend"):
        return {"days": "7"}
    if path.endswith("/void"):
        return {"reason": "test"}
    if path.startswith("/console/webhooks/") and path.endswith("/edit"):
        return {"events": "envelope.*", "description": "changed"}
    return {}


def routes(app: Any) -> Iterator[tuple[str, str]]:
    for route in app.routes:
        if isinstance(route, Route) and (route.path.startswith("/console") or route.path.startswith("/api")):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, route.path


# Routes that name no firm object in their path, each with how a firm-B object could be named
# through them (query or form) or why none can. Every such route must be listed here.
def _objectless(w: World) -> dict[tuple[str, str], list[Case]]:
    b_agent = str(w.b_owner[0])
    return {
        ("GET", "/console/login"): [],  # the login page: no firm object
        ("POST", "/console/login"): [],
        ("GET", "/console/2fa"): [],
        ("POST", "/console/2fa"): [],
        ("POST", "/console/logout"): [],
        ("GET", "/console/events"): [],  # carries no ids; firm filtering: test_console_live.py
        ("GET", "/console"): [Case("GET", f"/console?agent={b_agent}", note="another firm's agent as a filter")],
        ("GET", "/console/rows"): [Case("GET", f"/console/rows?agent={b_agent}")],
        ("GET", "/console/invite"): [],  # lists the firm's own interviews only (checked below)
        ("POST", "/console/invite"): [Case("POST", "/console/invite", {
            "interview": "other_only", "lang": "en", "email": "x@example.com"}, note="another firm's interview")],
        ("GET", "/console/staff"): [],  # lists the firm's own staff only (checked below)
        ("GET", "/console/reports"): [Case("GET", f"/console/reports?agent={b_agent}"),
                                      Case("GET", f"/console/reports?agent={b_agent}&format=csv")],
        ("POST", "/api/v1/sessions"): [],  # creates an applicant session; names no existing object
        ("GET", "/console/webhooks"): [],  # lists the firm's own endpoints only (checked below)
        ("POST", "/console/webhooks"): [],  # adds an endpoint to the staff member's own firm
        ("POST", "/console/webhooks/private"): [],  # the staff member's own firm's setting
        ("GET", "/console/failing"): [],  # lists the firm's own deliveries only (checked below)
    }


def expand(method: str, path: str, w: World, own: bool) -> list[Case]:
    """The requests a parametrised route makes for each object kind it names."""
    params = PARAM.findall(path)
    objects = _objects(w, own)
    if not params:
        return []
    values = {k: [v] for k, v in objects.items()}
    if "action" in params:
        values["action"] = list(SESSION_ACTIONS if "session_id" in params else
                                ENVELOPE_ACTIONS if "envelope_id" in params else
                                ENDPOINT_ACTIONS if "endpoint_id" in params else STAFF_ACTIONS)
    combos: list[dict[str, str]] = [{}]
    for p in params:
        assert p in values, f"no object kind for path parameter {p!r} of {path}: add one to the matrix"
        combos = [{**c, p: v} for c in combos for v in values[p]]
    out = []
    for combo in combos:
        concrete = PARAM.sub(lambda m, c=combo: c[m.group(1)], path)  # type: ignore[misc]
        out.append(Case(method, concrete, _form(concrete, w) if method == "POST" else None))
    return out


def _b_state(w: World) -> tuple[Any, ...]:
    with DB(w.db) as s:
        sess = s.get(SessionRow, w.b_session)
        env = s.get(Envelope, w.b_envelope)
        assert sess is not None and env is not None
        b_sessions = len(s.exec(select(SessionRow.id).where(SessionRow.firm_id == sess.firm_id)).all())
        all_b_actions = len(s.exec(select(ConsoleAction.id).where(ConsoleAction.session_id == w.b_session)).all())
        ep = s.get(WebhookEndpoint, w.b_endpoint)
        delivery = s.get(Delivery, w.b_delivery)
        assert ep is not None and delivery is not None
        b_secrets = len(s.exec(select(WebhookSecret.id).where(WebhookSecret.endpoint_id == w.b_endpoint)).all())
        b_deliveries = len(s.exec(select(Delivery.id).where(Delivery.firm_id == ep.firm_id)).all())
        return (sess.agent_id, sess.version, env.status, env.version, env.expires_at, b_sessions, all_b_actions,
                ep.active, ep.events, ep.description, b_secrets, delivery.status, delivery.next_attempt_at,
                b_deliveries)


def _client(w: World, who: tuple[int, str], mail: io.StringIO) -> tuple[TestClient, str]:
    client = TestClient(create_app(w.db, SECRET, mailer=ConsoleMailer(mail)))
    client.__enter__()
    with DB(w.db) as s:
        member = s.get(Staff, who[0])
        assert member is not None
        email = member.email
    return client, login(client, email, who[1])


def _send(client: TestClient, case: Case, token: str) -> Any:
    if case.method == "GET":
        return client.get(case.path, follow_redirects=False)
    return client.post(case.path, data={"_csrf": token, **(case.data or {})}, follow_redirects=False)


def test_every_route_refuses_another_firms_objects(world: World) -> None:
    w = world
    mail = io.StringIO()
    client, token = _client(w, w.a_owner, mail)
    objectless = _objectless(w)
    failures: list[str] = []
    covered = 0
    before = _b_state(w)
    try:
        for method, path in routes(client.app):
            if PARAM.search(path):
                foreign = expand(method, path, w, own=False)
                own = expand(method, path, w, own=True)
            else:
                assert (method, path) in objectless, f"{method} {path} has no case in the isolation matrix"
                foreign, own = objectless[(method, path)], []
            for case in foreign:
                covered += 1
                r = _send(client, case, token)
                expected = (401, 403, 404) if path.startswith("/api") else (403, 404)
                if case.path == "/console/invite":
                    expected = (422,)  # the choice is refused next to the field; nothing is created
                if r.status_code not in expected:
                    failures.append(f"{case.method} {case.path}: {r.status_code}, expected one of {expected}")
                if "Bob Foreign" in r.text or "bob@example.com" in r.text:
                    failures.append(f"{case.method} {case.path}: shows firm B's applicant")
                if _b_state(w) != before:
                    failures.append(f"{case.method} {case.path}: changed firm B's data")
                    before = _b_state(w)
            for case in own:  # the control: firm A's own object goes through
                if path.startswith("/api"):
                    continue  # applicant routes: the staff login is not their key (bearer tokens)
                r = _send(client, case, token)
                if r.status_code not in (200, 303, 422):  # shown, done, or refused next to a field
                    failures.append(f"control {case.method} {case.path}: {r.status_code} on the firm's own object")
        # The staff kind through a form: reassigning one's own applicant to another firm's agent.
        r = client.post(f"/console/s/{w.a_session}/reassign", data={"_csrf": token, "agent": str(w.b_owner[0])},
                        follow_redirects=False)
        if r.status_code != 404:
            failures.append(f"reassign to another firm's agent: {r.status_code}")
        invite_page = client.get("/console/invite").text
        if "other_only" in invite_page or "other only" in invite_page:
            failures.append("the invite form offers another firm's interview")
        staff_page = client.get("/console/staff").text
        if "b_owner@other.test" in staff_page or "a_agent@demo.test" not in staff_page:
            failures.append("the staff page lists another firm's staff, or misses the firm's own")
        list_page = client.get("/console").text
        if "Bob Foreign" in list_page:
            failures.append("the list shows firm B's applicant")
        hooks_page = client.get("/console/webhooks").text
        if "other hook" in hooks_page or f"/console/webhooks/{w.a_endpoint}" not in hooks_page:
            failures.append("the webhooks page lists another firm's endpoint, or misses the firm's own")
        failing_page = client.get("/console/failing").text
        if f"/console/deliveries/{w.b_delivery}" in failing_page or \
                f"/console/deliveries/{w.a_delivery}" not in failing_page:
            failures.append("the failing list shows another firm's delivery, or misses the firm's own")
    finally:
        client.__exit__(None, None, None)
    assert covered >= 10
    assert not failures, "\n".join(failures)


def test_an_agent_sees_only_their_own_and_a_viewer_changes_nothing(world: World) -> None:
    w = world
    mail = io.StringIO()
    failures: list[str] = []
    agent, agent_token = _client(w, w.a_agent, mail)
    viewer, viewer_token = _client(w, w.a_viewer, mail)
    try:
        for method, path in routes(agent.app):
            if not path.startswith("/console") or not PARAM.search(path):
                continue
            for case in expand(method, path, w, own=True):  # a colleague's applicant (a_agent2's)
                r = _send(agent, case, agent_token)
                # staff and webhook pages (a webhook's delivery too): the firm's, owners/admins only
                admins_only = any(k in path for k in ("staff_id", "endpoint_id", "delivery_id"))
                want_agent = 403 if admins_only else 404
                if r.status_code != want_agent:
                    failures.append(f"agent {case.method} {case.path}: {r.status_code}, expected {want_agent}")
                r = _send(viewer, case, viewer_token)
                want = (200,) if method == "GET" and not ("endpoint_id" in path or "delivery_id" in path) else (403,)
                if r.status_code not in want:
                    failures.append(f"viewer {case.method} {case.path}: {r.status_code}, expected {want}")
        for path in ("/console/webhooks", "/console/failing"):
            if agent.get(path).status_code != 403 or viewer.get(path).status_code != 403:
                failures.append(f"{path}: not refused to an agent or a viewer")
        if "Alice Applicant" in agent.get("/console").text:
            failures.append("the agent's list shows a colleague's applicant")
        if "Alice Applicant" not in viewer.get("/console").text:
            failures.append("the viewer's list misses the firm's applicant")
        r = viewer.post("/console/invite", data={"_csrf": viewer_token, "interview": "loan_application",
                                                 "lang": "en", "email": "v@example.com"}, follow_redirects=False)
        if r.status_code != 403:
            failures.append(f"viewer invite: {r.status_code}")
    finally:
        agent.__exit__(None, None, None)
        viewer.__exit__(None, None, None)
    with DB(w.db) as s:
        done = s.exec(select(ConsoleAction.action).where(ConsoleAction.session_id == w.a_session)).all()
    assert list(done) == ["invited"], done
    assert not failures, "\n".join(failures)
