"""Compiling question blocks: texts, fields, choices, visibility, review items, documents.

Every piece an author writes is checked here, and every mistake becomes a `file:line: message`
problem; nothing is evaluated yet.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError

from engine import docx, sandbox, varpath
from engine.blocks import DATATYPES, Block, ChoiceSpec, FieldSpec, ReviewSpec, Visibility
from engine.errors import Problem
from engine.interview import Interview
from engine.sandbox import Compiled, SandboxError
from engine.templates import ENV as JINJA
from engine.templates import TemplateError, Text, compile_text
from engine.yamlload import Map

_FIELD_MODIFIERS = {
    "datatype", "input type", "required", "default", "hint", "help", "note", "html", "raw html", "min", "max",
    "minlength", "maxlength", "step", "show if", "hide if", "js show if", "js hide if", "enable if", "disable if",
    "js enable if", "js disable if", "validation messages", "choices", "code", "exclude", "none of the above",
    "all of the above", "shuffle", "label", "field", "no label", "css class", "accept", "maximum image size",
    "label above field", "floating label", "grid", "item grid", "disable others", "uncheck others", "check others",
    "address autocomplete", "rows", "scale", "inline width", "object labeler", "validate", "field metadata",
    "under text", "persistent", "private", "file css class", "id", "object type", "list collect", "allow privileges",
    "allow users", "ml train", "ml group", "inline",
}

_SPECIAL_BUTTONS = {"continue", "restart", "exit", "leave", "refresh", "signin", "register", "new_session",
                    "exit_logout", "logout"}

ITERATOR_SET = frozenset(varpath.ITERATORS)


def is_var(name: str) -> bool:
    try:
        root, steps = varpath.parse(name)
    except varpath.BadName:
        return False
    return root not in ITERATOR_SET or bool(steps)


class QuestionCompiler:
    """The checking half of the compiler: turns authored values into compiled pieces."""

    file: str
    base_dir: Path | None
    problems: list[Problem]
    resolver: Callable[[str, Path | None], Path | None]
    iv: Interview

    def remember(self, path: Path, data: bytes) -> None:
        """Every file the interview is built from, by hash: the version key and the cache check."""
        self.iv.sources[str(path.resolve())] = hashlib.sha256(data).hexdigest()

    def problem(self, line: int, message: str, file: str | None = None) -> None:
        self.problems.append(Problem(file or self.file, line, message))

    def expr(self, source: Any, line: int, file: str) -> Compiled | None:
        if isinstance(source, bool):
            source = str(source)
        if source is None or (isinstance(source, str) and not source.strip()):
            self.problems.append(Problem(file, line, "an expression is empty"))
            return None
        try:
            return sandbox.compile_expr(str(source), file, line)
        except SyntaxError as exc:
            self.problems.append(Problem(file, line + (exc.lineno or 1) - 1, f"expression syntax error: {exc.msg}"))
        except SandboxError as exc:
            self.problems.append(Problem(file, line, f"expression refused: {exc}"))
        return None

    def code(self, source: Any, line: int, file: str) -> Compiled | None:
        if not isinstance(source, str):
            self.problems.append(Problem(file, line, "code must be text"))
            return None
        try:
            return sandbox.compile_code(source, file, line)
        except SyntaxError as exc:
            self.problems.append(Problem(file, line + (exc.lineno or 1), f"code syntax error: {exc.msg}"))
        except SandboxError as exc:
            self.problems.append(Problem(file, line, f"code refused: {exc}"))
        return None

    def text(self, source: Any, line: int, file: str) -> Text:
        if isinstance(source, bool):
            source = "True" if source else "False"
        if source is not None and not isinstance(source, str | int | float):
            self.problems.append(Problem(file, line, f"expected text, found {type(source).__name__}"))
            return Text("", frozenset(), None)
        try:
            return compile_text(source)
        except TemplateError as exc:
            block_scalar = isinstance(source, str) and "\n" in source  # `key: |` text starts a line below
            self.problems.append(Problem(file, line + block_scalar + exc.line_offset, str(exc)))
            return Text("", frozenset(), None)

    def var(self, name: Any, line: int, file: str) -> str | None:
        if not isinstance(name, str) or not name.strip():
            self.problems.append(Problem(file, line, f"expected a variable name, found {name!r}"))
            return None
        try:
            return varpath.normalise(name.strip())
        except varpath.BadName as exc:
            self.problems.append(Problem(file, line, str(exc)))
            return None

    def read_content_file(self, name: Any, path: Path | None, line: int, file: str) -> str:
        target = self.resolver(str(name), path.parent if path else self.base_dir)
        if target is None:
            self.problem(line, f"content file not found: {name}", file)
            return ""
        text = target.read_text(encoding="utf-8")
        self.remember(target, text.encode())
        return text

    def sections(self, data: Any, line: int, file: str, lang: str) -> None:
        if not isinstance(data, list):
            self.problem(line, "sections must be a list", file)
            return
        found: list[tuple[str, str]] = []

        def walk(items: list[Any]) -> None:
            for item in items:
                if isinstance(item, str):
                    found.append((item, item))
                elif isinstance(item, dict):
                    for key, value in item.items():
                        if isinstance(value, list):
                            found.append((str(key), str(key)))
                            walk(value)
                        else:
                            found.append((str(key), str(value)))

        walk(data)
        self.iv.sections[lang] = found

    def terms(self, data: Any, line: int, file: str) -> dict[str, Text]:
        out: dict[str, Text] = {}
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict):
                if "phrases" in item and "definition" in item:
                    for p in item["phrases"]:
                        out[str(p)] = self.text(item["definition"], line, file)
                else:
                    for k, v in item.items():
                        out[str(k)] = self.text(v, line, file)
            else:
                self.problem(line, "terms must be `term: definition` pairs", file)
        return out

    def attachments(self, d: Map, file: str) -> list[dict[str, Any]]:
        raw = d.get("attachments", d.get("attachment"))
        items = raw if isinstance(raw, list) else [raw]
        out: list[dict[str, Any]] = []
        for item in items:
            if not isinstance(item, dict):
                self.problem(d.line_of("attachment"), "an attachment must be a mapping", file)
                continue
            att: dict[str, Any] = dict(item)
            line = getattr(item, "line", d.line)
            if "content" not in item and isinstance(item.get("content file"), str):
                # docassemble: `content file: hello.md` is the attachment's Markdown, read from templates/
                att["content"] = self.read_content_file(item["content file"], None, line, file)
            for key in ("name", "filename", "description", "content"):
                if key in att:
                    att[key] = self.text(att[key], line, file)
            if "fields" in att:  # template fields are Mako too; assembling them asks what they read
                att["fields"] = self.attachment_fields(att["fields"], line, file)
            elif isinstance(item.get("docx template file"), str):
                att["docx text"] = self.docx_text(item["docx template file"], line, file)
            out.append(att)
        return out

    def docx_text(self, name: str, line: int, file: str) -> Text | None:
        target = self.resolver(name, Path(file).parent)
        if target is None:
            self.problem(line, f"docx template file not found: {name}", file)
            return None
        try:
            self.remember(target, target.read_bytes())
            source = docx.jinja_text(target)
            template = JINJA.from_string(source)
        except docx.DocxError as exc:
            self.problem(line, str(exc), file)
            return None
        except TemplateSyntaxError as exc:
            self.problem(line, f"{name}: Jinja error in the template: {exc.message}", file)
            return None
        return Text(source, frozenset(), template)

    def attachment_fields(self, value: Any, line: int, file: str) -> Any:
        if isinstance(value, str):
            return self.text(value, line, file)
        if isinstance(value, list):
            return [self.attachment_fields(v, line, file) for v in value]
        if isinstance(value, dict):
            return {k: self.attachment_fields(v, line, file) for k, v in value.items()}
        return value

    def question(self, b: Block, d: Map, file: str) -> None:
        b.kind = "question"
        b.question = self.text(d["question"], d.line_of("question"), file)
        if "subquestion" in d:
            b.subquestion = self.text(d["subquestion"], d.line_of("subquestion"), file)
        if "under" in d:
            b.under = self.text(d["under"], d.line_of("under"), file)
        if "help" in d:
            h = d["help"]
            if isinstance(h, dict):  # `help: {label: ..., content: ...}`
                if "label" in h:
                    b.help_label = self.text(h["label"], d.line_of("help"), file)
                h = h.get("content", "")
            b.help = self.text(h, d.line_of("help"), file)
        if "terms" in d:
            b.terms = self.terms(d["terms"], d.line_of("terms"), file)
        if "auto terms" in d:
            b.auto_terms = self.terms(d["auto terms"], d.line_of("auto terms"), file)
        if "continue button label" in d:
            b.continue_label = self.text(d["continue button label"], d.line_of("continue button label"), file)
        if "back button" in d:
            b.back_button = bool(d["back button"]) if isinstance(d["back button"], bool) else True
        if d.get("prevent going back") is True:
            b.back_button = False
        if "validation code" in d:
            b.validation_code = self.code(d["validation code"], d.line_of("validation code") + 1, file)
        if "attachment" in d or "attachments" in d:
            b.attachments = self.attachments(d, file)
        if "continue button field" in d:
            b.continue_field = self.var(d["continue button field"], d.line_of("continue button field"), file)
        for kind in ("yesno", "noyes", "yesnomaybe", "noyesmaybe"):
            if kind in d:
                b.qtype = kind
                b.target = self.var(d[kind], d.line_of(kind), file)
        if "signature" in d:
            b.qtype = "signature"
            b.target = self.var(d["signature"], d.line_of("signature"), file)
        if "fields" in d:
            b.qtype = "fields"
            b.fields = self.fields(d["fields"], d.line_of("fields"), file)
        if "field" in d and "fields" not in d:
            b.target = self.var(d["field"], d.line_of("field"), file)
            if "choices" in d:
                b.qtype = "field_choices"
                b.buttons = self.choices(d["choices"], d.line_of("choices"), file)
            elif "buttons" in d:
                b.qtype = "field_buttons"
                b.buttons = self.choices(d["buttons"], d.line_of("buttons"), file)
            else:
                b.qtype = "continue"
        elif "buttons" in d and not b.qtype:
            b.qtype = "buttons"
            b.buttons = self.choices(d["buttons"], d.line_of("buttons"), file, special=True)
            for spec in b.buttons:
                if spec.code is not None:
                    b.defines.extend(varpath.normalise(n) for n in spec.code.assigns if is_var(n))
        elif "choices" in d and not b.qtype:
            b.qtype = "buttons"
            b.buttons = self.choices(d["choices"], d.line_of("choices"), file, special=True)
        if "review" in d:
            b.qtype = "review"
            b.review = self.review(d["review"], d.line_of("review"), file)
            if b.target and not b.continue_field:  # `field:` on a review is its continue button field
                b.continue_field, b.target = b.target, None
        if not b.qtype:
            b.qtype = "continue" if b.continue_field else "end"
        if b.target:
            b.defines.append(b.target)
        if b.continue_field:
            b.defines.append(b.continue_field)
        for f in b.fields:
            if f.var:
                b.defines.append(f.var)
        if b.qtype == "fields" and b.continue_field is None and not b.fields:
            b.qtype = "end" if not b.continue_field else "continue"

    def choices(self, data: Any, line: int, file: str, special: bool = False) -> list[ChoiceSpec]:
        out: list[ChoiceSpec] = []
        if isinstance(data, dict) and not isinstance(data, list):
            data = [{k: v} for k, v in data.items()]
        if not isinstance(data, list):
            self.problem(line, "choices must be a list", file)
            return out
        lines = getattr(data, "item_lines", [line] * len(data))
        for item, item_line in zip(data, lines):
            if isinstance(item, str | int | float | bool):
                out.append(ChoiceSpec(self.text(str(item), item_line, file), item))
            elif isinstance(item, dict):
                if "label" in item or "value" in item:
                    label = item.get("label", item.get("value"))
                    value = item.get("value", item.get("label"))
                    spec = ChoiceSpec(self.text(label, item_line, file), value)
                    if "help" in item:
                        spec.help = self.text(item["help"], item_line, file)
                    if "show if" in item:
                        spec.show_if = self.expr(item["show if"], item_line, file)
                    spec.default = bool(item.get("default", False))
                    out.append(spec)
                else:
                    pairs = [(k, v) for k, v in item.items() if k not in ("help", "image", "default", "css class",
                                                                           "color", "show if")]
                    if not pairs:
                        self.problem(item_line, "a choice needs a label", file)
                        continue
                    label, value = pairs[0]
                    spec = ChoiceSpec(self.text(label, item_line, file), value)
                    if "help" in item:
                        spec.help = self.text(item["help"], item_line, file)
                    if "show if" in item:
                        spec.show_if = self.expr(item["show if"], item_line, file)
                    if isinstance(value, dict) and "code" in value:
                        spec.code = self.code(value["code"], item_line + 1, file)
                        spec.value = str(label)
                    elif isinstance(value, dict) and "question" in value:
                        self.problem(item_line, "a choice that is itself a question (an embedded block) is not "
                                     "supported; give it a value and write the follow-up as its own question", file)
                    elif special and isinstance(value, str) and value in _SPECIAL_BUTTONS:
                        spec.action = value
                    elif special and isinstance(value, str) and value.startswith(("http://", "https://")):
                        spec.action = value
                    out.append(spec)
            else:
                self.problem(item_line, "a choice must be text or `label: value`", file)
        return out

    def fields(self, data: Any, line: int, file: str) -> list[FieldSpec]:
        if isinstance(data, dict):
            # docassemble reads a mapping as one field (`fields: {no label: v, datatype: ...}`);
            # a mapping of plain `Label: variable` pairs is read leniently as one field each
            if any(k in _FIELD_MODIFIERS for k in data):
                data = [data]
            else:
                data = [{k: v} for k, v in data.items()]
        if not isinstance(data, list):
            self.problem(line, "fields must be a list", file)
            return []
        out: list[FieldSpec] = []
        lines = getattr(data, "item_lines", [line] * len(data))
        for item, item_line in zip(data, lines):
            if not isinstance(item, dict):
                self.problem(item_line, "each field must be a mapping such as `- Label: variable`", file)
                continue
            f = self.field(item, item_line, file)
            if f is not None:
                out.append(f)
        return out

    def field(self, item: dict[str, Any], line: int, file: str) -> FieldSpec | None:
        keys = list(item.keys())
        label_src: Any = None
        var: str | None = None
        if "field" in item:
            var = self.var(item["field"], line, file)
            label_src = item.get("label", "")
        elif "no label" in item:
            var = self.var(item["no label"], line, file)
            label_src = ""
        else:
            free = [k for k in keys if k not in _FIELD_MODIFIERS]
            if len(free) > 1:
                self.problem(line, f"unknown field keys: {', '.join(free[1:])}", file)
            if free:
                label_src = free[0]
                var = self.var(item[free[0]], line, file)
            elif "note" in item or "html" in item or "raw html" in item:
                note = item.get("note", item.get("html", item.get("raw html")))
                f = FieldSpec(var=None, datatype="note", note=self.text(note, line, file), line=line)
                f.visibility = self.visibility(item, line, file)
                return f
            elif "code" in item:
                self.problem(line, "fields built by `code` are not supported; list the fields", file)
                return None
            else:
                self.problem(line, "a field needs `Label: variable` or `field:`", file)
                return None
        if var is None:
            return None
        datatype = str(item.get("datatype", item.get("input type", "text")))
        if datatype == "pulldown":
            datatype = "dropdown"
        if datatype not in DATATYPES:
            self.problem(line, f"unknown datatype {datatype!r}", file)
            datatype = "text"
        if ("choices" in item or "code" in item) and "datatype" not in item and "input type" not in item:
            datatype = "dropdown"  # docassemble: choices (listed or from `code`) without a datatype are a drop-down
        if item.get("input type") in ("radio", "combobox", "dropdown", "area"):
            datatype = str(item["input type"]) if "datatype" not in item else datatype
            if item.get("input type") == "area":
                datatype = "area"
            elif "datatype" in item and item["datatype"] not in ("text",):
                datatype = str(item["datatype"])
            else:
                datatype = str(item["input type"])
        f = FieldSpec(var=var, datatype=datatype, line=line)
        f.label = self.text(label_src or "", line, file)
        if "required" in item:
            r = item["required"]
            f.required = r if isinstance(r, bool) else (self.expr(r, line, file) or True)
        if datatype in ("yesno", "noyes", "yesnowide", "noyeswide", "yesnomaybe", "noyesmaybe"):
            f.required = False if "required" not in item else f.required
        if "default" in item:
            dv = item["default"]
            f.default = self.text(dv, line, file) if isinstance(dv, str) else dv
        for key in ("hint", "help", "note"):
            if key in item:
                setattr(f, key, self.text(item[key], line, file))
        for key in ("min", "max", "step"):
            if key in item:
                v = item[key]
                only = re.fullmatch(r"\s*\$\{(.+)\}\s*", v, re.S) if isinstance(v, str) else None
                if only:  # `${ today() }`: keep the value (a date), not its text in some language
                    setattr(f, key, self.expr(only.group(1), line, file))
                else:
                    setattr(f, key, self.text(v, line, file) if isinstance(v, str) else v)
        for key in ("minlength", "maxlength"):
            if key in item:
                try:
                    setattr(f, key, int(item[key]))
                except (TypeError, ValueError):
                    self.problem(line, f"{key} must be a whole number", file)
        if "choices" in item:
            ch = item["choices"]
            if isinstance(ch, dict) and "code" in ch and len(ch) == 1:
                f.choices_code = self.expr(ch["code"], line, file)
            else:
                f.choices = self.choices(ch, line, file)
        elif "code" in item:
            f.choices_code = self.expr(item["code"], line, file)
        if "exclude" in item:
            f.exclude = self.expr(item["exclude"], line, file)
        if "none of the above" in item:
            nota = item["none of the above"]
            f.none_of_the_above = nota if isinstance(nota, bool) else self.text(nota, line, file)
        if "validation messages" in item:
            vm = item["validation messages"]
            if isinstance(vm, dict):
                f.validation_messages = {str(k): self.text(v, line, file) for k, v in vm.items()}
            else:
                self.problem(line, "validation messages must be a mapping", file)
        if "accept" in item:
            f.accept = str(item["accept"])
        f.visibility = self.visibility(item, line, file)
        if datatype in ("radio", "dropdown", "combobox", "checkboxes", "multiselect", "datalist") and not (
            f.choices or f.choices_code
        ):
            self.problem(line, f"a {datatype} field needs choices", file)
        return f

    def visibility(self, item: dict[str, Any], line: int, file: str) -> list[Visibility]:
        out: list[Visibility] = []
        for key, hide in (("show if", False), ("hide if", True)):
            if key not in item:
                continue
            v = item[key]
            if isinstance(v, dict):
                if "code" in v:
                    out.append(Visibility(code=self.expr(v["code"], line, file), hide=hide))
                elif "variable" in v:
                    out.append(Visibility(var=self.var(v["variable"], line, file), value=v.get("is"),
                                          has_value="is" in v, hide=hide))
                else:
                    self.problem(line, f"{key} needs `variable:` (+ `is:`) or `code:`", file)
            elif isinstance(v, str):
                out.append(Visibility(var=self.var(v, line, file), hide=hide))
            else:
                self.problem(line, f"{key} must name a variable or give `code:`", file)
        for key, hide in (("js show if", False), ("js hide if", True)):
            if key in item:
                out.append(Visibility(js=str(item[key]), hide=hide))
        return out

    def review(self, data: Any, line: int, file: str) -> list[ReviewSpec]:
        out: list[ReviewSpec] = []
        if not isinstance(data, list):
            self.problem(line, "review must be a list", file)
            return out
        for item in data:
            if not isinstance(item, dict):
                continue
            if "note" in item or "html" in item:
                out.append(ReviewSpec(None, [], None, note=self.text(item.get("note", item.get("html")), line, file)))
                continue
            label = None
            vars_: list[str] = []
            follow_up: list[str] = []
            recompute: list[str] = []
            if "field" in item or "fields" in item:
                fv = item.get("field", item.get("fields"))
                label = self.text(item.get("label", "Edit"), line, file)
                # `- follow up: [...]` / `- recompute: [...]` entries say what to ask after an edit; only
                # the plain names are the item's own variables (what the Edit link re-asks).
                plain = [x for x in (fv if isinstance(fv, list) else [fv]) if not isinstance(x, dict)]
                vars_ = [v for v in (self.var(x, line, file) for x in plain) if v]
                for x in fv if isinstance(fv, list) else []:
                    if isinstance(x, dict):
                        for key, target in (("follow up", follow_up), ("recompute", recompute)):
                            extra = x.get(key) or []
                            for name in extra if isinstance(extra, list) else [extra]:
                                v = self.var(name, line, file)
                                if v:
                                    target.append(v)
            else:
                for k, v in item.items():
                    if k in ("button", "show if", "help", "css class"):
                        continue
                    label = self.text(k, line, file)
                    targets = v if isinstance(v, list) else [v]
                    for t in targets:
                        if isinstance(t, dict):  # `{follow up: [...]}` / `{recompute: [...]}`
                            for key, into in (("follow up", follow_up), ("recompute", recompute)):
                                extra = t.get(key) or []
                                for x in extra if isinstance(extra, list) else [extra]:
                                    name = self.var(x, line, file)
                                    if name:
                                        into.append(name)
                            continue
                        name = self.var(t, line, file)
                        if name:
                            vars_.append(name)
                    break
            spec = ReviewSpec(label, vars_, self.text(item["button"], line, file) if "button" in item else None,
                              follow_up=follow_up, recompute=recompute)
            if "show if" in item:
                spec.show_if = self.expr(item["show if"], line, file)
            out.append(spec)
        return out
