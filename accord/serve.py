"""`accord serve`: prepare the data directory and the database, then run the web app.

On an empty data directory this creates it, creates and migrates the SQLite database and
seeds the demo firm with the shipped interviews: zero configuration.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session as DB

from accord import gctune
from accord.settings import Settings

if TYPE_CHECKING:
    from payments import PaymentProvider
    from signing.mail import Mailer
    from signing.pki import PKI
    from signing.sms import SmsSender
    from web.options import WebOptions

log = logging.getLogger("accord.serve")

DEMO_FIRM = ("demo", "Demo firm")
DEMO_AGENT = ("agent@demo.invalid", "Demo Agent")


def prepare(settings: Settings) -> Engine:
    """Create the data dir, migrate the database, seed the demo firm; the engine to serve with."""
    from store import migrate
    from store.database import make_engine

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_encryption(settings)  # before migrating: a migration may encrypt stored secrets
    db = make_engine(settings.database_url)
    migrate.upgrade(db)
    seed(db, settings.interviews_dir)
    wire_rooms()
    return db


def wire_rooms() -> None:
    """What one room offers another without either importing the other: the console's "card
    declined" flag reads the payment step's failures (`signing.payment`)."""
    from manage.applicants import register_declined_cards
    from signing.payment import declined_card_sessions

    register_declined_cards(declined_card_sessions)


def seed_demo_agent(db: Engine) -> str | None:
    """The demo firm's agent, created on the first start with a random password, which is
    returned (to be printed once: only its hash is kept); None when the account exists already."""
    from sqlmodel import select

    from manage.staff import create_staff
    from store.models import Staff

    with DB(db) as session:
        if session.exec(select(Staff).where(Staff.email == DEMO_AGENT[0])).first() is not None:
            return None
        password = secrets.token_urlsafe(12)
        create_staff(session, DEMO_FIRM[0], DEMO_AGENT[0], DEMO_AGENT[1], "agent", password)
        return password


def seed(db: Engine, interviews_dir: Path) -> None:
    """The demo firm and a version of every shipped interview (publishing is idempotent)."""
    import engine
    from store.sessions import ensure_firm, publish_interview

    with DB(db) as session:
        firm = ensure_firm(session, *DEMO_FIRM)
        for path in sorted(interviews_dir.glob("*.yml")):
            try:
                version = publish_interview(session, firm, path.stem, path)
            except engine.LoadError as exc:
                log.error("interview not published: %s (%d problems)", path.name, len(exc.problems))
                continue
            log.info("interview published: %s version %s", path.stem, version.content_hash)


def secret_key(settings: Settings, env: dict[str, str] | None = None) -> str:
    """`ACCORD_SECRET_KEY`, else the key kept in `<data dir>/secret_key` (created on first use,
    readable by its owner only): it signs the session cookie and derives the CSRF tokens."""
    value = (os.environ if env is None else env).get("ACCORD_SECRET_KEY", "")
    if value:
        return value
    path = settings.data_dir / "secret_key"
    if not path.is_file():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def configure_encryption(settings: Settings, env: dict[str, str] | None = None) -> None:
    """The key ring for secrets at rest (`store.secretbox`): `ACCORD_ENCRYPTION_KEYS`, else the
    key derived from the server's secret key (`secret_key` above)."""
    from store import secretbox

    source = os.environ if env is None else env
    if source.get(secretbox.ENV_KEYS, "").strip():
        secretbox.configure(secretbox.from_env(source))
    else:
        secretbox.configure(secretbox.from_env(source, secret_key=secret_key(settings, env)))


def web_options(settings: Settings) -> WebOptions:
    from web.options import WebOptions

    return WebOptions(data_dir=settings.data_dir, smtp_host=settings.smtp_host, smtp_port=settings.smtp_port,
                      mail_from=settings.mail_from, public_url=settings.public_url,
                      resume_days=settings.resume_days, max_upload_mb=settings.max_upload_mb,
                      staff_session_minutes=settings.staff_session_minutes, stuck_hours=settings.stuck_hours)


def mailer(settings: Settings) -> Mailer:
    """SMTP when `ACCORD_SMTP_HOST` is set; else the console (the demo prints the e-mails it would send)."""
    from signing.mail import ConsoleMailer, SMTPMailer

    if settings.smtp_host:
        return SMTPMailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    return ConsoleMailer()


def sms_sender(settings: Settings) -> SmsSender:
    """The SMS gateway when `ACCORD_SMS_URL` is set; else the console (the demo prints the codes)."""
    from signing.sms import ConsoleSms, HttpSmsGateway

    if settings.sms_url:
        return HttpSmsGateway(settings.sms_url, settings.sms_account, settings.sms_token, settings.sms_from)
    return ConsoleSms()


def open_pki(settings: Settings) -> PKI:
    """Accord's CA in `<data dir>/pki`, created on first start (keys encrypted; see signing/pki.py)."""
    from signing.pki import PKI

    return PKI.open(settings.data_dir / "pki", f"{settings.public_url}/pki")


def payment_provider(settings: Settings) -> PaymentProvider | None:
    """Stripe Checkout when both Stripe secrets are set; else None, and the payer's page says that
    payment is not configured (the rest of the demo works as before)."""
    if not settings.stripe_secret_key and not settings.stripe_webhook_secret:
        log.warning("payment is not configured: set ACCORD_STRIPE_SECRET_KEY and ACCORD_STRIPE_WEBHOOK_SECRET "
                    "to take payments (docs/payments.md)")
        return None
    from payments.stripe_checkout import StripeCheckout

    try:
        provider = StripeCheckout(settings.stripe_secret_key, settings.stripe_webhook_secret,
                                  api_base=settings.stripe_api_base)
    except ValueError as exc:
        log.error("payment is not configured: %s", exc)
        return None
    log.info("payments: Stripe Checkout (%s mode)", "test" if provider.test_mode else "live")
    return provider


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import configure_logging, create_app

    configure_logging()
    settings = Settings.from_env()
    db = prepare(settings)
    log.info("serving on http://%s:%d/", args.host, args.port)
    base = f"http://{args.host}:{args.port}"
    # The one thing a person starting the demo needs: where the applicant begins (stdout, not the log).
    print(f"Applicant link: {base}/i/loan_application  (Tiếng Việt: {base}/i/loan_application?lang=vi)", flush=True)
    if settings.demo_agent:
        password = seed_demo_agent(db)
        if password is not None:  # stdout only, once: the log never holds it
            print(f"Agent console: {base}/console/login  e-mail {DEMO_AGENT[0]}  password {password}  "
                  "(shown this once; `accord staff add` makes more accounts)", flush=True)
    provider = payment_provider(settings)
    if provider is None:
        print("Payments: not configured (set ACCORD_STRIPE_SECRET_KEY and ACCORD_STRIPE_WEBHOOK_SECRET; "
              "see docs/payments.md). Payers see that payment is not configured.", flush=True)
    from accord.worker_cmd import build_runner, registry
    from jobs.queue import QueueConfigError
    from jobs.worker import start_thread
    from manage.live import broadcaster_for

    # access_log off: our middleware logs each request (path only, with its request id).

    mail = mailer(settings)
    app = create_app(db, secret_key(settings), blob_dir=settings.data_dir / "blobs", options=web_options(settings),
                     mailer=mail, pki=open_pki(settings), public_url=settings.public_url,
                     sms=sms_sender(settings), integrations=registry(settings), payments=provider,
                     broadcaster=broadcaster_for(settings.database_url))
    # The outbox worker runs in-process (webhooks, on-completion actions) unless ACCORD_WORKER=off,
    # for deployments that run `accord worker` processes instead; ACCORD_QUEUE picks its backend.
    stop = None
    if os.environ.get("ACCORD_WORKER", "on") != "off":
        try:
            runner = build_runner(db, settings, mail)
        except QueueConfigError as exc:
            print(f"accord: {exc}", file=sys.stderr)
            db.dispose()
            return 2
        _thread, stop = start_thread(runner, interval=0.5)
    gctune.tune()  # the application is built: see accord/gctune.py
    # Open console event streams never end by themselves: give them 5 s to close on shutdown.
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, timeout_graceful_shutdown=5)
    if stop is not None:
        stop.set()
    db.dispose()
    return 0
