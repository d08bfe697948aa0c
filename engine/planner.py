"""Choose the next screen, and apply the answers to it.

The plan walks the interview's initial and mandatory blocks in file order. Before any
expression runs, the variables it reads (known from the compiled graph) are checked against
the answers: a missing one is sought directly from the blocks that define it (the last one
first, `if:` respected), so the common path raises no exception and never restarts from the
top. Only where the graph cannot know (code that reads object attributes, loops, gathering)
does an undefined-name error from the sandbox send the planner to seek that variable: the
docassemble fallback.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine import coerce, functions, jscond, objects, varpath
from engine.blocks import Block, ChoiceSpec, FieldSpec, Visibility
from engine.errors import InterviewError
from engine.functions import CONTEXT, ValidationFailure
from engine.interview import Interview
from engine.objects import (
    DAChecklist,
    DADict,
    DAFile,
    DAList,
    DAObject,
    DATemplate,
    UndefinedAttribute,
    UndefinedItem,
    as_dadatetime,
    make,
)
from engine.sandbox import Compiled, SandboxError
from engine.screen import Button, Choice, Done, Field, FieldError, ReviewItem, Screen, ValidationErrors
from engine.state import State
from engine.templates import Text, UndefinedName

LOOP_LIMIT = 500
DEPTH_LIMIT = 60
_MISSING = object()


class _ScreenReady(Exception):  # noqa: N818 - internal: unwinds a nested seek with its screen
    def __init__(self, screen: Screen) -> None:
        self.screen = screen


def _missing_name(exc: BaseException) -> str | None:
    if isinstance(exc, UndefinedName | UndefinedAttribute | UndefinedItem):
        return exc.var
    if isinstance(exc, NameError) and exc.name:
        return exc.name
    return None


class _Run:
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

    # -- evaluation ------------------------------------------------------------------------
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
            raise _ScreenReady(screen)

    def guarded(self, fn: Any, *args: Any, where: Block | None = None) -> Any:
        """Run `fn`, seeking any variable it finds undefined, until it completes."""
        for _ in range(LOOP_LIMIT):
            try:
                return fn(*args)
            except (NameError, UndefinedAttribute, UndefinedItem) as exc:
                name = _missing_name(exc)
                if name is None or name in ("__builtins__",):
                    raise self.error(f"{exc}", where) from exc
                self.need(name)
            except ValidationFailure:
                raise
            except SandboxError as exc:
                raise self.error(str(exc), where) from exc
            except (_ScreenReady, InterviewError):
                raise
            except Exception as exc:  # noqa: BLE001 - firm code can raise anything; report it
                raise self.error(f"{type(exc).__name__}: {exc}", where) from exc
        raise self.error("the interview keeps asking for the same thing (loop limit)", where)

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
    def plan(self) -> Screen | Done:
        for var in self.iv.reconsider_vars:
            varpath.delete(self.ns, var)
        try:
            result = self._plan()
            if isinstance(result, Done) or (result.is_end and not self.state.revisit):
                try:
                    self.ensure_accord()
                except _ScreenReady as ready:
                    return ready.screen
            return result
        finally:
            self.ns.pop("__builtins__", None)

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

    def _plan(self) -> Screen | Done:
        try:
            if self.state.revisit:
                screen = self.revisit_screen(self.state.revisit)
                if screen is not None:
                    return screen
            for _ in range(LOOP_LIMIT):
                try:
                    return self.walk()
                except (NameError, UndefinedAttribute, UndefinedItem) as exc:
                    name = _missing_name(exc)
                    if name is None:
                        raise
                    self.need(name)
            raise InterviewError("the interview did not settle on a question (loop limit)")
        except _ScreenReady as ready:
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

    def conditions(self, block: Block) -> bool:
        return all(self.eval(c, block) for c in block.if_exprs)

    def run_code(self, block: Block) -> None:
        if block.steps is not None:
            self.run_steps(block.steps, block)
        elif block.code is not None:
            self.ensure(block.code.eager)
            self.guarded(block.code.run, self.ns, where=block)

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
            obj: Any = self.ns.get(root, _MISSING)
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
            raise InterviewError(f"circular dependency: {chain}")
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
                    objects.GATHERING.update(gathering)
                    try:
                        return self.ask(block, var, bindings)
                    finally:
                        objects.GATHERING.difference_update(gathering)
                if block.kind == "code":
                    self.run_code(block)
                else:
                    self.define(block)
                if varpath.is_defined(self.ns, var):
                    return None
            finally:
                self.unbind(saved)
        raise InterviewError(f"no block defined {var} (every candidate was skipped or did not set it)")

    def containers(self, var: str) -> set[str]:
        """Lists and dicts along `var`'s path: they are being gathered while `var` is asked."""
        found: set[str] = set()
        root, steps = varpath.parse(var)
        obj: Any = self.ns.get(root, _MISSING)
        for kind, key in steps:
            if isinstance(obj, DAList | DADict):
                found.add(obj.instanceName)
            try:
                obj = varpath._get(obj, "item" if kind == "item_var" else kind, key, "")
            except (LookupError, AttributeError):
                break
        return found

    def bind(self, bindings: dict[str, Any]) -> dict[str, Any]:
        saved = {}
        for k, v in bindings.items():
            saved[k] = self.ns.get(k, _MISSING)
            self.ns[k] = v
        return saved

    def unbind(self, saved: dict[str, Any]) -> None:
        for k, v in saved.items():
            if v is _MISSING:
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

    def define(self, block: Block) -> None:
        """Non-question providers: objects, templates, tables, data, documents."""
        if block.kind == "objects":
            for name, cls_expr in block.objects:
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
    def ask(self, block: Block, sought: str | None, bindings: dict[str, Any]) -> Screen:
        saved = self.bind(bindings)
        try:
            return self._ask(block, sought, bindings)
        finally:
            self.unbind(saved)

    def _ask(self, block: Block, sought: str | None, bindings: dict[str, Any]) -> Screen:
        for n in block.need:
            self.eval(n, block)
        question = self.render(block.question, block)
        subquestion = self.render(block.subquestion, block)
        fields: list[Field] = []
        buttons: list[Button] = []
        review: list[ReviewItem] = []
        qtype = block.qtype
        kind = qtype
        if qtype == "fields":
            on_screen = {f.var for f in block.fields if f.var}
            keys = {f.var: self.concrete(f.var) for f in block.fields if f.var}
            for f in block.fields:
                if not self.visible_server(f, on_screen):
                    continue
                fields.append(self.build_field(block, f, keys))
            buttons.append(Button(self.render(block.continue_label) or _continue_word(self.lang)))
        elif qtype in ("yesno", "noyes", "yesnomaybe", "noyesmaybe"):
            yes, no = (True, False) if qtype.startswith("yes") else (False, True)
            buttons = [Button(_yes(self.lang), yes), Button(_no(self.lang), no)]
            if qtype.endswith("maybe"):
                buttons.append(Button(_maybe(self.lang), None))
            fields.append(Field(key=self.concrete(block.target), var=self.concrete(block.target), datatype="yesno",
                                required=True))
        elif qtype in ("field_buttons", "field_choices"):
            choices = self.build_choices(block.buttons, block)
            target = self.concrete(block.target)
            if qtype == "field_buttons":
                buttons = [Button(c.label, c.value, help=c.help) for c in choices]
                fields.append(Field(key=target, var=target, datatype="buttons", choices=tuple(choices)))
                kind = "buttons"
            else:
                fields.append(Field(key=target, var=target, datatype="radio", choices=tuple(choices),
                                    default=self.current(target)))
                buttons.append(Button(self.render(block.continue_label) or _continue_word(self.lang)))
                kind = "choices"
        elif qtype == "continue":
            acknowledged = block.target or block.continue_field
            buttons.append(Button(self.render(block.continue_label) or _continue_word(self.lang)))
            if acknowledged:
                ack = self.concrete(acknowledged)
                fields.append(Field(key=ack, var=ack, datatype="continue", required=False))
        elif qtype == "signature":
            target = self.concrete(block.target)
            fields.append(Field(key=target, var=target, datatype="signature", label=question))
            buttons.append(Button(self.render(block.continue_label) or _continue_word(self.lang)))
        elif qtype == "review":
            for item in block.review:
                if item.show_if is not None and not self.eval(item.show_if, block):
                    continue
                if item.note is not None:
                    review.append(ReviewItem("", self.render(item.note, block), ()))
                    continue
                if item.vars and not all(varpath.is_defined(self.ns, v) for v in item.vars):
                    continue  # docassemble hides review items whose variables are not answered yet
                text = self.render(item.button, block) if item.button else ""
                review.append(ReviewItem(self.render(item.label, block), text, tuple(item.vars)))
            if block.continue_field:  # without one, a review is a place to stop and edit
                buttons.append(Button(self.render(block.continue_label) or _continue_word(self.lang)))
        elif qtype == "buttons":
            for c in block.buttons:
                if c.show_if is not None and not self.eval(c.show_if, block):
                    continue
                value = block.buttons.index(c) if c.code is not None else c.value
                buttons.append(Button(self.render(c.label, block), value, action=c.action))
            kind = "buttons"
        else:
            kind = "end"
        if block.continue_field and qtype in ("fields", "review", "field_choices", "signature"):
            cf = self.concrete(block.continue_field)
            fields.append(Field(key=cf, var=cf, datatype="continue", required=False))
        is_end = not any(f.var for f in fields) and not any(b.action == "continue" for b in buttons)
        if qtype == "buttons" and block.mandatory is not False and any(b.action == "continue" for b in buttons):
            is_end = False
        if is_end:
            kind = "end"
        terms = {**{k: self.render(v) for k, v in self.iv.terms.items()},
                 **{k: self.render(v) for k, v in block.terms.items()}}
        if block.section is not None:
            self.state.section = block.section  # the key; its label depends on the language
        section_list = self.iv.sections.get(self.lang) or self.iv.sections.get(self.iv.default_language) or next(
            iter(self.iv.sections.values()), [])
        labels = dict(section_list)
        section = labels.get(self.state.section, self.state.section) if self.state.section else None
        progress: int | None = None
        if self.iv.features.get("progress bar"):
            progress = block.progress if block.progress is not None else (CONTEXT.progress or self.estimate())
        return Screen(
            block_id=block.id, kind=kind, question=question.strip(), subquestion=subquestion.strip(),
            fields=tuple(fields), buttons=tuple(buttons), review=tuple(review),
            help=self.render(block.help, block) if block.help else None,
            under=self.render(block.under, block) if block.under else "",
            continue_label=buttons[0].label if buttons else "",
            back_button=bool(self.state.history) and bool(self.iv.features.get("question back button", False)
                                                         or self.iv.features.get("navigation back button", True))
            and block.back_button is not False,
            progress=progress, section=section, sections=tuple(label for _, label in section_list), terms=terms,
            attachments=tuple(self.attachments(block)), language=self.lang,
            bindings={k: v for k, v in bindings.items() if isinstance(v, str | int | float | bool)},
            sought=sought, is_end=is_end,
        )

    def attachments(self, block: Block) -> list[dict[str, Any]]:
        out = []
        for att in block.attachments:
            info: dict[str, Any] = {}
            for key in ("name", "filename", "description"):
                if isinstance(att.get(key), Text):
                    info[key] = self.render(att[key], block)
            if isinstance(att.get("content"), Text):
                info["content"] = self.render(att["content"], block)
            if "fields" in att:  # docassemble assembles the document, so its fields' variables get asked
                info["fields"] = self.render_fields(att["fields"], block)
            if isinstance(att.get("docx text"), Text):
                self.render(att["docx text"], block)  # asks what the DOCX template's tags read
            for key in ("docx template file", "pdf template file", "valid formats", "variable name"):
                if key in att:
                    info[key] = att[key]
            out.append(info)
        return out

    def render_fields(self, value: Any, block: Block) -> Any:
        if isinstance(value, Text):
            return self.render(value, block)
        if isinstance(value, list):
            return [self.render_fields(v, block) for v in value]
        if isinstance(value, dict):
            return {k: self.render_fields(v, block) for k, v in value.items()}
        return value

    def estimate(self) -> int:
        names = self.iv.order_names
        if not names:
            return min(95, 5 * len(self.state.history))
        answered = sum(1 for n in names if varpath.is_defined(self.ns, n))
        return int(100 * answered / len(names))

    def concrete(self, var: str | None) -> str:
        if var is None:
            return ""
        if "[" not in var and "x" != varpath.parse(var)[0]:
            return var
        root, steps = varpath.parse(var)
        out: list[tuple[str, Any]] = []
        for kind, key in steps:
            if kind == "item_var" and key in self.ns:
                out.append(("item", self.ns[key]))
            else:
                out.append((kind, key))
        if root == "x" and isinstance(self.ns.get("x"), DAObject):
            return varpath.render(self.ns["x"].instanceName, tuple(out))
        return varpath.render(root, tuple(out))

    def current(self, var: str) -> Any:
        try:
            return varpath.lookup(self.ns, var)
        except (NameError, LookupError, AttributeError):
            return None

    def build_choices(self, specs: list[ChoiceSpec], block: Block) -> list[Choice]:
        out = []
        for c in specs:
            if c.show_if is not None and not self.eval(c.show_if, block):
                continue
            out.append(Choice(self.render(c.label, block), c.value, self.render(c.help, block) if c.help else None))
        return out

    def build_field(self, block: Block, f: FieldSpec, keys: dict[str, str]) -> Field:
        if f.var is None:
            return Field(key=f"note{f.line}", var=None, datatype="note", note=self.render(f.note, block),
                         required=False)
        var = keys[f.var]
        choices: list[Choice] = self.build_choices(f.choices, block)
        if f.choices_code is not None:
            raw = self.eval(f.choices_code, block)
            choices = _choices_from_value(raw)
        if f.exclude is not None:
            excluded = self.eval(f.exclude, block)
            excluded = excluded if isinstance(excluded, list | tuple | set) else [excluded]
            choices = [c for c in choices if c.value not in excluded]
        if f.datatype in ("checkboxes", "multiselect"):
            nota = f.none_of_the_above
            if nota is None and f.datatype == "checkboxes":
                nota = True
            if nota:
                label = self.render(nota, block) if isinstance(nota, Text) else _nota(self.lang)
                choices.append(Choice(label.strip(), "None", exclusive=True))
        required = f.required if isinstance(f.required, bool) else bool(self.eval(f.required, block))
        current = self.current(var)
        default: Any = current
        if current is None:
            if isinstance(f.default, Text):
                default = self.render(f.default, block)
            else:
                default = f.default
        elif isinstance(current, DADict):
            default = [k for k, v in current.elements.items() if v]
        show_if = hide_if = None
        js_show = next((v.js for v in f.visibility if v.js is not None and not v.hide), None)
        js_hide = next((v.js for v in f.visibility if v.js is not None and v.hide), None)
        for v in f.visibility:
            if v.var is not None and v.var in keys:
                target = (keys[v.var], v.value if v.has_value else True)
                if v.hide:
                    hide_if = target
                else:
                    show_if = target
        return Field(
            key=var, var=var, datatype=f.datatype, label=self.render(f.label, block).strip(), required=required,
            default=default, hint=self.render(f.hint, block) if f.hint else None,
            help=self.render(f.help, block) if f.help else None,
            note=self.render(f.note, block) if f.note else None, choices=tuple(choices),
            min=self.limit(f.min, block), max=self.limit(f.max, block), minlength=f.minlength,
            maxlength=f.maxlength, step=self.limit(f.step, block), show_if=show_if, hide_if=hide_if, accept=f.accept,
            js_show_if=js_show, js_hide_if=js_hide,
            validation_messages={k: self.render(v, block) for k, v in f.validation_messages.items()},
        )

    def limit(self, value: Any, block: Block) -> Any:
        """min/max/step as data: numbers stay numbers, dates become ISO text."""
        if isinstance(value, Text):
            value = self.render(value, block).strip()
        elif isinstance(value, Compiled):
            value = self.eval(value, block)
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

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
                except (_ScreenReady, InterviewError):
                    continue
                finally:
                    self.unbind(saved)
                return {"block": block.id, "bindings": bindings, "sought": var}
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


def _choices_from_value(raw: Any) -> list[Choice]:
    out = []
    items = list(raw.items()) if isinstance(raw, dict) else raw
    for item in items or []:
        if isinstance(item, tuple) and len(item) == 2:
            out.append(Choice(str(item[1]), item[0]))
        elif isinstance(item, dict) and len(item) == 1:
            (value, label), = item.items()
            out.append(Choice(str(label), value))
        elif isinstance(item, list) and len(item) == 2:
            out.append(Choice(str(item[1]), item[0]))
        else:
            out.append(Choice(str(item), item))
    return out


def _word(lang: str, table: dict[str, str], default: str) -> str:
    return table.get(lang, default)


def _continue_word(lang: str) -> str:
    return _word(lang, {"vi": "Tiếp tục", "es": "Seguir", "fr": "Continuer"}, "Continue")


def _yes(lang: str) -> str:
    return _word(lang, {"vi": "Có", "es": "Sí", "fr": "Oui"}, "Yes")


def _no(lang: str) -> str:
    return _word(lang, {"vi": "Không", "es": "No", "fr": "Non"}, "No")


def _maybe(lang: str) -> str:
    return "Tôi không biết" if lang == "vi" else "I don’t know"


def _nota(lang: str) -> str:
    return "Không mục nào ở trên" if lang == "vi" else "None of the above"


# -- public functions ------------------------------------------------------------------------

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


def apply(interview: Interview, state: State, screen: Screen, answers: dict[str, Any],
          button: int | None = None) -> State | ValidationErrors:
    """Validate the answers to `screen` and store them. On errors nothing changes."""
    return _Apply(interview, state, screen).run(answers, button)


class _Apply:
    def __init__(self, iv: Interview, state: State, screen: Screen) -> None:
        self.iv = iv
        self.state = state
        self.screen = screen
        self.lang = state.lang

    def msg(self, f: Field, code: str, **values: Any) -> str:
        custom = f.validation_messages.get(code) or (
            f.validation_messages.get("required") if code in ("checkboxes", "checkboxes_plain", "choice") else None)
        if custom:
            return custom.strip()
        return coerce.message(code, self.lang, **values)

    def run(self, answers: dict[str, Any], button: int | None) -> State | ValidationErrors:
        screen = self.screen
        block = self.iv.by_id.get(screen.block_id)
        if block is None:
            raise InterviewError(f"the screen {screen.block_id!r} is not part of this interview version")
        chosen: Button | None = None
        if button is not None:
            if not 0 <= button < len(screen.buttons):
                raise InterviewError(f"there is no button {button} on this screen")
            chosen = screen.buttons[button]
        elif screen.buttons:
            chosen = screen.buttons[0]
        if chosen is not None and chosen.action != "continue":
            return self.state  # exit/restart/leave are the front end's to carry out
        if chosen is not None and block.qtype == "buttons" and isinstance(chosen.value, int) and not isinstance(
                chosen.value, bool) and 0 <= chosen.value < len(block.buttons) and block.buttons[chosen.value].code:
            return self.run_button_code(block, block.buttons[chosen.value].code)
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        posted = self.visible_fields(answers)
        for f in screen.fields:
            if f.var is None or f.key not in posted:
                continue
            if f.datatype == "continue":
                values[f.var] = True
                continue
            if f.datatype in ("yesno",) and screen.kind in ("yesno", "noyes", "yesnomaybe", "noyesmaybe"):
                values[f.var] = chosen.value if chosen else answers.get(f.key)
                continue
            if f.datatype == "buttons":
                if chosen is None or button is None:
                    raw = answers.get(f.key)
                    match = [c for c in f.choices if str(c.value) == str(raw)]
                    if not match:
                        errors.append(FieldError(f.key, "choice", self.msg(f, "choice")))
                        continue
                    values[f.var] = match[0].value
                else:
                    values[f.var] = chosen.value
                continue
            ok, converted, err = self.convert(f, answers.get(f.key))
            if not ok:
                errors.append(FieldError(f.key, err[0], err[1]))
            elif converted is not _MISSING:
                values[f.var] = converted
        if errors:
            return ValidationErrors(tuple(errors))
        ns = self.state.namespace
        old = {var: _get_or_missing(ns, var) for var in values}
        bindings = dict(screen.bindings)
        ns["__builtins__"] = self.iv.builtins
        saved = {k: ns.get(k, _MISSING) for k in bindings}
        ns.update(bindings)
        try:
            for var, value in values.items():
                self.assign(var, value)
            if block.validation_code is not None:
                CONTEXT.namespace = ns
                CONTEXT.language = self.lang
                try:
                    block.validation_code.run(ns)
                except ValidationFailure as exc:
                    self.restore(old)
                    key = exc.field or (screen.fields[0].key if screen.fields else "")
                    return ValidationErrors((FieldError(key, "validation", exc.message),))
                except (SandboxError, NameError, AttributeError, LookupError, TypeError, ValueError) as exc:
                    self.restore(old)
                    raise InterviewError(f"validation code failed: {exc}", block.file, block.line) from exc
        finally:
            for k, v in saved.items():
                if v is _MISSING:
                    ns.pop(k, None)
                else:
                    ns[k] = v
            ns.pop("__builtins__", None)
        changes = {var: (None if old[var] is _MISSING else old[var], values[var]) for var in values
                   if old[var] is _MISSING or not _same(old[var], values[var])}
        changed = [var for var in changes if old[var] is not _MISSING]
        if changed:
            invalidate(self.iv, self.state, changed)
        if block.mandatory is not False and not block.event and block.kind == "question":
            self.state.done.add(block.id)
        if block.event and screen.sought and not values:
            self.state.done.add(block.id)
        self.state.record(block.id, changes)
        self.state.history.append({"block": block.id, "bindings": bindings, "sought": screen.sought})
        self.finish_revisit()
        return self.state

    def finish_revisit(self) -> None:
        """After an edit: forget what must be recomputed, then go on to the follow-ups."""
        info = self.state.revisit
        self.state.revisit = None
        if not info:
            return
        for var in info.get("recompute", []):
            varpath.delete(self.state.namespace, var)
        if info.get("then"):
            self.state.revisit = {"pending": list(info["then"])}

    def run_button_code(self, block: Block, code: Compiled) -> State:
        """A button that runs code (`- Yes: {code: ...}`): its assignments are the answer."""
        ns = self.state.namespace
        before = {name: _get_or_missing(ns, name) for name in code.assigns if _safe_var(name)}
        ns["__builtins__"] = self.iv.builtins
        CONTEXT.namespace = ns
        CONTEXT.language = self.lang
        try:
            code.run(ns)
        except (SandboxError, NameError, AttributeError, LookupError, TypeError, ValueError) as exc:
            raise InterviewError(f"button code failed: {exc}", block.file, block.line) from exc
        finally:
            ns.pop("__builtins__", None)
        changes = {}
        for name, old in before.items():
            new = _get_or_missing(ns, name)
            if new is not _MISSING and (old is _MISSING or not _same(old, new)):
                changes[name] = (None if old is _MISSING else old, new)
        if block.mandatory is not False:
            self.state.done.add(block.id)
        self.state.record(block.id, changes)
        self.state.history.append({"block": block.id, "bindings": dict(self.screen.bindings),
                                   "sought": self.screen.sought})
        self.finish_revisit()
        return self.state

    def visible_fields(self, answers: dict[str, Any]) -> set[str]:
        """Keys of fields that are shown, judged from the posted answers (same-screen `show if`,
        `js show if`); a field whose controlling field is hidden is hidden too."""
        values: dict[str, Any] = {}
        for f in self.screen.fields:
            raw = answers.get(f.key)
            ok, conv, _ = self.convert(f, raw, lenient=True)
            values[f.key] = conv if ok and conv is not _MISSING else raw
        return visible_keys(self.screen, values)

    def convert(self, f: Field, raw: Any, lenient: bool = False) -> tuple[bool, Any, tuple[str, str]]:
        dt_ = f.datatype
        blank = raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, list) and not raw)
        if dt_ in ("yesno", "noyes", "yesnowide", "noyeswide"):
            value = coerce.parse_bool(raw) if raw is not None else False
            if value is None:
                return False, None, ("invalid", self.msg(f, "invalid"))
            return True, (not value) if dt_.startswith("noyes") else value, ("", "")
        if dt_ in ("yesnoradio", "noyesradio", "yesnomaybe", "noyesmaybe"):
            if blank:
                if dt_.endswith("maybe") and raw is not None:
                    return True, None, ("", "")
                if f.required:
                    return False, None, ("required", self.msg(f, "required"))
                return True, _MISSING, ("", "")
            if str(raw).lower() in ("none", "maybe"):
                return True, None, ("", "")
            value = coerce.parse_bool(raw)
            if value is None:
                return False, None, ("invalid", self.msg(f, "invalid"))
            return True, (not value) if dt_.startswith("noyes") else value, ("", "")
        if dt_ in ("checkboxes", "multiselect"):
            selected = raw if isinstance(raw, list | tuple | set) else ([] if blank else [raw])
            exclusive = [c for c in f.choices if c.exclusive]
            picked = [c for c in f.choices if not c.exclusive and any(str(c.value) == str(s) for s in selected)]
            nota = bool(exclusive) and any(str(exclusive[0].value) == str(s) for s in selected)
            if nota:
                picked = []
            if not picked and not nota and (exclusive or f.required and dt_ == "multiselect"):
                if exclusive:
                    return False, None, ("checkboxes", self.msg(f, "checkboxes", nota=exclusive[0].label))
                return False, None, ("checkboxes_plain", self.msg(f, "checkboxes_plain"))
            box = DAChecklist(f.var or "", auto_gather=False, gathered=True)
            for c in f.choices:
                if not c.exclusive:
                    box.elements[c.value] = c in picked
            return True, box, ("", "")
        if blank:
            if f.required and dt_ not in ("file", "files", "camera"):
                return False, None, ("required", self.msg(f, "required"))
            if f.required:
                return False, None, ("file", self.msg(f, "file"))
            return True, ("" if dt_ in ("text", "area", "email", "password", "combobox", "radio", "dropdown",
                                        "datalist", "hidden") else None), ("", "")
        if dt_ in ("radio", "dropdown", "datalist") or (dt_ == "combobox" and False):
            match = [c for c in f.choices if str(c.value) == str(raw) or c.value == raw]
            if not match:
                return False, None, ("choice", self.msg(f, "choice"))
            return True, match[0].value, ("", "")
        if dt_ in ("number", "currency", "float", "range", "integer"):
            number = coerce.parse_number(raw)
            if number is None:
                code = "integer" if dt_ == "integer" else "number"
                return False, None, (code, self.msg(f, code))
            if dt_ == "integer" and number != number.to_integral_value():
                return False, None, ("integer", self.msg(f, "integer"))
            for bound, code, bad in ((f.min, "min", lambda a, b: a < b), (f.max, "max", lambda a, b: a > b)):
                if bound not in (None, ""):
                    limit = coerce.parse_number(bound)
                    if limit is not None and bad(number, limit):
                        shown = _plain_number(limit)
                        return False, None, (code, self.msg(f, code, **{code: shown}))
            result: Any = int(number) if dt_ == "integer" else float(number)
            return True, result, ("", "")
        if dt_ in ("date", "datetime"):
            parsed = coerce.parse_date(raw, day_first=self.lang == "vi")
            if parsed is None:
                return False, None, (dt_, self.msg(f, dt_))
            for bound, code, bad in ((f.min, "mindate", lambda a, b: a < b), (f.max, "maxdate", lambda a, b: a > b)):
                if bound not in (None, ""):
                    when = coerce.parse_date(bound)
                    if when is not None and bad(parsed, when):
                        functions.CONTEXT.language = self.lang
                        shown = functions.format_date(when, "dd/MM/yyyy" if self.lang == "vi" else "medium")
                        key = "min" if code == "mindate" else "max"
                        return False, None, (code, self.msg(f, code, **{key: shown}))
            return True, as_dadatetime(parsed if dt_ == "datetime" else parsed.date()), ("", "")
        if dt_ == "time":
            t = coerce.parse_time(raw)
            if t is None:
                return False, None, ("time", self.msg(f, "time"))
            return True, t, ("", "")
        if dt_ in ("file", "files", "camera", "signature"):
            if isinstance(raw, dict):
                return True, DAFile(f.var or "", **{k: v for k, v in raw.items() if isinstance(k, str)
                                                    and not k.startswith("_")}), ("", "")
            return True, DAFile(f.var or "", filename=str(raw)), ("", "")
        text = str(raw).strip() if dt_ != "area" else str(raw)
        if dt_ == "email" and not coerce.is_email(text):
            return False, None, ("email", self.msg(f, "email"))
        if f.minlength is not None and len(text) < f.minlength:
            return False, None, ("minlength", self.msg(f, "minlength", minlength=f.minlength))
        if f.maxlength is not None and len(text) > f.maxlength:
            return False, None, ("maxlength", self.msg(f, "maxlength", maxlength=f.maxlength))
        return True, text, ("", "")

    def assign(self, var: str, value: Any) -> None:
        ns = self.state.namespace
        materialise(ns, var)
        try:
            varpath.assign(ns, var, value)
        except (NameError, LookupError, AttributeError):
            root = varpath.parse(var)[0]
            if root not in ns:
                raise InterviewError(f"cannot set {var}: {root} does not exist yet") from None
            raise

    def restore(self, old: dict[str, Any]) -> None:
        ns = self.state.namespace
        for var, value in old.items():
            if value is _MISSING:
                varpath.delete(ns, var)
            else:
                varpath.assign(ns, var, value)


def invalidate(iv: Interview, state: State, changed: list[str]) -> None:
    """Forget what was computed from a changed answer (transitively), keep everything else."""
    ns = state.namespace
    seen: set[str] = set()
    todo = list(changed)
    while todo:
        var = todo.pop()
        root = varpath.parse(var)[0]
        for key in {var, root}:
            for dep in iv.dependents.get(key, ()):
                if dep not in seen:
                    seen.add(dep)
                    varpath.delete(ns, dep)
                    todo.append(dep)
            for block_id in iv.readers.get(key, ()):
                state.done.discard(block_id)


def materialise(ns: dict[str, Any], var: str) -> None:
    """Create the objects on the way to `var` the way Python would (`people[0]` of a list with
    an object type makes the item), so its answer has somewhere to go. Stops at anything missing."""
    root, steps = varpath.parse(var)
    obj = ns.get(root, _MISSING)
    for kind, key in steps[:-1]:
        if obj is _MISSING or kind == "item_var":
            return
        try:
            obj = getattr(obj, key) if kind == "attr" else obj[key]
        except (LookupError, AttributeError, TypeError, NameError):
            return


def visible_keys(screen: Screen, values: dict[str, Any]) -> set[str]:
    """Which fields of `screen` are shown for these (typed) answers. Front ends use it to
    decide what to draw without JavaScript; apply uses it so hidden fields are not required."""
    by_key = {f.key: f for f in screen.fields}
    memo: dict[str, bool] = {}

    def shown(f: Field, depth: int = 0) -> bool:
        if f.key in memo:
            return memo[f.key]
        result = True
        for cond, hide in ((f.show_if, False), (f.hide_if, True)):
            if cond is None:
                continue
            if _loose_equal(values.get(cond[0]), cond[1]) == hide:
                result = False
            ctrl = by_key.get(cond[0])
            if result and ctrl is not None and ctrl is not f and depth < 20 and not shown(ctrl, depth + 1):
                result = False
        if result and f.js_show_if and not jscond.visible(f.js_show_if, False, values):
            result = False
        if result and f.js_hide_if and not jscond.visible(f.js_hide_if, True, values):
            result = False
        memo[f.key] = result
        return result

    return {f.key for f in screen.fields if shown(f)}


def _safe_var(name: str) -> bool:
    try:
        varpath.parse(name)
    except varpath.BadName:
        return False
    return True


def _get_or_missing(ns: dict[str, Any], var: str) -> Any:
    try:
        return varpath.lookup(ns, var)
    except (NameError, LookupError, AttributeError):
        return _MISSING


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, DADict) and isinstance(b, DADict):
        return a.elements == b.elements
    if isinstance(a, DAObject) or isinstance(b, DAObject):
        return a is b
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001
        return False


def _loose_equal(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        b = coerce.parse_bool(value) if not isinstance(value, bool) else value
        return b == (expected if isinstance(expected, bool) else coerce.parse_bool(expected))
    if value == expected:
        return True
    return str(value) == str(expected)


def _plain_number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


_ = (dt, DAList, Visibility)
