"""`accord envelope tick`: the signing clock, for cron or a systemd timer (every few minutes).

It expires envelopes past their date, sends expiry warnings and reminders (`signing.envelopes.tick`,
e-mails through `ACCORD_SMTP_HOST` or the console), and retries every completed envelope whose seal
is still pending (`signing.sealing.seal_pending`), so a failed seal never stays failed. Prints what
it did; exit 1 when a seal still failed.
"""

from __future__ import annotations

from sqlmodel import Session as DB
from sqlmodel import select

from accord.aio import run_sync
from accord.settings import Settings


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
