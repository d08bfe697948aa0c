"""`accord payment refund ENVELOPE [--amount AMOUNT] --reason TEXT [--staff NAME]`: refund all or part
of an envelope's payment through the configured provider (`ACCORD_STRIPE_*`), recorded with its
reason and who made it in the payment's refunds and the envelope's audit chain
(`signing.payment.refund`). `--amount` is in the currency's major unit (200000 for VND, 12.50 for
USD); without it, everything not yet refunded. Until the staff console has a refund button this is
how staff refund. Exit 0 done, 1 refused (the reason is printed), 2 nothing to act on."""

from __future__ import annotations

import getpass
import sys

from sqlmodel import Session as DB

from accord.aio import run_sync
from accord.settings import Settings


def cmd_payment_refund(envelope_id: str, amount: str | None, reason: str, staff: str | None) -> int:
    from accord.serve import payment_provider
    from payments import AmountError, plain, to_minor
    from signing import payment
    from store.database import make_engine

    settings = Settings.from_env()
    provider = payment_provider(settings)
    if provider is None:
        print("accord: payment is not configured (ACCORD_STRIPE_SECRET_KEY, ACCORD_STRIPE_WEBHOOK_SECRET)",
              file=sys.stderr)
        return 2
    db = make_engine(settings.database_url)
    try:
        with DB(db) as session:
            row = payment.of_envelope(session, envelope_id)
            if row is None:
                print(f"accord: envelope {envelope_id} has no payment", file=sys.stderr)
                return 2
            currency = row.currency
        try:
            minor = None if amount is None else to_minor(amount, currency)
        except AmountError as exc:
            print(f"accord: --amount: {exc}", file=sys.stderr)
            return 1
        who = staff or f"cli:{getpass.getuser()}"
        try:
            made = run_sync(payment.refund(lambda: DB(db), provider, envelope_id, amount_minor=minor, reason=reason,
                                           staff=who))
        except payment.RefundError as exc:
            print(f"accord: refund refused: {exc}", file=sys.stderr)
            return 1
    finally:
        db.dispose()
    print(f"{envelope_id}: refunded {plain(made.amount_minor, currency)} ({made.provider_refund_id}) by {who}")
    return 0
