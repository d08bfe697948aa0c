"""Passkeys (WebAuthn, with py_webauthn) as an identity method.

A signer whose role asks for a passkey and who has none registered with this firm under their
e-mail address first passes the e-mail code (`identity.plan`), then registers one; that
registration, made with user verification, is the passkey step's evidence. In later envelopes to
the same address, the signer authenticates with it. The relying party is the server's public
address (`ACCORD_PUBLIC_URL`): its host is the RP ID, its origin the expected origin (browsers only
offer WebAuthn on https or on `localhost`).

Each ceremony's challenge is kept in `identity_challenge` (method `passkey`, single use, 5
minutes); at most 10 ceremonies per 15 minutes are started per participant, and 10 failed ones in
an hour lock the method for an hour, like the codes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session as DB
from sqlmodel import col, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from signing.identity import IdentityError, Verified
from store.models import Envelope, IdentityChallenge, Participant, PasskeyCredential, utcnow


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


class Passkey:
    name = "passkey"
    ttl = dt.timedelta(minutes=5)
    starts_per_window = 10
    window = dt.timedelta(minutes=15)
    lockout_after = 10
    lockout = dt.timedelta(hours=1)

    def __init__(self, public_url: str, rp_name: str = "Accord") -> None:
        parts = urlsplit(public_url)
        self.rp_id = parts.hostname or "localhost"
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.rp_name = rp_name

    # -- lookups --------------------------------------------------------------------------

    @staticmethod
    def _firm(db: DB, participant: Participant) -> int:
        envelope = db.get(Envelope, participant.envelope_id)
        if envelope is None:
            raise IdentityError("passkey_failed", "no such envelope")
        return envelope.firm_id

    def credentials(self, db: DB, participant: Participant) -> list[PasskeyCredential]:
        firm = self._firm(db, participant)
        return list(db.exec(select(PasskeyCredential).where(PasskeyCredential.firm_id == firm,
                                                            PasskeyCredential.email == participant.email.lower())
                            .order_by(col(PasskeyCredential.id))).all())

    def has_passkey(self, db: DB, participant: Participant) -> bool:
        return bool(self.credentials(db, participant))

    def _challenges(self, db: DB, participant: Participant, since: dt.datetime) -> list[IdentityChallenge]:
        rows = db.exec(select(IdentityChallenge).where(IdentityChallenge.participant_id == participant.id,
                                                       IdentityChallenge.method == self.name)
                       .order_by(col(IdentityChallenge.created_at))).all()
        return [r for r in rows if _aware(r.created_at) >= since]

    def _locked(self, db: DB, participant: Participant, now: dt.datetime) -> bool:
        rows = self._challenges(db, participant, now - self.lockout)
        return sum(r.attempts for r in rows if r.verified_at is None) >= self.lockout_after

    # -- ceremonies -----------------------------------------------------------------------

    def options(self, db: DB, participant: Participant, *, email_verified: bool,
                now: dt.datetime | None = None) -> dict[str, Any]:
        """`{"mode": "register" | "authenticate", "publicKey": {...}}` for the browser's
        `PublicKeyCredential.parse{Creation,Request}OptionsFromJSON`."""
        now = now or utcnow()
        if self._locked(db, participant, now):
            raise IdentityError("locked", "too many failed passkey checks: try again in an hour")
        if len(self._challenges(db, participant, now - self.window)) >= self.starts_per_window:
            raise IdentityError("rate_limited", "too many passkey attempts: wait a few minutes")
        existing = self.credentials(db, participant)
        challenge = secrets.token_bytes(32)
        if existing:
            mode = "authenticate"
            options = options_to_json(generate_authentication_options(
                rp_id=self.rp_id, challenge=challenge, timeout=int(self.ttl.total_seconds() * 1000),
                allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.credential_id))
                                   for c in existing],
                user_verification=UserVerificationRequirement.REQUIRED))
        else:
            if not email_verified:
                raise IdentityError("no_code", "confirm your e-mail address before registering a passkey")
            mode = "register"
            firm = self._firm(db, participant)
            user_id = hashlib.sha256(f"{firm}:{participant.email.lower()}".encode()).digest()[:16]
            options = options_to_json(generate_registration_options(
                rp_id=self.rp_id, rp_name=self.rp_name, user_name=participant.email,
                user_display_name=participant.name, user_id=user_id, challenge=challenge,
                timeout=int(self.ttl.total_seconds() * 1000),
                authenticator_selection=AuthenticatorSelectionCriteria(
                    resident_key=ResidentKeyRequirement.PREFERRED,
                    user_verification=UserVerificationRequirement.REQUIRED)))
        db.add(IdentityChallenge(participant_id=participant.id, method=self.name,
                                 code_hash=bytes_to_base64url(challenge), created_at=now, expires_at=now + self.ttl))
        db.commit()
        return {"mode": mode, "publicKey": json.loads(options)}

    def check(self, db: DB, participant: Participant, answer: str, now: dt.datetime | None = None) -> Verified:
        """`answer` is the browser's credential (`PublicKeyCredential.toJSON()`) as JSON text."""
        now = now or utcnow()
        if self._locked(db, participant, now):
            raise IdentityError("locked", "too many failed passkey checks: try again in an hour")
        latest = db.exec(select(IdentityChallenge).where(IdentityChallenge.participant_id == participant.id,
                                                         IdentityChallenge.method == self.name)
                         .order_by(col(IdentityChallenge.created_at).desc())).first()
        if latest is None or latest.verified_at is not None or latest.attempts > 0:
            raise IdentityError("no_code", "start the passkey check again")
        if _aware(latest.expires_at) <= now:
            raise IdentityError("expired", "the passkey check took too long: start again")
        latest.attempts = 1  # single use, whatever the outcome
        db.add(latest)
        db.commit()
        challenge = base64url_to_bytes(latest.code_hash)
        try:
            credential = json.loads(answer)
            if not isinstance(credential, dict):
                raise ValueError("not an object")
            existing = self.credentials(db, participant)
            if existing:
                raw_id = bytes_to_base64url(base64url_to_bytes(str(credential.get("rawId", ""))))
                stored = next((c for c in existing if c.credential_id == raw_id), None)
                if stored is None:
                    raise IdentityError("passkey_failed", "this passkey is not registered for you")
                result = verify_authentication_response(
                    credential=credential, expected_challenge=challenge, expected_rp_id=self.rp_id,
                    expected_origin=self.origin, credential_public_key=base64url_to_bytes(stored.public_key),
                    credential_current_sign_count=stored.sign_count, require_user_verification=True)
                stored.sign_count = result.new_sign_count
                stored.last_used_at = now
                db.add(stored)
                evidence = {"result": "verified", "ceremony": "authentication", "credential": raw_id[:16],
                            "user_verified": result.user_verified, "sign_count": result.new_sign_count,
                            "registered_at": _aware(stored.created_at).isoformat()}
            else:
                reg = verify_registration_response(
                    credential=credential, expected_challenge=challenge, expected_rp_id=self.rp_id,
                    expected_origin=self.origin, require_user_verification=True)
                cred_id = bytes_to_base64url(reg.credential_id)
                db.add(PasskeyCredential(firm_id=self._firm(db, participant), email=participant.email.lower(),
                                         participant_id=participant.id, credential_id=cred_id,
                                         public_key=bytes_to_base64url(reg.credential_public_key),
                                         sign_count=reg.sign_count, created_at=now, last_used_at=now))
                evidence = {"result": "verified", "ceremony": "registration", "credential": cred_id[:16],
                            "user_verified": reg.user_verified, "aaguid": reg.aaguid,
                            "device_type": str(reg.credential_device_type.value)}
        except IdentityError:
            db.commit()
            raise
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            db.rollback()
            raise IdentityError("passkey_failed", "the passkey could not be checked") from exc
        latest.verified_at = now
        db.add(latest)
        db.commit()
        return Verified(self.name, evidence)
