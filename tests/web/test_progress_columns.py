"""The console's denormalised columns on `interview_session` follow the applicant through the
real web app: after every acknowledged step (wizard form posts and the JSON API), the row says
the block and section of the screen the applicant is now on, the percent complete, the
applicant's name and e-mail once answered, and when the interview reached its end; Back moves
them back."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.testclient import TestClient
from test_wizard import current, form_data, parse, post, start

from accord.autoanswer import answers_for
from engine import Done, Screen
from store.models import Session
from web.app import create_app


@pytest.fixture
def client(db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(db, "test-secret")) as c:
        yield c


def row(db: Engine, session_id: str) -> Session:
    with DB(db) as s:
        found = s.get(Session, session_id)
        assert found is not None
        return found


def assert_follows(db: Engine, session_id: str) -> Screen:
    """The row's columns are those of the screen the applicant sees now."""
    screen = current(db, session_id)
    assert isinstance(screen, Screen)
    r = row(db, session_id)
    assert (r.current_block, r.current_section, r.progress) == (screen.block_id, screen.section, screen.progress)
    assert (r.completed_at is not None) == screen.is_end
    return screen


def step(client: TestClient, db: Engine, session_id: str, rng: random.Random, **override: Any) -> None:
    page = client.get(f"/s/{session_id}").text
    screen = current(db, session_id)
    assert isinstance(screen, Screen)
    for attempt in range(5):
        answers, button = answers_for(screen, rng, attempt=attempt)
        answers.update({k: v for k, v in override.items() if screen.field_by_key(k) is not None})
        data, files = form_data(screen, answers, button)
        response = post(client, session_id, page, data, files)
        if response.status_code == 303:
            return
        assert response.status_code == 422, response.text
    pytest.fail(f"screen {screen.block_id} kept rejecting answers")


def test_columns_follow_the_wizard_forward_back_and_to_the_end(client: TestClient, db: Engine) -> None:
    session_id = start(client)
    fresh = row(db, session_id)
    assert (fresh.current_block, fresh.progress, fresh.display_name, fresh.completed_at) == (None, 0, None, None)
    rng = random.Random(7)
    page = client.get(f"/s/{session_id}").text
    assert post(client, session_id, page, {"_button": "0"}).status_code == 303  # consent on the welcome screen
    for _ in range(10):  # up to the screen that asks the applicant's name
        about = assert_follows(db, session_id)
        assert about.section is not None and row(db, session_id).display_name is None
        if about.field_by_key("applicant_name") is not None:
            break
        step(client, db, session_id, rng)
    else:
        pytest.fail("the name was never asked")
    assert about.section == "About you"
    step(client, db, session_id, rng, applicant_name="Ngọc Anh Trần", applicant_email="ngoc.anh@example.test")
    after_about = assert_follows(db, session_id)
    r = row(db, session_id)
    assert (r.display_name, r.contact_email) == ("Ngọc Anh Trần", "ngoc.anh@example.test")
    assert after_about.block_id != about.block_id and r.progress >= about.progress  # type: ignore[operator]

    # Back: the row is on the previous screen again; the name stays known.
    page = client.get(f"/s/{session_id}").text
    hidden = parse(page).hidden
    response = client.post(f"/s/{session_id}", data={"_csrf": hidden["_csrf"], "_version": hidden["_version"],
                                                     "_back": "1"}, follow_redirects=False)
    assert response.status_code == 303
    assert assert_follows(db, session_id).block_id == about.block_id
    assert row(db, session_id).display_name == "Ngọc Anh Trần"

    # On to the end: completed, 100 %.
    seen: set[str] = set()
    for _ in range(60):
        screen = assert_follows(db, session_id)
        seen.add(screen.block_id)
        if screen.is_end:
            break
        step(client, db, session_id, rng, applicant_name="Ngọc Anh Trần", applicant_email="ngoc.anh@example.test")
    else:
        pytest.fail("no end screen reached")
    end = row(db, session_id)
    assert end.progress == 100 and end.completed_at is not None and len(seen) > 10
    assert end.completed_at >= end.created_at
    # The end screen takes no answers (the wizard redirects), so the completion stays as it was.
    page = client.get(f"/s/{session_id}").text
    assert "<form" not in page
    assert row(db, session_id).completed_at == end.completed_at


def test_columns_follow_the_json_api(client: TestClient, db: Engine) -> None:
    created = client.post("/api/v1/sessions", json={"interview": "loan_application", "lang": "vi"})
    assert created.status_code == 201, created.text
    body = created.json()
    sid, token = body["id"], body["token"]
    headers = {"Authorization": f"Bearer {token}"}
    screen = body["screen"]
    answered = client.post(f"/api/v1/sessions/{sid}/answers", headers=headers,
                           json={"version": screen["version"], "answers": {"esign_consent": True}})
    assert answered.status_code == 200, answered.text
    following = answered.json()
    r = row(db, sid)
    assert r.current_block == following["block"] and r.progress == following["progress"]
    assert r.current_section == following["section"] == "Thông tin cá nhân"
    back = client.post(f"/api/v1/sessions/{sid}/back", headers=headers, json={"version": following["version"]})
    assert back.status_code == 200, back.text
    assert row(db, sid).current_block == back.json()["block"] != following["block"]
    assert not isinstance(current(db, sid), Done)
