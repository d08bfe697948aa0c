"""Load an interview: YAML blocks -> checked, compiled blocks + the dependency graph.

Everything that can be known before a session starts is worked out here, once per file
version: which blocks define which variables (`providers`), which variables each expression
and text reads, the interview-order form of mandatory code blocks, and every author mistake
as a `file:line: message` problem.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError

from engine import agreement, docx, sandbox, usstates, varpath
from engine.blocks import Block, ChoiceSpec, FieldSpec, ReviewSpec, Visibility
from engine.errors import LoadError, Problem
from engine.functions import FUNCTIONS
from engine.sandbox import Compiled, SandboxError
from engine.templates import ENV as JINJA
from engine.templates import TemplateError, Text, compile_text
from engine.yamlload import Map, read_blocks

DATATYPES = frozenset(
    "text area password email number integer currency float range date time datetime yesno noyes yesnoradio "
    "noyesradio yesnowide noyeswide yesnomaybe noyesmaybe radio dropdown pulldown combobox datalist checkboxes "
    "multiselect file files camera user environment signature hidden".split()
)

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

QUESTION_KEYS = {
    "question", "subquestion", "fields", "field", "choices", "buttons", "yesno", "noyes", "yesnomaybe", "noyesmaybe",
    "continue button field", "continue button label", "continue button color", "signature", "review", "under",
    "right", "pre", "post", "help", "terms", "auto terms", "decoration", "css class", "table css class", "audio",
    "video", "progress", "section", "back button", "back button label", "prevent going back", "action buttons",
    "validation code", "attachment", "attachments", "attachment code", "script", "css", "resume button label",
    "resume button color", "undefine", "reload", "hide continue button", "disable continue button", "role",
    "comment", "id", "if", "mandatory", "language", "need", "depends on", "reconsider", "sets", "only sets",
    "supersedes", "order", "event", "generic object", "tabular", "default", "shuffle", "under text",
    "allowed to set", "scan for variables", "ga id", "segment id", "segment", "breadcrumb", "tab title",
    "short title", "subtitle", "title", "logo", "short logo", "continue button", "skip undefined", "none of the above",
    "exclude", "sets variables", "field metadata", "list collect", "check in", "response", "binaryresponse",
    "all variables", "null response", "sendfile", "redirect url", "content type", "include_internal",
}
CODE_KEYS = {"code", "mandatory", "initial", "if", "id", "comment", "language", "need", "depends on", "reconsider",
             "sets", "only sets", "supersedes", "order", "event", "generic object", "scan for variables",
             "allowed to set", "undefine"}
TOP_KEYS = {
    "metadata", "features", "sections", "default language", "terms", "auto terms", "interview help", "objects",
    "template", "content", "content file", "subject", "attachment", "attachments", "attachment code", "event",
    "include", "modules", "imports", "comment", "default screen parts", "default validation messages",
    "default role", "table", "rows", "columns", "edit", "delete buttons", "sort key", "sort reverse",
    "show if empty", "require gathered", "data", "data from code", "variable name", "use objects",
    "objects from file", "translations", "machine learning storage", "images", "image sets", "def", "mako",
    "usedefs", "progressive", "auto open", "section", "question back button", "navigation back button",
    "default title", "question help button", "interview help button", "order", "css", "javascript", "script",
    "allow cron", "initial", "mandatory", "id", "if", "need", "language", "reconsider", "sets", "only sets",
    "supersedes", "depends on", "generic object", "allow downloading", "allow emailing", "gathered", "confirm",
    "read only", "edit header", "add action", "delete action", "footer", "header", "filter", "label above field",
    "error help", "help label", "right", "under", "pre", "post", "on change",
    "agreement", "parties", "payment", "prefill", "on completion", "scan for variables",
}

ITERATOR_SET = frozenset(varpath.ITERATORS)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Interview:
    """A compiled interview: immutable after load; share one per file version."""

    file: str
    path: Path | None
    source_hash: str
    blocks: list[Block] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)
    # language -> [(key, label)] in order; a `sections` block with `language: vi` is the vi list
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    default_language: str = "*"
    languages: list[str] = field(default_factory=list)
    terms: dict[str, Text] = field(default_factory=dict)
    providers: dict[str, list[Block]] = field(default_factory=dict)
    generic_providers: dict[str, dict[str, list[Block]]] = field(default_factory=dict)
    events: dict[str, list[Block]] = field(default_factory=dict)
    ordered: list[Block] = field(default_factory=list)  # initial + mandatory blocks in file order
    reconsider_vars: list[str] = field(default_factory=list)
    dependents: dict[str, set[str]] = field(default_factory=dict)
    readers: dict[str, set[str]] = field(default_factory=dict)  # var -> ids of mandatory blocks reading it
    by_id: dict[str, Block] = field(default_factory=dict)
    accord: agreement.AccordBlocks = field(default_factory=agreement.AccordBlocks)
    builtins: dict[str, Any] = field(default_factory=dict)
    order_names: list[str] = field(default_factory=list)
    block_languages: set[str] = field(default_factory=set)
    modules: dict[str, Any] = field(default_factory=dict)  # safe stand-ins for `imports:`
    signing_vars: set[str] = field(default_factory=set)  # set by parties' `fields:` while signing

    def accord_needs(self) -> dict[str, list[str]]:
        """The variables each Accord block reads: what must be answered before signing."""
        return {block: [n for n in names if n not in self.builtins]
                for block, names in agreement.needs(self.accord).items()}
    currency: str = "USD"

    def start(self, lang: str | None = None, url_args: dict[str, Any] | None = None) -> Any:
        from engine.state import State

        language = lang or (self.default_language if self.default_language != "*" else "en")
        state = State(interview=self.source_hash, lang=language, url_args=dict(url_args or {}))
        return state

    @property
    def title(self) -> str:
        return str(self.metadata.get("title", Path(self.file).stem))

    def candidates(self, var: str, lang: str) -> list[Block]:
        blocks = self.providers.get(var)
        if not blocks:
            return []
        return self._by_language(blocks, lang)

    def _by_language(self, blocks: list[Block], lang: str) -> list[Block]:
        own = [b for b in blocks if b.language in (lang, "*")]
        if own:
            return own
        return [b for b in blocks if b.language == self.default_language]


class _Compiler:
    def __init__(self, file: str, base_dir: Path | None, resolver: Callable[[str, Path | None], Path | None]) -> None:
        self.file = file
        self.base_dir = base_dir
        self.problems: list[Problem] = []
        self.resolver = resolver
        self.blocks: list[Block] = []
        self.iv = Interview(file=file, path=None, source_hash="")
        self.language = "*"
        self.seen_files: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------
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

    # -- files -----------------------------------------------------------------------------
    def load_file(self, path: Path | None, text: str, file: str) -> None:
        if file in self.seen_files:
            return
        self.seen_files.add(file)
        raw = read_blocks(text, file, self.problems)
        for rb in raw:
            data = rb.data
            if not isinstance(data, Map):
                self.problems.append(Problem(file, rb.line, "a block must be a mapping of keys to values"))
                continue
            try:
                self.block(data, file, path)
            except (TypeError, ValueError, AttributeError, KeyError) as exc:  # defensive: never a traceback
                self.problems.append(Problem(file, data.line, f"cannot read this block: {exc}"))

    def block(self, d: Map, file: str, path: Path | None) -> None:
        line = d.line
        if "include" in d:
            items = d["include"] if isinstance(d["include"], list) else [d["include"]]
            lines = getattr(items, "item_lines", [d.line_of("include")] * len(items))
            for item, item_line in zip(items, lines):
                target = self.resolver(str(item), path.parent if path else self.base_dir)
                if target is None:
                    self.problems.append(Problem(file, item_line, f"included file not found: {item}"))
                    continue
                try:
                    content = target.read_text(encoding="utf-8")
                except OSError as exc:
                    self.problems.append(Problem(file, d.line_of("include"), f"cannot read {item}: {exc}"))
                    continue
                self.load_file(target, content, str(target))
            return
        for key, settings in (("metadata", self.iv.metadata), ("features", self.iv.features)):
            if key in d and len([k for k in d if k != "comment"]) == 1:
                if isinstance(d[key], dict):
                    settings.update(d[key])
                else:
                    self.problem(line, f"{key} must be a mapping", file)
                return
        if "default language" in d and not any(k in d for k in ("question", "code")):
            self.language = str(d["default language"])
            if self.iv.default_language == "*":
                self.iv.default_language = self.language
            return
        if "modules" in d or "imports" in d:
            key = "modules" if "modules" in d else "imports"
            mods = d[key] if isinstance(d[key], list) else [d[key]]
            for mod in mods:
                if str(mod) in usstates.MODULES:
                    self.iv.modules[str(mod)] = usstates.MODULES[str(mod)]
                elif not str(mod).startswith(("docassemble.base", ".")):
                    self.problem(d.line_of(key), f"module {mod!r} cannot be imported: interviews run sandboxed "
                                 "with a fixed set of functions", file)
            return
        for key in ("agreement", "parties", "payment", "prefill", "on completion"):
            if key in d:
                agreement.parse_block(key, d, file, self.iv.accord, self.problems)
                if key == "parties":
                    for party in self.iv.accord.parties:
                        if party.fields and not party.field_specs:
                            party.field_specs = self.fields(party.fields, party.line, file)
                            self.iv.signing_vars.update(f.var for f in party.field_specs if f.var)
                return
        if "sections" in d and "question" not in d:
            lang = str(d["language"]) if "language" in d else self.language
            self.sections(d["sections"], d.line_of("sections"), file, lang)
            return
        if "terms" in d and "question" not in d:
            self.iv.terms.update(self.terms(d["terms"], d.line_of("terms"), file))
            return
        if ("interview help" in d or "default screen parts" in d or "default validation messages" in d
                or "default role" in d or "translations" in d or "images" in d or "image sets" in d):
            return
        if set(d.keys()) <= {"comment"}:
            return

        number = len(self.blocks)
        block = Block(number=number, id=str(d.get("id", f"block {number} ({Path(file).name}:{line})")),
                      file=file, line=line, kind="question")
        block.language = str(d["language"]) if "language" in d else self.language
        if "id" in d and not isinstance(d["id"], str | int):
            self.problem(d.line_of("id"), "id must be text", file)
        self.modifiers(block, d, file)

        if "question" in d:
            self.question(block, d, file)
            allowed = QUESTION_KEYS
        elif "code" in d:
            block.kind = "code"
            block.code = self.code(d["code"], d.line_of("code") + 1, file)
            if block.code is not None:
                block.defines = [varpath.normalise(n) for n in block.code.assigns if _is_var(n)]
                block.reads = block.code.names
                block.steps = _order_steps(block.code, file, d.line_of("code") + 1)
            allowed = CODE_KEYS
            if "event" in d:
                block.kind = "code"
        elif "objects" in d:
            block.kind = "objects"
            items = d["objects"] if isinstance(d["objects"], list) else [d["objects"]]
            for item in items:
                if not isinstance(item, dict):
                    self.problem(d.line_of("objects"), "each object must be `- name: Class`", file)
                    continue
                for name, cls in item.items():
                    v = self.var(name, d.line_of("objects"), file)
                    c = self.expr(cls, d.line_of("objects"), file)
                    if v and c:
                        block.objects.append((v, c))
                        block.defines.append(v)
            allowed = TOP_KEYS | CODE_KEYS
        elif "template" in d:
            block.kind = "template"
            tname = self.var(d["template"], d.line_of("template"), file)
            if tname:
                block.defines = [tname]
            tcontent: Any = d.get("content")
            if tcontent is None and "content file" in d:
                tcontent = self.read_content_file(d["content file"], path, d.line_of("content file"), file)
            block.template_content = self.text(tcontent or "", d.line_of("content"), file)
            block.template_subject = self.text(d.get("subject", ""), d.line_of("subject"), file)
            allowed = TOP_KEYS | CODE_KEYS
        elif "table" in d:
            block.kind = "table"
            name = self.var(d["table"], d.line_of("table"), file)
            if name:
                block.defines = [name]
            rows = self.expr(d.get("rows", "[]"), d.line_of("rows"), file)
            columns = []
            for col in d.get("columns", []) or []:
                if isinstance(col, dict):
                    for header, expr_src in col.items():
                        if header in ("header", "cell"):
                            continue
                        columns.append((self.text(header, d.line_of("columns"), file),
                                        self.expr(expr_src, d.line_of("columns"), file)))
            block.table = {"rows": rows, "columns": columns}
            allowed = TOP_KEYS | CODE_KEYS
        elif "data" in d and "variable name" in d:
            block.kind = "data"
            name = self.var(d["variable name"], d.line_of("variable name"), file)
            if name:
                block.defines = [name]
            block.data_value = d["data"]
            allowed = TOP_KEYS | CODE_KEYS
        elif "attachment" in d or "attachments" in d:
            block.kind = "attachment"
            block.attachments = self.attachments(d, file)
            for att in block.attachments:
                if att.get("variable name"):
                    block.defines.append(str(att["variable name"]))
            allowed = TOP_KEYS | CODE_KEYS
        else:
            keys = ", ".join(sorted(k for k in d if k != "comment"))
            self.problem(line, f"this block has no question, code, objects, template or other known kind "
                         f"(keys: {keys})", file)
            return
        for key in d:
            if key not in allowed and key not in TOP_KEYS:
                self.problem(d.line_of(key), f"unknown key {key!r} in a {block.kind} block", file)
        if "event" in d:
            events = d["event"] if isinstance(d["event"], list) else [d["event"]]
            for ev in events:
                v = self.var(ev, d.line_of("event"), file)
                if v:
                    block.event.append(v)
                    block.defines.append(v)
        if "sets" in d or "only sets" in d:
            key = "only sets" if "only sets" in d else "sets"
            extra = d[key] if isinstance(d[key], list) else [d[key]]
            names = [n for n in (self.var(x, d.line_of(key), file) for x in extra) if n]
            block.defines = names if key == "only sets" else block.defines + names
        self.blocks.append(block)

    def read_content_file(self, name: Any, path: Path | None, line: int, file: str) -> str:
        target = self.resolver(str(name), path.parent if path else self.base_dir)
        if target is None:
            self.problem(line, f"content file not found: {name}", file)
            return ""
        return target.read_text(encoding="utf-8")

    def modifiers(self, block: Block, d: Map, file: str) -> None:
        if "if" in d:
            conds = d["if"] if isinstance(d["if"], list) else [d["if"]]
            for c in conds:
                e = self.expr(c, d.line_of("if"), file)
                if e:
                    block.if_exprs.append(e)
        if "mandatory" in d:
            m = d["mandatory"]
            if m is True or m is False:
                block.mandatory = m
            else:
                e = self.expr(m, d.line_of("mandatory"), file)
                block.mandatory = e if e else False
        if d.get("initial") is True:
            block.initial = True
        elif "initial" in d and d["initial"] is not False:
            e = self.expr(d["initial"], d.line_of("initial"), file)
            block.initial = bool(e)
        if "need" in d:
            needs = d["need"] if isinstance(d["need"], list) else [d["need"]]
            for n in needs:
                if isinstance(n, dict):
                    for v in (n.get("pre") or []) + (n.get("post") or []):
                        e = self.expr(v, d.line_of("need"), file)
                        if e:
                            block.need.append(e)
                    continue
                e = self.expr(n, d.line_of("need"), file)
                if e:
                    block.need.append(e)
        if "depends on" in d:
            deps = d["depends on"] if isinstance(d["depends on"], list) else [d["depends on"]]
            block.depends_on = [v for v in (self.var(x, d.line_of("depends on"), file) for x in deps) if v]
        if "reconsider" in d:
            r = d["reconsider"]
            if isinstance(r, bool):
                block.reconsider = r
            else:
                items = r if isinstance(r, list) else [r]
                block.reconsider = [v for v in (self.var(x, d.line_of("reconsider"), file) for x in items) if v]
        if "supersedes" in d:
            s = d["supersedes"]
            block.supersedes = [str(x) for x in (s if isinstance(s, list) else [s])]
        if "generic object" in d:
            block.generic = str(d["generic object"])
        if "section" in d:
            block.section = str(d["section"])
        if "progress" in d:
            try:
                block.progress = int(d["progress"])
            except (TypeError, ValueError):
                self.problem(d.line_of("progress"), "progress must be a number from 0 to 100", file)

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

    # -- questions -------------------------------------------------------------------------
    def question(self, b: Block, d: Map, file: str) -> None:
        b.kind = "question"
        b.question = self.text(d["question"], d.line_of("question"), file)
        if "subquestion" in d:
            b.subquestion = self.text(d["subquestion"], d.line_of("subquestion"), file)
        if "under" in d:
            b.under = self.text(d["under"], d.line_of("under"), file)
        if "help" in d:
            h = d["help"]
            if isinstance(h, dict):
                h = h.get("content", "")
            b.help = self.text(h, d.line_of("help"), file)
        if "terms" in d:
            b.terms = self.terms(d["terms"], d.line_of("terms"), file)
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
                    b.defines.extend(varpath.normalise(n) for n in spec.code.assigns if _is_var(n))
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
        if "choices" in item and "datatype" not in item and "input type" not in item:
            datatype = "dropdown"
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

    # -- graph -----------------------------------------------------------------------------
    def finish(self) -> Interview:
        iv = self.iv
        iv.blocks = self.blocks
        ids: dict[str, Block] = {}
        for b in self.blocks:
            if b.id in ids:
                self.problem(b.line, f"duplicate id {b.id!r} (first used at line {ids[b.id].line})", b.file)
            ids[b.id] = b
        iv.by_id = ids
        superseded: dict[str, int] = {}
        for b in self.blocks:
            for s in b.supersedes:
                if s not in ids:
                    self.problem(b.line, f"supersedes {s!r}, but no block has that id", b.file)
                superseded[s] = b.number
        for b in self.blocks:
            if b.initial or b.mandatory is not False:
                iv.ordered.append(b)
            if b.reconsider is True:
                iv.reconsider_vars.extend(b.defines)
            elif isinstance(b.reconsider, list):
                iv.reconsider_vars.extend(b.reconsider)
            for var in b.defines:
                if b.generic:
                    iv.generic_providers.setdefault(b.generic, {}).setdefault(var, []).append(b)
                else:
                    iv.providers.setdefault(var, []).append(b)
            for ev in b.event:
                iv.events.setdefault(ev, []).append(b)
        # the last block defining a variable is tried first; `supersedes` overrides file order.
        def rank(b: Block) -> tuple[int, int]:
            return (1 if b.id in superseded else 0, -b.number)

        for blocks in iv.providers.values():
            blocks.sort(key=rank)
        for table in iv.generic_providers.values():
            for blocks in table.values():
                blocks.sort(key=rank)
        # dependency graph: which defined variables are computed from which
        for b in self.blocks:
            reads = (set(b.reads) if b.kind == "code" else set()) | set(b.depends_on)
            if b.kind == "code" or b.depends_on:
                for r in reads:
                    for d in b.defines:
                        if d != r:
                            iv.dependents.setdefault(r, set()).add(d)
            elif b.depends_on:  # a question's answers are forgotten when what it `depends on` changes
                for r in b.depends_on:
                    for d in b.defines:
                        if d != r:
                            iv.dependents.setdefault(r, set()).add(d)
            if b.mandatory is not False and b.kind == "code":
                for r in reads:
                    iv.readers.setdefault(r, set()).add(b.id)
        iv.block_languages = {b.language for b in self.blocks}
        iv.builtins = sandbox.safe_builtins({**FUNCTIONS, **iv.modules})
        first_order = next((b for b in iv.ordered if b.kind == "code" and b.steps), None)
        if first_order is not None:
            iv.order_names = [s[1] for s in _flatten_steps(first_order.steps or []) if s[0] == "need"]
        lang_meta = iv.metadata.get("languages")
        if isinstance(lang_meta, list):
            iv.languages = [str(x) for x in lang_meta]
        iv.currency = str(iv.metadata.get("currency", "USD"))
        self.check_references(iv)
        known = self._known_names(iv) | {varpath.parse(v)[0] for v in iv.signing_vars}
        agreement.check(iv.accord, known, self.problems, set(iv.providers))
        return iv

    def _known_names(self, iv: Interview) -> set[str]:
        names = set(FUNCTIONS) | set(sandbox.SAFE_BUILTIN_NAMES) | {"url_args", "x"} | ITERATOR_SET | set(iv.modules)
        for var in iv.providers:
            names.add(varpath.parse(var)[0])
        for table in iv.generic_providers.values():
            for var in table:
                names.add(varpath.parse(var)[0])
        return names

    def check_references(self, iv: Interview) -> None:
        """Names read by mandatory logic that no block defines: caught now, not mid-interview."""
        known = self._known_names(iv)
        for b in iv.ordered:
            if b.kind != "code" or b.code is None:
                continue
            local = {varpath.parse(v)[0] for v in b.defines}
            for name in sorted(b.code.names - known - local):
                self.problem(b.line, f"the code reads {name!r}, but no block defines it", b.file)


_SPECIAL_BUTTONS = {"continue", "restart", "exit", "leave", "refresh", "signin", "register", "new_session",
                    "exit_logout", "logout"}


def _is_var(name: str) -> bool:
    try:
        root, steps = varpath.parse(name)
    except varpath.BadName:
        return False
    return root not in ITERATOR_SET or bool(steps)


def _order_steps(code: Compiled, file: str, line: int) -> list[Any] | None:
    """The interview-order form of a code block, if it is one: bare names, if/elif/else, and
    simple statements. Each item: ("need", name) | ("if", Compiled, then, else) | ("stmt", Compiled).
    Anything else (loops, defs) keeps the block dynamic."""
    tree = code.tree
    if tree is None:
        return None

    def convert(body: list[ast.stmt]) -> list[Any] | None:
        out: list[Any] = []
        for stmt in body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name | ast.Attribute | ast.Subscript):
                text = ast.unparse(stmt.value)
                try:
                    out.append(("need", varpath.normalise(text)))
                except varpath.BadName:
                    return None
            elif isinstance(stmt, ast.If):
                test = sandbox.compile_expr(ast.unparse(stmt.test), file, line + stmt.lineno - 1)
                then = convert(stmt.body)
                other = convert(stmt.orelse)
                if then is None or other is None:
                    return None
                out.append(("if", test, then, other))
            elif isinstance(stmt, ast.Assign | ast.AugAssign | ast.Expr | ast.Delete | ast.Pass):
                if any(isinstance(n, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp)
                       for n in ast.walk(stmt)):
                    out.append(("stmt", sandbox.compile_code(ast.unparse(stmt), file, line + stmt.lineno - 1), False))
                else:
                    out.append(("stmt", sandbox.compile_code(ast.unparse(stmt), file, line + stmt.lineno - 1), True))
            else:
                return None
        return out

    try:
        return convert(tree.body)
    except (SyntaxError, SandboxError):
        return None


def _flatten_steps(steps: list[Any]) -> list[Any]:
    out: list[Any] = []
    for s in steps:
        if s[0] == "if":
            out.extend(_flatten_steps(s[2]))
            out.extend(_flatten_steps(s[3]))
        else:
            out.append(s)
    return out


def default_resolver(roots: list[Path]) -> Callable[[str, Path | None], Path | None]:
    """Find included files and templates: relative to the including file, then docassemble
    package references (`docassemble.demo:data/questions/x.yml`) by file name in the roots."""

    def resolve(ref: str, base: Path | None) -> Path | None:
        name = ref.split(":", 1)[1] if ":" in ref and not ref.startswith(("/", "http")) else ref
        candidates: list[Path] = []
        if base is not None:
            candidates += [base / name, base / Path(name).name]
        for root in roots:
            candidates += [root / name, root / Path(name).name, root / "templates" / Path(name).name]
        for c in candidates:
            if c.is_file():
                return c
        return None

    return resolve


def load_string(text: str, file: str = "<string>", base_dir: str | Path | None = None) -> Interview:
    """Load interview YAML held in memory (tests, the playground)."""
    base = Path(base_dir) if base_dir else None
    roots = [base] if base else []
    comp = _Compiler(file, base, default_resolver(roots))
    comp.iv.source_hash = _hash(text)
    comp.load_file(None, text, file)
    iv = comp.finish()
    if comp.problems:
        raise LoadError(comp.problems)
    return iv


def load(path: str | os.PathLike[str]) -> Interview:
    """Load and compile an interview file; raises LoadError listing every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError([Problem(str(path), 0, f"cannot read the file: {exc}")]) from exc
    roots = [p.parent, p.parent.parent, p.parent.parent / "templates"]
    comp = _Compiler(str(path), p.parent, default_resolver(roots))
    comp.iv.path = p
    comp.iv.source_hash = _hash(text)
    comp.load_file(p, text, str(path))
    iv = comp.finish()
    if comp.problems:
        raise LoadError(comp.problems)
    return iv
