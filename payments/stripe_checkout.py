"""`PaymentProvider` over Stripe Checkout with the official `stripe` SDK.

The payer is sent to Stripe's hosted page (no Stripe.js on Accord's pages: the smallest PCI scope),
and the payment counts only when Stripe's signed webhook says so. Calls run the SDK's synchronous
methods in a worker thread (its async transport would need httpx at run time); retries on network
errors are the SDK's own and safe because every create carries an idempotency key.

`api_base` exists for the tests, which point the unmodified SDK at a Stripe-protocol peer on
127.0.0.1; in production it is left empty (Stripe's own address, built into the SDK).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import stripe

from payments.provider import Checkout, CheckoutRequest, PaymentError, ProviderEvent, Refund, SignatureError

# Checkout's own page languages; anything else lets Stripe pick from the browser.
CHECKOUT_LOCALES = frozenset({"en", "vi"})


class StripeCheckout:
    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str, *, api_base: str = "",
                 max_network_retries: int = 2) -> None:
        if not secret_key.startswith(("sk_", "rk_")):
            raise ValueError("the Stripe secret key must start with sk_ (or rk_ for a restricted key)")
        if not webhook_secret:
            raise ValueError("the Stripe webhook signing secret (whsec_...) is needed to accept payments")
        self.webhook_secret = webhook_secret
        self.test_mode = secret_key.startswith(("sk_test_", "rk_test_"))
        kwargs: dict[str, Any] = {"max_network_retries": max_network_retries}
        if api_base:
            kwargs["base_addresses"] = {"api": api_base.rstrip("/")}
        self.client = stripe.StripeClient(secret_key, **kwargs)

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": request.reference,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": request.currency.lower(), "unit_amount": request.amount_minor,
                "product_data": {"name": request.description[:250] or "Payment"}}}],
            "metadata": request.metadata,
            "payment_intent_data": {"metadata": request.metadata, "description": request.description[:1000]},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        if request.locale in CHECKOUT_LOCALES:
            params["locale"] = request.locale
        session = await self._call(self.client.v1.checkout.sessions.create, params,
                                   {"idempotency_key": request.idempotency_key})
        return _checkout(session)

    async def retrieve_checkout(self, checkout_id: str) -> Checkout:
        return _checkout(await self._call(self.client.v1.checkout.sessions.retrieve, checkout_id))

    def verify_event(self, payload: bytes, signature: str) -> ProviderEvent:
        """`stripe.Webhook.construct_event`: the HMAC over the timestamp and the exact bytes, with
        Stripe's five-minute tolerance against replays of old deliveries."""
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except stripe.SignatureVerificationError:
            raise SignatureError("the webhook signature does not verify") from None
        except ValueError:
            raise SignatureError("the webhook body is not JSON") from None
        raw = json.loads(payload)
        obj = raw.get("data", {}).get("object")
        if not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str) or not isinstance(obj, dict):
            raise SignatureError("the webhook body is not a Stripe event")
        return ProviderEvent(id=event.id, type=event.type, created=int(raw.get("created") or 0), object=obj)

    async def refund(self, payment_intent: str, amount_minor: int, *, reason: str,
                     idempotency_key: str) -> Refund:
        params: dict[str, Any] = {"payment_intent": payment_intent, "amount": amount_minor,
                                  "metadata": {"accord_reason": reason[:500]}}
        refund = await self._call(self.client.v1.refunds.create, params, {"idempotency_key": idempotency_key})
        return Refund(id=refund.id, amount_minor=int(refund.amount), currency=str(refund.currency).upper(),
                      status=str(refund.status))

    @staticmethod
    async def _call(method: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(method, *args)
        except stripe.StripeError as exc:
            # The SDK's message can quote the request; keep the code and the type only.
            code = getattr(exc, "code", None) or type(exc).__name__
            raise PaymentError(f"Stripe refused the request ({code})") from None


def _checkout(resource: Any) -> Checkout:
    session: dict[str, Any] = resource.to_dict()
    pi = session.get("payment_intent")
    if isinstance(pi, dict):
        pi = pi.get("id")
    return Checkout(id=session["id"], url=session.get("url"), status=str(session.get("status") or "open"),
                    payment_status=str(session.get("payment_status") or "unpaid"), payment_intent=pi,
                    amount_minor=session.get("amount_total"), currency=(session.get("currency") or "").upper() or None,
                    metadata=dict(session.get("metadata") or {}))
