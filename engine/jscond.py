"""`js show if` conditions, checked on the server too.

The browser evaluates them live; the server must agree, or a hidden required field would
block the form. The supported form is docassemble's common one: `val("field")` compared
with literals and combined with `&&`, `||`, `!`. It is translated to a Python expression and
run in the sandbox with `val` bound to the posted answers; anything else counts as shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from engine import sandbox

_TOKENS = [
    (re.compile(r"==="), "=="),
    (re.compile(r"!=="), "!="),
    (re.compile(r"&&"), " and "),
    (re.compile(r"\|\|"), " or "),
    (re.compile(r"!(?!=)"), " not "),
    (re.compile(r"\btrue\b"), "True"),
    (re.compile(r"\bfalse\b"), "False"),
    (re.compile(r"\bnull\b"), "None"),
]


@lru_cache(maxsize=512)
def _compile(expr: str) -> sandbox.Compiled | None:
    source = expr.strip().rstrip(";")
    for pattern, replacement in _TOKENS:
        source = pattern.sub(replacement, source)
    try:
        return sandbox.compile_expr(source)
    except (SyntaxError, sandbox.SandboxError):
        return None


def evaluate(expr: str, val: Callable[[str], Any]) -> bool:
    compiled = _compile(expr)
    if compiled is None:
        return True
    namespace: dict[str, Any] = {"__builtins__": sandbox.safe_builtins(), "val": val}
    try:
        return bool(compiled.run(namespace))
    except Exception:  # noqa: BLE001 - a condition that cannot be judged leaves the field shown
        return True


_ITEM = re.compile(r"^(.+)\[(['\"])(.+)\2\]$")


def lookup(values: Mapping[str, Any], key: str) -> Any:
    """`val("x")`, and `val("boxes['Apple']")` for one checkbox of a checkboxes field."""
    if key in values:
        return values[key]
    m = _ITEM.match(key)
    if not m:
        return None
    base = values.get(m.group(1))
    item = m.group(3)
    elements = getattr(base, "elements", None)
    if isinstance(elements, dict):
        return bool(elements.get(item))
    if isinstance(base, list | tuple | set):
        return item in {str(x) for x in base}
    return None


def visible(expr: str, hide: bool, values: Mapping[str, Any]) -> bool:
    shown = evaluate(expr, lambda key: lookup(values, key))
    return not shown if hide else shown
