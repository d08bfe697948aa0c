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


@pytest.mark.parametrize(("lang", "country"), [("en", "US"), ("vi", "VN")])
def test_agreement_preview_in_the_browser(browser: Browser, live: LiveServer, lang: str, country: str) -> None:
    """The agreement's language follows the applicant's country (the interview's rule)."""
    context = new_context(browser, "desktop")
    page = context.new_page()
    page.goto(f"{live.url}/i/loan_application?lang={lang}")
    walk(page, live.data_dir, seed=3, force={"esign_consent": True, "applicant_country": country})
    page.locator("a[href$='/agreement']").click()
    preview = page.locator("article.agreement-preview")
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("lang", lang)
    expect(preview.locator(".region-note")).to_be_visible()
    expect(preview.locator("section.clause").first).to_be_visible()
    screenshot(page, f"agreement-preview-{lang}")
    with page.expect_response(lambda r: r.url.endswith("/agreement/1.pdf")) as response:
        page.evaluate("url => fetch(url)", page.locator("a[href$='1.pdf']").first.get_attribute("href"))
    assert response.value.status == 200 and response.value.header_value("content-type") == "application/pdf"
    context.close()
