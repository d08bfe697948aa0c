"""Valid-looking answers for any screen, drawn from a seeded `random.Random`.

`accord run --auto` uses this to walk an interview end to end without a human, so an author
finds dead ends, undefined variables and crashing Mako long before a consumer does. The answers
only have to pass the engine's own validation (datatype, min/max, lengths, choices); the walk
is reproducible because every draw comes from the caller's `rng`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil import parser as dateparser

from engine import Field, Screen

# Kinds where the answer *is* the button pressed.
BUTTON_KINDS = frozenset({"yesno", "noyes", "yesnomaybe", "noyesmaybe", "buttons"})
# Kinds that are acknowledged with the continue button.
CONTINUE_KINDS = frozenset({"continue", "review"})

TEXT_TYPES = frozenset({"text", "area", "password", "ml", "mlarea", "string", "raw"})
NUMBER_TYPES = frozenset({"number", "currency", "range", "integer", "float", "positive integer"})
BOOL_TYPES = frozenset({"yesno", "noyes", "yesnoradio", "noyesradio", "yesnowide", "noyeswide", "boolean"})
MULTI_TYPES = frozenset({"checkboxes", "multiselect", "object_checkboxes", "object_multiselect"})
FILE_TYPES = frozenset({"file", "files", "camera", "user", "environment", "microphone"})

WORDS = ("alpha", "river", "maple", "copper", "lantern", "harbor", "meadow", "orbit", "cedar", "willow")
NAMES = ("an", "binh", "chi", "dung", "alex", "sam", "jordan", "taylor")


def answers_for(screen: Screen, rng: random.Random, *, attempt: int = 0) -> tuple[dict[str, Any], int | None]:
    """Answers keyed by `Field.key`, plus the index of the button to press (None = continue).

    `attempt` counts earlier rejected draws for this screen. Validation code most often rejects
    an unticked "I agree" box, so retries lean towards True for yes/no fields; the first draw
    stays 50/50 so both branches of the interview get walked.
    """
    p_true = (0.5, 0.8)[attempt] if attempt < 2 else 1.0
    answers: dict[str, Any] = {}
    for f in screen.fields:
        if f.var is None or set_by_button(screen, f) or not _visible(f, answers):
            continue
        value = _value_for(f, rng, p_true)
        if value is not _SKIP:
            answers[f.key] = value
    return answers, _button_for(screen, rng)


def set_by_button(screen: Screen, f: Field) -> bool:
    """Fields whose value the pressed button carries: yes/no and button screens, and the
    "continue" pseudo-field a `continue button field` sets to True. Nothing to type for these."""
    if f.datatype == "continue":
        return True
    return screen.kind in BUTTON_KINDS and (f.var == screen.sought or f.datatype in {"yesno", "buttons"})


def _button_for(screen: Screen, rng: random.Random) -> int | None:
    if screen.kind in BUTTON_KINDS:
        # Only "continue" buttons set the variable; exit/restart/URL buttons would end the walk.
        candidates = [i for i, b in enumerate(screen.buttons) if b.action == "continue"]
        return rng.choice(candidates) if candidates else None
    if screen.kind in CONTINUE_KINDS and screen.buttons and screen.buttons[0].action == "continue":
        return 0
    return None


def _visible(f: Field, answers: dict[str, Any]) -> bool:
    """Mirror the client-side show_if/hide_if hint: a hidden field need not be answered."""
    if f.show_if is not None:
        key, expected = f.show_if
        if key in answers and not same_value(answers[key], expected):
            return False
    if f.hide_if is not None:
        key, expected = f.hide_if
        if key in answers and same_value(answers[key], expected):
            return False
    return True


def same_value(answer: Any, expected: Any) -> bool:
    """Loose equality: YAML gives `True`, a browser posts "True", a checkbox posts a list."""
    if isinstance(answer, list):
        return any(same_value(a, expected) for a in answer)
    return bool(answer == expected or str(answer).strip().lower() == str(expected).strip().lower())


class _Skip:
    """Sentinel: leave this field out of the answers."""


_SKIP: Any = _Skip()


def _value_for(f: Field, rng: random.Random, p_true: float = 0.5) -> Any:
    dtype = (f.datatype or "text").lower()
    if dtype in FILE_TYPES:
        return {"filename": "upload.pdf"} if f.required else _SKIP
    if dtype == "signature":
        return "signed"
    if dtype == "email":
        return f"{rng.choice(NAMES)}@example.com"
    if dtype in BOOL_TYPES:
        return rng.random() < p_true
    if dtype in {"yesnomaybe", "noyesmaybe"}:
        return rng.choice(["True", "False", "None"])
    if dtype in NUMBER_TYPES:
        return number_in(f, rng, integer=dtype in {"integer", "positive integer"})
    if dtype in {"date", "datetime"}:
        day = date_in(f.min, f.max, rng, exclusive_max=dtype == "datetime")
        return day.isoformat() if dtype == "date" else f"{day.isoformat()}T10:30"
    if dtype == "time":
        return "10:30"
    if dtype in MULTI_TYPES:
        return _multi(f, rng)
    if f.choices:  # radio, dropdown, combobox, object ...
        return rng.choice(f.choices).value
    return text_for(f, rng)  # text, area, password, and a combobox without suggestions


def _multi(f: Field, rng: random.Random) -> list[Any]:
    plain = [c.value for c in f.choices if not c.exclusive]
    if not plain:
        return [f.choices[0].value] if f.choices else []
    return rng.sample(plain, rng.randint(1, len(plain)))


def text_for(f: Field, rng: random.Random) -> str:
    """Words, unless the length limits are tight (a PIN, postcode, phone or ID number:
    maxlength <= 20), then digits. Words are padded/cut to respect minlength/maxlength."""
    hint = f"{f.var} {f.label}".lower()
    if ("phone" in hint or "điện thoại" in hint) and (f.maxlength is None or f.maxlength >= 12):
        return f"202-555-{rng.randint(100, 9999):04d}"  # a North American number passes docassemble's checks
    low = max(f.minlength or 0, 0)
    high = f.maxlength if f.maxlength is not None else max(low, 40)
    high = max(high, low, 1)
    if f.maxlength is not None and f.maxlength <= 20:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(max(low, 1), high)))
    text = " ".join(rng.choice(WORDS) for _ in range(2))
    while len(text) < low:
        text += " " + rng.choice(WORDS)
    return text[:high].strip() if len(text[:high].strip()) >= low else text[:high]


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def number_in(f: Field, rng: random.Random, integer: bool = False) -> int | str:
    """A number within [min, max] that is a multiple of `step`, counted from `min` when there
    is one (as the engine checks it), else from zero."""
    lo, hi = _decimal(f.min), _decimal(f.max)
    step = _decimal(f.step)
    if step is not None and step <= 0:
        step = None
    if step is not None and lo is not None:
        top = hi if hi is not None else lo + step * 20
        if top >= lo:
            value_from_min = lo + step * rng.randint(0, int((top - lo) // step))
            return int(value_from_min) if value_from_min == value_from_min.to_integral_value() else str(
                value_from_min.normalize())
    if integer:
        step = Decimal(1) if step is None else max(step, Decimal(1))
    if lo is None and hi is None:
        lo, hi = Decimal(1), Decimal(100)
    elif lo is None:
        assert hi is not None
        lo = hi - 100 if hi <= 0 else Decimal(0)
    elif hi is None:
        hi = lo + 100 if lo >= 0 else Decimal(0)
    if hi < lo:
        lo, hi = hi, lo
    value = _pick_step(lo, hi, step or Decimal(1), rng)
    if value is None and step is None:  # a range narrower than one: use two decimals
        value = _pick_step(lo, hi, Decimal("0.01"), rng)
    if value is None and step is not None:  # no multiple of step from zero fits; count from min
        value = lo + step * rng.randint(0, int((hi - lo) // step))
    if value is None:
        value = lo
    if value == value.to_integral_value():
        return int(value)
    return str(value.normalize())


def _pick_step(lo: Decimal, hi: Decimal, step: Decimal, rng: random.Random) -> Decimal | None:
    first = math.ceil(lo / step)
    last = math.floor(hi / step)
    if first > last:
        return None
    return step * rng.randint(first, last)


def to_date(value: Any) -> dt.date | None:
    """Field.min/max arrive as date objects or strings like "2008-01-01"."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dateparser.parse(str(value)).date()
    except (ValueError, OverflowError):
        return None


def date_in(low: Any, high: Any, rng: random.Random, exclusive_max: bool = False) -> dt.date:
    """A date within the bounds; unbounded dates fall in a plausible adult birth-date window."""
    lo, hi = to_date(low), to_date(high)
    if hi is not None and exclusive_max:
        hi = hi - dt.timedelta(days=1)
    if lo is None and hi is None:
        lo, hi = dt.date(1960, 1, 1), dt.date(2000, 12, 31)
    elif lo is None:
        # "max: today" is nearly always a birth date, and interviews often demand an adult:
        # stay 20-70 years back rather than risk an age check that bounds alone don't show.
        assert hi is not None
        lo, hi = hi - dt.timedelta(days=365 * 70), hi - dt.timedelta(days=365 * 20)
    elif hi is None:
        hi = lo + dt.timedelta(days=365)
    if hi < lo:
        return lo
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))
