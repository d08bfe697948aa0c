"""The chat over HTTP (no JavaScript): Starlette's TestClient against a migrated, seeded SQLite.

The walk is generic like the wizard's: the screen and the draft are read back from the
database, answers drawn with `accord.autoanswer.answers_for`, and typed the way a person would
(dates as 15/03/1990, yes/no as words, choices by their label) one field per message.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.testclient import TestClient

import engine
from accord.autoanswer import answers_for
from accord.serve import seed
from accord.settings import DEFAULT_INTERVIEWS
from engine import Done, Screen
from store import migrate
from store.database import make_engine
from store.models import InterviewVersion
from store.sessions import compile_version, load_state
from web.app import create_app
from web.chat import CHECKBOX_BOOLS, MULTI, RADIO_BOOLS, next_field
from web.wizard import draft_values

SECRET = "test-secret"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    db = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    migrate.upgrade(db)
    seed(db, DEFAULT_INTERVIEWS)
    yield db
    db.dispose()


@pytest.fixture
def client(db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(db, SECRET)) as c:
        yield c


def start(client: TestClient, lang: str = "en") -> str:
    response = client.get(f"/i/loan_application?lang={lang}", follow_redirects=False)
    assert response.status_code == 303
    return str(response.headers["location"]).removeprefix("/s/")


def now(db: Engine, session_id: str) -> tuple[Screen | Done, dict[str, Any], engine.State]:
    """The current screen, the chat's draft for it and the state, as the server has them."""
    with DB(db) as s:
        session, state = load_state(s, session_id)
        version = s.get(InterviewVersion, session.interview_version_id)
        assert version is not None
        step = engine.plan(compile_version(version), state)
        draft = draft_values(session, step) if isinstance(step, Screen) else {}
        return step, draft, state


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(_\w+)" value="([^"]*)"', page))


def send(client: TestClient, session_id: str, data: dict[str, Any], page: str | None = None,
         headers: dict[str, str] | None = None) -> httpx.Response:
    page = page if page is not None else client.get(f"/s/{session_id}/chat").text
    return client.post(f"/s/{session_id}/chat", data={**hidden(page), **data}, headers=headers,
                       follow_redirects=False)


def alerts(html: str) -> list[str]:
    found = re.findall(r'<li class="bubble bot error" role="alert"[^>]*>(.*?)</li>', html, re.S)
    return [re.sub(r"<[^>]+>", "", m).replace("Accord:", "").strip() for m in found]


YES = {"en": "yes", "vi": "có"}
NO = {"en": "nope", "vi": "không"}


def typed(f: engine.Field, value: Any, lang: str) -> dict[str, Any]:
    """What a person sends for this answer: words, labels, day-first dates."""
    if f.datatype in MULTI:
        return {"_multi": [str(v) for v in value]}
    if f.datatype in CHECKBOX_BOOLS or f.datatype in RADIO_BOOLS:
        return {"answer": YES[lang] if value in (True, "True") else NO[lang]}
    if f.choices:
        label = next(c.label for c in f.choices if str(c.value) == str(value))
        return {"answer": label}
    if f.datatype == "date":
        return {"answer": dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y")}
    return {"answer": str(value)}


def chat_walk(client: TestClient, db: Engine, session_id: str, lang: str, seed_: int, limit: int = 200) -> str:
    """Answer by chat until the end screen; returns its page. Answers are drawn once per screen
    visit and drawn again (leaning to "yes") when the engine rejects one."""
    rng = random.Random(seed_)
    drawn: dict[str, tuple[int, dict[str, Any], int | None]] = {}
    for _ in range(limit):
        page = client.get(f"/s/{session_id}/chat")
        assert page.status_code == 200, page.text
        step, draft, state = now(db, session_id)
        assert isinstance(step, Screen)
        if step.is_end:
            return page.text
        visit = f"{step.block_id}:{len(state.history)}"
        if visit not in drawn:
            drawn[visit] = (0, *answers_for(step, rng, attempt=0))
        attempt, answers, button = drawn[visit]
        asked = next_field(step, draft)
        if asked is None:
            if step.kind in ("yesno", "noyes") and button is not None:
                value = step.buttons[button].value
                data: dict[str, Any] = {"answer": YES[lang] if value is True else NO[lang]}
            else:
                data = {"_button": str(button if button is not None else 0)}
        elif asked.key in answers:
            data = typed(asked, answers[asked.key], lang)
        else:
            data = {"_skip": "1"}
        response = send(client, session_id, data, page.text)
        if response.status_code == 422:
            assert alerts(response.text), response.text
            attempt += 1
            assert attempt < 6, f"screen {step.block_id} kept rejecting answers"
            drawn[visit] = (attempt, *answers_for(step, rng, attempt=min(attempt, 3)))
            continue
        assert response.status_code == 303, (step.block_id, response.status_code)
        assert response.headers["location"] == f"/s/{session_id}/chat"
    pytest.fail("no end screen reached")


@pytest.mark.parametrize(("lang", "greeting"), [("en", "Thank you"), ("vi", "Cảm ơn")])
def test_complete_the_loan_interview_in_chat(client: TestClient, db: Engine, lang: str, greeting: str) -> None:
    session_id = start(client, lang)
    page = chat_walk(client, db, session_id, lang, seed_=2)
    assert greeting in page
    assert f'<html lang="{lang}">' in page
    assert 'name="answer"' not in page  # an end screen takes no answer
    step, _draft, state = now(db, session_id)
    assert isinstance(step, Screen) and step.block_id.startswith("final screen")
    assert len(state.log) > 10
    # the conversation shows earlier answers formatted for the language
    dob = state.namespace["applicant_dob"]
    shown = dob.strftime("%d/%m/%Y") if lang == "vi" else f"{dob.day} {dob.strftime('%b')} {dob.year}"
    assert shown in page


def test_csrf_is_required(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    page = client.get(f"/s/{session_id}/chat").text
    version = hidden(page)["_version"]
    for data in ({"_version": version, "answer": "yes"}, {"_csrf": "forged", "_version": version, "answer": "yes"}):
        response = client.post(f"/s/{session_id}/chat", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert "esign_consent" not in now(db, session_id)[2].namespace


def test_a_session_not_in_the_cookie_is_404(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    page = client.get(f"/s/{session_id}/chat").text
    with TestClient(create_app(db, SECRET)) as stranger:
        assert stranger.get(f"/s/{session_id}/chat").status_code == 404
        response = stranger.post(f"/s/{session_id}/chat", data={**hidden(page), "answer": "yes"},
                                 follow_redirects=False)
        assert response.status_code == 404
    assert "esign_consent" not in now(db, session_id)[2].namespace


def _to_about_you(client: TestClient, session_id: str) -> None:
    assert send(client, session_id, {"answer": "yes"}).status_code == 303


def test_the_draft_survives_a_restart_and_shows_in_the_wizard(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    _to_about_you(client, session_id)
    assert send(client, session_id, {"answer": "Trần Thị Bình"}).status_code == 303
    assert send(client, session_id, {"answer": "15.03.1990"}).status_code == 303
    step, draft, state = now(db, session_id)
    assert isinstance(step, Screen) and step.block_id == "applicant name"
    assert draft == {"applicant_name": "Trần Thị Bình", "applicant_dob": "1990-03-15"}  # committed
    assert "applicant_name" not in state.namespace  # not submitted: only the draft has it
    cookies = dict(client.cookies)
    with TestClient(create_app(db, SECRET), cookies=cookies) as again:  # a new process on the same database
        page = again.get(f"/s/{session_id}/chat").text
        assert "Trần Thị Bình" in page and "15 Mar 1990" in page
        label = re.search(r'<label for="chat-answer">([^<]*)</label>', page)
        assert label is not None and label.group(1) == "Email address"  # the next field is asked
        wizard = again.get(f"/s/{session_id}").text
        assert 'value="Trần Thị Bình"' in wizard and 'value="1990-03-15"' in wizard
        assert f'href="/s/{session_id}/chat"' in wizard
        assert send(again, session_id, {"answer": "binh@example.com"}).status_code == 303
        assert send(again, session_id, {"_skip": "1"}).status_code == 422  # the phone is required: no Skip
        assert send(again, session_id, {"answer": "0912 345 678"}).status_code == 303
    step, draft, state = now(db, session_id)
    assert isinstance(step, Screen) and step.block_id == "applicant country"
    assert draft == {}
    assert state.namespace["applicant_name"] == "Trần Thị Bình"
    dob = state.namespace["applicant_dob"]
    assert (dob.year, dob.month, dob.day) == (1990, 3, 15)


def test_an_impossible_date_is_422_with_the_message_and_asked_again(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    _to_about_you(client, session_id)
    assert send(client, session_id, {"answer": "An"}).status_code == 303
    response = send(client, session_id, {"answer": "31/02/1990"})
    assert response.status_code == 422
    messages = alerts(response.text)
    assert "You need to enter a valid date." in messages  # the engine's message
    assert any("31/02/1990" in m and "next Friday" in m for m in messages)  # and what would work
    box = re.search(r'<input id="chat-answer"[^>]*>', response.text)
    assert box is not None and 'aria-invalid="true"' in box.group(0) and 'value="31/02/1990"' in box.group(0)
    assert 'aria-live="polite"' in response.text
    assert now(db, session_id)[1] == {"applicant_name": "An"}  # nothing lost, nothing kept
    too_young = (dt.date.today() - dt.timedelta(days=365 * 10)).strftime("%d/%m/%Y")
    assert send(client, session_id, {"answer": too_young}).status_code == 303  # a date: checked on the screen
    assert send(client, session_id, {"answer": "an@example.com"}).status_code == 303
    response = send(client, session_id, {"answer": "0912345678"})
    assert response.status_code == 422  # the screen's validation code blames the date of birth
    assert "You must be at least 18 years old to apply for a loan." in alerts(response.text)
    assert now(db, session_id)[1] == {"applicant_name": "An", "applicant_email": "an@example.com",
                                      "applicant_phone": "0912345678"}  # the date is asked again
    assert send(client, session_id, {"answer": "tomorrow"}).status_code == 422  # "max: today"
    assert send(client, session_id, {"answer": "1990-03-15"}).status_code == 303
    step = now(db, session_id)[0]
    assert isinstance(step, Screen) and step.block_id == "applicant country"


def test_back_inside_a_screen_and_to_the_previous_one(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    _to_about_you(client, session_id)
    assert send(client, session_id, {"answer": "An"}).status_code == 303
    assert send(client, session_id, {"_back": "1"}).status_code == 303
    assert now(db, session_id)[1] == {}
    assert send(client, session_id, {"_back": "1"}).status_code == 303
    step = now(db, session_id)[0]
    assert isinstance(step, Screen) and step.block_id == "welcome"
    assert send(client, session_id, {"answer": "y"}).status_code == 303
    for answer in ("An", "15/03/1990", "an@example.com", "0912345678"):
        assert send(client, session_id, {"answer": answer}).status_code == 303
    assert send(client, session_id, {"_back": "1"}).status_code == 303  # to the previous screen: answers kept
    page = client.get(f"/s/{session_id}/chat").text
    assert re.search(r'<button type="submit" name="_reply" value="An"[^>]*>An</button>', page)  # one tap keeps it
    assert send(client, session_id, {"_reply": "An"}, page).status_code == 303
    page = client.get(f"/s/{session_id}/chat").text
    assert re.search(r'name="_reply" value="1990-03-15"[^>]*>15 Mar 1990</button>', page)
    assert send(client, session_id, {"answer": "16/03/1990"}, page).status_code == 303
    for answer in ("an@example.com", "0912345678"):
        assert send(client, session_id, {"answer": answer}).status_code == 303
    state = now(db, session_id)[2]
    assert state.namespace["applicant_name"] == "An" and state.namespace["applicant_dob"].day == 16


def test_htmx_gets_only_the_conversation(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    response = send(client, session_id, {"answer": "sure"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "<li" in response.text
    assert 'hx-swap-oob="true"' in response.text
    assert "About you" in response.text
    live = re.search(r'<div id="chat-live" hx-swap-oob="innerHTML">(.*?)</div>', response.text, re.S)
    assert live is not None  # the screen reader hears what is new, not the whole conversation again
    assert "About you" in live.group(1) and "Full name" in live.group(1) and "Apply for" not in live.group(1)
    bad = send(client, session_id, {"answer": "An"}, headers={"HX-Request": "true"})
    assert bad.status_code == 200
    bad = send(client, session_id, {"answer": "someday"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "<html" not in bad.text and 'role="alert"' in bad.text
    assert client.get("/static/vendor/htmx.min.js").status_code == 200


def test_typed_text_is_escaped_everywhere(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    _to_about_you(client, session_id)
    assert send(client, session_id, {"answer": "<script>alert(1)</script>"}).status_code == 303
    page = client.get(f"/s/{session_id}/chat").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    bad = send(client, session_id, {"answer": "<b>soon</b>"})
    assert bad.status_code == 422
    assert "<b>soon</b>" not in bad.text and "“&lt;b&gt;soon&lt;/b&gt;”" in bad.text
