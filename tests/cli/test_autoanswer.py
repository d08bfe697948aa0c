"""Generated answers must pass the engine's validation, or `--auto` walks stall.

These check the generator against the Field constraints directly, without an interview.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from accord.autoanswer import answers_for
from engine import Button, Choice, Field, Screen


def screen(*fields: Field, kind: str = "fields", buttons: tuple[Button, ...] = ()) -> Screen:
    return Screen(block_id="b", kind=kind, question="Q", fields=fields, buttons=buttons)


def one(f: Field, seed: int = 0) -> object:
    answers, _ = answers_for(screen(f), random.Random(seed))
    return answers.get(f.key)


def test_fixed_length_text_is_digits() -> None:
    for seed in range(20):
        value = one(Field(key="pin", var="pin", datatype="text", minlength=4, maxlength=4), seed)
        assert isinstance(value, str) and value.isdigit() and len(value) == 4


def test_plain_text_and_email() -> None:
    assert str(one(Field(key="n", var="n", datatype="text"))).strip()
    assert str(one(Field(key="e", var="e", datatype="email"))).endswith("@example.com")


@given(
    low=st.integers(-1000, 1000),
    span=st.integers(0, 1000),
    step=st.sampled_from([None, "1", "5", "0.5", "25"]),
    seed=st.integers(0, 2**16),
)
def test_number_within_bounds_and_step(low: int, span: int, step: str | None, seed: int) -> None:
    f = Field(key="x", var="x", datatype="number", min=low, max=low + span, step=step)
    value = Decimal(str(one(f, seed)))
    assert low <= value <= low + span
    if step is not None and low % Decimal(step) == 0:
        assert value % Decimal(step) == 0


def test_integer_is_int() -> None:
    value = one(Field(key="x", var="x", datatype="integer", min=3, max=5))
    assert isinstance(value, int) and 3 <= value <= 5


def test_date_within_string_or_date_bounds() -> None:
    for seed in range(20):
        f = Field(key="d", var="d", datatype="date", min="2008-01-01", max=dt.date(2008, 3, 1))
        value = dt.date.fromisoformat(str(one(f, seed)))
        assert dt.date(2008, 1, 1) <= value <= dt.date(2008, 3, 1)


def test_choices_and_checkboxes() -> None:
    choices = (Choice("A", "a"), Choice("B", "b"), Choice("None", "none", exclusive=True))
    assert one(Field(key="r", var="r", datatype="radio", choices=choices)) in {"a", "b", "none"}
    for seed in range(20):
        picked = one(Field(key="c", var="c", datatype="checkboxes", choices=choices), seed)
        assert isinstance(picked, list) and picked and set(picked) <= {"a", "b"}


def test_skips_notes_optional_files_and_hidden_fields() -> None:
    fields = (
        Field(key="note", var=None, datatype="note", note="Read this"),
        Field(key="f", var="f", datatype="file", required=False),
        Field(key="g", var="g", datatype="file"),
        Field(key="yn", var="yn", datatype="yesno"),
        Field(key="why", var="why", datatype="text", show_if=("yn", True)),
        Field(key="sig", var="sig", datatype="signature"),
    )
    for seed in range(10):
        answers, button = answers_for(screen(*fields), random.Random(seed))
        assert "note" not in answers and "f" not in answers
        assert answers["g"] == {"filename": "upload.pdf"}
        assert answers["sig"] == "signed"
        assert isinstance(answers["yn"], bool)
        assert ("why" in answers) == answers["yn"]
        assert button is None


def test_button_screens_press_only_continue_buttons() -> None:
    buttons = (Button("Yes", True), Button("Exit", None, action="exit"), Button("No", False))
    pressed = {answers_for(screen(kind="yesno", buttons=buttons), random.Random(s))[1] for s in range(30)}
    assert pressed == {0, 2}
    assert answers_for(screen(kind="continue", buttons=(Button("Next"),)), random.Random(0)) == ({}, 0)
    assert answers_for(screen(kind="continue"), random.Random(0)) == ({}, None)


def test_yesnomaybe_field_gets_a_valid_answer() -> None:
    import random

    import engine
    from accord.autoanswer import answers_for

    iv = engine.load_string(
        "question: Q\nfields:\n  - Sure?: sure\n    datatype: yesnomaybe\n---\nmandatory: True\nquestion: ${ sure }\n"
    )
    for seed in range(6):
        state = iv.start()
        screen = engine.plan(iv, state)
        assert isinstance(screen, engine.Screen)
        values, button = answers_for(screen, random.Random(seed))
        assert isinstance(engine.apply(iv, state, screen, values, button), engine.State)
