"""Turning posted text into typed answers, and the localised messages when that fails."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "required": "You need to fill this in.",
        "number": "You need to enter a number.",
        "integer": "You need to enter a whole number.",
        "email": "You need to enter a valid e-mail address.",
        "date": "You need to enter a valid date.",
        "time": "You need to enter a valid time.",
        "datetime": "You need to enter a valid date and time.",
        "min": "You need to enter a value of at least {min}.",
        "max": "You need to enter a value no greater than {max}.",
        "mindate": "You need to enter a date on or after {min}.",
        "maxdate": "You need to enter a date on or before {max}.",
        "minlength": "You must type at least {minlength} characters.",
        "maxlength": "You cannot type more than {maxlength} characters.",
        "choice": "You need to select one.",
        "checkboxes": "Check at least one option, or check “{nota}”",
        "checkboxes_plain": "You need to select at least one.",
        "invalid": "This answer is not valid.",
        "file": "You need to upload a file.",
        "step": "You need to enter a multiple of {step}.",
        "filetype": "This type of file is not accepted (allowed: {accept}).",
    },
    "vi": {
        "required": "Bạn cần điền thông tin này.",
        "number": "Bạn cần nhập một số.",
        "integer": "Bạn cần nhập một số nguyên.",
        "email": "Bạn cần nhập một địa chỉ e-mail hợp lệ.",
        "date": "Bạn cần nhập một ngày hợp lệ.",
        "time": "Bạn cần nhập một giờ hợp lệ.",
        "datetime": "Bạn cần nhập ngày và giờ hợp lệ.",
        "min": "Bạn cần nhập giá trị ít nhất là {min}.",
        "max": "Bạn cần nhập giá trị không lớn hơn {max}.",
        "mindate": "Bạn cần nhập một ngày từ {min} trở đi.",
        "maxdate": "Bạn cần nhập một ngày không muộn hơn {max}.",
        "minlength": "Bạn phải nhập ít nhất {minlength} ký tự.",
        "maxlength": "Bạn không thể nhập quá {maxlength} ký tự.",
        "choice": "Bạn cần chọn một mục.",
        "checkboxes": "Hãy chọn ít nhất một mục, hoặc chọn “{nota}”",
        "checkboxes_plain": "Bạn cần chọn ít nhất một mục.",
        "invalid": "Câu trả lời này không hợp lệ.",
        "file": "Bạn cần tải lên một tệp.",
        "step": "Bạn cần nhập một bội số của {step}.",
        "filetype": "Loại tệp này không được chấp nhận (cho phép: {accept}).",
    },
}


def message(code: str, language: str, **values: Any) -> str:
    table = MESSAGES.get(language, MESSAGES["en"])
    template = table.get(code) or MESSAGES["en"].get(code) or code
    return template.format(**values)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def accepts(accept: str, filename: str, mimetype: str) -> bool:
    """HTML `accept` semantics: `.pdf`, `image/*`, `application/pdf`, comma-separated."""
    name = filename.lower()
    mime = mimetype.lower()
    for raw in accept.replace('"', "").split(","):
        rule = raw.strip().lower()
        if not rule:
            continue
        if rule.startswith(".") and name.endswith(rule):
            return True
        if rule.endswith("/*") and mime.startswith(rule[:-1]):
            return True
        if rule == mime:
            return True
    return False


LARGEST = Decimal(10) ** 15  # beyond any amount or count an interview asks for; keeps floats exact

_MULTIPLIERS = {"k": 1_000, "nghìn": 1_000, "ngàn": 1_000, "m": 1_000_000, "mn": 1_000_000, "tr": 1_000_000,
                "triệu": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000, "tỷ": 1_000_000_000,
                "tỉ": 1_000_000_000}
_SUFFIX = re.compile(r"^(.*?\d)\s*(" + "|".join(sorted(_MULTIPLIERS, key=len, reverse=True)) + r")\.?$", re.I)


def parse_number(text: Any) -> Decimal | None:
    """A number as people type it: "1,234.50", "1.234,50", "25.000.000 đ", "$25k", "2,5 triệu"."""
    if isinstance(text, str):
        m = _SUFFIX.match(text.strip().replace("\u00a0", " ").rstrip("đ₫$ ").strip())
        if m:
            base = _parse_plain(m.group(1))
            return None if base is None else base * _MULTIPLIERS[m.group(2).lower()]
    return _parse_plain(text)


def _parse_plain(text: Any) -> Decimal | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        number = Decimal(str(text))
        return number if number.is_finite() and abs(number) <= LARGEST else None
    s = str(text).strip().replace(" ", "").replace("\u00a0", "")
    s = re.sub(r"^[$€£₫đ]|[$€£₫đ]$|(VND|USD|vnd|usd)$", "", s).strip()
    if not s:
        return None
    # "1,234.50" (en) or "1.234,50" / "25.000.000" (vi): decide by the last separator.
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        parts = s.split(",")
        s = s.replace(",", "") if all(len(p) == 3 for p in parts[1:]) else s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) > LARGEST:
        return None
    return value


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%B %d, %Y", "%b %d, %Y",
                 "%d %B %Y")


def parse_date(text: Any, day_first: bool = False) -> dt.datetime | None:
    if isinstance(text, dt.datetime):
        return text
    if isinstance(text, dt.date):
        return dt.datetime(text.year, text.month, text.day)
    s = str(text).strip()
    if not s:
        return None
    formats = _DATE_FORMATS
    if day_first:
        formats = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", *_DATE_FORMATS[3:])
    for fmt in formats:
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(s)
    except ValueError:
        return None


def parse_time(text: Any) -> dt.time | None:
    if isinstance(text, dt.time):
        return text
    s = str(text).strip().upper()
    for fmt in ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p"):
        try:
            return dt.datetime.strptime(s, fmt).time()
        except ValueError:
            continue
    return None


TRUE_WORDS = {"true", "yes", "y", "on", "1", "có", "co", "đúng", "dung", "vâng", "vang", "ừ", "checked"}
FALSE_WORDS = {"false", "no", "n", "off", "0", "không", "khong", "sai", "ko", ""}


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    s = str(value).strip().lower()
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    return None
