"""The compiled form of each kind of block: plain dataclasses the planner walks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.sandbox import Compiled
from engine.templates import Text


@dataclass
class ChoiceSpec:
    label: Text
    value: Any
    help: Text | None = None
    show_if: Any = None  # Compiled expression
    default: bool = False
    action: str = "continue"  # for `buttons:` without a field: continue/exit/restart/...
    code: Any = None  # Compiled code run when this button is pressed (`- Label: {code: ...}`)


@dataclass
class Visibility:
    """`show if` / `hide if`: on a variable (maybe on the same screen) or on code."""

    var: str | None = None
    value: Any = True
    has_value: bool = False
    code: Compiled | None = None
    hide: bool = False
    js: str | None = None  # js show if: browser-only; the server keeps the field


@dataclass
class FieldSpec:
    var: str | None
    datatype: str = "text"
    label: Text | None = None
    required: bool | Compiled = True
    default: Any = None  # Text or literal
    hint: Text | None = None
    help: Text | None = None
    note: Text | None = None
    choices: list[ChoiceSpec] = field(default_factory=list)
    choices_code: Compiled | None = None
    exclude: Compiled | None = None
    none_of_the_above: Text | bool | None = None
    min: Any = None
    max: Any = None
    minlength: int | None = None
    maxlength: int | None = None
    step: Any = None
    visibility: list[Visibility] = field(default_factory=list)
    validation_messages: dict[str, Text] = field(default_factory=dict)
    accept: str | None = None
    line: int = 0


@dataclass
class ReviewSpec:
    label: Text | None
    vars: list[str]
    button: Text | None
    note: Text | None = None
    show_if: Compiled | None = None
    follow_up: list[str] = field(default_factory=list)  # asked again after an edit, when they apply
    recompute: list[str] = field(default_factory=list)  # forgotten after an edit, so code recomputes them


@dataclass
class Block:
    number: int
    id: str
    file: str
    line: int
    kind: str  # question code objects template attachment table data event-code ...
    language: str = "*"
    if_exprs: list[Compiled] = field(default_factory=list)
    mandatory: bool | Compiled = False
    initial: bool = False
    defines: list[str] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    need: list[Compiled] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    reconsider: bool | list[str] = False
    supersedes: list[str] = field(default_factory=list)
    generic: str | None = None
    section: str | None = None
    progress: int | None = None
    # question
    # fields yesno noyes yesnomaybe noyesmaybe field_buttons field_choices continue buttons signature review end
    qtype: str = ""
    question: Text | None = None
    subquestion: Text | None = None
    under: Text | None = None
    help: Text | None = None
    help_label: Text | None = None
    terms: dict[str, Text] = field(default_factory=dict)
    auto_terms: dict[str, Text] = field(default_factory=dict)
    fields: list[FieldSpec] = field(default_factory=list)
    buttons: list[ChoiceSpec] = field(default_factory=list)
    target: str | None = None  # the one variable of yesno/field/continue/signature questions
    continue_field: str | None = None
    continue_label: Text | None = None
    review: list[ReviewSpec] = field(default_factory=list)
    validation_code: Compiled | None = None
    back_button: bool | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # code
    code: Compiled | None = None
    steps: list[Any] | None = None  # interview-order form of a code block, when it has one
    reads: frozenset[str] = frozenset()
    # objects / template / data
    objects: list[tuple[str, Compiled]] = field(default_factory=list)
    template_content: Text | None = None
    template_subject: Text | None = None
    data_value: Any = None
    table: dict[str, Any] = field(default_factory=dict)

    @property
    def is_question(self) -> bool:
        return self.kind == "question"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

DATATYPES = frozenset(
    "text area password email number integer currency float range date time datetime yesno noyes yesnoradio "
    "noyesradio yesnowide noyeswide yesnomaybe noyesmaybe radio dropdown pulldown combobox datalist checkboxes "
    "multiselect file files camera user environment signature hidden".split()
)
