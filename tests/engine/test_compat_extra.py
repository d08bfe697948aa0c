"""More docassemble compatibility: behaviours found by running a wider set of example interviews.

Each test is a small interview written for this file; it pins one docassemble semantic that the
engine once got wrong.
"""

from __future__ import annotations

from engine_steps import answer, walk_to

import engine
from engine import Screen


def keys(screen: Screen) -> list[str | None]:
    return [f.var for f in screen.fields]


def test_objects_made_in_code_take_the_name_of_where_they_are_stored() -> None:
    iv = engine.load_string(
        """
objects:
  - house: DAObject
  - pets: DAList
---
mandatory: True
code: |
  house.door = DAObject()
  lamp = DAObject()
  pets.append(Individual())
  pets.gathered = True
---
mandatory: True
question: ${ house.door.colour } door, ${ lamp.colour } lamp, ${ pets[0].name.first }
---
generic object: DAObject
question: Colour of ${ x.object_name() }?
fields:
  - Colour: x.colour
---
generic object: Individual
question: Name of ${ x.object_name() }?
fields:
  - First: x.name.first
"""
    )
    st = iv.start()
    screen = walk_to(iv, st)
    assert keys(screen) == ["house.door.colour"]
    assert screen.question == "Colour of house.door?"
    screen = answer(iv, st, {"house.door.colour": "red"})
    assert keys(screen) == ["lamp.colour"]
    screen = answer(iv, st, {"lamp.colour": "blue"})
    assert keys(screen) == ["pets[0].name.first"]
    screen = answer(iv, st, {"pets[0].name.first": "Rex"})
    assert screen.question == "red door, blue lamp, Rex"
    assert isinstance(engine.plan(iv, st), Screen)


def test_an_unnamed_object_is_a_clear_error_not_a_crash() -> None:
    iv = engine.load_string("mandatory: True\ncode: |\n  print(DAObject().colour)\n", "z.yml")
    try:
        engine.plan(iv, iv.start())
    except engine.InterviewError as exc:
        assert "has no variable name" in str(exc)
        assert "z.yml" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected an InterviewError")


def test_list_extend_adds_items() -> None:
    iv = engine.load_string(
        """
objects:
  - fears: DAList
---
mandatory: True
code: |
  fears.extend(['spiders', 'snakes'])
  fears.gathered = True
---
mandatory: True
question: Afraid of ${ fears }
"""
    )
    assert walk_to(iv, iv.start()).question == "Afraid of spiders and snakes"



def test_fields_given_as_one_mapping_is_one_field() -> None:
    iv = engine.load_string(
        """
question: Pick a colour
fields:
  no label: colour
  datatype: radio
  choices:
    - Red
    - Blue
---
mandatory: True
question: You picked ${ colour }
"""
    )
    st = iv.start()
    screen = walk_to(iv, st)
    assert keys(screen) == ["colour"]
    assert screen.fields[0].datatype == "radio"
    assert answer(iv, st, {"colour": "Blue"}).question == "You picked Blue"


LIST_GATHER = """
objects:
  - things: DAList
---
mandatory: True
code: |
  %s
---
question: Thing ${ i }?
fields:
  - Thing: things[i]
---
question: Another?
yesno: things.there_is_another
---
question: Any?
yesno: things.there_are_any
---
mandatory: True
question: Things are ${ things }
"""


def test_gather_with_number_asks_exactly_that_many() -> None:
    iv = engine.load_string(LIST_GATHER % "things.auto_gather = False\n  things.gathered = things.gather(number=2)")
    st = iv.start()
    assert walk_to(iv, st).question == "Thing 0?"
    assert answer(iv, st, {"things[0]": "a"}).question == "Thing 1?"
    assert answer(iv, st, {"things[1]": "b"}).question == "Things are a and b"


def test_minimum_number_skips_there_are_any() -> None:
    iv = engine.load_string(LIST_GATHER % "things.minimum_number = 2")
    st = iv.start()
    assert walk_to(iv, st).question == "Thing 0?"
    assert answer(iv, st, {"things[0]": "a"}).question == "Thing 1?"
    assert answer(iv, st, {"things[1]": "b"}).question == "Another?"
    assert answer(iv, st, {}, button=1).question == "Things are a and b"


def test_gather_minimum_argument() -> None:
    iv = engine.load_string(LIST_GATHER % "things.gather(minimum=1)")
    st = iv.start()
    assert walk_to(iv, st).question == "Thing 0?"
    assert answer(iv, st, {"things[0]": "a"}).question == "Another?"


DICT_GATHER = """
objects:
  - seeds: DADict
---
mandatory: True
code: |
  %s
---
question: How many fruits?
fields:
  - Number: seeds.target_number
    datatype: integer
---
question: Which fruit?
fields:
  - Fruit: seeds.new_item_name
%s
---
question: Seeds in ${ i }?
fields:
  - Seeds: seeds[i]
    datatype: integer
---
question: Another?
yesno: seeds.there_is_another
---
question: Any?
yesno: seeds.there_are_any
---
mandatory: True
question: ${ seeds.number() } fruits, ${ seeds.true_values() }
"""


def test_dict_ask_number_asks_target_number() -> None:
    iv = engine.load_string(DICT_GATHER % ("seeds.ask_number = True", ""))
    st = iv.start()
    assert walk_to(iv, st).question == "How many fruits?"
    assert answer(iv, st, {"seeds.target_number": "1"}).question == "Which fruit?"
    assert answer(iv, st, {"seeds.new_item_name": "fig"}).question == "Seeds in fig?"
    assert answer(iv, st, {"seeds['fig']": "3"}).question.startswith("1 fruits")


def test_dict_new_item_value_sets_the_value() -> None:
    iv = engine.load_string(DICT_GATHER % ("seeds.there_are_any = True", """  - Seeds: seeds.new_item_value
    datatype: integer"""))
    st = iv.start()
    assert walk_to(iv, st).question == "Which fruit?"
    screen = answer(iv, st, {"seeds.new_item_name": "fig", "seeds.new_item_value": "3"})
    assert screen.question == "Another?"
    assert answer(iv, st, {}, button=1).question.startswith("1 fruits")
    assert st.namespace["seeds"]["fig"] == 3


def test_checkbox_methods_take_keys_and_exclusive() -> None:
    iv = engine.load_string(
        """
question: Fruit?
fields:
  - Likes: likes
    datatype: checkboxes
    choices:
      - Apple
      - Pear
      - Plum
---
mandatory: True
question: |
  ${ likes.all_false('Apple', 'Pear') } ${ likes.all_false('Apple', 'Pear', exclusive=True) }
  ${ likes.all_true('Plum') } ${ likes.any_true('Apple', 'Plum') } ${ likes.any_false() }
"""
    )
    st = iv.start()
    screen = answer(iv, st, {"likes": ["Plum"]})
    assert screen.question.split() == ["True", "True", "True", "True", "True"]


def test_dict_new_and_iteritems_and_set_printing() -> None:
    iv = engine.load_string(
        """
objects:
  - boxes: DADict.using(object_type=DAList)
  - colours: DASet
---
mandatory: True
code: |
  boxes.new('small', ['big'])
  boxes.gathered = True
  colours.add('red', 'blue')
  pairs = [k for k, v in boxes.iteritems()]
---
mandatory: True
question: ${ pairs } ${ boxes['big'].instanceName } ${ colours }
"""
    )
    assert walk_to(iv, iv.start()).question == "['small', 'big'] boxes['big'] blue and red"


def test_append_object_with_a_class_and_attributes() -> None:
    iv = engine.load_string(
        """
objects:
  - parties: PartyList
  - things: DAList.using(object_type=Thing)
---
mandatory: True
code: |
  parties.appendObject(Person)
  parties[0].name.text = "Acme"
  things.appendObject(name='pie')
  parties.gathered = True
  things.gathered = True
---
mandatory: True
question: ${ parties[0].name.lastfirst() }; ${ things }; ${ isinstance(parties[0], Individual) }
"""
    )
    assert walk_to(iv, iv.start()).question == "Acme; pie; False"


def test_more_specific_index_question_wins() -> None:
    iv = engine.load_string(
        """
objects:
  - rows: DAList.using(object_type=DAList, auto_gather=False, gathered=True)
---
mandatory: True
code: |
  rows.appendObject()
  rows[0].there_are_any = True
---
question: Item ${ j } of row ${ i }?
fields:
  - Value: rows[i][j]
---
question: The second item of row ${ i }?
fields:
  - Value: rows[i][1]
---
question: More in row ${ i }?
yesno: rows[i].there_is_another
---
mandatory: True
question: ${ rows[0] }
"""
    )
    st = iv.start()
    assert walk_to(iv, st).question == "Item 0 of row 0?"
    assert answer(iv, st, {"rows[0][0]": "a"}).question == "More in row 0?"
    assert answer(iv, st, {}, button=0).question == "The second item of row 0?"
    assert answer(iv, st, {"rows[0][1]": "b"}).question == "More in row 0?"


def test_objects_block_with_an_index_variable() -> None:
    iv = engine.load_string(
        """
objects:
  - kids: DAList.using(object_type=Individual, there_are_any=True)
  - kids[i].school: Thing
---
question: Kid ${ i }?
fields:
  - Name: kids[i].name.first
---
question: School of ${ kids[i] }?
fields:
  - School: kids[i].school.name.text
---
question: More kids?
yesno: kids.there_is_another
---
mandatory: True
question: |
  % for kid in kids:
  ${ kid } at ${ kid.school };
  % endfor
"""
    )
    st = iv.start()
    assert walk_to(iv, st).question == "Kid 0?"
    assert answer(iv, st, {"kids[0].name.first": "Ann"}).question == "More kids?"
    screen = answer(iv, st, {}, button=1)
    assert screen.question == "School of Ann?"
    assert keys(screen) == ["kids[0].school.name.text"]
    assert answer(iv, st, {"kids[0].school.name.text": "Elm"}).question.strip() == "Ann at Elm;"


def test_list_printed_while_gathered_through_a_code_block() -> None:
    iv = engine.load_string(
        """
objects:
  - things: DAList.using(there_are_any=True)
---
code: |
  if wants_more:
    del wants_more
    things.there_is_another = True
  else:
    things.there_is_another = False
---
question: Thing ${ i }?
fields:
  - Thing: things[i]
---
question: Besides ${ things }, more?
yesno: wants_more
---
mandatory: True
question: Things are ${ things }
"""
    )
    st = iv.start()
    assert walk_to(iv, st).question == "Thing 0?"
    assert answer(iv, st, {"things[0]": "a"}).question == "Besides a, more?"
    assert answer(iv, st, {}, button=0).question == "Thing 1?"
    assert answer(iv, st, {"things[1]": "b"}).question == "Besides a and b, more?"
    assert answer(iv, st, {}, button=1).question == "Things are a and b"


def test_title_case_salutation_and_period_list() -> None:
    iv = engine.load_string(
        "objects:\n  - client: Individual\n---\ncode: |\n  client.gender = 'female'\n  client.name.first = 'An'\n---\n"
        "mandatory: True\nquestion: ${ title_case('terms of the loan') }, ${ client.salutation() } "
        "${ client.name.first }, ${ period_list()[0][1] }\n"
    )
    screen = engine.plan(iv, iv.start())
    assert isinstance(screen, engine.Screen)
    assert screen.question == "Terms of the Loan, Ms. An, Per Month"


def test_a_choice_that_is_a_question_is_refused_at_load() -> None:
    import pytest

    with pytest.raises(engine.LoadError, match="a choice that is itself a question"):
        engine.load_string("question: C?\nfield: c\nbuttons:\n  - Red:\n      question: Which?\n      field: c\n")
