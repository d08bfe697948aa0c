"""The wizard's WTForms layer (`web/forms.py`): a form class per screen shape that coerces and
checks each field with the engine's parsers and gives the engine's own message, in English and
Vietnamese. Every input below goes through both the form and `engine.apply`: the form refuses
exactly what the engine refuses, with the same words, and accepts what it accepts."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.datastructures import FormData

import engine
from web import forms

INTERVIEW = """
metadata:
  title: Form checks
---
mandatory: True
question: Everything at once
fields:
  - Name: name
    minlength: 2
    maxlength: 10
  - Nickname: nickname
    required: False
  - E-mail: email
    datatype: email
  - Age: age
    datatype: integer
    min: 18
    max: 99
  - Amount: amount
    datatype: currency
    min: 1000
  - Born: born
    datatype: date
    min: 1900-01-01
    max: 2010-12-31
  - Colour: colour
    datatype: radio
    choices:
      - Red: red
      - Blue: blue
  - Fruits: fruits
    datatype: checkboxes
    choices:
      - Apple: apple
      - Pear: pear
  - Smoker: smoker
    datatype: yesnoradio
  - Agree: agree
    datatype: yesno
  - Note: note
    datatype: area
    required: False
    maxlength: 5
  - Pet's name: pet
    show if: agree
---
mandatory: True
question: Done ${ name }
"""

GOOD = {"name": "Lan", "email": "lan@example.com", "age": "30", "amount": "25.000.000 đ", "born": "15/03/1990",
        "colour": "blue", "fruits": ["apple"], "smoker": "False", "agree": "True", "nickname": "", "note": "",
        "pet": "Rex"}
BAD: list[dict[str, Any]] = [
    {"name": ""}, {"name": "L"}, {"name": "Nguyen Van Lan"}, {"email": "not-an-address"}, {"age": "abc"},
    {"age": "17"}, {"age": "100"}, {"age": "30.5"}, {"amount": "lots"}, {"amount": "999"}, {"born": "someday"},
    {"born": "1850-01-01"}, {"born": "2020-01-01"}, {"colour": "green"}, {"colour": ""}, {"smoker": ""},
    {"smoker": "perhaps"}, {"note": "too long"},
]


def _screen(lang: str) -> tuple[engine.Interview, engine.State, engine.Screen]:
    iv = engine.load_string(INTERVIEW)
    state = iv.start(lang=lang)
    screen = engine.plan(iv, state)
    assert isinstance(screen, engine.Screen)
    return iv, state, screen


def _form(answers: dict[str, Any]) -> FormData:
    pairs: list[tuple[str, str]] = []
    for key, value in answers.items():
        if key == "agree" and value != "True":
            continue  # an unticked box is not posted
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, v))
    return FormData(pairs)


def _engine_errors(lang: str, answers: dict[str, Any]) -> dict[str, list[str]]:
    iv, state, screen = _screen(lang)
    posted = {k: v for k, v in answers.items() if not (k == "agree" and v != "True")}
    result = engine.apply(iv, state, screen, posted)
    out: dict[str, list[str]] = {}
    for e in result.errors if isinstance(result, engine.ValidationErrors) else ():
        out.setdefault(e.key, []).append(e.message)
    return out


def _form_errors(lang: str, answers: dict[str, Any]) -> dict[str, list[str]]:
    _iv, _state, screen = _screen(lang)
    _data, errors = forms.validate(screen, _form(answers), lambda f: False)
    return errors


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_good_answers_pass_both_and_are_coerced(lang: str) -> None:
    assert _engine_errors(lang, GOOD) == {}
    _iv, _state, screen = _screen(lang)
    data, errors = forms.validate(screen, _form(GOOD), lambda f: False)
    assert errors == {}
    assert data["age"] == 30 and str(data["amount"]) == "25000000" and data["fruits"] == ["apple"]
    assert data["born"].year == 1990 and data["born"].month == 3 and data["born"].day == 15
    assert "pet" not in data  # shown only if `agree`: the engine's to judge


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("change", BAD, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_bad_answers_get_the_engines_message_from_the_form(lang: str, change: dict[str, Any]) -> None:
    answers = {**GOOD, **change}
    from_engine = _engine_errors(lang, answers)
    from_form = _form_errors(lang, answers)
    assert from_engine, "the engine must refuse this input (else the case proves nothing)"
    assert from_form == from_engine


def test_messages_are_vietnamese_in_a_vietnamese_session() -> None:
    errors = _form_errors("vi", {**GOOD, "age": "abc", "email": "x"})
    assert errors == {"age": ["Bạn cần nhập một số nguyên."], "email": ["Bạn cần nhập một địa chỉ e-mail hợp lệ."]}


def test_screens_of_one_shape_share_a_form_class() -> None:
    _iv, _state, first = _screen("en")
    _iv, _state, again = _screen("en")
    _iv, _state, vi = _screen("vi")
    fields = forms.checked_fields(first, lambda f: False)
    assert forms.form_class(first, fields) is forms.form_class(again, forms.checked_fields(again, lambda f: False))
    assert forms.form_class(first, fields) is not forms.form_class(vi, forms.checked_fields(vi, lambda f: False))
