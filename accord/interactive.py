"""`accord run FILE`: an interview in the terminal, one screen at a time.

This is the author's quickest feedback loop and a second front end that keeps the engine
honest: it only uses the public API (`plan`, `apply`, `go_back`), exactly as the web wizard
will, so anything that works here works there.
"""

from __future__ import annotations

import os
import re
from typing import Any

import engine
from accord import render
from accord.autoanswer import (
    BOOL_TYPES,
    BUTTON_KINDS,
    CONTINUE_KINDS,
    FILE_TYPES,
    MULTI_TYPES,
    same_value,
    set_by_button,
)
from accord.i18n import translator
from engine import Done, Field, Interview, Screen, State, ValidationErrors

BACK_WORDS = frozenset({"back", "quay lại", "quay lai"})
YES_WORDS = frozenset({"y", "yes", "true", "có", "co"})
NO_WORDS = frozenset({"n", "no", "false", "không", "khong"})


class InputEnded(Exception):
    """Stdin closed before the interview reached its end."""


class GoBack(Exception):
    """The user typed `back`."""


def _read(prompt: str, help_text: str | None, lang: str) -> str:
    """input() that turns EOF into InputEnded, `back` into GoBack and `?` into help."""
    _ = translator(lang)
    while True:
        try:
            raw = input(prompt)
        except EOFError:
            raise InputEnded from None
        text = raw.strip()
        if text.lower() in BACK_WORDS:
            raise GoBack
        if text == "?":
            print(render.plain(help_text) if help_text else _("No help for this question."))
            continue
        return text


def run_interactive(interview: Interview, lang: str) -> int:
    """Loop plan -> ask -> apply until an end screen or Done. Returns the exit code."""
    _ = translator(lang)
    state = interview.start(lang=lang)
    # Translators: `back` and `?` are what the user types; keep them as they are
    # (the Vietnamese "quay lại" is accepted too).
    print(_("Type `back` to go back, `?` for help."))
    while True:
        step = engine.plan(interview, state)
        if isinstance(step, Done):
            print("\n" + (render.plain(step.message) or _("Done.")))
            return 0
        if step.is_end:
            print("\n" + render.end_text(step, lang))
            return 0
        print("\n" + render.header(step))
        for item in step.review:
            print(f"  - {render.plain(item.label)}: {render.plain(item.text)}")
        try:
            outcome = _ask_screen(interview, state, step, lang)
        except GoBack:
            # go_back mutates the state in place (it queues the previous screen to re-ask).
            if not engine.go_back(interview, state):
                print("  ! " + _("This is the first question; there is nothing to go back to."))
            continue
        if isinstance(outcome, str):
            if outcome == "restart":
                state = interview.start(lang=lang)
            elif outcome != "refresh":
                return 0
            continue
        state = outcome


def _ask_screen(interview: Interview, state: State, screen: Screen, lang: str) -> State | str:
    """Ask every field (then the button), re-asking fields the engine rejects.

    Returns the new State, or a special button action ("exit", "restart", a URL ...).
    """
    _ = translator(lang)
    answers: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    inputs = [f for f in screen.fields if f.var is not None and not set_by_button(screen, f)]
    asking = list(inputs)
    first = True
    while True:
        for f in screen.fields:
            if f.var is None:
                if first and f.note:
                    print(render.plain(f.note))
                continue
            if f not in asking:
                continue
            if not _visible(f, answers):
                answers.pop(f.key, None)
                continue
            value = _ask_field(f, errors.get(f.key, []), screen.help, len(inputs) > 1, lang)
            if value is not _OMIT:
                answers[f.key] = value
        first = False
        button = _ask_button(screen, lang)
        if button is not None and screen.buttons[button].action != "continue":
            action = screen.buttons[button].action
            if action not in {"exit", "leave", "restart", "refresh"}:
                # Translators: a button that opens a web address; {url} is that address.
                print(_("Open: {url}").format(url=action))
            return action
        result = engine.apply(interview, state, screen, answers, button)
        if not isinstance(result, ValidationErrors):
            return result
        errors = {}
        for e in result.errors:
            errors.setdefault(e.key, []).append(e.message)
        keys = {f.key for f in screen.fields}
        for key, messages in errors.items():
            if key not in keys:
                for m in messages:
                    print(f"  ! {m}")
        wrong = [f for f in screen.fields if f.key in errors]
        asking = wrong if wrong and set(errors) <= keys else list(inputs)


def _visible(f: Field, answers: dict[str, Any]) -> bool:
    if f.show_if is not None and f.show_if[0] in answers:
        return same_value(answers[f.show_if[0]], f.show_if[1])
    if f.hide_if is not None and f.hide_if[0] in answers:
        return not same_value(answers[f.hide_if[0]], f.hide_if[1])
    return True


class _Omit:
    """Sentinel: send nothing for this field."""


_OMIT: Any = _Omit()


def _ask_field(f: Field, errors: list[str], screen_help: str | None, labelled: bool, lang: str) -> Any:
    """Ask one field. An unlabelled lone field (a `field:` + `choices:` screen) is introduced
    by the question itself, so it gets no label line of its own."""
    _ = translator(lang)
    label = render.field_label(f, lang)
    if f.label.strip() or labelled or label != (f.var or f.key):
        print(f"\n{label}")
    else:
        print()
    for line in render.choice_lines(f):
        print(line)
    for message in errors:
        print(f"  ! {message}")
    dtype = (f.datatype or "text").lower()
    prompt = "> "
    if dtype in MULTI_TYPES:
        # The prompt ends in "> " in every language; only the words before it are translated.
        prompt = _("numbers, comma-separated") + "> "
    elif dtype in BOOL_TYPES and not f.choices:
        # Translators: prompt of a yes/no question. Accepted answers: y, yes, có, co / n, no, không, khong.
        prompt = _("y/n") + "> "
    elif f.default not in (None, ""):
        prompt = f"[{render.short(f.default)}]> "
    raw = _read(prompt, f.help or screen_help, lang)
    return _convert(f, dtype, raw)


def _convert(f: Field, dtype: str, raw: str) -> Any:
    """Typed text to what `apply` expects: choice numbers to values, y/n to booleans."""
    if raw == "" and f.default not in (None, "") and dtype not in MULTI_TYPES:
        return f.default
    if dtype in FILE_TYPES:
        return {"filename": os.path.basename(raw)} if raw else _OMIT
    if dtype in MULTI_TYPES:
        picked = [p for p in re.split(r"[,\s]+", raw) if p]
        return [_choice_value(f, p) for p in picked]
    if f.choices:
        return _choice_value(f, raw)
    if dtype in BOOL_TYPES:
        word = raw.lower()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
    return raw


def _choice_value(f: Field, raw: str) -> Any:
    if raw.isdigit() and 1 <= int(raw) <= len(f.choices):
        return f.choices[int(raw) - 1].value
    return raw


def _ask_button(screen: Screen, lang: str) -> int | None:
    """Which button: numbered list for button screens, Enter for a bare continue."""
    _ = translator(lang)
    if screen.kind not in BUTTON_KINDS and len(screen.buttons) <= 1:
        if not screen.fields:
            label = screen.continue_label or _("Continue")
            # Translators: "Enter" is the key to press; {label} is the screen's continue button.
            _read(_("[Enter: {label}]").format(label=label) + " ", screen.help, lang)
        pressable = screen.kind in CONTINUE_KINDS and screen.buttons and screen.buttons[0].action == "continue"
        return 0 if pressable else None
    if not screen.buttons:
        return None
    print()
    for n, b in enumerate(screen.buttons, start=1):
        print(f"    {n}. {render.plain(b.label)}")
    while True:
        raw = _read("> ", screen.help, lang).lower()
        index = _button_index(screen, raw)
        if index is not None:
            return index
        print("  ! " + _("Type a number from 1 to {n}.").format(n=len(screen.buttons)))


def _button_index(screen: Screen, raw: str) -> int | None:
    if raw.isdigit() and 1 <= int(raw) <= len(screen.buttons):
        return int(raw) - 1
    for i, b in enumerate(screen.buttons):
        if raw == render.plain(b.label).lower():
            return i
        if (raw in YES_WORDS and b.value is True) or (raw in NO_WORDS and b.value is False):
            return i
    return None
