"""Interview text: Mako-style markup translated once to a sandboxed Jinja2 template.

Authors write docassemble's Mako subset: ``${ expr }`` and whole-line ``% if / % elif / % else /
% endif / % for / % endfor`` (``## comment`` lines are dropped). On load we translate that to
Jinja2 and compile it in a `SandboxedEnvironment`, whose attribute checks stop SSTI walks; every
``${ }`` expression is also checked by our own AST rules so a bad one fails at load with its
line, and its free names feed the dependency graph. Undefined values raise `UndefinedName`
carrying the full variable name (``kids[0].name``), which the planner turns into a question.
"""

from __future__ import annotations

import ast
import operator
import re
from collections import ChainMap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import concat

from engine import guards, sandbox
from engine.sandbox import SandboxError

MAX_OUTPUT = 2_000_000


class UndefinedName(NameError):
    """Text or code referred to a variable that has no value yet."""

    def __init__(self, name: str) -> None:
        super().__init__(f"name {name!r} is not defined", name=name)
        self.var = name


def _describe(obj: Any, name: Any) -> str:
    base = getattr(obj, "instanceName", None)
    if base is None:
        return str(name)
    if isinstance(name, str) and name.isidentifier():
        return f"{base}.{name}"
    return f"{base}[{name!r}]"


class _Undefined(StrictUndefined):
    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        if self._undefined_exception is SecurityError:  # the sandbox hid an unsafe attribute: say so
            raise SecurityError(self._undefined_hint or "access to that attribute is unsafe")
        if self._undefined_obj is not None and not isinstance(self._undefined_obj, type):
            from jinja2.utils import missing

            if self._undefined_obj is not missing:
                raise UndefinedName(_describe(self._undefined_obj, self._undefined_name))
        if self._undefined_name is not None:
            raise UndefinedName(str(self._undefined_name))
        raise UndefinedName(self._undefined_hint or "?")

    __str__ = __iter__ = __len__ = __bool__ = __eq__ = __ne__ = __hash__ = _fail_with_undefined_error
    __getattr__ = __getitem__ = __add__ = __radd__ = __mul__ = __call__ = __lt__ = _fail_with_undefined_error


_BINOPS = {"**": guards._pow, "*": guards._mul, "+": guards._add, "%": guards._mod}


class _Env(SandboxedEnvironment):
    intercepted_binops = frozenset(_BINOPS)  # also keeps them out of compile-time constant folding

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ in _BINOPS:
            return _BINOPS[operator_](left, right)
        return super().call_binop(context, operator_, left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_") or attr in sandbox.BLOCKED_ATTRS:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute in guards.GUARDED_ATTRS and (
            isinstance(obj, str | bytes | list | int) or obj in (str, bytes, list, int)
        ):
            try:
                return guards._attr(obj, attribute)
            except AttributeError:
                pass
        return super().getattr(obj, attribute)


def _ticking(iterable: Iterable[Any]) -> Iterator[Any]:
    return guards._iter(iterable)


ENV = _Env(undefined=_Undefined, trim_blocks=True, lstrip_blocks=False, autoescape=False, keep_trailing_newline=True)
ENV.globals.clear()
ENV.filters.clear()  # `${ x | center(10**9) }` would reach Jinja's filters; text has none
ENV.globals["__accord_iter__"] = _ticking
for _alias, _test in (("None", "none"), ("True", "true"), ("False", "false")):
    ENV.tests[_alias] = ENV.tests[_test]
ENV.binop_table = dict(ENV.binop_table)
ENV.binop_table.update(_BINOPS)
_ = operator  # keep the import for readers: binop table mirrors operator.*


class TemplateError(Exception):
    def __init__(self, message: str, line_offset: int = 0) -> None:
        super().__init__(message)
        self.line_offset = line_offset


_CONTROL = re.compile(r"^[ \t]*%(?!%)[ \t]*(\w+)\b(.*?)[ \t]*$")
_EXPR_START = re.compile(r"\$\{")


def _find_expr_end(text: str, start: int) -> int:
    """Index of the `}` closing the `${` whose body starts at `start`, respecting nesting and quotes."""
    depth = 0
    i = start
    quote: str | None = None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "{[(":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


def _escape_literal(text: str) -> str:
    if "{" not in text and "#" not in text and "}" not in text:
        return text
    out = []
    for piece in re.split(r"(\{\{|\{%|\{#|\}\}|%\}|#\})", text):
        if piece in ("{{", "{%", "{#", "}}", "%}", "#}"):
            out.append("{{ " + repr(piece) + " }}")
        else:
            out.append(piece)
    return "".join(out)


def _check_expr(expr: str, names: set[str], line: int, eager: list[str] | None = None) -> str:
    """Check a `${ }` expression with the sandbox's AST rules; returns Jinja source for it."""
    expr = expr.strip()
    # Mako filters (`${ x | h }`) are escaping hints in docassemble; Markdown output needs none.
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise TemplateError(f"syntax error in ${{ {expr} }}: {exc.msg}", line) from exc
    if eager is not None:
        eager.extend(n for n in sandbox.eager_names(tree.body) if n not in eager)
    try:
        sandbox._Checker(names).visit(tree)
    except SandboxError as exc:
        raise TemplateError(f"in ${{ {expr} }}: {exc}", line) from exc
    # Jinja gets the checked tree re-printed, never the author's spelling: a token only Python reads
    # one way (a triple-quoted string) must not be different code to Jinja; and the guarded operators
    # arrive as helper calls (`__accord_pow__(2, 10 ** 10)`), so Jinja's own precedence for `**`
    # (left-associative, below unary minus) cannot change what the expression means.
    normalized = ast.unparse(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp | ast.Lambda | ast.JoinedStr):
            raise TemplateError(
                f"in ${{ {expr} }}: comprehensions, lambdas and f-strings are not supported in text; "
                "compute the value in a code block", line
            )
        if isinstance(node, ast.Name) and node.id == "self":  # Jinja's TemplateReference, not a variable
            raise TemplateError(f"in ${{ {expr} }}: the name 'self' is reserved in text", line)
        if isinstance(node, ast.BitOr):
            raise TemplateError(
                f"in ${{ {expr} }}: the | operator is not supported in text (Jinja would read it as a filter)", line
            )
    # Mako's loop context: 0-based `index`, and `even`/`odd` (of that index), which Jinja's loop lacks.
    normalized = re.sub(r"\bloop\.even\b", "(loop.index0 % 2 == 0)", normalized)
    normalized = re.sub(r"\bloop\.odd\b", "(loop.index0 % 2 == 1)", normalized)
    return re.sub(r"\bloop\.index\b", "loop.index0", normalized)


def translate(text: str, names: set[str], eager: list[str] | None = None) -> str:
    """Mako subset -> Jinja2 source. Collects free names read into `names`, and into `eager`
    the ones read outside any `% if`/`% for` (in order), which the planner may ask up front."""
    out: list[str] = []
    depth = 0
    lines = text.split("\n")
    for number, raw in enumerate(lines):
        newline = "\n" if number < len(lines) - 1 else ""
        stripped = raw.lstrip()
        if stripped.startswith("##"):
            continue
        m = _CONTROL.match(raw)
        if m:
            word, rest = m.group(1), m.group(2).strip()
            if rest.endswith(":"):
                rest = rest[:-1].strip()
            if word in ("if", "elif"):
                cond = _check_expr(rest, names, number, eager if depth == 0 and word == "if" else None)
                out.append("{% " + word + " " + cond + " %}" + newline)
                depth += word == "if"
            elif word == "else":
                out.append("{% else %}" + newline)
            elif word in ("endif", "endfor"):
                out.append("{% " + word + " %}" + newline)
                depth = max(0, depth - 1)
            elif word == "for":
                fm = re.match(r"^(.+?)\s+in\s+(.+)$", rest)
                if not fm:
                    raise TemplateError(f"cannot read the loop '% for {rest}'", number)
                target = fm.group(1).strip()
                for t in target.split(","):
                    if not t.strip().isidentifier() or t.strip().startswith("_"):
                        raise TemplateError(f"loop variable {t.strip()!r} is not a plain name", number)
                inner: set[str] = set()
                source = _check_expr(fm.group(2), inner, number, eager if depth == 0 else None)
                names.update(inner)
                depth += 1
                out.append("{% for " + target + " in __accord_iter__(" + source + ") %}" + newline)
            else:
                raise TemplateError(f"'% {word}' is not supported (use if/elif/else/endif, for/endfor)", number)
            continue
        if raw.lstrip().startswith("%%"):
            raw = raw.replace("%%", "%", 1)
        if "<%" in raw:
            raise TemplateError("Mako <% %> blocks and <%def> are not supported; use a code block", number)
        pos = 0
        pieces: list[str] = []
        for em in _EXPR_START.finditer(raw):
            if em.start() < pos:
                continue
            end = _find_expr_end(raw, em.end())
            if end < 0:
                raise TemplateError("a ${ is never closed with }", number)
            literal = _escape_literal(raw[pos : em.start()])
            if literal.endswith("{"):  # `{${ x }}`: a lone `{` must not fuse with the `{{` that follows
                literal = literal[:-1] + "{{ '{' }}"
            pieces.append(literal)
            body = raw[em.end() : end]
            if "|" in body and re.search(r"\|\s*(\w+)\s*$", body) is not None:
                body = re.sub(r"\|\s*\w+\s*$", "", body)
            pieces.append("{{ " + _check_expr(body, names, number, eager if depth == 0 else None) + " }}")
            pos = end + 1
        pieces.append(_escape_literal(raw[pos:]))
        out.append("".join(pieces) + newline)
    return "".join(out)


@dataclass(frozen=True)
class Text:
    """A compiled piece of interview text; `names` are the variables it reads."""

    source: str
    names: frozenset[str]
    # None when the text is constant; Jinja source (checked at load, compiled to Python on first
    # use: compiling is 3x the cost of checking, and most screens of a session are never shown);
    # then the compiled jinja2.Template.
    template: Any
    eager: tuple[str, ...] = ()

    def render(self, namespace: dict[str, Any], globals_: dict[str, Any]) -> str:
        template = self.template
        if template is None:
            return self.source
        if isinstance(template, str):
            template = ENV.from_string(template)
            object.__setattr__(self, "template", template)
        ctx = template.new_context(ChainMap(namespace, globals_), shared=True)
        guards.BUDGET.start()
        try:
            result: str = concat(template.root_render_func(ctx))
        except RecursionError as exc:
            raise SandboxError("the text recursed too deeply") from exc
        finally:
            guards.BUDGET.stop()
        if len(result) > MAX_OUTPUT:
            raise SandboxError("the text is too long")
        return result


def compile_text(source: Any) -> Text:
    """Compile interview text. Raises TemplateError (with a line offset) on bad markup."""
    text = "" if source is None else str(source)
    if "${" not in text and "%" not in text and "##" not in text:
        return Text(text, frozenset(), None)
    plain = "${" not in text and "##" not in text and "<%" not in text  # `<% %>` is refused, not passed through
    if plain and not any(_CONTROL.match(line) for line in text.split("\n")):
        return Text(text.replace("%%", "%") if text.lstrip().startswith("%%") else text, frozenset(), None)
    names: set[str] = set()
    eager: list[str] = []
    jinja_source = translate(text, names, eager)
    try:
        ENV.parse(jinja_source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template error: {exc.message}", (exc.lineno or 1) - 1) from exc
    return Text(text, frozenset(names), jinja_source, tuple(eager))


def parse_jinja(source: str) -> nodes.Template:  # pragma: no cover - debugging aid
    return ENV.parse(source)
