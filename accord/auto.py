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
from accord.i18n import translator
from engine import Done, Interview, Screen, State, ValidationErrors

MAX_ATTEMPTS = 5
REPEAT_WARNING = 3


class WalkFailed(Exception):
    """The walk cannot reach an end; the message says where and why."""


def run_auto(interview: Interview, lang: str, seed: int, max_steps: int, answers_out: Path | None) -> int:
    """Walk to an end screen or Done. Returns 0 on success, 1 otherwise."""
    _ = translator(lang)
    walk = _Walk(interview, interview.start(lang=lang), random.Random(seed), lang)
    print(_("Walking with --seed {seed}").format(seed=seed))
    try:
        walk.run(max_steps)
        return 0
    except WalkFailed as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return 1
    except engine.InterviewError as exc:
        print("accord: " + _("interview error: {error}").format(error=exc), file=sys.stderr)
        return 1
    finally:
        # Written on failure too: the answers so far are what an author needs to reproduce it.
        if answers_out is not None:
            _write_answers(answers_out, walk.state)


class _Walk:
    """The walk's state lives here so the answers so far survive a failure."""

    def __init__(self, interview: Interview, state: State, rng: random.Random, lang: str = "en") -> None:
        self.interview = interview
        self.lang = lang
        self.state = state
        self.rng = rng
        self.seen: Counter[tuple[str, str, str]] = Counter()

    def run(self, max_steps: int) -> None:
        _ = translator(self.lang)
        for number in range(1, max_steps + 1):
            step = engine.plan(self.interview, self.state)
            if isinstance(step, Done):
                message = render.first_line(step.message) if step.message else ""
                print(f"  {number}. " + (_("done: {message}").format(message=message) if message else _("done")))
                return
            if step.is_end:
                print(f"  {number}. [{step.block_id}] {render.first_line(step.question)} " + _("(end)"))
                return
            self._warn_if_repeated(step)
            self.state, summary = _answer(self.interview, self.state, step, self.rng, self.lang)
            print(f"  {number}. [{step.block_id}] {render.first_line(step.question)} -> {summary}")
        raise WalkFailed(
            _("no end screen after --max-steps {max_steps} screens (a loop?)").format(max_steps=max_steps)
        )

    def _warn_if_repeated(self, screen: Screen) -> None:
        """A screen asked again for the same variable usually means its answer did not define
        what the interview needs (e.g. a field hidden by `show if`): a real user could be stuck
        there, while random answers may stumble out. Worth one warning, not a failure."""
        key = (screen.block_id, screen.sought or "", repr(sorted(screen.bindings.items())))
        self.seen[key] += 1
        if self.seen[key] == REPEAT_WARNING:
            _ = translator(self.lang)
            sought = screen.sought or _("the same thing")
            warning = _("warning: [{block}] asked {count} times for {sought}; a user may be stuck")
            print("     ! " + warning.format(block=screen.block_id, count=REPEAT_WARNING, sought=sought))


def _answer(
    interview: Interview, state: State, screen: Screen, rng: random.Random, lang: str = "en"
) -> tuple[State, str]:
    """Apply generated answers, redrawing when the engine rejects them."""
    _ = translator(lang)
    for attempt in range(MAX_ATTEMPTS):
        answers, button = answers_for(screen, rng, attempt=attempt)
        result = engine.apply(interview, state, screen, answers, button)
        if not isinstance(result, ValidationErrors):
            return result, _stored(result) or _summary(screen, answers, button, lang)
        for e in result.errors:
            print(f"     ! {e.key}: {e.message}")
    raise WalkFailed(
        _("screen [{block}] rejected generated answers {count} times in a row; see the messages above").format(
            block=screen.block_id, count=MAX_ATTEMPTS
        )
    )


def _stored(state: State) -> str:
    """What the engine actually stored for this screen (its log entry): typed values, and the
    assignments of a button that runs code, rather than what was typed."""
    if not state.log:
        return ""
    changes = state.log[-1].get("changes", {})
    return ", ".join(f"{var}={render.short(_typed(new))}" for var, (_old, new) in changes.items())


def _typed(saved: Any) -> Any:
    """A logged (JSON) value back as the engine's value, for printing dates and lists naturally."""
    return engine.State.from_json({"answers": {"value": saved}}).namespace["value"]


def _summary(screen: Screen, answers: dict[str, Any], button: int | None, lang: str = "en") -> str:
    _ = translator(lang)
    parts = []
    for f in screen.fields:
        if f.key in answers:
            parts.append(f"{f.var or f.key}={render.short(answers[f.key])}")
    if button is not None:
        b = screen.buttons[button]
        # Translators: stands for a variable name in "name=value" when a button sets nothing named.
        name = screen.sought or _("button")
        parts.append(f"{name}={render.short(b.value)}" if screen.kind != "continue" else f"[{render.plain(b.label)}]")
    return ", ".join(parts) or _("(continue)")


def _write_answers(path: Path, state: State) -> None:
    path.write_text(json.dumps(state.to_json()["answers"], indent=2, default=str, ensure_ascii=False) + "\n")
