"""The loader: YAML 1.2 scalars, and every author mistake as `file:line: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine


def problems(text: str) -> list[str]:
    with pytest.raises(engine.LoadError) as info:
        engine.load_string(text, "x.yml")
    return [str(p) for p in info.value.problems]


def test_yes_and_no_stay_strings() -> None:
    iv = engine.load_string(
        "question: Pick\nfield: choice\nbuttons:\n  - Yes\n  - No\n---\nmandatory: True\nquestion: ${ choice }\n"
    )
    block = iv.providers["choice"][0]
    assert [b.value for b in block.buttons] == ["Yes", "No"]


def test_yaml_syntax_error_names_file_and_line() -> None:
    found = problems("question: Hi\nfields:\n  - Name: name\n---\nquestion: [unclosed\n")
    assert len(found) == 1
    assert found[0].startswith("x.yml:6:") or found[0].startswith("x.yml:5:")
    assert "YAML syntax error" in found[0]


def test_unknown_key_is_reported_with_its_line() -> None:
    found = problems("question: Hi\nfields:\n  - Name: name\nsubquestoin: typo\n")
    assert found == ["x.yml:4: unknown key 'subquestoin' in a question block"]


def test_expression_syntax_error() -> None:
    found = problems("mandatory: True\ncode: |\n  x = (1 +\n")
    assert found and found[0].startswith("x.yml:") and "syntax error" in found[0]


def test_bad_datatype_and_missing_choices() -> None:
    found = problems("question: Q\nfields:\n  - A: a\n    datatype: nonsense\n  - B: b\n    datatype: radio\n")
    assert "x.yml:3: unknown datatype 'nonsense'" in found
    assert "x.yml:5: a radio field needs choices" in found


def test_undefined_reference_in_mandatory_code() -> None:
    found = problems("mandatory: True\ncode: |\n  if nobody_defines_this:\n    x = 1\n")
    assert found == ["x.yml:1: the code reads 'nobody_defines_this', but no block defines it"]


def test_sandbox_refusal_is_a_load_error() -> None:
    found = problems("mandatory: True\ncode: |\n  import os\n")
    assert found == ["x.yml:3: code refused: import is not allowed"]


def test_template_error_in_text_has_line() -> None:
    found = problems("mandatory: True\nquestion: |\n  Hello\n  ${ ''.__class__ }\n")
    assert len(found) == 1 and found[0].startswith("x.yml:4:") and "__class__" in found[0]


def test_duplicate_id_and_bad_supersedes() -> None:
    found = problems(
        "id: a\nquestion: Q1\nfields:\n  - X: x\n---\nid: a\nsupersedes: nothere\nquestion: Q2\nfields:\n  - X: x\n"
    )
    assert any("duplicate id 'a'" in p for p in found)
    assert any("supersedes 'nothere'" in p for p in found)


def test_include_resolves_relative_files(tmp_path: Path) -> None:
    (tmp_path / "lib.yml").write_text("question: Name?\nfields:\n  - Name: name\n")
    main = tmp_path / "main.yml"
    main.write_text("include:\n  - lib.yml\n---\nmandatory: True\nquestion: Hi ${ name }\n")
    iv = engine.load(main)
    assert "name" in iv.providers


def test_missing_include_is_an_error(tmp_path: Path) -> None:
    main = tmp_path / "main.yml"
    main.write_text("include:\n  - nothere.yml\n")
    with pytest.raises(engine.LoadError) as info:
        engine.load(main)
    assert str(info.value.problems[0]) == f"{main}:2: included file not found: nothere.yml"


def test_unreadable_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(engine.LoadError) as info:
        engine.load(tmp_path / "missing.yml")
    assert "cannot read the file" in str(info.value)


@pytest.mark.parametrize("name", ["loan_application.yml", "residential_lease.yml"])
def test_shipped_interviews_load(name: str) -> None:
    iv = engine.load(Path(__file__).parents[2] / "interviews" / name)
    assert iv.accord.agreement is not None
    assert iv.accord.parties


def test_one_line_text_error_is_on_its_own_line() -> None:
    found = problems("mandatory: True\nquestion: <% a = 1 %>\n")
    assert found and found[0].startswith("x.yml:2:")


def test_duplicate_key_is_an_error_not_a_silent_override() -> None:
    found = problems("comment: x\n---\nquestion: a\nquestion: b\nfields:\n  - A: a\n")
    assert found == ["x.yml:4: YAML syntax error: duplicate key 'question' (first on line 3)"]


def test_compiled_interviews_are_reused_until_a_source_changes(tmp_path: Path) -> None:
    lib = tmp_path / "lib.yml"
    lib.write_text("question: Name?\nfields:\n  - Name: name\n")
    main = tmp_path / "main.yml"
    main.write_text("include:\n  - lib.yml\n---\nmandatory: True\nquestion: Hi ${ name }\n")
    first = engine.load(main)
    assert engine.load(main) is first
    assert set(first.sources) == {str(main.resolve()), str(lib.resolve())}
    lib.write_text("question: Your name?\nfields:\n  - Name: name\n")
    second = engine.load(main)
    assert second is not first and second.source_hash != first.source_hash
    main.write_text("include:\n  - lib.yml\n---\nmandatory: True\nquestion: Hello ${ name }\n")
    third = engine.load(main)
    assert third is not second and third.source_hash != second.source_hash
    assert engine.load(main, cache=False) is not third


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("if: nope\nquestion: Q\nfields:\n  - A: a\n---\nmandatory: True\nquestion: ${ a }\n",
         "x.yml:1: if reads 'nope', but no block defines it"),
        ("question: Q\nfields:\n  - A: a\n    show if: ghost\n---\nmandatory: True\nquestion: ${ a }\n",
         "x.yml:1: show if names 'ghost', but no block defines it"),
        ("depends on: ghost\ncode: |\n  a = 1\n---\nmandatory: True\nquestion: ${ a }\n",
         "x.yml:1: depends on names 'ghost', but no block defines it"),
        ("mandatory: ghost > 1\nquestion: Q\n", "x.yml:1: mandatory reads 'ghost', but no block defines it"),
        ("need: ghost\nmandatory: True\nquestion: Q\n", "x.yml:1: need reads 'ghost', but no block defines it"),
    ],
)
def test_undefined_block_references(text: str, message: str) -> None:
    assert message in problems(text)


def test_the_version_does_not_depend_on_where_the_files_are(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "lib.yml").write_text("question: Name?\nfields:\n  - Name: name\n")
        main = "include:\n  - lib.yml\n---\nmandatory: True\nquestion: ${ name }\n"
        (tmp_path / folder / "main.yml").write_text(main)
    first, second = (engine.load(tmp_path / f / "main.yml") for f in ("a", "b"))
    assert first.source_hash == second.source_hash
