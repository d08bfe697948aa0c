"""The wizard pieces added for docassemble's page behaviour (show if data, date limits,
currency, sliders, a review as the end screen). The behaviour itself runs in Chromium in
tests/corpus/test_core_web.py; these pin the HTML contract and its escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.testclient import TestClient

import engine
from accord.serve import seed
from store import migrate
from store.database import make_engine
from web import fieldview
from web.app import create_app


def _screen(src: str, lang: str = "en") -> engine.Screen:
    iv = engine.load_string(src)
    screen = engine.plan(iv, iv.start(lang))
    assert isinstance(screen, engine.Screen)
    return screen


def test_field_extras_for_conditions_limits_money_and_sliders() -> None:
    screen = _screen(
        "question: Q\nfields:\n  - Likes: likes\n    datatype: noyesradio\n  - Why: why\n    show if: likes\n"
        "  - Born: born\n    datatype: date\n    max: 2020-01-31\n  - Price: price\n    datatype: currency\n"
        "  - Score: score\n    datatype: range\n    min: 1\n    max: 10\n    step: 0.5\n"
        "---\nmandatory: True\nquestion: ${ price }\n"
    )
    likes, why, born, price, score = (fieldview.extras(screen, f, "en") for f in screen.fields)
    assert likes["show_if"] is None
    assert json.loads(why["show_if"]) == {"key": screen.fields[0].key, "is": True, "inverted": True}
    assert born["limits"] == {"max": "2020-01-31"}
    assert born["limit_messages"]["max"].startswith("You need to enter a date on or before")
    assert price["currency"] == "$" and born["currency"] is None
    assert score["range"] == {"min": "1", "max": "10", "step": "0.5"}
    vi = fieldview.extras(screen, screen.fields[2], "vi")
    assert vi["limit_messages"]["max"] == engine.date_limits(screen.fields[2], "vi")["max"][1]


END_REVIEW = """\
question: What is A?
fields:
  - A: a
---
event: final
question: Review your answers.
review:
  - label: Edit A
    field: a
    button: |
      A is ${ a }.
---
mandatory: True
code: |
  a
  final
"""


def test_an_end_screen_review_shows_its_items_and_edits(tmp_path: Path) -> None:
    """docassemble's final screen may be a review (no continue button): its items and their
    edit buttons are drawn, and an edit re-asks the question; other posts to an end screen
    still change nothing."""
    folder = tmp_path / "interviews"
    folder.mkdir()
    (folder / "end_review.yml").write_text(END_REVIEW, encoding="utf-8")
    db = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate.upgrade(db)
    seed(db, folder)
    try:
        with TestClient(create_app(db, "test-secret")) as client:
            sid = client.get("/i/end_review", follow_redirects=False).headers["location"].rsplit("/", 1)[1]

            def send(data: dict[str, str]) -> int:
                page = client.get(f"/s/{sid}").text
                token = re.search(r'name="_csrf" value="([^"]+)"', page)
                version = re.search(r'name="_version" value="([^"]+)"', page)
                assert token and version
                return client.post(f"/s/{sid}", data={"_csrf": token[1], "_version": version[1], **data},
                                   follow_redirects=False).status_code

            assert send({"a": "five"}) == 303
            page = client.get(f"/s/{sid}").text
            assert "Review your answers." in page and "A is five." in page
            assert re.search(r'<button type="submit" name="_edit" value="0"[^>]*>Edit A</button>', page)
            assert send({"a": "ignored"}) == 303 and "A is five." in client.get(f"/s/{sid}").text
            assert send({"_edit": "0"}) == 303
            assert "What is A?" in client.get(f"/s/{sid}").text
            assert send({"a": "six"}) == 303
            assert "A is six." in client.get(f"/s/{sid}").text
    finally:
        db.dispose()


def test_js_conditions_are_data_not_code() -> None:
    screen = _screen(
        "question: Q\nfields:\n  - Fruit: fruit\n  - Radio: radio\n    datatype: noyes\n"
        "  - Fungus: mushroom\n    js show if: |\n      val(\"fruit\") == \"apple\" && !val('radio')\n"
        "---\nmandatory: True\nquestion: ${ fruit }\n"
    )
    fungus = fieldview.extras(screen, screen.fields[2], "en")
    assert json.loads(fungus["js_show_if"]) == {"expr": "val(\"fruit\") == \"apple\" && !val('radio')",
                                                "noyes": [screen.fields[1].key]}
    assert fungus["js_hide_if"] is None and fieldview.extras(screen, screen.fields[0], "en")["js_show_if"] is None
