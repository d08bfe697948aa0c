"""Uploads, signatures and terms in Chromium, on `accord serve` with the test interview
tests/web/features/wizard_features.yml and a 0.05 MB upload limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import new_context, screenshot
from drive import click_and_settle, session_id
from playwright.sync_api import Browser, Page, expect
from server import ROOT, LiveServer
from sqlmodel import Session as DB

from store.database import make_engine
from store.sessions import load_state

FEATURES = ROOT / "tests" / "web" / "features"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"ACCORD_INTERVIEWS_DIR": str(FEATURES), "ACCORD_MAX_UPLOAD_MB": "0.05"}
    with LiveServer(Path(tmp_path_factory.mktemp("live-features")), env=env) as server:
        yield server


def answer(server: LiveServer, sid: str, var: str) -> object:
    db = make_engine(f"sqlite:///{server.data_dir / 'accord.db'}")
    try:
        with DB(db) as s:
            return load_state(s, sid)[1].namespace.get(var)
    finally:
        db.dispose()


def continue_(page: Page) -> None:
    click_and_settle(page, page.locator("main button.primary"))


def to_upload(page: Page, server: LiveServer) -> str:
    page.goto(f"{server.url}/i/wizard_features")
    page.locator('[name="applicant_name"]').fill("Ann Example")
    continue_(page)
    expect(page.locator('input[type="file"]')).to_be_visible()
    return session_id(page)


def test_upload_rejections_then_a_drawn_signature(browser: Browser, features: LiveServer, viewport: str,
                                                  tmp_path: Path) -> None:
    context = new_context(browser, viewport)
    page = context.new_page()
    sid = to_upload(page, features)
    upload = page.locator('input[type="file"]')

    fake = tmp_path / "id.pdf"
    fake.write_bytes(b"MZ\x90\x00 this is a program, not a PDF")
    upload.set_input_files(str(fake))
    continue_(page)
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#field-0-error")).to_contain_text("not one of the accepted types")
    expect(upload).to_have_attribute("aria-invalid", "true")

    big = tmp_path / "big.pdf"
    big.write_bytes(PDF + b"0" * 60_000)
    upload.set_input_files(str(big))
    continue_(page)
    expect(page.locator("#field-0-error")).to_contain_text("larger than 0.05 MB")
    screenshot(page, f"wizard-upload-error-{viewport}")

    good = tmp_path / "passport.pdf"
    good.write_bytes(PDF)
    upload.set_input_files(str(good))
    continue_(page)
    canvas = page.locator("canvas")
    expect(canvas).to_be_visible()  # wizard.js shows the pad
    box = canvas.bounding_box()
    assert box is not None
    if viewport == "phone":  # touch: each tap is a dot
        for n in range(5):
            page.touchscreen.tap(box["x"] + 20 + 25 * n, box["y"] + box["height"] / 2)
    else:
        page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
        page.mouse.down()
        for n in range(1, 10):
            page.mouse.move(box["x"] + 20 + 20 * n, box["y"] + box["height"] / 2 + (-1) ** n * 15)
        page.mouse.up()
    expect(page.locator('[data-signature-value]')).to_have_value(re.compile("^data:image/png;base64,"))
    screenshot(page, f"wizard-signature-{viewport}")
    continue_(page)
    expect(page.locator("main h1")).to_have_text("All done")
    document, signature = answer(features, sid, "id_document"), answer(features, sid, "applicant_signature")
    assert getattr(document, "filename", None) == "passport.pdf"
    assert getattr(signature, "mimetype", None) == "image/png"
    stored = features.data_dir / "uploads" / str(getattr(signature, "sha256", ""))
    assert stored.read_bytes().startswith(b"\x89PNG")
    context.close()


def test_typed_signature_and_upload_with_javascript_off(browser: Browser, features: LiveServer,
                                                        tmp_path: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sid = to_upload(page, features)
    good = tmp_path / "scan.png"
    good.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    page.locator('input[type="file"]').set_input_files(str(good))
    continue_(page)
    expect(page.locator(".signature-pad")).to_be_hidden()  # no canvas without JavaScript
    page.get_by_label("Or type your full name instead").fill("Ann Example")
    continue_(page)
    expect(page.locator("main h1")).to_have_text("All done")
    signature = answer(features, sid, "applicant_signature")
    assert getattr(signature, "mimetype", None) == "text/plain"
    assert (features.data_dir / "uploads" / str(getattr(signature, "sha256", ""))).read_text() == "Ann Example"
    context.close()


def test_terms_and_help_work_from_the_keyboard(browser: Browser, features: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{features.url}/i/wizard_features")
    term = page.locator("button.term")
    expect(term).to_have_text("collateral")
    definition = page.locator(".term-definition")
    expect(definition).to_be_hidden()
    term.focus()
    page.keyboard.press("Enter")
    expect(definition).to_be_visible()
    expect(definition).to_contain_text("lender may keep")
    page.keyboard.press("Escape")
    expect(definition).to_be_hidden()
    summary = page.locator("details.help summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("details.help")).to_have_attribute("open", "")
    expect(page.locator("details.help")).to_contain_text("As written on your ID")
    context.close()


def test_axe_finds_nothing_on_terms_upload_and_signature_screens(browser: Browser, features: LiveServer,
                                                                 tmp_path: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def audit(what: str) -> None:
        results = axe.run(page)
        assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"

    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{features.url}/i/wizard_features")
    audit("terms and help")
    page.locator("button.term").click()
    expect(page.locator(".term-definition")).to_be_visible()
    audit("open term popover")
    page.keyboard.press("Escape")
    page.locator('[name="applicant_name"]').fill("Ann Example")
    continue_(page)
    audit("upload")
    fake = tmp_path / "id.pdf"
    fake.write_bytes(b"not a pdf at all")
    page.locator('input[type="file"]').set_input_files(str(fake))
    continue_(page)
    audit("upload error")
    good = tmp_path / "ok.pdf"
    good.write_bytes(PDF)
    page.locator('input[type="file"]').set_input_files(str(good))
    continue_(page)
    expect(page.locator("canvas")).to_be_visible()
    audit("signature")
    continue_(page)  # nothing drawn or typed: the error state
    expect(page.locator(".error-summary")).to_be_visible()
    audit("signature error")
    context.close()
