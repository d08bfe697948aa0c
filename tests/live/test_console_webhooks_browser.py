"""The console's webhook pages in Chromium against a real `accord serve` (its in-process worker
delivering): an admin created with `accord staff add` logs in (password + TOTP), is refused a
loopback receiver until the firm allows private addresses (the error next to the field), adds an
endpoint pointing at a real receiver on 127.0.0.1 that verifies signatures with the documented
scheme, copies the secret shown once, sends a test event and sees it in the delivery log with the
request (signature header) and the response, resends it (the worker delivers the same event id
again); then one keyboard-only pass (Tab and Enter) over the new pages, and the pages in
Vietnamese. Every page met is audited with axe. Screenshots: artifacts/screenshots/webhooks-*.png."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import new_context, screenshot
from playwright.sync_api import Browser, Page, expect
from server import LiveServer
from test_console_browser import add_staff, axe_audit, log_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
from webhook_receiver import Receiver  # noqa: E402


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


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

    # Vietnamese.
    page.goto(f"{live.url}/console/webhooks?lang=vi")
    expect(page.locator("h1")).to_have_text("Webhook")
    expect(page.get_by_role("button", name="Thêm điểm nhận")).to_be_visible()
    axe_audit(page, "webhooks (vi)")
    page.get_by_role("link", name=receiver.url).click()
    expect(page.get_by_role("heading", name="Nhật ký gửi")).to_be_visible()
    expect(page.get_by_role("button", name="Gửi sự kiện thử")).to_be_visible()
    axe_audit(page, "webhook (vi)")
    page.get_by_role("link", name="Lượt gửi đang lỗi").or_(page.get_by_role("link", name=re.compile("^Đang lỗi"))) \
        .first.click()
    expect(page.locator("h1")).to_have_text("Lượt gửi đang lỗi")
    axe_audit(page, "failing (vi)")
    page.goto(f"{live.url}/console?lang=en")
    ctx.close()
