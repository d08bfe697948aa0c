"""The payment step of the ceremony in Chromium against a real `accord serve` configured for Stripe,
whose Stripe is localstripe behind the fake Checkout front (separate processes on 127.0.0.1, driven
by the unmodified `stripe` SDK), with e-mail through a real SMTP server.

The loan's applicant pays the application fee before signing: confirm identity → consent → pay with
a declined card (the checkout says so, and back on Accord the page says the card was declined) →
pay again with 4242… → back on Accord while the webhook is held ("confirming", still waiting for
payment) → the webhook is delivered twice → exactly one paid step, the ceremony goes on → sign →
the lender signs → completed and sealed. A forged webhook is refused with 400 and changes nothing.
A second envelope gets its webhook before the browser is back: again exactly one paid step. And
the whole way from the e-mailed link to the signature, a declined card included, by keyboard alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from browsing import new_context, screenshot
from playwright.sync_api import Browser, Page, expect
from server import LiveServer
from smtp_inbox import Inbox
from sqlmodel import Session as DB
from sqlmodel import select
from stripe_peers import TEST_KEY, WEBHOOK_SECRET, StripePeers
from test_signing_browser import finished_loan, latest_code, link

from documents.agreements import current_agreement
from signing import audit, envelopes
from signing.envelopes import PartySpec
from signing.mail import SMTPMailer, envelope_notifier
from signing.payment import terms_from_source
from store.blobs import BlobStore
from store.database import make_engine
from store.models import Payment, PaymentEvent
from store.sessions import load_state
from store.testdb import scratch_database

EMAILS = {"applicant": "an@example.com", "lender": "lender@example.com"}
AXE = Axe()
LENDER_FIELDS = {"Approved amount": "500000000", "Approved APR (%)": "12.5"}  # the lender fills these in


def axe_audit(page: Page, what: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StripePeers]:
    with StripePeers(tmp_path_factory.mktemp("stripe-live")) as running:
        yield running


@pytest.fixture(scope="module")
def pay_live(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox, peers: StripePeers) -> Iterator[LiveServer]:
    folder = Path(tmp_path_factory.mktemp("live-pay"))
    with scratch_database(folder) as url:
        server = LiveServer(folder, database_url=url, env={
            "ACCORD_SMTP_HOST": "127.0.0.1", "ACCORD_SMTP_PORT": str(inbox.port),
            "ACCORD_MAIL_FROM": "accord@test.invalid", "ACCORD_STRIPE_SECRET_KEY": TEST_KEY,
            "ACCORD_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "ACCORD_STRIPE_API_BASE": peers.api_base})
        server.env["ACCORD_PUBLIC_URL"] = server.url
        with server:
            peers.register_webhook(f"{server.url}/payments/stripe/webhook")
            yield server


def send_envelope(server: LiveServer, sid: str, *, when: str | None = None, language: str = "en") -> tuple[str, int]:
    """The applicant (payer, order 1) and the lender (order 2), the fee from the interview's payment block
    (paid `when` it says, or as given)."""
    engine_ = make_engine(server.database_url)
    blobs = BlobStore(server.data_dir / "blobs")
    notify = envelope_notifier(lambda: DB(engine_), SMTPMailer("127.0.0.1", int(server.env["ACCORD_SMTP_PORT"]),
                                                               "a@x.invalid"), "live-test-secret", server.url)
    try:
        with DB(engine_) as db:
            current = current_agreement(db, blobs, sid)
            terms = terms_from_source(current.source.payment)
            assert terms is not None and (terms.currency, terms.payer_role, terms.when) == (
                "VND", "applicant", "before signing")
            parties = [PartySpec("applicant", "sign", 1, "Nguyễn Văn An", EMAILS["applicant"],
                                 identity=("email_code",)),
                       PartySpec("lender", "sign", 2, "Acme Lending", EMAILS["lender"], identity=("email_code",))]
            row, _state = load_state(db, sid)
            if when is not None:
                terms = replace(terms, when=when)
            envelope = envelopes.create(db, row.firm_id, title=current.source.title, language=language,
                                        pdf_sha256=current.version.pdf_sha256, parties=parties, session_id=sid,
                                        agreement_version_id=current.version.id, payment=terms)
            envelopes.send(db, envelope.id, notify)
            return envelope.id, terms.amount_minor
    finally:
        engine_.dispose()


def identify_and_consent(page: Page, inbox: Inbox, address: str) -> None:
    before = len(inbox.messages)
    with page.expect_navigation():
        page.get_by_role("button", name="Send me a code").click()
    page.locator("#code").fill(latest_code(inbox, address, before))
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^Confirm$")).click()
    page.locator("#agree").check()
    with page.expect_navigation():
        page.locator("#consent button[type=submit]").click()


def sign_typed(page: Page, fields: dict[str, str] | None = None) -> None:
    """Sign with the typed name; `fields`: what the party fills in while signing (the lender's terms)."""
    for label, value in (fields or {}).items():
        page.get_by_label(label, exact=True).fill(value)
    with page.expect_navigation():
        page.locator(".sign-form button[type=submit]").click()
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    expect(page.locator("li.me .status")).to_have_class(re.compile("status-acted"))


def checkout(page: Page, card: str) -> None:
    """On the (fake) hosted checkout page: type the card number and pay."""
    expect(page.locator("h1")).to_have_text("Test checkout")
    page.locator("#card").fill(card)
    page.get_by_role("button", name="Pay").click()


def state(server: LiveServer, envelope_id: str) -> tuple[str, list[str], int]:
    engine_ = make_engine(server.database_url)
    try:
        with DB(engine_) as db:
            payment = db.exec(select(Payment).where(Payment.envelope_id == envelope_id)).one()
            events = db.exec(select(PaymentEvent).where(PaymentEvent.payment_id == payment.id)).all()
            return payment.status, [e.action for e in audit.events(db, envelope_id)], len(events)
    finally:
        engine_.dispose()


def forged_webhook(server: LiveServer, envelope_id: str, amount: int) -> httpx.Response:
    engine_ = make_engine(server.database_url)
    try:
        with DB(engine_) as db:
            pid = db.exec(select(Payment).where(Payment.envelope_id == envelope_id)).one().id
    finally:
        engine_.dispose()
    body = json.dumps({"id": "evt_forged", "object": "event", "type": "checkout.session.completed",
                       "created": int(time.time()), "data": {"object": {
                           "id": "cs_forged", "object": "checkout.session", "payment_status": "paid",
                           "amount_total": amount, "currency": "vnd", "payment_intent": "pi_forged",
                           "metadata": {"accord_payment": pid, "accord_envelope": envelope_id}}}}).encode()
    t = int(time.time())
    mac = hmac.new(b"whsec_not_the_real_one", f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return httpx.post(f"{server.url}/payments/stripe/webhook", content=body,
                      headers={"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"})


def test_sign_pay_declined_then_paid_webhook_twice_then_completed(browser: Browser, pay_live: LiveServer,
                                                                   inbox: Inbox, peers: StripePeers) -> None:
    sid = finished_loan(pay_live)
    envelope_id, fee = send_envelope(pay_live, sid)
    context = new_context(browser)
    page = context.new_page()
    page.goto(link(inbox, EMAILS["applicant"], ":"))
    identify_and_consent(page, inbox, EMAILS["applicant"])

    # The pay step: amount and purpose, "waiting for payment"; no signing before paying.
    expect(page.locator(".envelope-status")).to_have_text("waiting for payment")
    expect(page.locator(".pay-purpose")).to_have_text("Loan application fee")
    expect(page.locator(".pay-amount")).to_have_text(f"₫{fee:,}")
    assert page.locator(".sign-form").count() == 0
    axe_audit(page, "pay step")
    screenshot(page, "payment-step")

    before = state(pay_live, envelope_id)
    forged = forged_webhook(pay_live, envelope_id, fee)
    assert forged.status_code == 400 and state(pay_live, envelope_id) == before  # no state change

    # A declined card: the checkout says so; back on Accord, so does the payer's page.
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    checkout(page, "4000 0000 0000 0341")
    expect(page.locator("#card-error")).to_contain_text("declined")
    with page.expect_navigation():
        page.get_by_role("link", name="Back").click()
    expect(page.locator(".notice").first).to_contain_text("not completed")
    for _ in range(50):  # localstripe's payment_intent.payment_failed arrives on its own time
        if page.locator("#pay-error").count():
            break
        time.sleep(0.2)
        page.reload()
    expect(page.locator("#pay-error")).to_contain_text("Your card was declined")
    axe_audit(page, "declined card")
    assert state(pay_live, envelope_id)[0] == "due"

    # Pay again with a good card; the checkout's webhook is held: the browser is back first (and
    # localstripe's own payment_intent.succeeded, delivered a second later, is not sent this time).
    hook = f"{pay_live.url}/payments/stripe/webhook"
    peers.register_webhook(hook, localstripe_events=["payment_intent.payment_failed"])
    peers.delivery("hold")
    page.get_by_role("button", name="Try the payment again").click()
    checkout(page, "4242 4242 4242 4242")
    page.wait_for_url(re.compile(r"/sign/[^?]+\?pay=done$"))
    expect(page.locator(".notice").first).to_contain_text("confirming your payment")
    expect(page.locator(".envelope-status")).to_have_text("waiting for payment")
    assert page.locator(".sign-form").count() == 0 and page.locator("#pay-error").count() == 0
    screenshot(page, "payment-confirming")
    assert peers.release(copies=2) == 2  # the same checkout.session.completed, delivered twice
    peers.delivery("after")
    peers.register_webhook(hook)
    expect(page.locator(".sign-form")).to_be_visible(timeout=15_000)  # the page refreshed itself
    expect(page.locator(".payment-status")).to_contain_text("paid")
    status, actions, _events = state(pay_live, envelope_id)
    assert status == "paid" and actions.count("paid") == 1 and "payment_failed" in actions
    sign_typed(page)
    context.close()

    lender = new_context(browser).new_page()
    lender.goto(link(inbox, EMAILS["lender"], ":"))
    identify_and_consent(lender, inbox, EMAILS["lender"])
    sign_typed(lender, LENDER_FIELDS)
    expect(lender.locator(".envelope-status")).to_have_text("completed")
    lender.context.close()

    engine_ = make_engine(pay_live.database_url)
    try:
        with DB(engine_) as db:
            envelope, _people = envelopes.load(db, envelope_id)
            assert (envelope.status, envelope.seal_status) == ("completed", "sealed")
            chain = audit.events(db, envelope_id)
            assert audit.verify(chain).ok
            actions = [e.action for e in chain]
            assert actions.count("paid") == 1 and actions.index("paid") < actions.index("signed")
            paid = chain[actions.index("paid")]
            assert paid.detail["amount_minor"] == fee and paid.detail["currency"] == "VND"
            assert paid.detail["payment_intent"].startswith("pi_")
            # The held checkout.session.completed was delivered twice and kept once.
            kept = db.exec(select(PaymentEvent).where(PaymentEvent.event_id == paid.detail["event"])).all()
            assert len(kept) == 1
    finally:
        engine_.dispose()


def test_after_signing_in_vietnamese_on_a_phone_webhook_first(browser: Browser, pay_live: LiveServer,
                                                               inbox: Inbox, peers: StripePeers) -> None:
    """The applicant signs, then pays (the lender waits for the payment); the checkout's webhook reaches
    Accord before the browser is back: one paid step, no "confirming", and the lender is invited."""
    sid = finished_loan(pay_live)
    start = len(inbox.messages)
    envelope_id, fee = send_envelope(pay_live, sid, when="after signing", language="vi")
    context = new_context(browser, "phone", locale="vi-VN")
    page = context.new_page()
    page.goto(link(inbox, EMAILS["applicant"], ":"))
    before = len(inbox.messages)
    with page.expect_navigation():
        page.get_by_role("button", name="Gửi mã cho tôi").click()
    page.locator("#code").fill(latest_code(inbox, EMAILS["applicant"], before))
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^Xác nhận$")).click()
    page.locator("#agree").check()
    with page.expect_navigation():
        page.locator("#consent button[type=submit]").click()
    assert page.locator("#pay").count() == 0  # signing comes first this time
    sign_typed(page)
    expect(page.locator(".envelope-status")).to_have_text("đang chờ thanh toán")
    expect(page.locator(".pay-amount")).to_have_text(f"{fee:,}".replace(",", ".") + "\xa0₫")
    assert not [m for m in inbox.messages[start:] if EMAILS["lender"] in str(m["To"])]  # the lender waits
    axe_audit(page, "pay step after signing (vi, phone)")
    screenshot(page, "payment-after-signing-vi-phone")
    peers.delivery("before")  # the checkout delivers its webhook, then redirects the browser
    try:
        page.get_by_role("button", name=re.compile("^Thanh toán ")).click()
        checkout(page, "4242424242424242")
        page.wait_for_url(re.compile(r"/sign/[^?]+\?pay=done$"))
    finally:
        peers.delivery("after")
    expect(page.locator(".payment-status")).to_contain_text("đã thanh toán")  # no waiting: the webhook was first
    assert page.locator(".notice", has_text="đang xác nhận").count() == 0
    # localstripe's own payment_intent.succeeded for the same payment arrives too: still one paid step.
    for _ in range(50):
        status, actions, events = state(pay_live, envelope_id)
        if events >= 2:
            break
        time.sleep(0.2)
    assert (status, actions.count("paid"), events) == ("paid", 1, 2)
    assert actions.index("signed") < actions.index("paid")
    inbox.wait_for(before + 2)  # the code, then the lender's invitation, sent once the payment was in
    assert [m for m in inbox.messages[start:] if EMAILS["lender"] in str(m["To"])]
    context.close()


def test_on_completion_the_payer_is_emailed_and_the_payment_completes_and_seals(
        browser: Browser, pay_live: LiveServer, inbox: Inbox, peers: StripePeers) -> None:
    """Both sign; the envelope waits for the payment; the payer gets a "Payment due" e-mail, pays from its
    link, and the webhook completes the envelope and seals it (as the last signature would)."""
    sid = finished_loan(pay_live)
    start = len(inbox.messages)
    envelope_id, fee = send_envelope(pay_live, sid, when="on completion")
    for role in ("applicant", "lender"):
        page = new_context(browser).new_page()
        page.goto(link(inbox, EMAILS[role], ":"))
        identify_and_consent(page, inbox, EMAILS[role])
        sign_typed(page, LENDER_FIELDS if role == "lender" else None)
        page.context.close()
    status, actions, _events = state(pay_live, envelope_id)
    assert status == "due" and "completed" not in actions and "payment_due_sent" in actions
    due = [m for m in inbox.messages[start:] if "Payment due" in str(m["Subject"])]
    assert len(due) == 1 and EMAILS["applicant"] in str(due[0]["To"]) and f"₫{fee:,}" in due[0].get_content()

    page = new_context(browser).new_page()
    found = re.search(r"(http://127\.0\.0\.1:\d+/sign/\S+)", due[0].get_content())
    assert found
    page.goto(found.group(1))
    expect(page.locator(".envelope-status")).to_have_text("waiting for payment")
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    checkout(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/sign/[^?]+\?pay=done$"))
    expect(page.locator(".envelope-status")).to_have_text("completed", timeout=20_000)
    page.context.close()
    engine_ = make_engine(pay_live.database_url)
    try:
        with DB(engine_) as db:
            envelope, _people = envelopes.load(db, envelope_id)
            for _ in range(100):  # the webhook's request seals right after completing
                if envelope.seal_status == "sealed":
                    break
                time.sleep(0.2)
                db.expire_all()
                envelope, _people = envelopes.load(db, envelope_id)
            assert (envelope.status, envelope.seal_status) == ("completed", "sealed")
            chain = audit.events(db, envelope_id)
            actions = [e.action for e in chain]
            assert audit.verify(chain).ok and actions.count("paid") == 1
            assert actions.index("paid") < actions.index("completed") < actions.index("sealed")
    finally:
        engine_.dispose()


def tab_until(page: Page, selector: str, presses: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (as a keyboard user moves)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector!r} was not reached with Tab")


def test_identify_pay_and_sign_with_the_keyboard_alone(browser: Browser, pay_live: LiveServer, inbox: Inbox,
                                                       peers: StripePeers) -> None:
    """No mouse from the e-mailed link to the signature: every control of the code, consent and pay
    steps, the checkout (a declined card, then a good one) and the return is reached with Tab and used
    with Enter, Space or typing."""
    sid = finished_loan(pay_live)
    envelope_id, fee = send_envelope(pay_live, sid)
    context = new_context(browser)
    page = context.new_page()
    page.goto(link(inbox, EMAILS["applicant"], ":"))
    before = len(inbox.messages)
    tab_until(page, "button[type=submit]")  # "Send me a code"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    code = latest_code(inbox, EMAILS["applicant"], before)
    tab_until(page, "#code")
    page.keyboard.type(code)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the code's form
    tab_until(page, "#agree")
    page.keyboard.press("Space")
    tab_until(page, "#consent button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.locator(".envelope-status")).to_have_text("waiting for payment")
    expect(page.locator(".pay-amount")).to_have_text(f"₫{fee:,}")
    tab_until(page, "#pay button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Test checkout")
    tab_until(page, "#card")
    page.keyboard.type("4000 0000 0000 0341")
    page.keyboard.press("Enter")
    expect(page.locator("#card-error")).to_contain_text("declined")
    tab_until(page, "a")  # "Back" to Accord
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".notice").first).to_contain_text("not completed")

    tab_until(page, "#pay button[type=submit]")  # "Try the payment again"
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Test checkout")
    tab_until(page, "#card")
    page.keyboard.type("4242 4242 4242 4242")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sign/[^?]+\?pay=done$"))
    expect(page.locator(".sign-form")).to_be_visible(timeout=15_000)  # once the webhook is in
    expect(page.locator(".payment-status")).to_contain_text("paid")
    tab_until(page, ".sign-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    expect(page.locator("li.me .status")).to_have_class(re.compile("status-acted"))
    status, actions, _events = state(pay_live, envelope_id)
    assert status == "paid" and actions.count("paid") == 1 and actions.index("paid") < actions.index("signed")
    context.close()
