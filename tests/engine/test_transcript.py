"""The chat's history: the answered screens rebuilt from `State.history`, in the current language."""

from __future__ import annotations

import random

import engine
from accord.autoanswer import answers_for
from accord.settings import DEFAULT_INTERVIEWS
from engine.transcript import transcript


def walk(steps: int, lang: str = "en", seed: int = 3) -> tuple[engine.Interview, engine.State]:
    iv = engine.load(DEFAULT_INTERVIEWS / "loan_application.yml")
    state = iv.start(lang=lang)
    rng = random.Random(seed)
    for _ in range(steps):
        screen = engine.plan(iv, state)
        assert isinstance(screen, engine.Screen)
        for attempt in range(5):
            answers, button = answers_for(screen, rng, attempt=attempt)
            result = engine.apply(iv, state, screen, answers, button)
            if isinstance(result, engine.State):
                state = result
                break
        else:
            raise AssertionError(screen.block_id)
    return iv, state


def test_every_answered_screen_with_its_answers() -> None:
    iv, state = walk(6)
    before = state.to_json()
    exchanges = transcript(iv, state)
    assert state.to_json() == before  # works on a copy
    assert [e.screen.block_id for e in exchanges] == [h["block"] for h in state.history]
    assert exchanges[0].screen.question == "Apply for a personal loan"
    assert exchanges[0].answers == {"esign_consent": True}
    name = next(e for e in exchanges if e.screen.block_id == "applicant name")
    assert name.answers["applicant_name"] == state.namespace["applicant_name"]
    assert name.answers["applicant_dob"] == state.namespace["applicant_dob"]


def test_back_shortens_it_and_a_language_switch_rerenders_it() -> None:
    iv, state = walk(6)
    assert engine.go_back(iv, state)
    assert len(transcript(iv, state)) == 5
    state.lang = "vi"
    exchanges = transcript(iv, state)
    assert exchanges[0].screen.block_id == "welcome vi"
    assert exchanges[0].screen.question == "Đăng ký vay tiêu dùng cá nhân"
    assert exchanges[1].screen.question == "Thông tin về bạn"
