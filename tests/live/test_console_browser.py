"""The agent console in Chromium against a real `accord serve` (e-mail through a real SMTP server on
loopback): an agent created with `accord staff add` logs in with a password and enrols TOTP from
the page, invites an applicant (the link arrives by e-mail); while the applicant answers in another
browser context, the agent's list shows each step live, without a reload; then the agent resends
the link, reminds and reassigns the applicant to a colleague, who sees them in Vietnamese.
Every console page met is audited with axe (zero violations). Screenshots go to
artifacts/screenshots/console-*.png."""

from __future__ import annotations

import random
import re
import subprocess
import sys

import pyotp
from axe_playwright_python.sync_playwright import Axe
from browsing import new_context, screenshot
from drive import current, fill, submit
from playwright.sync_api import Browser, Page, expect
from server import ROOT, LiveServer
from smtp_inbox import Inbox
from sqlmodel import Session as DB
from sqlmodel import col, select

from accord.autoanswer import answers_for
from engine import Done
from store.database import make_engine
from store.models import ConsoleAction
from store.models import Session as SessionRow

PASSWORD = "a long console password"
APPLICANT = "an.nguyen@example.com"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/r/\S+)")
AXE = Axe()


def axe_audit(page: Page, what: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"


def add_staff(server: LiveServer, email: str, name: str, role: str = "agent") -> None:
    """`accord staff add`, as a firm's first owner would run it, on the server's database."""
    result = subprocess.run(
        [sys.executable, "-m", "accord", "staff", "add", "--firm", "demo", "--email", email, "--name", name,
         "--role", role], cwd=ROOT, env={**server.env, "ACCORD_STAFF_PASSWORD": PASSWORD}, capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def log_in(page: Page, server: LiveServer, email: str, lang: str = "en", shot: str | None = None) -> None:
    """Password, then the authenticator: enrolled from the key the page shows (first login)."""
    page.goto(f"{server.url}/console/login?lang={lang}")
    axe_audit(page, f"login ({lang})")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url("**/console/2fa")
    expect(page.locator(".qr svg")).to_be_visible()
    axe_audit(page, "2fa enrolment")
    if shot:
        screenshot(page, shot)
    secret = page.locator("#totp-secret").inner_text().strip()
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/console$"))


def session_row(server: LiveServer, sid: str) -> SessionRow:
    engine_ = make_engine(server.database_url)
    try:
        with DB(engine_) as db:
            row = db.get(SessionRow, sid)
            assert row is not None
            db.expunge(row)
            return row
    finally:
        engine_.dispose()


def test_agent_invites_watches_live_and_acts(browser: Browser, mail_live: LiveServer, inbox: Inbox) -> None:
    server = mail_live
    add_staff(server, "lan@firm.test", "Lan Agent")
    add_staff(server, "minh@firm.test", "Minh Agent")

    agent_ctx = new_context(browser)
    agent = agent_ctx.new_page()
    log_in(agent, server, "lan@firm.test", shot="console-2fa-enrol-en")

    # Invite: the interview, the applicant's language, prefilled name, e-mail and amount.
    agent.get_by_role("link", name="Invite an applicant").click()
    axe_audit(agent, "invite")
    agent.locator("#interview").select_option("loan_application")
    agent.locator("#email").fill("not an address")
    agent.locator("form.card button[type=submit]").click()
    expect(agent.locator("#email-error")).to_contain_text("name@example.com")  # the error next to the field
    axe_audit(agent, "invite with an error")
    expect(agent.locator("#interview")).to_have_value("loan_application")  # nothing typed is lost
    agent.locator("#name").fill("Nguyễn Văn An")
    agent.locator("#email").fill(APPLICANT)
    agent.locator("#amount").fill("250000")
    sent_before = len(inbox.messages)
    agent.locator("form.card button[type=submit]").click()
    expect(agent.locator(".notice")).to_have_text("The invitation was sent.")
    sid = agent.url.split("/console/s/", 1)[1].split("?")[0]
    invitation = inbox.wait_for(sent_before + 1)
    assert APPLICANT in str(invitation["To"])
    found = LINK.search(invitation.get_content())
    assert found, invitation.get_content()
    assert session_row(server, sid).agent_id is not None

    # The agent's list, live: a marker in the page proves no reload happens from here on.
    agent.goto(f"{server.url}/console")
    expect(agent.locator("body")).to_have_attribute("data-live", "on")
    agent.evaluate("window.__sameDocument = 'yes'")
    row = agent.locator(f'tr[data-session="{sid}"]')
    expect(row).to_contain_text("Nguyễn Văn An")

    applicant_ctx = new_context(browser)
    applicant = applicant_ctx.new_page()
    applicant.goto(found.group(1))
    applicant.wait_for_url(f"**/s/{sid}")
    expect(applicant.locator('[name="applicant_name"], main h1').first).to_be_visible()

    rng = random.Random(7)
    seen = set()
    for _ in range(4):
        screen = current(server.data_dir, sid)
        assert not isinstance(screen, Done) and not screen.is_end
        before = row.locator("time").get_attribute("datetime")
        refreshed = int(agent.locator("#applicants").get_attribute("data-refreshed") or 0)
        answers, button = answers_for(screen, rng)
        if screen.block_id == "welcome":
            button = 0  # "Yes" to e-sign consent: the application goes on online
        fill(applicant, screen, answers)
        submit(applicant, button)
        # The step reaches the agent's page by itself: the list was re-read and swapped in place.
        expect(agent.locator("#applicants")).not_to_have_attribute("data-refreshed", str(refreshed))
        expect(row.locator("time")).not_to_have_attribute("datetime", before or "")
        stored = session_row(server, sid)
        if stored.current_block:  # kept by the step itself (manage's denormalised columns)
            expect(row.locator(".step")).to_contain_text(stored.current_block.replace("_", " "))
            expect(row.locator(".progress")).to_have_text(f"{stored.progress}%")
        seen.add(row.locator("time").get_attribute("datetime"))
    assert len(seen) == 4
    assert agent.evaluate("window.__sameDocument") == "yes"
    screenshot(agent, "console-list-live-en")
    axe_audit(agent, "list")

    # The detail page: the answer timeline and what staff did.
    row.get_by_role("link").first.click()
    agent.wait_for_url(f"**/console/s/{sid}")
    expect(agent.locator("ol.timeline > li")).to_have_count(len(seen))  # one entry per screen answered
    expect(agent.locator("ol.staff-actions")).to_contain_text("Invited")

    # Resend, remind: each a real e-mail and a record.
    count = len(inbox.messages)
    agent.get_by_role("button", name="Resend the link").click()
    expect(agent.locator(".notice")).to_have_text("The link was sent again.")
    assert LINK.search(inbox.wait_for(count + 1).get_content())
    agent.get_by_role("button", name="Remind now").click()
    expect(agent.locator(".notice")).to_have_text("A reminder was sent.")
    reminder = inbox.wait_for(count + 2)
    assert reminder["Subject"].startswith("Reminder") and APPLICANT in str(reminder["To"])
    expect(agent.locator("ol.staff-actions")).to_contain_text("Link sent again")
    expect(agent.locator("ol.staff-actions")).to_contain_text("Reminded")
    screenshot(agent, "console-detail-en")
    axe_audit(agent, "detail")

    # Reassign to a colleague: it leaves this agent's console (live, on the list) ...
    agent.locator("#agent").select_option(label="Minh Agent")
    agent.get_by_role("button", name="Reassign", exact=True).click()
    agent.wait_for_url(re.compile(r".*/console\?done=reassign$"))
    expect(agent.locator(".notice")).to_have_text("The applicant was reassigned.")
    expect(agent.locator(f'tr[data-session="{sid}"]')).to_have_count(0)

    # ... and appears in the colleague's, here in Vietnamese.
    colleague_ctx = new_context(browser, locale="vi-VN")
    colleague = colleague_ctx.new_page()
    log_in(colleague, server, "minh@firm.test", lang="vi")
    theirs = colleague.locator(f'tr[data-session="{sid}"]')
    expect(theirs).to_contain_text("Nguyễn Văn An")
    expect(colleague.locator("h1")).to_have_text("Người nộp hồ sơ")
    screenshot(colleague, "console-list-vi")
    theirs.get_by_role("link").first.click()
    expect(colleague.locator("ol.staff-actions")).to_contain_text("Chuyển giao")
    screenshot(colleague, "console-detail-vi")
    colleague.get_by_role("link", name="Báo cáo").click()
    expect(colleague.locator(".charts figure svg")).to_have_count(5)
    screenshot(colleague, "console-reports-vi")
    axe_audit(colleague, "reports (vi)")

    for ctx in (agent_ctx, applicant_ctx, colleague_ctx):
        ctx.close()

    engine_ = make_engine(server.database_url)
    try:
        with DB(engine_) as db:
            done = db.exec(select(ConsoleAction.action).where(ConsoleAction.session_id == sid)
                           .order_by(col(ConsoleAction.id))).all()
    finally:
        engine_.dispose()
    assert list(done) == ["invited", "link_resent", "reminded", "reassigned"]
    assert PASSWORD not in server.log.read_text(errors="replace")
