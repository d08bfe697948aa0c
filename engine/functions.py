"""The helper functions interview text and code may call (docassemble's common ones).

They format per the session's language through Babel, so `currency(25e6)` reads
"25.000.000 ₫" in Vietnamese and "$25,000,000.00" in English. The planner sets `CONTEXT`
before it evaluates anything, which is how `defined("x")` knows which answers to look at.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from functools import cache, lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel import numbers as babel_numbers
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from dateutil.relativedelta import relativedelta

from engine import groups, objects, usstates


class ValidationFailure(Exception):
    """Raised by `validation_error()` in validation code: the message goes next to the field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Context(threading.local):
    """What helper functions need from the running plan. Per thread, so two sessions planned
    at once on two threads never see each other's answers or language."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        self.language = "en"
        self.currency = "USD"
        self.progress: int | None = None


CONTEXT = Context()

_LOCALES = {"en": "en_US", "vi": "vi_VN"}


def locale() -> Locale:
    return _babel_locale(CONTEXT.language)


@cache
def _babel_locale(language: str) -> Locale:
    """Parsed once per language: Babel parses a locale string on every call otherwise."""
    try:
        return Locale.parse(_LOCALES.get(language, language))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en_US")


def currency(value: Any, symbol: str | None = None, decimals: bool = True, code: str | None = None) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return _currency(number, symbol, bool(decimals), code, code or CONTEXT.currency, CONTEXT.language)


@lru_cache(maxsize=4096)
def _currency(number: float, symbol: str | None, decimals: bool, code: str | None, cur: str, language: str) -> str:
    """Remembered: Babel builds the number pattern on every call, and a screen shows the same
    amounts again and again (a tenth of planning a loan screen, `bench/web.py`)."""
    digits = babel_numbers.get_currency_precision(cur) if decimals else 0
    if symbol is not None:
        # a symbol of the author's own: cents unless a currency code says otherwise
        digits = (babel_numbers.get_currency_precision(code) if code else 2) if decimals else 0
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        amount = babel_numbers.format_decimal(round(number, digits), format=pattern, locale=_babel_locale(language))
        return f"{symbol}{amount}"
    return babel_numbers.format_currency(number, cur, locale=_babel_locale(language), currency_digits=decimals,
                                         format=None if decimals else "¤#,##0")


def nice_number(value: Any) -> str:
    words = {"en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
             "vi": ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười"]}
    table = words.get(CONTEXT.language, words["en"])
    if isinstance(value, int) and 0 <= value <= 10:
        return table[value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def comma_and_list(*items: Any, comma: str = ", ", and_string: str | None = None, oxford: bool = True) -> str:
    flat: list[str] = []
    for item in items:
        if isinstance(item, list | tuple | set | groups.DAList | groups.DASet):
            flat.extend(str(x) for x in item)
        elif isinstance(item, groups.DADict):
            flat.extend(str(x) for x in item.keys())
        else:
            flat.append(str(item))
    word = and_string or ("và" if CONTEXT.language == "vi" else "and")
    if not flat:
        return ""
    if len(flat) == 1:
        return flat[0]
    if len(flat) == 2:
        return f"{flat[0]} {word} {flat[1]}"
    sep = "," if oxford and CONTEXT.language == "en" else ""
    return comma.join(flat[:-1]) + f"{sep} {word} {flat[-1]}"


def comma_list(*items: Any) -> str:
    return ", ".join(str(x) for x in items)


def _to_date(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        from engine.coerce import parse_date

        parsed = parse_date(value)
        if parsed is None:
            raise ValueError(f"not a date: {value!r}")
        return parsed
    raise ValueError(f"not a date: {value!r}")


def format_date(value: Any, format: str = "long", language: str | None = None) -> str:  # noqa: A002
    date = _to_date(value)
    lang = language or CONTEXT.language
    if lang == "vi" and format in _VI_DATE_PATTERNS:  # CLDR's "15 tháng 1, 2027" reads oddly; say "năm"
        format = _VI_DATE_PATTERNS[format]  # noqa: A001
    return str(babel_format_date(date, format=format, locale=_babel_locale(lang)))


_VI_DATE_PATTERNS = {"long": "d 'tháng' M 'năm' y", "full": "EEEE, 'ngày' d 'tháng' M 'năm' y"}


def format_time(value: Any, format: str = "short") -> str:  # noqa: A002
    return str(babel_format_time(value, format=format, locale=locale()))


def format_datetime(value: Any, format: str = "long") -> str:  # noqa: A002
    return f"{format_date(value, format)} {format_time(value)}"


def today(timezone: str | None = None, format: str | None = None) -> Any:  # noqa: A002
    value = objects.as_dadatetime(dt.date.today())
    return format_date(value, format) if format else value


def current_datetime(timezone: str | None = None) -> objects.DADateTime:
    return objects.as_dadatetime(dt.datetime.now())


def as_datetime(value: Any) -> objects.DADateTime:
    return objects.as_dadatetime(_to_date(value))


def date_interval(**kwargs: Any) -> relativedelta:
    if "year" in kwargs:
        kwargs["years"] = kwargs.pop("year")
    return relativedelta(**kwargs)


def date_difference(starting: Any = None, ending: Any = None) -> Any:
    start = _to_date(starting) if starting is not None else dt.date.today()
    end = _to_date(ending) if ending is not None else dt.date.today()
    delta = (end if isinstance(end, dt.datetime) else dt.datetime(end.year, end.month, end.day)) - (
        start if isinstance(start, dt.datetime) else dt.datetime(start.year, start.month, start.day))

    class _Diff:
        days = delta.days + delta.seconds / 86400
        weeks = days / 7
        years = days / 365.2425
        hours = days * 24

    return _Diff()


def year_of(value: Any) -> int:
    return _to_date(value).year


def month_of(value: Any) -> int:
    return _to_date(value).month


def day_of(value: Any) -> int:
    return _to_date(value).day


def age_in_years(value: Any) -> int:
    born = _to_date(value)
    now = dt.date.today()
    return now.year - born.year - ((now.month, now.day) < (born.month, born.day))


def defined(name: str) -> bool:
    """True when the variable has a value (no question is asked to find out)."""
    from engine.varpath import lookup

    try:
        lookup(CONTEXT.namespace, name)
    except (NameError, LookupError, AttributeError):
        return False
    return True


def value(name: str) -> Any:
    """The variable's value; if it has none, the planner asks for it."""
    from engine.varpath import lookup

    return lookup(CONTEXT.namespace, name)


def showifdef(name: str, default: str = "") -> Any:
    return value(name) if defined(name) else default


def need(*args: Any) -> bool:
    return True


def validation_error(message: str, field: str | None = None) -> None:
    raise ValidationFailure(str(message), field)


def set_language(language: str, dialect: str | None = None) -> None:
    """Switch the session's language (docassemble's `set_language` in an `initial` block)."""
    CONTEXT.language = str(language)


def set_progress(number: int) -> None:
    CONTEXT.progress = int(number)


def word(text: Any, **kwargs: Any) -> str:
    return str(text)


def capitalize(text: Any) -> str:
    s = str(text)
    return s[:1].upper() + s[1:]


def noun_plural(noun: str, count: Any = 2) -> str:
    try:
        one = float(count) == 1
    except (TypeError, ValueError):
        one = False
    if one or CONTEXT.language == "vi":
        return noun
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def noun_singular(noun: str, count: Any = 1) -> str:
    """docassemble: the singular of `noun` when count is 1 (else the noun unchanged)."""
    try:
        one = float(count) == 1
    except (TypeError, ValueError):
        one = False
    noun = str(noun)
    if not one or CONTEXT.language == "vi":
        return noun
    if re.search(r"[^aeiou]ies$", noun):
        return noun[:-3] + "y"
    if re.search(r"(s|x|z|ch|sh)es$", noun):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith(("ss", "us", "is")):
        return noun[:-1]
    return noun


def title_case(text: Any) -> str:
    """Capitalise each word, keeping small words lower case inside a title ("Terms of the Loan")."""
    small = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "via"}
    words = str(text).split()
    return " ".join(w if (n and w.lower() in small) else w[:1].upper() + w[1:] for n, w in enumerate(words))


def period_list() -> list[list[Any]]:
    """docassemble's choices for "how often": [[times per year, label], ...]."""
    if CONTEXT.language == "vi":
        return [[12, "Mỗi tháng"], [1, "Mỗi năm"], [52, "Mỗi tuần"], [24, "Hai lần mỗi tháng"],
                [26, "Hai tuần một lần"]]
    return [[12, "Per Month"], [1, "Per Year"], [52, "Per Week"], [24, "Twice Per Month"], [26, "Every Two Weeks"]]


def indefinite_article(noun: str) -> str:
    return ("an " if str(noun)[:1].lower() in "aeiou" else "a ") + str(noun)


_ORDINAL_WORDS = {"en": ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                         "ninth", "tenth"]}


def ordinal_number(n: int, use_word: bool = True) -> str:
    """docassemble: words up to ten ("first"), then digits with a suffix ("11th")."""
    n = int(n)
    words = _ORDINAL_WORDS.get(CONTEXT.language)
    if use_word and words is not None and 0 <= n < len(words):
        return words[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ordinal(n: int, use_word: bool = True) -> str:
    return ordinal_number(int(n) + 1, use_word=use_word)


def url_of(name: str, **kwargs: Any) -> str:
    return str(name)


def url_action(action: str, **kwargs: Any) -> str:
    return f"#{action}"


def space_to_underscore(text: Any) -> str:
    return re.sub(r"\s+", "_", str(text))


def single_paragraph(text: Any) -> str:
    return re.sub(r"\s*\n\s*", " ", str(text))


def quote_paragraphs(text: Any) -> str:
    return "\n".join("> " + line for line in str(text).splitlines())


def fix_punctuation(text: Any) -> str:
    s = str(text).rstrip()
    return s if s.endswith((".", "?", "!")) else s + "."


def yesno(value: Any) -> str:
    return ("Có" if value else "Không") if CONTEXT.language == "vi" else ("Yes" if value else "No")


def get_language() -> str:
    return CONTEXT.language


_IRREGULAR_VERBS = {  # base: (3rd person singular present, plural present, singular past, plural past)
    "be": ("is", "are", "was", "were"), "have": ("has", "have", "had", "had"), "do": ("does", "do", "did", "did"),
}
_VERB_BASE = {"is": "be", "are": "be", "was": "be", "were": "be", "has": "have", "had": "have", "does": "do",
              "did": "do"}


def verb_present(verb: str, person: Any = 3) -> str:
    """docassemble: `verb_present("be", "3pl")` -> "are"; person 3/"3sg" singular, "3pl"/"pl" plural."""
    base = _VERB_BASE.get(str(verb), str(verb))
    plural = str(person) in ("3pl", "pl", "1pl", "2pl", "1sg", "2sg", "1", "2")
    if base in _IRREGULAR_VERBS:
        return _IRREGULAR_VERBS[base][1 if plural else 0]
    if plural or CONTEXT.language != "en":
        return base
    if re.search(r"(s|x|z|ch|sh|o)$", base):
        return base + "es"
    if re.search(r"[^aeiou]y$", base):
        return base[:-1] + "ies"
    return base + "s"


def verb_past(verb: str, person: Any = 3) -> str:
    base = _VERB_BASE.get(str(verb), str(verb))
    plural = str(person) in ("3pl", "pl", "1pl", "2pl", "2sg", "2")
    if base in _IRREGULAR_VERBS:
        return _IRREGULAR_VERBS[base][3 if plural else 2]
    if CONTEXT.language != "en":
        return base
    if base.endswith("e"):
        return base + "d"
    if re.search(r"[^aeiou]y$", base):
        return base[:-1] + "ied"
    return base + "ed"


def _phone_digits(number: Any, country: str | None) -> str | None:
    digits = re.sub(r"\D", "", str(number))
    if (country or "US").upper() in ("US", "CA"):
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        if len(digits) == 10 and digits[0] not in "01" and digits[3] not in "01":
            return digits
        return None
    return digits if 7 <= len(digits) <= 15 else None


def phone_number_is_valid(number: Any, country: str | None = None) -> bool:
    """docassemble's check (phonenumbers there); North American numbers by their digits here."""
    return _phone_digits(number, country) is not None


def phone_number_formatted(number: Any, country: str | None = None) -> str:
    digits = _phone_digits(number, country)
    if digits is None:
        return str(number)
    if (country or "US").upper() in ("US", "CA"):
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return digits


def percentage(value: Any, digits: int = 0) -> str:
    return str(babel_numbers.format_percent(float(value), locale=locale(), decimal_quantization=False))


def round_to(value: Any, digits: int = 0) -> float:
    return round(float(value), digits)


def amortised_payment(principal: Any, annual_rate_percent: Any, months: Any) -> float:
    """Monthly payment of an amortising loan; zero interest divides evenly."""
    p, r, n = float(principal), float(annual_rate_percent) / 1200, int(months)
    if n <= 0:
        raise ValueError("the term must be at least one month")
    if r == 0:
        return round(p / n, 2)
    return round(p * r / (1 - (1 + r) ** -n), 2)


FUNCTIONS: dict[str, Any] = {
    name: obj for name, obj in globals().items()
    if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", "") == __name__
    and name not in ("Context", "ValidationFailure", "locale", "field", "dataclass")
}
FUNCTIONS.update(
    {
        "DAObject": objects.DAObject, "DAList": groups.DAList, "DADict": groups.DADict, "DASet": groups.DASet,
        "Individual": objects.Individual, "Person": objects.Person, "IndividualName": objects.IndividualName,
        "Address": objects.Address, "Organization": objects.Organization, "DAFile": objects.DAFile,
        "DAFileList": groups.DAFileList, "DAEmpty": objects.DAEmpty, "DAChecklist": groups.DAChecklist,
        "DADateTime": objects.DADateTime,
        "Thing": objects.Thing, "Name": objects.Name, "PartyList": groups.PartyList,
        "states_list": usstates.states_list,
    }
)
