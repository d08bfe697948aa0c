"""Staff accounts: creating them, checking a password and a TOTP code, locking an account after
repeated failures.

Why it is built this way:
- Passwords are argon2id hashes (argon2-cffi's defaults, re-hashed on login when the defaults
  change); the plain password only ever lives in the arguments of these functions and is never
  logged, stored or put in an exception message.
- A login is two factors: the password, then a TOTP code (pyotp, RFC 6238, 30-second steps, one
  step of clock drift either way). An account without a TOTP secret must enrol one before it can
  do anything: `begin_enrolment` makes a secret, `finish_enrolment` keeps it only once a code made
  from it has been typed back.
- `MAX_FAILURES` wrong passwords or codes in a row lock the account for `LOCK_FOR`; while locked
  even the right password is refused (with the same message), so guessing gains nothing.
- Every answer to a failed login is the same `LoginError` kind for "no such e-mail" and "wrong
  password", so the login page cannot be used to find out who has an account.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import Enum

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DB
from sqlmodel import col, func, select

from store import secretbox
from store.models import Firm, Staff, utcnow

log = logging.getLogger("accord.manage.staff")

ROLES = ("owner", "admin", "agent", "viewer")
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
ISSUER = "Accord"
_hasher = PasswordHasher()


class StaffError(Exception):
    """The account cannot be created or changed (the message says why; it never holds a password)."""


class LoginFailure(Enum):
    BAD_CREDENTIALS = "bad_credentials"  # unknown e-mail, wrong password, inactive account
    LOCKED = "locked"
    BAD_CODE = "bad_code"


class LoginError(Exception):
    def __init__(self, failure: LoginFailure, locked_until: dt.datetime | None = None) -> None:
        super().__init__(failure.value)
        self.failure = failure
        self.locked_until = locked_until


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_staff(db: DB, firm_slug: str, email: str, name: str, role: str, password: str, *,
                 sees_all: bool = False) -> Staff:
    """A new active account in the firm `firm_slug` (committed). Its TOTP is enrolled at first login."""
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise StaffError("the e-mail address is not valid")
    if not name.strip():
        raise StaffError("a name is needed")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password needs at least {MIN_PASSWORD} characters")
    firm = db.exec(select(Firm).where(Firm.slug == firm_slug)).first()
    if firm is None or firm.id is None:
        raise StaffError(f"no firm with the slug {firm_slug!r}")
    staff = Staff(firm_id=firm.id, email=email, name=name.strip(), role=role, sees_all=sees_all,
                  password_hash=hash_password(password))
    db.add(staff)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise StaffError("an account with this e-mail address exists already") from None
    db.refresh(staff)
    log.info("staff account created", extra={"staff_id": staff.id})
    return staff


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _locked(staff: Staff, now: dt.datetime) -> bool:
    return staff.locked_until is not None and _aware(staff.locked_until) > now


def _fail(db: DB, staff: Staff, now: dt.datetime) -> LoginError:
    """Count one failure (locking the account at `MAX_FAILURES`), commit, and say what to raise."""
    staff.failed_logins += 1
    if staff.failed_logins >= MAX_FAILURES:
        staff.locked_until = now + LOCK_FOR
        staff.failed_logins = 0
        log.warning("staff account locked", extra={"staff_id": staff.id})
    db.add(staff)
    db.commit()
    if staff.locked_until is not None and _aware(staff.locked_until) > now:
        return LoginError(LoginFailure.LOCKED, _aware(staff.locked_until))
    return LoginError(LoginFailure.BAD_CREDENTIALS)


def check_password(db: DB, email: str, password: str, *, now: dt.datetime | None = None) -> Staff:
    """The first factor: the account whose e-mail and password these are, or `LoginError`."""
    now = now or utcnow()
    staff = db.exec(select(Staff).where(func.lower(Staff.email) == normalise_email(email))).first()
    if staff is None or not staff.active:
        _burn(password)  # the same cost either way
        raise LoginError(LoginFailure.BAD_CREDENTIALS)
    if _locked(staff, now):
        raise LoginError(LoginFailure.LOCKED, _aware(staff.locked_until) if staff.locked_until else None)
    try:
        _hasher.verify(staff.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise _fail(db, staff, now) from None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    staff.failed_logins = 0
    db.add(staff)
    db.commit()
    db.refresh(staff)
    return staff


_DUMMY_HASH = _hasher.hash("accord-no-such-account")


def _burn(password: str) -> None:
    """Spend the time a real check takes, so an unknown e-mail is not told apart by timing."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


def check_code(db: DB, staff_id: int, code: str, *, now: dt.datetime | None = None) -> Staff:
    """The second factor: a current TOTP code of the account's enrolled secret, or `LoginError`."""
    now = now or utcnow()
    staff = db.get(Staff, staff_id)
    if staff is None or not staff.active or staff.totp_secret is None:
        raise LoginError(LoginFailure.BAD_CREDENTIALS)
    if _locked(staff, now):
        raise LoginError(LoginFailure.LOCKED, _aware(staff.locked_until) if staff.locked_until else None)
    if not _code_ok(totp_secret(staff), code, now):
        error = _fail(db, staff, now)
        raise LoginError(LoginFailure.LOCKED if error.failure is LoginFailure.LOCKED else LoginFailure.BAD_CODE,
                         error.locked_until)
    staff.failed_logins = 0
    db.add(staff)
    db.commit()
    db.refresh(staff)
    return staff


def totp_secret(staff: Staff) -> str:
    """The account's TOTP secret in clear. Stored encrypted (`store.secretbox`, migration 0013):
    a copy of the database alone does not let anyone make second-factor codes. A value still in
    plain text (written before 0013 by a process that had not migrated) is taken as it is."""
    stored = staff.totp_secret or ""
    return secretbox.unseal(stored) if secretbox.is_sealed(stored) else stored


def reseal_totp_secrets(db: DB) -> int:
    """Re-encrypt every enrolled TOTP secret under the first key of the key ring (key rotation, as
    `integrations.webhooks.reseal_all` does for signing secrets). All or nothing; how many."""
    ring = secretbox.current()
    rows = list(db.exec(select(Staff).where(col(Staff.totp_secret).is_not(None)).order_by(col(Staff.id))).all())
    try:
        for row in rows:
            row.totp_secret = ring.reseal(row.totp_secret or "")
            db.add(row)
    except secretbox.SecretBoxError:
        db.rollback()
        raise
    db.commit()
    return len(rows)


def _code_ok(secret: str, code: str, now: dt.datetime) -> bool:
    code = "".join(code.split())
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1)


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str  # otpauth://totp/... for an authenticator app (shown as a QR code and as text)


def begin_enrolment(staff: Staff, secret: str | None = None) -> Enrolment:
    """A new TOTP secret for `staff` (not stored until a code made from it is typed back)."""
    secret = secret or pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=ISSUER)
    return Enrolment(secret, uri)


def finish_enrolment(db: DB, staff_id: int, secret: str, code: str, *, now: dt.datetime | None = None) -> Staff:
    """Keep `secret` as the account's TOTP secret if `code` is current for it; else `LoginError`."""
    now = now or utcnow()
    staff = db.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise LoginError(LoginFailure.BAD_CREDENTIALS)
    if staff.totp_secret is not None:
        raise StaffError("a second factor is enrolled already")
    if _locked(staff, now):
        raise LoginError(LoginFailure.LOCKED, _aware(staff.locked_until) if staff.locked_until else None)
    if not _code_ok(secret, code, now):
        error = _fail(db, staff, now)
        raise LoginError(LoginFailure.LOCKED if error.failure is LoginFailure.LOCKED else LoginFailure.BAD_CODE,
                         error.locked_until)
    staff.totp_secret = secretbox.seal(secret)
    staff.failed_logins = 0
    db.add(staff)
    db.commit()
    db.refresh(staff)
    log.info("second factor enrolled", extra={"staff_id": staff.id})
    return staff


def firm_staff(db: DB, firm_id: int) -> list[Staff]:
    """The firm's active staff who can be given applicants (owners, admins, agents), by name."""
    return list(db.exec(select(Staff).where(Staff.firm_id == firm_id, Staff.active == True,  # noqa: E712
                                            Staff.role != "viewer").order_by(Staff.name)).all())


STAFF_ACTIONS = ("deactivate", "activate", "reset-2fa")


def manage_staff(db: DB, actor: Staff, staff_id: int, action: str) -> Staff | None:
    """An owner's or admin's change to a colleague of the same firm: deactivate (they are logged out
    at their next request), activate again (lockout cleared), or reset-2fa (a lost phone: they enrol
    a new authenticator at their next login). None when `staff_id` is not one of the firm's staff;
    `StaffError` when the actor may not do it (not owner/admin, their own account, an admin
    touching an owner)."""
    target = db.exec(select(Staff).where(Staff.id == staff_id, Staff.firm_id == actor.firm_id)).first()
    if target is None:
        return None
    if actor.role not in ("owner", "admin"):
        raise StaffError("only owners and admins manage staff accounts")
    if target.id == actor.id:
        raise StaffError("you cannot change your own account here")
    if target.role == "owner" and actor.role != "owner":
        raise StaffError("only an owner can change an owner's account")
    if action == "deactivate":
        target.active = False
    elif action == "activate":
        target.active, target.failed_logins, target.locked_until = True, 0, None
    elif action == "reset-2fa":
        target.totp_secret = None
    else:
        raise StaffError(f"unknown action {action!r}")
    db.add(target)
    db.commit()
    db.refresh(target)
    log.info("staff account changed", extra={"staff_id": target.id})
    return target
