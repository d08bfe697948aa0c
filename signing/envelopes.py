"""Envelopes: an agreement version sent to its parties, who act in routing order.

Each function is one unit of work: it checks the change against `signing.states`, writes it with
its audit event (`signing.audit`) and commits, and only then hands the notices (invitations,
reminders, warnings, results) to the `Notifier`, so nothing is sent about a change that did not
happen. Every change bumps the envelope's `version` with a guarded UPDATE: two parallel signers
finishing at the same moment cannot both miss (or both trigger) the envelope's completion; the
loser gets `Conflict` and retries.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import Session as DB
from sqlmodel import col, select

from engine import AgreementSource
from signing import audit, routing
from signing.states import (
    EnvelopeStatus,
    ParticipantStatus,
    SealStatus,
    check_envelope,
    check_participant,
)
from store import changes, stage
from store.models import Envelope, Participant, Payment, utcnow

log = logging.getLogger("accord.signing")
E, P = EnvelopeStatus, ParticipantStatus
T = TypeVar("T")


class EnvelopeError(Exception):
    """The change cannot be made (the message says why, without personal data)."""


class Conflict(EnvelopeError):
    """The envelope changed meanwhile; reload and retry."""


@dataclass(frozen=True)
class PartySpec:
    role: str
    action: str
    order: int | None
    name: str
    email: str
    phone: str | None = None
    identity: tuple[str, ...] = ()
    witness_for: str | None = None  # a witness: the role of the signer it is bound to


@dataclass(frozen=True)
class PaymentTerms:
    """The interview's `payment` block as the envelope keeps it: the amount in the currency's minor
    unit (`payments.money.to_minor`), who pays (a role; None: the first signer) and when
    (`signing.payment.WHEN`)."""

    amount_minor: int
    currency: str
    description: str
    payer_role: str | None
    when: str


@dataclass(frozen=True)
class Notice:
    """Something to tell a participant: kind is invitation, reminder, expiry_warning, declined,
    voided, completed (to every participant and CC), delegated or payment_due (the payer, when a
    payment due "on completion" is all that is left)."""

    kind: str
    envelope_id: str
    participant_id: str
    detail: dict[str, Any] = field(default_factory=dict)


Notifier = Callable[[Notice], None]  # sends one notice (`signing.mail.envelope_notifier`)


@dataclass(frozen=True)
class Request:
    """Where an action came from, for the audit trail."""

    ip: str | None = None
    user_agent: str | None = None


NO_REQUEST = Request()


def parties_from_source(source: AgreementSource, staff: Mapping[str, tuple[str, str]]) -> list[PartySpec]:
    """The participants of an assembled agreement. `staff` maps a staff group (`staff:` in the
    interview's parties block) to the (name, e-mail) of the person who acts for it."""
    out = []
    for p in source.parties:
        name, email = p.name, p.email
        if p.staff is not None:
            if p.staff not in staff:
                raise EnvelopeError(f"no one is assigned to the staff group {p.staff!r} (role {p.role})")
            name, email = staff[p.staff]
        if not email:
            raise EnvelopeError(f"role {p.role} has no e-mail address")
        out.append(PartySpec(p.role, p.action, p.order, name or p.role, email, p.phone, tuple(p.identity),
                             p.witness_for))
    return out


# -- loading and guarded writes -------------------------------------------------------------


def load(db: DB, envelope_id: str) -> tuple[Envelope, list[Participant]]:
    envelope = db.get(Envelope, envelope_id)
    if envelope is None:
        raise EnvelopeError("no such envelope")
    people = list(db.exec(select(Participant).where(Participant.envelope_id == envelope_id)
                          .order_by(col(Participant.routing_order), col(Participant.role))).all())
    return envelope, people


def _bump(db: DB, envelope: Envelope, **values: Any) -> None:
    result = db.execute(update(Envelope).where(col(Envelope.id) == envelope.id,
                                               col(Envelope.version) == envelope.version)
                        .values(version=envelope.version + 1, **values))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise Conflict("the envelope changed meanwhile")
    for k, v in values.items():
        setattr(envelope, k, v)
    envelope.version += 1
    if "status" in values:  # the console's stage of the session follows its newest envelope
        stage.envelope_changed(db, envelope.session_id, envelope.id, envelope.created_at, envelope.status)


def _payment(db: DB, envelope_id: str) -> Payment | None:
    return db.exec(select(Payment).where(Payment.envelope_id == envelope_id)).first()


def _seats(people: Sequence[Participant], payment: Payment | None = None) -> list[routing.Seat]:
    """Routing's view; a witness waits for the current holder of its signer's role (a delegate included).
    A payer who signed but still owes a payment due "after signing" has not finished their turn: the
    next routing order waits for the payment."""
    holder = {p.role: p.id for p in people if p.status != P.DELEGATED}
    owes = payment is not None and payment.status == "due" and payment.when == "after signing"

    def status(p: Participant) -> ParticipantStatus:
        if owes and payment is not None and p.id == payment.participant_id and p.status == P.ACTED:
            return P.IDENTIFIED
        return P(p.status)

    return [routing.Seat(p.id, p.action, p.routing_order, status(p),
                         holder.get(p.witness_for) if p.witness_for else None) for p in people]


def _set_status(p: Participant, new: ParticipantStatus, now: dt.datetime) -> None:
    check_participant(P(p.status), new)
    p.status = new.value
    stamp = {P.NOTIFIED: "notified_at", P.OPENED: "opened_at", P.IDENTIFIED: "identified_at", P.ACTED: "acted_at",
             P.DECLINED: "declined_at"}.get(new)
    if stamp:
        setattr(p, stamp, now)


def _route(db: DB, envelope: Envelope, people: list[Participant], now: dt.datetime) -> list[Notice]:
    """Notify whoever's turn it is now; complete the envelope when everyone routed has acted."""
    notices = []
    payment = _payment(db, envelope.id)
    for pid in routing.to_notify(_seats(people, payment)):
        p = next(x for x in people if x.id == pid)
        _set_status(p, P.NOTIFIED, now)
        db.add(p)
        audit.append(db, envelope.id, "system", "invitation_sent", detail={"participant": p.id, "role": p.role},
                     at=now)
        notices.append(Notice("invitation", envelope.id, p.id))
    if routing.all_acted(_seats(people, payment)) and payment is not None and payment.status == "due":
        # Only a payment due "on completion" can be all that is left: tell the payer it is their turn.
        audit.append(db, envelope.id, "system", "payment_due_sent", detail={"participant": payment.participant_id},
                     at=now)
        notices.append(Notice("payment_due", envelope.id, payment.participant_id, {
            "amount_minor": payment.amount_minor, "currency": payment.currency, "purpose": payment.description}))
    elif routing.all_acted(_seats(people, payment)):
        check_envelope(E(envelope.status), E.COMPLETED)
        _bump(db, envelope, status=E.COMPLETED.value, completed_at=now, seal_status=SealStatus.PENDING.value)
        audit.append(db, envelope.id, "system", "completed", doc_before=envelope.current_sha256, at=now)
        for p in people:
            if p.action == "cc" and p.status == P.WAITING:
                _set_status(p, P.NOTIFIED, now)
                db.add(p)
        notices += [Notice("completed", envelope.id, p.id) for p in people if p.status != P.DELEGATED]
    return notices


def _changed(envelope: Envelope) -> None:
    """Tell the console (`store.changes`) that this envelope changed; call after the commit."""
    changes.publish(changes.Change("envelope", envelope.firm_id, session_id=envelope.session_id,
                                   envelope_id=envelope.id))


def _commit_and_notify(db: DB, notices: Iterable[Notice], notifier: Notifier | None,
                       envelope: Envelope | None = None) -> None:
    db.commit()
    if envelope is not None:
        _changed(envelope)
    for notice in notices:
        if notifier is None:
            continue
        try:
            notifier(notice)
        except Exception as exc:  # the change stands; the failure is on record for a resend
            log.error("notice not sent: %s (%s)", notice.kind, type(exc).__name__)
            audit.append(db, notice.envelope_id, "system", "notice_failed",
                         detail={"kind": notice.kind, "participant": notice.participant_id,
                                 "error": type(exc).__name__})
            db.commit()


def retrying(work: Callable[[], T], attempts: int = 5) -> T:
    """Run a unit of work again when it lost a race (`Conflict`)."""
    for _ in range(attempts - 1):
        try:
            return work()
        except Conflict:
            continue
    return work()


# -- units of work --------------------------------------------------------------------------


def create(db: DB, firm_id: int, *, title: str, language: str, pdf_sha256: str, parties: Sequence[PartySpec],
           session_id: str | None = None, agreement_version_id: int | None = None,
           expires_at: dt.datetime | None = None, now: dt.datetime | None = None,
           payment: PaymentTerms | None = None) -> Envelope:
    """A draft envelope with its participants (committed), and its payment step when the interview
    asks for one (the payer: the `payer` role, else the first participant who signs)."""
    now = now or utcnow()
    if not any(p.action in ("sign", "approve") for p in parties):
        raise EnvelopeError("an envelope needs at least one participant who signs or approves")
    signers = {p.role: p for p in parties if p.action == "sign"}
    for spec in parties:
        if spec.action == "witness" and spec.witness_for not in signers:
            raise EnvelopeError(f"witness {spec.role} must be bound to a signer of this envelope")
    envelope = Envelope(firm_id=firm_id, session_id=session_id, agreement_version_id=agreement_version_id,
                        title=title, language=language, original_sha256=pdf_sha256, current_sha256=pdf_sha256,
                        expires_at=expires_at, created_at=now)
    db.add(envelope)
    db.flush()
    stage.envelope_changed(db, session_id, envelope.id, now, envelope.status)
    for spec in parties:
        db.add(Participant(envelope_id=envelope.id, role=spec.role, action=spec.action,
                           routing_order=None if spec.action == "cc" else (spec.order or 0), name=spec.name,
                           email=spec.email, phone=spec.phone, identity=list(spec.identity),
                           witness_for=spec.witness_for))
    audit.append(db, envelope.id, "sender", "created", doc_after=pdf_sha256, at=now,
                 detail={"participants": [{"role": s.role, "action": s.action, "order": s.order,
                                           **({"witness_for": s.witness_for} if s.witness_for else {})}
                                          for s in parties]})
    if payment is not None:
        _add_payment(db, envelope, payment, now)
    db.commit()
    db.refresh(envelope)
    _changed(envelope)
    return envelope


def _add_payment(db: DB, envelope: Envelope, terms: PaymentTerms, now: dt.datetime) -> None:
    db.flush()
    people = list(db.exec(select(Participant).where(Participant.envelope_id == envelope.id)
                          .order_by(col(Participant.routing_order), col(Participant.role))).all())
    payer = next((p for p in people if p.role == terms.payer_role), None) if terms.payer_role else \
        next((p for p in people if p.action in ("sign", "witness")), None)
    if payer is None or payer.action == "cc":
        raise EnvelopeError(f"the payer {terms.payer_role or '(first signer)'} is not a participant who acts")
    if terms.when not in ("before signing", "after signing", "on completion"):
        raise EnvelopeError(f"payment when {terms.when!r} is not known")
    if terms.amount_minor <= 0:
        raise EnvelopeError("the payment amount must be more than zero")
    db.add(Payment(envelope_id=envelope.id, participant_id=payer.id, amount_minor=terms.amount_minor,
                   currency=terms.currency.upper(), description=terms.description, when=terms.when, created_at=now))
    audit.append(db, envelope.id, "sender", "payment_requested", at=now, detail={
        "payer": payer.id, "role": payer.role, "amount_minor": terms.amount_minor,
        "currency": terms.currency.upper(), "when": terms.when})


def payment_settled(db: DB, envelope_id: str, *, now: dt.datetime) -> list[Notice]:
    """In the transaction that marks the envelope's payment paid: route on (the next order's
    invitations, or the completion the payment was holding). The caller commits and notifies."""
    envelope, people = load(db, envelope_id)
    if envelope.status != E.SENT:
        return []  # paid after a void or expiry: the money is on record, staff can refund it
    _bump(db, envelope)
    return _route(db, envelope, people, now)


def commit_and_notify(db: DB, notices: Iterable[Notice], notifier: Notifier | None) -> None:
    _commit_and_notify(db, notices, notifier)


def send(db: DB, envelope_id: str, notifier: Notifier | None = None, *, now: dt.datetime | None = None,
         request: Request = NO_REQUEST) -> list[Notice]:
    now = now or utcnow()
    envelope, people = load(db, envelope_id)
    check_envelope(E(envelope.status), E.SENT)
    _bump(db, envelope, status=E.SENT.value, sent_at=now)
    audit.append(db, envelope.id, "sender", "sent", ip=request.ip, user_agent=request.user_agent, at=now)
    notices = _route(db, envelope, people, now)
    _commit_and_notify(db, notices, notifier, envelope)
    return notices


def _participant(db: DB, participant_id: str) -> tuple[Envelope, list[Participant], Participant]:
    p = db.get(Participant, participant_id)
    if p is None:
        raise EnvelopeError("no such participant")
    envelope, people = load(db, p.envelope_id)
    me = next(x for x in people if x.id == participant_id)
    return envelope, people, me


def _require_in_flight(envelope: Envelope, now: dt.datetime) -> None:
    if envelope.status != E.SENT:
        raise EnvelopeError(f"the envelope is {envelope.status}")
    if envelope.expires_at is not None and _aware(envelope.expires_at) <= now:
        raise EnvelopeError("the envelope has expired")


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def opened(db: DB, participant_id: str, *, now: dt.datetime | None = None, request: Request = NO_REQUEST) -> None:
    """The participant opened their link (recorded the first time)."""
    now = now or utcnow()
    envelope, people, me = _participant(db, participant_id)
    _require_in_flight(envelope, now)
    if me.status == P.WAITING:
        raise EnvelopeError("it is not this participant's turn yet")
    if me.status != P.NOTIFIED:
        return  # opened before: page views after the first are not events
    _set_status(me, P.OPENED, now)
    db.add(me)
    _bump(db, envelope)
    audit.append(db, envelope.id, me.id, "opened", ip=request.ip, user_agent=request.user_agent, at=now)
    db.commit()
    _changed(envelope)


def identified(db: DB, participant_id: str, method: str, evidence: dict[str, Any], *,
               now: dt.datetime | None = None, request: Request = NO_REQUEST) -> None:
    now = now or utcnow()
    envelope, people, me = _participant(db, participant_id)
    _require_in_flight(envelope, now)
    if me.identity and method not in me.identity:
        raise EnvelopeError(f"identity method {method} is not one this role accepts")
    _set_status(me, P.IDENTIFIED, now)
    db.add(me)
    _bump(db, envelope)
    audit.append(db, envelope.id, me.id, "identified", detail={"method": method, **evidence}, ip=request.ip,
                 user_agent=request.user_agent, at=now)
    db.commit()
    _changed(envelope)


def identity_done(db: DB, participant_id: str) -> list[str]:
    """The identity methods this participant has passed so far (their `identity_step` events), in order."""
    from store.models import AuditEvent

    p = db.get(Participant, participant_id)
    if p is None:
        return []
    rows = db.exec(select(AuditEvent).where(AuditEvent.envelope_id == p.envelope_id,
                                            AuditEvent.actor == participant_id,
                                            AuditEvent.action == "identity_step")
                   .order_by(col(AuditEvent.seq))).all()
    return [str(e.detail.get("method")) for e in rows]


def identity_step(db: DB, participant_id: str, method: str, evidence: dict[str, Any], *, has_passkey: bool = False,
                  now: dt.datetime | None = None, request: Request = NO_REQUEST) -> bool:
    """One identity check passed (an `identity_step` event with its evidence). The role's methods are
    passed all, in order (`identity.plan`); after the last one the participant is `identified`, with
    every method named in that event. True when the participant is now identified."""
    from signing.identity import next_step

    now = now or utcnow()
    envelope, people, me = _participant(db, participant_id)
    _require_in_flight(envelope, now)
    if me.status != P.OPENED:
        raise EnvelopeError(f"the participant is {me.status}")
    done = identity_done(db, me.id)
    expected = next_step(me.identity, done, has_passkey)
    if method != expected:
        raise EnvelopeError(f"the next identity check is {expected}, not {method}")
    _bump(db, envelope)
    audit.append(db, envelope.id, me.id, "identity_step", detail={"method": method, **evidence}, ip=request.ip,
                 user_agent=request.user_agent, at=now)
    done.append(method)
    wanted = list(me.identity) or ["email_code"]
    complete = all(m in done for m in wanted)
    if complete:
        _set_status(me, P.IDENTIFIED, now)
        db.add(me)
        audit.append(db, envelope.id, me.id, "identified",
                     detail={"method": "+".join(wanted), "methods": wanted, "steps": done, "result": "verified"},
                     ip=request.ip, user_agent=request.user_agent, at=now)
    db.commit()
    _changed(envelope)
    return complete


def consented(db: DB, participant_id: str, disclosure: str, *, now: dt.datetime | None = None,
              request: Request = NO_REQUEST) -> None:
    """Consent to do business electronically, recorded before the participant's first signature."""
    now = now or utcnow()
    envelope, people, me = _participant(db, participant_id)
    _require_in_flight(envelope, now)
    me.consented_at = now
    db.add(me)
    _bump(db, envelope)
    audit.append(db, envelope.id, me.id, "consented", detail={"disclosure": disclosure}, ip=request.ip,
                 user_agent=request.user_agent, at=now)
    db.commit()
    _changed(envelope)


def acted(db: DB, participant_id: str, notifier: Notifier | None = None, *, doc_after: str | None = None,
          signed_on: str | None = None, detail: dict[str, Any] | None = None, now: dt.datetime | None = None,
          request: Request = NO_REQUEST) -> list[Notice]:
    """The participant signed (`doc_after` = the new revision's SHA-256), approved or reviewed.

    `signed_on` is the revision the signature was appended to: if another signature landed
    meanwhile, this one would drop it, so `Conflict` is raised and the caller signs again on the
    latest revision."""
    now = now or utcnow()
    envelope, people, me = _participant(db, participant_id)
    _require_in_flight(envelope, now)
    if signed_on is not None and signed_on != envelope.current_sha256:
        db.rollback()
        raise Conflict("another signature was added to the document meanwhile")
    payment = _payment(db, envelope.id)
    if not routing.is_turn(_seats(people, payment), me.id):
        raise EnvelopeError("it is not this participant's turn")
    if (payment is not None and payment.status == "due" and payment.when == "before signing"
            and payment.participant_id == me.id):
        raise EnvelopeError("the payment must be made before signing")
    if me.action in ("sign", "witness") and me.consented_at is None:
        raise EnvelopeError("consent to sign electronically must be recorded before signing")
    before = envelope.current_sha256
    _set_status(me, P.ACTED, now)
    db.add(me)
    _bump(db, envelope, current_sha256=doc_after or before)
    verb = {"sign": "signed", "witness": "witnessed", "approve": "approved", "review": "reviewed"}[me.action]
    audit.append(db, envelope.id, me.id, verb, detail=detail, ip=request.ip, user_agent=request.user_agent,
                 doc_before=before, doc_after=doc_after or before, at=now)
    notices = _route(db, envelope, people, now)
    _commit_and_notify(db, notices, notifier, envelope)
    return notices


def decline(db: DB, participant_id: str, reason: str, notifier: Notifier | None = None, *,
            now: dt.datetime | None = None, request: Request = NO_REQUEST) -> list[Notice]:
    now = now or utcnow()
    envelope, people, me = _participant(db, participant_id)
    _require_in_flight(envelope, now)
    reason = reason.strip()[:2000]
    if not reason:
        raise EnvelopeError("a reason is needed to decline")
    _set_status(me, P.DECLINED, now)
    me.reason = reason
    db.add(me)
    check_envelope(E(envelope.status), E.DECLINED)
    _bump(db, envelope, status=E.DECLINED.value, reason=reason)
    audit.append(db, envelope.id, me.id, "declined", detail={"reason": reason}, ip=request.ip,
                 user_agent=request.user_agent, at=now)
    notices = [Notice("declined", envelope.id, p.id, {"role": me.role}) for p in people
               if p.id != me.id and p.status in (P.NOTIFIED, P.OPENED, P.IDENTIFIED, P.ACTED)]
    _commit_and_notify(db, notices, notifier, envelope)
    return notices


def void(db: DB, envelope_id: str, reason: str, notifier: Notifier | None = None, *,
         now: dt.datetime | None = None, request: Request = NO_REQUEST,
         detail: dict[str, Any] | None = None) -> list[Notice]:
    now = now or utcnow()
    envelope, people = load(db, envelope_id)
    check_envelope(E(envelope.status), E.VOIDED)
    _bump(db, envelope, status=E.VOIDED.value, reason=reason.strip()[:2000] or None)
    audit.append(db, envelope.id, "sender", "voided", detail={"reason": reason, **(detail or {})}, ip=request.ip,
                 user_agent=request.user_agent, at=now)
    notices = [Notice("voided", envelope.id, p.id) for p in people
               if p.status in (P.NOTIFIED, P.OPENED, P.IDENTIFIED, P.ACTED)]
    _commit_and_notify(db, notices, notifier, envelope)
    return notices


def remind(db: DB, envelope_id: str, notifier: Notifier | None = None, *, role: str | None = None,
           detail: dict[str, Any] | None = None, now: dt.datetime | None = None,
           request: Request = NO_REQUEST) -> list[Notice]:
    """The sender reminds now everyone whose turn it is and who has not acted (or only `role`);
    each reminder is an audit event and counts towards the scheduled ones' spacing."""
    now = now or utcnow()
    envelope, people = load(db, envelope_id)
    _require_in_flight(envelope, now)
    due = [p for p in people if p.status in (P.NOTIFIED, P.OPENED, P.IDENTIFIED) and (role is None or p.role == role)]
    if not due:
        raise EnvelopeError("no one is waiting to act" + (f" as {role}" if role else ""))
    _bump(db, envelope)
    for p in due:
        p.reminders += 1
        p.reminded_at = now
        db.add(p)
        audit.append(db, envelope.id, "sender", "reminder_sent",
                     detail={"participant": p.id, "reminder": p.reminders, **(detail or {})}, ip=request.ip,
                     user_agent=request.user_agent, at=now)
    notices = [Notice("reminder", envelope.id, p.id) for p in due]
    _commit_and_notify(db, notices, notifier, envelope)
    return notices


def extend(db: DB, envelope_id: str, expires_at: dt.datetime, *, detail: dict[str, Any] | None = None,
           now: dt.datetime | None = None, request: Request = NO_REQUEST) -> None:
    """The sender moves the expiry date of an envelope still in flight (later only); the expiry
    warning is sent again before the new date."""
    now = now or utcnow()
    envelope, _people = load(db, envelope_id)
    _require_in_flight(envelope, now)
    new = _aware(expires_at)
    old = _aware(envelope.expires_at) if envelope.expires_at is not None else None
    if new <= now or (old is not None and new <= old):
        raise EnvelopeError("the new expiry must be later than now and than the current expiry")
    _bump(db, envelope, expires_at=new, expiry_warned_at=None)
    audit.append(db, envelope.id, "sender", "extended",
                 detail={"from": old.isoformat() if old else None, "to": new.isoformat(), **(detail or {})},
                 ip=request.ip, user_agent=request.user_agent, at=now)
    db.commit()
    _changed(envelope)


def delegate(db: DB, participant_id: str, name: str, email: str, reason: str, notifier: Notifier | None = None,
             *, now: dt.datetime | None = None, request: Request = NO_REQUEST) -> Participant:
    """Hand this participant's place (role, action, order) to another person, recorded from → to."""
    now = now or utcnow()
    envelope, people, me = _participant(db, participant_id)
    _require_in_flight(envelope, now)
    if not name.strip() or "@" not in email:
        raise EnvelopeError("the delegate needs a name and an e-mail address")
    _set_status(me, P.DELEGATED, now)
    me.reason = reason.strip()[:2000] or None
    db.add(me)
    new = Participant(envelope_id=envelope.id, role=me.role, action=me.action, routing_order=me.routing_order,
                      name=name.strip(), email=email.strip(), identity=list(me.identity), delegated_from=me.id,
                      witness_for=me.witness_for)
    db.add(new)
    db.flush()
    people.append(new)
    payment = _payment(db, envelope.id)
    if payment is not None and payment.participant_id == me.id:
        payment.participant_id = new.id  # the delegate takes over the payment step too
        db.add(payment)
    _bump(db, envelope)
    audit.append(db, envelope.id, me.id, "delegated", detail={"from": me.id, "to": new.id, "reason": reason},
                 ip=request.ip, user_agent=request.user_agent, at=now)
    notices = _route(db, envelope, people, now)
    _commit_and_notify(db, notices, notifier, envelope)
    return new


# -- the clock: expiry, warnings, reminders (run by a scheduler) ------------------------------


def tick(db: DB, notifier: Notifier | None = None, *, now: dt.datetime | None = None,
         warn_before: dt.timedelta = dt.timedelta(days=2),
         remind_every: dt.timedelta = dt.timedelta(days=3), max_reminders: int = 3) -> list[Notice]:
    """Expire envelopes past their date, warn those about to expire (once), remind participants
    who were notified and have not acted (every `remind_every`, at most `max_reminders` times)."""
    now = now or utcnow()
    notices: list[Notice] = []
    in_flight = db.exec(select(Envelope).where(Envelope.status == E.SENT.value)).all()
    for envelope_id in [e.id for e in in_flight]:
        notices += retrying(partial(_tick_one, db, envelope_id, now, warn_before, remind_every, max_reminders))
    for notice in notices:
        _commit_and_notify(db, [notice], notifier)
    return notices


def _tick_one(db: DB, envelope_id: str, now: dt.datetime, warn_before: dt.timedelta,
              remind_every: dt.timedelta, max_reminders: int) -> list[Notice]:
    db.rollback()
    envelope, people = load(db, envelope_id)
    waiting = [p for p in people if p.status in (P.NOTIFIED, P.OPENED, P.IDENTIFIED)]
    notices: list[Notice] = []
    expires = _aware(envelope.expires_at) if envelope.expires_at is not None else None
    if expires is not None and expires <= now:
        check_envelope(E(envelope.status), E.EXPIRED)
        _bump(db, envelope, status=E.EXPIRED.value)
        audit.append(db, envelope.id, "system", "expired", at=now)
        notices = [Notice("expired", envelope.id, p.id) for p in waiting]
    elif expires is not None and envelope.expiry_warned_at is None and expires - now <= warn_before:
        _bump(db, envelope, expiry_warned_at=now)
        audit.append(db, envelope.id, "system", "expiry_warning_sent", detail={"expires_at": expires.isoformat()},
                     at=now)
        notices = [Notice("expiry_warning", envelope.id, p.id, {"expires_at": expires.isoformat()}) for p in waiting]
    else:
        due = [p for p in waiting if p.reminders < max_reminders
               and now - _aware(p.reminded_at or p.notified_at or now) >= remind_every]
        if due:
            _bump(db, envelope)
            for p in due:
                p.reminders += 1
                p.reminded_at = now
                db.add(p)
                audit.append(db, envelope.id, "system", "reminder_sent",
                             detail={"participant": p.id, "reminder": p.reminders}, at=now)
            notices = [Notice("reminder", envelope.id, p.id) for p in due]
    db.commit()
    if notices or envelope.status != E.SENT.value:
        _changed(envelope)
    return notices
