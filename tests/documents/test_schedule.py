"""documents.amortisation against an independent float computation of the annuity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from documents import amortisation, schedule_table


@pytest.mark.parametrize(("principal", "rate", "months", "decimals"),
                         [(50_000_000, 17.5, 24, 0), (16_130, 13.9, 60, 2), (1_000, 9.9, 1, 2),
                          (300_000_000, 19.9, 48, 0), (12_345.67, 11.5, 36, 2)])
def test_annuity(principal: float, rate: float, months: int, decimals: int) -> None:
    rows = amortisation(principal, rate, months, dt.date(2026, 1, 31), decimals=decimals)
    unit = 10 ** -decimals
    assert [r["no"] for r in rows] == list(range(1, months + 1))
    assert sum(r["principal"] for r in rows) == Decimal(str(principal)).quantize(Decimal(1).scaleb(-decimals))
    assert rows[-1]["balance"] == 0
    r = rate / 1200
    expected = principal * r / (1 - (1 + r) ** -months)
    for row in rows[:-1]:
        assert abs(float(row["payment"]) - expected) <= unit
    assert abs(float(rows[-1]["payment"]) - expected) <= months * unit  # the last absorbs the rounding
    for row in rows:
        assert row["payment"] == row["principal"] + row["interest"]
    balance = Decimal(str(principal))
    for row in rows:
        balance -= row["principal"]
        assert row["balance"] == balance.quantize(Decimal(1).scaleb(-decimals))
    if months > 1:
        assert rows[1]["date"] == dt.date(2026, 2, 28)  # month ends stay month ends, without overflow


def test_zero_rate_is_equal_principal() -> None:
    rows = amortisation(1000, 0, 3, dt.date(2026, 1, 1))
    assert [r["principal"] for r in rows] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert all(r["interest"] == 0 for r in rows) and rows[-1]["balance"] == 0


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        amortisation(1000, 5, 0, dt.date(2026, 1, 1))
    with pytest.raises(ValueError):
        amortisation(-1, 5, 12, dt.date(2026, 1, 1))


def test_table_formats_by_language() -> None:
    rows = amortisation(50_000_000, 17.5, 2, dt.date(2026, 9, 1), decimals=0)
    vi = schedule_table(rows, "vi", 0)
    en = schedule_table(rows, "en", 0)
    assert vi["totals"]["principal"] == "50.000.000" and en["totals"]["principal"] == "50,000,000"
    assert vi["rows"][0]["date"] == "01/09/2026" and en["rows"][0]["date"] == "1 Sep 2026"
