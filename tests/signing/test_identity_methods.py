"""Identity methods behind one interface: SMS codes through a Twilio-style gateway over real HTTP
(the fake gateway under tests/ speaks the protocol on loopback), the same limits as e-mail codes,
the role's methods passed all and in order (`envelopes.identity_step`), an unavailable method never
skipped, and the passkey step's plan (registration after the e-mail code)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from fake_sms import FakeSmsGateway
from sqlalchemy import Engine
from sqlmodel import Session as DB

from signing import audit, envelopes
from signing.envelopes import EnvelopeError, PartySpec
from signing.identity import EmailCode, IdentityError, SmsCode, next_step, plan
from signing.passkeys import Passkey
from signing.sms import ConsoleSms, HttpSmsGateway, SmsError, sms_code_sender
from store.models import Participant

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def person(db: DB, firm_id: int, identity: tuple[str, ...], phone: str | None = "+84901234567") -> Participant:
    envelope = envelopes.create(db, firm_id, title="Loan agreement", language="vi", pdf_sha256="a" * 64, now=T0,
                                parties=[PartySpec("applicant", "sign", 1, "An", "an@example.com", phone, identity)])
    envelopes.send(db, envelope.id, None, now=T0)
    _e, people = envelopes.load(db, envelope.id)
    envelopes.opened(db, people[0].id, now=T0)
    db.refresh(people[0])
    return people[0]


def test_sms_code_over_the_gateway_protocol(db: DB, db_engine: Engine, firm_id: int) -> None:
    p = person(db, firm_id, ("email_code", "sms_code"))
    with FakeSmsGateway() as gateway:
        env = gateway.env()
        sms = HttpSmsGateway(env["ACCORD_SMS_URL"], env["ACCORD_SMS_ACCOUNT"], env["ACCORD_SMS_TOKEN"],
                             env["ACCORD_SMS_FROM"])
        method = SmsCode(b"secret", sms_code_sender(lambda: DB(db_engine), sms))
        method.start(db, p, T0)
        (message,) = gateway.wait_for(1)
        assert message.to == "+84901234567" and message.sender == "+15005550006"
        assert "Loan agreement" in message.body and "mã" in message.body  # the envelope's language
        code = next(w for w in message.body.replace(".", " ").split() if w.isdigit() and len(w) == 6)
        with pytest.raises(IdentityError) as wrong:
            method.check(db, p, f"{(int(code) + 1) % 10**6:06d}", T0)
        assert wrong.value.code == "wrong"
        result = method.check(db, p, code, T0 + dt.timedelta(minutes=1))
        assert result.method == "sms_code" and result.evidence["phone"] == "••• 567"
        assert "+84901234567" not in str(result.evidence)

        # The gateway's refusals surface as SmsError (bad credentials, a number it rejects).
        with pytest.raises(SmsError, match="401"):
            HttpSmsGateway(gateway.url, gateway.account_sid, "wrong-token", "+15005550006").send("+84901234567", "x")
        with pytest.raises(SmsError, match="400"):
            sms.send("0901", "x")
        assert len(gateway.messages) == 1


def test_sms_code_limits_are_the_email_codes(db: DB, firm_id: int) -> None:
    p = person(db, firm_id, ("sms_code",))
    sent: list[str] = []
    method = SmsCode(b"secret", lambda _p, code: sent.append(code))
    for i in range(3):
        method.start(db, p, T0 + dt.timedelta(minutes=i))
    with pytest.raises(IdentityError) as limited:
        method.start(db, p, T0 + dt.timedelta(minutes=4))
    assert limited.value.code == "rate_limited"
    with pytest.raises(IdentityError) as expired:
        method.check(db, p, sent[-1], T0 + dt.timedelta(minutes=13))
    assert expired.value.code == "expired"
    method.start(db, p, T0 + dt.timedelta(minutes=20))
    bad = f"{(int(sent[-1]) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(IdentityError):
            method.check(db, p, bad, T0 + dt.timedelta(minutes=21))
    with pytest.raises(IdentityError) as used_up:  # 5 attempts per code
        method.check(db, p, sent[-1], T0 + dt.timedelta(minutes=21))
    assert used_up.value.code == "expired"
    method.start(db, p, T0 + dt.timedelta(minutes=37))
    for _ in range(4):
        with pytest.raises(IdentityError) as err:
            method.check(db, p, f"{(int(sent[-1]) + 1) % 10**6:06d}", T0 + dt.timedelta(minutes=38))
        assert err.value.code == "wrong"
    with pytest.raises(IdentityError) as tenth:
        method.check(db, p, f"{(int(sent[-1]) + 1) % 10**6:06d}", T0 + dt.timedelta(minutes=38))
    assert tenth.value.code == "locked"
    with pytest.raises(IdentityError) as locked:  # 10 wrong codes within the hour: locked out
        method.check(db, p, sent[-1], T0 + dt.timedelta(minutes=39))
    assert locked.value.code == "locked"
    # An e-mail code is a different method: its own codes are not confused with SMS ones.
    email = EmailCode(b"secret", lambda _p, code: None)
    with pytest.raises(IdentityError) as none:
        email.check(db, p, sent[-1], T0 + dt.timedelta(minutes=39))
    assert none.value.code == "no_code"


def test_no_phone_number_is_a_clear_error(db: DB, firm_id: int) -> None:
    p = person(db, firm_id, ("sms_code",), phone=None)
    with pytest.raises(IdentityError) as err:
        SmsCode(b"s", lambda _p, _c: None).start(db, p, T0)
    assert err.value.code == "no_phone"


def test_console_sms_prints_the_message() -> None:
    out = io.StringIO()
    ConsoleSms(out).send("+84901234567", "code 123456")
    assert "+84901234567" in out.getvalue() and "123456" in out.getvalue()


def test_methods_are_passed_all_and_in_order(db: DB, firm_id: int) -> None:
    p = person(db, firm_id, ("email_code", "sms_code"))
    with pytest.raises(EnvelopeError, match="email_code"):  # not the SMS first
        envelopes.identity_step(db, p.id, "sms_code", {"result": "verified"}, now=T0)
    db.rollback()
    assert envelopes.identity_step(db, p.id, "email_code", {"result": "verified"}, now=T0) is False
    db.refresh(p)
    assert p.status == "opened" and envelopes.identity_done(db, p.id) == ["email_code"]
    assert envelopes.identity_step(db, p.id, "sms_code", {"result": "verified", "phone": "••• 567"}, now=T0) is True
    db.refresh(p)
    assert p.status == "identified"
    chain = audit.events(db, p.envelope_id)
    identified = [e for e in chain if e.action == "identified"][-1]
    assert identified.detail["methods"] == ["email_code", "sms_code"]
    assert identified.detail["method"] == "email_code+sms_code"
    assert [e.detail["method"] for e in chain if e.action == "identity_step"] == ["email_code", "sms_code"]
    assert audit.verify(chain).ok


def test_an_unavailable_method_is_never_skipped(db: DB, firm_id: int) -> None:
    p = person(db, firm_id, ("email_code", "id_document"))
    envelopes.identity_step(db, p.id, "email_code", {"result": "verified"}, now=T0)
    db.refresh(p)
    assert p.status == "opened"
    assert next_step(p.identity, envelopes.identity_done(db, p.id), False) == "id_document"
    with pytest.raises(EnvelopeError):
        envelopes.identity_step(db, p.id, "sms_code", {}, now=T0)
    db.rollback()
    db.refresh(p)
    assert p.status == "opened"


def test_passkey_plan_registers_after_the_email_code(db: DB, firm_id: int) -> None:
    assert plan(["passkey"], has_passkey=False) == ["email_code", "passkey"]
    assert plan(["passkey"], has_passkey=True) == ["passkey"]
    assert plan(["email_code", "passkey"], has_passkey=False) == ["email_code", "passkey"]
    assert plan([], has_passkey=False) == ["email_code"]
    p = person(db, firm_id, ("passkey",))
    passkey = Passkey("http://localhost:8000")
    assert (passkey.rp_id, passkey.origin) == ("localhost", "http://localhost:8000")
    with pytest.raises(IdentityError) as first:  # no registration before the e-mail code
        passkey.options(db, p, email_verified=False, now=T0)
    assert first.value.code == "no_code"
    options = passkey.options(db, p, email_verified=True, now=T0)
    assert options["mode"] == "register"
    assert options["publicKey"]["rp"]["id"] == "localhost"
    assert options["publicKey"]["authenticatorSelection"]["userVerification"] == "required"
    with pytest.raises(IdentityError) as bad:  # a forged answer is refused, and the challenge is used up
        passkey.check(db, p, '{"id": "x", "rawId": "x", "response": {}, "type": "public-key"}', T0)
    assert bad.value.code == "passkey_failed"
    with pytest.raises(IdentityError) as again:
        passkey.check(db, p, "{}", T0)
    assert again.value.code == "no_code"
