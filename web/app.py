"""The Starlette application: operations endpoints, the wizard (`web/wizard.py`), the chat
over the same sessions (`web/chat.py`) and the static files. htmx fragments for the wizard and
the JSON API are still to come (issue 3).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.resources
import json
import logging
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session as DBSession
from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from integrations.connectors import Registry
from manage.live import Broadcaster, InProcessBroadcaster
from payments import PaymentProvider
from signing.mail import Mailer, code_sender, envelope_notifier
from signing.pki import PKI
from signing.sms import SmsSender, sms_code_sender
from store import changes, migrate
from store.database import check
from web.agreement import AgreementPages
from web.api import Api
from web.chat import Chat
from web.console import Console
from web.options import WebOptions
from web.payments import PaymentWebhook
from web.prefill import PrefillStart
from web.resume import Resume
from web.signing import SigningPages
from web.trust import TrustEndpoints
from web.verify import VerifyPage
from web.wizard import Wizard

log = logging.getLogger("accord.web")
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and `extra` fields.

    Log only what is safe: methods, paths (never query strings or bodies), status codes,
    durations, ids. Answers and other personal data never go to the logs."""

    FIELDS = ("method", "path", "status", "duration_ms", "session")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = record.exc_info[0].__name__ if record.exc_info[0] else "exception"
        return json.dumps(entry, ensure_ascii=False)


def _stamp_request_id(record: logging.LogRecord) -> bool:
    """Records logged while a request is handled carry its id, whoever logs them."""
    if not hasattr(record, "request_id"):
        record.request_id = request_id.get()
    return True


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for everything (uvicorn's and alembic's loggers included)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter())
    handler.addFilter(_stamp_request_id)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces its context on every /readyz probe; store.migrate logs what matters.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


_CREDENTIAL_PATHS = ("/sign/", "/r/")  # the next path segment is a signed link: a credential


def _loggable(path: str) -> str:
    """The path with signed-link tokens replaced, so logs never hold a working link."""
    for prefix in _CREDENTIAL_PATHS:
        if path.startswith(prefix):
            rest = path[len(prefix):]
            tail = rest.split("/", 1)[1] if "/" in rest else ""
            return f"{prefix}[token]" + (f"/{tail}" if tail else "")
    return path


class RequestIdMiddleware:
    """Gives every request an id (a sane incoming `X-Request-ID`, else a new one), returns it in
    the `X-Request-ID` header and logs one line per request: method, path, status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum() else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "request_id": rid,
                    "method": scope.get("method"),
                    "path": _loggable(scope.get("path") or ""),  # never query strings (they may carry answers)
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id.reset(token)


ROOT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Accord</title></head>
<body><main><h1>Accord</h1>
<p>The server is running. Start the example interview as a wizard:
<a href="/i/loan_application?lang=en">in English</a> or <a href="/i/loan_application?lang=vi">in Vietnamese</a>.
The chat mode lands later with issue 3.</p></main></body></html>
"""


def htmx_script() -> bytes:
    """htmx as shipped by the pinned pip package `django-js-lib-htmx` (module `js_lib_htmx`)."""
    return (importlib.resources.files("js_lib_htmx") / "static" / "htmx" / "htmx.min.js").read_bytes()


def create_app(db: Engine, secret_key: str | None = None, *, https_only: bool = False,
               options: WebOptions | None = None, blob_dir: Path | None = None,
               mailer: Mailer | None = None, pki: PKI | None = None, public_url: str = "",
               sms: SmsSender | None = None, integrations: Registry | None = None,
               broadcaster: Broadcaster | None = None,
               payments: PaymentProvider | None = None) -> Starlette:
    """The application over an already created (and normally migrated) database engine.

    `secret_key` signs the session cookie and derives the CSRF tokens (`accord serve` passes
    `ACCORD_SECRET_KEY` or the key kept in the data dir); without one a random key is used,
    so cookies do not survive a restart. `blob_dir` keeps rendered agreements (`accord serve`
    passes `<data dir>/blobs`); without one a temporary folder is used. `mailer` sends the
    signing e-mails (none: they are not sent), `pki` is Accord's CA (with it the app signs and
    seals PAdES documents; without it signing answers 503), `public_url` prefixes the links in
    e-mails and stamps (and is the passkeys' relying party), `sms` sends SMS codes, `payments` takes the
    payment step of envelopes that have one (none: the payer's page says payment is not configured, and the
    webhook answers 503). `broadcaster`
    carries committed changes to the agent console's live pages (`manage.live`; default: in this
    process only; `accord serve` passes LISTEN/NOTIFY on PostgreSQL)."""
    secret = secret_key or secrets.token_urlsafe(32)
    wizard = Wizard(db, secret, options=options)
    blobs = blob_dir or Path(tempfile.mkdtemp(prefix="accord-blobs-"))
    agreements = AgreementPages(db, wizard, blobs)
    notifier = envelope_notifier(lambda: DBSession(db), mailer, secret, public_url) if mailer else None
    send_code = code_sender(lambda: DBSession(db), mailer) if mailer else None
    send_sms = sms_code_sender(lambda: DBSession(db), sms) if sms else None
    signing_pages = SigningPages(db, secret, blobs, notifier=notifier, send_code=send_code, send_sms=send_sms,
                                 public_url=public_url, payments=payments)
    payment_webhook = PaymentWebhook(db, payments, notifier=notifier, after=signing_pages.seal_if_complete)
    verify_page = VerifyPage(db, pki)

    live = broadcaster or InProcessBroadcaster()
    stop_listening = changes.listen(live.publish)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """One aiohttp session and one `Pades` for the process (they belong to the event loop)."""
        try:
            async with _signing(app):
                yield
        finally:
            stop_listening()
            live.close()

    @contextlib.asynccontextmanager
    async def _signing(app: Starlette) -> AsyncIterator[None]:
        if pki is None:
            yield
            return
        import aiohttp

        from signing.pades import Pades
        from signing.sealing import PadesSigner

        async with aiohttp.ClientSession() as session:
            pades = Pades(pki, session, font_cache=blobs.parent / "fonts" if blob_dir else None)
            signing_pages.signer = PadesSigner(pki, pades)
            signing_pages.pades = pades
            yield
    resume = Resume(wizard, secret)
    htmx = htmx_script()

    def htmx_js(request: Request) -> Response:
        return Response(htmx, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    def root(request: Request) -> Response:
        return HTMLResponse(ROOT_PAGE)

    def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    def readyz(request: Request) -> Response:
        reason = check(db)
        if reason is None:
            try:
                current, head = migrate.current_revision(db), migrate.head()
            except Exception as exc:  # a broken schema table is "not ready", not a crash
                current, head = None, f"unknown ({type(exc).__name__})"
            if current != head:
                reason = f"migrations not current: database at {current or 'none'}, code at {head}"
        if reason is not None:
            log.warning("not ready", extra={"path": request.url.path})
            return JSONResponse({"ready": False, "reason": reason}, status_code=503)
        return JSONResponse({"ready": True})

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/", root),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            # Starlette tries routes in order: the API's step is the busiest path, and no other
            # route's pattern overlaps `/api/` or `/openapi.json`, so it is matched early.
            *Api(db, secret).routes(),
            *wizard.routes(),
            *agreements.routes(),
            *signing_pages.routes(),
            *payment_webhook.routes(),
            *verify_page.routes(),
            *(TrustEndpoints(pki).routes() if pki is not None else []),
            *Chat(wizard).routes(),
            *resume.routes(),
            *PrefillStart(wizard, secret, integrations or Registry()).routes(),
            Route("/static/vendor/htmx.min.js", htmx_js),
            *Console(db, secret, broadcaster=live, options=options, mailer=mailer, notifier=notifier,
                     link=resume.link).routes(),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
    )
    # The cookie holds only the ids of the sessions this browser opened (signed, not encrypted).
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="accord", same_site="lax",
                       https_only=https_only, max_age=30 * 24 * 3600)
    app.add_middleware(RequestIdMiddleware)
    app.state.db = db
    app.state.blob_dir = blobs
    app.state.signing_notifier = notifier
    app.state.broadcaster = live  # for whoever sends envelopes (the agent console, tests)
    return app
