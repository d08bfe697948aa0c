"""The loan wizard in Chromium with htmx: a validation error (message at the field, aria-invalid,
focus on the error summary, title), then back-and-change keeping later answers; en and vi, phone
and desktop. Plus: htmx swaps without reloading, and the whole walk with JavaScript off."""

from __future__ import annotations

import random
import re

import pytest
from browsing import new_context, screenshot
from drive import click_and_settle, current, fill, session_id, submit, walk
from playwright.sync_api import Browser, expect
from server import LiveServer
from sqlmodel import Session as DB

from accord.autoanswer import answers_for
from engine import Screen
from store.database import make_engine
from store.sessions import load_state

ERROR_PREFIX = {"en": "Error:", "vi": "Lỗi:"}


def stored(live: LiveServer, sid: str) -> dict[str, object]:
    db = make_engine(f"sqlite:///{live.data_dir / 'accord.db'}")
    try:
        with DB(db) as s:
            return dict(load_state(s, sid)[1].namespace)
    finally:
        db.dispose()


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_validation_error_then_back_and_change(browser: Browser, live: LiveServer, viewport: str, lang: str) -> None:
    context = new_context(browser, viewport)
    page = context.new_page()
    page.goto(f"{live.url}/i/loan_application?lang={lang}")
    sid = session_id(page)
    submit(page, 0)  # the consent screen
    about = current(live.data_dir, sid)
    assert isinstance(about, Screen)
    answers, button = answers_for(about, random.Random(7), attempt=2)
    fill(page, about, answers)
    email = next(f for f in about.fields if f.datatype == "email")
    page.locator(f'[name="{email.key}"]').fill("not an email")
    title_before = page.title()
    submit(page, button)

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    box = page.locator(f'[name="{email.key}"]')
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_value("not an email")
    error_id = (box.get_attribute("aria-describedby") or "").split()[-1]
    assert error_id.endswith("-error")
    message = page.locator(f"#{error_id}")
    expect(message).to_be_visible()
    expect(summary.locator("a")).to_have_text(message.inner_text())
    expect(page).to_have_title(re.compile("^" + re.escape(ERROR_PREFIX[lang])))
    assert page.title() != title_before
    screenshot(page, f"wizard-error-{viewport}-{lang}")
    for key, value in answers.items():  # nothing else typed was lost
        if key != email.key and isinstance(value, str) and about.field_by_key(key).datatype in ("text", "date"):  # type: ignore[union-attr]
            expect(page.locator(f'[name="{key}"]')).to_have_value(value)

    summary.locator("a").first.click()  # the link in the summary moves to the field
    expect(box).to_be_focused()
    box.fill(str(answers[email.key]))
    submit(page, button)
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator("main h1")).to_be_focused()  # the new screen is announced
    third = current(live.data_dir, sid)
    assert isinstance(third, Screen) and third.block_id != about.block_id
    third_answers, third_button = answers_for(third, random.Random(8), attempt=2)
    fill(page, third, third_answers)
    submit(page, third_button)
    fourth = current(live.data_dir, sid)
    assert isinstance(fourth, Screen) and fourth.block_id != third.block_id

    for _ in range(2):  # back to About you
        click_and_settle(page, page.locator('main button[name="_back"]'))
    name = next(f for f in about.fields if f.datatype == "text")
    expect(page.locator(f'[name="{name.key}"]')).to_have_value(str(answers[name.key]))
    page.locator(f'[name="{name.key}"]').fill("Changed Name")
    submit(page, button)
    expect(page.locator("main h1")).to_be_focused()
    values = stored(live, sid)
    assert values[name.key] == "Changed Name"
    for key in third_answers:  # the later screen's answers were kept: it is not asked again
        assert key in values, key
    after = current(live.data_dir, sid)
    assert isinstance(after, Screen) and after.block_id == fourth.block_id
    context.close()


def test_htmx_swaps_the_screen_without_reloading(browser: Browser, live: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{live.url}/i/loan_application")
    sid = session_id(page)
    page.evaluate("window.__sameDocument = true")
    first_title = page.title()
    requests: list[dict[str, str]] = []
    page.on("request", lambda r: requests.append(r.headers) if "/s/" in r.url else None)
    submit(page, 0)
    assert page.evaluate("window.__sameDocument") is True  # swapped in, not a new page
    assert page.url.endswith(f"/s/{sid}")
    assert page.title() != first_title and page.title().endswith("Accord")
    assert any(h.get("hx-request") == "true" for h in requests)
    context.close()


def test_browser_back_after_htmx_navigation_restores_the_page(browser: Browser, live: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{live.url}/i/loan_application")
    sid = session_id(page)
    submit(page, 0)
    question = page.locator("main h1").inner_text()
    click_and_settle(page, page.locator('main button[name="_save"]'))
    expect(page).to_have_url(f"{live.url}/s/{sid}/save")
    page.go_back()
    expect(page).to_have_url(f"{live.url}/s/{sid}")
    expect(page.locator("main h1")).to_have_text(question)
    expect(page.locator("main form button.primary")).to_be_visible()
    expect(page.locator("header.site")).to_have_count(1)  # the whole page came back once, not nested
    context.close()


def test_the_walk_completes_with_javascript_off(browser: Browser, live: LiveServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live.url}/i/loan_application")
    assert page.locator("body").get_attribute("data-swaps") is None  # wizard.js did not run
    screen = walk(page, live.data_dir, seed=3)
    assert screen.is_end
    expect(page.locator("main")).to_contain_text("Thank you")
    context.close()
