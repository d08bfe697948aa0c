"""The seam between the signing ceremony and whoever takes the money.

The ceremony (`signing.payment`) needs four things of a payment service: open a hosted checkout
page for an amount, read a checkout's state, turn a webhook delivery into a verified event (or
refuse it), and refund. `PaymentProvider` is exactly that; `payments.stripe_checkout` implements
it with Stripe Checkout, and the tests run the same implementation against a Stripe-protocol peer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class PaymentError(Exception):
    """The provider refused or could not be reached (the message has no personal data)."""


class SignatureError(PaymentError):
    """A webhook delivery whose signature does not verify: it must change nothing."""


@dataclass(frozen=True)
class CheckoutRequest:
    amount_minor: int  # in the currency's minor unit (`payments.money.to_minor`)
    currency: str  # ISO 4217, any case
    description: str
    reference: str  # Accord's payment id (client_reference_id)
    success_url: str
    cancel_url: str
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)
    customer_email: str | None = None
    locale: str = "auto"


@dataclass(frozen=True)
class Checkout:
    id: str
    url: str | None
    status: str  # open, complete, expired
    payment_status: str  # paid, unpaid, no_payment_required
    payment_intent: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook event: its id (processed once), type and the object it carries."""

    id: str
    type: str
    created: int
    object: dict[str, Any]


@dataclass(frozen=True)
class Refund:
    id: str
    amount_minor: int
    currency: str
    status: str


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(self, request: CheckoutRequest) -> Checkout: ...

    async def retrieve_checkout(self, checkout_id: str) -> Checkout: ...

    def verify_event(self, payload: bytes, signature: str) -> ProviderEvent: ...

    async def refund(self, payment_intent: str, amount_minor: int, *, reason: str,
                     idempotency_key: str) -> Refund: ...
