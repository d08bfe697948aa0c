"""A party's `fields:` are asked on the signer's page, validated like interview fields (same
datatypes, limits and messages), never by the planner."""

from __future__ import annotations

from pathlib import Path

import engine

PO = Path(__file__).resolve().parents[1] / "integrations" / "po_order" / "po_order.yml"
LOAN = Path(__file__).resolve().parents[2] / "interviews" / "loan_application.yml"


def test_signer_screen_validates_like_a_question() -> None:
    iv = engine.load(PO)
    state = iv.start(lang="en")
    state.namespace.update(customer_name="An", customer_email="an@example.com", company="Acme", job_title="x",
                           seats=2)
    screen = engine.signer_screen(iv, state, "customer")
    assert screen is not None and [f.label for f in screen.fields] == ["PO number"]
    key = screen.fields[0].key
    errors = engine.apply(iv, state, screen, {key: ""})
    assert isinstance(errors, engine.ValidationErrors)
    assert errors.errors[0].message == "Enter your purchase order number."
    short = engine.apply(iv, state, screen, {key: "P1"})
    assert isinstance(short, engine.ValidationErrors)
    assert short.errors[0].message == "A PO number has at least 3 characters."
    ok = engine.apply(iv, state, screen, {key: "PO-1"})
    assert isinstance(ok, engine.State) and ok.namespace["po_number"] == "PO-1"
    assert engine.signer_screen(iv, state, "nobody") is None


def test_lender_fields_are_numbers_with_limits_in_both_languages() -> None:
    iv = engine.load(LOAN)
    messages: dict[str, set[str]] = {}
    for lang in ("en", "vi"):
        state = iv.start(lang=lang)
        screen = engine.signer_screen(iv, state, "lender")
        assert screen is not None
        amount, apr = screen.fields
        assert (amount.datatype, apr.datatype) == ("currency", "number")
        result = engine.apply(iv, state, screen, {amount.key: "-5", apr.key: "150"})
        assert isinstance(result, engine.ValidationErrors)
        assert {e.key for e in result.errors} == {amount.key, apr.key}
        messages[lang] = {e.message for e in result.errors}
        good = engine.apply(iv, state, screen, {amount.key: "1000000", apr.key: "12.5"})
        assert isinstance(good, engine.State)
    assert messages["en"] and messages["vi"] and messages["en"] != messages["vi"]  # each in its language


def test_the_planner_never_asks_signing_fields() -> None:
    iv = engine.load(PO)
    assert "po_number" not in iv.providers
    assert iv.by_id["signing fields: customer"].fields[0].var == "po_number"
