"""`accord assemble`: saved answers in, the assembled agreement (Markdown) out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.cli import main

INTERVIEW = """
metadata:
  languages: [en]
---
question: Name and region
fields:
  - Name: name
  - Region: region
---
mandatory: True
question: Done ${ name }
---
agreement:
  template: templates/t.typ
  clauses: clauses
  region: region
  title: Agreement for ${ name }
---
parties:
  - role: client
    name: name
    email: "'c@example.com'"
    order: 1
"""


def write_clause(folder: Path, region: str, body: str) -> None:
    (folder / f"law.{region}.en.v1.md").write_text(
        f"---\nid: law\ntitle: Governing law\nregion: {region}\nlanguage: en\nversion: 1\n"
        f"effective_from: 2024-01-01\nrequired: true\n---\n{body}\n", encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "i.yml").write_text(INTERVIEW, encoding="utf-8")
    (tmp_path / "clauses").mkdir()
    write_clause(tmp_path / "clauses", "default", "The law of the land, ${ name }.")
    write_clause(tmp_path / "clauses", "VN", "Vietnamese law.")
    return tmp_path


def test_assemble_prints_the_agreement(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = project / "a.json"
    answers.write_text(json.dumps({"name": "An", "region": "VN-HN"}), encoding="utf-8")
    assert main(["assemble", str(project / "i.yml"), "--answers", str(answers), "--date", "2025-01-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Agreement for An\n")
    assert "## 1. Governing law" in out and "Vietnamese law." in out
    assert "<!-- clause law, region VN, version 1 in effect from 2024-01-01 -->" in out
    assert "- client (sign, 1): An <c@example.com>" in out


def test_assemble_writes_a_file_and_uses_the_default_region(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = project / "a.json"
    answers.write_text(json.dumps({"name": "Sam", "region": "US-CA"}), encoding="utf-8")
    out_file = project / "agreement.md"
    assert main(["assemble", str(project / "i.yml"), "--answers", str(answers), "--out", str(out_file)]) == 0
    assert "The law of the land, Sam." in out_file.read_text(encoding="utf-8")


def test_assemble_with_missing_answers_says_what_is_missing(project: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    answers = project / "a.json"
    answers.write_text(json.dumps({"name": "An"}), encoding="utf-8")
    assert main(["assemble", str(project / "i.yml"), "--answers", str(answers), "--lang", "vi"]) == 1
    err = capsys.readouterr().err
    assert "không lập được hợp đồng" in err and "region" in err


def test_assemble_writes_the_html_preview(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = project / "a.json"
    answers.write_text(json.dumps({"name": "<b>An</b>", "region": "VN"}), encoding="utf-8")
    out_file = project / "preview.html"
    assert main(["assemble", str(project / "i.yml"), "--answers", str(answers), "--out", str(out_file)]) == 0
    page = out_file.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<title>Agreement for &lt;b&gt;An&lt;/b&gt;</title>" in page
    assert 'class="clause clause-regional" id="clause-law"' in page and "Vietnamese law." in page
