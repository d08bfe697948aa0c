"""Walking an interview with generated answers, shared by the tests and the benchmarks (and the
same loop `accord run --auto` prints): answer each screen until an end screen, and find a walk
whose session makes an agreement."""

from __future__ import annotations

import random
from collections.abc import Iterable

import engine
from accord.autoanswer import answers_for


def answer(interview: engine.Interview, state: engine.State, screen: engine.Screen, rng: random.Random,
           attempts: int = 30) -> bool:
    """Apply generated answers to `screen`, redrawing when they are refused; False if none passed."""
    for attempt in range(attempts):
        values, button = answers_for(screen, rng, attempt=attempt)
        if not isinstance(engine.apply(interview, state, screen, values, button), engine.ValidationErrors):
            return True
    return False


def walk(interview: engine.Interview, state: engine.State, rng: random.Random,
         max_steps: int = 200) -> engine.Screen | engine.Done:
    """Answer screens until an end screen or Done, which is returned."""
    for _ in range(max_steps):
        step = engine.plan(interview, state)
        if isinstance(step, engine.Done) or step.is_end:
            return step
        if not answer(interview, state, step, rng):
            raise RuntimeError(f"generated answers keep failing on [{step.block_id}]")
    raise RuntimeError(f"no end screen after {max_steps} screens")


def agreement_session(interview: engine.Interview, lang: str, seeds: Iterable[int] = range(60)) -> engine.State:
    """A finished session (first seed that works) whose answers make an agreement: a declined
    e-sign consent, for example, ends without one and is skipped."""
    for seed in seeds:
        state = interview.start(lang)
        walk(interview, state, random.Random(seed))
        try:
            engine.assemble(interview, state)
        except engine.InterviewError:
            continue
        return state
    raise RuntimeError("no generated session produced an agreement")
