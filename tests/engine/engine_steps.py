"""Two steps most engine tests take: plan to the current screen, and answer it."""

from __future__ import annotations

from typing import Any

import engine
from engine import Screen, ValidationErrors


def walk_to(iv: engine.Interview, state: engine.State) -> Screen:
    """The current screen (failing the test if the interview is done instead)."""
    step = engine.plan(iv, state)
    assert isinstance(step, Screen), step
    return step


def answer(iv: engine.Interview, state: engine.State, values: dict[str, Any], button: int | None = None) -> Screen:
    """Answer the current screen (the answers must be valid) and return the next one."""
    screen = walk_to(iv, state)
    result = engine.apply(iv, state, screen, values, button)
    assert not isinstance(result, ValidationErrors), result
    return walk_to(iv, state)
