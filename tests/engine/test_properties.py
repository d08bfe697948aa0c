"""Property tests: whatever YAML or answers arrive, the engine answers with a clear error.

Random text and randomly assembled interviews must load or fail with a LoadError; random
answers to any screen must be applied or refused with ValidationErrors; an interview that
cannot go on says so with an InterviewError. Nothing else may escape.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine import Done, LoadError, Screen, ValidationErrors

DATATYPES = ["text", "area", "email", "number", "integer", "currency", "range", "date", "time", "datetime",
             "yesno", "noyes", "yesnoradio", "yesnowide", "radio", "dropdown", "combobox", "checkboxes",
             "multiselect", "file", "password"]
NAMES = ["a", "b", "c", "d", "e", "f"]
KEYS = ["question", "subquestion", "fields", "field", "choices", "buttons", "yesno", "mandatory", "code", "if",
        "id", "objects", "template", "content", "event", "review", "continue button field", "sections", "features",
        "need", "depends on", "reconsider", "show if", "datatype", "min", "max", "include", "language", "default",
        "parties", "payment", "agreement", "on completion", "prefill", "terms", "help", "validation code"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(NAMES),
                    st.text(max_size=12), st.sampled_from(["${ a }", "% if a:", "${", "a and b", "1/0", "__x"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS + NAMES), inner, max_size=4)), max_leaves=12)
blocks = st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=5)


def _dump(items: list[dict[str, Any]]) -> str:
    return "\n---\n".join(yaml.safe_dump(b, allow_unicode=True) for b in items)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_never_crashes_the_loader(text: str) -> None:
    try:
        engine.load_string(text, "r.yml")
    except LoadError as exc:
        assert all(str(p).startswith("r.yml:") for p in exc.problems)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(blocks, min_size=1, max_size=5))
def test_random_blocks_load_or_fail_clearly(items: list[dict[str, Any]]) -> None:
    try:
        iv = engine.load_string(_dump(items), "r.yml")
    except LoadError as exc:
        assert exc.problems and all(str(p).startswith("r.yml:") for p in exc.problems)
        return
    walk(iv, st_answers=None)


@st.composite
def interviews(draw: Any) -> str:
    """Well-formed interviews of random shape: fields of every datatype, show if, branches."""
    names = NAMES[: draw(st.integers(2, len(NAMES)))]
    out = []
    order = []
    for name in names:
        datatype = draw(st.sampled_from(DATATYPES))
        field: dict[str, Any] = {"label": f"Label {name}", "field": name, "datatype": datatype}
        if datatype in ("radio", "dropdown", "combobox", "checkboxes", "multiselect"):
            field["choices"] = ["one", "two", "three"]
        if datatype in ("number", "integer", "currency", "range"):
            field["min"] = draw(st.integers(-3, 3))
            field["max"] = field["min"] + draw(st.integers(0, 10))
        if datatype in ("text", "area") and draw(st.booleans()):
            field["maxlength"] = draw(st.integers(1, 5))
        if draw(st.booleans()):
            field["required"] = False
        question: dict[str, Any] = {"question": f"Q ${{ '{name}' }}", "fields": [field]}
        if order and draw(st.booleans()):
            question["fields"].append({"label": "Extra", "field": f"{name}_extra", "show if": order[-1]})
        out.append(question)
        if draw(st.booleans()) and order:
            order.append(f"if {order[-1]}:\n  {name}")
        order.append(name)
    lines = []
    for entry in order:
        lines.append(entry)
    lines.append("final")
    out.append({"mandatory": True, "code": "\n".join(lines) + "\n"})
    out.append({"event": "final", "question": "End " + " ".join(f"${{ showifdef('{n}') }}" for n in names)})
    return _dump(out)


answer_values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                          st.text(max_size=20), st.sampled_from(["one", "two", "None", "2020-02-30", "1/2/2003",
                                                                 "12:30", "x@y.z", "25k", "1.000.000", "Yes"]),
                          st.lists(st.sampled_from(["one", "two", "None", "zzz"]), max_size=3))


def walk(iv: engine.Interview, st_answers: Any, draw: Any = None) -> None:
    state = iv.start()
    for _ in range(30):
        try:
            step = engine.plan(iv, state)
        except engine.InterviewError:
            return
        if isinstance(step, Done) or step.is_end:
            return
        answers: dict[str, Any] = {}
        for f in step.fields:
            answers[f.key] = draw(answer_values) if draw else f.default
        button = None
        if step.buttons and draw:
            button = draw(st.integers(0, len(step.buttons) - 1))
        try:
            result = engine.apply(iv, state, step, answers, button)
        except engine.InterviewError:
            return
        assert isinstance(result, engine.State | ValidationErrors)
        if isinstance(result, ValidationErrors):
            assert all(e.message for e in result.errors)
            keys = {f.key for f in step.fields} | {""}
            assert all(e.key in keys for e in result.errors)
            if not draw:
                return


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interviews(), st.data())
def test_random_answers_never_crash_the_engine(source: str, data: Any) -> None:
    iv = engine.load_string(source, "gen.yml")
    walk(iv, None, data.draw)
    state = iv.start()
    step = engine.plan(iv, state)
    assert isinstance(step, Screen)
    restored = engine.State.from_json(state.to_json())
    assert engine.plan(iv, restored) == step


CORPUS_FILES = sorted(
    p for p in (Path(os.environ.get("ACCORD_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
                / "docassemble_corpus").glob("*/*.yml")
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_interviews_fail_clearly(data: Any) -> None:
    """Real interviews with lines deleted, duplicated or garbled: a clear error or a working interview."""
    path = data.draw(st.sampled_from(CORPUS_FILES))
    lines = path.read_text(encoding="utf-8").split("\n")
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        at = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "duplicate", "garble", "indent"]))
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "garble":
            lines[at] = data.draw(st.sampled_from(["${", "% if", "  - : x", "fields: 3", "code: |", "  x = (", "]"]))
        else:
            lines[at] = "   " + lines[at]
    try:
        iv = engine.load_string("\n".join(lines), "m.yml", base_dir=path.parent)
    except LoadError as exc:
        assert exc.problems and all(str(p).startswith("m.yml:") for p in exc.problems)
        return
    walk(iv, None, data.draw)
