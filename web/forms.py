"""WTForms for the wizard's posts: a form class generated from the engine's `Screen`, which reads
the posted form data (`getlist` for checklists, the `UploadFile` of a file field), coerces each
answer to its Python type and checks it per field (required, number, whole number, min/max, date
and its limits, time, e-mail, length, choices) before the engine sees it.

The engine stays the authority on the interview's meaning: which fields are shown (`show if`,
`js show if`, `required` written as an expression: such fields are left to it entirely),
`validation code`, what is stored and how (`engine.apply` coerces again and decides). So the
checks here never refuse what the engine would accept: each uses the engine's own parser
(`engine.coerce`) and gives the engine's own message in the session's language (WTForms ships
no Vietnamese catalogue, and its English words differ from the chat's and the API's), with the
field's `validation messages` when the interview has them.

Form classes are cached by the screen's shape (field keys, types, limits, choices, language),
so screens that look alike across sessions share one class; a class is built in about a
tenth of a millisecond, binding and validating one costs a few hundredths per field
(`docs/performance.md`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from starlette.datastructures import FormData, UploadFile
from wtforms.fields import Field as WTField
from wtforms.fields import SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.form import BaseForm
from wtforms.meta import DefaultMeta
from wtforms.validators import ValidationError

import engine
from engine import Field, Screen, coerce

NUMBERS = frozenset({"number", "currency", "float", "range", "integer"})
CHOICES = frozenset({"radio", "dropdown", "datalist"})
CHECKLISTS = frozenset({"checkboxes", "multiselect"})
YESNO_BOX = frozenset({"yesno", "noyes", "yesnowide", "noyeswide"})
YESNO_RADIO = frozenset({"yesnoradio", "noyesradio", "yesnomaybe", "noyesmaybe"})
CACHE_SIZE = 512


def _message(f: Field, code: str, lang: str, **values: Any) -> str:
    fallback = {"checkboxes_plain": "required", "choice": "required"}.get(code)
    custom = f.validation_messages.get(code) or (f.validation_messages.get(fallback) if fallback else None)
    return custom.strip() if custom else coerce.message(code, lang, **values)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


class EngineField(StringField):
    """A text input whose data is the engine's reading of it (`parse`), None when left blank;
    what cannot be read is a process error with the engine's message."""

    def __init__(self, *args: Any, parse: Callable[[str], Any] | None = None, invalid: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.parse = parse
        self.invalid = invalid
        self.raw = ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0] if valuelist else ""
        self.raw = raw if isinstance(raw, str) else ""
        if _blank(self.raw) or self.parse is None:
            self.data = None if _blank(self.raw) else self.raw
            return
        value = self.parse(self.raw)
        if value is None:
            self.data = None
            raise ValueError(self.invalid)
        self.data = value


class ChoiceField(SelectField):
    """One of the screen's choices (by its value as posted); blank is the required check's."""

    def pre_validate(self, form: BaseForm) -> None:
        if self.process_errors or _blank(self.data):
            return
        if not any(str(self.data) == c.value for c in self.choices or ()):
            raise ValidationError(self.invalid_choice_message)


class ChecklistField(SelectMultipleField):
    def pre_validate(self, form: BaseForm) -> None:
        allowed = {c.value for c in self.choices or ()}
        if any(str(v) not in allowed for v in self.data or ()):
            raise ValidationError(self.invalid_choice_message)


class Required:
    """Something must be posted: the engine's "required" message (WTForms' `InputRequired`
    would answer in English only)."""

    field_flags = {"required": True}

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: BaseForm, field: WTField) -> None:
        raw = field.raw_data[0] if field.raw_data else None
        if _blank(raw if isinstance(raw, str) else None):
            raise ValidationError(self.message)


class Check:
    """A check on the coerced data (skipped when blank or unreadable): `bad(data)` is a message or None."""

    def __init__(self, bad: Callable[[Any], str | None]) -> None:
        self.bad = bad

    def __call__(self, form: BaseForm, field: WTField) -> None:
        if field.data is None or field.process_errors:
            return
        problem = self.bad(field.data)
        if problem:
            raise ValidationError(problem)


def _shape(screen: Screen, fields: Sequence[Field]) -> tuple[Any, ...]:
    """What the form class depends on: two screens with the same shape share a class."""
    return (screen.language, tuple(
        (f.key, f.datatype, f.required, tuple((str(c.value), c.exclusive) for c in f.choices), str(f.min), str(f.max),
         f.minlength, f.maxlength, tuple(sorted(f.validation_messages.items())))
        for f in fields))


def checked_fields(screen: Screen, skip: Callable[[Field], bool]) -> list[Field]:
    """The fields this layer checks: answered by an input, and shown whatever the other answers
    are (a conditional field is the engine's to judge, since it may be hidden)."""
    return [f for f in screen.fields
            if f.var is not None and f.datatype not in ("continue", "signature", "note") and not skip(f)
            and not (f.show_if or f.hide_if or f.js_show_if or f.js_hide_if or f.required_expr)]


def _unbound(f: Field, lang: str) -> Any:
    dt = f.datatype
    required = [Required(_message(f, "required", lang))] if f.required else []
    if dt in YESNO_BOX:
        return EngineField(parse=lambda raw: coerce.parse_bool(raw), invalid=_message(f, "invalid", lang))
    if dt in YESNO_RADIO:
        maybe = dt.endswith("maybe")

        def parse_yes(raw: str) -> Any:
            return "maybe" if maybe and raw.strip().lower() in ("none", "maybe") else coerce.parse_bool(raw)
        # A blank "maybe" answer means maybe (the engine's reading), so only yes/no radios require one.
        return EngineField(parse=parse_yes, invalid=_message(f, "invalid", lang), validators=[] if maybe else required)
    if dt in CHECKLISTS:
        return ChecklistField(choices=[SelectChoice(str(c.value), c.label) for c in f.choices],
                              invalid_choice_message=_message(f, "choice", lang))
    if dt in CHOICES or (dt == "buttons" and f.choices):
        return ChoiceField(choices=[SelectChoice(str(c.value), c.label) for c in f.choices], validators=required,
                           invalid_choice_message=_message(f, "choice", lang))
    if dt in NUMBERS:
        code = "integer" if dt == "integer" else "number"
        checks: list[Any] = list(required)
        if dt == "integer":
            checks.append(Check(lambda n: _message(f, "integer", lang) if n != n.to_integral_value() else None))
        for bound, which in ((f.min, "min"), (f.max, "max")):
            limit = coerce.parse_number(bound) if bound not in (None, "") else None
            if limit is not None:
                shown = engine_number(limit)
                checks.append(Check(_bound_check(limit, which, _message(f, which, lang, **{which: shown}))))
        return EngineField(parse=coerce.parse_number, invalid=_message(f, code, lang), validators=checks)
    if dt in ("date", "datetime"):
        checks = list(required)
        for key, (iso, message) in engine.date_limits(f, lang).items():
            when = coerce.parse_date(iso)
            if when is not None:
                checks.append(Check(_date_check(when, key, message)))
        return EngineField(parse=lambda raw: coerce.parse_date(raw, day_first=lang == "vi"),
                           invalid=_message(f, dt, lang), validators=checks)
    if dt == "time":
        return EngineField(parse=coerce.parse_time, invalid=_message(f, "time", lang), validators=required)
    checks = list(required)
    strip = dt != "area"
    if dt == "email":
        checks.append(Check(lambda text: None if coerce.is_email(text.strip()) else _message(f, "email", lang)))
    if f.minlength is not None:
        least = f.minlength
        checks.append(Check(lambda text: _message(f, "minlength", lang, minlength=least)
                            if len(text.strip() if strip else text) < least else None))
    if f.maxlength is not None:
        most = f.maxlength
        checks.append(Check(lambda text: _message(f, "maxlength", lang, maxlength=most)
                            if len(text.strip() if strip else text) > most else None))
    return EngineField(validators=checks)


def _bound_check(limit: Decimal, which: str, message: str) -> Callable[[Any], str | None]:
    if which == "min":
        return lambda n: message if n < limit else None
    return lambda n: message if n > limit else None


def _date_check(limit: Any, which: str, message: str) -> Callable[[Any], str | None]:
    if which == "min":
        return lambda d: message if d.date() < limit.date() else None
    return lambda d: message if d.date() > limit.date() else None


def engine_number(value: Decimal) -> str:
    """A limit as the engine shows it in its messages (no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text


class ScreenForm(BaseForm):
    """A form over one screen shape. Field names are the engine's field keys, which may be
    anything (`kids[0].name`, `data`): a `BaseForm` keeps its fields in a mapping, where a
    `Form` would set them as attributes over its own methods."""

    unbound: list[tuple[str, Any]] = []

    def __init__(self, formdata: FormData) -> None:
        super().__init__(self.unbound, meta=DefaultMeta())
        self.process(formdata)


_CLASSES: OrderedDict[tuple[Any, ...], type[ScreenForm]] = OrderedDict()
_LOCK = threading.Lock()


def form_class(screen: Screen, fields: Sequence[Field]) -> type[ScreenForm]:
    """The WTForms class for these fields of `screen` (cached by shape; see the module docstring)."""
    key = _shape(screen, fields)
    with _LOCK:
        cls = _CLASSES.get(key)
        if cls is not None:
            _CLASSES.move_to_end(key)
            return cls
    unbound = [(f.key, _unbound(f, screen.language)) for f in fields]
    cls = type(f"Screen_{screen.block_id}", (ScreenForm,), {"unbound": unbound})
    with _LOCK:
        _CLASSES[key] = cls
        while len(_CLASSES) > CACHE_SIZE:
            _CLASSES.popitem(last=False)
    return cls


def validate(screen: Screen, form: FormData,
             skip: Callable[[Field], bool]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Coerce and check what was posted for `screen`: (coerced data per field key, messages per
    field key). `skip(field)` leaves a field out (answered by a button, stored by `web.uploads`)."""
    fields = checked_fields(screen, skip)
    if not fields:
        return {}, {}
    bound = form_class(screen, fields)(form)
    bound.validate()
    errors = {name: [str(e) for e in errs] for name, errs in bound.errors.items() if errs}
    data = {name: field.data for name, field in bound._fields.items()
            if not isinstance(field.data, UploadFile)}
    return data, errors
