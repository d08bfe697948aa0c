"""Building a `Screen` from a question block: texts rendered, fields typed, choices listed.

Everything a front end needs is computed here, in the session's language, so the wizard, the
chat, the JSON API and the terminal draw the same data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine import varpath
from engine.blocks import Block, ChoiceSpec, FieldSpec
from engine.context import Context, encode_bindings
from engine.errors import InterviewError
from engine.functions import CONTEXT
from engine.groups import DADict
from engine.objects import DAObject
from engine.sandbox import Compiled
from engine.screen import Button, Choice, Field, ReviewItem, Screen
from engine.templates import Text


class ScreenBuilder(Context):
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
        auto_terms = {**{k: self.render(v) for k, v in self.iv.auto_terms.items()},
                      **{k: self.render(v) for k, v in block.auto_terms.items()}}
        if block.section is not None:
            self.state.section = block.section  # the key; its label depends on the language
        section_list = self.iv.sections.get(self.lang) or self.iv.sections.get(self.iv.default_language) or next(
            iter(self.iv.sections.values()), [])
        labels = dict(section_list)
        section = labels.get(self.state.section, self.state.section) if self.state.section else None
        progress: int | None = None
        if self.iv.features.get("progress bar"):
            progress = block.progress if block.progress is not None else (
                100 if is_end else (CONTEXT.progress or self.estimate()))
        return Screen(
            block_id=block.id, kind=kind, question=question.strip(), subquestion=subquestion.strip(),
            fields=tuple(fields), buttons=tuple(buttons), review=tuple(review),
            help=self.render(block.help, block) if block.help else None,
            help_label=self.render(block.help_label, block) if block.help_label else None,
            under=self.render(block.under, block) if block.under else "",
            continue_label=buttons[0].label if buttons else "",
            back_button=bool(self.state.history) and bool(self.iv.features.get("question back button", False)
                                                         or self.iv.features.get("navigation back button", True))
            and block.back_button is not False,
            progress=progress, section=section, sections=tuple(label for _, label in section_list), terms=terms,
            auto_terms=auto_terms,
            attachments=tuple(self.attachments(block)), language=self.lang, currency=self.iv.currency,
            bindings=encode_bindings(bindings),
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
        ns = self.ns
        answered = sum(1 for n in names if n in ns or (("." in n or "[" in n) and varpath.is_defined(ns, n)))
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
        unbound = [key for kind, key in out if kind == "item_var"]
        if unbound:
            raise InterviewError(f"a question sets {var}, but no value of {unbound[0]} was given: ask for an item "
                                 f"such as {varpath.render(root, ())}[0] instead")
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
        required_expr = None
        if isinstance(f.required, bool):
            required = f.required
        elif f.required.names & {varpath.parse(v)[0] for v in keys}:
            required, required_expr = True, f.required.source  # depends on answers on this screen
        else:
            required = bool(self.eval(f.required, block))
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
            js_show_if=js_show, js_hide_if=js_hide, required_expr=required_expr,
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
