"""The chat in Chromium: the loan interview to its end in en and vi on phone and desktop, typed
answers read (dates, amounts, yes/no words), a validation error re-asked, and a switch to the
wizard in the middle of a screen that loses nothing."""

from __future__ import annotations

import pytest
from browsing import VIEWPORTS, new_context, screenshot
from chat_drive import answered, chat_walk, click, now, say, swaps
from drive import click_and_settle, session_id, walk
from playwright.sync_api import Browser, Page, expect
from server import LiveServer

from engine import Screen

TEXT = {
    "en": {"yes": "yes", "name": "Jane A. Smith", "dob": "Date of birth", "bad_date": "You need to enter a valid date.",
           "country": "US", "amount": "25k", "shown": "25,000", "greeting": "Thank you", "form": "Continue as a form"},
    "vi": {"yes": "có", "name": "Nguyễn Văn An", "dob": "Ngày sinh", "bad_date": "Bạn cần nhập một ngày hợp lệ.",
           "country": "VN", "amount": "25.000.000 đ", "shown": "25.000.000", "greeting": "Cảm ơn",
           "form": "Tiếp tục dưới dạng biểu mẫu"},
}


def open_chat(page: Page, live: LiveServer, lang: str) -> str:
    page.goto(f"{live.url}/i/loan_application?lang={lang}")
    page.locator("p.mode-switch a").click()  # the wizard's "Continue as a chat"
    page.wait_for_load_state()
    assert page.url.endswith("/chat")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    return session_id(page)


def last_me(page: Page) -> str:
    """The applicant's last message, without its "You:" for screen readers."""
    return page.locator("#chat-log .bubble.me").last.inner_text().split(":", 1)[1].strip()


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_complete_the_loan_interview_in_chat(browser: Browser, live: LiveServer, viewport: str, lang: str) -> None:
    t = TEXT[lang]
    context = new_context(browser, viewport)
    page = context.new_page()
    sid = open_chat(page, live, lang)
    log = page.locator("#chat-log")
    expect(page.locator("#chat-live")).to_have_attribute("aria-live", "polite")

    say(page, t["yes"])  # the consent question answered with a typed word
    assert now(live.data_dir, sid)[2].namespace["esign_consent"] is True
    say(page, t["name"])
    expect(page.locator('label[for="chat-answer"]')).to_have_text(t["dob"])

    say(page, "31/02/1990")  # no 31 February: the engine's message, and the question again
    error = page.locator("#chat-log .bubble.error").first
    expect(error).to_contain_text(t["bad_date"])
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator("#chat-answer")).to_have_attribute("aria-invalid", "true")
    expect(page.locator('label[for="chat-answer"]')).to_have_text(t["dob"])

    say(page, "15/03/1990")
    expect(page.locator("#chat-log .bubble.error")).to_have_count(0)
    assert last_me(page) == ("15 Mar 1990" if lang == "en" else "15/03/1990")
    assert now(live.data_dir, sid)[1]["applicant_dob"] == "1990-03-15"
    say(page, "an@example.com")
    say(page, "0912 345 678")
    click(page, "_reply", t["country"])  # a quick reply

    screen = chat_walk(page, live.data_dir, lang, seed=7, stop_at="loan amount")
    assert screen.block_id.startswith("loan amount")
    say(page, t["amount"])
    assert last_me(page) == t["shown"]
    screenshot(page, f"chat-{viewport}-{lang}")
    expect(page.locator("#chat-answer")).to_be_in_viewport()

    screen = chat_walk(page, live.data_dir, lang, seed=7)
    assert screen.block_id.startswith("final screen")
    expect(log.locator(".bubble.bot").last).to_contain_text(t["greeting"])
    state = now(live.data_dir, sid)[2]
    assert float(state.namespace["loan_amount"]) == (25_000 if lang == "en" else 25_000_000)
    dob = state.namespace["applicant_dob"]
    assert (dob.year, dob.month, dob.day) == (1990, 3, 15)
    assert state.namespace["applicant_name"] == t["name"]
    expect(page.locator("#chat-answer")).to_have_count(0)  # an end screen takes no answer
    context.close()


def test_switch_to_the_wizard_in_the_middle_of_a_screen(browser: Browser, live: LiveServer) -> None:
    context = new_context(browser, "desktop")
    page = context.new_page()
    sid = open_chat(page, live, "en")
    before = swaps(page)
    page.locator('#chat-form button[name="_button"][value="0"]').click()  # Yes, as a quick reply
    answered(page, before)
    say(page, "Lê Thị Hoa")
    say(page, "1990-03-15")
    draft = now(live.data_dir, sid)[1]
    assert draft == {"applicant_name": "Lê Thị Hoa", "applicant_dob": "1990-03-15"}

    page.get_by_role("link", name="Continue as a form").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/s/{sid}")
    expect(page.locator('[name="applicant_name"]')).to_have_value("Lê Thị Hoa")  # the draft, pre-filled
    expect(page.locator('[name="applicant_dob"]')).to_have_value("1990-03-15")
    expect(page.get_by_role("link", name="Continue as a chat")).to_be_visible()
    page.locator('[name="applicant_email"]').fill("hoa@example.com")
    page.locator('[name="applicant_phone"]').fill("0912 345 678")
    click_and_settle(page, page.locator("main form button.primary"))  # the htmx swap, not just the page load
    step, draft, state = now(live.data_dir, sid)
    assert isinstance(step, Screen) and step.block_id == "applicant country" and draft == {}
    assert state.namespace["applicant_name"] == "Lê Thị Hoa"

    screen = walk(page, live.data_dir, seed=3)
    assert screen.block_id.startswith("final screen")
    state = now(live.data_dir, sid)[2]
    assert state.namespace["applicant_name"] == "Lê Thị Hoa"
    assert state.namespace["applicant_email"] == "hoa@example.com"
    dob = state.namespace["applicant_dob"]
    assert (dob.year, dob.month, dob.day) == (1990, 3, 15)
    context.close()


def test_the_chat_without_javascript(browser: Browser, live: LiveServer) -> None:
    """Plain forms: POST, 303, GET; a 422 page with the message; Back inside a screen."""
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["phone"],  # type: ignore[arg-type]
                                  locale="vi-VN")
    page = context.new_page()
    sid = open_chat(page, live, "vi")

    def enter(text: str) -> None:
        page.locator("#chat-answer").fill(text)
        page.locator("#chat-answer").press("Enter")
        page.wait_for_load_state()

    enter("vâng")
    expect(page.locator('label[for="chat-answer"]')).to_have_text("Họ và tên")
    enter("Phạm Minh Châu")
    enter("ngày mai")  # read as a date, then refused by the field's own `max` message
    expect(page.locator("#chat-log .bubble.error")).to_have_text(
        "Accord: Ngày sinh không được là một ngày trong tương lai.", use_inner_text=False)
    expect(page.locator("#chat-answer")).to_have_value("ngày mai")
    enter("15.03.1990")
    expect(page.locator('label[for="chat-answer"]')).to_have_text("Địa chỉ email")
    assert now(live.data_dir, sid)[1] == {"applicant_name": "Phạm Minh Châu", "applicant_dob": "1990-03-15"}
    page.locator('#chat-form button[name="_back"]').click()
    page.wait_for_load_state()
    expect(page.locator('label[for="chat-answer"]')).to_have_text("Ngày sinh")
    assert now(live.data_dir, sid)[1] == {"applicant_name": "Phạm Minh Châu"}
    assert page.url.endswith(f"/s/{sid}/chat")
    context.close()
