"""Repayment schedules: the standard annuity (equal instalments), in exact decimals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import format_decimal
from dateutil.relativedelta import relativedelta

from engine import AgreementSource


def amortisation(principal: float | int | str | Decimal, annual_rate_percent: float | int | str | Decimal,
                 months: int, first_due: dt.date, *, decimals: int = 2) -> list[dict[str, Any]]:
    """One row per instalment: no, date, principal, interest, payment, balance (Decimals rounded to
    `decimals` places; 0 for whole dong).

    Payment = P·r / (1 − (1 + r)^−n) with r the monthly rate, rounded; interest is charged on the
    outstanding balance each month; the last instalment repays whatever is left, so the balance ends
    at exactly 0 and the principals add up to the loan amount. A zero rate gives equal principal
    instalments (the last absorbing the rounding)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    unit = Decimal(1).scaleb(-decimals)
    p = Decimal(str(principal)).quantize(unit, ROUND_HALF_UP)
    rate = Decimal(str(annual_rate_percent)) / Decimal(1200)
    if p <= 0 or rate < 0:
        raise ValueError("principal must be positive and the rate not negative")
    if rate == 0:
        payment = (p / months).quantize(unit, ROUND_HALF_UP)
    else:
        payment = (p * rate / (1 - (1 + rate) ** -months)).quantize(unit, ROUND_HALF_UP)
    rows: list[dict[str, Any]] = []
    balance = p
    for n in range(1, months + 1):
        interest = (balance * rate).quantize(unit, ROUND_HALF_UP)
        if n == months:
            principal_part = balance
        else:
            principal_part = min(payment - interest, balance)
        balance -= principal_part
        rows.append({"no": n, "date": first_due + relativedelta(months=n - 1), "principal": principal_part,
                     "interest": interest, "payment": principal_part + interest, "balance": balance})
    return rows


_DATE = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}


def schedule_table(rows: list[dict[str, Any]], language: str, decimals: int = 2) -> dict[str, Any]:
    """The schedule as the templates show it (`extra.schedule`): every amount formatted for the
    language (1.234.567 in Vietnamese, 1,234,567.00 in English), plus the totals."""
    from babel.dates import format_date

    locale = "vi" if language.startswith("vi") else "en"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")

    def money(value: Decimal) -> str:
        return format_decimal(value, format=pattern, locale=locale)

    totals = {k: sum((r[k] for r in rows), Decimal(0)) for k in ("principal", "interest", "payment")}
    return {
        "rows": [{"no": r["no"], "date": format_date(r["date"], format=_DATE[locale], locale=locale),
                  **{k: money(r[k]) for k in ("principal", "interest", "payment", "balance")}} for r in rows],
        "totals": {k: money(v) for k, v in totals.items()},
    }


# Answers that give a loan's repayment schedule, in order of preference (the loan interview: the
# officer's approved APR when known, else the estimate; `term_months` is the computed whole term).
AMOUNT_NAMES = ("approved_amount", "loan_amount")
TERM_NAMES = ("term_months", "loan_term_months")
RATE_NAMES = ("approved_apr", "estimated_apr")


def schedule_extra(ns: Mapping[str, Any], source: AgreementSource) -> dict[str, Any]:
    """`extra` for the template: the amortisation schedule when the answers have amount, term and rate."""
    def first(names: tuple[str, ...]) -> Any:
        return next((ns[n] for n in names if ns.get(n) not in (None, "")), None)

    amount, term, rate = first(AMOUNT_NAMES), first(TERM_NAMES), first(RATE_NAMES)
    if amount is None or term is None or rate is None:
        return {}
    try:
        decimals = int(ns.get("currency_decimals", 2))
        rows = amortisation(amount, rate, int(term), source.date + relativedelta(months=1), decimals=decimals)
    except (TypeError, ValueError, ArithmeticError):
        return {}
    return {"schedule": schedule_table(rows, source.language, decimals)}
