"""Leaving the wizard without losing anything: "save and continue later" (a signed, expiring
link by e-mail), exit and restart.

    GET  /s/{id}/save      the e-mail form (the wizard's Save button keeps the typed draft first)
    POST /s/{id}/save      send the link: CSRF, rate limit per session, SMTP in a thread
    GET  /r/{token}        a resume link: adds the session to this browser's cookie, 303 to /s/{id};
                           expired 410, tampered 400 (a page saying what to do)
    GET  /s/{id}/exit      "your answers are kept", with the resume options
    GET  /s/{id}/restart   confirm; POST starts a new session of the same interview version
                           (the old one is kept and stays in the cookie)

The token is itsdangerous' `URLSafeTimedSerializer` over the session id with the app secret
(salt "accord-resume"), valid `ACCORD_RESUME_DAYS`. Sends are limited per session in this process
(`resume_sends_per_hour`, default 3). The address and the link never go to the logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Session as DB
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine import coerce
from store.models import Firm, InterviewVersion
from store.models import Session as SessionRow
from store.sessions import start_session
from web import mail
from web.i18n import _, translator
from web.wizard import Wizard, remember, render

log = logging.getLogger("accord.web.resume")

SUBJECT = _("Continue your application")
BODY = _(
    "You asked us to keep your answers so you can continue later.\n\n"
    "Open this link to continue where you left off (it works for {days} days, in any browser):\n\n"
    "{link}\n\n"
    "If you did not ask for this, you can ignore this e-mail: nothing happens until the link is opened."
)
BAD_EMAIL = _("Enter an e-mail address like name@example.com.")
SENT = _("We sent a link to {email}. It works for {days} days. You can close this page.")
TOO_MANY = _("We already sent {n} links for these answers in the last hour. Please wait before asking again, "
             "or use a link you already received.")
NO_MAIL = _("This server cannot send e-mail, so it cannot send you a link. Your answers are kept: come back "
            "to this page in this browser to continue.")
MAIL_FAILED = _("The e-mail could not be sent just now. Your answers are kept; please try again in a few minutes.")
EXPIRED = _("This link has expired. Links to continue work for {days} days. Start again, or ask for a new link "
            "from a browser where the application is still open.")
TAMPERED = _("This link is not valid: it may have been cut short or changed. Copy the whole link from the "
             "e-mail and open it again.")


class SendLimiter:
    """At most `limit` sends per session in a sliding hour (per process: a restart forgets)."""

    def __init__(self, limit: int, window: float = 3600) -> None:
        self.limit, self.window = limit, window
        self.sent: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, session_id: str) -> bool:
        now = time.monotonic()
        with self.lock:
            times = self.sent.setdefault(session_id, deque())
            while times and now - times[0] > self.window:
                times.popleft()
            return len(times) < self.limit

    def record(self, session_id: str) -> None:
        with self.lock:
            self.sent.setdefault(session_id, deque()).append(time.monotonic())


class Resume:
    def __init__(self, wizard: Wizard, secret_key: str) -> None:
        self.wizard = wizard
        self.options = wizard.options
        self.serializer = URLSafeTimedSerializer(secret_key, salt="accord-resume")
        self.limiter = SendLimiter(self.options.resume_sends_per_hour)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/s/{session_id}/save", self.save_form, methods=["GET"]),
            Route("/s/{session_id}/save", self.send, methods=["POST"]),
            Route("/r/{token}", self.resume, methods=["GET"]),
            Route("/s/{session_id}/exit", self.exit, methods=["GET"]),
            Route("/s/{session_id}/restart", self.restart_form, methods=["GET"]),
            Route("/s/{session_id}/restart", self.restart, methods=["POST"]),
        ]

    # -- tokens --------------------------------------------------------------------------------

    def token(self, session_id: str) -> str:
        return self.serializer.dumps({"s": session_id})

    def link(self, session_id: str) -> str:
        return f"{self.options.public_url}/r/{self.token(session_id)}"

    @property
    def days(self) -> str:
        return f"{self.options.resume_days:g}"

    # -- routes --------------------------------------------------------------------------------

    async def save_form(self, request: Request) -> Response:
        session_id, lang = await self._session(request)
        if lang is None:
            return self.wizard._plain(request, 404)
        return self._page(request, "save.html", session_id, lang)

    async def send(self, request: Request) -> Response:
        session_id, lang = await self._session(request)
        if lang is None:
            return self.wizard._plain(request, 404)
        form = await request.form()
        if not self.wizard.csrf_ok(session_id, form):
            return self.wizard._plain(request, 403)
        _t = translator(lang)
        raw = form.get("email")
        email = raw.strip() if isinstance(raw, str) else ""
        if not coerce.is_email(email) or len(email) > 254 or "\n" in email or "\r" in email:
            return self._page(request, "save.html", session_id, lang, status=422, email=email,
                              error=_t(BAD_EMAIL))
        if not self.options.smtp_host:
            return self._page(request, "save.html", session_id, lang, status=503, email=email, notice=_t(NO_MAIL))
        if not self.limiter.allow(session_id):
            notice = _t(TOO_MANY).format(n=self.options.resume_sends_per_hour)
            return self._page(request, "save.html", session_id, lang, status=429, email=email, notice=notice)
        body = _t(BODY).format(days=self.days, link=self.link(session_id))
        try:
            await run_in_threadpool(mail.send, self.options.smtp_host, self.options.smtp_port, self.options.mail_from,
                                    email, _t(SUBJECT), body)
        except mail.MailError as exc:
            log.warning("resume link not sent", extra={"session": session_id, "error_kind": str(exc)})
            return self._page(request, "save.html", session_id, lang, status=502, email=email,
                              notice=_t(MAIL_FAILED))
        self.limiter.record(session_id)
        log.info("resume link sent", extra={"session": session_id})
        return self._page(request, "message.html", session_id, lang, message=_t(SENT).format(email=email,
                                                                                                   days=self.days))

    async def resume(self, request: Request) -> Response:
        token = request.path_params["token"]
        try:
            data = self.serializer.loads(token, max_age=int(self.options.resume_days * 86400))
        except SignatureExpired:
            lang = self._lang_of_token(token)
            _t = translator(lang)
            return render(request, "message.html", {"_": _t, "lang": lang,
                                                     "message": _t(EXPIRED).format(days=self.days)}, 410)
        except BadSignature:
            return render(request, "message.html", {"_": translator("en"), "lang": "en",
                                                     "message": translator("en")(TAMPERED)}, 400)
        session_id = data.get("s") if isinstance(data, dict) else None
        if not isinstance(session_id, str):
            return self.wizard._plain(request, 404)
        known = await run_in_threadpool(self._lang, session_id)
        if known is None:
            return self.wizard._plain(request, 404)
        remember(request, session_id)
        return RedirectResponse(f"/s/{session_id}", status_code=303)

    async def exit(self, request: Request) -> Response:
        session_id, lang = await self._session(request)
        if lang is None:
            return self.wizard._plain(request, 404)
        return self._page(request, "exit.html", session_id, lang)

    async def restart_form(self, request: Request) -> Response:
        session_id, lang = await self._session(request)
        if lang is None:
            return self.wizard._plain(request, 404)
        return self._page(request, "restart.html", session_id, lang)

    async def restart(self, request: Request) -> Response:
        session_id, lang = await self._session(request)
        if lang is None:
            return self.wizard._plain(request, 404)
        form = await request.form()
        if not self.wizard.csrf_ok(session_id, form):
            return self.wizard._plain(request, 403)
        new_id = await run_in_threadpool(self._restart, session_id)
        if new_id is None:
            return self.wizard._plain(request, 404)
        remember(request, new_id)
        return RedirectResponse(f"/s/{new_id}", status_code=303)

    # -- helpers -------------------------------------------------------------------------------

    async def _session(self, request: Request) -> tuple[str, str | None]:
        """The session id of the path and its language, or None when this browser may not open it."""
        session_id: str = request.path_params["session_id"]
        if not self.wizard._owned(request, session_id):
            return session_id, None
        return session_id, await run_in_threadpool(self._lang, session_id)

    def _lang(self, session_id: str) -> str | None:
        with DB(self.wizard.db) as db:
            row = db.get(SessionRow, session_id)
            return row.lang if row is not None else None

    def _lang_of_token(self, token: str) -> str:
        """An expired token's session language (the signature is still checked), for the message."""
        try:
            data = self.serializer.loads(token)  # no max_age: only to choose the language
        except BadSignature:
            return "en"
        session_id = data.get("s") if isinstance(data, dict) else None
        return (self._lang(session_id) if isinstance(session_id, str) else None) or "en"

    def _restart(self, session_id: str) -> str | None:
        with DB(self.wizard.db) as db:
            old = db.get(SessionRow, session_id)
            if old is None:
                return None
            version = db.get(InterviewVersion, old.interview_version_id)
            firm = db.get(Firm, old.firm_id)
            if version is None or firm is None:
                return None
            new = start_session(db, firm, version, old.lang)
            log.info("session restarted", extra={"session": new.id})
            return new.id

    def _page(self, request: Request, template: str, session_id: str, lang: str, status: int = 200,
              **extra: Any) -> Response:
        context: dict[str, Any] = {
            "_": translator(lang), "lang": lang, "session_id": session_id, "action": f"/s/{session_id}",
            "csrf": self.wizard.csrf_token(session_id), "mail_enabled": bool(self.options.smtp_host),
            "days": self.days, **extra,
        }
        return render(request, template, context, status)
