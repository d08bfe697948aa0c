"""Payment providers: the `PaymentProvider` protocol the signing ceremony calls, amounts in minor
units, and the Stripe Checkout implementation (`payments.stripe_checkout`)."""

from payments.money import AmountError, plain, to_major, to_minor
from payments.provider import (
    Checkout,
    CheckoutRequest,
    PaymentError,
    PaymentProvider,
    ProviderEvent,
    Refund,
    SignatureError,
)

__all__ = ["AmountError", "Checkout", "CheckoutRequest", "PaymentError", "PaymentProvider", "ProviderEvent",
           "Refund", "SignatureError", "plain", "to_major", "to_minor"]
