"""The signing ceremony's steps that touch the document: starting an envelope from a session's
assembled agreement, and appending a participant's signature to the latest revision.

The PDF work itself is behind `DocumentSigner` (PAdES with pyHanko in `signing.pades`), so this
module only decides which field, which revision and what to record. Signatures on one envelope
are serialised: a lock per envelope in this process, and the `signed_on` check in
`envelopes.acted`, which makes a signature made on an outdated revision (by another process) sign
again on the latest one instead of silently dropping the other signature.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session as DB

from documents.agreements import current_agreement
from documents.render import SIGNING_ACTIONS as FIELD_ACTIONS  # sign, approve, witness: each has a field
from signing import envelopes
from signing.envelopes import Conflict, EnvelopeError, Notifier, Request
from store.blobs import BlobStore
from store.models import Envelope, Participant, utcnow


@dataclass(frozen=True)
class SignerIdentity:
    """Who signs, as verified: goes into the per-signer certificate and the visible stamp."""

    name: str
    email: str
    role: str
    method: str  # the identity method that verified them (e.g. email_code)
    evidence: dict[str, Any] = field(default_factory=dict)


class DocumentSigner(Protocol):
    async def sign(self, pdf: bytes, *, field: str, signer: SignerIdentity, certify: bool,
                   image: bytes | None, verify_url: str) -> bytes: ...


def field_for(role: str) -> str:
    return f"sig_{role}"  # documents.render.field_name: the template reserved it before anyone signs


def start_envelope(db: DB, blobs: BlobStore, session_id: str, staff: Mapping[str, tuple[str, str]], *,
                   firm_id: int, expires_in: dt.timedelta = dt.timedelta(days=14),
                   notifier: Notifier | None = None, send: bool = True) -> Envelope:
    """An envelope for the session's current agreement version, its parties from the interview's
    `parties` block (staff groups resolved with `staff`) and its payment step from the `payment`
    block, sent unless `send=False`."""
    current = current_agreement(db, blobs, session_id)
    from signing.payment import terms_from_source

    parties = envelopes.parties_from_source(current.source, staff)
    envelope = envelopes.create(db, firm_id, title=current.source.title, language=current.source.language,
                                pdf_sha256=current.version.pdf_sha256, parties=parties, session_id=session_id,
                                agreement_version_id=current.version.id, expires_at=utcnow() + expires_in,
                                payment=terms_from_source(current.source.payment))
    if send:
        envelopes.send(db, envelope.id, notifier)
    return envelope


_locks: dict[str, asyncio.Lock] = {}


def _lock(envelope_id: str) -> asyncio.Lock:
    return _locks.setdefault(envelope_id, asyncio.Lock())


async def sign(session_factory: Callable[[], DB], blobs: BlobStore, signer: DocumentSigner, participant_id: str,
               identity: SignerIdentity, *, image: bytes | None, image_kind: str, verify_url: str,
               notifier: Notifier | None = None, request: Request = envelopes.NO_REQUEST,
               attempts: int = 3, fields: dict[str, Any] | None = None) -> str:
    """Append the participant's signature to the envelope's latest revision and record it; the new
    revision's SHA-256. `fields` are the values the participant typed while signing (their party's
    `fields:`), kept in the signature's audit event, so they are part of the sealed trail."""
    with session_factory() as db:
        p = db.get(Participant, participant_id)
        if p is None:
            raise EnvelopeError("no such participant")
        envelope_id, action = p.envelope_id, p.action
    if action not in FIELD_ACTIONS:
        raise EnvelopeError(f"a participant who may {action} does not sign the document")
    async with _lock(envelope_id):
        for attempt in range(attempts):
            with session_factory() as db:
                envelope, people = envelopes.load(db, envelope_id)
                base = envelope.current_sha256
                certify = not any(x.action in FIELD_ACTIONS and x.status == "acted" for x in people)
            pdf = await asyncio.to_thread(blobs.get, base)
            signed = await signer.sign(pdf, field=field_for(identity.role), signer=identity, certify=certify,
                                       image=image, verify_url=verify_url)
            sha = await asyncio.to_thread(blobs.put, signed)
            detail = {"field": field_for(identity.role), "certification": certify, "signature": image_kind,
                      "method": identity.method,
                      "image_sha256": hashlib.sha256(image).hexdigest() if image else None}
            if fields:
                detail["fields"] = fields
            try:
                with session_factory() as db:
                    envelopes.acted(db, participant_id, notifier, doc_after=sha, signed_on=base, detail=detail,
                                    request=request)
                return sha
            except Conflict:
                if attempt == attempts - 1:
                    raise
    raise AssertionError("unreachable")
