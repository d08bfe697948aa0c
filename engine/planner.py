"""Choose the next screen (`plan`), and move around what was answered (`go_back`, `revisit`).

The plan walks the interview's initial and mandatory blocks in file order. Before any
expression runs, the variables it reads (known from the compiled graph) are checked against
the answers: a missing one is sought directly from the blocks that define it (the last one
first, `if:` respected), so the common path raises no exception and never restarts from the
top. Only where the graph cannot know (code that reads object attributes, loops, gathering)
does an undefined-name error from the sandbox send the planner to seek that variable: the
docassemble fallback.
"""

from __future__ import annotations

from typing import Any

from engine import varpath
from engine.answers import apply, materialise
from engine.blocks import Block
from engine.context import DEPTH_LIMIT, LOOP_LIMIT, MISSING, STATS, ScreenReady, encode_bindings, missing_name
from engine.errors import InterviewError
from engine.functions import CONTEXT
from engine.groups import GATHERING, DADict, DAList
from engine.interview import Interview
from engine.objects import DAObject, DATemplate, UndefinedAttribute, UndefinedItem, make
from engine.sandbox import Compiled
from engine.screen import Done, Screen
from engine.screens import ScreenBuilder
from engine.state import State

__all__ = ["apply", "go_back", "plan", "revisit"]


class CircularDependency(InterviewError):
    """Defining `var` needed `var` itself. The candidate that did so is skipped for the next one."""

    def __init__(self, var: str, message: str) -> None:
        super().__init__(message)
        self.var = var


class _Run(ScreenBuilder):
    """One planning step over one session: built per call, so it holds no state of its own
    beyond the walk in progress."""

    def plan(self) -> Screen | Done:
        for var in self.iv.reconsider_vars:
            varpath.delete(self.ns, var)
        GATHERING.names.clear()
        try:
            result = self._plan()
            if isinstance(result, Done) or (result.is_end and not self.state.revisit):
                try:
                    self.ensure_accord()
                except ScreenReady as ready:
                    return ready.screen
            return result
        finally:
            self.ns.pop("__builtins__", None)
            GATHERING.names.clear()

    def ensure_accord(self) -> None:
        """Before the interview ends, ask whatever the agreement, its parties and the payment
        read, so the signing ceremony never meets an unanswered variable."""
        accord = self.iv.accord
        if accord.agreement is not None and accord.agreement.condition is not None:
            if not self.eval(accord.agreement.condition):
                return  # this session ends without an agreement: nothing to sign or pay
        if accord.agreement is not None:
            for expr in (accord.agreement.region, accord.agreement.date, accord.agreement.language):
                if expr is not None:
                    self.eval(expr)
            if accord.agreement.title is not None:
                self.render(accord.agreement.title)
        for party in accord.parties:
            if party.condition is not None and not self.eval(party.condition):
                continue
            for expr in (party.name, party.email, party.phone):
                if expr is not None:
                    self.eval(expr)
        payment = accord.payment
        if payment is not None and (payment.condition is None or self.eval(payment.condition)):
            self.eval(payment.amount)
            if payment.description is not None:
                self.render(payment.description)

    def _plan(self) -> Screen | Done:
        try:
            if self.state.revisit:
                screen = self.revisit_screen(self.state.revisit)
                if screen is not None:
                    return screen
            for _ in range(LOOP_LIMIT):
                GATHERING.names.clear()
                try:
                    return self.walk()
                except (NameError, UndefinedAttribute, UndefinedItem) as exc:
                    name = missing_name(exc)
                    if name is None:
                        raise
                    STATS.discoveries += 1
                    self.need(name)
            raise InterviewError("the interview did not settle on a question (loop limit)")
        except ScreenReady as ready:
            return ready.screen

    def walk(self) -> Screen | Done:
        done = self.state.done
        for block in self.iv.ordered:
            if block.initial:
                self.run_code(block)
                if CONTEXT.language != self.lang:  # set_language() in an initial block
                    self.lang = self.state.lang = CONTEXT.language
                    self.has_language = self.lang in self.iv.block_languages
                continue
            if block.id in done:
                continue
            if block.kind == "question" and block.language not in ("*", self.lang) and self.has_language:
                continue
            if block.mandatory is not True and block.mandatory is not False:
                if not self.eval(block.mandatory, block):
                    continue
            if not self.conditions(block):
                continue
            for n in block.need:
                self.eval(n, block)
            if block.kind == "code":
                self.run_code(block)
                done.add(block.id)
            elif block.kind in ("objects", "template", "table", "data", "attachment"):
                self.define(block)
                done.add(block.id)
            else:
                return self.ask(block, None, {})
        return Done()

    def run_code(self, block: Block) -> None:
        if block.steps is not None:
            self.run_steps(block.steps, block)
        elif block.code is not None:
            self.ensure(block.code.eager)
            self.guarded(block.code.run, self.ns, where=block)
        if block.code is not None and "(" in block.code.source:  # only a call can make a new object
            self.adopt_names()

    def run_steps(self, steps: list[Any], block: Block) -> None:
        ns = self.ns
        for step in steps:
            kind = step[0]
            if kind == "need":
                var = step[1]
                if var in ns:
                    continue
                if "." in var or "[" in var:
                    if varpath.is_defined(ns, var):
                        continue
                self.need(var)
                if not varpath.is_defined(ns, var):
                    self.guarded(varpath.lookup, ns, var, where=block)
            elif kind == "if":
                self.run_steps(step[2] if self.eval(step[1], block) else step[3], block)
            else:
                code: Compiled = step[1]
                if step[2]:
                    self.ensure(code.eager)
                self.guarded(code.run, ns, where=block)

    # -- seeking a variable ----------------------------------------------------------------

    def candidates(self, var: str) -> list[tuple[Block, dict[str, Any]]]:
        iv = self.iv
        out: list[tuple[Block, dict[str, Any]]] = [(b, {}) for b in iv.candidates(var, self.lang)]
        if "[" in var:
            for pattern, bindings in varpath.generalise(var):
                out += [(b, bindings) for b in iv.candidates(pattern, self.lang)]
        if iv.generic_providers and ("." in var or "[" in var):
            root, steps = varpath.parse(var)
            obj: Any = self.ns.get(root, MISSING)
            for cut in range(len(steps)):
                if not isinstance(obj, DAObject):
                    break
                rest = varpath.render("x", steps[cut:])
                for cls in type(obj).__mro__:
                    table = iv.generic_providers.get(cls.__name__)
                    if table and rest in table:
                        out += [(b, {"x": obj}) for b in iv._by_language(table[rest], self.lang)]
                    if table:
                        for pattern, bindings in varpath.generalise(rest) if "[" in rest else []:
                            if pattern in table:
                                out += [(b, {"x": obj, **bindings}) for b in table[pattern]]
                kind, key = steps[cut]
                try:
                    obj = varpath._get(obj, kind, key, "")
                except (LookupError, AttributeError):
                    break
        return out

    def seek(self, var: str) -> Screen | None:
        """Define `var`: run the code that computes it, or return the screen that asks it."""
        if var in self.seeking:
            chain = " -> ".join([*self.seeking, var])
            raise CircularDependency(var, f"circular dependency: {chain}")
        if len(self.seeking) > DEPTH_LIMIT:
            raise InterviewError(f"dependencies nest too deeply while seeking {var}")
        self.seeking.append(var)
        try:
            return self._seek(var)
        finally:
            self.seeking.pop()

    def _seek(self, var: str) -> Screen | None:
        root = varpath.parse(var)[0]
        if root != var and root not in self.ns and root in self.iv.providers:
            screen = self.seek(root)  # `user.name.first` needs `user` (its objects block) first
            if screen is not None:
                return screen
        candidates = self.candidates(var)
        if not candidates:
            root = varpath.parse(var)[0]
            if root != var and root not in self.ns:
                return self.seek(root)
            raise InterviewError(f"there is no question or code that defines {var}")
        circular: CircularDependency | None = None
        for block, bindings in candidates:
            saved = self.bind(bindings)
            try:
                if not self.conditions(block):
                    continue
                if block.kind == "question":
                    if block.qtype == "fields" and not block.event and self.field_hidden(block, var):
                        continue
                    materialise(self.ns, var)
                    gathering = self.containers(var)
                    GATHERING.names.update(gathering)
                    try:
                        return self.ask(block, var, bindings)
                    finally:
                        GATHERING.names.difference_update(gathering)
                if block.kind == "code":
                    self.run_code(block)
                else:
                    self.define(block)
                if varpath.is_defined(self.ns, var):
                    return None
            except CircularDependency as exc:
                if exc.var != var:
                    raise
                circular = exc  # docassemble's rule: a block that needs what it defines is skipped
            finally:
                self.unbind(saved)
        if circular is not None:
            raise circular
        raise InterviewError(f"no block defined {var} (every candidate was skipped or did not set it)")

    def containers(self, var: str) -> set[str]:
        """Lists and dicts along `var`'s path: they are being gathered while `var` is asked."""
        found: set[str] = set()
        root, steps = varpath.parse(var)
        obj: Any = self.ns.get(root, MISSING)
        for kind, key in steps:
            if isinstance(obj, DAList | DADict):
                found.add(obj.instanceName)
            try:
                obj = varpath._get(obj, "item" if kind == "item_var" else kind, key, "")
            except (LookupError, AttributeError):
                break
        return found

    def define(self, block: Block) -> None:
        """Non-question providers: objects, templates, tables, data, documents."""
        if block.kind == "objects":
            for name, cls_expr in block.objects:
                if "[" in name:  # `kids[i].pet`: only for the index being sought, named concretely
                    root, steps = varpath.parse(name)
                    if any(kind == "item_var" and key not in self.ns for kind, key in steps):
                        continue
                    name = varpath.render(root, tuple(
                        ("item", self.ns[key]) if kind == "item_var" else (kind, key) for kind, key in steps))
                if varpath.is_defined(self.ns, name):
                    continue
                cls = self.eval(cls_expr, block)
                try:
                    varpath.assign(self.ns, name, make(cls, name))
                except (TypeError, varpath.BadName) as exc:
                    raise self.error(f"cannot create {name}: {exc}", block) from exc
        elif block.kind == "template":
            content = self.render(block.template_content, block)
            subject = self.render(block.template_subject, block)
            for name in block.defines:
                varpath.assign(self.ns, name, _TemplateValue(name, subject, content))
        elif block.kind == "data":
            for name in block.defines:
                varpath.assign(self.ns, name, block.data_value)
        elif block.kind == "table":
            rows = self.eval(block.table["rows"], block) if block.table.get("rows") else []
            header = [self.render(h, block) for h, _ in block.table["columns"]]
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for index, item in enumerate(list(rows.values()) if isinstance(rows, DADict) else rows):
                saved = self.bind({"row_item": item, "row_index": index})
                try:
                    cells = [str(self.eval(e, block)) if e else "" for _, e in block.table["columns"]]
                finally:
                    self.unbind(saved)
                lines.append("| " + " | ".join(cells) + " |")
            for name in block.defines:
                varpath.assign(self.ns, name, _TemplateValue(name, "", "\n".join(lines)))
        elif block.kind == "attachment":
            for att in block.attachments:
                att_name = att.get("variable name")
                if att_name:
                    content = self.render(att.get("content"), block) if att.get("content") else ""
                    varpath.assign(self.ns, str(att_name), _TemplateValue(str(att_name), "", content))

    # -- building a screen -----------------------------------------------------------------

    def choose_question(self, var: str) -> dict[str, Any] | None:
        """The question block that would ask `var` now (`if:` respected), as a revisit target."""
        try:
            for block, bindings in self.candidates(var):
                if block.kind != "question":
                    continue
                saved = self.bind(bindings)
                try:
                    if not self.conditions(block):
                        continue
                except (ScreenReady, InterviewError):
                    continue
                finally:
                    self.unbind(saved)
                return {"block": block.id, "bindings": encode_bindings(bindings), "sought": var}
        finally:
            self.ns.pop("__builtins__", None)
        return None

    def revisit_screen(self, info: dict[str, Any]) -> Screen | None:
        pending = list(info.get("pending", []))
        while "block" not in info:
            if not pending:
                self.state.revisit = None
                return None
            target = self.choose_question(pending.pop(0))
            self.ns["__builtins__"] = self.iv.builtins
            if target is not None:
                info = self.state.revisit = {**target, "then": pending}
        block = self.iv.by_id.get(info.get("block", ""))
        if block is None or block.kind != "question":
            self.state.revisit = None
            return None
        return self.ask(block, info.get("sought"), dict(info.get("bindings", {})))


def _TemplateValue(name: str, subject: str, content: str) -> DATemplate:  # noqa: N802 - reads as a class
    return DATemplate(name, subject=subject, content=content)


def plan(interview: Interview, state: State) -> Screen | Done:
    """The next screen to show, or Done. May compute variables (code blocks) into `state`."""
    return _Run(interview, state).plan()


def go_back(interview: Interview, state: State) -> bool:
    """Show the previous screen again; later answers are kept. False if there is none."""
    if not state.history:
        return False
    entry = state.history.pop()
    state.revisit = {"block": entry["block"], "bindings": entry.get("bindings", {}), "sought": entry.get("sought"),
                     "back": True}
    return True


def revisit(interview: Interview, state: State, var: str) -> bool:
    """Re-ask the question that defines `var` (a review screen's Edit link). The review item's
    `follow up` variables are asked after it, and its `recompute` ones forgotten."""
    name = varpath.normalise(var)
    then: list[str] = []
    recompute: list[str] = []
    for block in interview.blocks:
        for item in block.review:
            if name in item.vars:
                then = [v for v in item.vars if v != name] + item.follow_up
                recompute = list(item.recompute)
    target = _Run(interview, state).choose_question(name)
    if target is None:
        return False
    state.revisit = {**target, "then": then, "recompute": recompute}
    return True
