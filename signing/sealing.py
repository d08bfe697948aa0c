"""From a completed envelope to the sealed agreement, and the PAdES signer the ceremony uses.

`seal_pending` renders the certificate of completion from the database (participants, identity
evidence, times, IPs, devices, consent, the event log, the audit head), seals the latest revision
(`Pades.seal`: platform e-seal + document timestamp, PAdES B-LTA), stores it and records a `sealed`
event whose detail repeats the audit head that the certificate shows. A failure never leaves the
envelope stuck: it stays `completed` with `seal_status = pending`, `seal_attempts` counts the
tries, `seal_error` says what failed, a `seal_failed` event is recorded, and the next call (the
page that completed it, or the scheduler's tick) tries again.

`audit_check` is the hook `signing.verify` calls (`accord verify`): the file must be the final
revision of an envelope in this database, whose audit chain is intact and whose `sealed` event
carries the head the certificate was rendered with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session as DB
from sqlmodel import select

from signing import audit, envelopes
from signing.ceremony import SignerIdentity
from signing.pades import Completion, DocumentDigest, Event, Pades, PaymentRecord, Stamp
from signing.pades import Participant as CertParticipant
from signing.pki import PKI
from signing.states import SealStatus
from store.blobs import BlobStore
from store.models import Envelope, Participant, Payment, utcnow

log = logging.getLogger("accord.signing.seal")

METHOD_LABELS = {"email_code": "e-mail one-time code", "sms_code": "SMS one-time code", "passkey": "passkey",
                 "id_document": "ID document", "video_call": "video call", "link": "personal link"}
MAX_ATTEMPTS = 10


def method_label(method: str) -> str:
    """`email_code+sms_code` (every method the signer passed, in order) as "e-mail one-time code + SMS …"."""
    return " + ".join(METHOD_LABELS.get(m, m) for m in method.split("+") if m)


class PadesSigner:
    """`ceremony.DocumentSigner` over `signing.pades`: a one-day certificate per signature, issued
    to the name and e-mail the ceremony verified, recording the identity method."""

    def __init__(self, pki: PKI, pades: Pades) -> None:
        self.pki, self.pades = pki, pades

    async def sign(self, pdf: bytes, *, field: str, signer: SignerIdentity, certify: bool, image: bytes | None,
                   verify_url: str) -> bytes:
        credential = await asyncio.to_thread(self.pki.issue_signer, signer.name, signer.email,
                                             signer.method.split("+"))
        stamp = Stamp(name=signer.name, verify_url=verify_url, role=signer.role.replace("_", " "),
                      identity=method_label(signer.method), image_png=image)
        return await self.pades.sign(pdf, field, credential, stamp, certify=certify)


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _device(user_agent: str | None) -> str:
    ua = user_agent or ""
    kind = "phone" if any(k in ua for k in ("Mobile", "Android", "iPhone")) else "computer"
    browser = next((b for b in ("Edg", "Firefox", "Chrome", "Safari") if b in ua), "")
    return f"{browser} on a {kind}".strip() if ua else ""


def _event_detail(e: Any) -> str:
    """The payment events carry their evidence into the certificate's log (amount, provider ids)."""
    d = e.detail or {}
    if e.action == "paid":
        return f"{d.get('amount', '')} {d.get('provider', '')} {d.get('payment_intent') or ''}".strip()
    if e.action == "payment_requested":
        return f"{d.get('amount_minor', '')} {d.get('currency', '')}, {d.get('when', '')}"
    if e.action in ("payment_failed", "refunded"):
        return str(d.get("code") or d.get("amount") or "")
    return ""


def payment_records(payment: Payment | None, people: Sequence[Participant]) -> list[PaymentRecord]:
    if payment is None:
        return []
    from payments import plain

    payer = next((p for p in people if p.id == payment.participant_id), None)
    return [PaymentRecord(
        description=payment.description or "Payment", amount=plain(payment.amount_minor, payment.currency),
        payer=f"{payer.name} ({payer.role.replace('_', ' ')})" if payer else "", status=payment.status,
        provider=payment.provider or "", reference=" ".join(x for x in (payment.checkout_id, payment.payment_intent)
                                                            if x),
        paid_at=_when(payment.paid_at))]


def completion(envelope: Envelope, people: Sequence[Participant], events: Sequence[Any], head: str,
               payment: Payment | None = None) -> Completion:
    by_actor: dict[str, list[Any]] = {}
    for e in events:
        by_actor.setdefault(e.actor, []).append(e)
    participants = []
    for p in people:
        mine = by_actor.get(p.id, [])
        identified = next((e for e in mine if e.action == "identified"), None)
        acted = next((e for e in mine if e.action in ("signed", "approved", "reviewed", "witnessed")), None)
        method = str(identified.detail.get("method", "")) if identified else ""
        last = acted or identified
        participants.append(CertParticipant(
            name=p.name, email=p.email, role=p.role.replace("_", " "),
            identity=method_label(method) if identified else ("none (receives a copy)"
                                                                             if p.action == "cc" else ""),
            result=str(identified.detail.get("result", "verified")) if identified else "",
            ip=(last.ip or "") if last is not None else "",
            device=_device(last.user_agent if last is not None else None),
            sent=_when(p.notified_at), viewed=_when(p.opened_at), signed=_when(p.acted_at),
            consent=_when(p.consented_at)))
    return Completion(
        envelope_id=envelope.id, title=envelope.title, completed_at=_when(envelope.completed_at),
        documents=[DocumentDigest(name=f"{envelope.title}.pdf", original_sha256=envelope.original_sha256,
                                  final_sha256=envelope.current_sha256)],
        participants=participants,
        events=[Event(at=_when(e.at), actor=next((p.role.replace("_", " ") for p in people if p.id == e.actor),
                                                 e.actor), event=e.action, detail=_event_detail(e), ip=e.ip or "")
                for e in events],
        audit_head=head, payments=payment_records(payment, people))


async def seal_pending(session_factory: Callable[[], DB], blobs: BlobStore, pades: Pades,
                       envelope_id: str) -> bool:
    """Seal a completed envelope whose seal is pending; True when it is sealed (now or before)."""
    with session_factory() as db:
        envelope, people = envelopes.load(db, envelope_id)
        if envelope.seal_status == SealStatus.SEALED:
            return True
        if envelope.status != "completed" or envelope.seal_status != SealStatus.PENDING:
            return False
        chain = audit.events(db, envelope_id)
        report = audit.verify(chain)
        if not report.ok:  # never seal a broken trail
            raise envelopes.EnvelopeError("the audit chain is broken; not sealing")
        payment = db.exec(select(Payment).where(Payment.envelope_id == envelope_id)).first()
        data = completion(envelope, people, chain, report.head, payment)
        base = envelope.current_sha256
    try:
        pdf = await asyncio.to_thread(blobs.get, base)
        sealed = await pades.seal(pdf, data)
        sha = await asyncio.to_thread(blobs.put, sealed)
    except Exception as exc:
        log.error("seal failed (%s); it stays pending", type(exc).__name__, extra={"session": envelope_id})
        with session_factory() as db:
            envelope, _ = envelopes.load(db, envelope_id)
            envelopes._bump(db, envelope, seal_attempts=envelope.seal_attempts + 1, seal_error=type(exc).__name__)
            audit.append(db, envelope_id, "system", "seal_failed", detail={"error": type(exc).__name__,
                                                                          "attempt": envelope.seal_attempts})
            db.commit()
        return False
    with session_factory() as db:
        envelope, _ = envelopes.load(db, envelope_id)
        if envelope.current_sha256 != base:
            return False  # something else changed the document meanwhile: try again later
        envelopes._bump(db, envelope, seal_status=SealStatus.SEALED.value, current_sha256=sha,
                        seal_attempts=envelope.seal_attempts + 1, seal_error=None)
        audit.append(db, envelope_id, "system", "sealed", detail={"audit_head": report.head},
                     doc_before=base, doc_after=sha, at=utcnow())
        db.commit()
    return True


def audit_check(session_factory: Callable[[], DB]) -> Callable[[bytes, Any], tuple[bool, str]]:
    """`signing.verify`'s hook: is this file a sealed envelope of this database, with an intact trail?"""

    def check(pdf: bytes, _checks: Any) -> tuple[bool, str]:
        sha = hashlib.sha256(pdf).hexdigest()
        with session_factory() as db:
            envelope = db.exec(select(Envelope).where(Envelope.current_sha256 == sha)).first()
            if envelope is None:
                return False, "no envelope in this database has this file as its final document"
            chain = audit.events(db, envelope.id)
        report = audit.verify(chain)
        if not report.ok:
            return False, f"envelope {envelope.id}: the audit trail is broken: {report.problems[0]}"
        sealed = [e for e in chain if e.action == "sealed"]
        if not sealed or sealed[-1].doc_after != sha:
            return False, f"envelope {envelope.id}: this file is not its sealed document"
        if sealed[-1].detail.get("audit_head") != sealed[-1].prev_hash:
            return False, f"envelope {envelope.id}: the certificate's audit head does not match the trail"
        return True, f"envelope {envelope.id}: audit trail intact ({report.count} events), head {report.head[:16]}…"

    return check
