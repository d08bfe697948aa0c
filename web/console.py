"""The agent console: staff log in (password + TOTP), see their applicants live, invite new ones
and act on them. English and Vietnamese (`?lang=`, remembered in the cookie).

    GET/POST /console/login              e-mail + password (first factor)
    GET/POST /console/2fa                TOTP: enrol (QR code + secret) the first time, else a code
    POST     /console/logout
    GET      /console                    the applicants: filters (q, status, stuck, agent), pages
    GET      /console/rows               the list alone (what the live page re-reads)
    GET      /console/events             server-sent events: "something of your firm changed"
    GET      /console/invite             pick an interview, prefill name/e-mail/amount
    POST     /console/invite             start the session (assigned to me) and e-mail the link
    GET      /console/s/{id}             one applicant: where they are, answer timeline, envelopes, audit
    GET      /console/s/{id}/live        that page's live part alone
    POST     /console/s/{id}/resend      e-mail the applicant's link again
    POST     /console/s/{id}/remind      remind now (signers when out for signing, else the applicant)
    POST     /console/s/{id}/reassign    give the applicant to another agent
    POST     /console/e/{id}/extend      more days for an envelope out for signing
    POST     /console/e/{id}/void        void an envelope, with a reason
    GET      /console/reports            reports with charts (`manage.reports`), CSV with ?format=csv
    GET      /console/staff              the firm's staff accounts (owners and admins)
    POST     /console/staff/{id}/{action} deactivate, activate (lockout cleared), reset-2fa

Who may see what is decided in the data layer (`manage.scope.Scope`): every lookup carries the
staff member's firm (and agent, for an agent who sees only their own), so another firm's object
is simply not found (404). A viewer's posts are 403. The staff cookie (`accord_staff`) is signed
and holds only the staff id, the factor reached and when it was issued; it expires after
`WebOptions.staff_session_minutes` (and after 10 minutes between the two factors). Every form
carries a CSRF token bound to that login. Passwords and codes never reach a log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_percent
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from manage import actions, staff
from manage.live import Broadcaster
from manage.scope import Forbidden, Scope
from signing.envelopes import Notifier
from signing.mail import Mail, Mailer
from store.models import Firm, Staff
from web.console_hooks import ACTION_KIND_LABELS, DELIVERY_LABELS, HookPages, outcomes_for
from web.i18n import LANGUAGES, _, translator
from web.options import WebOptions
from web.resume import SendLimiter
from web.wizard import templates

log = logging.getLogger("accord.web.console")

COOKIE = "accord_staff"
PENDING_MAX_AGE = 600  # seconds between the password and the code
LANG_KEY = "console_lang"
KEEPALIVE = 15.0

BAD_LOGIN = _("The e-mail address or the password is not right.")
LOCKED = _("Too many failed attempts: this account is locked for 15 minutes. Try again later.")
THROTTLED = _("Too many failed log-ins from this network. Please wait a few minutes and try again.")
FAILURES_PER_ADDRESS = 30  # failed passwords or codes per client address in 15 minutes, all accounts together
BAD_CODE = _("The code is not right. Type the 6 digits your authenticator app shows now.")
EXPIRED = _("Your session has ended. Please log in again.")
NO_MAIL = _("This server cannot send e-mail, so it cannot send the link.")
MAIL_FAILED = _("The e-mail could not be sent just now. Please try again in a few minutes.")
VIEW_ONLY = _("Your account can look but not change anything.")
NOT_FOUND = _("There is no such applicant in your console.")
STAFF_ONLY = _("Only owners and admins manage staff accounts.")
STAFF_REFUSED = _("You cannot change this account: not your own, and an owner's only by an owner.")
DONE = {"resend": _("The link was sent again."), "remind": _("A reminder was sent."),
        "reassign": _("The applicant was reassigned."), "extend": _("The expiry was extended."),
        "void": _("The envelope was voided."), "invite": _("The invitation was sent."),
        "deactivate": _("The account was deactivated."), "activate": _("The account was activated."),
        "reset-2fa": _("The authenticator was reset: a new one is set up at the next login."),
        "edit": _("The endpoint was saved."), "enable": _("The endpoint was enabled."),
        "disable": _("The endpoint was disabled."), "private": _("The setting was saved."),
        "redeliver": _("The delivery was queued again: the worker sends it in a moment."),
        "retry": _("The action was queued again: the worker runs it in a moment.")}
STATUS_LABELS = {"in_progress": _("In progress"), "completed": _("Interview completed"), "signing": _("Signing"),
                 "signed": _("Signed"), "declined": _("Declined"), "voided": _("Voided"), "expired": _("Expired"),
                 "stuck": _("Stuck")}
ROLE_LABELS = {"owner": _("Owner"), "admin": _("Admin"), "agent": _("Agent"), "viewer": _("Viewer")}
ACTION_LABELS = {"invited": _("Invited"), "link_resent": _("Link sent again"), "reminded": _("Reminded"),
                 "reassigned": _("Reassigned"), "extended": _("Expiry extended"), "voided": _("Voided"),
                 "completion_retried": _("On-completion action retried"),
                 "webhook_added": _("Endpoint added"), "webhook_edit": _("Endpoint edited"),
                 "webhook_rotate": _("Secret rotated"), "webhook_enable": _("Endpoint enabled"),
                 "webhook_disable": _("Endpoint disabled"), "webhook_test": _("Test event sent"),
                 "webhook_resend": _("Delivery resent"), "private_allowed": _("Private addresses allowed"),
                 "private_refused": _("Private addresses refused")}
FIELD_MESSAGES = [_("An e-mail address is needed to send the link."),
                  _("Enter an e-mail address like name@example.com."),
                  _("Enter the amount as a positive number, like 250000."), _("The name is too long."),
                  _("Choose one of the firm's interviews."), _("This applicant has no e-mail address yet."),
                  _("The interview is finished and nothing is out for signing."), _("Extend by 1 to 90 days."),
                  _("Say why the envelope is voided (the participants are told)."),
                  _("The applicant is assigned to this agent already.")]


# The `{action}` of `/console/s/{session_id}/{action}` and `/console/e/{envelope_id}/{action}`.
SESSION_ACTIONS = ("resend", "remind", "reassign")
ENVELOPE_ACTIONS = ("extend", "void")


@dataclass(frozen=True)
class Login:
    staff: Staff
    issued: int
    full: bool  # both factors done


class Console:
    def __init__(self, db: Engine, secret: str, *, broadcaster: Broadcaster, options: WebOptions | None = None,
                 mailer: Mailer | None = None, notifier: Notifier | None = None,
                 link: Callable[[str], str] | None = None) -> None:
        self.db = db
        self.secret = secret.encode("utf-8")
        self.serializer = URLSafeTimedSerializer(secret, salt="accord-staff")
        self.broadcaster = broadcaster
        self.options = options or WebOptions()
        self.mailer = mailer
        self.notifier = notifier
        self.link = link or (lambda sid: f"{self.options.public_url}/s/{sid}")
        # Guessing across many accounts from one address is slowed here; one account's own
        # lockout (`manage.staff`) holds whatever the address.
        self.failures = SendLimiter(FAILURES_PER_ADDRESS, window=900)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/console/login", self.login_form, methods=["GET"]),
            Route("/console/login", self.login, methods=["POST"]),
            Route("/console/2fa", self.second_form, methods=["GET"]),
            Route("/console/2fa", self.second, methods=["POST"]),
            Route("/console/logout", self.logout, methods=["POST"]),
            Route("/console", self.index, methods=["GET"]),
            Route("/console/rows", self.rows, methods=["GET"]),
            Route("/console/events", self.events, methods=["GET"]),
            Route("/console/invite", self.invite_form, methods=["GET"]),
            Route("/console/invite", self.invite, methods=["POST"]),
            Route("/console/s/{session_id}", self.detail, methods=["GET"]),
            Route("/console/s/{session_id}/live", self.detail_live, methods=["GET"]),
            Route("/console/s/{session_id}/{action:str}", self.session_action, methods=["POST"]),
            Route("/console/e/{envelope_id}/{action:str}", self.envelope_action, methods=["POST"]),
            *([Route("/console/reports", self.reports, methods=["GET"])] if _has_reports() else []),
            Route("/console/staff", self.staff_page, methods=["GET"]),
            Route("/console/staff/{staff_id:int}/{action:str}", self.staff_action, methods=["POST"]),
            *HookPages(self).routes(),
        ]

    # -- cookie, language, CSRF ---------------------------------------------------------------

    def _lang(self, request: Request) -> str:
        asked = request.query_params.get("lang")
        if asked in LANGUAGES:
            request.session[LANG_KEY] = asked
            return asked
        kept = request.session.get(LANG_KEY)
        return kept if kept in LANGUAGES else "en"

    def _issue(self, response: Response, staff_id: int, full: bool) -> None:
        value = self.serializer.dumps({"s": staff_id, "f": full, "i": int(time.time()), "n": secrets.token_hex(4)})
        response.set_cookie(COOKIE, value, httponly=True, samesite="lax", path="/console",
                            secure=self.options.public_url.startswith("https://"))

    def _read_cookie(self, request: Request) -> tuple[int, bool, int] | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self.serializer.loads(raw, max_age=int(self.options.staff_session_minutes * 60))
        except (SignatureExpired, BadSignature):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("s"), int) or not isinstance(data.get("i"), int):
            return None
        full = bool(data.get("f"))
        if not full and time.time() - data["i"] > PENDING_MAX_AGE:
            return None
        return data["s"], full, data["i"]

    async def _login(self, request: Request, *, full: bool = True) -> Login | None:
        found = self._read_cookie(request)
        if found is None or (full and not found[1]):
            return None
        staff_id, is_full, issued = found

        def load() -> Staff | None:
            with DB(self.db) as db:
                row = db.get(Staff, staff_id)
                if row is None or not row.active:
                    return None
                db.expunge(row)
                return row

        row = await run_in_threadpool(load)
        return Login(row, issued, is_full) if row is not None else None

    def csrf(self, login: Login) -> str:
        return hmac.new(self.secret, f"console:{login.staff.id}:{login.issued}".encode(), hashlib.sha256).hexdigest()

    def _login_csrf(self, request: Request) -> str:
        nonce = request.session.get("console_nonce")
        if not isinstance(nonce, str):
            nonce = secrets.token_hex(16)
            request.session["console_nonce"] = nonce
        return hmac.new(self.secret, f"console-login:{nonce}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _csrf_ok(form: FormData, expected: str) -> bool:
        sent = form.get("_csrf")
        return isinstance(sent, str) and hmac.compare_digest(sent, expected)

    def _page(self, request: Request, template: str, lang: str, login: Login | None = None, status: int = 200,
              **extra: Any) -> Response:
        _t = translator(lang)
        done = request.query_params.get("done") or ""
        context: dict[str, Any] = {
            "_": _t, "lang": lang, "me": login.staff if login else None,
            "csrf": self.csrf(login) if login else self._login_csrf(request),
            "can_write": login is not None and login.staff.role in ("owner", "admin", "agent"),
            "role_label": lambda r: _t(ROLE_LABELS.get(r) or r),
            "when": lambda d: _when(d, lang), "ago": lambda d: _ago(d, lang),
            "status_label": lambda s: _t(STATUS_LABELS.get(s) or s),
            "action_label": lambda a: _t(ACTION_LABELS.get(a) or a),
            "path": request.url.path, "notice": _t(DONE[done]) if done in DONE else None,
            "has_reports": _has_reports(), "failing": self._failing(login),
            "delivery_label": lambda s: _t(DELIVERY_LABELS.get(s) or s),
            "action_kind_label": lambda k: _t(ACTION_KIND_LABELS.get(k) or k), **extra,
        }
        html = templates.get_template(template).render(context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def _failing(self, login: Login | None) -> int:
        """The nav badge of owners and admins: deliveries of the firm that need a person."""
        if login is None or login.staff.role not in ("owner", "admin"):
            return 0
        from integrations.webhooks import failing_count

        with DB(self.db) as db:
            return failing_count(db, login.staff.firm_id)

    def _to_login(self, request: Request) -> Response:
        found = self._read_cookie(request)
        if found is not None and not found[1]:  # the password is done, the code is not
            return RedirectResponse("/console/2fa", status_code=303)
        response = RedirectResponse("/console/login?expired=1" if COOKIE in request.cookies else "/console/login",
                                    status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    def _not_found(self, request: Request, lang: str, login: Login) -> Response:
        return self._page(request, "console_message.html", lang, login, status=404,
                          message=translator(lang)(NOT_FOUND))

    # -- logging in ----------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        lang = self._lang(request)
        if await self._login(request) is not None:
            return RedirectResponse("/console", status_code=303)
        error = translator(lang)(EXPIRED) if request.query_params.get("expired") else None
        return self._page(request, "console_login.html", lang, error=error, email="")

    async def login(self, request: Request) -> Response:
        lang = self._lang(request)
        _t = translator(lang)
        form = await request.form()
        if not self._csrf_ok(form, self._login_csrf(request)):
            return HTMLResponse("", status_code=403)
        email = str(form.get("email") or "").strip()
        password = str(form.get("password") or "")
        address = request.client.host if request.client else "-"
        if not self.failures.allow(address):
            return self._page(request, "console_login.html", lang, status=429, error=_t(THROTTLED), email=email)

        def work() -> Staff | staff.LoginError:
            with DB(self.db) as db:
                try:
                    return staff.check_password(db, email, password)
                except staff.LoginError as exc:
                    return exc

        result = await run_in_threadpool(work)
        if isinstance(result, staff.LoginError):
            self.failures.record(address)
            locked = result.failure is staff.LoginFailure.LOCKED
            log.info("staff login refused", extra={"path": request.url.path})
            return self._page(request, "console_login.html", lang, status=429 if locked else 422,
                              error=_t(LOCKED if locked else BAD_LOGIN), email=email)
        assert result.id is not None
        response = RedirectResponse("/console/2fa", status_code=303)
        self._issue(response, result.id, full=False)
        return response

    async def second_form(self, request: Request) -> Response:
        lang = self._lang(request)
        login = await self._login(request, full=False)
        if login is None:
            return self._to_login(request)
        if login.full:
            return RedirectResponse("/console", status_code=303)
        return self._second_page(request, lang, login)

    def _second_page(self, request: Request, lang: str, login: Login, status: int = 200,
                     error: str | None = None) -> Response:
        enrolment = None
        qr = ""
        if login.staff.totp_secret is None:
            secret = request.session.get("console_enrol")
            if not isinstance(secret, str) or request.session.get("console_enrol_for") != login.staff.id:
                secret = None
            enrolment = staff.begin_enrolment(login.staff, secret)
            request.session["console_enrol"] = enrolment.secret
            request.session["console_enrol_for"] = login.staff.id
            qr = _qr_svg(enrolment.uri)
        return self._page(request, "console_2fa.html", lang, status=status, enrolment=enrolment, qr=qr, error=error,
                          csrf_pending=self.csrf(login))

    async def second(self, request: Request) -> Response:
        lang = self._lang(request)
        _t = translator(lang)
        login = await self._login(request, full=False)
        if login is None:
            return self._to_login(request)
        form = await request.form()
        if not self._csrf_ok(form, self.csrf(login)):
            return HTMLResponse("", status_code=403)
        code = str(form.get("code") or "")
        address = request.client.host if request.client else "-"
        if not self.failures.allow(address):
            return self._second_page(request, lang, login, status=429, error=_t(THROTTLED))
        secret = request.session.get("console_enrol") if login.staff.totp_secret is None else None
        staff_id = login.staff.id
        assert staff_id is not None

        def work() -> Staff | staff.LoginError:
            with DB(self.db) as db:
                try:
                    if isinstance(secret, str):
                        return staff.finish_enrolment(db, staff_id, secret, code)
                    return staff.check_code(db, staff_id, code)
                except staff.LoginError as exc:
                    return exc

        result = await run_in_threadpool(work)
        if isinstance(result, staff.LoginError):
            self.failures.record(address)
            if result.failure is staff.LoginFailure.LOCKED:
                response = self._page(request, "console_login.html", lang, status=429, error=_t(LOCKED), email="")
                response.delete_cookie(COOKIE, path="/console")
                return response
            return self._second_page(request, lang, login, status=422, error=_t(BAD_CODE))
        request.session.pop("console_enrol", None)
        request.session.pop("console_enrol_for", None)
        response = RedirectResponse("/console", status_code=303)
        self._issue(response, staff_id, full=True)
        log.info("staff logged in", extra={"path": request.url.path})
        return response

    async def logout(self, request: Request) -> Response:
        login = await self._login(request, full=False)
        form = await request.form()
        if login is not None and not self._csrf_ok(form, self.csrf(login)):
            return HTMLResponse("", status_code=403)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- the list ------------------------------------------------------------------------------

    def _filters(self, request: Request, scope: Scope, db: DB) -> dict[str, Any] | None:
        """The list's filters from the query string; None when one names something not in scope."""
        q = request.query_params
        status = q.get("status") or None
        from manage.applicants import STATUSES

        if status not in STATUSES:
            status = None
        try:
            page = max(1, int(q.get("page") or 1))
        except ValueError:
            page = 1
        filters: dict[str, Any] = {"query": (q.get("q") or "").strip()[:200] or None, "status": status,
                                   "stuck_only": q.get("stuck") == "1", "page": page,
                                   "stuck_after": dt.timedelta(hours=self.options.stuck_hours)}
        agent = q.get("agent")
        if agent:
            try:
                agent_id = int(agent)
            except ValueError:
                return None
            if scope.staff_member(db, agent_id) is None:
                return None
            filters["agent"] = agent_id
        return filters

    def _list(self, request: Request, login: Login) -> dict[str, Any] | None:
        scope = Scope.of(login.staff)
        with DB(self.db) as db:
            filters = self._filters(request, scope, db)
            if filters is None:
                return None
            agent = filters.pop("agent", None)
            if agent is not None and scope.agent_filter is not None and agent != scope.agent_filter:
                return None
            page = scope.applicants(db, **filters) if agent is None or scope.agent_filter is not None else \
                _agent_page(db, scope, agent, filters)
            return {"page": page, "filters": {**filters, "agent": agent}, "agents": scope.assignable(db),
                    "statuses": _statuses(), "querystring": request.url.query}

    async def index(self, request: Request) -> Response:
        lang = self._lang(request)
        login = await self._login(request)
        if login is None:
            return self._to_login(request)
        data = await run_in_threadpool(self._list, request, login)
        if data is None:
            return self._not_found(request, lang, login)
        return self._page(request, "console_list.html", lang, login, **data)

    async def rows(self, request: Request) -> Response:
        lang = self._lang(request)
        login = await self._login(request)
        if login is None:
            return HTMLResponse("", status_code=401)
        data = await run_in_threadpool(self._list, request, login)
        if data is None:
            return self._not_found(request, lang, login)
        return self._page(request, "console_rows.html", lang, login, **data)

    async def events(self, request: Request) -> Response:
        login = await self._login(request)
        if login is None:
            return HTMLResponse("", status_code=401)
        firm_id = login.staff.firm_id

        async def stream() -> AsyncIterator[str]:
            async with self.broadcaster.subscribe(firm_id) as queue:
                yield "retry: 2000\n\n"
                while True:
                    try:
                        change = await asyncio.wait_for(queue.get(), KEEPALIVE)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    # Only the kind: the page re-reads what it shows through its scoped queries,
                    # so no id of an applicant this staff member may not see ever reaches them.
                    yield f"event: change\ndata: {json.dumps({'kind': change.kind})}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # -- one applicant -------------------------------------------------------------------------

    def _detail(self, login: Login, session_id: str) -> dict[str, Any] | None:
        scope = Scope.of(login.staff)
        with DB(self.db) as db:
            detail = scope.applicant(db, session_id, stuck_after=dt.timedelta(hours=self.options.stuck_hours))
            if detail is None:
                return None
            return {"detail": detail, "actions": scope.actions_of(db, session_id), "agents": scope.assignable(db),
                    "session_id": session_id, "outcomes": outcomes_for(db, scope, session_id)}

    async def detail(self, request: Request) -> Response:
        return await self._detail_page(request, "console_detail.html")

    async def detail_live(self, request: Request) -> Response:
        return await self._detail_page(request, "console_detail_live.html")

    async def _detail_page(self, request: Request, template: str, status: int = 200, **extra: Any) -> Response:
        lang = self._lang(request)
        login = await self._login(request)
        if login is None:
            return self._to_login(request) if template == "console_detail.html" else HTMLResponse("", status_code=401)
        data = await run_in_threadpool(self._detail, login, request.path_params["session_id"])
        if data is None:
            return self._not_found(request, lang, login)
        return self._page(request, template, lang, login, status=status, **data, **extra)

    # -- actions -------------------------------------------------------------------------------

    def _send(self) -> actions.SendMail:
        mailer = self.mailer
        assert mailer is not None

        def send(name: str, email: str, subject: str, body: str) -> None:
            mailer.send(Mail(name, email, subject, body))

        return send

    @property
    def _days(self) -> str:
        return f"{self.options.resume_days:g}"

    async def _acting(self, request: Request) -> tuple[str, Login, FormData] | Response:
        lang = self._lang(request)
        login = await self._login(request)
        if login is None:
            return self._to_login(request)
        form = await request.form()
        if not self._csrf_ok(form, self.csrf(login)):
            return HTMLResponse("", status_code=403)
        return lang, login, form

    async def session_action(self, request: Request) -> Response:
        got = await self._acting(request)
        if isinstance(got, Response):
            return got
        lang, login, form = got
        session_id, action = request.path_params["session_id"], request.path_params["action"]
        if action not in SESSION_ACTIONS:
            return self._not_found(request, lang, login)
        scope = Scope.of(login.staff)

        def work() -> str | None:
            with DB(self.db) as db:
                if action == "reassign":
                    try:
                        agent_id = int(str(form.get("agent") or ""))
                    except ValueError:
                        raise LookupError("no such agent") from None
                    actions.reassign(db, scope, session_id, agent_id)
                    return None
                if self.mailer is None:
                    if scope.session(db, session_id) is None:
                        raise LookupError("no such applicant")
                    return NO_MAIL
                if action == "resend":
                    actions.resend(db, scope, session_id, send=self._send(), link=self.link, days=self._days)
                else:
                    actions.remind(db, scope, session_id, send=self._send(), link=self.link, days=self._days,
                                   notifier=self.notifier)
                return None

        done = f"/console/s/{session_id}?done={action}"
        if action == "reassign" and scope.agent_filter is not None:
            done = "/console?done=reassign"  # given away: no longer in this agent's console
        return await self._run(request, lang, login, work, done)

    async def envelope_action(self, request: Request) -> Response:
        got = await self._acting(request)
        if isinstance(got, Response):
            return got
        lang, login, form = got
        envelope_id, action = request.path_params["envelope_id"], request.path_params["action"]
        if action not in ENVELOPE_ACTIONS:
            return self._not_found(request, lang, login)
        scope = Scope.of(login.staff)
        back: list[str] = []

        def work() -> str | None:
            with DB(self.db) as db:
                envelope = scope.envelope(db, envelope_id)
                if envelope is None or envelope.session_id is None:
                    raise LookupError("no such envelope")
                back.append(envelope.session_id)
                if action == "extend":
                    try:
                        days = int(str(form.get("days") or ""))
                    except ValueError:
                        days = 0
                    actions.extend(db, scope, envelope_id, days)
                else:
                    actions.void(db, scope, envelope_id, str(form.get("reason") or ""), self.notifier)
                return None

        return await self._run(request, lang, login, work, lambda: f"/console/s/{back[0]}?done={action}",
                               session_of=lambda: back[0] if back else None)

    async def _run(self, request: Request, lang: str, login: Login, work: Callable[[], str | None],
                   done: str | Callable[[], str], session_of: Callable[[], str | None] | None = None) -> Response:
        _t = translator(lang)
        try:
            problem = await run_in_threadpool(work)
        except LookupError:
            return self._not_found(request, lang, login)
        except Forbidden:
            return self._page(request, "console_message.html", lang, login, status=403, message=_t(VIEW_ONLY))
        except actions.ActionError as exc:
            problem = str(exc)
        except OSError:
            problem = MAIL_FAILED
        if problem is not None:
            sid = session_of() if session_of else request.path_params.get("session_id")
            if sid is None:
                return self._not_found(request, lang, login)
            request.scope["path_params"] = {**request.path_params, "session_id": sid}
            return await self._detail_page(request, "console_detail.html", status=422, error=_t(problem))
        return RedirectResponse(done if isinstance(done, str) else done(), status_code=303)

    # -- inviting ------------------------------------------------------------------------------

    def _invite_context(self, login: Login) -> dict[str, Any]:
        with DB(self.db) as db:
            return {"interviews": Scope.of(login.staff).interviews(db)}

    async def invite_form(self, request: Request) -> Response:
        lang = self._lang(request)
        login = await self._login(request)
        if login is None:
            return self._to_login(request)
        if not Scope.of(login.staff).can_write:
            return self._page(request, "console_message.html", lang, login, status=403,
                              message=translator(lang)(VIEW_ONLY))
        context = await run_in_threadpool(self._invite_context, login)
        return self._page(request, "console_invite.html", lang, login, values={"lang": lang}, errors={}, **context)

    async def invite(self, request: Request) -> Response:
        got = await self._acting(request)
        if isinstance(got, Response):
            return got
        lang, login, form = got
        _t = translator(lang)
        scope = Scope.of(login.staff)
        if not scope.can_write:
            return self._page(request, "console_message.html", lang, login, status=403, message=_t(VIEW_ONLY))
        values = {k: str(form.get(k) or "") for k in ("interview", "lang", "name", "email", "amount")}
        prefill, field_errors = actions.parse_prefill(values)
        errors = {k: _t(v) for k, v in field_errors.items()}
        applicant_lang = values["lang"] if values["lang"] in LANGUAGES else "en"
        context = await run_in_threadpool(self._invite_context, login)
        if values["interview"] not in context["interviews"]:
            errors["interview"] = _t("Choose one of the firm's interviews.")
        if not errors and self.mailer is None:
            errors["email"] = _t(NO_MAIL)
        if errors:
            return self._page(request, "console_invite.html", lang, login, status=422, values=values, errors=errors,
                              **context)

        def work() -> str:
            with DB(self.db) as db:
                return actions.invite(db, scope, values["interview"], applicant_lang, prefill, send=self._send(),
                                      link=self.link, days=self._days).id

        try:
            session_id = await run_in_threadpool(work)
        except actions.ActionError as exc:
            errors[exc.field or "interview"] = _t(str(exc))
            return self._page(request, "console_invite.html", lang, login, status=422, values=values,
                              errors=errors, **context)
        except OSError:
            return self._page(request, "console_invite.html", lang, login, status=502, values=values,
                              errors={"email": _t(MAIL_FAILED)}, **context)
        return RedirectResponse(f"/console/s/{session_id}?done=invite", status_code=303)

    # -- staff accounts ------------------------------------------------------------------------

    def _staff_list(self, login: Login) -> list[Staff]:
        with DB(self.db) as db:
            rows = Scope.of(login.staff).staff_list(db)
            for row in rows:
                db.expunge(row)
            return rows

    async def staff_page(self, request: Request, status: int = 200, error: str | None = None) -> Response:
        lang = self._lang(request)
        login = await self._login(request)
        if login is None:
            return self._to_login(request)
        if login.staff.role not in ("owner", "admin"):
            return self._page(request, "console_message.html", lang, login, status=403,
                              message=translator(lang)(STAFF_ONLY))
        rows = await run_in_threadpool(self._staff_list, login)
        now = dt.datetime.now(dt.UTC)
        return self._page(request, "console_staff.html", lang, login, status=status, error=error, staff_rows=rows,
                          locked=lambda r: r.locked_until is not None and _aware(r.locked_until) > now)

    async def staff_action(self, request: Request) -> Response:
        got = await self._acting(request)
        if isinstance(got, Response):
            return got
        lang, login, _form = got
        _t = translator(lang)
        action, staff_id = request.path_params["action"], request.path_params["staff_id"]
        if action not in staff.STAFF_ACTIONS:
            return self._not_found(request, lang, login)

        def work() -> Staff | None | str:
            with DB(self.db) as db:
                actor = db.get(Staff, login.staff.id)
                assert actor is not None
                try:
                    return staff.manage_staff(db, actor, staff_id, action)
                except staff.StaffError as exc:
                    return str(exc)

        result = await run_in_threadpool(work)
        if result is None:
            return self._not_found(request, lang, login)
        if isinstance(result, str):
            if login.staff.role not in ("owner", "admin"):
                return self._page(request, "console_message.html", lang, login, status=403,
                                  message=_t(STAFF_ONLY))
            return await self.staff_page(request, status=422, error=_t(STAFF_REFUSED))
        return RedirectResponse(f"/console/staff?done={action}", status_code=303)

    # -- reports -------------------------------------------------------------------------------

    async def reports(self, request: Request) -> Response:
        lang = self._lang(request)
        login = await self._login(request)
        if login is None:
            return self._to_login(request)
        import importlib

        pages = importlib.import_module("web.console_reports")  # imports manage.charts (see _has_reports)
        response: Response = await pages.page(self, request, lang, login)
        return response


def _agent_page(db: DB, scope: Scope, agent_id: int, filters: dict[str, Any]) -> Any:
    from manage.applicants import list_applicants

    return list_applicants(db, scope.firm_id, agent_id=agent_id, **filters)


def _statuses() -> list[str]:
    from manage.applicants import STATUSES

    return list(STATUSES)


def _has_reports() -> bool:
    """The reports land with `manage.reports` (built alongside); the page is mounted when it exists."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("manage.reports", "manage.charts"))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _when(value: dt.datetime | None, lang: str) -> str:
    if value is None:
        return ""
    return format_datetime(_aware(value), "medium", tzinfo=dt.UTC, locale="vi" if lang == "vi" else "en_GB")


def _ago(value: dt.datetime | None, lang: str) -> str:
    if value is None:
        return ""
    delta = _aware(value) - dt.datetime.now(dt.UTC)
    return format_timedelta(delta, add_direction=True, locale="vi" if lang == "vi" else "en_GB")


def percent(value: float, lang: str) -> str:
    return format_percent(value, locale="vi" if lang == "vi" else "en_GB")


def _qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (qrcode, already locked for pyHanko's QR stamps)."""
    import qrcode  # type: ignore[import-untyped]
    import qrcode.image.svg  # type: ignore[import-untyped]

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    text = buffer.getvalue().decode("utf-8")
    return text[text.index("<svg"):]


def firm_name(db: DB, firm_id: int) -> str:
    firm = db.get(Firm, firm_id)
    return firm.name if firm else ""
