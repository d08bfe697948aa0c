"""`accord envelope ...`: the sender's commands from the terminal (the web console comes with the
agent console), and the signing clock.

    accord envelope list [--status S]            envelopes, newest first, with their progress
    accord envelope show ENVELOPE                state, participants, pending checks, the audit chain
    accord envelope void ENVELOPE --reason R     cancel it (participants are told)
    accord envelope remind ENVELOPE [--role R]   remind now whoever has not acted
    accord envelope extend ENVELOPE --days N     move the expiry later (or --until YYYY-MM-DD)
    accord envelope tick                         expiry, warnings, reminders, pending seals

`void`, `remind` and `extend` are recorded in the envelope's audit chain as the sender's acts, with
`via: cli` and the operating-system user who ran them; `list` and `show` only read (they change
nothing, so they add no event). Exit 0 on success, 1 when the change is refused (the reason is
printed), 2 for an unknown envelope.

`tick`: the signing clock, for cron or a systemd timer (every few minutes).

It expires envelopes past their date, sends expiry warnings and reminders (`signing.envelopes.tick`,
e-mails through `ACCORD_SMTP_HOST` or the console), and retries every completed envelope whose seal
is still pending (`signing.sealing.seal_pending`), so a failed seal never stays failed. Prints what
it did; exit 1 when a seal still failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from typing import Any

from sqlmodel import Session as DB
from sqlmodel import select

from accord.aio import run_sync
from accord.settings import Settings


def add_parsers(envelope_sub: Any) -> None:
    """The subcommands of `accord envelope` (besides `tick`)."""
    listing = envelope_sub.add_parser("list", help="envelopes, newest first")
    listing.add_argument("--status", choices=["draft", "sent", "completed", "declined", "voided", "expired"])
    listing.add_argument("--limit", type=int, default=50)
    show = envelope_sub.add_parser("show", help="an envelope's state, participants and audit chain")
    show.add_argument("envelope")
    void = envelope_sub.add_parser("void", help="cancel an envelope (participants are told)")
    void.add_argument("envelope")
    void.add_argument("--reason", required=True)
    remind = envelope_sub.add_parser("remind", help="remind now whoever has not acted")
    remind.add_argument("envelope")
    remind.add_argument("--role")
    extend = envelope_sub.add_parser("extend", help="move the expiry date later")
    extend.add_argument("envelope")
    when = extend.add_mutually_exclusive_group(required=True)
    when.add_argument("--days", type=float, help="days from the current expiry (or from now when it has none)")
    when.add_argument("--until", help="the new expiry date, YYYY-MM-DD (end of that day, UTC)")


def _by() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"via": "cli", "by": user}


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "-"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return f"{aware.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def cmd_envelope(args: argparse.Namespace) -> int:
    from sqlmodel import col

    from accord.serve import mailer, secret_key
    from signing import audit, envelopes
    from signing.envelopes import EnvelopeError
    from signing.identity import UNAVAILABLE, next_step
    from signing.mail import envelope_notifier
    from signing.states import TransitionError
    from store.database import make_engine
    from store.models import Envelope, PasskeyCredential

    if args.envelope_command == "tick":
        return cmd_envelope_tick()
    settings = Settings.from_env()
    db = make_engine(settings.database_url)
    try:
        with DB(db) as session:
            if args.envelope_command == "list":
                query = select(Envelope).order_by(col(Envelope.created_at).desc()).limit(args.limit)
                if args.status:
                    query = query.where(Envelope.status == args.status)
                rows = session.exec(query).all()
                print(f"{'envelope':34} {'status':10} {'seal':8} {'acted':6} {'expires':21} title")
                for e in rows:
                    _e, people = envelopes.load(session, e.id)
                    routed = [p for p in people if p.action != "cc" and p.status != "delegated"]
                    acted = sum(p.status == "acted" for p in routed)
                    print(f"{e.id:34} {e.status:10} {e.seal_status:8} {f'{acted}/{len(routed)}':6} "
                          f"{_when(e.expires_at):21} {e.title}")
                print(f"{len(rows)} envelope(s)")
                return 0
            try:
                envelope, people = envelopes.load(session, args.envelope)
            except EnvelopeError:
                print(f"accord: no envelope {args.envelope}")
                return 2
            notify = envelope_notifier(lambda: DB(db), mailer(settings), secret_key(settings), settings.public_url)
            try:
                if args.envelope_command == "void":
                    notices = envelopes.void(session, envelope.id, args.reason, notify, detail=_by())
                    print(f"voided; {len(notices)} participant(s) told")
                    return 0
                if args.envelope_command == "remind":
                    notices = envelopes.remind(session, envelope.id, notify, role=args.role, detail=_by())
                    print(f"reminded {len(notices)} participant(s)")
                    return 0
                if args.envelope_command == "extend":
                    if args.until:
                        day = dt.date.fromisoformat(args.until)
                        new = dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC)
                    else:
                        current = envelope.expires_at or dt.datetime.now(dt.UTC)
                        current = current if current.tzinfo else current.replace(tzinfo=dt.UTC)
                        new = current + dt.timedelta(days=args.days)
                    envelopes.extend(session, envelope.id, new, detail=_by())
                    print(f"expires {_when(new)}")
                    return 0
            except (EnvelopeError, TransitionError, ValueError) as exc:
                print(f"accord: refused: {exc}")
                return 1
            # show
            chain = audit.events(session, envelope.id)
            report = audit.verify(chain)
            print(f"envelope  {envelope.id}\ntitle     {envelope.title}\nstatus    {envelope.status}"
                  f"{f' ({envelope.reason})' if envelope.reason else ''}\nseal      {envelope.seal_status}"
                  f"\nsent      {_when(envelope.sent_at)}\nexpires   {_when(envelope.expires_at)}"
                  f"\ncompleted {_when(envelope.completed_at)}")
            print("participants:")
            for p in people:
                pending = ""
                if envelope.status == "sent" and p.status in ("notified", "opened"):
                    has = "passkey" in p.identity and bool(session.exec(select(PasskeyCredential).where(
                        PasskeyCredential.firm_id == envelope.firm_id,
                        PasskeyCredential.email == p.email.lower())).first())
                    step = next_step(p.identity, envelopes.identity_done(session, p.id), has)
                    if step in UNAVAILABLE:
                        pending = f"  PENDING: {step} check not available on this server"
                    elif step:
                        pending = f"  next check: {step}"
                order = "cc" if p.routing_order is None else str(p.routing_order)
                witness = f" (witness for {p.witness_for})" if p.witness_for else ""
                print(f"  {order:>3} {p.role:16} {p.action:8} {p.status:10} {p.name} <{p.email}>{witness}{pending}")
            state = "intact" if report.ok else "BROKEN: " + "; ".join(report.problems)
            print(f"audit     {len(chain)} events, chain {state}")
            return 0 if report.ok else 1
    finally:
        db.dispose()


def cmd_envelope_tick() -> int:
    import aiohttp

    from accord.serve import mailer, open_pki, secret_key
    from signing import envelopes
    from signing.mail import envelope_notifier
    from signing.pades import Pades
    from signing.sealing import seal_pending
    from store.blobs import BlobStore
    from store.database import make_engine
    from store.models import Envelope

    settings = Settings.from_env()
    db = make_engine(settings.database_url)
    try:
        notify = envelope_notifier(lambda: DB(db), mailer(settings), secret_key(settings), settings.public_url)
        with DB(db) as session:
            notices = envelopes.tick(session, notify)
            pending = [e.id for e in session.exec(select(Envelope).where(Envelope.seal_status == "pending")).all()]
        kinds: dict[str, int] = {}
        for notice in notices:
            kinds[notice.kind] = kinds.get(notice.kind, 0) + 1
        print("notices: " + (", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"))
        failed = 0
        if pending:
            blobs = BlobStore(settings.data_dir / "blobs")
            pki = open_pki(settings)

            async def seal_all() -> int:
                bad = 0
                async with aiohttp.ClientSession() as http:
                    pades = Pades(pki, http, font_cache=settings.data_dir / "fonts")
                    for envelope_id in pending:
                        if not await seal_pending(lambda: DB(db), blobs, pades, envelope_id):
                            bad += 1
                return bad

            failed = run_sync(seal_all())
        print(f"seals: {len(pending) - failed} sealed, {failed} still pending")
        return 1 if failed else 0
    finally:
        db.dispose()
