"""The evaluation context every planning step shares: answers, language, and the graph's
fast path.

Before an expression runs, the names it certainly reads (`Compiled.eager`, in evaluation order)
are checked against the answers and sought directly; only what the graph cannot know surfaces
as an undefined-name error from the sandbox, which `guarded` turns into a seek: docassemble's
dynamic discovery, kept as the fallback.
"""

from __future__ import annotations

import threading
from typing import Any

from engine import varpath
from engine.blocks import Block, FieldSpec
from engine.errors import InterviewError
from engine.functions import CONTEXT, ValidationFailure
from engine.groups import GATHERING, DADict, DAList
from engine.interview import Interview
from engine.objects import DAObject, UndefinedAttribute, UndefinedItem, adopt
from engine.sandbox import Compiled, SandboxError
from engine.screen import Screen
from engine.state import SCRATCH, State
from engine.templates import Text, UndefinedName

LOOP_LIMIT = 500
DEPTH_LIMIT = 60
MISSING: Any = object()


class _Stats(threading.local):
    """How often planning fell back to dynamic discovery (an undefined-name error) instead of
    the compiled graph. Tests and benchmarks read it; it costs one increment per fallback."""

    def __init__(self) -> None:
        self.discoveries = 0


STATS = _Stats()


class ScreenReady(Exception):  # noqa: N818 - not an error: unwinds a nested seek with its screen
    def __init__(self, screen: Screen) -> None:
        self.screen = screen


def missing_name(exc: BaseException) -> str | None:
    """The variable an undefined-name error is about (`kids[0].name`), if it says."""
    if isinstance(exc, UndefinedName | UndefinedAttribute | UndefinedItem):
        return exc.var
    if isinstance(exc, NameError) and exc.name:
        return exc.name
    return None


def encode_bindings(bindings: dict[str, Any]) -> dict[str, Any]:
    """Iterator bindings as JSON: indices stay values, a generic object `x` becomes its name."""
    out: dict[str, Any] = {}
    for k, v in bindings.items():
        if isinstance(v, DAObject):
            out[k] = {"object": v.instanceName}
        elif v is None or isinstance(v, str | int | float | bool):
            out[k] = v
    return out


def decode_bindings(ns: dict[str, Any], bindings: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in bindings.items():
        if isinstance(v, dict) and set(v) == {"object"}:
            try:
                out[k] = varpath.lookup(ns, str(v["object"]))
            except (NameError, LookupError, AttributeError, varpath.BadName):
                continue
        else:
            out[k] = v
    return out


class Context:
    def __init__(self, iv: Interview, state: State) -> None:
        self.iv = iv
        self.state = state
        self.ns = state.namespace
        self.ns["__builtins__"] = iv.builtins
        self.ns["url_args"] = state.url_args
        self.lang = state.lang
        self.seeking: list[str] = []
        self.has_language = state.lang in iv.block_languages
        CONTEXT.namespace = self.ns
        CONTEXT.language = state.lang
        CONTEXT.currency = iv.currency
        CONTEXT.progress = None

    def seek(self, var: str) -> Screen | None:  # pragma: no cover - the planner provides it
        raise NotImplementedError

    def candidates(self, var: str) -> list[tuple[Block, dict[str, Any]]]:  # pragma: no cover
        raise NotImplementedError

    def ensure(self, names: tuple[str, ...] | frozenset[str] | set[str]) -> None:
        """Graph fast path: seek every free name an expression reads before running it."""
        ns = self.ns
        builtins = self.iv.builtins
        for name in names:
            if name in ns or name in builtins:
                continue
            if "." in name or "[" in name:
                self.ensure_path(name)
            elif name in self.iv.providers or name in self.iv.events:
                self.need(name)

    def ensure_path(self, path: str) -> None:
        """`user.name.first` read for sure: ask its undefined parts in order, as Python would
        evaluate them. Methods, properties and list items left for gathering stop the walk."""
        root, steps = varpath.parse(path)
        if root not in self.ns:
            if root in self.iv.builtins or not (root in self.iv.providers or root in self.iv.events):
                return
            self.need(root)
        obj = self.ns.get(root)
        done: list[tuple[str, Any]] = []
        for kind, key in steps:
            done.append((kind, key))
            if not isinstance(obj, DAObject):
                return
            if kind == "attr":
                if key in obj.__dict__:
                    obj = obj.__dict__[key]
                    continue
                if hasattr(type(obj), key) or isinstance(obj, DAList | DADict):
                    return
                partial = varpath.render(root, tuple(done))
                if not self.candidates(partial):
                    return
                self.need(partial)
                obj = obj.__dict__.get(key)
            else:
                elements = getattr(obj, "elements", None)
                if isinstance(elements, list) and isinstance(key, int) and -len(elements) <= key < len(elements):
                    obj = elements[key]
                elif isinstance(elements, dict) and key in elements:
                    obj = elements[key]
                else:
                    return

    def need(self, var: str) -> None:
        screen = self.seek(var)
        if screen is not None:
            raise ScreenReady(screen)

    def guarded(self, fn: Any, *args: Any, where: Block | None = None) -> Any:
        """Run `fn`, seeking any variable it finds undefined, until it completes. A group whose
        gathering stopped to ask stays in gathering mode while that variable is sought (its text
        may print the group), and leaves it before `fn` runs again (docassemble resets it then)."""
        names = GATHERING.names
        gathering = frozenset(names)
        for _ in range(LOOP_LIMIT):
            if names and names != gathering:
                names.intersection_update(gathering)
            try:
                return fn(*args)
            except (NameError, UndefinedAttribute, UndefinedItem) as exc:
                name = missing_name(exc)
                if name is None or name in ("__builtins__",):
                    raise self.error(f"{exc}", where) from exc
                if name[:1] in (".", "["):  # an attribute of an object made in code, not yet named
                    if self.adopt_names():
                        continue
                    raise self.error(f"an object made in code has no variable name ({name[1:]} is not defined)",
                                     where) from exc
                STATS.discoveries += 1
                self.need(name)
            except ValidationFailure:
                raise
            except SandboxError as exc:
                raise self.error(str(exc), where) from exc
            except (ScreenReady, InterviewError):
                raise
            except Exception as exc:  # noqa: BLE001 - firm code can raise anything; report it
                raise self.error(f"{type(exc).__name__}: {exc}", where) from exc
        raise self.error("the interview keeps asking for the same thing (loop limit)", where)

    def adopt_names(self) -> bool:
        """Name the objects code stored in top-level variables (`gate = DAObject()` -> `gate`)."""
        renamed = False
        for key, value in list(self.ns.items()):
            if isinstance(value, DAObject) and value.instanceName[:1] in ("", ".", "[") \
                    and key not in SCRATCH and not key.startswith("_"):
                adopt(value, key)
                renamed = True
        return renamed

    def error(self, message: str, block: Block | None) -> InterviewError:
        if block is None:
            return InterviewError(message)
        return InterviewError(message, block.file, block.line)

    def eval(self, expr: Compiled, block: Block | None = None) -> Any:
        self.ensure(expr.eager)
        return self.guarded(expr.run, self.ns, where=block)

    def render(self, text: Text | None, block: Block | None = None) -> str:
        if text is None:
            return ""
        if text.template is None:
            return text.source
        self.ensure(text.eager)
        return str(self.guarded(text.render, self.ns, self.iv.builtins, where=block))

    # -- the walk --------------------------------------------------------------------------

    def conditions(self, block: Block) -> bool:
        return all(self.eval(c, block) for c in block.if_exprs)

    def bind(self, bindings: dict[str, Any]) -> dict[str, Any]:
        saved = {}
        for k, v in decode_bindings(self.ns, bindings).items():
            saved[k] = self.ns.get(k, MISSING)
            self.ns[k] = v
        return saved

    def unbind(self, saved: dict[str, Any]) -> None:
        for k, v in saved.items():
            if v is MISSING:
                self.ns.pop(k, None)
            else:
                self.ns[k] = v

    def field_hidden(self, block: Block, var: str) -> bool:
        on_screen = {f.var for f in block.fields if f.var}
        for f in block.fields:
            if f.var != var:
                continue
            return not self.visible_server(f, on_screen)
        return False

    def visible_server(self, f: FieldSpec, on_screen: set[str]) -> bool:
        for v in f.visibility:
            if v.js is not None or (v.var is not None and v.var in on_screen):
                continue  # decided by the browser / by the posted answers
            if v.code is not None:
                shown = bool(self.eval(v.code))
            elif v.var is not None:
                value = self.eval_var(v.var)
                shown = (value == v.value) if v.has_value else bool(value)
            else:
                continue
            if v.hide:
                shown = not shown
            if not shown:
                return False
        return True

    def eval_var(self, var: str) -> Any:
        if not varpath.is_defined(self.ns, var):
            self.need(var)
        return varpath.lookup(self.ns, var)
