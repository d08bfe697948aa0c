"""What a field's input needs beyond its value, so the page behaves like docassemble's:

- `show if` / `hide if` and `js show if` / `js hide if` as data attributes, which
  `static/fields.js` evaluates live (the server re-checks on submit, `engine.jscond` for the
  expressions; without JavaScript every field is drawn);
- a date field's `min`/`max` as HTML limits, with the very message the engine gives past them,
  shown by `fields.js` when the field loses focus;
- the currency symbol beside a money field;
- the slider's `min`/`max`/`step` (so an untouched slider sits mid-range, like docassemble's).

Kept apart from `wizard.py` so the wizard's route code stays small.
"""

from __future__ import annotations

import json
from typing import Any

from babel.numbers import get_currency_symbol

import engine
from engine import Field, Screen

NOYES = frozenset({"noyes", "noyeswide", "noyesradio", "noyesmaybe"})


def extras(screen: Screen, f: Field, lang: str) -> dict[str, Any]:
    limits = engine.date_limits(f, lang)
    return {
        "show_if": _condition(screen, f.show_if),
        "hide_if": _condition(screen, f.hide_if),
        "js_show_if": _js_condition(screen, f.js_show_if),
        "js_hide_if": _js_condition(screen, f.js_hide_if),
        "limits": {k: iso for k, (iso, _msg) in limits.items()},
        "limit_messages": {k: msg for k, (_iso, msg) in limits.items()},
        "currency": _symbol(screen.currency, lang) if f.datatype == "currency" else None,
        "range": _range(f) if f.datatype == "range" else None,
    }


def _condition(screen: Screen, cond: tuple[str, Any] | None) -> str | None:
    """JSON for fields.js: the controlling field's name, the value it must have, and whether
    that field stores the opposite of what is ticked (noyes)."""
    if cond is None:
        return None
    key, value = cond
    ctrl = screen.field_by_key(key)
    expected: Any = value if isinstance(value, bool | int | float) or value is None else str(value)
    return json.dumps({"key": key, "is": expected, "inverted": ctrl is not None and ctrl.datatype in NOYES})


def _js_condition(screen: Screen, expr: str | None) -> str | None:
    """JSON for fields.js: a `js show if` expression (val("x") compared with literals, && || !,
    parsed there, never eval'd) and which fields store the opposite of what is ticked."""
    if not expr:
        return None
    return json.dumps({"expr": expr.strip(), "noyes": [f.key for f in screen.fields if f.datatype in NOYES]})


def _symbol(code: str, lang: str) -> str:
    try:
        return str(get_currency_symbol(code, locale=lang))
    except (ValueError, LookupError):
        return code


def _range(f: Field) -> dict[str, str]:
    out = {}
    for attr in ("min", "max", "step"):
        value = getattr(f, attr)
        if value not in (None, ""):
            out[attr] = str(value)
    return out
