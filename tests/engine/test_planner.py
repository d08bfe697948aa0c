"""Planning and applying: docassemble's observable semantics on small interviews."""

from __future__ import annotations

from engine_steps import answer, walk_to

import engine
from engine import Done, ValidationErrors

BASIC = """
mandatory: True
code: |
  name
  if age >= 18:
    job
  final_screen
---
question: Your name?
fields:
  - Name: name
---
question: Your age?
fields:
  - Age: age
    datatype: integer
    min: 0
---
question: Your job?
fields:
  - Job: job
---
event: final_screen
question: Done, ${ name }.
"""


def test_interview_order_and_branch() -> None:
    iv = engine.load_string(BASIC)
    st = iv.start()
    assert walk_to(iv, st).question == "Your name?"
    assert answer(iv, st, {"name": "An"}).question == "Your age?"
    assert answer(iv, st, {"age": "30"}).question == "Your job?"
    end = answer(iv, st, {"job": "Baker"})
    assert end.is_end and end.question == "Done, An."


def test_branch_skipped_for_minor() -> None:
    iv = engine.load_string(BASIC)
    st = iv.start()
    answer(iv, st, {"name": "An"})
    end = answer(iv, st, {"age": "12"})
    assert end.is_end


def test_validation_errors_are_per_field_and_change_nothing() -> None:
    iv = engine.load_string(BASIC)
    st = iv.start()
    answer(iv, st, {"name": "An"})
    screen = walk_to(iv, st)
    before = st.to_json()
    result = engine.apply(iv, st, screen, {"age": "-3"})
    assert isinstance(result, ValidationErrors)
    assert result.for_key("age") == ["You need to enter a value of at least 0."]
    assert st.to_json() == before
    result = engine.apply(iv, st, screen, {"age": "abc"})
    assert isinstance(result, ValidationErrors) and result.errors[0].code == "integer"


def test_vietnamese_messages() -> None:
    iv = engine.load_string(BASIC)
    st = iv.start(lang="vi")
    answer(iv, st, {"name": "An"})
    result = engine.apply(iv, st, walk_to(iv, st), {"age": ""})
    assert isinstance(result, ValidationErrors)
    assert result.messages == ["Bạn cần điền thông tin này."]


def test_state_round_trips_through_json() -> None:
    iv = engine.load_string(BASIC)
    st = iv.start()
    answer(iv, st, {"name": "An"})
    answer(iv, st, {"age": "30"})
    restored = engine.State.from_json(st.to_json())
    assert walk_to(iv, restored).question == "Your job?"
    assert restored.log[0]["changes"] == {"name": [None, "An"]}


def test_back_keeps_later_answers() -> None:
    iv = engine.load_string(BASIC)
    st = iv.start()
    answer(iv, st, {"name": "An"})
    answer(iv, st, {"age": "30"})
    assert engine.go_back(iv, st)
    again = walk_to(iv, st)
    assert again.question == "Your age?"
    assert again.fields[0].default == 30
    assert st.namespace["name"] == "An"
    assert answer(iv, st, {"age": "31"}).question == "Your job?"


def test_last_block_wins_and_if_skips() -> None:
    iv = engine.load_string(
        """
mandatory: True
question: Fruit is ${ fruit }
---
question: First fruit question
fields:
  - Fruit: fruit
---
if: formal
question: Formal fruit question
fields:
  - Fruit: fruit
---
question: Formal?
yesno: formal
"""
    )
    st = iv.start()
    assert walk_to(iv, st).question == "Formal?"
    assert answer(iv, st, {}, button=1).question == "First fruit question"
    st = iv.start()
    assert answer(iv, st, {}, button=0).question == "Formal fruit question"


def test_mandatory_question_completes_by_id() -> None:
    iv = engine.load_string(
        "id: hello\nmandatory: True\nquestion: Hello\ncontinue button field: ok\n---\n"
        "mandatory: True\nquestion: Bye\n"
    )
    st = iv.start()
    assert answer(iv, st, {}).question == "Bye"
    assert "hello" in st.done


def test_show_if_same_screen_skips_hidden_field() -> None:
    iv = engine.load_string(
        """
question: Pets
fields:
  - Any pets?: has_pets
    datatype: yesnoradio
  - Which?: pet_kind
    show if: has_pets
---
mandatory: True
question: ${ has_pets } ${ showifdef('pet_kind', 'none') }
"""
    )
    st = iv.start()
    screen = walk_to(iv, st)
    assert screen.fields[1].show_if == ("has_pets", True)
    end = answer(iv, st, {"has_pets": "False", "pet_kind": ""})
    assert end.question == "False none"


def test_show_if_other_screen_is_server_side() -> None:
    iv = engine.load_string(
        """
mandatory: True
code: |
  married
  details_done
  final
---
question: Married?
yesno: married
---
question: Details
fields:
  - Spouse: spouse
    show if: married
  - City: city
continue button field: details_done
---
event: final
question: ${ showifdef('spouse', 'single') } in ${ city }
"""
    )
    st = iv.start()
    screen = answer(iv, st, {}, button=1)
    assert [f.label for f in screen.fields if f.datatype != "continue"] == ["City"]
    assert answer(iv, st, {"city": "Hue", "details_done": True}).question == "single in Hue"


def test_changed_answer_recomputes_dependents_only() -> None:
    iv = engine.load_string(
        """
mandatory: True
code: |
  fee
  other
  final
---
code: |
  fee = amount * 2
---
question: Amount
fields:
  - Amount: amount
    datatype: integer
---
question: Other
fields:
  - Other: other
---
event: final
question: Fee ${ fee }, other ${ other }
"""
    )
    st = iv.start()
    answer(iv, st, {"amount": "5"})
    assert answer(iv, st, {"other": "x"}).question == "Fee 10, other x"
    assert engine.revisit(iv, st, "amount")
    screen = walk_to(iv, st)
    assert screen.question == "Amount"
    end = answer(iv, st, {"amount": "7"})
    assert end.question == "Fee 14, other x"


def test_done_when_nothing_left() -> None:
    iv = engine.load_string("mandatory: True\ncode: |\n  x = 1\n")
    assert isinstance(engine.plan(iv, iv.start()), Done)


def test_run_time_error_names_block() -> None:
    iv = engine.load_string("mandatory: True\ncode: |\n  x = 1 / 0\n", "z.yml")
    try:
        engine.plan(iv, iv.start())
    except engine.InterviewError as exc:
        assert str(exc).startswith("z.yml:1:")
        assert "ZeroDivisionError" in str(exc)
    else:
        raise AssertionError("expected an InterviewError")


def test_short_circuit_never_asks_what_it_does_not_need() -> None:
    iv = engine.load_string(
        """
mandatory: True
code: |
  if has_co and co_income > 0:
    co_note
  final
---
question: Co-applicant?
yesno: has_co
---
question: Co income
fields:
  - Income: co_income
    datatype: currency
---
question: Note
fields:
  - Note: co_note
---
event: final
question: End
"""
    )
    st = iv.start()
    assert walk_to(iv, st).question == "Co-applicant?"
    assert answer(iv, st, {}, button=1).question == "End"
    st = iv.start()
    assert answer(iv, st, {}, button=0).question == "Co income"
    assert answer(iv, st, {"co_income": "100"}).question == "Note"


def test_depends_on_and_reconsider() -> None:
    iv = engine.load_string(
        """
mandatory: True
code: |
  total
  summary_seen
---
depends on: price
code: |
  total = price + tax
---
reconsider: True
code: |
  tax = 1
---
question: Price
fields:
  - Price: price
    datatype: integer
---
question: Total ${ total }
continue button field: summary_seen
"""
    )
    st = iv.start()
    assert walk_to(iv, st).question == "Price"
    assert answer(iv, st, {"price": "10"}).question == "Total 11"
    engine.revisit(iv, st, "price")
    assert walk_to(iv, st).question == "Price"
    assert answer(iv, st, {"price": "20"}).question == "Total 21"


def test_index_variables_and_lists() -> None:
    iv = engine.load_string(
        """
objects:
  - kids: DAList
---
mandatory: True
question: Kids are ${ kids }
---
question: Any kids?
yesno: kids.there_are_any
---
question: Name of kid ${ i + 1 }
fields:
  - Name: kids[i]
---
question: Another kid?
yesno: kids.there_is_another
"""
    )
    st = iv.start()
    assert walk_to(iv, st).question == "Any kids?"
    screen = answer(iv, st, {}, button=0)
    assert screen.question == "Name of kid 1" and screen.fields[0].var == "kids[0]"
    assert answer(iv, st, {"kids[0]": "An"}).question == "Another kid?"
    assert answer(iv, st, {}, button=0).question == "Name of kid 2"
    assert answer(iv, st, {"kids[1]": "Binh"}).question == "Another kid?"
    end = answer(iv, st, {}, button=1)
    assert end.question == "Kids are An and Binh"
    restored = engine.State.from_json(st.to_json())
    assert engine.plan(iv, restored) == end


def test_sections_follow_the_language() -> None:
    iv = engine.load_string(
        """
sections:
  - intro: Welcome
  - money: Money
---
language: vi
sections:
  - intro: Chào mừng
  - money: Tiền
---
section: intro
question: Hi
continue button field: seen
---
language: vi
section: intro
question: Chào
continue button field: seen
---
mandatory: True
code: |
  seen
  final
---
event: final
question: End
"""
    )
    en = walk_to(iv, iv.start("en"))
    assert en.section == "Welcome" and en.sections == ("Welcome", "Money")
    vi = walk_to(iv, iv.start("vi"))
    assert vi.question == "Chào" and vi.section == "Chào mừng" and vi.sections == ("Chào mừng", "Tiền")


def test_templates_are_saved_as_json() -> None:
    iv = engine.load_string(
        "template: letter\ncontent: Dear ${ name }\n---\nquestion: Name\nfields:\n  - Name: name\n---\n"
        "mandatory: True\nquestion: ${ letter }\n"
    )
    st = iv.start()
    end = answer(iv, st, {"name": "An"})
    assert end.question == "Dear An"
    restored = engine.State.from_json(st.to_json())
    assert str(restored.namespace["letter"]) == "Dear An"


def test_date_bound_from_an_expression_works_in_every_language() -> None:
    iv = engine.load_string(
        "question: D\nfields:\n  - Born: born\n    datatype: date\n    max: ${ today() }\n---\n"
        "mandatory: True\nquestion: ${ born }\n"
    )
    for lang in ("en", "vi"):
        st = iv.start(lang)
        screen = walk_to(iv, st)
        assert isinstance(screen.fields[0].max, str) and len(screen.fields[0].max) == 10
        result = engine.apply(iv, st, screen, {"born": "2099-01-01"})
        assert isinstance(result, ValidationErrors) and result.errors[0].code == "maxdate"


def test_date_limits_give_the_words_apply_uses() -> None:
    iv = engine.load_string(
        "question: D\nfields:\n  - Born: born\n    datatype: date\n    min: 1900-01-01\n    max: 2020-06-30\n"
        "  - Name: name\n---\nmandatory: True\nquestion: ${ born }\n"
    )
    for lang in ("en", "vi"):
        st = iv.start(lang)
        screen = walk_to(iv, st)
        limits = engine.date_limits(screen.fields[0], lang)
        assert limits["min"][0] == "1900-01-01" and limits["max"][0] == "2020-06-30"
        result = engine.apply(iv, st, screen, {"born": "2021-01-01", "name": "A"})
        assert isinstance(result, ValidationErrors)
        assert result.errors[0].message == limits["max"][1]
        result = engine.apply(iv, st, screen, {"born": "1899-01-01", "name": "A"})
        assert isinstance(result, ValidationErrors)
        assert result.errors[0].message == limits["min"][1]
        assert engine.date_limits(screen.fields[1], lang) == {}
    assert "on or before" in engine.date_limits(screen.fields[0], "en")["max"][1]


def test_screen_says_the_interview_currency() -> None:
    src = "question: Q\nfields:\n  - Price: price\n    datatype: currency\n---\nmandatory: True\nquestion: ${ price }\n"
    usd = engine.load_string(src)
    assert walk_to(usd, usd.start()).currency == "USD"
    vnd = engine.load_string("metadata:\n  currency: VND\n---\n" + src)
    assert walk_to(vnd, vnd.start()).currency == "VND"


def test_field_with_buttons_is_a_buttons_screen() -> None:
    iv = engine.load_string(
        "question: Pick\nfield: pick\nbuttons:\n  - A\n  - B\n---\nmandatory: True\nquestion: ${ pick }\n"
    )
    screen = walk_to(iv, iv.start())
    assert screen.kind == "buttons" and [b.label for b in screen.buttons] == ["A", "B"]


def test_currency_per_locale() -> None:
    iv = engine.load_string(
        "metadata:\n  currency: VND\n---\nmandatory: True\n"
        "question: ${ currency(25000000) } ${ currency(1234.5, symbol='$') }\n"
    )
    assert walk_to(iv, iv.start("vi")).question == "25.000.000\xa0₫ $1.234,50"
    assert walk_to(iv, iv.start("en")).question == "₫25,000,000 $1,234.50"


def test_list_item_in_interview_order_is_created_before_it_is_answered() -> None:
    iv = engine.load_string(
        """
objects:
  - people: DAList.using(object_type=Individual, auto_gather=False)
---
mandatory: True
code: |
  people[0].name.first
  final
---
question: Name
fields:
  - First: people[i].name.first
---
event: final
question: Hi ${ people[0].name.first }
"""
    )
    st = iv.start()
    screen = walk_to(iv, st)
    assert screen.fields[0].var == "people[0].name.first"
    assert answer(iv, st, {"people[0].name.first": "An"}).question == "Hi An"


def test_numbers_as_people_type_them_and_step() -> None:
    iv = engine.load_string(
        "question: Money\nfields:\n  - Amount: amount\n    datatype: currency\n  - Months: months\n"
        "    datatype: integer\n    min: 6\n    step: 6\n---\nmandatory: True\nquestion: ${ amount } ${ months }\n"
    )
    st = iv.start("vi")
    screen = walk_to(iv, st)
    result = engine.apply(iv, st, screen, {"amount": "25 triệu", "months": "7"})
    assert isinstance(result, ValidationErrors) and result.errors[0].code == "step"
    assert result.messages == ["Bạn cần nhập một bội số của 6."]
    assert answer(iv, st, {"amount": "25.000.000 đ", "months": "12"}).question == "25000000.0 12"


def test_files_and_accepted_types() -> None:
    iv = engine.load_string(
        "question: Upload\nfields:\n  - ID: id_doc\n    datatype: files\n    accept: image/*,.pdf\n---\n"
        "mandatory: True\nquestion: ${ id_doc }\n"
    )
    st = iv.start()
    screen = walk_to(iv, st)
    bad = engine.apply(iv, st, screen, {"id_doc": [{"filename": "x.exe", "mimetype": "application/x-msdownload"}]})
    assert isinstance(bad, ValidationErrors) and bad.errors[0].code == "filetype"
    end = answer(iv, st, {"id_doc": [{"filename": "a.pdf"}, {"filename": "b.png", "mimetype": "image/png"}]})
    assert end.question == "a.pdf, b.png"
    assert engine.State.from_json(st.to_json()).namespace["id_doc"].elements[1].filename == "b.png"


def test_required_expression_over_the_same_screen() -> None:
    iv = engine.load_string(
        """
question: Contact
fields:
  - Preferred contact: method
    datatype: radio
    choices:
      - email
      - phone
  - Phone: phone
    required: method == 'phone'
---
mandatory: True
question: ${ method } ${ phone }
"""
    )
    st = iv.start()
    screen = walk_to(iv, st)
    assert screen.fields[1].required_expr == "method == 'phone'"
    missing = engine.apply(iv, st, screen, {"method": "phone", "phone": ""})
    assert isinstance(missing, ValidationErrors) and missing.errors[0].key == "phone"
    assert answer(iv, st, {"method": "email", "phone": ""}).question == "email"


def test_generic_object_screens_survive_json_and_back() -> None:
    iv = engine.load_string(
        """
objects:
  - client: Individual
  - spouse: Individual
---
generic object: Individual
question: What is ${ x.object_name() }'s first name?
fields:
  - First: x.name.first
---
mandatory: True
question: ${ client.name.first } and ${ spouse.name.first }
"""
    )
    st = iv.start()
    first = walk_to(iv, st)
    assert first.bindings == {"x": {"object": "client"}}
    st = engine.State.from_json(st.to_json())
    second = answer(iv, st, {"client.name.first": "An"})
    assert second.question == "What is spouse's first name?"
    assert engine.go_back(iv, st)
    st = engine.State.from_json(st.to_json())
    again = walk_to(iv, st)
    assert again.question == "What is client's first name?" and again.fields[0].default == "An"
    assert answer(iv, st, {"client.name.first": "Anh"}).question == "What is spouse's first name?"


def test_back_button_follows_features_and_prevent_going_back() -> None:
    iv = engine.load_string(
        """
features:
  navigation back button: False
  question back button: True
---
mandatory: True
code: |
  a
  b
  c
---
question: A
fields:
  - A: a
---
question: B
prevent going back: True
fields:
  - B: b
---
question: C
fields:
  - C: c
"""
    )
    st = iv.start()
    assert walk_to(iv, st).back_button is False  # nothing to go back to yet
    assert answer(iv, st, {"a": "1"}).back_button is False  # prevented
    assert answer(iv, st, {"b": "2"}).back_button is True


def test_review_follow_up_in_label_form() -> None:
    iv = engine.load_string(
        """
mandatory: True
code: |
  fruit
  reviewed
  final
---
question: Fruit?
field: fruit
choices:
  - Apple
  - Pear
---
if: fruit == 'Apple'
question: Which apple?
fields:
  - Apple: apple
---
question: Review
review:
  - Edit fruit:
      - fruit
      - follow up:
          - apple
    button: ${ fruit }
continue button field: reviewed
---
event: final
question: Done ${ fruit } ${ showifdef('apple') }
"""
    )
    st = iv.start()
    assert answer(iv, st, {"fruit": "Pear"}).question == "Review"
    assert engine.revisit(iv, st, "fruit")
    assert walk_to(iv, st).question == "Fruit?"
    assert answer(iv, st, {"fruit": "Apple"}).question == "Which apple?"
    assert answer(iv, st, {"apple": "Fuji"}).question == "Review"


def test_help_label_end_progress_and_date_messages() -> None:
    iv = engine.load_string(
        """
features:
  progress bar: True
---
mandatory: True
code: |
  born
  final
---
question: Born?
help:
  label: Why do we ask?
  content: The law says so.
fields:
  - Born: born
    datatype: date
    max: ${ today() }
    validation messages:
      max: Your date of birth cannot be in the future.
---
event: final
question: Born ${ format_date(born) }
"""
    )
    st = iv.start("vi")
    screen = walk_to(iv, st)
    assert screen.help_label == "Why do we ask?" and screen.help == "The law says so."
    bad = engine.apply(iv, st, screen, {"born": "2099-01-01"})
    assert isinstance(bad, ValidationErrors) and bad.messages == ["Your date of birth cannot be in the future."]
    end = answer(iv, st, {"born": "15/01/1990"})
    assert end.progress == 100 and end.question == "Born 15 tháng 1 năm 1990"


def test_a_block_that_needs_what_it_defines_is_skipped_for_the_next() -> None:
    iv = engine.load_string(
        """
mandatory: True
question: Total ${ total }
---
code: |
  total = base + 1
---
code: |
  total = total + 1
---
question: Base?
fields:
  - Base: base
    datatype: integer
"""
    )
    st = iv.start()
    assert walk_to(iv, st).question == "Base?"
    assert answer(iv, st, {"base": "4"}).question == "Total 5"


def test_a_real_cycle_is_still_reported() -> None:
    iv = engine.load_string("mandatory: True\nquestion: ${ a }\n---\ncode: |\n  a = b\n---\ncode: |\n  b = a\n")
    try:
        engine.plan(iv, iv.start())
    except engine.InterviewError as exc:
        assert "circular dependency: a -> b -> a" in str(exc)
    else:
        raise AssertionError("expected a circular dependency")


def test_choices_without_a_datatype_are_a_dropdown_whether_listed_or_from_code() -> None:
    iv = engine.load_string(
        "question: Q\nfields:\n  - Fruit: fruit\n    choices:\n      - Apple\n      - Pear\n"
        "  - State: state\n    code: |\n      ['MO', 'KS']\n  - Kind: kind\n    datatype: radio\n    code: |\n"
        "      ['a', 'b']\n---\nmandatory: True\nquestion: ${ fruit } ${ state } ${ kind }\n"
    )
    screen = walk_to(iv, iv.start())
    assert [f.datatype for f in screen.fields] == ["dropdown", "dropdown", "radio"]
    assert [c.value for c in screen.fields[1].choices] == ["MO", "KS"]
