"""The chat's typed-answer parsers: dates (numeric and relative, en and vi), amounts, yes/no,
choices, and the messages when a text cannot be read."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.chatparse import (
    match_choice,
    parse_amount,
    parse_answer,
    parse_date_answer,
    parse_yes_no,
    relative_date,
)
from engine.screen import Choice, Field

# A Wednesday, so "next Friday" and "Friday next week" differ.
TODAY = dt.date(2026, 11, 25)


@pytest.mark.parametrize("text", ["15/03/1990", "15.03.1990", "1990-03-15", "15-03-1990", " 15/03/1990 ",
                                  "15 March 1990"])
def test_numeric_dates(text: str) -> None:
    assert parse_date_answer(text, TODAY, "en").value == "1990-03-15"
    assert parse_date_answer(text, TODAY, "vi").value == "1990-03-15"


def test_slashes_read_day_first_unless_impossible() -> None:
    assert parse_date_answer("04/03/1990", TODAY).value == "1990-03-04"
    assert parse_date_answer("03/15/1990", TODAY).value == "1990-03-15"  # no 15th month: month first


@pytest.mark.parametrize(("text", "expected"), [
    ("today", TODAY), ("Today", TODAY), ("tomorrow", dt.date(2026, 11, 26)), ("yesterday", dt.date(2026, 11, 24)),
    ("next Friday", dt.date(2026, 11, 27)), ("next friday!", dt.date(2026, 11, 27)),
    ("next Wednesday", dt.date(2026, 12, 2)),  # today is a Wednesday: the next one is a week away
    ("Friday next week", dt.date(2026, 12, 4)),
    ("in 3 days", dt.date(2026, 11, 28)), ("in 2 weeks", dt.date(2026, 12, 9)), ("in 1 month", dt.date(2026, 12, 25)),
    ("hôm nay", TODAY), ("hom nay", TODAY), ("ngày mai", dt.date(2026, 11, 26)), ("Ngày mai", dt.date(2026, 11, 26)),
    ("thứ sáu tới", dt.date(2026, 11, 27)), ("thứ 6 tới", dt.date(2026, 11, 27)),
    ("thứ 6 tuần sau", dt.date(2026, 12, 4)), ("thu sau tuan sau", dt.date(2026, 12, 4)),
    ("chủ nhật tới", dt.date(2026, 11, 29)), ("3 ngày nữa", dt.date(2026, 11, 28)),
    ("sau 2 tuần", dt.date(2026, 12, 9)),
])
def test_relative_dates(text: str, expected: dt.date) -> None:
    assert relative_date(text, TODAY) == expected
    assert parse_date_answer(text, TODAY).value == expected.isoformat()


def test_relative_dates_count_from_the_given_day() -> None:
    assert relative_date("tomorrow", dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)
    assert relative_date("in 1 month", dt.date(2027, 1, 31)) == dt.date(2027, 2, 28)


@pytest.mark.parametrize("text", ["31/02/1990", "next Funday", "soon", "15/13/1990/1", "1990-15-03", "in many days"])
def test_dates_that_cannot_be_read_say_what_works(text: str) -> None:
    parsed = parse_date_answer(text, TODAY, "en")
    assert parsed.value is None and not parsed.ok
    assert f"“{text}”" in (parsed.error or "")
    assert "15/03/1990" in (parsed.error or "") and "next Friday" in (parsed.error or "")
    vi = parse_date_answer(text, TODAY, "vi")
    assert vi.error is not None and "thứ sáu tới" in vi.error


def test_empty_answers_are_rejected() -> None:
    assert parse_date_answer("  ", TODAY).error == "Please type an answer."
    assert parse_amount("", "vi").error == "Vui lòng nhập câu trả lời."


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("25k", "en", "25000"), ("25K", "vi", "25000"), ("25.000.000 đ", "en", "25000000"),
    ("25.000.000 đ", "vi", "25000000"), ("25.000.000đ", "en", "25000000"), ("25 triệu", "vi", "25000000"),
    ("25 triệu đồng", "vi", "25000000"), ("2,5 triệu", "vi", "2500000"), ("25.000.000 VND", "en", "25000000"),
    ("$1,200.50", "en", "1200.5"), ("1200", "en", "1200"), ("25.000", "vi", "25000"), ("25.000 đ", "en", "25000"),
    ("25.5", "en", "25.5"), ("0", "en", "0"), ("1.5m", "en", "1500000"),
])
def test_amounts(text: str, lang: str, expected: str) -> None:
    assert parse_amount(text, lang).value == expected


@pytest.mark.parametrize("text", ["abc", "25 apples", "k", "1,2,3.4.5"])
def test_amounts_that_cannot_be_read(text: str) -> None:
    parsed = parse_amount(text, "en")
    assert parsed.value is None
    assert parsed.error == f"I could not read “{text}” as an amount. Try 25000, 25k, 25.000.000 đ or 25 triệu."
    assert "25 triệu" in (parse_amount(text, "vi").error or "")


@pytest.mark.parametrize("text", ["yes", "Y", "yeah", "Sure", "yes!", "ok", "có", "Có", "co", "vâng", "ừ", "đúng",
                                  "vâng ạ", "đồng ý"])
def test_yes_words(text: str) -> None:
    assert parse_yes_no(text).value == "True"


@pytest.mark.parametrize("text", ["no", "N", "nope", "No.", "không", "khong", "ko", "KO", "không ạ"])
def test_no_words(text: str) -> None:
    assert parse_yes_no(text).value == "False"


@pytest.mark.parametrize("text", ["maybe", "", "yes no", "có lẽ"])
def test_other_words_are_not_yes_or_no(text: str) -> None:
    assert parse_yes_no(text, "en").error == "Please answer yes or no."
    assert parse_yes_no(text, "vi").error == "Vui lòng trả lời có hoặc không."


CHOICES = (Choice("Việt Nam", "VN"), Choice("Hoa Kỳ", "US"), Choice("Another country", "other"))


@pytest.mark.parametrize(("text", "expected"), [("Việt Nam", "VN"), ("viet nam", "VN"), ("VN", "VN"), ("us", "US"),
                                                ("2", "US"), ("hoa", "US"), ("another", "other")])
def test_choices(text: str, expected: str) -> None:
    assert match_choice(text, CHOICES).value == expected


def test_a_choice_that_is_not_there_lists_the_choices() -> None:
    parsed = match_choice("France", CHOICES, "en")
    assert parsed.error == "“France” is not one of the choices. Pick one: Việt Nam, Hoa Kỳ, Another country."
    assert match_choice("4", CHOICES).value is None


def test_parse_answer_dispatches_on_the_datatype() -> None:
    def field(datatype: str, **kw: object) -> Field:
        return Field(key="x", var="x", datatype=datatype, **kw)  # type: ignore[arg-type]

    assert parse_answer(field("date"), "ngày mai", TODAY, "vi").value == "2026-11-26"
    assert parse_answer(field("currency"), "25k", TODAY).value == "25000"
    assert parse_answer(field("integer"), "3", TODAY).value == "3"
    assert parse_answer(field("yesno"), "ko", TODAY).value == "False"
    assert parse_answer(field("noyes"), "yes", TODAY).value == "True"  # the engine inverts noyes
    assert parse_answer(field("radio", choices=CHOICES), "hoa ky", TODAY).value == "US"
    assert parse_answer(field("email"), " an@example.com ", TODAY).value == "an@example.com"
    assert parse_answer(field("text"), "Nguyễn Văn An", TODAY).value == "Nguyễn Văn An"
    assert parse_answer(field("integer"), "many", TODAY).error == "I could not read “many” as a number. Try 3 or 12."
