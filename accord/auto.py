"""`accord run FILE --auto`: walk an interview to its end with generated answers.

One log line per screen makes a failing walk easy to read back and, with `--seed`, to replay
exactly. The walk fails loudly (non-zero exit) on anything that would strand a real user:
an answer the engine keeps rejecting, a screen loop, or an InterviewError.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import engine
from accord import render
from accord.autoanswer import answers_for
from engine import Done, Interview, Screen, State, ValidationErrors

MAX_ATTEMPTS = 5
REPEAT_WARNING = 3


class WalkFailed(Exception):
    """The walk cannot reach an end; the message says where and why."""


def run_auto(interview: Interview, lang: str, seed: int, max_steps: int, answers_out: Path | None) -> int:
    """Walk to an end screen or Done. Returns 0 on success, 1 otherwise."""
    walk = _Walk(interview, interview.start(lang=lang), random.Random(seed))
    print(f"Walking with --seed {seed}")
    try:
        walk.run(max_steps)
        return 0
    except WalkFailed as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return 1
    except engine.InterviewError as exc:
        print(f"accord: interview error: {exc}", file=sys.stderr)
        return 1
    finally:
        # Written on failure too: the answers so far are what an author needs to reproduce it.
        if answers_out is not None:
            _write_answers(answers_out, walk.state)


class _Walk:
    """The walk's state lives here so the answers so far survive a failure."""

    def __init__(self, interview: Interview, state: State, rng: random.Random) -> None:
        self.interview = interview
        self.state = state
        self.rng = rng
        self.seen: Counter[tuple[str, str, str]] = Counter()

    def run(self, max_steps: int) -> None:
        for number in range(1, max_steps + 1):
            step = engine.plan(self.interview, self.state)
            if isinstance(step, Done):
                print(f"  {number}. done{': ' + render.first_line(step.message) if step.message else ''}")
                return
            if step.is_end:
                print(f"  {number}. [{step.block_id}] {render.first_line(step.question)} (end)")
                return
            self._warn_if_repeated(step)
            self.state, summary = _answer(self.interview, self.state, step, self.rng)
            print(f"  {number}. [{step.block_id}] {render.first_line(step.question)} -> {summary}")
        raise WalkFailed(f"no end screen after --max-steps {max_steps} screens (a loop?)")

    def _warn_if_repeated(self, screen: Screen) -> None:
        """A screen asked again for the same variable usually means its answer did not define
        what the interview needs (e.g. a field hidden by `show if`): a real user could be stuck
        there, while random answers may stumble out. Worth one warning, not a failure."""
        key = (screen.block_id, screen.sought or "", repr(sorted(screen.bindings.items())))
        self.seen[key] += 1
        if self.seen[key] == REPEAT_WARNING:
            sought = screen.sought or "the same thing"
            print(f"     ! warning: [{screen.block_id}] asked {REPEAT_WARNING} times for {sought}; a user may be stuck")


def _answer(interview: Interview, state: State, screen: Screen, rng: random.Random) -> tuple[State, str]:
    """Apply generated answers, redrawing when the engine rejects them."""
    for attempt in range(MAX_ATTEMPTS):
        answers, button = answers_for(screen, rng, attempt=attempt)
        result = engine.apply(interview, state, screen, answers, button)
        if not isinstance(result, ValidationErrors):
            return result, _summary(screen, answers, button)
        for e in result.errors:
            print(f"     ! {e.key}: {e.message}")
    raise WalkFailed(
        f"screen [{screen.block_id}] rejected generated answers {MAX_ATTEMPTS} times in a row; see the messages above"
    )


def _summary(screen: Screen, answers: dict[str, Any], button: int | None) -> str:
    parts = []
    for f in screen.fields:
        if f.key in answers:
            parts.append(f"{f.var or f.key}={render.short(answers[f.key])}")
    if button is not None:
        b = screen.buttons[button]
        name = screen.sought or "button"
        parts.append(f"{name}={render.short(b.value)}" if screen.kind != "continue" else f"[{render.plain(b.label)}]")
    return ", ".join(parts) or "(continue)"


def _write_answers(path: Path, state: State) -> None:
    path.write_text(json.dumps(state.to_json()["answers"], indent=2, default=str, ensure_ascii=False) + "\n")
