"""The wizard pieces added for docassemble's page behaviour (glossary popovers, show if data,
date limits, currency, sliders). The behaviour itself runs in Chromium in
tests/corpus/test_core_web.py; these pin the HTML contract and its escaping."""

from __future__ import annotations

import json

import engine
from web import fieldview, markup


def test_terms_become_popover_buttons() -> None:
    html = markup.with_terms(markup.render("Met a {creeper} or a {Zombie pigman|pigman}? {nothing}"),
                             {"creeper": "A *green* thing.", "zombie pigman": "Harmless."})
    assert '<button type="button" class="term" popovertarget="' in html
    assert ">creeper</button>" in html and ">pigman</button>" in html
    assert "<em>green</em>" in html and 'popover class="term-definition"' in html
    assert "{nothing}" in html  # braces naming no term stay as written
    ids = [part.split('"')[0] for part in html.split('popovertarget="')[1:]]
    assert len(set(ids)) == 2 and all(f'id="{i}"' in html for i in ids)


def test_terms_keep_text_escaped() -> None:
    html = markup.with_terms(markup.render("A {<b>x</b>} and {danger}"), {"danger": "<script>alert(1)</script>"})
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def test_no_terms_leaves_the_html_alone() -> None:
    html = markup.render("Plain {text}")
    assert markup.with_terms(html, {}) is html


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
