"""The screens answered so far, rebuilt with today's answers: what a chat shows as its history.

The state keeps, for Back, the path of screens answered (`State.history`: block, bindings,
sought). Rebuilding each of those screens gives its question in the session's current language
with the answers substituted, and its fields; the answers are read from the namespace. Nothing
is stored twice, Back and Edit shorten or change the path like they do in the wizard, and a
language switch re-renders the whole conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import varpath
from engine.blocks import Block
from engine.errors import InterviewError
from engine.interview import Interview
from engine.planner import _Run
from engine.screen import Screen
from engine.state import State


@dataclass(frozen=True)
class Exchange:
    """One answered screen and its answers (field key -> value, for the fields that have one)."""

    screen: Screen
    answers: dict[str, Any]


def transcript(interview: Interview, state: State) -> list[Exchange]:
    """The screens on the path to the current one, oldest first. Works on a copy: `state` is not
    changed. A screen that cannot be rebuilt any more (its block's text now fails) is left out."""
    copy = State.from_json(state.to_json())
    run = _Run(interview, copy)
    out: list[Exchange] = []
    try:
        for entry in state.history:
            block = _in_language(interview, interview.by_id.get(str(entry.get("block", ""))), copy.lang)
            if block is None or block.kind != "question":
                continue
            run.ns["__builtins__"] = interview.builtins
            try:
                screen = run.ask(block, entry.get("sought"), dict(entry.get("bindings") or {}))
            except (InterviewError, NameError, AttributeError, LookupError, TypeError, ValueError):
                continue
            answers: dict[str, Any] = {}
            for f in screen.fields:
                if f.var is None:
                    continue
                try:
                    answers[f.key] = varpath.lookup(copy.namespace, f.var)
                except (NameError, LookupError, AttributeError):
                    continue
            out.append(Exchange(screen, answers))
    finally:
        run.ns.pop("__builtins__", None)
    return out


def _in_language(interview: Interview, block: Block | None, lang: str) -> Block | None:
    """The same question in `lang` when the session changed language after answering it."""
    if block is None or block.language in ("*", lang) or not block.target and not block.fields:
        return block
    var = block.target or next((f.var for f in block.fields if f.var), None)
    if var is None:
        return block
    for other in interview.candidates(var, lang):
        if other.kind == "question" and other.language == lang:
            return other
    return block
