"""Fields a party fills in while signing (a party's `fields:`), and expressions evaluated after
the interview (the `on completion` mappings).

The fields are compiled like any question's fields into a block that the planner never asks
(`signing fields: <role>`, reachable by id only); the signer's page builds its screen here and
validates the answers with `engine.apply`, so the same datatypes, limits and en/vi messages apply.
Pure: no I/O."""

from __future__ import annotations

from typing import Any

from engine.interview import Interview
from engine.sandbox import Compiled
from engine.screen import Screen
from engine.state import State


def signing_block_id(role: str) -> str:
    return f"signing fields: {role}"


def signer_screen(interview: Interview, state: State, role: str) -> Screen | None:
    """The screen of `role`'s signing fields over the session's answers (None: it has none)."""
    from engine.planner import _Run

    block = interview.by_id.get(signing_block_id(role))
    if block is None:
        return None
    run = _Run(interview, state)
    try:
        return run.ask(block, None, {})
    finally:
        run.ns.pop("__builtins__", None)


def evaluate(interview: Interview, state: State, expr: Compiled, extra: dict[str, Any] | None = None) -> Any:
    """The value of `expr` over the session's answers plus `extra` (signing fields, agreement_id).
    A name that has no value raises `NameError`: nothing is asked any more at this point."""
    from engine.context import Context

    ctx = Context(interview, state)
    try:
        ctx.ns.update(extra or {})
        return expr.run(ctx.ns)
    finally:
        ctx.ns.pop("__builtins__", None)
        for key in extra or {}:
            ctx.ns.pop(key, None)
