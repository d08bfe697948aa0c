"""The wizard in Chromium: the loan interview to its end, en and vi, phone and desktop."""

from __future__ import annotations

import pytest
from browsing import new_context, screenshot
from drive import walk
from playwright.sync_api import Browser, expect
from server import LiveServer


@pytest.mark.parametrize(("lang", "greeting"), [("en", "Thank you"), ("vi", "Cảm ơn")])
def test_complete_the_loan_interview(browser: Browser, live: LiveServer, viewport: str, lang: str,
                                     greeting: str) -> None:
    context = new_context(browser, viewport)
    page = context.new_page()
    page.goto(f"{live.url}/i/loan_application?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    screenshot(page, f"wizard-{viewport}-{lang}-first")
    screen = walk(page, live.data_dir)
    assert screen.block_id.startswith("final screen")
    expect(page.locator("main")).to_contain_text(greeting)
    screenshot(page, f"wizard-{viewport}-{lang}-end")
    context.close()
