"""Run firm-authored Python (expressions and code blocks) without handing over the machine.

The approach is a whitelisted AST, compiled once at load:

* refused at compile time: imports, `global`/`nonlocal`, `try` (it could swallow the budget
  error), `with`, classes, async, `yield`, any name or attribute starting with ``_``, the
  frame/code attributes that reach interpreter internals (``gi_frame``, ``f_globals``...) and
  the dangerous builtin names (``eval``, ``open``, ``getattr``, ``type``... see `BLOCKED_NAMES`);
* rewritten at compile time: every loop body, comprehension iterable and ``*spread`` counts steps
  against a budget (time and steps), ``+``, ``**``, ``*``, ``<<`` and ``%`` check the size of
  their result, slice assignments are size-checked, and the methods that grow or format text
  (``format``, ``ljust``, ``join``...) go through a guard, as do computed f-string format specs;
* at run time the code sees only the safe builtins below plus the interview's helpers: there is
  no ``open``, ``getattr``, ``type``, ``eval``, ``__import__``; ``pow``, ``round``, ``bytes``,
  ``iter``, ``map``, ``filter`` and ``sum`` are size- or step-checked versions.

Undefined names surface as `NameError` (or our `Undefined*` errors for attributes and
items), which the planner turns into "ask for this variable".
"""

from __future__ import annotations

import ast
import builtins
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
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
    table.update(True_=True)
    del table["True_"]
    table.update(_SAFE_VERSIONS)
    table.update(_HELPERS)
    if extra:
        table.update(extra)
    return table


class _Checker(ast.NodeTransformer):
    """Refuse what the sandbox does not allow, and rewrite what it must watch."""

    REFUSED: dict[type, str] = {
        ast.Import: "import is not allowed",
        ast.ImportFrom: "import is not allowed",
        ast.Global: "global is not allowed",
        ast.Nonlocal: "nonlocal is not allowed",
        ast.Try: "try/except is not allowed",
        ast.With: "with is not allowed",
        ast.AsyncWith: "with is not allowed",
        ast.ClassDef: "class definitions are not allowed",
        ast.AsyncFunctionDef: "async functions are not allowed",
        ast.AsyncFor: "async for is not allowed",
        ast.Await: "await is not allowed",
        ast.Yield: "yield is not allowed",
        ast.YieldFrom: "yield is not allowed",
    }

    def __init__(self, names: set[str]) -> None:
        self.names = names  # free names read, for the dependency graph

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for kind, message in self.REFUSED.items():
            if isinstance(node, kind):
                raise SandboxError(message)
        if hasattr(ast, "TryStar") and isinstance(node, ast.TryStar):
            raise SandboxError("try/except is not allowed")
        return super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("_"):
            raise SandboxError(f"the name {node.id!r} is not allowed (names may not start with _)")
        if node.id in BLOCKED_NAMES:
            raise SandboxError(f"the name {node.id!r} is not allowed (it is not available to interview code)")
        if isinstance(node.ctx, ast.Load):
            self.names.add(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        if node.arg.startswith("_") or node.arg in BLOCKED_NAMES:
            raise SandboxError(f"the name {node.arg!r} is not allowed (names may not start with _)")
        return self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        if node.arg is not None and node.arg.startswith("_"):
            raise SandboxError(f"the keyword {node.arg!r} is not allowed")
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr.startswith("_") or node.attr in BLOCKED_ATTRS:
            raise SandboxError(f"the attribute {node.attr!r} is not allowed")
        self.generic_visit(node)
        if node.attr in GUARDED_ATTRS and isinstance(node.ctx, ast.Load):
            call = ast.Call(
                func=ast.Name("__accord_attr__", ast.Load()), args=[node.value, ast.Constant(node.attr)], keywords=[]
            )
            return ast.copy_location(call, node)
        return node

    BINOP_HELPERS: dict[type, str] = {ast.Pow: "__accord_pow__", ast.Mult: "__accord_mul__",
                                      ast.LShift: "__accord_lshift__", ast.Add: "__accord_add__",
                                      ast.Mod: "__accord_mod__"}

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        helper = self.BINOP_HELPERS.get(type(node.op))
        if helper is None:
            return node
        return ast.copy_location(
            ast.Call(func=ast.Name(helper, ast.Load()), args=[node.left, node.right], keywords=[]), node
        )

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        helper = "__accord_iadd__" if isinstance(node.op, ast.Add) else self.BINOP_HELPERS.get(type(node.op))
        if helper is None:
            return node
        load_target = _as_load(node.target)
        value = ast.Call(func=ast.Name(helper, ast.Load()), args=[load_target, node.value], keywords=[])
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def _tick_body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        tick = ast.Expr(ast.Call(func=ast.Name("__accord_tick__", ast.Load()), args=[], keywords=[]))
        return [tick, *body]

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        sliced = [t for target in node.targets for t in ast.walk(target)
                  if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Slice)]
        if not sliced:
            return node
        target = node.targets[0]
        if len(node.targets) > 1 or target is not sliced[0] or len(sliced) > 1:
            raise SandboxError("assign to a slice on its own (`x[a:b] = value`)")
        assert isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice)
        bounds = [part or ast.Constant(None) for part in (target.slice.lower, target.slice.upper, target.slice.step)]
        call = ast.Call(func=ast.Name("__accord_setslice__", ast.Load()), args=[target.value, *bounds, node.value],
                        keywords=[])
        return ast.copy_location(ast.Expr(call), node)

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):  # `[*x, *x]` would double a list without a single loop step
            node.value = ast.Call(func=ast.Name("__accord_iter__", ast.Load()), args=[node.value], keywords=[])
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.body = self._tick_body(node.body)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        node.body = self._tick_body(node.body)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if node.name.startswith("_"):
            raise SandboxError(f"the name {node.name!r} is not allowed")
        if node.decorator_list:
            raise SandboxError("decorators are not allowed")
        self.generic_visit(node)
        node.body = self._tick_body(node.body)
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self.generic_visit(node)  # `lambda: body` -> `lambda: __accord_tick__() or body` (tick returns None)
        tick = ast.Call(func=ast.Name("__accord_tick__", ast.Load()), args=[], keywords=[])
        node.body = ast.BoolOp(op=ast.Or(), values=[tick, node.body])
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        if node.is_async:
            raise SandboxError("async comprehensions are not allowed")
        node.iter = ast.Call(func=ast.Name("__accord_iter__", ast.Load()), args=[node.iter], keywords=[])
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        for value in node.values:
            if isinstance(value, ast.FormattedValue) and value.format_spec is not None:
                spec = ast.unparse(value.format_spec)
                digits = "".join(c for c in spec if c.isdigit())
                if _too_wide(digits):
                    raise SandboxError("the format width is too large")
        self.generic_visit(node)
        for value in node.values:
            if (isinstance(value, ast.FormattedValue) and value.format_spec is not None
                    and any(isinstance(part, ast.FormattedValue) for part in ast.walk(value.format_spec))):
                # a computed spec (`f'{x:>{width}}'`) is checked when it is known
                value.value = ast.Call(func=ast.Name("__accord_fmtval__", ast.Load()),
                                       args=[value.value, ast.Constant(value.conversion), value.format_spec],
                                       keywords=[])
                value.conversion, value.format_spec = -1, None
        return node


def _as_load(target: ast.expr) -> ast.expr:
    copy = ast.parse(ast.unparse(target), mode="eval").body
    return copy


def eager_names(body: list[ast.stmt] | ast.expr) -> tuple[str, ...]:
    """Names certain to be read, in evaluation order, before anything conditional runs.

    The planner asks for these up front (no exception needed). Operands after the first of
    `and`/`or`, branches of `x if c else y`, loop and function bodies are left to dynamic
    discovery, so short-circuit logic never asks a question it would not have needed.
    """
    out: list[str] = []
    assigned: set[str] = set()

    def add(name: str) -> None:
        root = name.split(".", 1)[0].split("[", 1)[0]
        if root not in assigned and name not in out:
            out.append(name)

    def path_of(node: ast.AST) -> str | None:
        parts: list[str] = []
        while True:
            if isinstance(node, ast.Attribute):
                parts.append("." + node.attr)
                node = node.value
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(
                    node.slice.value, int | str) and not isinstance(node.slice.value, bool):
                parts.append(f"[{node.slice.value!r}]")
                node = node.value
            elif isinstance(node, ast.Name):
                return node.id + "".join(reversed(parts))
            else:
                return None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                add(node.id)
        elif isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Load):
            path = path_of(node)
            if path is not None:
                add(path)
            else:
                for child in ast.iter_child_nodes(node):
                    visit(child)
        elif isinstance(node, ast.Call):
            visit(node.func.value if isinstance(node.func, ast.Attribute) else node.func)
            for arg in node.args:
                visit(arg)
            for kw in node.keywords:
                visit(kw.value)
        elif isinstance(node, ast.BoolOp):
            visit(node.values[0])
        elif isinstance(node, ast.IfExp):
            visit(node.test)
        elif isinstance(node, ast.Compare):
            visit(node.left)
            visit(node.comparators[0])
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            visit(node.generators[0].iter)
        elif isinstance(node, ast.Lambda):
            return
        elif isinstance(node, ast.If | ast.While):
            visit(node.test)
        elif isinstance(node, ast.For):
            visit(node.iter)
        elif isinstance(node, ast.FunctionDef):
            assigned.add(node.name)
        elif isinstance(node, ast.Assign):
            visit(node.value)
            for t in node.targets:
                if not isinstance(t, ast.Name):
                    visit(t)
        else:
            for child in ast.iter_child_nodes(node):
                visit(child)

    if isinstance(body, list):
        for stmt in body:
            visit(stmt)
            if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            assigned.add(n.id)
            if isinstance(stmt, ast.If | ast.For | ast.While | ast.FunctionDef):
                break  # what follows a branch may depend on what the branch defined
    else:
        visit(body)
    return tuple(out)


@dataclass(frozen=True)
class Compiled:
    """A checked, compiled piece of firm code plus what it reads and assigns."""

    source: str
    code: Any
    names: frozenset[str]
    assigns: tuple[str, ...] = ()
    mode: str = "eval"
    tree: Any = field(default=None, compare=False, repr=False)
    eager: tuple[str, ...] = ()

    def run(self, namespace: dict[str, Any]) -> Any:
        BUDGET.start()
        try:
            if self.mode == "eval":
                return eval(self.code, namespace)  # noqa: S307 - checked AST, safe builtins
            exec(self.code, namespace)  # noqa: S102 - checked AST, safe builtins
            return None
        except RecursionError as exc:
            raise SandboxError("the code recursed too deeply") from exc
        except MemoryError as exc:
            raise SandboxError("the code ran out of memory") from exc
        finally:
            BUDGET.stop()


def _check_size(source: str) -> None:
    if len(source) > MAX_SOURCE:
        raise SandboxError(f"the code is longer than {MAX_SOURCE} characters")


def compile_expr(source: str, filename: str = "<interview>", line: int = 1) -> Compiled:
    """Compile one Python expression; raises SyntaxError or SandboxError."""
    source = str(source).strip()
    _check_size(source)
    tree = ast.parse(source, filename=filename, mode="eval")
    eager = eager_names(tree.body)
    names: set[str] = set()
    tree = _Checker(names).visit(tree)
    ast.fix_missing_locations(tree)
    ast.increment_lineno(tree, line - 1)
    return Compiled(source, compile(tree, filename, "eval"), frozenset(names), (), "eval", None, eager)


def compile_code(source: str, filename: str = "<interview>", line: int = 1) -> Compiled:
    """Compile a code block; also collects every variable it assigns (its `defines`)."""
    _check_size(source)
    tree = ast.parse(source, filename=filename, mode="exec")
    original = ast.parse(source, mode="exec")
    names: set[str] = set()
    tree = _Checker(names).visit(tree)
    ast.fix_missing_locations(tree)
    ast.increment_lineno(tree, line - 1)
    return Compiled(source, compile(tree, filename, "exec"), frozenset(names), tuple(assigned_names(original)),
                    "exec", original, eager_names(original.body))


def assigned_names(tree: ast.AST) -> list[str]:
    """Every variable expression a code block assigns, docassemble-style (`a`, `a.b`, `a[i]`)."""
    found: list[str] = []

    def add(target: ast.AST) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                add(elt)
            return
        if isinstance(target, ast.Name | ast.Attribute | ast.Subscript):
            text = ast.unparse(target)
            if text not in found:
                found.append(text)

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                add(t)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.target is not None:
            add(node.target)
        elif isinstance(node, ast.For):
            add(node.target)
        elif isinstance(node, ast.FunctionDef):
            found.append(node.name)
    return found


def is_safe_name(name: str) -> bool:
    return not name.startswith("_")


Evaluator = Callable[[Compiled, dict[str, Any]], Any]
