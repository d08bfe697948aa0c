"""Variable names as docassemble writes them (`a`, `a.b`, `a[0].c`, `d['key']`): read, set, delete.

A name is parsed once into steps; the steps walk the namespace. Iterator forms (`kids[i]`)
are produced for planning: a block written for `kids[i].name` answers `kids[2].name`.
"""

from __future__ import annotations

import ast
import itertools
import re
from functools import lru_cache
from typing import Any

from engine.groups import DADict, DAList
from engine.objects import DAObject, UndefinedAttribute, UndefinedItem

ITERATORS = ("i", "j", "k", "l", "m", "n")

Step = tuple[str, Any]  # ("attr", name) | ("item", key) | ("item_var", iterator name)


class BadName(ValueError):
    pass


@lru_cache(maxsize=4096)
def parse(name: str) -> tuple[str, tuple[Step, ...]]:
    """`kids[0].name` -> ("kids", (("item", 0), ("attr", "name")))."""
    try:
        node = ast.parse(name.strip(), mode="eval").body
    except SyntaxError as exc:
        raise BadName(f"{name!r} is not a variable name") from exc
    steps: list[Step] = []
    while True:
        if isinstance(node, ast.Name):
            root = node.id
            break
        if isinstance(node, ast.Attribute):
            steps.append(("attr", node.attr))
            node = node.value
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Constant):
                steps.append(("item", key.value))
            elif isinstance(key, ast.Name):
                steps.append(("item_var", key.id))
            elif (isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub)
                  and isinstance(key.operand, ast.Constant)):
                steps.append(("item", -key.operand.value))  # type: ignore[operator]
            else:
                raise BadName(f"{name!r}: index must be a constant or an iterator")
            node = node.value
        else:
            raise BadName(f"{name!r} is not a variable name")
    if root.startswith("_") or any(kind == "attr" and str(v).startswith("_") for kind, v in steps):
        raise BadName(f"{name!r}: names may not start with _")
    return root, tuple(reversed(steps))


def render(root: str, steps: tuple[Step, ...]) -> str:
    out = root
    for kind, value in steps:
        if kind == "attr":
            out += f".{value}"
        elif kind == "item_var":
            out += f"[{value}]"
        else:
            out += f"[{value!r}]"
    return out


def normalise(name: str) -> str:
    root, steps = parse(name)
    return render(root, steps)


def _get(container: Any, kind: str, key: Any, path: str) -> Any:
    if kind == "attr":
        if isinstance(container, DAObject):
            if key in container.__dict__:
                return container.__dict__[key]
            raise UndefinedAttribute(f"{path}.{key}")
        try:
            return getattr(container, key)
        except AttributeError:
            raise UndefinedAttribute(f"{path}.{key}") from None
    if isinstance(container, DAList):
        if isinstance(key, int) and -len(container.elements) <= key < len(container.elements):
            return container.elements[key]
        raise UndefinedItem(f"{path}[{key!r}]")
    if isinstance(container, DADict):
        if key in container.elements:
            return container.elements[key]
        raise UndefinedItem(f"{path}[{key!r}]")
    try:
        return container[key]
    except (LookupError, TypeError):
        raise UndefinedItem(f"{path}[{key!r}]") from None


def lookup(namespace: dict[str, Any], name: str, bindings: dict[str, Any] | None = None) -> Any:
    """The value, or NameError/UndefinedAttribute/UndefinedItem naming the missing part.
    Never runs gathering: a read here asks nothing."""
    root, steps = parse(name)
    if root not in namespace:
        raise NameError(f"name {root!r} is not defined", name=root)
    value = namespace[root]
    path = root
    for kind, key in steps:
        if kind == "item_var":
            key = (bindings or namespace)[key]
            kind = "item"
        value = _get(value, kind, key, path)
        path = f"{path}.{key}" if kind == "attr" else f"{path}[{key!r}]"
    return value


def is_defined(namespace: dict[str, Any], name: str) -> bool:
    try:
        lookup(namespace, name)
    except (NameError, LookupError, AttributeError):
        return False
    return True


def assign(namespace: dict[str, Any], name: str, value: Any, bindings: dict[str, Any] | None = None) -> None:
    root, steps = parse(name)
    if not steps:
        namespace[root] = value
        return
    container = lookup(namespace, render(root, steps[:-1]), bindings)
    kind, key = steps[-1]
    if kind == "item_var":
        key = (bindings or namespace)[key]
        kind = "item"
    if kind == "attr":
        if isinstance(container, DAObject):
            object.__setattr__(container, key, value)
        else:
            raise BadName(f"cannot set {name}")
    else:
        container[key] = value


def delete(namespace: dict[str, Any], name: str) -> bool:
    """Forget a variable; True if it had a value."""
    try:
        root, steps = parse(name)
    except BadName:
        return False
    if not steps:
        return namespace.pop(root, _MISSING) is not _MISSING
    try:
        container = lookup(namespace, render(root, steps[:-1]))
    except (NameError, LookupError, AttributeError, KeyError):
        return False
    kind, key = steps[-1]
    if kind == "attr":
        if isinstance(container, DAObject) and key in container.__dict__:
            del container.__dict__[key]
            return True
        return False
    if kind == "item_var":
        return False
    target = container.elements if isinstance(container, DAList | DADict) else container
    try:
        if isinstance(target, list):
            if isinstance(key, int) and key < len(target):
                del target[key]
                return True
            return False
        if key in target:
            del target[key]
            return True
    except TypeError:
        return False
    return False


_MISSING = object()

_INDEX = re.compile(r"\[([^\]]+)\]")


def generalise(name: str) -> list[tuple[str, dict[str, Any]]]:
    """The iterator spellings of a concrete name, with the bindings each implies.
    `a[0].b[2]` -> [("a[i].b[2]", {i:0}), ("a[0].b[i]", {i:2}), ("a[i].b[j]", {i:0, j:2})]:
    most specific first."""
    root, steps = parse(name)
    indices = [n for n, (kind, _) in enumerate(steps) if kind == "item"]
    if not indices:
        return []
    # docassemble tries fewer iterators first: `veggies['a'][1]` -> `veggies[i][1]`,
    # `veggies['a'][i]`, then `veggies[i][j]`; iterators are named in order of position.
    indices = indices[: len(ITERATORS)]
    out: list[tuple[str, dict[str, Any]]] = []
    for size in range(1, len(indices) + 1):
        for chosen in itertools.combinations(indices, size):
            new_steps = list(steps)
            bindings: dict[str, Any] = {}
            for it, pos in zip(ITERATORS, chosen):
                bindings[it] = steps[pos][1]
                new_steps[pos] = ("item_var", it)
            out.append((render(root, tuple(new_steps)), bindings))
    return out
