"""The payment step of the ceremony: the fee or deposit is collected as part of signing, not chased
afterwards.

The envelope's `Payment` row (created with the envelope from the interview's `payment` block) says
who pays, how much and when:

- "before signing": the payer confirms who they are, agrees to sign electronically, pays, then signs
  (`envelopes.acted` refuses the signature while the payment is due);
- "after signing": the payer signs, then pays; the next routing order waits for the payment;
- "on completion": everyone acts, then the payer pays; the envelope completes on the payment.

While the step is the one holding the envelope it is "waiting for payment". The payer is sent to the
provider's hosted checkout (`start_checkout`); the step is paid only when the provider's verified
webhook says so (`apply_event`, each event id processed once, in any order, any number of times).
Refunds (`refund`) are made by staff with a reason. Every change is an audit event of the envelope's
chain: the amount, currency, provider ids and times end up in the certificate of completion.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DB
from sqlmodel import col, select

from payments import CheckoutRequest, PaymentError, PaymentProvider, ProviderEvent, plain, to_minor
from signing import audit, envelopes, routing
from signing.envelopes import EnvelopeError, Notice, Notifier, PaymentTerms, Request
from signing.states import SIGNING_ACTIONS
from store.models import Envelope, Participant, Payment, PaymentEvent, PaymentRefund, utcnow

log = logging.getLogger("accord.signing.payment")

WHEN = ("before signing", "after signing", "on completion")
PAID_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded",
                         "payment_intent.succeeded"})
FAILED_EVENTS = frozenset({"payment_intent.payment_failed", "checkout.session.async_payment_failed"})
EXPIRED_EVENTS = frozenset({"checkout.session.expired"})


def terms_from_source(payment: dict[str, Any] | None) -> PaymentTerms | None:
    """The assembled agreement's payment (`AgreementSource.payment`) as envelope terms."""
    if not payment:
        return None
    currency = str(payment["currency"]).upper()
    return PaymentTerms(amount_minor=to_minor(payment["amount"], currency), currency=currency,
                        description=str(payment.get("description") or ""), payer_role=payment.get("payer"),
                        when=str(payment.get("when") or "before signing"))


def declined_card_sessions(firm_id: int) -> Select[Any]:
    """The firm's sessions whose payer's card was refused and not paid since (the payment is still
    due and its last attempt failed), on an envelope still open: the console's "card declined"
    stuck flag (`manage.applicants.register_declined_cards`, wired by `accord.serve`)."""
    return (sa_select(Envelope.session_id)  # type: ignore[call-overload]
            .join(Payment, col(Payment.envelope_id) == col(Envelope.id))
            .where(col(Envelope.firm_id) == firm_id, col(Envelope.session_id).is_not(None),
                   col(Envelope.status).not_in(("voided", "expired", "declined")),
                   col(Payment.status) == "due", col(Payment.last_error).is_not(None)))


def of_envelope(db: DB, envelope_id: str) -> Payment | None:
    return db.exec(select(Payment).where(Payment.envelope_id == envelope_id)).first()


def due_now(payment: Payment | None, envelope: Envelope, people: Sequence[Participant]) -> bool:
    """Is the payment the step the envelope is waiting for now ("waiting for payment")?"""
    if payment is None or payment.status != "due" or envelope.status != "sent":
        return False
    payer = next((p for p in people if p.id == payment.participant_id), None)
    if payer is None:
        return False
    if payment.when == "before signing":
        return payer.status == "identified" and (payer.action not in SIGNING_ACTIONS or payer.consented_at is not None)
    if payment.when == "after signing":
        return payer.status == "acted"
    seats = [routing.Seat(p.id, p.action, p.routing_order, envelopes.P(p.status)) for p in people]
    return routing.all_acted(seats)


@dataclass(frozen=True)
class Started:
    url: str | None  # where to send the payer; None: the checkout is complete, the webhook is on its way
    checkout_id: str


async def start_checkout(session_factory: Callable[[], DB], provider: PaymentProvider, participant_id: str, *,
                         success_url: str, cancel_url: str, locale: str = "auto",
                         request: Request = envelopes.NO_REQUEST) -> Started:
    """The payer's hosted checkout: the open one again (a double click, a back button, a retry after
    a declined card), or a new one after an expired or abandoned one. Each new one has its own
    idempotency key, so a create repeated by a network retry or two parallel clicks is one session."""
    with session_factory() as db:
        me = db.get(Participant, participant_id)
        if me is None:
            raise EnvelopeError("no such participant")
        envelope, people = envelopes.load(db, me.envelope_id)
        payment = of_envelope(db, envelope.id)
        if payment is None or payment.participant_id != me.id or not due_now(payment, envelope, people):
            raise EnvelopeError("there is no payment to make now")
        existing = payment.checkout_id if payment.provider == provider.name else None
        attempt = payment.checkout_attempts + 1
        terms = (payment.id, payment.amount_minor, payment.currency, payment.description, envelope.id, me.email)
    if existing:
        try:
            checkout = await provider.retrieve_checkout(existing)
        except PaymentError:
            checkout = None
        if checkout is not None and checkout.status == "open" and checkout.url:
            return Started(checkout.url, checkout.id)
        if checkout is not None and checkout.status == "complete":
            return Started(None, checkout.id)
    payment_id, amount, currency, description, envelope_id, email = terms
    metadata = {"accord_payment": payment_id, "accord_envelope": envelope_id, "accord_participant": participant_id}
    checkout = await provider.create_checkout(CheckoutRequest(
        amount_minor=amount, currency=currency, description=description or "Payment", reference=payment_id,
        success_url=success_url, cancel_url=cancel_url, idempotency_key=f"accord-{payment_id}-{attempt}",
        metadata=metadata, customer_email=email, locale=locale))

    def record() -> None:
        with session_factory() as db:
            payment = db.get(Payment, payment_id)
            assert payment is not None
            if payment.checkout_id == checkout.id:
                return  # the parallel click recorded it
            envelope, _ = envelopes.load(db, envelope_id)
            envelopes._bump(db, envelope)
            payment.checkout_id, payment.provider = checkout.id, provider.name
            payment.checkout_attempts = max(payment.checkout_attempts, attempt)
            db.add(payment)
            audit.append(db, envelope_id, participant_id, "payment_started", ip=request.ip,
                         user_agent=request.user_agent, detail={
                             "provider": provider.name, "checkout": checkout.id, "attempt": attempt,
                             "amount_minor": amount, "currency": currency})
            db.commit()

    envelopes.retrying(record)
    return Started(checkout.url, checkout.id)


# -- webhooks -------------------------------------------------------------------------------------


def apply_event(db: DB, provider: str, event: ProviderEvent, notifier: Notifier | None = None, *,
                now: dt.datetime | None = None) -> tuple[str, str | None]:
    """Apply one verified event: (outcome, envelope id it touched). Safe to call with the same event
    again (`duplicate`), with events in any order, and from parallel deliveries: the event id is kept
    once (unique), and "paid" is a guarded change from "due" (only one of
    checkout.session.completed / payment_intent.succeeded makes it)."""
    return envelopes.retrying(lambda: _apply(db, provider, event, notifier, now or utcnow()))


def _apply(db: DB, provider: str, event: ProviderEvent, notifier: Notifier | None,
           now: dt.datetime) -> tuple[str, str | None]:
    db.rollback()
    row = PaymentEvent(provider=provider, event_id=event.id, type=event.type[:100], outcome="received",
                       received_at=now)
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        return "duplicate", None
    obj = event.object
    payment = _find(db, obj) if event.type in PAID_EVENTS | FAILED_EVENTS | EXPIRED_EVENTS else None
    notices: list[Notice] = []
    if event.type not in PAID_EVENTS | FAILED_EVENTS | EXPIRED_EVENTS:
        outcome = "ignored"
        log.info("payment event ignored: %s", event.type)  # the type only: no ids, no personal data
    elif payment is None:
        outcome = "unknown payment"
        log.warning("payment event for no payment of this server: %s", event.type)
    elif event.type in PAID_EVENTS:
        outcome, notices = _paid(db, provider, payment, event, now)
    elif event.type in FAILED_EVENTS:
        outcome = _failed(db, payment, event, now)
    else:
        outcome = _expired(db, payment, event, now)
    row.outcome, row.payment_id = outcome, payment.id if payment else None
    db.add(row)
    envelope_id = payment.envelope_id if payment else None
    envelopes.commit_and_notify(db, notices, notifier)
    return outcome, envelope_id


def _find(db: DB, obj: dict[str, Any]) -> Payment | None:
    metadata = obj.get("metadata") or {}
    pid = metadata.get("accord_payment") or obj.get("client_reference_id")
    payment = db.get(Payment, pid) if isinstance(pid, str) else None
    if payment is None and obj.get("object") == "checkout.session" and isinstance(obj.get("id"), str):
        payment = db.exec(select(Payment).where(Payment.checkout_id == obj["id"])).first()
    if payment is not None and metadata.get("accord_envelope") not in (None, payment.envelope_id):
        return None  # metadata that contradicts itself is not ours to apply
    return payment


def _paid(db: DB, provider: str, payment: Payment, event: ProviderEvent,
          now: dt.datetime) -> tuple[str, list[Notice]]:
    obj = event.object
    if obj.get("object") == "checkout.session":
        if obj.get("payment_status") != "paid":
            return "not paid yet", []
        intent, amount, checkout = obj.get("payment_intent"), obj.get("amount_total"), obj.get("id")
    else:
        if obj.get("status") != "succeeded":
            return "not paid yet", []
        intent, amount, checkout = obj.get("id"), obj.get("amount_received") or obj.get("amount"), None
    if isinstance(intent, dict):
        intent = intent.get("id")
    currency = str(obj.get("currency") or "").upper()
    if amount != payment.amount_minor or currency != payment.currency:
        log.error("payment event amount differs from the payment's; not applied: %s", event.type)
        envelope, _ = envelopes.load(db, payment.envelope_id)
        envelopes._bump(db, envelope)
        audit.append(db, payment.envelope_id, "system", "payment_mismatch", at=now, detail={
            "event": event.id, "amount_minor": amount, "currency": currency,
            "expected_minor": payment.amount_minor, "expected_currency": payment.currency})
        return "amount mismatch", []
    won = db.execute(update(Payment).where(col(Payment.id) == payment.id, col(Payment.status) == "due")
                     .values(status="paid", paid_at=now, payment_intent=intent, provider=provider,
                             last_error=None, checkout_id=checkout or payment.checkout_id))
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return "already paid", []
    db.refresh(payment)
    envelope, _ = envelopes.load(db, payment.envelope_id)
    envelopes._bump(db, envelope)
    audit.append(db, payment.envelope_id, payment.participant_id, "paid", at=now, detail={
        "amount_minor": payment.amount_minor, "currency": payment.currency,
        "amount": plain(payment.amount_minor, payment.currency), "provider": provider,
        "checkout": payment.checkout_id, "payment_intent": intent, "event": event.id, "event_type": event.type})
    return "paid", envelopes.payment_settled(db, payment.envelope_id, now=now)


def _failed(db: DB, payment: Payment, event: ProviderEvent, now: dt.datetime) -> str:
    if payment.status != "due":
        return "already paid"  # a failure reported after the success (out of order) changes nothing
    error = event.object.get("last_payment_error") or {}
    code = str(error.get("decline_code") or error.get("code") or "payment_failed")[:64]
    payment.last_error = code
    db.add(payment)
    envelope, _ = envelopes.load(db, payment.envelope_id)
    envelopes._bump(db, envelope)
    audit.append(db, payment.envelope_id, payment.participant_id, "payment_failed", at=now,
                 detail={"code": code, "event": event.id, "payment_intent": event.object.get("id")})
    return "failed"


def _expired(db: DB, payment: Payment, event: ProviderEvent, now: dt.datetime) -> str:
    if payment.status != "due" or payment.checkout_id != event.object.get("id"):
        return "stale"
    payment.checkout_id = None  # the next "pay" opens a new checkout
    db.add(payment)
    envelope, _ = envelopes.load(db, payment.envelope_id)
    envelopes._bump(db, envelope)
    audit.append(db, payment.envelope_id, "system", "payment_checkout_expired", at=now,
                 detail={"checkout": event.object.get("id"), "event": event.id})
    return "expired"


# -- refunds --------------------------------------------------------------------------------------


class RefundError(EnvelopeError):
    """The refund cannot be made (nothing paid, too much, no reason, the provider refused)."""


async def refund(session_factory: Callable[[], DB], provider: PaymentProvider, envelope_id: str, *,
                 amount_minor: int | None, reason: str, staff: str) -> PaymentRefund:
    """Refund all that is left (amount None) or part of it, with a reason, by a named staff member.
    The amount is reserved by a guarded update before the provider is asked, so two refunds at once
    can never return more than was paid; a refusal gives the reservation back."""
    reason, staff = reason.strip()[:2000], staff.strip()[:200]
    if not reason:
        raise RefundError("a refund needs a reason")
    if not staff:
        raise RefundError("a refund needs the name of the staff member who makes it")
    with session_factory() as db:
        payment = of_envelope(db, envelope_id)
        if payment is None:
            raise RefundError("this envelope has no payment")
        if payment.status not in ("paid", "partially_refunded") or not payment.payment_intent:
            raise RefundError(f"the payment is {payment.status}, so there is nothing to refund")
        left = payment.amount_minor - payment.refunded_minor
        amount = left if amount_minor is None else amount_minor
        if amount <= 0 or amount > left:
            raise RefundError(f"the refund must be more than zero and at most {plain(left, payment.currency)}")
        won = db.execute(update(Payment).where(col(Payment.id) == payment.id,
                                               col(Payment.refunded_minor) == payment.refunded_minor)
                         .values(refunded_minor=payment.refunded_minor + amount))
        if won.rowcount != 1:  # type: ignore[attr-defined]
            db.rollback()
            raise RefundError("another refund is being made; try again")
        row = PaymentRefund(payment_id=payment.id, amount_minor=amount, reason=reason, staff=staff)
        db.add(row)
        db.commit()
        refund_id, intent, currency, payment_id = row.id, payment.payment_intent, payment.currency, payment.id
    try:
        made = await provider.refund(intent, amount, reason=reason, idempotency_key=f"accord-refund-{refund_id}")
    except PaymentError as exc:
        error = str(exc)

        def give_back() -> None:
            with session_factory() as db:
                envelope, _ = envelopes.load(db, envelope_id)
                envelopes._bump(db, envelope)
                db.execute(update(Payment).where(col(Payment.id) == payment_id)
                           .values(refunded_minor=Payment.refunded_minor - amount))
                row = db.get(PaymentRefund, refund_id)
                assert row is not None
                row.status = "failed"
                db.add(row)
                audit.append(db, envelope_id, f"staff:{staff}", "refund_failed", detail={
                    "amount_minor": amount, "currency": currency, "reason": reason, "error": error})
                db.commit()

        envelopes.retrying(give_back)
        raise RefundError(error) from None

    def settle() -> PaymentRefund:
        with session_factory() as db:
            envelope, _ = envelopes.load(db, envelope_id)
            envelopes._bump(db, envelope)
            payment = db.get(Payment, payment_id)
            row = db.get(PaymentRefund, refund_id)
            assert payment is not None and row is not None
            payment.status = "refunded" if payment.refunded_minor >= payment.amount_minor else "partially_refunded"
            row.status, row.provider_refund_id = "succeeded", made.id
            db.add(payment)
            db.add(row)
            audit.append(db, envelope_id, f"staff:{staff}", "refunded", detail={
                "amount_minor": amount, "currency": currency, "amount": plain(amount, currency), "reason": reason,
                "refund": made.id, "payment_intent": intent,
                "remaining_minor": payment.amount_minor - payment.refunded_minor})
            db.commit()
            db.refresh(row)
            return row

    return envelopes.retrying(settle)
