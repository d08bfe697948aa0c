"""Telling the rest of the process that a session or an envelope changed, once the change is
committed: the seam the agent console's live updates hang on.

Domain code (`store.sessions.save_step`, `signing.envelopes`) calls `publish` after its commit;
whoever wants to know (the console's broadcaster, wired by `web.app.create_app`) registers with
`listen`. A change names only ids and the firm, never personal data, so it is safe to send
between processes (PostgreSQL NOTIFY). A listener that fails is logged and skipped: a live
update is never worth failing an applicant's step for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("accord.store.changes")


@dataclass(frozen=True)
class Change:
    kind: str  # "session" (a step was saved) or "envelope" (an envelope or a participant changed)
    firm_id: int
    session_id: str | None = None
    envelope_id: str | None = None


Listener = Callable[[Change], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def listen(listener: Listener) -> Callable[[], None]:
    """Call `listener` with every change published from now on; returns the function that stops it."""
    with _lock:
        _listeners.append(listener)

    def stop() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return stop


def publish(change: Change) -> None:
    """Hand a committed change to every listener (call it only after the commit)."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(change)
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.warning("change not published: %s", type(exc).__name__)
