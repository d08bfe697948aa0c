"""The identity methods the loan interview names, in Chromium against a real `accord serve`:
the applicant passes the e-mail code and then an SMS code (through a fake gateway speaking
Twilio's Messages API on loopback), the lender creates a passkey after the e-mail code (Chromium's
virtual authenticator over CDP) and, in a second envelope, authenticates with it; a refused user
verification shows an error and identifies no one. The sealed PDF records each signer's methods in
their certificate.

The server is opened as `http://localhost:<port>` (`ACCORD_PUBLIC_URL`): WebAuthn needs a secure
context and a domain as relying party ID, and `localhost` is both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import new_context, screenshot
from fake_sms import FakeSmsGateway
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from server import LiveServer
from smtp_inbox import Inbox
from sqlmodel import Session as DB
from test_signing_browser import STAFF, axe_audit, finished_loan

from documents.agreements import current_agreement
from signing import audit, envelopes
from signing.envelopes import PartySpec
from signing.mail import SMTPMailer, envelope_notifier
from signing.pki import PKI
from signing.sealing import audit_check
from signing.verify import verify_pdf
from store.blobs import BlobStore
from store.database import make_engine
from store.sessions import load_state

PHONE = "+84901234567"


@pytest.fixture(scope="module")
def gateway() -> Iterator[FakeSmsGateway]:
    with FakeSmsGateway() as fake:
        yield fake


@pytest.fixture(scope="module")
def id_live(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox, gateway: FakeSmsGateway) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("live-identity")), env={
        "ACCORD_SMTP_HOST": "127.0.0.1", "ACCORD_SMTP_PORT": str(inbox.port),
        "ACCORD_MAIL_FROM": "accord@test.invalid", **gateway.env()})
    server.env["ACCORD_PUBLIC_URL"] = f"http://localhost:{server.port}"
    with server:
        yield server


def send(server: LiveServer, sid: str, parties: list[PartySpec]) -> str:
    engine_ = make_engine(server.database_url)
    public = server.env["ACCORD_PUBLIC_URL"]
    notify = envelope_notifier(lambda: DB(engine_), SMTPMailer("127.0.0.1", int(server.env["ACCORD_SMTP_PORT"]),
                                                               "a@x.invalid"), "live-test-secret", public)
    try:
        with DB(engine_) as db:
            current = current_agreement(db, BlobStore(server.data_dir / "blobs"), sid)
            row, _state = load_state(db, sid)
            envelope = envelopes.create(db, row.firm_id, title=current.source.title, language="en",
                                        pdf_sha256=current.version.pdf_sha256, parties=parties, session_id=sid,
                                        agreement_version_id=current.version.id)
            envelopes.send(db, envelope.id, notify)
            return envelope.id
    finally:
        engine_.dispose()


LENDER_FIELDS = {"Approved amount": "500000000", "Approved APR (%)": "12.5"}  # the lender's `fields:`


def link(inbox: Inbox, address: str, after: int) -> str:
    for message in reversed(inbox.messages[after:]):
        if address in str(message["To"]):
            found = re.search(r"(http://localhost:\d+/sign/\S+)", message.get_content())
            if found:
                return found.group(1)
    raise AssertionError(f"no link to {address}")


def email_code(page: Page, inbox: Inbox, address: str) -> None:
    before = len(inbox.messages)
    with page.expect_navigation():
        page.get_by_role("button", name="Send me a code").click()
    inbox.wait_for(before + 1)
    message = [m for m in inbox.messages if address in str(m["To"])][-1]
    found = re.search(r"^\s+(\d{6})\s*$", message.get_content(), re.M)
    assert found
    page.locator("#code").fill(found.group(1))
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()


def consent_and_sign(page: Page, upload: Path | None = None, fields: dict[str, str] | None = None) -> None:
    page.locator("#agree").check()
    with page.expect_navigation():
        page.locator("#consent button[type=submit]").click()
    for label, value in (fields or {}).items():  # the party's `fields:`, typed while signing
        page.get_by_label(label, exact=True).fill(value)
    if upload is not None:
        page.locator("#upload").set_input_files(str(upload))
    with page.expect_navigation():
        page.locator(".sign-form button[type=submit]").click()
    problem = page.locator(".error-summary")
    assert problem.count() == 0, problem.inner_text()
    expect(page.locator("li.me .status")).to_have_class(re.compile("status-acted"))


def test_sms_and_passkey_in_the_browser(browser: Browser, id_live: LiveServer, inbox: Inbox,
                                        gateway: FakeSmsGateway, tmp_path: Path) -> None:
    sid = finished_loan(id_live)
    lender = STAFF["signatories"]
    parties = [PartySpec("applicant", "sign", 1, "Nguyễn Văn An", "an@example.com", PHONE, ("email_code", "sms_code")),
               PartySpec("lender", "sign", 2, lender[0], lender[1], None, ("passkey",))]
    start = len(inbox.messages)
    envelope_id = send(id_live, sid, parties)

    # The applicant: e-mail code, then the SMS code.
    context = new_context(browser, "phone")
    page = context.new_page()
    page.goto(link(inbox, "an@example.com", start))
    expect(page.locator(".identity-progress")).to_have_text("Check 1 of 2")
    email_code(page, inbox, "an@example.com")
    expect(page.locator(".identity-progress")).to_have_text("Check 2 of 2")
    expect(page.locator("#identify")).to_contain_text("ending in 567")
    axe_audit(page, "SMS step")
    with page.expect_navigation():
        page.get_by_role("button", name="Text me a code").click()
    (sms,) = gateway.wait_for(1)
    assert sms.to == PHONE
    code = re.search(r"\b(\d{6})\b", sms.body)
    assert code
    page.locator("#code").fill(f"{(int(code.group(1)) + 1) % 10**6:06d}")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#code-error")).to_be_visible()
    page.locator("#code").fill(code.group(1))
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()
    signature = tmp_path / "signature.png"
    Image.new("RGB", (400, 120), "white").save(signature)
    consent_and_sign(page, upload=signature)
    context.close()

    # The lender: e-mail code, then a new passkey on a virtual authenticator.
    context = new_context(browser)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]
    page.goto(link(inbox, lender[1], start))
    expect(page.locator("#identify")).to_contain_text("Then you will create a passkey")
    email_code(page, inbox, lender[1])
    axe_audit(page, "passkey step")
    screenshot(page, "signing-passkey-create")
    with page.expect_navigation():
        page.get_by_role("button", name="Create a passkey").click()
    expect(page.locator("#consent")).to_be_visible()
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    consent_and_sign(page, fields=LENDER_FIELDS)

    engine_ = make_engine(id_live.database_url)
    try:
        with DB(engine_) as db:
            envelope, people = envelopes.load(db, envelope_id)
            assert (envelope.status, envelope.seal_status) == ("completed", "sealed")
            chain = audit.events(db, envelope_id)
            assert audit.verify(chain).ok
            steps = [(e.detail["method"], e.detail.get("ceremony")) for e in chain if e.action == "identity_step"]
            assert steps == [("email_code", None), ("sms_code", None), ("email_code", None),
                             ("passkey", "registration")]
            signed = {e.actor: e.detail for e in chain if e.action == "signed"}
            kinds = {p.role: (signed[p.id]["signature"], bool(signed[p.id]["image_sha256"])) for p in people}
            assert kinds == {"applicant": ("uploaded", True), "lender": ("typed", True)}  # typed: script font
            pdf = BlobStore(id_live.data_dir / "blobs").get(envelope.current_sha256)
        result = verify_pdf(pdf, [PKI.open(id_live.data_dir / "pki").root],
                            audit_check=audit_check(lambda: DB(engine_)))
        assert result.ok, result.summary
        methods = {c.field: c.identity for c in result.signatures}
        assert list(methods["sig_applicant"]) == ["email_code", "sms_code"]
        assert list(methods["sig_lender"]) == ["passkey"]

        # A second envelope to the lender: the passkey signs them in, no e-mail code. A refused
        # user verification first: an error on the page, nobody identified.
        start = len(inbox.messages)
        second = send(id_live, sid, [PartySpec("lender", "sign", 1, lender[0], lender[1], None, ("passkey",))])
        page.goto(link(inbox, lender[1], start))
        expect(page.get_by_role("button", name="Use my passkey")).to_be_visible()
        assert page.get_by_role("button", name="Send me a code").count() == 0
        cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False})
        page.get_by_role("button", name="Use my passkey").click()
        expect(page.locator("#passkey-error")).to_be_visible()
        cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": True})
        with page.expect_navigation():
            page.get_by_role("button", name="Use my passkey").click()
        expect(page.locator("#consent")).to_be_visible()
        context.close()
        with DB(engine_) as db:
            _e, people = envelopes.load(db, second)
            assert people[0].status == "identified"
            steps = [e.detail for e in audit.events(db, second) if e.action == "identity_step"]
            assert [(s["method"], s["ceremony"], s["user_verified"]) for s in steps] == [
                ("passkey", "authentication", True)]
    finally:
        engine_.dispose()
