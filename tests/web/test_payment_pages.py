"""The payer's step on the signer's page and the provider's webhook, over HTTP: the amount and its
purpose per locale, "waiting for payment", "payment is not configured", and the webhook's rules:
a forged signature is refused with 400 and changes nothing, a verified event is applied once (a
redelivery is a no-op), an event Accord does not use is ignored with 200."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select
from starlette.testclient import TestClient

from payments.stripe_checkout import StripeCheckout
from signing import audit, envelopes
from signing.envelopes import PartySpec, PaymentTerms
from signing.links import make_token
from store.blobs import BlobStore
from store.models import Payment, PaymentEvent
from store.sessions import ensure_firm
from web.app import create_app

SECRET = "whsec_web_test"
PARTIES = [PartySpec("applicant", "sign", 1, "Nguyễn Văn An", "an@example.com", identity=("email_code",)),
           PartySpec("lender", "sign", 2, "Acme", "lender@example.com", identity=("email_code",))]
App = Callable[..., tuple[TestClient, str, str]]


def signed(event: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}


@pytest.fixture
def app(db: Engine, tmp_path: Path) -> Iterator[App]:
    clients: list[TestClient] = []

    def make(language: str = "en", configured: bool = True) -> tuple[TestClient, str, str]:
        provider = StripeCheckout("sk_test_web", SECRET, api_base="http://127.0.0.1:9") if configured else None
        application = create_app(db, "test-secret", blob_dir=tmp_path / "blobs", payments=provider)
        pdf_sha = BlobStore(tmp_path / "blobs").put(b"%PDF-1.7\n% agreement\n%%EOF\n")
        with DB(db) as s:
            firm = ensure_firm(s, "acme", "Acme")
            assert firm.id is not None
            envelope = envelopes.create(s, firm.id, title="Loan agreement", language=language, pdf_sha256=pdf_sha,
                                        parties=PARTIES, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7),
                                        payment=PaymentTerms(500_000, "VND", "Loan application fee", "applicant",
                                                             "before signing"))
            envelopes.send(s, envelope.id)
            applicant = next(p for p in envelopes.load(s, envelope.id)[1] if p.role == "applicant")
            envelopes.opened(s, applicant.id)
            envelopes.identified(s, applicant.id, "email_code", {"result": "verified"})
            envelopes.consented(s, applicant.id, "esign-v1")
            envelope_id, pid = envelope.id, applicant.id
        client = TestClient(application).__enter__()
        clients.append(client)
        return client, envelope_id, f"/sign/{make_token('test-secret', pid)}"

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def completed_event(db: Engine, envelope_id: str, event_id: str, amount: int = 500_000) -> dict[str, Any]:
    with DB(db) as s:
        row = s.exec(select(Payment).where(Payment.envelope_id == envelope_id)).one()
        pid = row.id
    return {"id": event_id, "object": "event", "type": "checkout.session.completed", "created": int(time.time()),
            "data": {"object": {"id": "cs_test_1", "object": "checkout.session", "payment_status": "paid",
                                "status": "complete", "amount_total": amount, "currency": "vnd",
                                "payment_intent": "pi_test_1", "client_reference_id": pid,
                                "metadata": {"accord_payment": pid, "accord_envelope": envelope_id}}}}


def state(db: Engine, envelope_id: str) -> tuple[str, int, list[str]]:
    with DB(db) as s:
        row = s.exec(select(Payment).where(Payment.envelope_id == envelope_id)).one()
        events = len(s.exec(select(PaymentEvent)).all())
        return row.status, events, [e.action for e in audit.events(s, envelope_id)]


def test_the_pay_step_shows_amount_and_purpose_per_locale(app: App) -> None:
    client, _eid, link = app("en")
    page = client.get(link).text
    assert "waiting for payment" in page and "Loan application fee" in page
    assert re.search(r'class="pay-amount">₫500,000<', page), page  # zero-decimal: no ".00"
    assert 'action="/sign/' in page and "/pay" in page and "Send me a code" not in page
    client_vi, _eid, link_vi = app("vi")
    page_vi = client_vi.get(link_vi).text
    assert re.search(r'class="pay-amount">500\.000\xa0₫<', page_vi) and "đang chờ thanh toán" in page_vi
    assert "Thanh toán" in page_vi


def test_without_a_provider_the_page_says_payment_is_not_configured(app: App, db: Engine) -> None:
    client, eid, link = app(configured=False)
    page = client.get(link).text
    assert "Payment is not configured on this server" in page and '/pay"' not in page
    token = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert token
    refused = client.post(link + "/pay", data={"_csrf": token.group(1)}, follow_redirects=False)
    assert refused.status_code == 503 and "not configured" in refused.text
    body, headers = signed(completed_event(db, eid, "evt_unconfigured"))
    assert client.post("/payments/stripe/webhook", content=body, headers=headers).status_code == 503
    assert state(db, eid)[0] == "due"


def test_pay_needs_the_csrf_token(app: App, db: Engine) -> None:
    client, eid, link = app()
    assert client.post(link + "/pay", data={"_csrf": "forged"}, follow_redirects=False).status_code == 403
    assert state(db, eid)[2].count("payment_started") == 0


def test_webhook_signature_idempotency_and_unknown_events(app: App, db: Engine,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    client, eid, link = app()
    before = state(db, eid)
    body, headers = signed(completed_event(db, eid, "evt_forged"), secret="whsec_someone_else")
    forged = client.post("/payments/stripe/webhook", content=body, headers=headers)
    assert forged.status_code == 400 and state(db, eid) == before  # nothing changed, not even the event log
    good_body, good_headers = signed(completed_event(db, eid, "evt_1"))
    tampered = good_body.replace(b"500000", b"5000")
    assert client.post("/payments/stripe/webhook", content=tampered, headers=good_headers).status_code == 400
    assert client.post("/payments/stripe/webhook", content=good_body).status_code == 400  # no signature at all
    assert state(db, eid) == before

    first = client.post("/payments/stripe/webhook", content=good_body, headers=good_headers)
    assert first.status_code == 200 and first.json()["outcome"] == "paid"
    again = client.post("/payments/stripe/webhook", content=good_body, headers=good_headers)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    body2, headers2 = signed({"id": "evt_2", "object": "event", "type": "invoice.created", "created": 1,
                              "data": {"object": {"id": "in_1", "object": "invoice", "customer_email": "x@y.z"}}})
    unknown = client.post("/payments/stripe/webhook", content=body2, headers=headers2)
    assert unknown.status_code == 200 and unknown.json()["outcome"] == "ignored"
    assert "payment event ignored: invoice.created" in caplog.text
    assert "x@y.z" not in caplog.text and "an@example.com" not in caplog.text and eid not in caplog.text
    status, events, actions = state(db, eid)
    assert (status, events, actions.count("paid")) == ("paid", 2, 1)
    page = client.get(link).text
    assert "waiting for payment" not in page and "Sign the agreement" in page  # the ceremony goes on


def test_the_provider_comes_from_the_environment(caplog: pytest.LogCaptureFixture) -> None:
    from accord.serve import payment_provider
    from accord.settings import Settings

    assert payment_provider(Settings.from_env({})) is None
    assert "payment is not configured" in caplog.text
    provider = payment_provider(Settings.from_env({"ACCORD_STRIPE_SECRET_KEY": "sk_test_x",
                                                   "ACCORD_STRIPE_WEBHOOK_SECRET": "whsec_x"}))
    assert isinstance(provider, StripeCheckout) and provider.test_mode
    live = payment_provider(Settings.from_env({"ACCORD_STRIPE_SECRET_KEY": "sk_live_x",
                                               "ACCORD_STRIPE_WEBHOOK_SECRET": "whsec_x"}))
    assert isinstance(live, StripeCheckout) and not live.test_mode
    caplog.clear()
    assert payment_provider(Settings.from_env({"ACCORD_STRIPE_SECRET_KEY": "pk_test_publishable",
                                               "ACCORD_STRIPE_WEBHOOK_SECRET": "whsec_x"})) is None
    assert payment_provider(Settings.from_env({"ACCORD_STRIPE_SECRET_KEY": "sk_test_x"})) is None
    assert "sk_test_x" not in caplog.text and "payment is not configured" in caplog.text
