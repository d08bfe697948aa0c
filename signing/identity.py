"""Identity methods behind one interface. Each proves something about a participant and returns
the evidence the audit trail and the certificate of completion record.

The interview's `parties` block names the methods of each role (`identity: [email_code, sms_code]`);
they are passed **all, in order** (`plan`), each recorded as an `identity_step` audit event, and the
participant is `identified` when the last one passes (`signing.envelopes.identity_step`). A method
this server cannot run (`UNAVAILABLE`: ID document and video call, later issues) is never skipped:
the participant stays at that step, their page says the check is not available yet, and the
envelope's state shows what is pending (`pending_method`).

- `EmailCode` / `SmsCode` (`OneTimeCode`): a 6-digit code by e-mail or SMS. Only an HMAC of the code
  is stored; a code expires after 10 minutes and allows 5 attempts; at most 3 codes are sent per
  15 minutes; 10 wrong attempts within an hour lock the participant out of that method for an
  hour. Comparison is in constant time.
- `Passkey` (`signing.passkeys`): WebAuthn. A person without a passkey registers one on first use,
  bound to them only after their e-mail code (so `plan` puts `email_code` before `passkey` then);
  later envelopes authenticate with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import Session as DB
from sqlmodel import col, select

from store.models import IdentityChallenge, Participant, utcnow

IMPLEMENTED = ("email_code", "sms_code", "passkey")
UNAVAILABLE = ("id_document", "video_call", "kba")  # named by interviews; built by later issues


class IdentityError(Exception):
    """A check could not be started or passed; `code` says which case (for the page's message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # rate_limited, locked, expired, wrong, no_code, no_phone, passkey_failed


@dataclass(frozen=True)
class Verified:
    method: str
    evidence: dict[str, Any]


class IdentityMethod(Protocol):
    name: str

    def start(self, db: DB, participant: Participant, now: dt.datetime | None = None) -> None: ...

    def check(self, db: DB, participant: Participant, answer: str, now: dt.datetime | None = None) -> Verified: ...


def plan(wanted: Sequence[str], has_passkey: bool) -> list[str]:
    """The steps a participant goes through, in order: the role's methods (e-mail code when the role
    names none); a passkey not yet registered is preceded by the e-mail code that binds it."""
    steps = list(wanted) or ["email_code"]
    if "passkey" in steps and not has_passkey and "email_code" not in steps[:steps.index("passkey")]:
        steps.insert(steps.index("passkey"), "email_code")
    return steps


def next_step(wanted: Sequence[str], done: Sequence[str], has_passkey: bool) -> str | None:
    """The first step of the plan not yet passed; None when all are."""
    return next((m for m in plan(wanted, has_passkey) if m not in done), None)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


class OneTimeCode:
    """A 6-digit code delivered by `send(participant, code)` (called after the challenge is committed)."""

    name = "code"
    ttl = dt.timedelta(minutes=10)
    attempts_per_code = 5
    sends_per_window = 3
    send_window = dt.timedelta(minutes=15)
    lockout_after = 10
    lockout = dt.timedelta(hours=1)

    def __init__(self, secret: bytes, send: Callable[[Participant, str], None]) -> None:
        self.secret = secret
        self.send = send

    def address(self, participant: Participant) -> str:
        raise NotImplementedError

    def evidence(self, participant: Participant) -> dict[str, Any]:
        raise NotImplementedError

    def _hash(self, participant_id: str, code: str) -> str:
        scope = f"{participant_id}:{code}" if self.name == "email_code" else f"{self.name}:{participant_id}:{code}"
        return hmac.new(self.secret, scope.encode(), hashlib.sha256).hexdigest()

    def _recent(self, db: DB, participant: Participant, since: dt.datetime) -> list[IdentityChallenge]:
        rows = db.exec(select(IdentityChallenge).where(IdentityChallenge.participant_id == participant.id,
                                                       IdentityChallenge.method == self.name)
                       .order_by(col(IdentityChallenge.created_at))).all()
        return [r for r in rows if _aware(r.created_at) >= since]

    def _locked(self, db: DB, participant: Participant, now: dt.datetime) -> bool:
        failures = sum(r.attempts for r in self._recent(db, participant, now - self.lockout) if r.verified_at is None)
        return failures >= self.lockout_after

    def start(self, db: DB, participant: Participant, now: dt.datetime | None = None) -> None:
        now = now or utcnow()
        self.address(participant)  # raises when there is nowhere to send the code
        if self._locked(db, participant, now):
            raise IdentityError("locked", "too many wrong codes: try again in an hour")
        if len(self._recent(db, participant, now - self.send_window)) >= self.sends_per_window:
            raise IdentityError("rate_limited", "a code was sent several times already: wait a few minutes")
        code = f"{secrets.randbelow(10**6):06d}"
        db.add(IdentityChallenge(participant_id=participant.id, method=self.name,
                                 code_hash=self._hash(participant.id, code), created_at=now,
                                 expires_at=now + self.ttl))
        db.commit()
        self.send(participant, code)

    def check(self, db: DB, participant: Participant, answer: str, now: dt.datetime | None = None) -> Verified:
        now = now or utcnow()
        if self._locked(db, participant, now):
            raise IdentityError("locked", "too many wrong codes: try again in an hour")
        latest = db.exec(select(IdentityChallenge).where(IdentityChallenge.participant_id == participant.id,
                                                         IdentityChallenge.method == self.name)
                         .order_by(col(IdentityChallenge.created_at).desc())).first()
        if latest is None or latest.verified_at is not None:
            raise IdentityError("no_code", "ask for a code first")
        if _aware(latest.expires_at) <= now:
            raise IdentityError("expired", "this code has expired: ask for a new one")
        if latest.attempts >= self.attempts_per_code:
            raise IdentityError("expired", "too many attempts with this code: ask for a new one")
        latest.attempts += 1
        digits = "".join(ch for ch in answer if ch.isdigit())
        if not hmac.compare_digest(self._hash(participant.id, digits), latest.code_hash):
            db.add(latest)
            db.commit()
            if self._locked(db, participant, now):
                raise IdentityError("locked", "too many wrong codes: try again in an hour")
            raise IdentityError("wrong", "this code is not right")
        latest.verified_at = now
        db.add(latest)
        db.commit()
        return Verified(self.name, {"result": "verified", **self.evidence(participant), "attempts": latest.attempts,
                                    "sent_at": _aware(latest.created_at).isoformat()})


class EmailCode(OneTimeCode):
    name = "email_code"

    def address(self, participant: Participant) -> str:
        return participant.email

    def evidence(self, participant: Participant) -> dict[str, Any]:
        return {"email": participant.email}


class SmsCode(OneTimeCode):
    name = "sms_code"

    def address(self, participant: Participant) -> str:
        if not participant.phone:
            raise IdentityError("no_phone", "no mobile number is known for this participant")
        return participant.phone

    def evidence(self, participant: Participant) -> dict[str, Any]:
        return {"phone": mask_phone(participant.phone or "")}


def mask_phone(phone: str) -> str:
    """The number as the evidence shows it: enough to recognise, not to dial (+84 ••• ••• 567)."""
    digits = [c for c in phone if c.isdigit()]
    return f"••• {''.join(digits[-3:])}" if len(digits) > 3 else "•••"
