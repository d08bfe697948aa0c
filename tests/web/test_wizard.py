"""The wizard over HTTP (no JavaScript): Starlette's TestClient against a migrated, seeded SQLite.

The walks are generic: for every page, the test re-plans the screen from the stored state,
draws answers with `accord.autoanswer.answers_for`, checks the page has an input for each of
them, and posts them with the page's CSRF token and the chosen button.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.testclient import TestClient

import engine
from accord.autoanswer import BOOL_TYPES, FILE_TYPES, answers_for
from engine import Done, Screen
from store.models import InterviewVersion
from store.sessions import compile_version, load_state
from web.app import create_app


@pytest.fixture
def client(db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(db, "test-secret")) as c:
        yield c


class Form(HTMLParser):
    """The page's POST form: hidden values and the names of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms = 0
        self.hidden: dict[str, str] = {}
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms += 1
        if tag in ("input", "select", "textarea", "button") and a.get("name"):
            name = a["name"] or ""
            self.names.add(name)
            if a.get("type") == "hidden":
                self.hidden[name] = a.get("value") or ""


def parse(html: str) -> Form:
    form = Form()
    form.feed(html)
    return form


def start(client: TestClient, lang: str = "en") -> str:
    response = client.get(f"/i/loan_application?lang={lang}", follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/s/")
    return location.removeprefix("/s/")


def current(db: Engine, session_id: str) -> Screen | Done:
    with DB(db) as s:
        session, state = load_state(s, session_id)
        version = s.get(InterviewVersion, session.interview_version_id)
        assert version is not None
        return engine.plan(compile_version(version), state)


def stored_vars(db: Engine, session_id: str) -> dict[str, Any]:
    with DB(db) as s:
        _session, state = load_state(s, session_id)
        return dict(state.namespace)


def form_data(screen: Screen, answers: dict[str, Any], button: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fields, files) as a browser would post these answers."""
    data: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for key, value in answers.items():
        f = screen.field_by_key(key)
        assert f is not None
        if f.datatype in FILE_TYPES:
            files[key] = ("upload.pdf", b"%PDF-1.4\n", "application/pdf")
        elif f.datatype in BOOL_TYPES and f.datatype in ("yesno", "noyes", "yesnowide", "noyeswide"):
            if value:
                data[key] = "True"
        elif isinstance(value, list):
            data[key] = [str(v) for v in value]
        else:
            data[key] = str(value)
    if button is not None:
        data["_button"] = str(button)
    return data, files


def post(client: TestClient, session_id: str, page: str, data: dict[str, Any],
         files: dict[str, Any] | None = None) -> httpx.Response:
    hidden = parse(page).hidden
    payload = {"_csrf": hidden["_csrf"], "_version": hidden["_version"], **data}
    return client.post(f"/s/{session_id}", data=payload, files=files or None, follow_redirects=False)


def walk(client: TestClient, db: Engine, session_id: str, seed_: int, limit: int = 60) -> tuple[Screen, str]:
    """Answer every screen until the end screen; returns it and its page."""
    rng = random.Random(seed_)
    for _ in range(limit):
        page = client.get(f"/s/{session_id}")
        assert page.status_code == 200, page.text
        screen = current(db, session_id)
        assert not isinstance(screen, Done)
        if screen.is_end:
            return screen, page.text
        for attempt in range(5):
            answers, button = answers_for(screen, rng, attempt=attempt)
            names = parse(page.text).names
            for key in answers:
                assert key in names, (screen.block_id, key)
            data, files = form_data(screen, answers, button)
            response = post(client, session_id, page.text, data, files)
            if response.status_code == 303:
                break
            assert response.status_code == 422, response.text
        else:
            pytest.fail(f"screen {screen.block_id} kept rejecting answers")
        assert response.headers["location"] == f"/s/{session_id}"
    pytest.fail("no end screen reached")


@pytest.mark.parametrize(("lang", "greeting"), [("en", "Thank you"), ("vi", "Cảm ơn")])
def test_complete_the_loan_interview(client: TestClient, db: Engine, lang: str, greeting: str) -> None:
    session_id = start(client, lang)
    first = client.get(f"/s/{session_id}")
    assert f'<html lang="{lang}">' in first.text
    screen, page = walk(client, db, session_id, seed_=1)
    assert screen.block_id.startswith("final screen")
    assert greeting in page
    assert "<form" not in page  # an end screen has nothing to post
    assert f'<html lang="{lang}">' in page
    if lang == "vi":
        assert "Bỏ qua, đến câu hỏi" in page  # the page chrome is Vietnamese too
    with DB(db) as s:
        _session, state = load_state(s, session_id)
    assert len(state.log) > 10  # every step is in the answer log


def _to_about_you(client: TestClient, db: Engine, session_id: str) -> str:
    """Consent on the welcome screen; the page of the next screen (About you)."""
    page = client.get(f"/s/{session_id}").text
    assert post(client, session_id, page, {"_button": "0"}).status_code == 303
    assert stored_vars(db, session_id)["esign_consent"] is True  # committed before the redirect
    return client.get(f"/s/{session_id}").text


def test_validation_error_is_422_next_to_the_field_and_keeps_the_answers(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    page = _to_about_you(client, db, session_id)
    screen = current(db, session_id)
    assert isinstance(screen, Screen)
    answers, button = answers_for(screen, random.Random(3), attempt=2)
    data, files = form_data(screen, answers, button)
    email = next(f for f in screen.fields if f.datatype == "email")
    data[email.key] = "not an email"
    response = post(client, session_id, page, data, files)
    assert response.status_code == 422
    html = response.text
    assert 'role="alert"' in html
    index = next(n for n, f in enumerate(screen.fields) if f.key == email.key)
    field_id = f"field-{index}"
    tag = re.search(rf'<input[^>]*id="{field_id}"[^>]*>', html)
    assert tag is not None
    assert 'aria-invalid="true"' in tag.group(0) and f"{field_id}-error" in tag.group(0)
    assert 'value="not an email"' in tag.group(0)  # what was typed is still there
    error = re.search(rf'<small class="error" id="{field_id}-error">([^<]+)</small>', html)
    assert error is not None and error.group(1).strip()
    for key, value in data.items():  # every other answer is re-filled
        if isinstance(value, str) and key != email.key and not key.startswith("_") and value != "True":
            assert f'value="{value}"' in html or f">{value}</textarea>" in html, key
    # nothing was stored
    assert email.var not in stored_vars(db, session_id)


def test_back_then_change_keeps_later_answers(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    page = _to_about_you(client, db, session_id)
    screen = current(db, session_id)
    assert isinstance(screen, Screen) and screen.back_button
    answers, button = answers_for(screen, random.Random(5), attempt=2)
    data, files = form_data(screen, answers, button)
    assert post(client, session_id, page, data, files).status_code == 303
    after = current(db, session_id)
    assert isinstance(after, Screen) and after.block_id != screen.block_id
    name_key = next(f.key for f in screen.fields if f.datatype == "text")

    # Back from the third screen to About you: its answers are shown again
    page = client.get(f"/s/{session_id}").text
    assert 'name="_back"' in page
    assert post(client, session_id, page, {"_back": "1"}).status_code == 303
    page = client.get(f"/s/{session_id}").text
    again = current(db, session_id)
    assert isinstance(again, Screen) and again.block_id == screen.block_id
    assert f'value="{data[name_key]}"' in page

    # change the name only: every other answer stays, and the walk goes on to the later screen
    data[name_key] = "Changed Name"
    assert post(client, session_id, page, data, files).status_code == 303
    values = stored_vars(db, session_id)
    assert values[name_key] == "Changed Name"
    for key in answers:
        assert key in values
    later = current(db, session_id)
    assert isinstance(later, Screen) and later.block_id == after.block_id


def test_csrf_token_is_required(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    page = client.get(f"/s/{session_id}").text
    version = parse(page).hidden["_version"]
    missing = client.post(f"/s/{session_id}", data={"_button": "0", "_version": version})
    assert missing.status_code == 403
    wrong = client.post(f"/s/{session_id}", data={"_button": "0", "_version": version, "_csrf": "0" * 64})
    assert wrong.status_code == 403
    assert "esign_consent" not in stored_vars(db, session_id)


def test_a_session_not_in_the_cookie_is_404(client: TestClient, db: Engine) -> None:
    mine = start(client)
    other_browser = TestClient(client.app)
    theirs = start(other_browser)
    assert client.get(f"/s/{theirs}").status_code == 404
    assert client.post(f"/s/{theirs}", data={"_button": "0"}).status_code == 404
    assert client.get("/s/no-such-session").status_code == 404
    assert other_browser.get(f"/s/{mine}").status_code == 404
    assert client.get(f"/s/{mine}").status_code == 200
    assert client.get("/i/no_such_interview").status_code == 404


def test_two_sessions_in_two_tabs(client: TestClient, db: Engine) -> None:
    first, second = start(client, "en"), start(client, "vi")
    assert first != second
    page = client.get(f"/s/{first}").text
    assert post(client, first, page, {"_button": "0"}).status_code == 303
    assert 'lang="vi"' in client.get(f"/s/{second}").text
    assert "esign_consent" not in stored_vars(db, second)
    assert stored_vars(db, first)["esign_consent"] is True


def test_a_stale_page_shows_the_current_screen_with_a_notice(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    old_page = client.get(f"/s/{session_id}").text
    assert post(client, session_id, old_page, {"_button": "0"}).status_code == 303
    response = post(client, session_id, old_page, {"_button": "1"})  # the same page, posted again
    assert response.status_code == 409
    assert "out of date" in response.text
    assert stored_vars(db, session_id)["esign_consent"] is True  # the second post changed nothing


def test_a_script_typed_as_an_answer_is_escaped(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    page = _to_about_you(client, db, session_id)
    screen = current(db, session_id)
    assert isinstance(screen, Screen)
    answers, button = answers_for(screen, random.Random(3), attempt=2)
    data, files = form_data(screen, answers, button)
    name_key = next(f.key for f in screen.fields if f.datatype == "text")
    evil = '<script>alert("x")</script>[link](javascript:alert(1))'
    data[name_key] = evil
    assert post(client, session_id, page, data, files).status_code == 303
    screen_, page_ = walk(client, db, session_id, seed_=1)
    assert screen_.is_end
    assert "<script>alert" not in page_
    assert "&lt;script&gt;alert" in page_  # the name is shown, as text
    assert 'href="javascript:' not in page_.lower()


def test_edit_from_the_review_screen_reasks_and_returns(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    rng = random.Random(1)
    for _ in range(60):  # answer screens until the review screen
        page = client.get(f"/s/{session_id}").text
        screen = current(db, session_id)
        assert isinstance(screen, Screen) and not screen.is_end
        if screen.kind == "review":
            break
        for attempt in range(5):
            answers, button = answers_for(screen, rng, attempt=attempt)
            data, files = form_data(screen, answers, button)
            if post(client, session_id, page, data, files).status_code == 303:
                break
    else:
        pytest.fail("no review screen reached")
    review = screen
    first = review.review[0]
    assert first.vars, first
    assert post(client, session_id, page, {"_edit": "0"}).status_code == 303
    edit_page = client.get(f"/s/{session_id}").text
    edited = current(db, session_id)
    assert isinstance(edited, Screen) and edited.kind != "review"
    target = next(f for f in edited.fields if f.var == first.vars[0])
    answers, button = answers_for(edited, random.Random(9), attempt=0)
    if target.datatype == "text":
        answers[target.key] = "Changed Name"
    data, files = form_data(edited, answers, button)
    assert post(client, session_id, edit_page, data, files).status_code == 303
    back = current(db, session_id)
    assert isinstance(back, Screen) and back.kind == "review"  # the edit returns to the review, nothing else lost
    if target.datatype == "text":
        assert "Changed Name" in client.get(f"/s/{session_id}").text
