"""The seed's Salesforce case, end to end, with no manual step after the agent's start link:
a real Salesforce-style CRM on loopback (OAuth2 + sObject REST, its own storage), a real
`accord serve` (its in-process worker, its PKI, e-mail through a real SMTP server), Chromium.

The agent starts a session from CRM record 42 (`accord prefill-link`, the console's function on
the command line); the interview opens prefilled; the customer finishes it; the envelope is sent
automatically (`auto_send`); the customer identifies by e-mail code, is told the PO number is
missing, types it, and signs; the envelope completes and is sealed; the worker then writes the PO
number, the seats and the agreement's id back to record 42 and provisions the account.

Under `make test-postgres` the server's worker is the procrastinate backend (`ACCORD_QUEUE=
procrastinate`): the same `on completion` actions and `auto_send` run as procrastinate jobs; on
SQLite it is the embedded table worker."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from browsing import new_context, screenshot
from crm_service import CRM
from playwright.sync_api import Browser, expect
from server import ROOT, LiveServer
from smtp_inbox import Inbox
from sqlmodel import Session as DB
from sqlmodel import select

from store.database import make_engine
from store.models import Delivery, Envelope
from store.testdb import ON_POSTGRES, scratch_database

PO = "PO-2026-117"


def integrations_yaml(crm: CRM) -> str:
    return f"""firms:
  demo:
    connectors:
      crm:
        type: salesforce
        base_url: {crm.url}
        api_version: "59.0"
        object: Opportunity
        allow_private: true            # the test CRM is on loopback
        auth:
          oauth2:
            client_id_env: ACCORD_TEST_CRM_CLIENT_ID
            client_secret_env: ACCORD_TEST_CRM_CLIENT_SECRET
        actions:
          create_account: {{method: POST, path: /services/apexrest/provision}}
    hooks:
      provision: {{connector: crm, action: create_account}}
    auto_send: [po_order]
"""


def eventually(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_crm_record_to_signed_agreement_and_back(browser: Browser, tmp_path: Path) -> None:
    crm = CRM(tmp_path, "accord-client", "s3cret-from-env").start()
    crm.put("Opportunity", "42", {"Name": "Nguyễn Văn An", "Email": "an@example.com", "Company__c": "Acme Foods",
                                  "StageName": "Negotiation"})
    interviews = tmp_path / "interviews"
    shutil.copytree(ROOT / "interviews" / "templates", interviews / "templates")
    shutil.copy(Path(__file__).parent / "po_order" / "po_order.yml", interviews / "po_order.yml")
    (tmp_path / "integrations.yml").write_text(integrations_yaml(crm), encoding="utf-8")
    data = tmp_path / "data"
    with Inbox() as inbox, scratch_database(tmp_path) as url:
        server = LiveServer(data, database_url=url, env={
            "ACCORD_SMTP_HOST": "127.0.0.1", "ACCORD_SMTP_PORT": str(inbox.port), "ACCORD_MAIL_FROM": "a@test.invalid",
            "ACCORD_INTERVIEWS_DIR": str(interviews), "ACCORD_INTEGRATIONS_FILE": str(tmp_path / "integrations.yml"),
            "ACCORD_TEST_CRM_CLIENT_ID": "accord-client", "ACCORD_TEST_CRM_CLIENT_SECRET": "s3cret-from-env",
            "ACCORD_QUEUE": "procrastinate" if ON_POSTGRES else "table"})
        server.env["ACCORD_PUBLIC_URL"] = server.url
        with server:
            # The agent: a signed start link for record 42 (the console will call the same function).
            out = subprocess.run([sys.executable, "-m", "accord", "prefill-link", "--interview", "po_order",
                                  "--record", "42"], cwd=ROOT, env=server.env, capture_output=True, text=True,
                                 check=True)
            start = out.stdout.strip()
            assert start.startswith(f"{server.url}/start/")
            assert "s3cret" not in (tmp_path / "integrations.yml").read_text()  # secrets only in the environment

            # The customer's interview, prefilled from the record.
            context = new_context(browser)
            page = context.new_page()
            page.goto(start)
            sid = page.url.split("/s/", 1)[1].split("?")[0]
            expect(page.get_by_label("Full name")).to_have_value("Nguyễn Văn An")
            expect(page.get_by_label("Email")).to_have_value("an@example.com")
            expect(page.get_by_label("Company")).to_have_value("Acme Foods")
            assert ("GET", "/services/data/v59.0/sobjects/Opportunity/42") in crm.calls
            screenshot(page, "prefill-from-crm")
            page.get_by_label("Your job title").fill("Purchasing manager")
            page.get_by_role("button", name="Continue", exact=True).click()
            page.get_by_label("Seats").fill("5")
            page.get_by_role("button", name="Continue", exact=True).click()
            expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
            # A tampered start link opens nothing.
            bad = page.request.get(start[:-3] + "xyz", max_redirects=0)
            assert bad.status == 404
            context.close()

            # The envelope goes out by itself when the interview ends (auto_send, through the worker).
            inbox.wait_for(1, timeout=60)
            invite = inbox.to("an@example.com")[-1]
            link = re.search(r"(http://127\.0\.0\.1:\d+/sign/\S+)", invite.get_content())
            assert link is not None
            context = new_context(browser)
            page = context.new_page()
            page.goto(link.group(1))
            before = len(inbox.messages)
            page.get_by_role("button", name="Send me a code").click()
            inbox.wait_for(before + 1, timeout=30)
            code = re.search(r"^\s+(\d{6})\s*$", inbox.to("an@example.com")[-1].get_content(), re.M)
            assert code is not None
            page.locator("#code").fill(code.group(1))
            page.get_by_role("button", name="Confirm", exact=True).click()
            page.locator("#agree").check()
            page.locator("#consent button[type=submit]").click()
            # Signing without the PO number: the message is next to the field, nothing is signed.
            page.locator(".sign-form button[type=submit]").click()
            field = page.locator(".signer-field")
            expect(field.locator(".error")).to_have_text("Enter your purchase order number.")
            expect(field.locator("input")).to_have_attribute("aria-invalid", "true")
            screenshot(page, "signer-field-error")
            field.locator("input").fill(PO)
            page.locator(".sign-form button[type=submit]").click()
            expect(page.locator("li.me .status")).to_have_class(re.compile("status-acted"))
            context.close()

            # The write-back and the provisioning call, made by the worker after completion.
            eventually(lambda: crm.record("Opportunity", "42").get("PO_Number__c") == PO, "the PO number in the CRM")
            record = crm.record("Opportunity", "42")
            assert record["Agreement_Id__c"] == sid and record["Seats__c"] == 5
            assert record["StageName"] == "Closed Won" and record["Name"] == "Nguyễn Văn An"
            eventually(lambda: len(crm.accounts()) == 1, "the provisioning call")
            account = crm.accounts()[0]["request"]
            assert account["record"] == "42" and account["agreement_id"] == sid
            assert account["fields"]["po_number"] == PO
            assert ("PATCH", "/services/data/v59.0/sobjects/Opportunity/42") in crm.calls
            engine_ = make_engine(server.database_url)
            try:
                with DB(engine_) as db:
                    envelope = db.exec(select(Envelope).where(Envelope.session_id == sid)).one()
                    assert (envelope.status, envelope.seal_status) == ("completed", "sealed")
                    actions = db.exec(select(Delivery).where(Delivery.kind == "action")).all()
                    assert sorted((d.action_index, d.status) for d in actions) == [(0, "delivered"),
                                                                                  (1, "delivered")]
            finally:
                engine_.dispose()
    crm.stop()
