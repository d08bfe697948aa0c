"""The signer's pages over HTTP, e-mails through a real SMTP server on loopback: links open only
their participant, e-mail codes (wrong, expired, lockout), consent, review, decline, delegate."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from smtp_inbox import Inbox  # tests/live (on the path through tests/conftest.py)
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select
from starlette.testclient import TestClient

from signing import audit, envelopes
from signing.envelopes import PartySpec
from signing.mail import SMTPMailer
from store.blobs import BlobStore
from store.models import IdentityChallenge
from store.sessions import ensure_firm
from web.app import create_app

PARTIES = [PartySpec("applicant", "sign", 1, "Nguyễn Văn An", "an@example.com", identity=("email_code",)),
           PartySpec("co_applicant", "sign", 1, "Trần Thị Bình", "binh@example.com", identity=("email_code",)),
           PartySpec("reviewer", "review", 2, "Legal", "legal@example.com"),
           PartySpec("lender", "sign", 3, "Acme", "lender@example.com", identity=("passkey",))]


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with Inbox() as server:
        yield server


@pytest.fixture
def setup(db: Engine, tmp_path: Path, smtp: Inbox) -> Iterator[tuple[TestClient, str]]:
    blobs = tmp_path / "blobs"
    mailer = SMTPMailer("127.0.0.1", smtp.port, "Accord <noreply@accord.invalid>")
    app = create_app(db, "test-secret", blob_dir=blobs, mailer=mailer, public_url="http://testserver")
    pdf_sha = BlobStore(blobs).put(b"%PDF-1.7\n% agreement\n%%EOF\n")
    with DB(db) as s:
        firm = ensure_firm(s, "acme", "Acme")
        assert firm.id is not None
        envelope = envelopes.create(s, firm.id, title="Loan agreement", language="en", pdf_sha256=pdf_sha,
                                    parties=PARTIES, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7))
        envelope_id = envelope.id
        envelopes.send(s, envelope_id, app.state.signing_notifier)
    with TestClient(app) as client:
        yield client, envelope_id


def link(smtp: Inbox, address: str) -> str:
    """The personal link in the latest e-mail to `address` that has one."""
    for message in reversed(smtp.to(address)):
        found = re.search(r"http://testserver(/sign/\S+)", message.get_content())
        if found:
            return found.group(1)
    raise AssertionError(f"no e-mail with a link to {address}")


def csrf(page: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def code(smtp: Inbox, address: str) -> str:
    found = re.search(r"^\s+(\d{6})\s*$", smtp.to(address)[-1].get_content(), re.M)
    assert found
    return found.group(1)


def test_identify_consent_then_decline(setup: tuple[TestClient, str], smtp: Inbox, db: Engine) -> None:
    client, envelope_id = setup
    mine = link(smtp, "an@example.com")
    page = client.get(mine)
    assert page.status_code == 200 and "Loan agreement" in page.text and "Send me a code" in page.text
    assert client.get(f"{mine}/document.pdf").content.startswith(b"%PDF")
    token = csrf(page.text)
    assert client.post(f"{mine}/code", data={}, follow_redirects=False).status_code == 403
    assert client.post(f"{mine}/code", data={"_csrf": token}, follow_redirects=False).status_code == 303
    right = code(smtp, "an@example.com")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    bad = client.post(f"{mine}/verify", data={"_csrf": token, "code": wrong})
    assert bad.status_code == 422 and "This code is not right" in bad.text and 'aria-invalid="true"' in bad.text
    ok = client.post(f"{mine}/verify", data={"_csrf": token, "code": right})
    assert ok.status_code == 200 and "Agree to sign electronically" in ok.text
    missing = client.post(f"{mine}/consent", data={"_csrf": token})
    assert missing.status_code == 422 and "Tick the box" in missing.text
    signed = client.post(f"{mine}/consent", data={"_csrf": token, "agree": "yes"})
    assert "Sign the agreement" in signed.text
    # No PAdES signer configured on this app: signing says so instead of pretending.
    refused = client.post(f"{mine}/act", data={"_csrf": token, "typed": "Nguyễn Văn An"})
    assert refused.status_code == 503
    declined = client.post(f"{mine}/decline", data={"_csrf": token, "reason": "Rate too high"})
    assert declined.status_code == 200 and "declined" in declined.text
    assert smtp.to("binh@example.com")[-1]["Subject"] == "Declined: Loan agreement"
    with DB(db) as s:
        chain = audit.events(s, envelope_id)
        assert audit.verify(chain).ok
        actions = [e.action for e in chain]
        assert actions[-5:] == ["opened", "identity_step", "identified", "consented", "declined"]
        opened = next(e for e in chain if e.action == "opened")
        assert opened.ip == "testclient" and opened.user_agent


def test_a_link_opens_only_its_participant(setup: tuple[TestClient, str], smtp: Inbox) -> None:
    client, _envelope_id = setup
    an, binh = link(smtp, "an@example.com"), link(smtp, "binh@example.com")
    token_an = csrf(client.get(an).text)
    # An's CSRF token does not work on Bình's link, and a forged link is rejected.
    assert client.post(f"{binh}/code", data={"_csrf": token_an}, follow_redirects=False).status_code == 403
    forged = an[:-3] + ("x" if an[-3] != "x" else "y") + an[-2:]
    assert client.get(forged).status_code == 404
    assert client.get(f"{forged}/document.pdf").status_code == 404


def test_expired_code_and_lockout(setup: tuple[TestClient, str], smtp: Inbox, db: Engine) -> None:
    client, _envelope_id = setup
    mine = link(smtp, "binh@example.com")
    token = csrf(client.get(mine).text)
    client.post(f"{mine}/code", data={"_csrf": token})
    right = code(smtp, "binh@example.com")
    with DB(db) as s:  # ten minutes pass
        for row in s.exec(select(IdentityChallenge)).all():
            row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            s.add(row)
        s.commit()
    expired = client.post(f"{mine}/verify", data={"_csrf": token, "code": right})
    assert expired.status_code == 422 and "expired" in expired.text
    for _ in range(2):
        client.post(f"{mine}/code", data={"_csrf": token})
        wrong = f"{(int(code(smtp, 'binh@example.com')) + 1) % 10**6:06d}"
        for _ in range(5):
            client.post(f"{mine}/verify", data={"_csrf": token, "code": wrong})
    locked = client.post(f"{mine}/verify", data={"_csrf": token, "code": code(smtp, "binh@example.com")})
    assert locked.status_code == 422 and "Too many wrong codes" in locked.text
    again = client.post(f"{mine}/code", data={"_csrf": token})
    assert again.status_code == 429


def test_review_and_delegate(setup: tuple[TestClient, str], smtp: Inbox, db: Engine) -> None:
    client, envelope_id = setup
    with DB(db) as s:  # order 1 is done (as the PAdES flow would record it)
        _e, people = envelopes.load(s, envelope_id)
        for p in people[:2]:
            envelopes.opened(s, p.id)
            envelopes.identified(s, p.id, "email_code", {})
            envelopes.consented(s, p.id, "esign-v1")
            envelopes.acted(s, p.id, None, doc_after=None)
    envelopes_notices = [m for m in smtp.to("legal@example.com")]
    assert not envelopes_notices  # acted() here had no notifier; invite the reviewer through the app
    with DB(db) as s:
        _e, people = envelopes.load(s, envelope_id)
        reviewer = next(p for p in people if p.role == "reviewer")
        assert reviewer.status == "notified"
        client.app.state.signing_notifier(envelopes.Notice("invitation", envelope_id, reviewer.id))  # type: ignore[attr-defined]
    mine = link(smtp, "legal@example.com")
    token = csrf(client.get(mine).text)
    client.post(f"{mine}/code", data={"_csrf": token})
    page = client.post(f"{mine}/verify", data={"_csrf": token, "code": code(smtp, "legal@example.com")})
    assert "Mark as reviewed" in page.text
    done = client.post(f"{mine}/act", data={"_csrf": token, "comment": "Clause 4 is fine"})
    assert done.status_code == 200 and "your part is done" in done.text
    # The lender's role needs a passkey and has none yet: the e-mail code first, then a passkey is created.
    lender = link(smtp, "lender@example.com")
    page = client.get(lender)
    assert "Send me a code" in page.text and "Then you will create a passkey" in page.text
    bad = client.post(f"{lender}/delegate", data={"_csrf": csrf(page.text), "name": "", "email": "x"})
    assert bad.status_code == 422
    client.post(f"{lender}/delegate", data={"_csrf": csrf(page.text), "name": "Chị Dung", "email": "dung@example.com",
                                           "reason": "On leave"})
    assert smtp.to("dung@example.com")[-1]["Subject"] == "Please sign: Loan agreement"
    with DB(db) as s:
        chain = audit.events(s, envelope_id)
        assert audit.verify(chain).ok
        assert any(e.action == "reviewed" and e.detail.get("comment") == "Clause 4 is fine" for e in chain)
        assert any(e.action == "delegated" for e in chain)


def test_reminder_void_and_expiry_reach_the_participants(setup: tuple[TestClient, str], smtp: Inbox,
                                                         db: Engine) -> None:
    """The scheduler's tick and the sender's void, end to end: e-mails through SMTP, links that still
    open the participant's page and say where the envelope stands."""
    client, envelope_id = setup
    notify = client.app.state.signing_notifier  # type: ignore[attr-defined]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3, minutes=1)
    with DB(db) as s:
        envelopes.tick(s, notify, now=later)
    reminder = smtp.to("an@example.com")[-1]
    assert reminder["Subject"] == "Reminder: please sign Loan agreement"
    page = client.get(link(smtp, "an@example.com"))
    assert page.status_code == 200 and "Send me a code" in page.text  # the reminder's link works
    with DB(db) as s:
        envelopes.tick(s, notify, now=later + dt.timedelta(days=2, hours=1))  # within two days of the expiry
    assert smtp.to("binh@example.com")[-1]["Subject"] == "Expires soon: Loan agreement"
    with DB(db) as s:
        envelopes.tick(s, notify, now=later + dt.timedelta(days=5))
    assert smtp.to("an@example.com")[-1]["Subject"] == "Expired: Loan agreement"
    expired = client.get(link(smtp, "an@example.com"))
    assert "expired" in expired.text and "Send me a code" not in expired.text
    with DB(db) as s:
        envelope, _ = envelopes.load(s, envelope_id)
        assert envelope.status == "expired"
        assert audit.verify(audit.events(s, envelope_id)).ok


def test_void_by_the_sender_end_to_end(setup: tuple[TestClient, str], smtp: Inbox, db: Engine) -> None:
    client, envelope_id = setup
    mine = link(smtp, "an@example.com")
    token = csrf(client.get(mine).text)
    with DB(db) as s:
        envelopes.void(s, envelope_id, "Wrong amount", client.app.state.signing_notifier)  # type: ignore[attr-defined]
    assert smtp.to("an@example.com")[-1]["Subject"] == "Cancelled: Loan agreement"
    page = client.get(mine)
    assert "cancelled by the sender" in page.text and "Send me a code" not in page.text
    client.post(f"{mine}/code", data={"_csrf": token})  # a page left open: no code is sent any more
    assert not smtp.to("an@example.com")[-1]["Subject"].startswith("Your code")


def test_sms_code_then_a_pending_id_document_check(db: Engine, tmp_path: Path, smtp: Inbox) -> None:
    """The applicant passes the e-mail code, then the SMS code (through the gateway protocol); the
    co-applicant's ID-document check is not available: their page says so, they cannot act, and
    every participant's page shows that check as pending."""
    from fake_sms import FakeSmsGateway  # tests/live

    from signing.sms import HttpSmsGateway

    with FakeSmsGateway() as gateway:
        mailer = SMTPMailer("127.0.0.1", smtp.port, "Accord <noreply@accord.invalid>")
        sms = HttpSmsGateway(gateway.url, gateway.account_sid, gateway.auth_token, "+15005550006")
        app = create_app(db, "test-secret", blob_dir=tmp_path / "blobs", mailer=mailer,
                         public_url="http://testserver", sms=sms)
        pdf_sha = BlobStore(tmp_path / "blobs").put(b"%PDF-1.7\n% agreement\n%%EOF\n")
        parties = [PartySpec("applicant", "sign", 1, "An", "an@example.com", "+84901234567",
                             ("email_code", "sms_code")),
                   PartySpec("co_applicant", "sign", 1, "Bình", "binh@example.com", None,
                             ("email_code", "id_document"))]
        with DB(db) as s:
            firm = ensure_firm(s, "acme", "Acme")
            assert firm.id is not None
            envelope_id = envelopes.create(s, firm.id, title="Loan agreement", language="en", pdf_sha256=pdf_sha,
                                           parties=parties).id
            envelopes.send(s, envelope_id, app.state.signing_notifier)
        with TestClient(app) as client:
            mine = link(smtp, "an@example.com")
            token = csrf(client.get(mine).text)
            client.post(f"{mine}/code", data={"_csrf": token, "method": "email_code"})
            page = client.post(f"{mine}/verify", data={"_csrf": token, "method": "email_code",
                                                       "code": code(smtp, "an@example.com")})
            assert "Check 2 of 2" in page.text and "Text me a code" in page.text and "567" in page.text
            assert "Agree to sign electronically" not in page.text  # not identified yet
            sent = client.post(f"{mine}/code", data={"_csrf": token, "method": "sms_code"})
            assert sent.status_code == 200 and "text message" in sent.text
            (message,) = gateway.wait_for(1)
            assert message.to == "+84901234567"
            sms_code = re.search(r"\b(\d{6})\b", message.body)
            assert sms_code
            wrong = client.post(f"{mine}/verify", data={"_csrf": token, "method": "sms_code",
                                                        "code": f"{(int(sms_code.group(1)) + 1) % 10**6:06d}"})
            assert wrong.status_code == 422 and 'id="code-error"' in wrong.text
            right = client.post(f"{mine}/verify", data={"_csrf": token, "method": "sms_code",
                                                        "code": sms_code.group(1)})
            assert right.status_code == 200 and "Agree to sign electronically" in right.text

            theirs = link(smtp, "binh@example.com")
            token2 = csrf(client.get(theirs).text)
            client.post(f"{theirs}/code", data={"_csrf": token2})
            page = client.post(f"{theirs}/verify", data={"_csrf": token2, "code": code(smtp, "binh@example.com")})
            assert "This check is not available on this server yet" in page.text
            assert "ID document check" in page.text and 'action="/sign/' + theirs[6:] + '/code"' not in page.text
            refused = client.post(f"{theirs}/act", data={"_csrf": token2, "typed": "Bình"})
            assert refused.status_code == 409
            # Everyone sees what is pending.
            assert "waiting for a check that is not available yet: ID document check" in client.get(mine).text
            # A code for the SMS step cannot stand in for the ID document.
            skipped = client.post(f"{theirs}/code", data={"_csrf": token2, "method": "sms_code"})
            assert skipped.status_code == 422  # no mobile number, and it is not their step anyway
        with DB(db) as s:
            _e, people = envelopes.load(s, envelope_id)
            status = {p.role: p.status for p in people}
            assert status == {"applicant": "identified", "co_applicant": "opened"}
            chain = audit.events(s, envelope_id)
            identified = [e for e in chain if e.action == "identified"]
            assert len(identified) == 1 and identified[0].detail["methods"] == ["email_code", "sms_code"]


def test_signature_upload_is_checked_next_to_the_field(setup: tuple[TestClient, str], smtp: Inbox,
                                                       db: Engine) -> None:
    import io

    from PIL import Image

    client, envelope_id = setup
    mine = link(smtp, "an@example.com")
    token = csrf(client.get(mine).text)
    client.post(f"{mine}/code", data={"_csrf": token})
    client.post(f"{mine}/verify", data={"_csrf": token, "code": code(smtp, "an@example.com")})
    client.post(f"{mine}/consent", data={"_csrf": token, "agree": "yes"})
    page = client.get(mine).text
    assert 'enctype="multipart/form-data"' in page and 'id="upload"' in page
    gif = client.post(f"{mine}/act", data={"_csrf": token, "typed": "An"},
                      files={"upload": ("sig.gif", b"GIF89a" + b"\0" * 64, "image/gif")})
    assert gif.status_code == 422 and 'id="upload-error"' in gif.text and "PNG and JPEG" in gif.text
    assert 'aria-describedby="upload-error"' in gif.text
    out = io.BytesIO()
    Image.new("RGB", (200, 80), "white").save(out, "JPEG")
    jpeg = client.post(f"{mine}/act", data={"_csrf": token},
                       files={"upload": ("sig.jpg", out.getvalue(), "image/jpeg")})
    assert jpeg.status_code == 503  # the picture passed; this app has no PAdES signer
    with DB(db) as s:
        _e, people = envelopes.load(s, envelope_id)
        assert next(p for p in people if p.role == "applicant").status == "identified"  # nothing lost
