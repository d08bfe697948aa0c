"""Save and continue later, end to end: a real `accord serve` sending through a real SMTP server
(aiosmtpd on 127.0.0.1), the link opened in a fresh browser context (no cookie), landing on the
same screen with what was typed but not submitted."""

from __future__ import annotations

import re

import pytest
from browsing import new_context, screenshot
from drive import click_and_settle, current, session_id, submit
from playwright.sync_api import Browser, expect
from server import LiveServer
from smtp_inbox import Inbox

from engine import Screen


@pytest.mark.parametrize(("lang", "sent"), [("en", "We sent a link"), ("vi", "Chúng tôi đã gửi liên kết")])
def test_save_and_resume_from_the_emailed_link(browser: Browser, mail_live: LiveServer, inbox: Inbox,
                                               lang: str, sent: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{mail_live.url}/i/loan_application?lang={lang}")
    sid = session_id(page)
    submit(page, 0)
    about = current(mail_live.data_dir, sid)
    assert isinstance(about, Screen)
    name = next(f for f in about.fields if f.datatype == "text")
    page.locator(f'[name="{name.key}"]').fill("Half Typed")
    question = page.locator("main h1").inner_text()
    click_and_settle(page, page.locator('main button[name="_save"]'))
    expect(page).to_have_url(re.compile(rf"/s/{re.escape(sid)}/save$"))
    expect(page.locator("main h1")).to_be_focused()
    screenshot(page, f"wizard-save-later-{lang}")

    address = f"applicant-{lang}@example.com"
    page.locator('input[name="email"]').fill(address)
    count = len(inbox.messages)
    click_and_settle(page, page.locator("main button.primary"))
    expect(page.locator("main")).to_contain_text(sent)
    message = inbox.wait_for(count + 1)
    assert message["To"] == address
    body = message.get_content()
    link = re.search(re.escape(mail_live.url) + r"/r/\S+", body)
    assert link is not None, body
    log = (mail_live.data_dir / "server.log").read_text()
    assert address not in log and "Half Typed" not in log and link.group(0).rsplit("/", 1)[1] not in log
    context.close()

    fresh = new_context(browser, "phone")  # another browser: no cookie
    other = fresh.new_page()
    assert other.goto(f"{mail_live.url}/s/{sid}").status == 404  # type: ignore[union-attr]
    other.goto(link.group(0))
    expect(other).to_have_url(f"{mail_live.url}/s/{sid}")
    expect(other.locator("main h1")).to_have_text(question)
    expect(other.locator(f'[name="{name.key}"]')).to_have_value("Half Typed")
    expect(other.locator("html")).to_have_attribute("lang", lang)
    fresh.close()


def test_a_tampered_link_says_what_to_do(browser: Browser, mail_live: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    response = page.goto(f"{mail_live.url}/r/eyJzIjoiYWJjIn0.AAAAAA.not-a-signature")
    assert response is not None and response.status == 400
    expect(page.locator("main")).to_contain_text("Copy the whole link")
    context.close()
