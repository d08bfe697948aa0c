"""E-mail one-time codes (hashed, expiring, attempts capped, sends rate-limited, lockout) and the
signed single-participant links."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session as DB
from sqlmodel import select

from signing import envelopes
from signing.envelopes import PartySpec
from signing.identity import EmailCode, IdentityError
from signing.links import LinkError, make_token, read_token
from store.models import IdentityChallenge, Participant

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def participant(db: DB, firm_id: int) -> Participant:
    envelope = envelopes.create(db, firm_id, title="Loan", language="en", pdf_sha256="a" * 64, now=T0,
                                parties=[PartySpec("applicant", "sign", 1, "An", "an@example.com")])
    _e, people = envelopes.load(db, envelope.id)
    return people[0]


class Inbox:
    def __init__(self) -> None:
        self.codes: list[str] = []

    def __call__(self, participant: Participant, code: str) -> None:
        self.codes.append(code)


def test_right_code_verifies_and_only_its_hash_is_stored(db: DB, participant: Participant) -> None:
    inbox = Inbox()
    method = EmailCode(b"secret", inbox)
    method.start(db, participant, T0)
    code = inbox.codes[-1]
    assert len(code) == 6 and code.isdigit()
    stored = db.exec(select(IdentityChallenge)).one()
    assert code not in stored.code_hash
    result = method.check(db, participant, f" {code[:3]} {code[3:]} ", T0 + dt.timedelta(minutes=1))
    assert result.method == "email_code" and result.evidence["result"] == "verified"
    with pytest.raises(IdentityError) as used:  # a code works once
        method.check(db, participant, code, T0 + dt.timedelta(minutes=2))
    assert used.value.code == "no_code"


def test_wrong_and_expired_codes(db: DB, participant: Participant) -> None:
    inbox = Inbox()
    method = EmailCode(b"secret", inbox)
    method.start(db, participant, T0)
    wrong = f"{(int(inbox.codes[-1]) + 1) % 10**6:06d}"
    with pytest.raises(IdentityError) as err:
        method.check(db, participant, wrong, T0)
    assert err.value.code == "wrong"
    with pytest.raises(IdentityError) as err:
        method.check(db, participant, inbox.codes[-1], T0 + dt.timedelta(minutes=11))
    assert err.value.code == "expired"


def test_attempts_per_code_are_capped(db: DB, participant: Participant) -> None:
    inbox = Inbox()
    method = EmailCode(b"secret", inbox)
    method.start(db, participant, T0)
    right = inbox.codes[-1]
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(IdentityError):
            method.check(db, participant, wrong, T0)
    with pytest.raises(IdentityError) as err:  # even the right code is refused after 5 attempts
        method.check(db, participant, right, T0)
    assert err.value.code == "expired"


def test_sends_are_rate_limited_and_failures_lock_out(db: DB, participant: Participant) -> None:
    inbox = Inbox()
    method = EmailCode(b"secret", inbox)
    for n in range(3):
        method.start(db, participant, T0 + dt.timedelta(minutes=n))
    with pytest.raises(IdentityError) as err:
        method.start(db, participant, T0 + dt.timedelta(minutes=3))
    assert err.value.code == "rate_limited" and len(inbox.codes) == 3
    # Ten wrong codes within the hour lock the participant out, whatever code comes next.
    at = T0 + dt.timedelta(minutes=20)
    codes: list[str] = []
    for n in range(2):
        method.start(db, participant, at + dt.timedelta(minutes=n))
        codes.append(inbox.codes[-1])
        for _ in range(5):
            with pytest.raises(IdentityError):
                method.check(db, participant, "000000" if codes[-1] != "000000" else "111111", at)
    with pytest.raises(IdentityError) as err:
        method.start(db, participant, at + dt.timedelta(minutes=30))
    assert err.value.code == "locked"
    method.start(db, participant, at + dt.timedelta(minutes=90))  # an hour later it works again


def test_links_are_signed_and_expire() -> None:
    token = make_token("k1", "participant-1")
    assert read_token("k1", token, max_age=60) == "participant-1"
    with pytest.raises(LinkError) as bad:
        read_token("k2", token, max_age=60)
    assert not bad.value.expired
    with pytest.raises(LinkError):
        read_token("k1", token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], max_age=60)
    with pytest.raises(LinkError) as old:
        read_token("k1", token, max_age=-1)
    assert old.value.expired
