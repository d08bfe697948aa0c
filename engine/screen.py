"""What the planner hands to every front end: plain data, no behaviour.

The wizard, the chat, the JSON API and the terminal runner all render the same `Screen`, so
nothing here knows about HTML or HTTP. Text is already evaluated (Mako/Jinja done) and is
still Markdown; turning Markdown into HTML is the front end's job. Treat these objects as
read-only: they are plain slotted dataclasses (not frozen) only because building a screen
is on the hot path of every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Choice:
    """One option of a multiple-choice field or button set."""

    label: str
    value: Any
    help: str | None = None
    # Special choices: "none of the above" on checkboxes/multiselect.
    exclusive: bool = False


@dataclass(slots=True)
class Field:
    """One input on a screen.

    `var` is the concrete variable the answer is stored in (iterators already substituted,
    e.g. ``kids[0].name``); `key` is what front ends post it back as.
    """

    key: str
    var: str | None
    datatype: str
    label: str = ""
    required: bool = True
    default: Any = None
    hint: str | None = None
    help: str | None = None
    note: str | None = None  # static Markdown shown in place of an input (note/html)
    choices: tuple[Choice, ...] = ()
    min: Any = None
    max: Any = None
    minlength: int | None = None
    maxlength: int | None = None
    step: Any = None
    # Client-side visibility hint: (controlling key, expected value) or None. The server
    # re-checks visibility on apply; this only lets a browser hide the field without a round trip.
    show_if: tuple[str, Any] | None = None
    hide_if: tuple[str, Any] | None = None
    # `js show if` / `js hide if`: a `val("key")` expression the browser evaluates live; the
    # server evaluates it too (engine.jscond) when the answers arrive.
    js_show_if: str | None = None
    js_hide_if: str | None = None
    # `required:` written as an expression over other fields of this screen: decided on apply
    required_expr: str | None = None
    accept: str | None = None
    validation_messages: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Button:
    """A submit button. `action` is "continue" (set `value` into the screen's variable) or a
    special action: exit, restart, leave, refresh, or a URL."""

    label: str
    value: Any = True
    action: str = "continue"
    help: str | None = None


@dataclass(slots=True)
class ReviewItem:
    """One line of a review screen: the text and the variables an Edit link re-asks."""

    label: str
    text: str
    vars: tuple[str, ...]


@dataclass(slots=True)
class Screen:
    """A question to show.

    `kind` tells front ends how to draw it: "fields", "yesno", "noyes", "yesnomaybe",
    "noyesmaybe", "choices" (one variable, radio list), "buttons" (one variable, one button per
    choice), "continue" (acknowledgement), "signature", "review", "end" (no variable: exit and
    restart buttons or nothing).
    """

    block_id: str
    kind: str
    question: str
    subquestion: str = ""
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    review: tuple[ReviewItem, ...] = ()
    help: str | None = None
    under: str = ""
    continue_label: str = ""
    back_button: bool = False
    help_label: str | None = None  # the help button's own label (`help: {label: ...}`), else the front end's
    progress: int | None = None
    section: str | None = None
    sections: tuple[str, ...] = ()
    terms: dict[str, str] = field(default_factory=dict)  # `{term}` in the text links to the definition
    auto_terms: dict[str, str] = field(default_factory=dict)  # the phrase links wherever it appears
    attachments: tuple[dict[str, Any], ...] = ()
    language: str = "en"
    # ISO 4217 code of the interview's money (`metadata: currency`): what currency fields are in.
    currency: str = "USD"
    # Iterator bindings (i, j, x ...) the screen was rendered with; apply needs them back.
    bindings: dict[str, Any] = field(default_factory=dict)
    # The variable the planner was looking for when it chose this screen.
    sought: str | None = None
    is_end: bool = False

    def field_by_key(self, key: str) -> Field | None:
        for f in self.fields:
            if f.key == key:
                return f
        return None


@dataclass(frozen=True)
class Done:
    """Every mandatory block is satisfied and nothing is left to ask."""

    message: str = ""


@dataclass(frozen=True)
class FieldError:
    key: str
    code: str  # machine code: required, min, max, minlength, maxlength, invalid, email, ...
    message: str  # already localised


@dataclass(frozen=True)
class ValidationErrors:
    """Per-field errors from `apply`; the state is unchanged when these are returned."""

    errors: tuple[FieldError, ...]

    def for_key(self, key: str) -> list[str]:
        return [e.message for e in self.errors if e.key == key]

    @property
    def messages(self) -> list[str]:
        return [e.message for e in self.errors]
