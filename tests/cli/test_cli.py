"""The `accord` command line, run in-process on tiny interviews written to tmp_path.

These pin the contract authors rely on: `file:line: message` for problems, exit codes CI can
trust, and a terminal runner that behaves like the web wizard (validation, back, end screen).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from accord.cli import main

TWO_QUESTIONS = """\
question: What is your name?
fields:
  - Name: user_name
---
question: How old are you?
fields:
  - Age: user_age
    datatype: integer
    min: 0
---
mandatory: True
question: Hello ${ user_name }, you are ${ user_age }.
"""

UNDEFINED = """\
mandatory: True
code: |
  total = mystery_amount + 1
---
mandatory: True
question: The total is ${ total }.
"""

BROKEN_YAML = """\
question: What is your name?
fields:
  - Name: user_name
---
question: "unclosed
fields: [
"""

STEP_LINE = re.compile(r"^\s+\d+\. ", re.MULTILINE)


def write(tmp_path: Path, text: str, name: str = "interview.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def feed(monkeypatch: pytest.MonkeyPatch, *lines: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(line + "\n" for line in lines)))


def test_check_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    assert main(["check", str(path)]) == 0
    assert f"{path}: ok" in capsys.readouterr().out


def test_check_broken_yaml_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, TWO_QUESTIONS, "good.yml")
    bad = write(tmp_path, BROKEN_YAML, "bad.yml")
    assert main(["check", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"{good}: ok" in out
    assert re.search(re.escape(str(bad)) + r":\d+: \S", err), err
    assert "Traceback" not in out + err


def test_check_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yml"
    assert main(["check", str(missing)]) == 1
    assert f"{missing}:" in capsys.readouterr().err


def test_auto_reaches_end_one_line_per_screen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    assert main(["run", str(path), "--auto", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    steps = STEP_LINE.findall(out)
    assert len(steps) == 3, out  # two questions and the end screen
    assert "What is your name? -> user_name=" in out
    assert "How old are you? -> user_age=" in out


def test_auto_is_reproducible_with_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    main(["run", str(path), "--auto", "--seed", "7"])
    first = capsys.readouterr().out
    main(["run", str(path), "--auto", "--seed", "7"])
    assert capsys.readouterr().out == first


def test_auto_answers_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    out_file = tmp_path / "answers.json"
    assert main(["run", str(path), "--auto", "--seed", "3", "--answers-out", str(out_file)]) == 0
    answers = json.loads(out_file.read_text(encoding="utf-8"))
    assert isinstance(answers["user_name"], str) and answers["user_name"]
    assert int(answers["user_age"]) >= 0


def test_auto_undefined_variable_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, UNDEFINED)
    assert main(["run", str(path), "--auto", "--seed", "1"]) != 0
    err = capsys.readouterr().err
    assert "mystery_amount" in err
    assert "Traceback" not in err


def test_auto_max_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    assert main(["run", str(path), "--auto", "--seed", "1", "--max-steps", "1"]) == 1
    assert "--max-steps 1" in capsys.readouterr().err


def test_interactive_reaches_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    feed(monkeypatch, "Ann", "42")
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "What is your name?" in out
    assert "Hello Ann, you are 42." in out


def test_interactive_invalid_integer_is_reasked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    feed(monkeypatch, "Ann", "lots", "42")
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    # The field is asked again, with the engine's message right under its label.
    assert re.search(r"^Age\n  ! .*whole number", out, re.MULTILINE), out
    assert out.count("How old are you?") == 1
    assert out.rindex("whole number") < out.index("Hello Ann, you are 42.")


def test_interactive_back(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    feed(monkeypatch, "Ann", "back", "Bob", "42")
    assert main(["run", str(path)]) == 0
    assert "Hello Bob, you are 42." in capsys.readouterr().out


def test_interactive_eof_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, TWO_QUESTIONS)
    feed(monkeypatch, "Ann")
    assert main(["run", str(path)]) == 1
    assert "input ended" in capsys.readouterr().err


TEA = """\
mandatory: True
code: |
  likes_tea
  if likes_tea:
    teas
  final_screen
---
question: Do you like tea?
yesno: likes_tea
---
question: Which teas?
fields:
  - Teas: teas
    datatype: checkboxes
    choices:
      - Green: green
      - Black: black
---
event: final_screen
question: Thanks for telling us.
"""


def test_interactive_buttons_and_checkboxes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, TEA)
    feed(monkeypatch, "1", "1, 2")
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Which teas?" in out
    assert "Thanks for telling us." in out


@pytest.mark.parametrize("seed", range(6))
def test_auto_buttons_and_checkboxes(tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int) -> None:
    path = write(tmp_path, TEA)
    out_file = tmp_path / "answers.json"
    assert main(["run", str(path), "--auto", "--seed", str(seed), "--answers-out", str(out_file)]) == 0
    answers = json.loads(out_file.read_text(encoding="utf-8"))
    if answers["likes_tea"]:
        assert answers["teas"]  # a non-empty selection, however the engine stores it
    else:
        assert "teas" not in answers


def test_check_internal_error_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(path: str) -> None:
        raise RuntimeError("loader bug")

    monkeypatch.setattr("engine.load", explode)
    path = write(tmp_path, TWO_QUESTIONS)
    assert main(["check", str(path)]) == 1
    assert f"{path}:0: internal error: RuntimeError: loader bug" in capsys.readouterr().err


def test_check_needs_lists_what_accord_blocks_read(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    root = Path(__file__).parents[2]
    assert main(["check", "--needs", str(root / "interviews" / "loan_application.yml")]) == 0
    out = capsys.readouterr().out
    assert "party applicant needs: applicant_email" in out
    assert "today" not in out


def test_terms_show_as_words_with_their_definitions() -> None:
    from accord import render
    from engine import Screen

    screen = Screen(block_id="b", kind="end", question="About {APR}", subquestion="The {rate|APR} and {other}.",
                    terms={"APR": "Annual percentage rate."})
    text = render.header(screen)
    assert "About APR" in text and "The rate and other." in text
    assert "  * APR: Annual percentage rate." in text
