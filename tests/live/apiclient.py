"""Drive interview sessions through the JSON API of a live server: the answers are drawn by
`accord.autoanswer.answers_for` from the API's own screen JSON (rebuilt as an `engine.Screen`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from accord.autoanswer import answers_for
from engine import Button, Choice, Field, Screen


def as_screen(data: dict[str, Any]) -> Screen:
    """The API's screen JSON as an `engine.Screen`, with all that `answers_for` looks at."""
    fields = []
    for f in data["fields"]:
        show_if = (f["show_if"]["key"], f["show_if"]["value"]) if "show_if" in f else None
        hide_if = (f["hide_if"]["key"], f["hide_if"]["value"]) if "hide_if" in f else None
        fields.append(Field(
            key=f["key"], var=None if f["datatype"] == "note" else f["key"], datatype=f["datatype"], label=f["label"],
            required=f["required"], default=f["value"],
            choices=tuple(Choice(c["label"], c["value"], exclusive=c["exclusive"]) for c in f["choices"]),
            min=f.get("min"), max=f.get("max"), step=f.get("step"), minlength=f.get("minlength"),
            maxlength=f.get("maxlength"), show_if=show_if, hide_if=hide_if))
    buttons = tuple(Button(b["label"], b["value"], b["action"]) for b in data["buttons"])
    return Screen(block_id=data["block"] or "", kind=data["kind"], question=data["question"], fields=tuple(fields),
                  buttons=buttons, is_end=data["end"])


@dataclass
class ApiSession:
    id: str
    token: str
    screen: dict[str, Any]
    answered: list[dict[str, Any]] = field(default_factory=list)  # acknowledged: {version, block, answers}

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def create(client: httpx.Client, lang: str = "en", interview: str = "loan_application") -> ApiSession:
    response = client.post("/api/v1/sessions", json={"interview": interview, "lang": lang})
    assert response.status_code == 201, response.text
    data = response.json()
    return ApiSession(data["id"], data["token"], data["screen"])


def refresh(client: httpx.Client, session: ApiSession) -> dict[str, Any]:
    response = client.get(f"/api/v1/sessions/{session.id}", headers=session.auth)
    assert response.status_code == 200, response.text
    session.screen = response.json()
    return session.screen


def step(client: httpx.Client, session: ApiSession, rng: random.Random, button: int | None = None) -> dict[str, Any]:
    """Answer the session's current screen (retrying with other answers on 422), or press
    `button`; the next screen, once the server acknowledged the step. Transport errors propagate."""
    screen = session.screen
    assert not screen["end"], "nothing to answer on an end screen"
    for attempt in range(6):
        answers, drawn = answers_for(as_screen(screen), rng, attempt=attempt)
        if button is not None:
            answers, drawn = {}, button
        button_ = drawn
        body: dict[str, Any] = {"version": screen["version"], "answers": answers}
        if button_ is not None:
            body["button"] = button_
        response = client.post(f"/api/v1/sessions/{session.id}/answers", json=body, headers=session.auth)
        if response.status_code == 200:
            session.answered.append({"version": screen["version"] + 1, "block": screen["block"],
                                     "answers": answers})
            session.screen = response.json()
            return session.screen
        assert response.status_code == 422, response.text
    raise AssertionError(f"screen {screen['block']} kept rejecting answers")
