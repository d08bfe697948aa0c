"""Typed chat answers into the text the engine's `apply` takes: dates, amounts, yes/no, choices.

In the wizard a browser's widgets post canonical values (`1990-03-15`, `True`, a choice value).
In the chat the applicant types, so "15/03/1990", "next Friday", "thứ 6 tuần sau", "25k",
"25.000.000 đ", "yeah" or "ko" must become those values first. This module only translates;
the engine still validates (required, min/max, validation code) and owns those messages.

Pure: relative dates take `today` as a parameter (the web layer reads the clock), no I/O.

Relative dates, in English and Vietnamese (with or without diacritics):
  today / hôm nay, tomorrow / ngày mai, yesterday / hôm qua, the day after tomorrow / ngày kia;
  "next Friday" / "thứ sáu tới" / "thứ 6 tới": the first Friday after today;
  "Friday next week" / "thứ 6 tuần sau": the Friday of next week (weeks start on Monday);
  "in 3 days" / "in 2 weeks" / "in 1 month" / "3 ngày nữa" / "sau 2 tuần" / "1 tháng nữa".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from engine import coerce
from engine.screen import Choice, Field


@dataclass(frozen=True)
class Parsed:
    """`value` is what to hand the engine (None when the text could not be read); `error` says
    why not, in the applicant's language, with examples of what works."""

    value: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "date": "I could not read “{text}” as a date. Try 15/03/1990, 1990-03-15, today, tomorrow, "
                "next Friday or in 3 days.",
        "amount": "I could not read “{text}” as an amount. Try 25000, 25k, 25.000.000 đ or 25 triệu.",
        "number": "I could not read “{text}” as a number. Try 3 or 12.",
        "yesno": "Please answer yes or no.",
        "choice": "“{text}” is not one of the choices. Pick one: {choices}.",
        "empty": "Please type an answer.",
        "time": "I could not read “{text}” as a time. Try 14:30 or 2:30 PM.",
    },
    "vi": {
        "date": "Tôi không đọc được “{text}” là một ngày. Hãy thử 15/03/1990, 1990-03-15, hôm nay, ngày mai, "
                "thứ sáu tới hoặc 3 ngày nữa.",
        "amount": "Tôi không đọc được “{text}” là một số tiền. Hãy thử 25000, 25k, 25.000.000 đ hoặc 25 triệu.",
        "number": "Tôi không đọc được “{text}” là một số. Hãy thử 3 hoặc 12.",
        "yesno": "Vui lòng trả lời có hoặc không.",
        "choice": "“{text}” không phải là một lựa chọn. Hãy chọn: {choices}.",
        "empty": "Vui lòng nhập câu trả lời.",
        "time": "Tôi không đọc được “{text}” là một giờ. Hãy thử 14:30.",
    },
}


def _msg(code: str, lang: str, **values: str) -> str:
    table = MESSAGES.get(lang, MESSAGES["en"])
    return table[code].format(**values)


def fold(text: str) -> str:
    """Lower case, no diacritics (đ -> d), single spaces, no trailing punctuation: what people
    type on a phone without a Vietnamese keyboard still matches."""
    s = unicodedata.normalize("NFD", text.strip().lower().replace("đ", "d").replace("Đ", "d"))
    s = "".join(c for c in s if unicodedata.category(c) != "Mn")
    s = re.sub(r"\s+", " ", s)
    return s.strip(" .!?,;")


# -- yes / no ----------------------------------------------------------------------------------

YES_WORDS = frozenset(fold(w) for w in (
    "yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "true", "of course", "i agree", "agree",
    "có", "vâng", "ừ", "ừm", "đúng", "dạ", "đồng ý", "tôi đồng ý", "được", "có ạ", "vâng ạ", "dạ có", "đúng rồi"))
NO_WORDS = frozenset(fold(w) for w in (
    "no", "n", "nope", "nah", "false", "not really", "i disagree",
    "không", "ko", "k", "khong", "sai", "chưa", "không ạ", "dạ không", "không đồng ý"))


def parse_yes_no(text: str, lang: str = "en") -> Parsed:
    """"yes", "yeah", "sure", "có", "vâng", "ừ" -> "True"; "no", "nope", "không", "ko" -> "False"."""
    key = fold(text)
    if key in YES_WORDS:
        return Parsed("True")
    if key in NO_WORDS:
        return Parsed("False")
    return Parsed(None, _msg("yesno", lang))


# -- amounts and numbers -----------------------------------------------------------------------

_VI_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")
_DONG = re.compile(r"\s*(đồng|dong|vnđ|vnd|đ|₫)\s*$", re.I)


def parse_amount(text: str, lang: str = "en") -> Parsed:
    """"25k", "25.000.000 đ", "25 triệu", "2,5 tr", "$1,200.50" -> a plain decimal ("25000000").

    "25.000" is 25 000 when the applicant writes Vietnamese or marks it as dong (dots group
    thousands there), else 25 as the engine reads it."""
    raw = text.strip()
    if not raw:
        return Parsed(None, _msg("empty", lang))
    plain = _DONG.sub("", raw).strip()
    number: Decimal | None
    if _VI_THOUSANDS.match(plain) and (lang == "vi" or plain != raw):
        number = Decimal(plain.replace(".", ""))
    else:
        number = coerce.parse_number(plain)
    if number is None:
        return Parsed(None, _msg("amount", lang, text=raw))
    return Parsed(_plain(number))


def parse_count(text: str, lang: str = "en") -> Parsed:
    """A whole or decimal number typed plainly ("3", "12", "1,5"); "k"/"triệu" work too."""
    raw = text.strip()
    if not raw:
        return Parsed(None, _msg("empty", lang))
    number = coerce.parse_number(raw)
    if number is None:
        return Parsed(None, _msg("number", lang, text=raw))
    return Parsed(_plain(number))


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text


# -- dates -------------------------------------------------------------------------------------

WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
    "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
    "thu hai": 0, "thu 2": 0, "thu ba": 1, "thu 3": 1, "thu tu": 2, "thu 4": 2, "thu nam": 3, "thu 5": 3,
    "thu sau": 4, "thu 6": 4, "thu bay": 5, "thu 7": 5, "chu nhat": 6, "cn": 6,
}
_WEEKDAY = "|".join(sorted((re.escape(k) for k in WEEKDAYS), key=len, reverse=True))
_UNITS = {"day": "days", "days": "days", "ngay": "days", "week": "weeks", "weeks": "weeks", "tuan": "weeks",
          "month": "months", "months": "months", "thang": "months", "year": "years", "years": "years",
          "nam": "years"}
_UNIT = "|".join(sorted(_UNITS, key=len, reverse=True))
_FIXED = {"today": 0, "hom nay": 0, "now": 0, "tomorrow": 1, "ngay mai": 1, "mai": 1, "yesterday": -1,
          "hom qua": -1, "the day after tomorrow": 2, "day after tomorrow": 2, "ngay kia": 2, "ngay mot": 2}
_NEXT = re.compile(rf"^(?:next|this coming|coming)\s+({_WEEKDAY})$|^({_WEEKDAY})\s+(?:toi|nay|sap toi)$")
_NEXT_WEEK = re.compile(rf"^({_WEEKDAY})\s+(?:next week|tuan sau|tuan toi)$|^next week\s+({_WEEKDAY})$")
_IN = re.compile(rf"^(?:in|after|sau)\s+(\d{{1,3}})\s+({_UNIT})(?:\s+(?:time|nua))?$|^(\d{{1,3}})\s+({_UNIT})\s+"
                 rf"(?:nua|from now|from today|later)$")


def relative_date(text: str, today: dt.date) -> dt.date | None:
    """The day a relative phrase means, counted from `today`; None if it is not one."""
    key = fold(text)
    if key in _FIXED:
        return today + dt.timedelta(days=_FIXED[key])
    m = _NEXT.match(key)
    if m:
        target = WEEKDAYS[m.group(1) or m.group(2)]
        ahead = (target - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead)
    m = _NEXT_WEEK.match(key)
    if m:
        target = WEEKDAYS[m.group(1) or m.group(2)]
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
        return monday + dt.timedelta(days=target)
    m = _IN.match(key)
    if m:
        count = int(m.group(1) or m.group(3))
        unit = _UNITS[m.group(2) or m.group(4)]
        step = {"days": relativedelta(days=count), "weeks": relativedelta(weeks=count),
                "months": relativedelta(months=count), "years": relativedelta(years=count)}[unit]
        return today + step
    return None


def parse_date_answer(text: str, today: dt.date, lang: str = "en") -> Parsed:
    """A typed date as ISO text: "15/03/1990", "15.03.1990", "1990-03-15", "15 March 1990", or a
    relative phrase (see the module docstring). Slashes read day first unless that is impossible
    and the engine's own reading (month first in English) works."""
    raw = text.strip()
    if not raw:
        return Parsed(None, _msg("empty", lang))
    day = relative_date(raw, today)
    if day is not None:
        return Parsed(day.isoformat())
    parsed = coerce.parse_date(raw, day_first=True)
    if parsed is None:
        return Parsed(None, _msg("date", lang, text=raw))
    return Parsed(parsed.date().isoformat())


def parse_time_answer(text: str, lang: str = "en") -> Parsed:
    parsed = coerce.parse_time(text)
    if parsed is None:
        return Parsed(None, _msg("time", lang, text=text.strip()))
    return Parsed(parsed.strftime("%H:%M"))


# -- choices -----------------------------------------------------------------------------------


def match_choice(text: str, choices: Sequence[Choice], lang: str = "en") -> Parsed:
    """The value of the choice the text names: its label or value (any case, with or without
    diacritics), its number in the list (1, 2, ...), or a prefix only one label starts with."""
    key = fold(text)
    if key:
        for c in choices:
            if key in (fold(c.label), fold(str(c.value))):
                return Parsed(str(c.value))
        if key.isdigit() and 1 <= int(key) <= len(choices):
            return Parsed(str(choices[int(key) - 1].value))
        starts = [c for c in choices if fold(c.label).startswith(key)]
        if len(starts) == 1:
            return Parsed(str(starts[0].value))
    names = ", ".join(c.label for c in choices)
    return Parsed(None, _msg("choice", lang, text=text.strip(), choices=names))


# -- one field ---------------------------------------------------------------------------------

BOOL_TYPES = frozenset({"yesno", "noyes", "yesnowide", "noyeswide", "yesnoradio", "noyesradio", "boolean"})
AMOUNT_TYPES = frozenset({"currency", "number", "float", "range"})


def parse_answer(f: Field, text: str, today: dt.date, lang: str = "en") -> Parsed:
    """What the chat hands the engine for `f`, from what the applicant typed. Text, e-mail and
    other free fields pass through unchanged (the engine validates them)."""
    dtype = f.datatype
    if dtype in BOOL_TYPES:
        return parse_yes_no(text, lang)  # the answer to the label; the engine inverts noyes itself
    if dtype in ("date", "datetime"):
        return parse_date_answer(text, today, lang)
    if dtype == "time":
        return parse_time_answer(text, lang)
    if dtype in AMOUNT_TYPES:
        return parse_amount(text, lang)
    if dtype == "integer":
        return parse_count(text, lang)
    if f.choices and dtype not in ("combobox", "datalist"):
        return match_choice(text, f.choices, lang)
    return Parsed(text.strip())
