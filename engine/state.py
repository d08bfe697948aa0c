"""A session's state: plain JSON in, plain JSON out, never pickle.

`namespace` holds live values while the engine works; `to_json` is what a store persists.
The answer log is append-only: every acknowledged screen adds one entry with old -> new
values, so back navigation and analytics never need a copy of the whole state per step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.serialize import from_json, to_json

SCRATCH = frozenset({"i", "j", "k", "l", "m", "n", "x", "row_item", "row_index"})


@dataclass
class State:
    interview: str = ""  # content hash of the interview version the session runs on
    lang: str = "en"
    namespace: dict[str, Any] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    log: list[dict[str, Any]] = field(default_factory=list)
    # Entries of the log kept elsewhere and not loaded: `log` continues after them. A store that
    # appends the log to its own table need not read it back on every step (`store.sessions.load_step`).
    logged: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # screens answered, for Back
    revisit: dict[str, Any] | None = None
    section: str | None = None
    url_args: dict[str, Any] = field(default_factory=dict)

    @property
    def answers(self) -> dict[str, Any]:
        return {k: v for k, v in self.namespace.items() if not k.startswith("_") and k not in SCRATCH}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": 1,
            "interview": self.interview,
            "lang": self.lang,
            "answers": {k: to_json(v) for k, v in self.answers.items() if k != "url_args"},
            "done": sorted(self.done),
            "log": self.log,
            "history": self.history,
            "revisit": self.revisit,
            "section": self.section,
            "url_args": self.url_args,
        }
        if self.logged:
            data["logged"] = self.logged
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        state = cls(
            interview=data.get("interview", ""),
            lang=data.get("lang", "en"),
            namespace={k: from_json(v) for k, v in data.get("answers", {}).items()},
            done=set(data.get("done", [])),
            log=list(data.get("log", [])),
            history=list(data.get("history", [])),
            revisit=data.get("revisit"),
            section=data.get("section"),
            url_args=dict(data.get("url_args", {})),
            logged=int(data.get("logged", 0)),
        )
        return state

    def record(self, block: str, changes: dict[str, tuple[Any, Any]]) -> None:
        self.log.append(
            {
                "seq": self.logged + len(self.log) + 1,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "block": block,
                "changes": {k: [to_json(old), to_json(new)] for k, (old, new) in changes.items()},
            }
        )
