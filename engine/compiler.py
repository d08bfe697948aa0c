"""Compile an interview file: dispatch each block by its keys, apply the modifiers every block
shares, and build the dependency graph once the whole file is read.

Everything that can be known before a session starts is worked out here, once per file
version: which blocks define which variables (`providers`, in precedence order), which
variables each expression and text reads, the interview-order form of mandatory code blocks,
and every author mistake as a `file:line: message` problem.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import agreement, sandbox, usstates, varpath
from engine.blocks import Block
from engine.errors import Problem
from engine.functions import FUNCTIONS
from engine.interview import Interview
from engine.questions import ITERATOR_SET, QuestionCompiler, is_var
from engine.sandbox import Compiled, SandboxError
from engine.signerfields import signing_block_id
from engine.yamlload import Map, read_blocks

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



class Compiler(QuestionCompiler):
    def __init__(self, file: str, base_dir: Path | None, resolver: Callable[[str, Path | None], Path | None]) -> None:
        self.file = file
        self.base_dir = base_dir
        self.problems: list[Problem] = []
        self.resolver = resolver
        self.blocks: list[Block] = []
        self.iv = Interview(file=file, path=None, source_hash="")
        self.language = "*"
        self.seen_files: set[str] = set()

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
                    self.remember(target, content.encode())
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
                            # Asked on the signer's page, never by the planner: by id only.
                            block = Block(number=-1, id=signing_block_id(party.role), file=file, line=party.line,
                                          kind="question", qtype="fields", fields=party.field_specs)
                            self.iv.by_id[block.id] = block
                return
        if "sections" in d and "question" not in d:
            lang = str(d["language"]) if "language" in d else self.language
            self.sections(d["sections"], d.line_of("sections"), file, lang)
            return
        if ("terms" in d or "auto terms" in d) and "question" not in d:
            if "terms" in d:
                self.iv.terms.update(self.terms(d["terms"], d.line_of("terms"), file))
            if "auto terms" in d:
                self.iv.auto_terms.update(self.terms(d["auto terms"], d.line_of("auto terms"), file))
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
                block.defines = [varpath.normalise(n) for n in block.code.assigns if is_var(n)]
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

    def finish(self) -> Interview:
        iv = self.iv
        iv.blocks = self.blocks
        ids: dict[str, Block] = {}
        for b in self.blocks:
            if b.id in ids:
                self.problem(b.line, f"duplicate id {b.id!r} (first used at line {ids[b.id].line})", b.file)
            ids[b.id] = b
        # The parties' signing-field blocks (asked on the signer's page, never planned) keep their ids.
        ids.update({k: b for k, b in iv.by_id.items() if b.number == -1 and k not in ids})
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
        # `agreement_id` is given to `on completion` (the agreement's id in Accord).
        known = self._known_names(iv) | {varpath.parse(v)[0] for v in iv.signing_vars} | {"agreement_id"}
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
        # block references: what `if`, `mandatory`, `need`, `depends on`, `show if` and review
        # items name must exist somewhere, or the interview fails on the screen that needs it
        for b in iv.blocks:
            exprs = [("if", e) for e in b.if_exprs] + [("need", e) for e in b.need]
            if isinstance(b.mandatory, Compiled):
                exprs.append(("mandatory", b.mandatory))
            for what, e in exprs:
                for name in sorted(e.names - known):
                    self.problem(b.line, f"{what} reads {name!r}, but no block defines it", b.file)
            on_screen = {varpath.parse(f.var)[0] for f in b.fields if f.var}
            named = [("depends on", v) for v in b.depends_on] + [
                ("show if", vis.var) for f in b.fields for vis in f.visibility if vis.var] + [
                ("review", v) for item in b.review for v in item.vars + item.follow_up]
            for what, var in named:
                root = varpath.parse(var)[0]
                if root not in known and root not in on_screen:
                    self.problem(b.line, f"{what} names {var!r}, but no block defines it", b.file)


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
