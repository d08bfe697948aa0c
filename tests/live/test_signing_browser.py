"""The signing ceremony in Chromium against a real `accord serve` (its own PKI, e-mail through a real
SMTP server on loopback): the loan agreement's applicant and co-applicant sign in parallel (order 1),
the loan officer approves (order 2), the lender signs (order 3), the records office (CC) receives the
result. Every invitation and code arrives by e-mail; each link opens only its participant; a wrong
code is refused. The sealed PDF is then checked by pyHanko (`signing.verify`, with the audit-chain
check), poppler's `pdfsig` and `qpdf --check`.

The envelope is created as the firm's console will (issue 7) create it: from the session's current
agreement version and the interview's `parties` block. It asks every party for an e-mail code: the
SMS, ID-document and passkey methods the interview names come with later issues.
"""

from __future__ import annotations

import random
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import httpx
from apiclient import create, step
from axe_playwright_python.sync_playwright import Axe
from browsing import new_context, screenshot
from playwright.sync_api import Browser, Locator, Page, expect
from server import LiveServer
from smtp_inbox import Inbox
from sqlmodel import Session as DB

from documents.agreements import current_agreement
from signing import audit, envelopes
from signing.mail import SMTPMailer, envelope_notifier
from signing.pki import PKI
from signing.sealing import audit_check
from signing.verify import verify_pdf
from store.blobs import BlobStore
from store.database import make_engine
from store.sessions import load_state, save_step

EMAILS = {"applicant": "an@example.com", "co_applicant": "binh@example.com", "loan_officer": "officer@example.com",
          "lender": "lender@example.com", "records": "loan-records@example.com"}
AXE = Axe()
STAFF = {"loan_officers": ("Lê Văn Cán Bộ", EMAILS["loan_officer"]), "signatories": ("Acme Lending", EMAILS["lender"])}


def finished_loan(server: LiveServer) -> str:
    """A loan session through the JSON API to its end, with a co-applicant and e-sign consent."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for seed in range(1, 60):
            session, rng = create(client, "vi"), random.Random(seed)
            while not session.screen["end"]:
                step(client, session, rng)
            engine_ = make_engine(server.database_url)
            try:
                with DB(engine_) as db:
                    row, state = load_state(db, session.id)
                    ns = state.namespace
                    if ns.get("esign_consent") and ns.get("has_co_applicant"):
                        ns.update(applicant_email=EMAILS["applicant"], co_applicant_email=EMAILS["co_applicant"],
                                  applicant_name="Nguyễn Văn An", co_applicant_name="Trần Thị Bình")
                        save_step(db, row, state)
                        return session.id
            finally:
                engine_.dispose()
    raise AssertionError("no generated session had a co-applicant and e-sign consent")


def send_envelope(server: LiveServer, sid: str) -> str:
    engine_ = make_engine(server.database_url)
    blobs = BlobStore(server.data_dir / "blobs")
    notify = envelope_notifier(lambda: DB(engine_), SMTPMailer("127.0.0.1", int(server.env["ACCORD_SMTP_PORT"]),
                                                               "a@x.invalid"), "live-test-secret", server.url)
    try:
        with DB(engine_) as db:
            current = current_agreement(db, blobs, sid)
            parties = [replace(p, identity=("email_code",)) if p.action != "cc" else p
                       for p in envelopes.parties_from_source(current.source, STAFF)]
            assert [(p.role, p.action, p.order) for p in parties] == [
                ("applicant", "sign", 1), ("co_applicant", "sign", 1), ("loan_officer", "approve", 2),
                ("lender", "sign", 3), ("records", "cc", None)]
            row, _state = load_state(db, sid)
            envelope = envelopes.create(db, row.firm_id, title=current.source.title, language=current.source.language,
                                        pdf_sha256=current.version.pdf_sha256, parties=parties, session_id=sid,
                                        agreement_version_id=current.version.id)
            envelope_id = envelope.id
            envelopes.send(db, envelope_id, notify)
        return envelope_id
    finally:
        engine_.dispose()


def link(inbox: Inbox, address: str, subject_part: str) -> str:
    for message in reversed(inbox.messages):
        if address in str(message["To"]) and subject_part in str(message["Subject"]):
            found = re.search(r"(http://127\.0\.0\.1:\d+/sign/\S+)", message.get_content())
            assert found
            return found.group(1)
    raise AssertionError(f"no '{subject_part}' e-mail to {address}")


def latest_code(inbox: Inbox, address: str, count_before: int) -> str:
    inbox.wait_for(count_before + 1)
    message = [m for m in inbox.messages if address in str(m["To"])][-1]
    found = re.search(r"^\s+(\d{6})\s*$", message.get_content(), re.M)
    assert found, message.get_content()
    return found.group(1)


def press(page: Page, target: Locator, keyboard: bool) -> None:
    """Activate a control with the mouse, or with the keyboard alone (focus, then Enter/Space)."""
    if target.get_attribute("type") == "checkbox":
        if keyboard:
            target.focus()
            page.keyboard.press("Space")
        else:
            target.check()
        return
    with page.expect_navigation():  # every button here posts its form (POST, 303, GET)
        if keyboard:
            target.focus()
            page.keyboard.press("Enter")
        else:
            target.click()


def axe_audit(page: Page, what: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"


def identify(page: Page, inbox: Inbox, address: str, wrong_first: bool = False, keyboard: bool = False) -> None:
    before = len(inbox.messages)
    axe_audit(page, "identify step")
    press(page, page.get_by_role("button", name=re.compile("Gửi mã cho tôi|Send me a code")), keyboard)
    code = latest_code(inbox, address, before)
    confirm = page.get_by_role("button", name=re.compile("^(Xác nhận|Confirm)$"))
    if wrong_first:
        page.locator("#code").fill(f"{(int(code) + 1) % 10**6:06d}")
        press(page, confirm, keyboard)
        expect(page.locator("#code-error")).to_be_visible()
        expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")
        axe_audit(page, "wrong code")
    page.locator("#code").fill(code)
    press(page, confirm, keyboard)


def sign(browser: Browser, inbox: Inbox, role: str, *, draw: bool = False, wrong_first: bool = False,
         viewport: str = "desktop", keyboard: bool = False, fields: dict[str, str] | None = None) -> None:
    context = new_context(browser, viewport)
    page = context.new_page()
    page.goto(link(inbox, EMAILS[role], ":"))
    expect(page.locator("li.me .role")).to_have_attribute("data-role", role)  # the link opens this participant
    identify(page, inbox, EMAILS[role], wrong_first, keyboard)
    if role != "loan_officer":
        axe_audit(page, "consent step")
        press(page, page.locator("#agree"), keyboard)
        press(page, page.locator("#consent button[type=submit]"), keyboard)
    axe_audit(page, "sign step")
    if draw:
        canvas = page.locator(".signature-pad canvas")
        box = canvas.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
        page.mouse.down()
        for i in range(1, 12):
            page.mouse.move(box["x"] + 20 + i * 25, box["y"] + box["height"] / 2 + (15 if i % 2 else -15))
        page.mouse.up()
    for label, value in (fields or {}).items():  # the party's `fields:`, typed while signing
        page.get_by_label(label, exact=True).fill(value)
    screenshot(page, f"signing-{role}")
    press(page, page.locator(".sign-form button[type=submit]"), keyboard)
    problem = page.locator(".error-summary")
    assert problem.count() == 0, problem.inner_text()
    expect(page.locator("li.me .status")).to_have_class(re.compile("status-acted"))
    axe_audit(page, "after acting")
    context.close()


def test_three_party_envelope_in_the_browser(browser: Browser, mail_live: LiveServer, inbox: Inbox,
                                             tmp_path: Path) -> None:
    sid = finished_loan(mail_live)
    envelope_id = send_envelope(mail_live, sid)
    invited = {str(m["To"]).split("<")[-1].rstrip(">") for m in inbox.messages}
    assert invited == {EMAILS["applicant"], EMAILS["co_applicant"]}  # order 1 only, in parallel

    sign(browser, inbox, "co_applicant", draw=True, viewport="phone")
    assert not [m for m in inbox.messages if EMAILS["loan_officer"] in str(m["To"])]  # order 1 is not done yet
    sign(browser, inbox, "applicant", wrong_first=True)
    sign(browser, inbox, "loan_officer")  # approves: its approval signature fills sig_loan_officer
    sign(browser, inbox, "lender", keyboard=True,  # the keyboard alone
         fields={"Approved amount": "500000000", "Approved APR (%)": "12.5"})

    engine_ = make_engine(mail_live.database_url)
    try:
        with DB(engine_) as db:
            envelope, _people = envelopes.load(db, envelope_id)
            assert (envelope.status, envelope.seal_status) == ("completed", "sealed")
            chain = audit.events(db, envelope_id)
            assert audit.verify(chain).ok
            assert [e.action for e in chain].count("signed") == 3 and chain[-1].action == "sealed"
            lender = [e for e in chain if e.action == "signed"][-1]
            assert lender.detail["fields"] == {"approved_amount": 500000000, "approved_apr": 12.5}
        # Everyone, the CC included, got the result.
        completed = {str(m["To"]).split("<")[-1].rstrip(">") for m in inbox.messages
                     if "Completed" in str(m["Subject"]) or "hoàn tất" in str(m["Subject"])}
        assert completed == set(EMAILS.values())

        context = new_context(browser)
        page = context.new_page()
        page.goto(link(inbox, EMAILS["records"], ":"))
        response = page.request.get(page.url + "/document.pdf")
        pdf = response.body()
        context.close()
        path = tmp_path / "sealed.pdf"
        path.write_bytes(pdf)
        pki = PKI.open(mail_live.data_dir / "pki")
        result = verify_pdf(pdf, [pki.root], audit_check=audit_check(lambda: DB(engine_)))
        assert result.ok, (result.summary, [(c.field, c.summary) for c in result.signatures])
        fields = [c.field for c in result.signatures if c.kind != "document timestamp"]
        assert fields == ["sig_co_applicant", "sig_applicant", "sig_loan_officer", "sig_lender", "platform_seal"]
        assert result.signatures[0].kind == "certification"
        assert result.audit is not None and result.audit[0]
    except BaseException:
        engine_.dispose()
        raise
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    # poppler 22.12 checks each CMS signature but not document timestamps, nor (reliably) the chain to our root.
    blocks = {m.group(1): m.group(2) for m in re.finditer(r"Signature Field Name: (\S+)\n(.*?)(?=Signature #|\Z)",
                                                           pdfsig, re.S)}
    for field in ("sig_applicant", "sig_co_applicant", "sig_loan_officer", "sig_lender", "platform_seal"):
        assert "Signature Validation: Signature is Valid." in blocks[field], pdfsig
    qpdf = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert qpdf.returncode == 0, qpdf.stdout + qpdf.stderr

    # The verification page (where the stamps' QR codes lead): the sealed file, then tampered copies.
    context = new_context(browser)
    page = context.new_page()

    def verdict(file: Path) -> str:
        page.goto(f"{mail_live.url}/verify")
        page.locator("#file").set_input_files(str(file))
        page.get_by_role("button", name="Verify").click()
        return page.locator("#verdict").inner_text()

    assert verdict(path).startswith("Valid")
    expect(page.locator("li.signature.ok")).to_have_count(6)
    expect(page.locator("p.audit.ok")).to_be_visible()
    screenshot(page, "verify-valid")
    flipped = bytearray(pdf)
    flipped[len(pdf) // 3] ^= 0x01  # one bit inside the signed ranges
    (tmp_path / "flipped.pdf").write_bytes(bytes(flipped))
    assert verdict(tmp_path / "flipped.pdf").startswith("Not valid")
    with engine_.begin() as conn:  # someone edits the trail in the database
        conn.exec_driver_sql("UPDATE audit_event SET ip = '198.51.100.7' WHERE seq = 3")
    assert verdict(path).startswith("Not valid")
    expect(page.locator("p.audit.fail")).to_contain_text("audit trail is broken")
    context.close()
    engine_.dispose()
