"""The JSON API (`web/api.py`) and its OpenAPI document, over HTTP against a migrated, seeded SQLite.

Every response a test receives is checked against the schema `/openapi.json` declares for that
route and status (`Api.call`), so the document and the server cannot drift apart. The walks
are generic: each screen is rebuilt from the API's own JSON into an `engine.Screen`, answers
are drawn by `accord.autoanswer.answers_for` and sent as JSON values (numbers, booleans, lists).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from apiclient import as_screen  # tests/live (on the path through tests/conftest.py)
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import func, select
from starlette.routing import Route
from starlette.testclient import TestClient

import engine
from accord.autoanswer import answers_for
from accord.serve import seed
from accord.settings import DEFAULT_INTERVIEWS
from engine import Screen
from store import migrate
from store.database import make_engine
from store.models import AnswerEvent
from store.sessions import load_state
from web import flow
from web.api import Api as ApiRoutes
from web.app import create_app
from web.i18n import translator
from web.openapi import document

SECRET = "test-secret"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    db = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    migrate.upgrade(db)
    seed(db, DEFAULT_INTERVIEWS)
    yield db
    db.dispose()


class Api:
    """A test client that checks every response against the OpenAPI document."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.doc = client.get("/openapi.json").json()
        self.seen: set[tuple[str, str, int]] = set()

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, *,
             raw: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if raw is not None:
            response = self.client.request(method, path, content=raw, headers=sent)
        else:
            response = self.client.request(method, path, json=body, headers=sent)
        self.check(method, path, response)
        return response

    def check(self, method: str, path: str, response: httpx.Response) -> None:
        template = next((t for t in self.doc["paths"] if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path)), None)
        assert template is not None, f"{path} is not in /openapi.json"
        declared = self.doc["paths"][template][method.lower()]["responses"]
        assert str(response.status_code) in declared, (method, template, response.status_code, response.text)
        schema = declared[str(response.status_code)]["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), {**schema, "components": self.doc["components"]},
                            cls=jsonschema.Draft202012Validator)
        self.seen.add((template, method.lower(), response.status_code))

    def start(self, lang: str = "en") -> tuple[str, str, dict[str, Any]]:
        response = self.call("POST", "/api/v1/sessions", {"interview": "loan_application", "lang": lang})
        assert response.status_code == 201, response.text
        data = response.json()
        assert response.headers["location"] == f"/api/v1/sessions/{data['id']}"
        return data["id"], data["token"], data["screen"]

    def answer(self, sid: str, token: str, screen: dict[str, Any], answers: dict[str, Any],
               button: int | None = None) -> httpx.Response:
        body: dict[str, Any] = {"version": screen["version"], "answers": answers}
        if button is not None:
            body["button"] = button
        return self.call("POST", f"/api/v1/sessions/{sid}/answers", body, token)


@pytest.fixture
def api(db: Engine) -> Iterator[Api]:
    with TestClient(create_app(db, SECRET)) as client:
        yield Api(client)


def walk(api: Api, sid: str, token: str, screen: dict[str, Any], seed_: int,
         until: str | None = None, limit: int = 60) -> tuple[dict[str, Any], int]:
    """Answer screens through the API until the end screen (or the first of kind `until`);
    the screen reached and how many steps were acknowledged (200)."""
    rng = random.Random(seed_)
    steps = 0
    for _ in range(limit):
        if screen["end"] or screen["kind"] == until:
            return screen, steps
        for attempt in range(5):
            answers, button = answers_for(as_screen(screen), rng, attempt=attempt)
            response = api.answer(sid, token, screen, answers, button)
            if response.status_code == 200:
                break
            assert response.status_code == 422, response.text
            assert response.json()["errors"]
        else:
            pytest.fail(f"screen {screen['block']} kept rejecting answers")
        steps += 1
        following = response.json()
        assert following["version"] == screen["version"] + 1
        assert api.call("GET", f"/api/v1/sessions/{sid}", token=token).json() == following
        screen = following
    pytest.fail("no end screen reached")


def events(db: Engine, sid: str) -> int:
    with DB(db) as s:
        return int(s.exec(select(func.count()).select_from(AnswerEvent).where(AnswerEvent.session_id == sid)).one())


def stored(db: Engine, sid: str) -> dict[str, Any]:
    with DB(db) as s:
        return dict(load_state(s, sid)[1].namespace)


# -- the document ---------------------------------------------------------------------------------


def test_openapi_document_is_valid_and_describes_every_api_route(api: Api, db: Engine) -> None:
    doc = api.doc
    validate_openapi(doc)  # OpenAPI 3.1, schemas included
    assert doc["openapi"].startswith("3.1")
    assert doc == document()
    routes = ApiRoutes(db, SECRET).routes()
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    served = {(r.path, m.lower()) for r in routes if isinstance(r, Route) and r.path.startswith("/api/")
              for m in (r.methods or ()) if m != "HEAD"}
    assert served and served == described
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


# -- a whole interview ----------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "greeting"), [("en", "Thank you"), ("vi", "Cảm ơn")])
def test_complete_the_loan_interview(api: Api, db: Engine, lang: str, greeting: str) -> None:
    sid, token, first = api.start(lang)
    assert first["lang"] == lang and first["version"] == 1 and not first["end"]
    assert first["question"] and first["question_html"]
    assert first["sections"] and first["progress"] is not None
    end, steps = walk(api, sid, token, first, seed_=1)
    assert end["end"] and end["block"].startswith("final screen")
    assert greeting in end["question"] + end["subquestion"]
    assert end["buttons"] == []
    assert steps > 10 and events(db, sid) == steps  # every acknowledged step is in the answer log
    answered = api.call("POST", f"/api/v1/sessions/{sid}/answers", {"version": end["version"], "answers": {}}, token)
    assert answered.status_code == 409 and answered.json()["error"] == "ended"
    # each status the walk received was declared (the checks ran on real responses)
    assert ("/api/v1/sessions/{session_id}/answers", "post", 200) in api.seen


def test_screen_json_has_what_a_front_end_needs(api: Api) -> None:
    sid, token, welcome = api.start()
    assert welcome["kind"] == "yesno" and [b["value"] for b in welcome["buttons"]] == [True, False]
    about = api.answer(sid, token, welcome, {"esign_consent": True}).json()  # the answer presses "Yes"
    assert about["block"] == "applicant name" and about["back"] is True
    fields = {f["key"]: f for f in about["fields"]}
    assert fields["applicant_email"]["datatype"] == "email" and fields["applicant_email"]["required"] is True
    assert fields["applicant_name"]["label"]
    assert fields["applicant_dob"]["datatype"] == "date"
    assert "<" in about["question_html"] or about["question_html"] == about["question"]
    country = api.answer(sid, token, about, {"applicant_name": "An Nguyen", "applicant_dob": "1990-04-02",
                                             "applicant_email": "an@example.com",
                                             "applicant_phone": "202-555-0101"}).json()
    assert country["fields"][0]["choices"] and all(
        set(c) == {"label", "value", "exclusive"} for c in country["fields"][0]["choices"])
    back = api.call("POST", f"/api/v1/sessions/{sid}/back", {"version": country["version"]}, token).json()
    values = {f["key"]: f["value"] for f in back["fields"]}
    assert values["applicant_name"] == "An Nguyen" and values["applicant_dob"] == "1990-04-02"


# -- errors ------------------------------------------------------------------------------------------


def _to_about_you(api: Api, lang: str = "en") -> tuple[str, str, dict[str, Any]]:
    sid, token, welcome = api.start(lang)
    response = api.answer(sid, token, welcome, {}, button=0)
    assert response.status_code == 200
    return sid, token, response.json()


@pytest.mark.parametrize(("lang", "name_message"), [("en", "Please enter your full name."),
                                                    ("vi", "Vui lòng nhập họ và tên.")])
def test_invalid_answers_are_422_with_the_engines_messages(api: Api, db: Engine, lang: str,
                                                           name_message: str) -> None:
    sid, token, about = _to_about_you(api, lang)
    before = events(db, sid)
    answers = {"applicant_name": "", "applicant_dob": "31/31/1990", "applicant_email": "not-an-email",
               "applicant_phone": "202-555-0101"}
    response = api.answer(sid, token, about, answers)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["applicant_name"] == [name_message]
    # exactly what the engine says to the same answers, in the session's language
    with DB(db) as s:
        row, iv, state = flow.load(s, sid)
    screen = engine.plan(iv, state)
    assert isinstance(screen, Screen)
    expected = engine.apply(iv, state, screen, answers)
    assert isinstance(expected, engine.ValidationErrors)
    assert errors == {e.key: expected.for_key(e.key) for e in expected.errors}
    assert set(errors) == {"applicant_name", "applicant_dob", "applicant_email"}
    assert events(db, sid) == before  # nothing saved
    again = api.call("GET", f"/api/v1/sessions/{sid}", token=token).json()
    assert again["block"] == about["block"] and again["version"] == about["version"]
    unknown = api.answer(sid, token, about, {"no_such_field": "x"})
    assert unknown.status_code == 422 and list(unknown.json()["errors"]) == ["no_such_field"]
    assert unknown.json()["errors"]["no_such_field"] == [translator(lang)("This screen has no such field.")]


def test_json_values_are_coerced_and_validated_like_form_values(api: Api, db: Engine) -> None:
    sid, token, screen = _to_about_you(api)
    rng = random.Random(5)
    while screen["block"] != "income and expenses":  # generic answers up to the income screen
        answers, button = answers_for(as_screen(screen), rng, attempt=2)
        response = api.answer(sid, token, screen, answers, button)
        assert response.status_code in (200, 422), response.text
        if response.status_code == 200:
            screen = response.json()
    bad = api.answer(sid, token, screen, {"monthly_income": [1, 2], "monthly_expenses": True, "dependants": 1.5})
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"monthly_income", "monthly_expenses", "dependants"}
    good = api.answer(sid, token, screen, {"monthly_income": 4200.5, "monthly_expenses": "1,000", "dependants": 2})
    assert good.status_code == 200, good.text
    values = stored(db, sid)
    assert values["monthly_income"] == 4200.5 and values["monthly_expenses"] == 1000.0
    assert values["dependants"] == 2 and isinstance(values["dependants"], int)


def test_a_stale_version_is_409_and_changes_nothing(api: Api, db: Engine) -> None:
    sid, token, welcome = api.start()
    assert api.answer(sid, token, welcome, {}, button=0).status_code == 200
    stale = api.answer(sid, token, welcome, {}, button=1)  # the same screen, answered again
    assert stale.status_code == 409
    body = stale.json()
    assert body["error"] == "stale" and body["screen"]["version"] == welcome["version"] + 1
    assert body["screen"]["block"] == "applicant name"
    assert stored(db, sid)["esign_consent"] is True and events(db, sid) == 1
    old_back = api.call("POST", f"/api/v1/sessions/{sid}/back", {"version": welcome["version"]}, token)
    assert old_back.status_code == 409 and old_back.json()["error"] == "stale"


def test_back_keeps_later_answers_and_stops_at_the_first_screen(api: Api, db: Engine) -> None:
    sid, token, welcome = api.start()
    no_back = api.call("POST", f"/api/v1/sessions/{sid}/back", {"version": welcome["version"]}, token)
    assert no_back.status_code == 409 and no_back.json()["error"] == "no_back"
    about = api.answer(sid, token, welcome, {}, button=0).json()
    answers, _button = answers_for(as_screen(about), random.Random(2), attempt=2)
    country = api.answer(sid, token, about, answers).json()
    assert country["block"] != about["block"]
    back = api.call("POST", f"/api/v1/sessions/{sid}/back", {"version": country["version"]}, token)
    assert back.status_code == 200
    assert back.json()["block"] == about["block"] and back.json()["version"] == country["version"] + 1
    assert stored(db, sid)["applicant_name"] == answers["applicant_name"]  # nothing lost
    forward = api.answer(sid, token, back.json(), answers)
    assert forward.status_code == 200 and forward.json()["block"] == country["block"]


def test_edit_a_review_item_reasks_it_and_returns_to_the_review(api: Api, db: Engine) -> None:
    sid, token, first = api.start()
    review, _steps = walk(api, sid, token, first, seed_=1, until="review")
    item = next(r for r in review["review"] if r["editable"])
    edit = api.call("POST", f"/api/v1/sessions/{sid}/answers",
                    {"version": review["version"], "answers": {}, "edit": item["index"]}, token)
    assert edit.status_code == 200 and edit.json()["kind"] != "review"
    answers, button = answers_for(as_screen(edit.json()), random.Random(4), attempt=2)
    again = api.answer(sid, token, edit.json(), answers, button)
    assert again.status_code == 200 and again.json()["kind"] == "review"
    bad = api.call("POST", f"/api/v1/sessions/{sid}/answers",
                   {"version": again.json()["version"], "answers": {}, "edit": 999}, token)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_edit"


def test_bad_requests_are_400(api: Api) -> None:
    sid, token, welcome = api.start()
    path = f"/api/v1/sessions/{sid}/answers"
    assert api.call("POST", path, raw=b"{not json", token=token).status_code == 400
    assert api.call("POST", path, {"answers": {}}, token).status_code == 400  # no version
    assert api.call("POST", path, {"version": "1", "answers": {}}, token).status_code == 400
    assert api.call("POST", path, {"version": 1, "answers": []}, token).status_code == 400
    out_of_range = api.call("POST", path, {"version": 1, "answers": {}, "button": 7}, token)
    assert out_of_range.status_code == 400 and out_of_range.json()["error"] == "bad_button"
    assert api.call("POST", "/api/v1/sessions", {"interview": "loan_application", "lang": "fr"}).status_code == 400
    assert api.call("POST", "/api/v1/sessions", {"lang": "en"}).status_code == 400
    missing = api.call("POST", "/api/v1/sessions", {"interview": "no_such_interview"})
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


# -- authorization ---------------------------------------------------------------------------------


def test_the_token_is_needed_and_tells_nothing_about_other_sessions(api: Api, db: Engine) -> None:
    sid, token, welcome = api.start()
    other_sid, other_token, _ = api.start()
    get = f"/api/v1/sessions/{sid}"
    body = {"version": welcome["version"], "answers": {}, "button": 0}
    refusals = [
        api.call("GET", get),
        api.call("GET", get, token="0" * 64),
        api.call("GET", get, token=other_token),
        api.call("GET", get, headers={"Authorization": token}),  # no scheme
        api.call("POST", f"{get}/answers", body),
        api.call("POST", f"{get}/answers", body, other_token),
        api.call("POST", f"{get}/back", {"version": 1}, "x"),
        api.call("GET", "/api/v1/sessions/no-such-session", token=token),  # does it exist? not told
        api.call("GET", "/api/v1/sessions/no-such-session", token="0" * 64),
    ]
    for response in refusals:
        assert response.status_code == 401, response.text
        assert response.json() == refusals[0].json()
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert "esign_consent" not in stored(db, sid)
    assert api.call("GET", get, token=token).status_code == 200
    assert api.call("GET", f"/api/v1/sessions/{other_sid}", token=other_token).status_code == 200
    # a well-formed token of a session that does not exist (only the secret's holder can make one)
    ghost = api.call("GET", "/api/v1/sessions/ghost", token=ApiRoutes(db, SECRET).token("ghost"))
    assert ghost.status_code == 404


def test_the_wizard_cookie_and_csrf_token_do_not_authorize_api_calls(api: Api, db: Engine) -> None:
    """The API is not CSRF-exposed: a browser's cookie alone (what a cross-site request would
    carry) and the wizard's form token get nothing."""
    client = api.client
    started = client.get("/i/loan_application", follow_redirects=False)
    sid = started.headers["location"].removeprefix("/s/")
    page = client.get(f"/s/{sid}")
    assert page.status_code == 200 and client.cookies.get("accord")  # the browser owns the session
    csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text)
    assert csrf is not None
    assert api.call("GET", f"/api/v1/sessions/{sid}").status_code == 401
    body = {"version": 1, "answers": {}, "button": 0}
    assert api.call("POST", f"/api/v1/sessions/{sid}/answers", body).status_code == 401
    assert api.call("POST", f"/api/v1/sessions/{sid}/answers", body, csrf.group(1)).status_code == 401
    assert "esign_consent" not in stored(db, sid)
