"""Answer interview screens in the chat, in a real browser: what to answer is decided from the
server's own database (the screen re-planned, the chat's draft read, answers drawn by
`accord.autoanswer`), then typed into the answer box or clicked as quick replies, the way a
person chats: dates as 15/03/1990, amounts as 25k or 25.000.000 đ, yes/no as words."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from drive import session_id
from playwright.sync_api import Page, expect
from sqlmodel import Session as DB

import engine
from accord.autoanswer import answers_for
from engine import Done, Screen
from store.database import make_engine
from store.models import InterviewVersion
from store.sessions import compile_version, load_state
from web.chat import CHECKBOX_BOOLS, MULTI, RADIO_BOOLS, next_field
from web.wizard import draft_values

YES = {"en": ("yes", "yeah", "sure"), "vi": ("có", "vâng", "ừ")}
NO = {"en": ("no", "nope"), "vi": ("không", "ko")}


def now(data_dir: Path, sid: str) -> tuple[Screen | Done, dict[str, Any], engine.State]:
    """The current screen, the chat's draft for it and the state, as the server has them."""
    db = make_engine(f"sqlite:///{data_dir / 'accord.db'}")
    try:
        with DB(db) as s:
            session, state = load_state(s, sid)
            version = s.get(InterviewVersion, session.interview_version_id)
            assert version is not None
            step = engine.plan(compile_version(version), state)
            return step, draft_values(session, step) if isinstance(step, Screen) else {}, state
    finally:
        db.dispose()


def swaps(page: Page) -> int:
    return int(page.evaluate("() => Number(document.documentElement.dataset.chatSwaps || 0)"))


def answered(page: Page, before: int) -> None:
    """Wait until htmx has swapped in the reply to the message just sent."""
    page.wait_for_function("n => Number(document.documentElement.dataset.chatSwaps || 0) > n", arg=before)
    expect(page.locator("#chat-form")).to_be_visible()


def say(page: Page, text: str) -> None:
    """Type a message and press Enter."""
    before = swaps(page)
    box = page.locator("#chat-answer")
    expect(box).to_be_focused()  # focus is on the answer box after every message
    box.fill(text)
    box.press("Enter")
    answered(page, before)


def click(page: Page, name: str, value: str) -> None:
    before = swaps(page)
    page.locator(f'#chat-form button[name="{name}"][value="{value}"]').click()
    answered(page, before)


def tick(page: Page, values: list[str]) -> None:
    before = swaps(page)
    for value in values:
        page.locator(f'#chat-form input[name="_multi"][value="{value}"]').check()
    page.locator("#chat-form fieldset button[name=_send]").click()
    answered(page, before)


def amount(value: Any, lang: str) -> str:
    """25k (en) or 25.000.000 đ (vi) for round amounts, else the number as it is."""
    number = float(value)
    if not number.is_integer():
        return str(value)
    whole = int(number)
    if lang == "vi":
        return f"{whole:,}".replace(",", ".") + " đ"
    return f"{whole // 1000}k" if whole % 1000 == 0 and whole else f"{whole:,}"


def send_answer(page: Page, f: engine.Field, value: Any, lang: str, rng: random.Random) -> None:
    if f.datatype in MULTI:
        tick(page, [str(v) for v in value])
    elif f.datatype in CHECKBOX_BOOLS or f.datatype in RADIO_BOOLS:
        if rng.random() < 0.5:
            click(page, "_reply", "True" if value in (True, "True") else "False")
        else:
            say(page, rng.choice(YES[lang] if value in (True, "True") else NO[lang]))
    elif f.choices:
        click(page, "_reply", str(value))
    elif f.datatype == "date":
        day = dt.date.fromisoformat(str(value))
        say(page, day.strftime(rng.choice(("%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d"))))
    elif f.datatype in ("currency", "number", "float"):
        say(page, amount(value, lang))
    else:
        say(page, str(value))


def chat_walk(page: Page, data_dir: Path, lang: str, seed: int = 1, limit: int = 200,
              stop_at: str | None = None) -> Screen:
    """Chat until the end screen (or the first screen whose block id starts with `stop_at`)."""
    rng = random.Random(seed)
    sid = session_id(page)
    drawn: dict[str, tuple[int, dict[str, Any], int | None]] = {}
    for _ in range(limit):
        step, draft, state = now(data_dir, sid)
        assert isinstance(step, Screen)
        if step.is_end or (stop_at and step.block_id.startswith(stop_at)):
            return step
        visit = f"{step.block_id}:{len(state.history)}"
        if visit not in drawn:
            drawn[visit] = (0, *answers_for(step, rng, attempt=0))
        attempt, answers, button = drawn[visit]
        errors = page.locator("#chat-log .bubble.error").count()
        asked = next_field(step, draft)
        if asked is None:
            if step.kind in ("yesno", "noyes") and button is not None and rng.random() < 0.6:
                value = step.buttons[button].value
                say(page, rng.choice(YES[lang] if value is True else NO[lang]))
            else:
                click(page, "_button", str(button if button is not None else 0))
        elif asked.key in answers:
            send_answer(page, asked, answers[asked.key], lang, rng)
        else:
            click(page, "_skip", "1")
        if page.locator("#chat-log .bubble.error").count() > 0 and errors == 0 or \
                page.locator("#chat-log .bubble.error").count() > errors:
            expect(page.locator("#chat-log .bubble.error").first).to_be_visible()
            attempt += 1
            assert attempt < 6, f"screen {step.block_id} kept rejecting answers"
            drawn[visit] = (attempt, *answers_for(step, rng, attempt=min(attempt, 3)))
    raise AssertionError("no end screen reached")
