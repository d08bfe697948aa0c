"""Docs as tests: docs/interview-language.md must document every feature and its examples must work.

(a) every block, question type, datatype, field modifier, text marker, Accord block and helper
    function has a heading or a table row in the reference mentioning it in backticks;
(b) every ```yaml block whose first line is `# complete example` loads with `engine.load_string`
    and walks to an end screen with generated answers (`accord.autoanswer.answers_for`);
(c) every other ```yaml block is valid YAML once split on `---` lines, as the engine splits files.
"""

from __future__ import annotations

import inspect
import random
import re
from pathlib import Path

import pytest
import yaml

import engine
from accord.autoanswer import answers_for
from engine.functions import FUNCTIONS
from engine.interview import DATATYPES

DOCS = Path(__file__).resolve().parents[2] / "docs"
REFERENCE = DOCS / "interview-language.md"
ARCHITECTURE = DOCS / "architecture.md"
COMPLETE = "# complete example"

BLOCKS = [
    "metadata", "question", "subquestion", "mandatory", "code", "initial", "objects", "template", "attachment",
    "attachments", "event", "review", "continue button field", "include", "features", "sections", "section",
    "default language", "language", "terms", "help", "id", "if", "need", "depends on", "reconsider", "sets",
    "supersedes", "comment", "generic object", "table", "modules",
]
QUESTION_TYPES = ["fields", "field", "choices", "buttons", "yesno", "noyes", "yesnomaybe", "noyesmaybe", "signature"]
# Datatypes without a section of their own: aliases the loader rewrites or treats as another type, and
# types no author writes as `datatype:`. They are still listed in the reference's alias table.
#   pulldown   -> rewritten to dropdown at load
#   float      -> parsed like number
#   datalist   -> validated like dropdown
#   camera, user, environment -> uploads like file (browser capture hints)
#   hidden     -> a value the front end posts without showing it
#   signature  -> made by the `signature:` question type, documented there
INTERNAL_DATATYPES = {"pulldown", "float", "datalist", "camera", "user", "environment", "hidden", "signature"}
FIELD_MODIFIERS = [
    "required", "default", "hint", "help", "note", "html", "min", "max", "minlength", "maxlength", "step", "show if",
    "hide if", "js show if", "validation messages", "validation code", "none of the above", "choices", "exclude",
    "label", "field", "no label",
]
TEXT_MARKERS = ["${ }", "% if", "% elif", "% else", "% endif", "% for", "% endfor", "##"]
ACCORD_BLOCKS = ["agreement", "parties", "payment", "prefill", "on completion", "update record", "webhook"]
ACCORD_KEYS = [  # keys of the Accord schema tables
    "role", "action", "order", "identity", "staff", "fields", "amount", "currency", "description", "payer", "when",
    "template", "clauses", "region", "from", "record", "answers", "in", "set",
]
CLI = ["accord check FILE...", "accord run FILE [--lang en|vi]"]
HELPERS = sorted(name for name, obj in FUNCTIONS.items() if inspect.isfunction(obj))

SEEDS = range(4)
MAX_SCREENS = 200


def _text() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def _mentions() -> set[str]:
    """Backticked names in headings and table rows; `f(args)` also counts as `f`."""
    found: set[str] = set()
    for line in _text().splitlines():
        if not (line.startswith("#") or line.startswith("|")):
            continue
        for span in re.findall(r"`([^`]+)`", line):
            span = span.strip()
            found.add(span)
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\(", span)
            if m:
                found.add(m.group(1))
    return found


def _yaml_blocks() -> list[tuple[int, str]]:
    """(line number, body) of every ```yaml fence in the reference."""
    blocks: list[tuple[int, str]] = []
    lines = _text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```yaml":
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            blocks.append((start + 1, "\n".join(lines[start:j]) + "\n"))
            i = j
        i += 1
    return blocks


def _complete() -> list[tuple[int, str]]:
    return [(line, body) for line, body in _yaml_blocks() if body.splitlines()[0].strip() == COMPLETE]


def _fragments() -> list[tuple[int, str]]:
    return [(line, body) for line, body in _yaml_blocks() if body.splitlines()[0].strip() != COMPLETE]


def _walk(iv: engine.Interview, seed: int) -> int:
    """Answer every screen with generated answers until an end screen or Done; return the screens seen."""
    rng = random.Random(seed)
    state = iv.start()
    for number in range(1, MAX_SCREENS + 1):
        step = engine.plan(iv, state)
        if isinstance(step, engine.Done) or step.is_end:
            return number
        messages: list[str] = []
        for attempt in range(5):
            answers, button = answers_for(step, rng, attempt=attempt)
            result = engine.apply(iv, state, step, answers, button)
            if not isinstance(result, engine.ValidationErrors):
                state = result
                break
            messages = result.messages
        else:
            raise AssertionError(f"screen [{step.block_id}] rejected generated answers: {messages}")
    raise AssertionError(f"no end screen after {MAX_SCREENS} screens")


# -- (a) coverage ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("group", "names"),
    [
        ("block", BLOCKS),
        ("question type", QUESTION_TYPES),
        ("datatype", [f"datatype: {d}" for d in sorted(DATATYPES - INTERNAL_DATATYPES)]),
        ("datatype alias", sorted(INTERNAL_DATATYPES)),
        ("field modifier", FIELD_MODIFIERS),
        ("text marker", TEXT_MARKERS),
        ("Accord block", ACCORD_BLOCKS),
        ("Accord schema key", ACCORD_KEYS),
        ("helper function", HELPERS),
    ],
)
def test_every_name_is_documented(group: str, names: list[str]) -> None:
    mentioned = _mentions()
    missing = [n for n in names if n not in mentioned]
    assert not missing, f"{group}s without a heading or table row in {REFERENCE.name}: {missing}"


def test_cli_is_documented() -> None:
    text = _text()
    for command in CLI:
        assert f"`{command}`" in text, command
    for option in ("--auto", "--seed", "--answers-out", "--lang"):
        assert option in text, option


def test_there_are_examples() -> None:
    assert len(_complete()) >= 10
    assert len(_fragments()) >= 50


def test_architecture_has_engine_section() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert "## Engine" in text
    assert "next-question median" in text  # the benchmark output is pasted in


# -- (b) complete examples -------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "body"), _complete(), ids=[f"line{line}" for line, _ in _complete()])
def test_complete_example_walks_to_the_end(line: int, body: str) -> None:
    try:
        iv = engine.load_string(body, file=f"{REFERENCE.name}:{line}")
    except engine.LoadError as exc:
        pytest.fail(f"example at line {line} does not load:\n{exc}")
    for seed in SEEDS:
        try:
            _walk(iv, seed)
        except (AssertionError, engine.InterviewError) as exc:
            pytest.fail(f"example at line {line}, seed {seed}: {exc}")


# -- (c) fragments ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "body"), _fragments(), ids=[f"line{line}" for line, _ in _fragments()])
def test_fragment_is_valid_yaml(line: int, body: str) -> None:
    for chunk in re.split(r"^--- *$", body, flags=re.MULTILINE):
        try:
            list(yaml.safe_load_all(chunk))
        except yaml.YAMLError as exc:
            pytest.fail(f"example at line {line} is not valid YAML: {exc}")
