"""Answer interview screens in a real browser: the test decides what to answer (the screen is
re-planned from the server's own database, answers drawn by `accord.autoanswer`), the browser
types, ticks, selects and clicks like a person would."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session as DB

import engine
from accord.autoanswer import BOOL_TYPES, FILE_TYPES, answers_for
from engine import Done, Screen
from store.database import make_engine
from store.models import InterviewVersion
from store.sessions import compile_version, load_state

UPLOAD = Path(__file__).resolve().parent / "upload.pdf"
CHECKBOX_BOOLS = ("yesno", "noyes", "yesnowide", "noyeswide")


def session_id(page: Page) -> str:
    path = page.url.split("?")[0].rstrip("/")
    marker = "/s/"
    assert marker in path, page.url
    return path.split(marker, 1)[1].split("/")[0]


def database_url(data_dir: Path) -> str:
    """The database of the live server on `data_dir` (SQLite there, or the PostgreSQL it was given)."""
    marker = data_dir / "database_url"
    return marker.read_text() if marker.is_file() else f"sqlite:///{data_dir / 'accord.db'}"


def current(data_dir: Path, sid: str) -> Screen | Done:
    db = make_engine(database_url(data_dir))
    try:
        with DB(db) as s:
            session, state = load_state(s, sid)
            version = s.get(InterviewVersion, session.interview_version_id)
            assert version is not None
            return engine.plan(compile_version(version), state)
    finally:
        db.dispose()


def fill(page: Page, screen: Screen, answers: dict[str, Any]) -> None:
    for key, value in answers.items():
        f = screen.field_by_key(key)
        assert f is not None, key
        target = page.locator(f'[name="{key}"]')
        if f.datatype in FILE_TYPES:
            UPLOAD.write_bytes(b"%PDF-1.4\n%%EOF\n")
            target.set_input_files(str(UPLOAD))
        elif f.datatype in BOOL_TYPES and f.datatype in CHECKBOX_BOOLS:
            target.set_checked(bool(value))
        elif isinstance(value, list):
            tag = target.first.evaluate("e => e.tagName")
            if tag == "SELECT":
                target.select_option([str(v) for v in value])
            else:
                for box in target.all():
                    box.set_checked(box.get_attribute("value") in {str(v) for v in value})
        else:
            kind = target.first.evaluate("e => e.tagName + ':' + (e.type || '')")
            if kind in ("INPUT:radio",):
                page.locator(f'[name="{key}"][value="{value}"]').check()
            elif kind.startswith("SELECT"):
                target.select_option(str(value))
            else:
                target.fill(str(value))


def submit(page: Page, button: int | None) -> None:
    form = page.locator("main form")
    target = (form.locator(f'button[name="_button"][value="{button}"]') if button is not None
              else form.locator("button.primary").first)
    click_and_settle(page, target)


def click_and_settle(page: Page, target: Locator) -> None:
    """Click, then wait for the next screen: an htmx swap when wizard.js runs (it counts swaps on
    `body[data-swaps]`), else the page load of a plain form post (JavaScript off)."""
    swaps = page.locator("body").get_attribute("data-swaps")
    target.click()
    if swaps is not None:
        page.wait_for_selector(f'body[data-swaps="{int(swaps) + 1}"]', state="attached")
    else:
        page.wait_for_load_state()


def walk(page: Page, data_dir: Path, seed: int = 1, limit: int = 60, stop_at: str | None = None,
         force: dict[str, Any] | None = None) -> Screen:
    """Answer screens until the end screen (or the first screen whose block id starts with `stop_at`);
    `force` overrides the drawn answer of the fields it names."""
    rng = random.Random(seed)
    sid = session_id(page)
    for _ in range(limit):
        screen = current(data_dir, sid)
        assert not isinstance(screen, Done)
        if screen.is_end or (stop_at and screen.block_id.startswith(stop_at)):
            return screen
        before = screen.block_id, len(page.url)
        for attempt in range(5):
            answers, button = answers_for(screen, rng, attempt=attempt)
            answers.update({k: v for k, v in (force or {}).items() if k in answers})
            fill(page, screen, answers)
            submit(page, button)
            if page.locator(".error-summary").count() == 0:
                break
            expect(page.locator(".error-summary")).to_be_visible()
        else:
            raise AssertionError(f"screen {screen.block_id} kept rejecting answers")
        del before
    raise AssertionError("no end screen reached")
