"""`accord worker`, `accord webhook …` and `accord prefill-link`: the outbox worker and the
domain functions of `integrations/` on the command line (the staff console's webhook pages,
`web/console_hooks.py`, call the same functions).

The integrations file is `ACCORD_INTEGRATIONS_FILE` (default `<data dir>/integrations.yml`)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select

from accord import gctune
from accord.settings import Settings

if TYPE_CHECKING:
    from integrations.connectors import Registry
    from jobs.worker import Runner, Worker
    from signing.mail import Mailer


def integrations_file(settings: Settings) -> Path:
    return Path(os.environ.get("ACCORD_INTEGRATIONS_FILE") or settings.data_dir / "integrations.yml")


def registry(settings: Settings) -> Registry:
    from integrations import connectors

    return connectors.FileRegistry(integrations_file(settings))


def build_worker(db: Engine, settings: Settings, mailer: Mailer | None, *,
                 lease: dt.timedelta = dt.timedelta(seconds=60)) -> Worker:
    """The worker with its consumers: the firm's webhooks (alerts to its admins by e-mail) and the
    interviews' `on completion` actions."""
    from accord.autosend import AutoSend
    from accord.serve import secret_key
    from integrations.completion import CompletionConsumer
    from integrations.webhooks import Alert, WebhookConsumer
    from jobs.worker import Consumer, Worker
    from signing.mail import Mail, envelope_notifier

    def alert(a: Alert) -> None:
        if mailer is not None:
            for name, email in a.to:
                mailer.send(Mail(to_name=name, to_email=email, subject=a.subject, body=a.body))

    found = registry(settings)
    notifier = (envelope_notifier(lambda: DB(db), mailer, secret_key(settings), settings.public_url)
                if mailer is not None else None)
    consumers: list[Consumer] = [WebhookConsumer(alert=alert), CompletionConsumer(found),
                 AutoSend(found, settings.data_dir / "blobs", notifier)]
    return Worker(db, consumers, lease=lease)


def build_runner(db: Engine, settings: Settings, mailer: Mailer | None, *,
                 lease: dt.timedelta = dt.timedelta(seconds=60), concurrency: int = 4, sweep_every: float = 30.0,
                 stalled_after: float = 30.0) -> Runner:
    """The worker of the backend `ACCORD_QUEUE` names: the table worker itself, or the same worker
    behind procrastinate's jobs (`jobs.queue`). Raises `QueueConfigError` for a backend the
    database cannot carry."""
    from jobs.queue import QueueWorker, backend

    kind = backend(settings.database_url, settings.queue)
    worker = build_worker(db, settings, mailer, lease=lease)
    if kind == "table":
        return worker
    return QueueWorker(worker, settings.database_url, concurrency=concurrency, sweep_every=sweep_every,
                       stalled_after=stalled_after)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser("worker", help="deliver the outbox: webhooks and on-completion actions, with retries")
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between idle passes (default 1)")
    worker.add_argument("--lease", type=float, default=60.0,
                        help="seconds a claimed delivery is held before another worker may retry it (default 60)")
    queue = worker.add_argument_group("ACCORD_QUEUE=procrastinate", "the PostgreSQL job queue (docs/webhooks.md)")
    queue.add_argument("--concurrency", type=int, default=4, help="deliveries in flight at once (default 4)")
    queue.add_argument("--sweep", type=float, default=30.0,
                       help="seconds between sweeps for chains without a job and jobs of dead workers (default 30)")
    queue.add_argument("--stalled-after", type=float, default=30.0,
                       help="seconds without a heartbeat after which a worker counts as dead (default 30)")
    hook = sub.add_parser("webhook", help="a firm's outbound webhooks")
    hook.add_argument("--firm", default="demo", help="the firm's slug (default: demo)")
    hs = hook.add_subparsers(dest="webhook_command", required=True)
    add = hs.add_parser("add", help="add an endpoint; prints its id and signing secret")
    add.add_argument("url")
    add.add_argument("--events", default="*", help="comma-separated types or patterns (default: *)")
    add.add_argument("--description", default="")
    hs.add_parser("list", help="the firm's endpoints")
    for name, text in (("test", "send a webhook.test event now"), ("enable", "enable an endpoint"),
                       ("disable", "disable an endpoint"), ("rotate", "new secret; old ones sign for 24 h more")):
        p = hs.add_parser(name, help=text)
        p.add_argument("endpoint", type=int)
    log = hs.add_parser("log", help="the delivery log of an endpoint (JSON lines)")
    log.add_argument("endpoint", type=int)
    log.add_argument("--limit", type=int, default=20)
    resend = hs.add_parser("resend", help="queue a delivery again")
    resend.add_argument("delivery", type=int)
    private = hs.add_parser("allow-private", help="allow or refuse private and loopback targets for the firm")
    private.add_argument("allow", choices=["yes", "no"])
    completion = sub.add_parser("completion", help="an agreement's on-completion actions and their outcomes")
    completion.add_argument("--firm", default="demo")
    cs = completion.add_subparsers(dest="completion_command", required=True)
    clog = cs.add_parser("log", help="each action of an agreement with every attempt (JSON lines)")
    clog.add_argument("agreement")
    cretry = cs.add_parser("retry", help="run a failed action again now")
    cretry.add_argument("delivery", type=int)
    link = sub.add_parser("prefill-link", help="a signed start link that prefills a session from a CRM record")
    link.add_argument("--firm", default="demo")
    link.add_argument("--interview", required=True)
    link.add_argument("--record", required=True)
    link.add_argument("--lang", default="en")


def cmd_worker(args: argparse.Namespace) -> int:
    from accord.serve import mailer, prepare
    from jobs.queue import QueueConfigError, QueueWorker
    from web.app import configure_logging

    configure_logging()
    settings = Settings.from_env()
    db = prepare(settings)
    try:
        worker = build_runner(db, settings, mailer(settings), lease=dt.timedelta(seconds=args.lease),
                              concurrency=args.concurrency, sweep_every=args.sweep, stalled_after=args.stalled_after)
    except QueueConfigError as exc:
        print(f"accord: {exc}", file=sys.stderr)
        db.dispose()
        return 2
    if args.once:
        done = worker.run_once()
        print(f"dispatched: {done}" if isinstance(worker, QueueWorker) else f"attempts: {done}")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    gctune.tune()
    print(f"worker running ({settings.queue or 'table'})", flush=True)
    try:
        worker.run(stop, args.interval)
    except KeyboardInterrupt:
        pass
    db.dispose()
    return 0


def cmd_webhook(args: argparse.Namespace) -> int:
    from integrations import webhooks

    with _firm_session(args.firm) as (session, firm_id):
        if firm_id is None:
            return 2
        try:
            return _webhook(session, firm_id, args)
        except webhooks.WebhookError as exc:
            print(f"accord: {exc}", file=sys.stderr)
            return 1


@contextmanager
def _firm_session(slug: str) -> Iterator[tuple[DB, int | None]]:
    """A database session and the id of the firm `slug` (None, said on stderr, when there is none)."""
    from accord.serve import configure_encryption
    from store.database import make_engine
    from store.models import Firm

    settings = Settings.from_env()
    configure_encryption(settings)  # webhook secrets are stored encrypted
    db = make_engine(settings.database_url)
    try:
        with DB(db) as session:
            firm = session.exec(select(Firm).where(Firm.slug == slug)).first()
            if firm is None or firm.id is None:
                print(f"accord: no firm {slug!r}", file=sys.stderr)
                yield session, None
            else:
                yield session, firm.id
    finally:
        db.dispose()


def _webhook(db: DB, firm_id: int, args: argparse.Namespace) -> int:
    from integrations import webhooks

    command = args.webhook_command
    if command == "add":
        events = [e.strip() for e in args.events.split(",") if e.strip()]
        endpoint, secret = webhooks.add(db, firm_id, args.url, events, args.description)
        print(f"webhook {endpoint.id}: {endpoint.url} ({', '.join(endpoint.events)})\nsecret: {secret}")
    elif command == "list":
        for e in webhooks.endpoints(db, firm_id):
            state = "active" if e.active else f"disabled ({e.disabled_reason})"
            print(f"{e.id}\t{state}\t{e.url}\t{','.join(e.events)}")
    elif command == "test":
        outcome = webhooks.send_test(db, firm_id, args.endpoint)
        print(f"{'ok' if outcome.ok else 'failed'}: {outcome.status or ''} {outcome.error or ''}".rstrip())
        return 0 if outcome.ok else 1
    elif command in ("enable", "disable"):
        webhooks.set_active(db, firm_id, args.endpoint, command == "enable")
        print(f"webhook {args.endpoint} {command}d")
    elif command == "rotate":
        print(f"secret: {webhooks.rotate(db, firm_id, args.endpoint)}")
    elif command == "log":
        for d, event, attempts in webhooks.deliveries(db, firm_id, args.endpoint, args.limit):
            print(json.dumps({"delivery": d.id, "event": event.event_id, "type": event.type, "seq": event.seq,
                              "status": d.status, "attempts": [
                                  {"at": str(a.at), "ok": a.ok, "status": a.response_status, "error": a.error,
                                   "request": a.request, "response": a.response_body} for a in attempts]},
                             ensure_ascii=False))
    elif command == "resend":
        delivery = webhooks.resend(db, firm_id, args.delivery)
        print(f"delivery {delivery.id} queued")
    elif command == "allow-private":
        webhooks.set_allow_private(db, firm_id, args.allow == "yes")
        print(f"private targets {'allowed' if args.allow == 'yes' else 'refused'}")
    return 0


def cmd_completion(args: argparse.Namespace) -> int:
    from integrations import webhooks
    from integrations.completion import outcomes

    with _firm_session(args.firm) as (session, firm_id):
        if firm_id is None:
            return 2
        if args.completion_command == "retry":
            try:
                webhooks.resend(session, firm_id, args.delivery)
            except webhooks.WebhookError as exc:
                print(f"accord: {exc}", file=sys.stderr)
                return 1
            print(f"delivery {args.delivery} queued")
            return 0
        for d, attempts in outcomes(session, firm_id, args.agreement):
            print(json.dumps({"delivery": d.id, "kind": d.kind, "action": d.action_index, "status": d.status,
                              "attempts": [{"at": str(a.at), "ok": a.ok, "error": a.error, "request": a.request,
                                            "response": a.response_body} for a in attempts]},
                             ensure_ascii=False, default=str))
        return 0


def cmd_prefill_link(args: argparse.Namespace) -> int:
    from accord.serve import secret_key
    from integrations.prefill import make_link

    settings = Settings.from_env()
    token = make_link(secret_key(settings), args.firm, args.interview, args.record, args.lang)
    print(f"{settings.public_url}/start/{token}")
    return 0
