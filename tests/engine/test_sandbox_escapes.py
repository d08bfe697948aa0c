"""Known sandbox-escape payloads: every one must be refused, quickly, with a clear sandbox error.

"Refused" means `SandboxError` (including `BudgetExceeded`), `TemplateError`, `SyntaxError` or
Jinja's `SecurityError` - never success, never a `NameError`/`AttributeError` that merely happens
to stop the payload (the planner would read a `NameError` as "ask the user for this variable").
Payloads that are harmless by design (Jinja syntax in literal text...) assert exactly what renders.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from engine.sandbox import BudgetExceeded, SandboxError, compile_code, compile_expr, safe_builtins
from engine.templates import ENV, TemplateError, UndefinedName, compile_text

REFUSALS = (SandboxError, TemplateError, SyntaxError, SecurityError)
TIME_LIMIT = 3.0  # CPU seconds per payload (thread time, so a loaded machine does not fail it); the sandbox
# budget is 2 s wall and 1e6 loop steps


class Thing:
    """A stand-in for an interview object."""

    def __init__(self) -> None:
        self.name = "Ann"
        self.amount = 1234.5


def helper() -> int:
    return 1


def currency(value: Any) -> str:
    return f"${value:,.2f}"


def odd() -> None:
    """A helper the host marked as not callable from templates (Jinja's `unsafe_callable`)."""


odd.unsafe_callable = True  # type: ignore[attr-defined]


def namespace() -> dict[str, Any]:
    return {
        "x": Thing(),
        "func": helper,
        "gen": (i for i in []),
        "n": 999_999_999,
        "items": [1, 2, 3],
        "name": "Ann",
        "currency": currency,
        "odd": odd,
    }


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    """Turn a Python-level hang into a failure instead of a stuck test run."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the payload ran past the watchdog")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_refused(action: Callable[[], Any]) -> BaseException:
    start = time.thread_time()
    with pytest.raises(Exception) as info:  # noqa: B017 - the type is checked precisely below
        result = action()
        pytest.fail(f"the payload was not refused; it returned {str(result)[:200]!r}")
    elapsed = time.thread_time() - start
    exc = info.value
    assert isinstance(exc, REFUSALS), f"refused by accident: {type(exc).__name__}: {exc}"
    assert not isinstance(exc, NameError | AttributeError)
    assert str(exc), "the refusal should say why"
    assert elapsed < TIME_LIMIT, f"took {elapsed:.2f}s"
    return exc


def run_expr(source: str) -> Any:
    ns = namespace()
    ns["__builtins__"] = safe_builtins()
    return compile_expr(source).run(ns)


def run_code(source: str) -> dict[str, Any]:
    ns = namespace()
    ns["__builtins__"] = safe_builtins()
    compile_code(source).run(ns)
    return ns


def render(source: str, **values: Any) -> str:
    ns = namespace()
    ns.update(values)
    return compile_text(source).render(ns, safe_builtins())


# (a) expressions ------------------------------------------------------------------------------

EXPRESSION_PAYLOADS = [
    # class / subclass walks
    "().__class__.__bases__[0].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "''.__class__.__mro__[1].__subclasses__()",
    "object.__subclasses__()",
    "(1).real.__class__",
    "().__reduce_ex__(2)",
    "{}.__class__.__subclasses__",
    "x.__dict__",
    "x.__class__.__init__.__globals__",
    "next(iter([x])).__class__",
    # the dangerous builtins
    "__import__('os')",
    "__builtins__",
    "__builtins__['open']",
    "eval('1')",
    "exec('y = 1')",
    "compile('1', 'f', 'eval')",
    "open('/etc/passwd')",
    "open('/etc/passwd').read()",
    "getattr(1, '__class__')",
    "setattr(x, 'name', 1)",
    "type(1)",
    "type('A', (), {})",
    "object()",
    "super()",
    "vars()",
    "globals()",
    "locals()",
    "dir()",
    "breakpoint()",
    "help()",
    "input()",
    "memoryview(b'x')",
    "exit()",
    # frames, code and globals of functions and generators
    "(x for x in []).gi_frame.f_back.f_globals",
    "(x for x in []).gi_code",
    "gen.gi_frame",
    "(lambda: 0).__globals__",
    "func.__globals__",
    "func.__code__",
    "print.__self__",
    "(lambda: 0).func_globals",
    # format-string attribute walks
    "'{0.__class__.__mro__}'.format(1)",
    "'{0.__init__.__globals__}'.format(func)",
    "'{0[__class__]}'.format(x)",
    "'{.__class__}'.format(1)",
    "'{0.gi_frame}'.format(gen)",
    "str.format('{0.__class__.__mro__}', 1)",
    "'{x.__class__}'.format_map({'x': 1})",
    "str.format_map('{x}', {'x': 1})",
    "'%s' % (1).__class__",
    "'%s' % ().__class__.__mro__",
    # size bombs in one expression
    "'%999999999d' % 1",
    "'%*d' % (10**9, 1)",
    "'%.999999999f' % 1.5",
    "'{:>999999999}'.format(1)",
    "'{:{}}'.format(1, 999999999)",
    "'{:.999999999f}'.format(1.5)",
    "f'{1:>{n}}'",
    "f'{x.name!r:>{n}}'",
    "pow(2, 10**10)",
    "pow(3, 2**100000, 7)",
    "round(1, -10**9)",
    "bytes(10**10)",
    "(1).to_bytes(10**10, 'big')",
    "''.join(['x' * 10**6] * 10**6)",
    "str.join('', ['x' * 10**6] * 10**6)",
    "('x' * 10**6).replace('x', 'yy')",
    "sum([[0] * 1000] * 10**6, [])",
    "list(range(10**12))",
    "[0 for i in range(10**6) for j in range(10**6)]",
    # endless or self-feeding iteration that would run in C, out of the budget's sight
    "sum(iter(int, 1))",
    "list(map(items.append, items))",
    "list(filter(items.append, items))",
    "any(map(items.append, items))",
    # recursion
    "(lambda f: f(f))(lambda f: f(f))",
    "(lambda f: f(f, 40))(lambda g, k: k and (g(g, k - 1), g(g, k - 1)))",
]


@pytest.mark.parametrize("source", EXPRESSION_PAYLOADS)
def test_expression_payload_is_refused(source: str) -> None:
    assert_refused(lambda: run_expr(source))


# (b) code blocks ------------------------------------------------------------------------------

CODE_PAYLOADS = [
    "import os",
    "import builtins",
    "from os import system",
    "global y\ny = 1",
    "def f():\n    v = 1\n    def g():\n        nonlocal v\n        v = 2\n    g()",
    "try:\n    y = 1\nexcept Exception:\n    pass",
    "try:\n    while True:\n        pass\nfinally:\n    y = 1",
    "try:\n    y = 1\nexcept* Exception:\n    pass",
    "class A:\n    pass",
    "with open('/etc/passwd') as f:\n    y = f.read()",
    "def _f():\n    pass",
    "def f(__x):\n    pass",
    "del __builtins__",
    "__builtins__['open']('/etc/passwd')",
    "open = 1",
    "def deco(f):\n    return f\n@deco\ndef g():\n    pass",
    "async def f():\n    pass",
    "def f():\n    yield 1",
    "def f():\n    yield from []",
    "y = lambda: 0\nz = y.__globals__",
    "def f():\n    pass\ng = f.__code__",
    "g = (i for i in [1])\nfr = g.gi_frame",
    # budget: loops and recursion
    "while True:\n    pass",
    "while 1:\n    y = 1",
    "for i in range(10**6):\n    for j in range(10**6):\n        pass",
    "for y in iter(int, 1):\n    pass",
    "def f(k):\n    return f(k + 1)\ny = f(0)",
    "def f(k):\n    return k and f(k - 1) + f(k - 1)\ny = f(60)",
    "big = list(range(10**6))\nfor i in range(10**6):\n    s = str(big)",
    # size bombs
    "y = 'a' * 10**10",
    "y = 2 ** 10 ** 10",
    "y = 1 << 10**9",
    "y = [0] * 10**9",
    "y = 'x'.ljust(10**10)",
    "y = 'x'.center(10**10)",
    "y = 'x'.zfill(10**10)",
    "y = b'x'.center(10**10)",
    "y = b'%999999999d' % 1",
    "y = '{:>999999999}'.format(1)",
    "y = f'{1:>999999999}'",
    "w = 999999999\ny = f'{1:>{w}}'",
    "y = '%*d' % (10**9, 1)",
    "y = list(range(10**12))",
    "y = 10\ny **= 10**10",
    "y = 'ab'\ny *= 10**10",
    "y = 'x' * 10**6\ny += y",
    # doubling: each step is cheap, forty of them are a terabyte
    "y = 'x'\nfor i in range(40):\n    y = y + y",
    "y = 'x'\nfor i in range(40):\n    y += y",
    "y = [0]\nfor i in range(40):\n    y += y",
    "y = [0]\nfor i in range(40):\n    y.extend(y)",
    "y = [0]\nfor i in range(40):\n    y = [*y, *y]",
    "y = [0]\nfor i in range(40):\n    y[len(y):] = y",
    "y = 'a'\nfor i in range(40):\n    y = y.replace('a', 'aa')",
    "y = ['x']\nfor i in range(40):\n    y = [''.join(y)] * 2",
    "y = [0]\ny.extend(iter(int, 1))",
    "a = b[0:1] = [1]",
]


@pytest.mark.parametrize("source", CODE_PAYLOADS)
def test_code_payload_is_refused(source: str) -> None:
    assert_refused(lambda: run_code(source))


def test_budget_errors_are_budget_errors() -> None:
    exc = assert_refused(lambda: run_code("while True:\n    pass"))
    assert isinstance(exc, BudgetExceeded)


# (c) templates --------------------------------------------------------------------------------

TEMPLATE_PAYLOADS = [
    "${ ''.__class__.__mro__[1].__subclasses__() }",
    "${ ().__class__.__base__.__subclasses__() }",
    "${ self }",
    "${ self._TemplateReference__context }",
    "${ x.__dict__ }",
    "${ x.name.__class__ }",
    "${ func.__globals__ }",
    "${ gen.gi_frame }",
    "${ odd() }",  # Jinja's own callable check: SecurityError
    "${ __builtins__ }",
    "${ eval('1') }",
    "${ open('/etc/passwd').read() }",
    "${ getattr(x, '__class__') }",
    "${ type(x) }",
    "% for i in items:\n${ loop.__class__ }\n% endfor",
    "% for i in items:\n${ loop.__init__.__globals__ }\n% endfor",
    "<% import os %>",
    "<%! import os %>",
    '<%def name="x()">hi</%def>',
    "% import os",
    "% while True:",
    "% if ().__class__:\nyes\n% endif",
    "% for c in ().__class__.__base__.__subclasses__():\n${ c }\n% endfor",
    "% for __x in items:\n${ __x }\n% endfor",
    "${ (lambda: 1)() }",
    "${ [c for c in items] }",
    "${ f'{name}' }",
    # Jinja filters reached through Python's `|`
    "${ x | attr('__class__') }",
    "${ 'x' | center(999999999) }",
    "${ '%999999999d' | format(1) }",
    # size and time bombs
    "${ 'x' * 10**9 }",
    "${ 2 ** 10**10 }",
    "${ 'x'.ljust(10**10) }",
    "${ 'x'.center(10**10) }",
    "${ '{:>999999999}'.format(1) }",
    "${ str.format('{0.__class__.__mro__}', 1) }",
    "${ str.ljust('x', 10**10) }",
    "${ '%999999999d' % 1 }",
    "${ 'x' * 10**6 + 'y' }",
    "${ ''.join(['x' * 10**6] * 10**6) }",
    "${ pow(2, 10**10) }",
    "${ round(1, -10**9) }",
    "${ range(10**12) }",
    "% for i in range(10**6):\n% for j in range(10**6):\n.\n% endfor\n% endfor",
    "% for i in iter(int, 1):\n.\n% endfor",
]


@pytest.mark.parametrize("source", TEMPLATE_PAYLOADS)
def test_template_payload_is_refused(source: str) -> None:
    assert_refused(lambda: render(source))


def test_unsafe_attribute_hidden_by_jinja_says_so() -> None:
    """Second line of defence: an attribute Jinja's sandbox hides is a SecurityError, not a question."""
    hidden = ENV.getattr((i for i in []), "gi_frame")
    with pytest.raises(SecurityError):
        str(hidden)


LITERAL_TEXT = [
    # Jinja syntax in the author's text is text, never code
    ("{{ ''.__class__ }} ${ name }", "{{ ''.__class__ }} Ann"),
    ("{{ 7*7 }} ${ name }", "{{ 7*7 }} Ann"),
    (
        "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %} ${ name }",
        "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %} Ann",
    ),
    ("{# hidden? #} ${ name }", "{# hidden? #} Ann"),
    ("{%raw%}{{ 7*7 }}{%endraw%} ${ name }", "{%raw%}{{ 7*7 }}{%endraw%} Ann"),
    ("{${ name }}", "{Ann}"),
    ("{{${ name }}}", "{{Ann}}"),
    ("{{ 7*7 }}", "{{ 7*7 }}"),  # constant text is not even compiled
    # ... and so is Jinja syntax in a value
    ("${ '{{ 7*7 }}' }", "{{ 7*7 }}"),
    ("${ '}}{{ ().__class__ }}' }", "}}{{ ().__class__ }}"),
    ("${ name + '{% endfor %}' }", "Ann{% endfor %}"),
    # a Python-only token that Jinja would lex differently stays one string constant
    ("${ '''a' ~ ().__class__ ~ 'b''' }", "a' ~ ().__class__ ~ 'b"),
    ("${ '''a' ~ ('x' | center(999999999)) ~ 'b''' }", "a' ~ ('x' | center(999999999)) ~ 'b"),
    ("%% for x in ().__class__.__subclasses__():", "% for x in ().__class__.__subclasses__():"),
    ("## ${ ().__class__ }\n${ name }", "Ann"),
]


@pytest.mark.parametrize(("source", "expected"), LITERAL_TEXT)
def test_literal_jinja_is_rendered_as_text(source: str, expected: str) -> None:
    assert render(source) == expected


@pytest.mark.parametrize("name", ["cycler", "joiner", "namespace", "lipsum", "config", "request"])
def test_jinja_globals_are_not_there(name: str) -> None:
    """Jinja's default globals are removed: the name is an ordinary, not-yet-answered variable."""
    with pytest.raises(UndefinedName) as info:
        render("${ " + name + " }")
    assert info.value.var == name
    assert render("${ " + name + " }", **{name: "firm value"}) == "firm value"


# ordinary code keeps working ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a + b", 5),
        ("x.name", "Ann"),
        ("'{:,}'.format(1234567)", "1,234,567"),
        ("'{:,.2f}'.format(1234.5)", "1,234.50"),
        ("str.format('{} {}', 1, 2)", "1 2"),
        ("currency(x.amount)", "$1,234.50"),
        ("f'{x.amount:,.2f}'", "1,234.50"),
        ("f'{x.name!r:>{w}}'", " 'Ann'"),
        ("'%s owes %.2f' % (x.name, 3.5)", "Ann owes 3.50"),
        ("'%d%%' % 50", "50%"),
        ("17 % 5", 2),
        ("2 ** 10", 1024),
        ("3 * 'ab'", "ababab"),
        ("1 << 4", 16),
        ("', '.join(['a', 'b'])", "a, b"),
        ("'a-b'.replace('-', ' and ')", "a and b"),
        ("'x'.ljust(3, '.')", "x.."),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("[*items, 4]", [1, 2, 3, 4]),
        ("sum(items)", 6),
        ("sum([[1], [2]], [])", [1, 2]),
        ("max(items, key=lambda v: -v)", 1),
        ("min(items)", 1),
        ("list(map(str, items))", ["1", "2", "3"]),
        ("list(filter(None, [0, 1, 2]))", [1, 2]),
        ("pow(2, 10, 1000)", 24),
        ("round(1234.5678, 2)", 1234.57),
        ("round(1234, -2)", 1200),
        ("[v * 2 for v in items if v > 1]", [4, 6]),
        ("(lambda v: v + 1)(1)", 2),
        ("bytes(3)", b"\x00\x00\x00"),
        ("(258).to_bytes(2, 'big')", b"\x01\x02"),
    ],
)
def test_ordinary_expressions_still_work(source: str, expected: Any) -> None:
    ns = namespace()
    ns.update(a=2, b=3, w=6, __builtins__=safe_builtins())
    assert compile_expr(source).run(ns) == expected


def test_ordinary_code_still_works() -> None:
    ns = run_code(
        "total = 0\n"
        "for v in items:\n"
        "    total += v\n"
        "words = []\n"
        "words += ['a']\n"
        "words.extend(['b', 'c'])\n"
        "words[1:2] = ['B']\n"
        "alias = words\n"
        "alias += ['d']\n"
        "text = 'x'\n"
        "text += 'y'\n"
        "count = 0\n"
        "while count < 10:\n"
        "    count += 1\n"
        "def double(v):\n"
        "    return v * 2\n"
        "doubled = [double(v) for v in items]\n"
        "label = '{:,.2f}'.format(1234.5)\n"
    )
    assert ns["total"] == 6
    assert ns["words"] == ["a", "B", "c", "d"]
    assert ns["alias"] is ns["words"]  # `+=` on a list still works in place
    assert ns["text"] == "xy"
    assert ns["count"] == 10
    assert ns["doubled"] == [2, 4, 6]
    assert ns["label"] == "1,234.50"


def test_ordinary_templates_still_work() -> None:
    text = (
        "Dear ${ x.name },\n"
        "% for v in items:\n"
        "${ loop.index }. ${ '{:,.2f}'.format(v * 1000.5) }\n"
        "% endfor\n"
        "% if x.amount > 1000 and name is not None:\n"
        "Total: ${ currency(x.amount) } (${ '%d%%' % 50 }, ${ name + '!' }, ${ name | h })\n"
        "% else:\n"
        "nothing\n"
        "% endif\n"
    )
    assert render(text) == (
        "Dear Ann,\n0. 1,000.50\n1. 2,001.00\n2. 3,001.50\nTotal: $1,234.50 (50%, Ann!, Ann)\n"
    )
