"""`terms` and `auto terms`, interview-wide and per question, reach the Screen rendered."""

from __future__ import annotations

import engine

SOURCE = """
terms:
  APR: Annual percentage rate.
---
auto terms:
  collateral: What the lender may keep, ${ "if unpaid" }.
---
mandatory: True
question: Hello
subquestion: About the {APR} and the collateral.
terms:
  fee: A one-off charge.
auto terms:
  guarantor: Someone who pays if you do not.
fields:
  - Name: name
"""


def test_terms_and_auto_terms_on_the_screen() -> None:
    interview = engine.load_string(SOURCE)
    screen = engine.plan(interview, interview.start())
    assert isinstance(screen, engine.Screen)
    assert screen.terms == {"APR": "Annual percentage rate.", "fee": "A one-off charge."}
    assert screen.auto_terms == {"collateral": "What the lender may keep, if unpaid.",
                                 "guarantor": "Someone who pays if you do not."}
