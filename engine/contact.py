"""Who the applicant is, as far as the answers say yet: the name and e-mail of the interview's
first party (`parties:`), for lists of sessions (the agent console) that must not evaluate
anything themselves. Pure: evaluates the party's own expressions on the given state, never asks."""

from __future__ import annotations

from engine import varpath
from engine.interview import Interview
from engine.sandbox import Compiled
from engine.state import State


def contact(interview: Interview, state: State) -> tuple[str | None, str | None]:
    """(name, e-mail) of the first party that has them (a staff party does not), each None
    while its expression cannot be evaluated yet (a variable it reads is unanswered) or the
    interview has no `parties` block.

    The state may gain computed values while evaluating (as when planning): pass a state that
    is not saved afterwards, or one that is planned anyway."""
    first = next((p for p in interview.accord.parties if p.name is not None or p.email is not None), None)
    if first is None:  # no parties (or only staff parties)
        return None, None
    return _value(interview, state, first.name), _value(interview, state, first.email)


def _value(interview: Interview, state: State, expr: Compiled | None) -> str | None:
    if expr is None:
        return None
    missing = [n for n in expr.names if n not in interview.builtins and not varpath.is_defined(state.namespace, n)]
    if missing:
        return None  # not answered yet: evaluating would go looking for the question
    from engine.planner import _Run  # the planner's evaluation context, as engine.assembly uses it

    try:
        value = _Run(interview, state).eval(expr)
    except Exception:  # noqa: BLE001 - an expression that cannot be evaluated yet names nobody
        return None
    text = str(value).strip() if value is not None else ""
    return text[:500] or None
