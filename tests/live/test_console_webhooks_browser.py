"""The console's webhook pages in Chromium against a real `accord serve` (its in-process worker
delivering): an admin created with `accord staff add` logs in (password + TOTP), is refused a
loopback receiver until the firm allows private addresses (the error next to the field), adds an
endpoint pointing at a real receiver on 127.0.0.1 that verifies signatures with the documented
scheme, copies the secret shown once, sends a test event and sees it in the delivery log with the
request (signature header) and the response, resends it (the worker delivers the same event id
again); then one keyboard-only pass (Tab and Enter) over the new pages, and the pages in
Vietnamese. Every page met is audited with axe. Screenshots: artifacts/screenshots/webhooks-*.png.

Then the quiet demo on a server of its own with no integrations file: a completed loan agreement's
two `on completion` actions show as "not configured" on the applicant's page (with the hint) and in
the failing list; the hook is added to the file while the server runs, and "Retry now" delivers it
to a real receiver."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
import yaml
from browsing import VIEWPORTS, new_context, screenshot
from playwright.sync_api import Browser, Page, expect
from server import LiveServer
from sqlmodel import Session as DB
from sqlmodel import select
from test_console_browser import PASSWORD, add_staff, axe_audit, log_in

from manage import actions
from manage.scope import Scope
from store.database import make_engine
from store.models import Delivery, Staff
from store.testdb import scratch_database
from tests.one_signer import sign_alone

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
from webhook_receiver import Receiver  # noqa: E402

SERVICING_SECRET = "whsec_servicing_test_secret"


@pytest.fixture
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An `accord serve` whose integrations file does not exist yet (what `make run` ships)."""
    folder = Path(tmp_path_factory.mktemp("live-quiet"))
    with scratch_database(folder) as url:
        server = LiveServer(folder, database_url=url, env={
            "ACCORD_INTEGRATIONS_FILE": str(folder / "integrations.yml"),
            "ACCORD_TEST_SERVICING_SECRET": SERVICING_SECRET})
        with server:
            yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def plain_log_in(page: Page, server: LiveServer, email: str) -> None:
    """`log_in` without axe (which needs scripts): password, then enrolling the authenticator."""
    page.goto(f"{server.url}/console/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url("**/console/2fa")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/console$"))


def tab_to(page: Page, text: str, presses: int = 80) -> None:
    """Press Tab until the focused element's text (or value) is `text`, then Enter: a keyboard user."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate("(() => { const e = document.activeElement; return e ? "
                                "(e.innerText || e.value || '').trim() : ''; })()")
        if focused == text:
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"{text!r} was not reached with Tab")


def test_admin_adds_a_webhook_tests_and_resends(browser: Browser, live: LiveServer, receiver: Receiver) -> None:
    add_staff(live, "hooks-admin@firm.test", "Mai Admin", role="admin")
    ctx = new_context(browser)
    page = ctx.new_page()
    log_in(page, live, "hooks-admin@firm.test")

    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url("**/console/webhooks")
    axe_audit(page, "webhooks")
    page.locator("#url").fill(receiver.url)
    page.locator("#description").fill("Loan servicing")
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.locator("#url-error")).to_contain_text("cannot receive webhooks")  # loopback: refused
    expect(page.locator("#url")).to_have_value(receiver.url)  # nothing typed is lost
    expect(page.locator("#description")).to_have_value("Loan servicing")
    axe_audit(page, "webhooks with an error")

    page.locator("#private-yes").check()
    page.get_by_role("button", name="Save the setting").click()
    expect(page.locator(".notice")).to_have_text("The setting was saved.")
    page.locator("#url").fill(receiver.url)
    page.locator("#events").fill("envelope.*, webhook.test")
    page.get_by_role("button", name="Add the endpoint").click()
    secret = page.locator("#new-secret").input_value()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    expect(page.get_by_role("button", name="Copy")).to_be_visible()  # the JS enhancement
    screenshot(page, "webhooks-added-en")
    axe_audit(page, "webhooks, secret shown")

    page.get_by_role("link", name=receiver.url).click()
    page.wait_for_url(re.compile(r".*/console/webhooks/\d+$"))
    page.get_by_role("button", name="Send a test event").click()
    expect(page.locator(".test-outcome")).to_contain_text("Delivered: the receiver answered 200.")
    assert len(receiver.accepted) == 1 and receiver.bad_signatures == 0
    event_id = receiver.accepted[0]["id"]
    row = page.locator("table.deliveries tbody tr").first
    expect(row).to_contain_text("webhook.test")
    expect(row).to_contain_text(event_id)
    expect(row).to_contain_text("Delivered")
    axe_audit(page, "webhook with the test outcome")
    screenshot(page, "webhooks-endpoint-en")

    row.get_by_role("link", name="webhook.test").click()
    expect(page.locator("table.headers")).to_contain_text("Accord-Signature")
    expect(page.locator(".response-body")).to_contain_text('{"received":true}')
    expect(page.locator(".response-status")).to_contain_text("200")
    axe_audit(page, "delivery")
    screenshot(page, "webhooks-delivery-en")
    page.get_by_role("button", name="Resend").click()
    expect(page.locator(".notice")).to_contain_text("The delivery was queued again")
    deadline = time.monotonic() + 20
    while len(receiver.accepted) < 2 and time.monotonic() < deadline:  # the server's own worker delivers
        time.sleep(0.2)
    assert receiver.ids() == [event_id, event_id] and receiver.bad_signatures == 0
    page.locator("table.deliveries tbody tr").first.get_by_role("link", name="webhook.test").click()
    expect(page.locator("section.attempt")).to_have_count(2)

    # Keyboard only: from the applicants list to the webhook, a test event, its delivery.
    page.goto(f"{live.url}/console")
    tab_to(page, "Webhooks")
    page.wait_for_url("**/console/webhooks")
    tab_to(page, receiver.url)
    page.wait_for_url(re.compile(r".*/console/webhooks/\d+$"))
    tab_to(page, "Send a test event")
    expect(page.locator(".test-outcome")).to_contain_text("Delivered")
    tab_to(page, "See it in the delivery log")
    expect(page.locator("h1")).to_contain_text("Delivery")
    expect(page.locator(".response-body")).to_contain_text('{"received":true}')
    assert len(receiver.accepted) == 3

    # Vietnamese, on a phone-sized screen: nothing wider than the screen but the tables' own scrolling.
    page.set_viewport_size(VIEWPORTS["phone"])
    page.goto(f"{live.url}/console/webhooks?lang=vi")
    _fits(page, "webhooks (vi, phone)")
    expect(page.locator("h1")).to_have_text("Webhook")
    expect(page.get_by_role("button", name="Thêm điểm nhận")).to_be_visible()
    axe_audit(page, "webhooks (vi)")
    page.get_by_role("link", name=receiver.url).click()
    expect(page.get_by_role("heading", name="Nhật ký gửi")).to_be_visible()
    expect(page.get_by_role("button", name="Gửi sự kiện thử")).to_be_visible()
    _fits(page, "webhook (vi, phone)")
    axe_audit(page, "webhook (vi)")
    page.get_by_role("link", name="Lượt gửi đang lỗi").or_(page.get_by_role("link", name=re.compile("^Đang lỗi"))) \
        .first.click()
    expect(page.locator("h1")).to_have_text("Lượt gửi đang lỗi")
    _fits(page, "failing (vi, phone)")
    axe_audit(page, "failing (vi)")
    page.goto(f"{live.url}/console?lang=en")
    ctx.close()

    # JavaScript off: every button is a plain form (a second admin, in a context without scripts).
    add_staff(live, "hooks-admin2@firm.test", "Minh Admin", role="admin")
    plain_ctx = browser.new_context(java_script_enabled=False)
    plain_ctx.set_default_timeout(10_000)
    plain = plain_ctx.new_page()
    plain_log_in(plain, live, "hooks-admin2@firm.test")
    plain.goto(f"{live.url}/console/webhooks")
    plain.get_by_role("link", name=receiver.url).click()
    plain.get_by_role("button", name="Rotate the secret").click()
    assert plain.locator("#new-secret").input_value().startswith("whsec_")
    expect(plain.get_by_role("button", name="Copy")).to_be_hidden()  # no script: select the field by hand
    plain.get_by_role("button", name="Send a test event").click()
    expect(plain.locator(".test-outcome")).to_contain_text("Delivered")  # old and new secrets both sign
    plain.locator("table.deliveries tbody tr").first.get_by_role("button", name="Resend").click()
    expect(plain.locator(".notice")).to_contain_text("The delivery was queued again")
    _wait(lambda: len(receiver.accepted) == 5, "the resent test event")
    assert receiver.bad_signatures == 0
    plain_ctx.close()


def _completed_loan(server: LiveServer, staff_email: str) -> str:
    """A loan applicant of `staff_email` whose envelope has completed, written to the server's database."""
    engine = make_engine(server.database_url)
    try:
        with DB(engine) as s:
            member = s.exec(select(Staff).where(Staff.email == staff_email)).one()
            session = actions.invite(s, Scope.of(member), "loan_application", "en",
                                     actions.Prefill("Trần Thị Bích", "bich@example.com", "1000"),
                                     send=lambda *a: None, link=lambda sid: sid, days="7")
            sign_alone(s, member.firm_id, session.id, title="Loan", role="applicant", name="Bích",
                       email="bich@example.com")
            return session.id
    finally:
        engine.dispose()


def _statuses(server: LiveServer) -> list[str]:
    engine = make_engine(server.database_url)
    try:
        with DB(engine) as s:
            return [d.status for d in s.exec(select(Delivery).order_by(Delivery.action_index)).all()]  # type: ignore[arg-type]
    finally:
        engine.dispose()


def _fits(page: Page, what: str) -> None:
    """The page does not scroll sideways (a wide table scrolls inside its own box)."""
    wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    culprits = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 5)
        .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert wide <= 1, f"{what}: the page is {wide}px wider than the screen: {culprits}"
    screenshot(page, "webhooks-" + re.sub(r"[^a-z]+", "-", what.lower()).strip("-"))


def _wait(check: object, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_unconfigured_actions_show_then_retry_delivers(browser: Browser, quiet: LiveServer,
                                                       receiver: Receiver) -> None:
    add_staff(quiet, "quiet-admin@firm.test", "Quang Admin", role="admin")
    sid = _completed_loan(quiet, "quiet-admin@firm.test")
    _wait(lambda: _statuses(quiet) == ["unconfigured", "unconfigured"], "both actions recorded as not configured")
    time.sleep(2)  # several more passes of the server's worker (every 0.5 s): nothing retried, nothing logged
    assert _statuses(quiet) == ["unconfigured", "unconfigured"]
    logged = [json.loads(line) for line in quiet.log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    worker_said = [r for r in logged if r.get("level") in ("warning", "error", "critical")
                   and str(r.get("logger", "")).startswith(("accord.jobs", "accord.integrations"))]
    assert not worker_said, worker_said
    ctx = new_context(browser)
    page = ctx.new_page()
    log_in(page, quiet, "quiet-admin@firm.test")
    expect(page.locator("nav .badge")).to_contain_text("2")
    page.goto(f"{quiet.url}/console/s/{sid}")
    rows = page.locator("section.outcomes tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-state", "unconfigured")
    expect(rows.nth(0)).to_contain_text("“crm” is not in the integrations file")
    expect(rows.nth(1)).to_contain_text("ACCORD_INTEGRATIONS_FILE")
    expect(rows.nth(1)).to_contain_text("“loan_servicing”")
    axe_audit(page, "applicant with on-completion outcomes")
    screenshot(page, "webhooks-outcomes-en")

    # The operator adds the hook while the server runs; "Retry now" delivers it.
    receiver.secret = SERVICING_SECRET
    (quiet.data_dir / "integrations.yml").write_text(yaml.safe_dump({"firms": {"demo": {"hooks": {
        "loan_servicing": {"url": receiver.url, "secret_env": "ACCORD_TEST_SERVICING_SECRET",
                           "allow_private": True}}}}}), encoding="utf-8")
    rows.nth(1).get_by_role("button").click()
    expect(page.locator(".notice")).to_contain_text("The action was queued again")
    _wait(lambda: len(receiver.accepted) == 1, "the hook's delivery")
    assert receiver.bad_signatures == 0
    assert receiver.accepted[0]["hook"] == "loan_servicing" and receiver.accepted[0]["agreement_id"] == sid
    _wait(lambda: _statuses(quiet) == ["unconfigured", "delivered"], "the hook delivered")
    page.reload()
    expect(rows.nth(1)).to_have_attribute("data-state", "done")
    expect(page.locator("ol.staff-actions")).to_contain_text("On-completion action retried")

    page.get_by_role("link", name=re.compile("^Failing")).click()
    expect(page.locator("table.failing tbody tr")).to_have_count(1)  # the crm connector is still missing
    expect(page.locator("table.failing")).to_contain_text("Not configured")
    axe_audit(page, "failing")
    ctx.close()
