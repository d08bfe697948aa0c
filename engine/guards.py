"""The run-time half of the sandbox: the budget (steps and wall time per evaluation, per
thread), the size guards the compiled code calls instead of `**`, `*`, `+`, `%`, `<<` and the
text-growing methods, and the safe builtins firm code sees.

`engine.sandbox` rewrites firm code to call these; nothing here trusts its arguments.
"""

from __future__ import annotations

import builtins
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

MAX_SOURCE = 100_000  # characters of one expression or code block
MAX_STEPS = 1_000_000  # loop iterations per evaluation
MAX_SECONDS = 2.0  # wall time per evaluation
MAX_SIZE = 1_000_000  # elements/characters a single operation may produce

BLOCKED_ATTRS = frozenset(
    {
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
        "ag_await", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next",
        "co_code", "func_globals", "func_code", "func_closure", "im_func", "im_self", "mro", "throw", "send",
        "format_map", "fromkeys_unsafe",
    }
)
GUARDED_ATTRS = frozenset(
    {"format", "ljust", "rjust", "center", "zfill", "expandtabs", "join", "replace", "extend", "to_bytes"}
)
# Builtins that are not in the safe table; naming one is a clear compile-time refusal rather than a
# NameError (which the planner would take for "ask the user for `open`").
BLOCKED_NAMES = frozenset(
    "eval exec compile open input breakpoint help globals locals vars dir getattr setattr delattr type object super "
    "memoryview classmethod staticmethod exit quit".split()
)

SAFE_BUILTIN_NAMES = (
    "abs all any ascii bin bool bytes callable chr complex dict divmod enumerate filter float frozenset hash hex "
    "int isinstance issubclass iter len list map max min next oct ord pow print range repr reversed round set "
    "slice sorted str sum tuple zip ArithmeticError AssertionError AttributeError Exception IndexError KeyError "
    "LookupError NameError TypeError ValueError ZeroDivisionError True False None"
).split()


class SandboxError(Exception):
    """Firm code tried something the sandbox refuses, or ran out of budget."""


class BudgetExceeded(SandboxError):
    pass


class _Budget(threading.local):
    """Per thread: a web server may plan two sessions at once on two threads."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = 0.0
        self.depth = 0

    def start(self) -> None:
        if self.depth == 0:
            self.steps = 0
            self.deadline = time.perf_counter() + MAX_SECONDS
        self.depth += 1

    def stop(self) -> None:
        self.depth -= 1

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExceeded(f"the code ran more than {MAX_STEPS} loop steps")
        # every step: one step may cost a whole MAX_SIZE operation (`str(big_list)`, ~50 ms)
        if time.perf_counter() > self.deadline:
            raise BudgetExceeded(f"the code ran longer than {MAX_SECONDS:g} seconds")


BUDGET = _Budget()


def _tick() -> None:
    BUDGET.tick()


def _iter(iterable: Iterable[Any]) -> Iterator[Any]:
    tick = BUDGET.tick
    for item in iterable:
        tick()
        yield item


def _size(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b * max(abs(a).bit_length(), 1) > 64 * 1024:
            raise SandboxError("the number would be too large (exponent too big)")
    return a**b


_SEQUENCES = (str, bytes, list, tuple)


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > MAX_SIZE:
        raise SandboxError(f"the result would be longer than {MAX_SIZE} items")
    return a + b


def _iadd(a: Any, b: Any) -> Any:
    """`a += b`, keeping in-place semantics; a list never extends itself from a live iterator."""
    if isinstance(a, list) and not isinstance(b, _SEQUENCES):
        b = list(_iter(b))
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > MAX_SIZE:
        raise SandboxError(f"the result would be longer than {MAX_SIZE} items")
    a += b
    return a


def _extend(target: list[Any], items: Iterable[Any]) -> None:
    _iadd(target, items)


def _mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(n, int) and not isinstance(n, bool) and isinstance(seq, str | bytes | list | tuple):
            if len(seq) * n > MAX_SIZE:
                raise SandboxError(f"the result would be longer than {MAX_SIZE} items")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > 64 * 1024:
        raise SandboxError("the number would be too large")
    return a * b


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(b, int) and b > 64 * 1024:
        raise SandboxError("the shift is too large")
    return a << b


def _too_wide(digits: str) -> bool:
    return bool(digits) and int(digits[:9]) > MAX_SIZE


_PERCENT_FIELD = re.compile(r"%(?:%|(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?)")


def _mod(a: Any, b: Any) -> Any:
    """`a % b`; for printf-style text, refuse widths/precisions that would build a huge string."""
    if isinstance(a, str | bytes):
        text = a if isinstance(a, str) else a.decode("latin-1")
        for m in _PERCENT_FIELD.finditer(text):
            for part in m.groups():
                if part == "*":
                    values = b if isinstance(b, tuple) else (b,)
                    if any(isinstance(v, int) and abs(v) > MAX_SIZE for v in values):
                        raise SandboxError("the format width is too large")
                elif part and _too_wide(part):
                    raise SandboxError("the format width is too large")
    return a % b


class _SafeFormatter(string.Formatter):
    """str.format without attribute or item walks into private parts (`{0.__class__}`)."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        for part in field_name.replace("[", ".").split("."):
            if part.startswith("_") or part in BLOCKED_ATTRS:
                raise SandboxError(f"format field {field_name!r} reaches a private attribute")
        return super().get_field(field_name, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        digits = "".join(c for c in format_spec if c.isdigit())
        if _too_wide(digits):
            raise SandboxError("the format width is too large")
        return super().format_field(value, format_spec)


_FORMATTER = _SafeFormatter()
_CONVERSIONS: dict[int, Callable[[Any], str]] = {ord("r"): repr, ord("s"): str, ord("a"): ascii}


def _fmtval(value: Any, conversion: int, format_spec: str) -> Any:
    """An f-string field whose format spec is computed at run time (`f'{x:>{width}}'`)."""
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    return _FORMATTER.format_field(value, format_spec)


def _join(sep: str | bytes, items: Iterable[Any]) -> Any:
    items = list(_iter(items))
    total = len(sep) * max(len(items) - 1, 0) + sum(_size(item) for item in items)
    if total > MAX_SIZE:
        raise SandboxError(f"the joined text would be longer than {MAX_SIZE} characters")
    return sep.join(items)


def _replace(text: Any, old: Any, new: Any, count: int = -1) -> Any:
    if isinstance(old, str | bytes) and isinstance(new, str | bytes) and len(new) > len(old):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        if len(text) + hits * (len(new) - len(old)) > MAX_SIZE:
            raise SandboxError(f"the text would be longer than {MAX_SIZE} characters")
    return text.replace(old, new, count)


def _attr(obj: Any, name: str) -> Any:
    """The run-time guard for methods that format or grow text or lists."""
    value = getattr(obj, name)
    if isinstance(obj, str | bytes):
        if name == "format" and isinstance(obj, str):
            return lambda *a, **k: _FORMATTER.vformat(obj, a, k)
        if name in ("ljust", "rjust", "center", "zfill"):

            def padded(width: int, *rest: Any) -> Any:
                if isinstance(width, int) and width > MAX_SIZE:
                    raise SandboxError("the padded text would be too long")
                return value(width, *rest)

            return padded
        if name == "expandtabs":
            return lambda tabsize=8: value(min(int(tabsize), 64))
        if name == "join":
            return lambda items: _join(obj, items)
        if name == "replace":
            return lambda old, new, count=-1: _replace(obj, old, new, count)
        return value
    if isinstance(obj, list) and name == "extend":
        return lambda items: _extend(obj, items)
    if isinstance(obj, int) and name == "to_bytes":

        def to_bytes(length: int = 1, *rest: Any, **kwargs: Any) -> bytes:
            if isinstance(length, int) and length > MAX_SIZE:
                raise SandboxError(f"the result would be longer than {MAX_SIZE} bytes")
            return value(length, *rest, **kwargs)

        return to_bytes
    if isinstance(obj, type) and issubclass(obj, str | bytes | list | int) and name in GUARDED_ATTRS:
        # `str.format(template, ...)`: the unbound method goes through the same guard
        return lambda self, *a, **k: _attr(self, name)(*a, **k)
    return value


def _safe_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_SIZE:
        raise SandboxError(f"range of more than {MAX_SIZE} numbers")
    return r


def _print(*args: Any, **kwargs: Any) -> None:
    """print() is accepted and discarded: firm code has no stdout."""


def _safe_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        return _pow(base, exp)
    if isinstance(exp, int) and isinstance(mod, int) and max(exp.bit_length(), mod.bit_length()) > 4096:
        raise SandboxError("the modular power is too large")
    return pow(base, exp, mod)


def _safe_round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and ndigits < -10_000:
        raise SandboxError("round() to that many digits is not allowed")
    return round(number, ndigits)


def _safe_bytes(*args: Any, **kwargs: Any) -> bytes:
    if args and isinstance(args[0], int) and args[0] > MAX_SIZE:
        raise SandboxError(f"the result would be longer than {MAX_SIZE} bytes")
    return bytes(*args, **kwargs)


# The consumers below would otherwise loop in C, out of reach of the budget: `iter(f, sentinel)` never
# ends, and `map(x.append, x)` / `filter(x.append, x)` grow the list they walk.
def _safe_iter(obj: Any, *sentinel: Any) -> Iterator[Any]:
    return _iter(iter(obj, *sentinel)) if sentinel else iter(obj)


def _safe_map(function: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
    return map(function, *(_iter(iterable) for iterable in iterables))


def _safe_filter(function: Callable[[Any], Any] | None, iterable: Iterable[Any]) -> Iterator[Any]:
    return filter(function, _iter(iterable))


def _safe_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    if isinstance(start, list | tuple):  # sum(lists, []): concatenation, size-checked
        total = start
        for item in _iter(iterable):
            total = _add(total, item)
        return total
    return sum(iterable, start)


def _setslice(obj: Any, lower: Any, upper: Any, step: Any, value: Any) -> None:
    """`obj[lower:upper:step] = value`, size-checked (`x[len(x):] = x` doubles a list)."""
    if not isinstance(value, _SEQUENCES):
        value = list(_iter(value))
    if isinstance(obj, list) and len(obj) + len(value) > MAX_SIZE:
        raise SandboxError(f"the list would be longer than {MAX_SIZE} items")
    obj[lower:upper:step] = value


_HELPERS = {"__accord_tick__": _tick, "__accord_iter__": _iter, "__accord_pow__": _pow, "__accord_mul__": _mul,
            "__accord_lshift__": _lshift, "__accord_attr__": _attr, "__accord_add__": _add, "__accord_iadd__": _iadd,
            "__accord_mod__": _mod, "__accord_fmtval__": _fmtval, "__accord_setslice__": _setslice}
_SAFE_VERSIONS = {"range": _safe_range, "print": _print, "pow": _safe_pow, "round": _safe_round, "bytes": _safe_bytes,
                  "iter": _safe_iter, "map": _safe_map, "filter": _safe_filter, "sum": _safe_sum}


def safe_builtins(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    table: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES if hasattr(builtins, name)}
    table.update(_SAFE_VERSIONS)
    table.update(_HELPERS)
    if extra:
        table.update(extra)
    return table
