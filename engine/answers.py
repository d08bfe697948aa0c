"""Applying answers: convert what was posted, validate it field by field, store it, log it,
and forget what was computed from an answer that changed.

Nothing is stored unless every field is valid, so a bad answer re-renders with its message and
loses nothing.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from engine import coerce, functions, jscond, varpath
from engine.blocks import Block
from engine.context import MISSING, decode_bindings
from engine.errors import InterviewError
from engine.functions import CONTEXT, ValidationFailure
from engine.groups import DAChecklist, DADict, DAFileList
from engine.interview import Interview
from engine.objects import DAFile, DAObject, as_dadatetime
from engine.sandbox import Compiled, SandboxError, compile_expr
from engine.screen import Button, Field, FieldError, Screen, ValidationErrors
from engine.state import State


def apply(interview: Interview, state: State, screen: Screen, answers: dict[str, Any],
          button: int | None = None) -> State | ValidationErrors:
    """Validate the answers to `screen` and store them. On errors nothing changes."""
    return _Apply(interview, state, screen).run(answers, button)


def _message(f: Field, code: str, lang: str, **values: Any) -> str:
    """The field's own `validation messages` for `code` if it has one, else the standard one."""
    fallback = {"checkboxes": "required", "checkboxes_plain": "required", "choice": "required",
                "mindate": "min", "maxdate": "max"}.get(code)
    custom = f.validation_messages.get(code) or (f.validation_messages.get(fallback) if fallback else None)
    if custom:
        return custom.strip()
    return coerce.message(code, lang, **values)


def _date_limit_message(f: Field, code: str, when: Any, lang: str) -> str:
    functions.CONTEXT.language = lang
    shown = functions.format_date(when, "dd/MM/yyyy" if lang == "vi" else "medium")
    return _message(f, code, lang, **{"min" if code == "mindate" else "max": shown})


def date_limits(f: Field, lang: str) -> dict[str, tuple[str, str]]:
    """A date field's `min`/`max` as {"min"|"max": (ISO date, the message `apply` gives past it)}.

    docassemble checks these limits on the page as soon as the field loses focus; a front end
    can do the same with exactly the words `apply` would use (it still re-checks on submit)."""
    out: dict[str, tuple[str, str]] = {}
    if f.datatype not in ("date", "datetime"):
        return out
    for key, code, bound in (("min", "mindate", f.min), ("max", "maxdate", f.max)):
        when = coerce.parse_date(bound) if bound not in (None, "") else None
        if when is not None:
            out[key] = (when.date().isoformat(), _date_limit_message(f, code, when, lang))
    return out


class _Apply:
    def __init__(self, iv: Interview, state: State, screen: Screen) -> None:
        self.iv = iv
        self.state = state
        self.screen = screen
        self.lang = state.lang

    def msg(self, f: Field, code: str, **values: Any) -> str:
        return _message(f, code, self.lang, **values)

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
            checked = f if f.required_expr is None else replace(
                f, required=self.required_now(f.required_expr, answers))
            ok, converted, err = self.convert(checked, answers.get(f.key))
            if not ok:
                errors.append(FieldError(f.key, err[0], err[1]))
            elif converted is not MISSING:
                values[f.var] = converted
        if errors:
            return ValidationErrors(tuple(errors))
        ns = self.state.namespace
        old = {var: _get_or_missing(ns, var) for var in values}
        bindings = dict(screen.bindings)
        ns["__builtins__"] = self.iv.builtins
        live = decode_bindings(ns, bindings)
        saved = {k: ns.get(k, MISSING) for k in live}
        ns.update(live)
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
                if v is MISSING:
                    ns.pop(k, None)
                else:
                    ns[k] = v
            ns.pop("__builtins__", None)
        changes = {var: (None if old[var] is MISSING else old[var], values[var]) for var in values
                   if old[var] is MISSING or not _same(old[var], values[var])}
        changed = [var for var in changes if old[var] is not MISSING]
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
            if new is not MISSING and (old is MISSING or not _same(old, new)):
                changes[name] = (None if old is MISSING else old, new)
        if block.mandatory is not False:
            self.state.done.add(block.id)
        self.state.record(block.id, changes)
        self.state.history.append({"block": block.id, "bindings": dict(self.screen.bindings),
                                   "sought": self.screen.sought})
        self.finish_revisit()
        return self.state

    def required_now(self, source: str, answers: dict[str, Any]) -> bool:
        """Evaluate a `required:` expression with this screen's posted answers in place."""
        typed = self.typed(answers)
        namespace = dict(self.state.namespace)
        for f in self.screen.fields:
            if f.var and "." not in f.var and "[" not in f.var and typed.get(f.key) is not None:
                namespace[f.var] = typed[f.key]
        namespace["__builtins__"] = self.iv.builtins
        try:
            return bool(compile_expr(source).run(namespace))
        except Exception:  # noqa: BLE001 - an expression that cannot be judged keeps the field required
            return True

    def typed(self, answers: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in self.screen.fields:
            raw = answers.get(f.key)
            ok, conv, _ = self.convert(f, raw, lenient=True)
            values[f.key] = conv if ok and conv is not MISSING else raw
        return values

    def visible_fields(self, answers: dict[str, Any]) -> set[str]:
        """Keys of fields that are shown, judged from the posted answers (same-screen `show if`,
        `js show if`); a field whose controlling field is hidden is hidden too."""
        return visible_keys(self.screen, self.typed(answers))

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
                return True, MISSING, ("", "")
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
            step = coerce.parse_number(f.step) if f.step not in (None, "", "any") else None
            if step is not None and step > 0:
                base = coerce.parse_number(f.min) if f.min not in (None, "") else None
                if (number - (base or 0)) % step != 0:
                    return False, None, ("step", self.msg(f, "step", step=_plain_number(step)))
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
                        return False, None, (code, _date_limit_message(f, code, when, self.lang))
            return True, as_dadatetime(parsed if dt_ == "datetime" else parsed.date()), ("", "")
        if dt_ == "time":
            t = coerce.parse_time(raw)
            if t is None:
                return False, None, ("time", self.msg(f, "time"))
            return True, t, ("", "")
        if dt_ in ("file", "files", "camera", "signature"):
            items = raw if isinstance(raw, list) else [raw]
            files = [_file(f.var or "", item, n) for n, item in enumerate(items)]
            if f.accept and dt_ != "signature":
                for item in files:
                    if not coerce.accepts(f.accept, str(item.__dict__.get("filename", "")),
                                          str(item.__dict__.get("mimetype", ""))):
                        return False, None, ("filetype", self.msg(f, "filetype", accept=f.accept))
            if dt_ == "files":
                file_list = DAFileList(f.var or "")
                file_list.elements = files
                return True, file_list, ("", "")
            return True, files[0], ("", "")
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
            if value is MISSING:
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
    obj = ns.get(root, MISSING)
    for kind, key in steps[:-1]:
        if obj is MISSING or kind == "item_var":
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


def _file(var: str, raw: Any, index: int) -> DAFile:
    """A file reference from what a front end posted: a dict (filename, mimetype, size, id ...)
    or just a name. The bytes live in blob storage; the answer only points at them."""
    if isinstance(raw, dict):
        attrs = {k: v for k, v in raw.items() if isinstance(k, str) and k.isidentifier() and not k.startswith("_")}
        return DAFile(var, **attrs)
    return DAFile(var, filename=str(raw))


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
        return MISSING


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


