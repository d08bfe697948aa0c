"""`payments.stripe_checkout.StripeCheckout` and the unmodified `stripe` SDK against localstripe (a
Stripe API peer on 127.0.0.1) behind the fake Checkout front: amounts in minor units, idempotent
Checkout Sessions, payment with a test card, decline, partial and full refunds, webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal

import httpx
import pytest
import stripe
from stripe_peers import TEST_KEY, WEBHOOK_SECRET, StripePeers

from accord.aio import run_sync
from payments import AmountError, CheckoutRequest, PaymentError, SignatureError, plain, to_major, to_minor
from payments.stripe_checkout import StripeCheckout


def provider(peers: StripePeers) -> StripeCheckout:
    return StripeCheckout(TEST_KEY, WEBHOOK_SECRET, api_base=peers.api_base, max_network_retries=0)


def request(key: str, amount: int = 500_000, currency: str = "VND") -> CheckoutRequest:
    return CheckoutRequest(amount_minor=amount, currency=currency, description="Loan application fee",
                           reference="pay_1", success_url="http://127.0.0.1:9/ok?cs={CHECKOUT_SESSION_ID}",
                           cancel_url="http://127.0.0.1:9/back", idempotency_key=key,
                           metadata={"accord_payment": "pay_1", "accord_envelope": "env_1"})


def test_minor_units_per_currency() -> None:
    assert to_minor(500000, "VND") == 500000  # zero-decimal: whole đồng, not ×100
    assert to_minor("12.5", "usd") == 1250
    assert to_minor(0.105, "USD") == 11  # half up, from the decimal text
    assert to_minor(1.2345, "KWD") == 1230  # three decimals, last digit 0
    assert to_major(500000, "VND") == Decimal(500000) and to_major(1250, "USD") == Decimal("12.50")
    assert plain(500000, "VND") == "500000 VND" and plain(1250, "USD") == "12.50 USD"
    for bad in (0, -5, "abc", "NaN"):
        with pytest.raises(AmountError):
            to_minor(bad, "USD")
    with pytest.raises(AmountError):
        to_minor("0.4", "VND")  # rounds to nothing


def test_checkout_is_created_once_per_idempotency_key_and_paid_with_a_card(peers: StripePeers) -> None:
    pay = provider(peers)
    first = run_sync(pay.create_checkout(request("pay_1:1")))
    again = run_sync(pay.create_checkout(request("pay_1:1")))
    other = run_sync(pay.create_checkout(request("pay_1:2")))
    assert first.id == again.id != other.id
    assert (first.status, first.payment_status, first.amount_minor, first.currency) == ("open", "unpaid", 500000,
                                                                                        "VND")
    assert first.url and first.metadata["accord_envelope"] == "env_1"
    declined = httpx.post(first.url, data={"card": "4000000000000341"})
    assert declined.status_code == 402 and "declined" in declined.text
    assert run_sync(pay.retrieve_checkout(first.id)).status == "open"  # a decline leaves it open for a retry
    paid = httpx.post(first.url, data={"card": "4242 4242 4242 4242"})
    assert paid.status_code == 303 and paid.headers["location"].endswith(f"cs={first.id}")
    done = run_sync(pay.retrieve_checkout(first.id))
    assert (done.status, done.payment_status) == ("complete", "paid") and done.payment_intent

    sdk = stripe.StripeClient(TEST_KEY, base_addresses={"api": peers.api_base}, max_network_retries=0)
    intent = sdk.v1.payment_intents.retrieve(done.payment_intent)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 500000, "vnd")
    assert intent.metadata["accord_payment"] == "pay_1" and intent.metadata["checkout_session"] == first.id

    part = run_sync(pay.refund(done.payment_intent, 200_000, reason="goodwill", idempotency_key="r1"))
    assert (part.amount_minor, part.currency, part.status) == (200_000, "VND", "succeeded")
    # (localstripe ignores Idempotency-Key on refunds; Accord never sends a refund twice: see signing.payment)
    rest = run_sync(pay.refund(done.payment_intent, 300_000, reason="cancelled", idempotency_key="r2"))
    assert rest.amount_minor == 300_000
    with pytest.raises(PaymentError):  # the peer refuses what Stripe refuses: no such PaymentIntent
        run_sync(pay.refund("pi_does_not_exist", 1, reason="again", idempotency_key="r3"))


def test_the_sdk_drives_localstripe_directly(peers: StripePeers) -> None:
    """Customer, PaymentIntent with a test card, decline: the peer behaves as Stripe's test mode."""
    sdk = stripe.StripeClient(TEST_KEY, base_addresses={"api": peers.localstripe}, max_network_retries=0)
    customer = sdk.v1.customers.create({"email": "an@example.com"})
    card = sdk.v1.payment_methods.create({"type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                                                   "exp_year": 2034, "cvc": "123"}})
    sdk.v1.payment_methods.attach(card.id, {"customer": customer.id})
    intent = sdk.v1.payment_intents.create({"amount": 1250, "currency": "usd", "customer": customer.id,
                                            "payment_method": card.id, "confirm": True})
    assert intent.status == "succeeded"
    bad = sdk.v1.payment_methods.create({"type": "card", "card": {"number": "4000000000000341", "exp_month": 12,
                                                                  "exp_year": 2034, "cvc": "123"}})
    with pytest.raises(stripe.CardError) as declined:
        sdk.v1.payment_intents.create({"amount": 1250, "currency": "usd", "payment_method": bad.id, "confirm": True})
    assert declined.value.code == "card_declined"


def _signed(body: bytes, secret: str, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    return f"t={t},v1=" + hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_webhook_signatures() -> None:
    pay = StripeCheckout(TEST_KEY, WEBHOOK_SECRET)
    body = json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed", "created": 1,
                       "data": {"object": {"id": "cs_1", "object": "checkout.session"}}}).encode()
    event = pay.verify_event(body, _signed(body, WEBHOOK_SECRET))
    assert (event.id, event.type, event.object["id"]) == ("evt_1", "checkout.session.completed", "cs_1")
    tampered = body.replace(b"cs_1", b"cs_2")
    for payload, header in ((body, _signed(body, "whsec_wrong")), (tampered, _signed(body, WEBHOOK_SECRET)),
                            (body, _signed(body, WEBHOOK_SECRET, int(time.time()) - 3600)),  # an old replay
                            (body, ""), (body, "t=1,v1=00")):
        with pytest.raises(SignatureError):
            pay.verify_event(payload, header)
    with pytest.raises(ValueError):
        StripeCheckout("pk_test_publishable", WEBHOOK_SECRET)
    with pytest.raises(ValueError):
        StripeCheckout(TEST_KEY, "")
