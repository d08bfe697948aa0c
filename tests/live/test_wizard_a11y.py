"""axe-core (bundled by axe-playwright-python) in Chromium on every kind of wizard screen the loan
walk meets, on the error state, and on the save-later, exit and restart pages: zero violations."""

from __future__ import annotations

import random

from axe_playwright_python.sync_playwright import Axe
from browsing import new_context
from drive import click_and_settle, current, fill, session_id, submit
from playwright.sync_api import Browser, Page
from server import LiveServer

from accord.autoanswer import answers_for
from engine import Done, Screen

AXE = Axe()


def audit(page: Page, what: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"


def kind_of(screen: Screen) -> tuple[str, ...]:
    """What makes a screen look different: its kind and the datatypes of its inputs."""
    return (screen.kind, *sorted({f.datatype for f in screen.fields if f.var is not None}),
            "review" if screen.review else "", "back" if screen.back_button else "")


def test_axe_finds_nothing_on_the_loan_walk(browser: Browser, live: LiveServer) -> None:
    for lang, viewport in (("en", "desktop"), ("vi", "phone")):
        context = new_context(browser, viewport)
        page = context.new_page()
        page.goto(f"{live.url}/i/loan_application?lang={lang}")
        sid = session_id(page)
        rng = random.Random(1)
        seen: set[tuple[str, ...]] = set()
        audited_error = False
        for _ in range(60):
            screen = current(live.data_dir, sid)
            assert not isinstance(screen, Done)
            kind = kind_of(screen)
            if kind not in seen:
                seen.add(kind)
                audit(page, f"{lang} {screen.block_id} {kind}")
            if screen.is_end:
                break
            email = next((f for f in screen.fields if f.datatype == "email"), None)
            if email is not None and not audited_error:
                answers, button = answers_for(screen, random.Random(2), attempt=4)
                fill(page, screen, {**answers, email.key: "not an email"})
                submit(page, button)
                assert page.locator(".error-summary").count() == 1
                audit(page, f"{lang} error state on {screen.block_id}")
                audited_error = True
            for attempt in range(5):  # as drive.walk: the same answers, the same path to the end
                answers, button = answers_for(screen, rng, attempt=attempt)
                fill(page, screen, answers)
                submit(page, button)
                if page.locator(".error-summary").count() == 0:
                    break
        else:
            raise AssertionError("no end screen reached")
        assert audited_error and len(seen) >= 5, seen
        context.close()


def test_axe_finds_nothing_on_save_exit_and_restart(browser: Browser, live: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{live.url}/i/loan_application")
    sid = session_id(page)
    for button, path in (("_save", "save"), ("_exit", "exit"), ("_restart", "restart")):
        page.goto(f"{live.url}/s/{sid}")
        click_and_settle(page, page.locator(f'main button[name="{button}"]'))
        assert page.url.endswith(f"/s/{sid}/{path}")
        audit(page, path)
    page.goto(f"{live.url}/s/{sid}/save")
    page.locator('input[name="email"]').fill("nope")
    click_and_settle(page, page.locator("main button.primary"))
    assert page.locator(".error-summary").count() == 1
    audit(page, "save form error")
    page.set_content('<html><body><img src="x.png"><input type="text"></body></html>')  # axe does find things
    assert AXE.run(page).violations_count >= 2
    context.close()
