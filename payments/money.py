"""Amounts in a currency's minor unit, the way Stripe (and every card network) counts them.

Stripe takes integers in the smallest unit: cents for USD, but whole đồng for VND, which has no
minor unit in practice (a "zero-decimal" currency: 500 000 VND is sent as 500000, not 50000000).
Getting this wrong charges a hundred times the amount, so the conversion lives in one place.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Stripe's zero-decimal currencies (its documentation's list).
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                          "VUV", "XAF", "XOF", "XPF"})
# Three-decimal currencies: Stripe wants the last digit 0 (amounts in multiples of ten).
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


class AmountError(ValueError):
    """The amount cannot be charged (not a number, zero or negative)."""


def exponent(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_minor(amount: object, currency: str) -> int:
    """`amount` in major units (what an interview computes: 500000 VND, 12.5 USD) as an integer
    in the minor unit, rounded half up."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise AmountError(f"the amount {amount!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise AmountError("the amount must be more than zero")
    places = exponent(currency)
    # Three-decimal currencies are rounded once, to tens of the minor unit (never twice).
    step = 10 if places == 3 else 1
    minor = int((value * (Decimal(10) ** places) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step
    if minor <= 0:
        raise AmountError("the amount rounds to zero in this currency")
    return minor


def to_major(minor: int, currency: str) -> Decimal:
    """The inverse of `to_minor`, exact (for display with Babel and for the certificate)."""
    return Decimal(minor).scaleb(-exponent(currency))


def plain(minor: int, currency: str) -> str:
    """Locale-free text for the audit trail and the certificate: `500000 VND`, `12.50 USD`."""
    places = exponent(currency)
    return f"{to_major(minor, currency):.{places}f} {currency.upper()}"
