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
from dataclasses import dataclass, field
from typing import Any

from engine.guards import (
    BLOCKED_ATTRS,
    BLOCKED_NAMES,
    BUDGET,
    GUARDED_ATTRS,
    MAX_SOURCE,
    SAFE_BUILTIN_NAMES,
    BudgetExceeded,
    SandboxError,
    _too_wide,
    safe_builtins,
)

__all__ = ["BLOCKED_ATTRS", "BUDGET", "SAFE_BUILTIN_NAMES", "BudgetExceeded", "Compiled", "SandboxError",
           "compile_code", "compile_expr", "eager_names", "safe_builtins"]

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


